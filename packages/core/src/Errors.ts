/**
 * The errors of `@relais/core`. Every error that can be journaled or cross a package boundary
 * is a `Schema.TaggedError`, so it survives a round trip through the run store.
 *
 * @since 0.1.0
 */
import { Cause, Option, ParseResult, Predicate, Schema } from "effect"

/**
 * A serializable summary of any failure: what the journal keeps of an error raised by a
 * provider (its `_tag`, `message`, HTTP `status` and `Retry-After` when it carries them).
 *
 * @since 0.1.0
 */
export class ErrorInfo extends Schema.Class<ErrorInfo>("@relais/core/ErrorInfo")({
  _tag: Schema.String,
  message: Schema.String,
  status: Schema.optional(Schema.Number),
  retryAfterMillis: Schema.optional(Schema.Number),
  /** Structured details a provider attached (validation issues, offending items...). */
  details: Schema.optional(Schema.Unknown)
}) {
  /** Summarise any value found in a failure channel or a defect. */
  static fromUnknown(error: unknown): ErrorInfo {
    if (error instanceof ErrorInfo) return error
    if (Cause.isCause(error)) {
      const failure = Cause.failureOption(error)
      if (Option.isSome(failure)) return ErrorInfo.fromUnknown(failure.value)
      const defect = Cause.dieOption(error)
      if (Option.isSome(defect)) return ErrorInfo.fromUnknown(defect.value)
      return new ErrorInfo({ _tag: "Interrupted", message: "the fiber was interrupted" })
    }
    if (Predicate.isObject(error)) {
      const tag = Predicate.hasProperty(error, "_tag") && typeof error._tag === "string"
        ? error._tag
        : error instanceof Error
        ? error.name
        : "UnknownError"
      const message = Predicate.hasProperty(error, "message") && typeof error.message === "string" &&
          error.message.length > 0
        ? error.message
        : tag
      const status = Predicate.hasProperty(error, "status") && typeof error.status === "number"
        ? error.status
        : undefined
      const retryAfterMillis =
        Predicate.hasProperty(error, "retryAfterMillis") && typeof error.retryAfterMillis === "number"
          ? error.retryAfterMillis
          : undefined
      const details = Predicate.hasProperty(error, "details") ? error.details : undefined
      return new ErrorInfo({
        _tag: tag,
        message,
        ...(status !== undefined ? { status } : {}),
        ...(retryAfterMillis !== undefined ? { retryAfterMillis } : {}),
        ...(details !== undefined ? { details } : {})
      })
    }
    return new ErrorInfo({ _tag: "UnknownError", message: String(error) })
  }
}

/**
 * One problem found while decoding a value: where (a path of keys and indexes) and what.
 *
 * @since 0.1.0
 */
export class Issue extends Schema.Class<Issue>("@relais/core/Issue")({
  path: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
  message: Schema.String
}) {
  /** `a.b[0].c`, or `(root)` for the value itself. */
  get location(): string {
    return formatPath(this.path)
  }
}

