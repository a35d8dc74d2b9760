/**
 * A sandbox's data kept in a file, so that a sandbox started again over the same file goes on
 * where the last one stopped. `relais run --sandbox` keeps its in-process sandboxes' data with
 * the run this way, and `relais resume --sandbox` restores it: what the first execution created
 * is still there for the steps that follow, and for the compensations.
 *
 * A sandbox writes its file after every request that may change its data, before the answer
 * leaves (see `SandboxServer`'s `onWrite`), by writing a temporary file and renaming it over the
 * old one: a process killed at any moment, even with SIGKILL, leaves the last complete state,
 * never half of one. (No `fsync`: the file survives the process, not a power cut.)
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs"
import * as Path from "node:path"

/**
 * The state file could not be read or written, or holds something its sandbox did not write.
 * `problem` says what a person can do about a failed write: free space on the disk, or make the
 * directory writable.
 *
 * @since 0.1.0
 */
export class StateFileError extends Schema.TaggedError<StateFileError>()("StateFileError", {
  file: Schema.String,
  operation: Schema.Literal("read", "write"),
  reason: Schema.String,
  /** The disk is full (`ENOSPC`, `EDQUOT`), or the file, its directory or the disk is read-only (`EROFS`, `EACCES`, `EPERM`). */
  problem: Schema.optional(Schema.Literal("no-space", "read-only")),
  /** With `problem`: the directory it is about (the file's, or its nearest parent that exists). */
  directory: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const directory = this.directory ?? Path.dirname(this.file)
    switch (this.problem) {
      case "no-space":
        return `no space left on ${directory} (${this.operation === "read" ? "reading" : "writing"} the sandbox state file ${this.file}: ${this.reason}): free some space there, or keep the run store (and the sandboxes' data beside it) on another disk with --store`
      case "read-only":
        return `${directory} is read-only (${this.operation === "read" ? "reading" : "writing"} the sandbox state file ${this.file}: ${this.reason}): the sandboxes keep their data there, beside the run store; make it writable, or use a store in a writable directory with --store`
      default:
        return `Could not ${this.operation} the sandbox state file ${this.file}: ${this.reason}`
    }
  }
}

const errorText = (cause: unknown): string => cause instanceof Error ? cause.message : String(cause)

/** What a person can do about a system error, from its code. */
const problemOf = (cause: unknown): StateFileError["problem"] => {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code
  return code === "ENOSPC" || code === "EDQUOT"
    ? "no-space"
    : code === "EROFS" || code === "EACCES" || code === "EPERM"
    ? "read-only"
    : undefined
}

/** The file's directory, or its nearest parent that exists (the one a failed `mkdir` is about). */
const existingDirectory = (file: string): string => {
  let directory = Path.dirname(file)
  while (!Fs.existsSync(directory) && Path.dirname(directory) !== directory) directory = Path.dirname(directory)
  return directory
}

const systemError = (file: string, operation: "read" | "write", cause: unknown): StateFileError => {
  const problem = problemOf(cause)
  return new StateFileError({
    file,
    operation,
    reason: errorText(cause),
    ...(problem !== undefined ? { problem, directory: existingDirectory(file) } : {})
  })
}

const FORMAT = "relais-sandbox-state"
const VERSION = 1

const Envelope = Schema.Struct({
  format: Schema.Literal(FORMAT),
  version: Schema.Literal(VERSION),
  /** Which sandbox wrote it (`aimaira`, `campus-skills`): one sandbox never reads another's. */
  sandbox: Schema.String,
  state: Schema.Unknown
})

const decodeEnvelope = Schema.decodeUnknownEither(Schema.parseJson(Envelope))

/**
 * The state a sandbox kept in `file`, or `None` when there is no such file yet. The state is as
 * the sandbox wrote it (plain JSON); the sandbox checks its shape.
 *
 * @since 0.1.0
 */
export const read = (file: string, sandbox: string): Effect.Effect<Option.Option<unknown>, StateFileError> =>
  Effect.suspend(() => {
    let text: string
    try {
      text = Fs.readFileSync(file, "utf8")
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === "ENOENT") return Effect.succeed(Option.none())
      return Effect.fail(systemError(file, "read", cause))
    }
    const decoded = decodeEnvelope(text)
    if (decoded._tag === "Left") {
      return Effect.fail(new StateFileError({ file, operation: "read", reason: "it is not a sandbox state file (damaged or foreign)" }))
    }
    if (decoded.right.sandbox !== sandbox) {
      return Effect.fail(
        new StateFileError({ file, operation: "read", reason: `it holds the ${decoded.right.sandbox} sandbox's data, not ${sandbox}'s` })
      )
    }
    return Effect.succeed(Option.some(decoded.right.state))
  })

/**
 * `mkdir -p`, one level at a time: Node's recursive `mkdirSync` reports ENOENT where a parent
 * cannot be created on a read-only file system, which would hide the real problem (EROFS).
 */
const makeDirectory = (directory: string): void => {
  if (Fs.existsSync(directory)) return
  makeDirectory(Path.dirname(directory))
  try {
    Fs.mkdirSync(directory)
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== "EEXIST") throw cause
  }
}

/**
 * Write a sandbox's state to `file` at once (synchronously, so no request of the sandbox runs in
 * between), through a temporary file renamed over the old one. Creates the directory.
 *
 * @since 0.1.0
 */
export const write = (file: string, sandbox: string, state: unknown): Effect.Effect<void, StateFileError> =>
  Effect.try({
    try: () => {
      const text = JSON.stringify({ format: FORMAT, version: VERSION, sandbox, state })
      makeDirectory(Path.dirname(file))
      const temporary = `${file}.${process.pid}.tmp`
      Fs.writeFileSync(temporary, text)
      Fs.renameSync(temporary, file)
    },
    catch: (cause) => {
      // A temporary file left by a failed write (a full disk) would only take more room.
      try {
        Fs.rmSync(`${file}.${process.pid}.tmp`, { force: true })
      } catch {
        // nothing more to do: the write has failed anyway
      }
      return systemError(file, "write", cause)
    }
  })