/**
 * Render a path of keys and indexes as `a.b[0].c`.
 *
 * @since 0.1.0
 */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string => {
  if (path.length === 0) return "(root)"
  let out = ""
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`
    else out += out.length === 0 ? String(key) : `.${String(key)}`
  }
  return out
}

/**
 * Turn a schema `ParseError` into located issues, one per failing field.
 *
 * @since 0.1.0
 */
export const issuesFromParseError = (error: ParseResult.ParseError): ReadonlyArray<Issue> =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) =>
    new Issue({
      path: issue.path.map((key) => (typeof key === "symbol" ? String(key) : key)),
      message: issue.message
    })
  )

const renderIssues = (issues: ReadonlyArray<Issue>): string =>
  issues.map((issue) => `${issue.location}: ${issue.message}`).join("; ")

/**
 * The input given to a step does not match its input schema. Raised before the step runs.
 *
 * @since 0.1.0
 */
export class StepInputError extends Schema.TaggedError<StepInputError>("@relais/core/StepInputError")(
  "StepInputError",
  {
    step: Schema.String,
    path: Schema.String,
    issues: Schema.Array(Issue)
  }
) {
  override get message(): string {
    return `invalid input for step "${this.path}" (${this.step}): ${renderIssues(this.issues)}`
  }
}

/**
 * A step produced a value that does not match its output schema.
 *
 * @since 0.1.0
 */
export class StepOutputError extends Schema.TaggedError<StepOutputError>("@relais/core/StepOutputError")(
  "StepOutputError",
  {
    step: Schema.String,
    path: Schema.String,
    issues: Schema.Array(Issue)
  }
) {
  override get message(): string {
    return `step "${this.path}" (${this.step}) returned an invalid output: ${renderIssues(this.issues)}`
  }
}

/**
 * One attempt of a step did not finish within its timeout.
 *
 * @since 0.1.0
 */
export class StepTimeout extends Schema.TaggedError<StepTimeout>("@relais/core/StepTimeout")("StepTimeout", {
  step: Schema.String,
  attempt: Schema.Number,
  timeoutMillis: Schema.Number
}) {
  override get message(): string {
    return `step ${this.step} timed out after ${this.timeoutMillis} ms (attempt ${this.attempt})`
  }
}

/**
 * Why a step failed for good.
 *
 * @since 0.1.0
 */
export const FailureReason = Schema.Literal(
  /** Every attempt allowed by the retry policy failed with a retryable error. */
  "exhausted",
  /** The error is not one the retry policy retries. */
  "non_retryable",
  /** The input did not match the step's input schema (nothing was called). */
  "invalid_input",
  /** The step answered with a value that does not match its output schema. */
  "invalid_output",
  /** A bug: the step died instead of failing. */
  "defect",
  /** The run was cancelled before this step started (`Engine.cancel`): nothing was called. */
  "cancelled"
)

/**
 * @since 0.1.0
 */
export type FailureReason = typeof FailureReason.Type

/**
 * A step failed for good: its retries are exhausted, or the error was not retryable. This is
 * the only error a workflow sees from a step, so it is journaled as is and replayed unchanged.
 *
 * @since 0.1.0
 */
export class StepFailed extends Schema.TaggedError<StepFailed>("@relais/core/StepFailed")("StepFailed", {
  /** The registered step name, e.g. `aimaira/create-convention`. */
  step: Schema.String,
  /** The unique path of this invocation in the run, e.g. `contrats[3]/convention`. */
  path: Schema.String,
  attempts: Schema.Number,
  reason: FailureReason,
  error: ErrorInfo
}) {
  override get message(): string {
    const attempts = this.attempts === 1 ? "1 attempt" : `${this.attempts} attempts`
    const why = this.reason === "exhausted"
      ? `gave up after ${attempts}`
      : this.reason === "non_retryable"
      ? `failed (not retryable, ${attempts})`
      : this.reason === "invalid_input"
      ? "was given an invalid input"
      : this.reason === "invalid_output"
      ? "returned an invalid output"
      : "crashed"
    return `step "${this.path}" (${this.step}) ${why}: ${this.error.message}`
  }
}

/**
 * A workflow asked for a step name that no plugin registers.
 *
 * @since 0.1.0
 */
export class UnknownStep extends Schema.TaggedError<UnknownStep>("@relais/core/UnknownStep")("UnknownStep", {
  name: Schema.String,
  suggestions: Schema.Array(Schema.String)
}) {
  override get message(): string {
    const hint = this.suggestions.length > 0 ? ` (did you mean ${this.suggestions.map((s) => `"${s}"`).join(" or ")}?)` : ""
    return `unknown step "${this.name}"${hint}`
  }
}

/**
 * Two plugins (or one plugin twice) register the same step name.
 *
 * @since 0.1.0
 */
export class DuplicateStep extends Schema.TaggedError<DuplicateStep>("@relais/core/DuplicateStep")(
  "DuplicateStep",
  {
    name: Schema.String,
    plugins: Schema.Array(Schema.String)
  }
) {
  override get message(): string {
    return `step "${this.name}" is registered more than once (by ${this.plugins.map((p) => `"${p}"`).join(" and ")})`
  }
}

/**
 * A step name does not follow `provider/step-name`, or a plugin registers a step outside its
 * own namespace.
 *
 * @since 0.1.0
 */
export class InvalidStepName extends Schema.TaggedError<InvalidStepName>("@relais/core/InvalidStepName")(
  "InvalidStepName",
  {
    name: Schema.String,
    plugin: Schema.String,
    reason: Schema.String
  }
) {
  override get message(): string {
    return `plugin "${this.plugin}" cannot register step "${this.name}": ${this.reason}`
  }
}

/**
 * A plugin cannot be registered: a bad or taken name, or built against another major version
 * of the plugin API.
 *
 * @since 0.1.0
 */
export class InvalidPlugin extends Schema.TaggedError<InvalidPlugin>("@relais/core/InvalidPlugin")(
  "InvalidPlugin",
  {
    plugin: Schema.String,
    reason: Schema.String
  }
) {
  override get message(): string {
    return `plugin "${this.plugin}": ${this.reason}`
  }
}

/**
 * Two invocations in the same run resolved to the same step path. Paths key the journal, so
 * they must be unique: give one of them an explicit `id`.
 *
 * @since 0.1.0
 */
export class DuplicateStepPath extends Schema.TaggedError<DuplicateStepPath>("@relais/core/DuplicateStepPath")(
  "DuplicateStepPath",
  { path: Schema.String }
) {
  override get message(): string {
    return `two steps of the same run share the path "${this.path}": give one of them an explicit id`
  }
}

/**
 * The input of a workflow does not match its input schema.
 *
 * @since 0.1.0
 */
export class WorkflowInputError extends Schema.TaggedError<WorkflowInputError>(
  "@relais/core/WorkflowInputError"
)("WorkflowInputError", {
  workflow: Schema.String,
  issues: Schema.Array(Issue)
}) {
  override get message(): string {
    return `invalid input for workflow "${this.workflow}": ${renderIssues(this.issues)}`
  }
}

/**
 * A run that has ended cannot be cancelled (`Engine.cancel`).
 *
 * @since 0.1.0
 */
export class RunEnded extends Schema.TaggedError<RunEnded>("@relais/core/RunEnded")("RunEnded", {
  runId: Schema.String,
  status: Schema.String
}) {
  override get message(): string {
    return `run ${this.runId} has ended (${this.status}): there is nothing to cancel`
  }
}

/**
 * A run cannot be restarted from this step, and why: the original still runs, has no such step,
 * the steps to reuse were undone, or the engine keeps no journal of steps (in memory).
 *
 * @since 0.1.0
 */
export class CannotRestart extends Schema.TaggedError<CannotRestart>("@relais/core/CannotRestart")("CannotRestart", {
  runId: Schema.String,
  from: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `run ${this.runId} cannot be restarted from ${this.from}: ${this.reason}`
  }
}

/**
 * No run has this id.
 *
 * @since 0.1.0
 */
export class RunNotFound extends Schema.TaggedError<RunNotFound>("@relais/core/RunNotFound")("RunNotFound", {
  runId: Schema.String,
  /** What the caller knows about why, and what to do (e.g. a run stopped before it was recorded). */
  hint: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `no run with id "${this.runId}"${this.hint === undefined ? "" : `: ${this.hint}`}`
  }
}

/**
 * The engine has no workflow with this name (it was not registered, or the stored definition
 * of a run cannot be resolved any more).
 *
 * @since 0.1.0
 */
export class WorkflowNotFound extends Schema.TaggedError<WorkflowNotFound>("@relais/core/WorkflowNotFound")(
  "WorkflowNotFound",
  { name: Schema.String, reason: Schema.optional(Schema.String) }
) {
  override get message(): string {
    return `workflow "${this.name}" is not known to this engine${this.reason ? `: ${this.reason}` : ""}`
  }
}

/**
 * Why the run store failed, for a person and for a program (`reason`).
 *
 * @since 0.1.0
 */
export const StoreErrorReason = Schema.Literal(
  /** Another relais process holds the store (it is running or resuming runs on it). */
  "locked",
  /** SQLite stayed busy (another connection kept a lock longer than the busy timeout). */
  "busy",
  /** The file, its directory or the file system is read-only. */
  "read-only",
  /** The disk (or quota) is full. */
  "no-space",
  /** The file is a SQLite database, but damaged (truncated, overwritten pages, a bad row). */
  "corrupt",
  /** The file is not a SQLite database at all (random bytes, a damaged header, another format). */
  "not-a-database",
  /** The path is a directory, or one of its parents is a file. */
  "not-a-file",
  /** The process may not open or create the file. */
  "permission",
  /** The operating system reported an I/O error. */
  "io",
  /** Anything else. */
  "other"
)

/**
 * @since 0.1.0
 */
export type StoreErrorReason = typeof StoreErrorReason.Type

const storeAdvice: Record<StoreErrorReason, (path: string | undefined, detail: string, operation: string) => string> = {
  locked: (path, detail) =>
    `${storeAt(path)} is in use by another relais process${detail === "" ? "" : ` (${detail})`}: wait for it to finish or stop it, or use another store (a process that died frees the store at once)`,
  busy: (path, detail) =>
    `${storeAt(path)} stayed locked by another program (${detail}); try again, and make sure no other tool keeps it open`,
  "read-only": (path, detail, operation) =>
    `${storeAt(path)} is read-only (${detail}), and relais must write to it to ${operation}: make the file and its directory writable, or copy the store to a writable place or use another store`,
  "no-space": (path, detail) =>
    `no space left on ${path === undefined ? "the disk of the run store" : dirOf(path)} (writing the run store${path === undefined ? "" : ` ${path}`}: ${detail}): free some space, then try again; an interrupted run can be resumed`,
  corrupt: (path, detail) =>
    `${storeAt(path)} is damaged (${detail}): move it away (relais starts a new history) or restore it from a backup`,
  "not-a-database": (path, detail) =>
    `${path ?? "the store file"} is not a relais run store (${detail}): check the store path, or move the file away`,
  "not-a-file": (path, detail) =>
    `${storeAt(path)} is not a file (${detail}): give the path of a database file${path === undefined ? "" : `, e.g. ${joinPath(path, "relais.db")}`}`,
  permission: (path, detail) =>
    `cannot open ${storeAt(path)} (${detail}): check its permissions and its directory's, or use another store`,
  io: (path, detail) => `disk I/O error on ${storeAt(path)} (${detail}): check the disk, then try again`,
  other: (path, detail, operation) => `run store${path === undefined ? "" : ` ${path}`}: ${operation} failed: ${detail}`
}

const storeAt = (path: string | undefined): string => path === undefined ? "the run store" : `store ${path}`

const dirOf = (path: string): string => {
  const at = path.replace(/[\\/]+$/, "").lastIndexOf("/")
  return at < 0 ? "." : at === 0 ? "/" : path.slice(0, at)
}

const joinPath = (dir: string, name: string): string => `${dir.replace(/[\\/]+$/, "")}/${name}`

/**
 * The run store or the durable engine's storage failed (disk full, read-only, damaged, held by
 * another process...). `reason` says which; the message says what to do.
 *
 * @since 0.1.0
 */
export class StoreError extends Schema.TaggedError<StoreError>("@relais/core/StoreError")("StoreError", {
  /** What relais was doing: `open`, `write run <id>`, `append events`... */
  operation: Schema.String,
  /** What the operating system or SQLite said. */
  detail: Schema.String,
  reason: Schema.optionalWith(StoreErrorReason, { default: () => "other" }),
  /** The store's file, when known. */
  path: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return storeAdvice[this.reason](this.path, this.detail, this.operation)
  }

  /**
   * A `StoreError` from whatever a storage call failed with (an `SqlError`, a cluster
   * `PersistenceError`, a SQLite or file system error, a `Cause`), classified by its SQLite or
   * `errno` code.
   */
  static fromCause(operation: string, cause: unknown, path?: string | undefined): StoreError {
    if (cause instanceof StoreError) return cause
    const found = storeCauseOf(cause)
    return new StoreError({
      operation,
      detail: found.detail,
      reason: reasonOfCode(found.code, found.detail),
      ...(path !== undefined ? { path } : found.path !== undefined ? { path: found.path } : {})
    })
  }
}

/**
 * The most specific code and message in a chain of causes (`cause` properties, `Cause`s).
 */
const storeCauseOf = (
  cause: unknown
): { readonly code: string | undefined; readonly detail: string; readonly path: string | undefined } => {
  let code: string | undefined
  let detail: string | undefined
  let path: string | undefined
  let current: unknown = cause
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    if (Cause.isCause(current)) {
      current = Cause.squash(current)
      continue
    }
    if (current instanceof StoreError) {
      return { code: undefined, detail: current.detail, path: current.path }
    }
    if (typeof current !== "object") {
      detail ??= String(current)
      break
    }
    const c = current as { readonly code?: unknown; readonly message?: unknown; readonly path?: unknown; readonly cause?: unknown }
    if (typeof c.code === "string" && code === undefined) code = c.code
    if (typeof c.path === "string" && path === undefined) path = c.path
    // Generic wrappers ("Failed to execute statement") say less than what they wrap: keep the
    // innermost message.
    if (typeof c.message === "string" && c.message !== "") detail = c.message
    current = c.cause
  }
  return { code, detail: detail ?? "unknown error", path }
}

const reasonOfCode = (code: string | undefined, detail: string): StoreErrorReason => {
  if (code === undefined) {
    return /database or disk is full|no space left/i.test(detail)
      ? "no-space"
      : /readonly|read-only/i.test(detail)
      ? "read-only"
      : /malformed|corrupt/i.test(detail)
      ? "corrupt"
      : /file is not a database/i.test(detail)
      ? "not-a-database"
      : "other"
  }
  if (code === "SQLITE_FULL" || code === "ENOSPC" || code === "EDQUOT" || code === "SQLITE_IOERR_WRITE" && /full|space/i.test(detail)) return "no-space"
  if (code.startsWith("SQLITE_READONLY") || code === "EROFS") return "read-only"
  if (code.startsWith("SQLITE_CORRUPT")) return "corrupt"
  if (code === "SQLITE_NOTADB") return "not-a-database"
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) return "busy"
  if (code === "SQLITE_CANTOPEN_ISDIR" || code === "EISDIR" || code === "ENOTDIR") return "not-a-file"
  if (code === "SQLITE_PERM" || code === "SQLITE_AUTH" || code === "EACCES" || code === "EPERM") return "permission"
  if (code.startsWith("SQLITE_IOERR") || code === "EIO") return "io"
  return "other"
}
