/**
 * A step is a named, documented unit of work with typed input and output: one call to a
 * provider's API, usually. The engine runs each invocation of a step as one durable activity,
 * retries it according to its policy, and compensates it (saga) when a later step fails.
 *
 * @since 0.1.0
 */
import type { SchemaAST } from "effect"
import { Context, Duration, Effect, JSONSchema, Option, ParseResult, Schema } from "effect"
import { issuesFromParseError, StepInputError, StepOutputError } from "./Errors.js"
import * as RetryPolicy from "./RetryPolicy.js"

/**
 * @since 0.1.0
 * @category Symbols
 */
export const TypeId: unique symbol = Symbol.for("@relais/core/Step")

/**
 * @since 0.1.0
 * @category Symbols
 */
export type TypeId = typeof TypeId

/**
 * @since 0.1.0
 * @category Symbols
 */
export const CompensationResultTypeId: unique symbol = Symbol.for("@relais/core/Step/CompensationResult")

/**
 * What a compensation may return to say what it actually did, when that is not simply its
 * description: `nothingToUndo(reason)` (it found nothing it had to undo, e.g. the learner
 * existed before the run, and changed nothing) or `undid(what)` (it undid part of what the
 * description says, e.g. the learner but not the e-mail it found). Returning nothing means
 * "did what the description says". Reports and the run record show the difference.
 *
 * @since 0.1.0
 */
export interface CompensationResult {
  readonly [CompensationResultTypeId]: typeof CompensationResultTypeId
  readonly _tag: "NothingToUndo" | "Undid"
  /** Why there was nothing to undo, or what was undone. */
  readonly text: string
}

/**
 * A compensation's result: it found nothing to undo, and says why ("the learner existed before
 * the run"). The run reports it apart from what was undone.
 *
 * @since 0.1.0
 */
export const nothingToUndo = (reason: string): CompensationResult => ({
  [CompensationResultTypeId]: CompensationResultTypeId,
  _tag: "NothingToUndo",
  text: reason
})

/**
 * A compensation's result: what it actually undid, when only part of its description applied
 * ("deleted the learner; its e-mail existed before the run and was kept").
 *
 * @since 0.1.0
 */
export const undid = (what: string): CompensationResult => ({
  [CompensationResultTypeId]: CompensationResultTypeId,
  _tag: "Undid",
  text: what
})

/**
 * Whether a value a compensation returned is a `CompensationResult` (anything else means "did
 * what the description says").
 *
 * @since 0.1.0
 */
export const isCompensationResult = (u: unknown): u is CompensationResult =>
  typeof u === "object" && u !== null && CompensationResultTypeId in u

/**
 * How a step undoes its work when a later step of the run fails for good.
 *
 * @since 0.1.0
 */
export interface Compensation<I, O, R> {
  /** What undoing means, for docs and progress output ("delete the convention"). */
  readonly description: string
  /**
   * Undo the step. It may return a `CompensationResult` (`nothingToUndo`, `undid`) to say what
   * it actually did; any other value means it did what the description says.
   */
  readonly run: (input: I, output: O) => Effect.Effect<unknown, unknown, R>
  /** Compensations are retried too; a compensation that gives up is reported as left to undo. */
  readonly retry: RetryPolicy.RetryPolicy
  readonly timeout: Duration.Duration
}

/**
 * A typed workflow step.
 *
 * `Name` follows `provider/step-name` (`aimaira/create-convention`). The input and output schemas
 * are the contract: an input is decoded before the step runs (a wrong shape is a located error,
 * and nothing is called), an output is encoded to be journaled and decoded on replay.
 *
 * @since 0.1.0
 */
export interface Step<out Name extends string, in out I, in out O, out E = unknown, out R = never> {
  readonly [TypeId]: TypeId
  readonly name: Name
  readonly description: string
  readonly input: Schema.Schema<I, any>
  readonly output: Schema.Schema<O, any>
  readonly run: (input: I) => Effect.Effect<O, E, R>
  readonly compensation: Compensation<I, O, R> | undefined
  /**
   * For creates that are not idempotent (AIMAIRA has no idempotency keys): look the entity up
   * by a natural key or a marker before creating it again. Called before every retry, before the
   * first attempt when a run resumes after a crash, and once more after a final failure, so a
   * create whose response was lost is found instead of duplicated.
   */
  readonly reconcile: ((input: I) => Effect.Effect<Option.Option<O>, E, R>) | undefined
  readonly retry: RetryPolicy.RetryPolicy
  /** The time one attempt may take. */
  readonly timeout: Duration.Duration
  /** True when running the step twice with the same input has no further effect (reads, PUTs). */
  readonly idempotent: boolean
  /**
   * True when the step's retry policy is how it works, not only how it survives transient
   * failures: each attempt polls once ("not yet"), until a deadline the step keeps in its
   * {@link StepState}. A workflow's default retry does not replace such a policy (five quick
   * attempts would end a five-minute wait after a few seconds); a retry given to this very use
   * of the step still does.
   */
  readonly polls: boolean
}

/**
 * Any step, whatever its types: what registries and the YAML runner hold.
 *
 * @since 0.1.0
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface Any extends Step<string, any, any, any, any> {}

/**
 * @since 0.1.0
 */
export type Input<S> = S extends Step<any, infer I, any, any, any> ? I : never

/**
 * @since 0.1.0
 */
export type Output<S> = S extends Step<any, any, infer O, any, any> ? O : never

/**
 * @since 0.1.0
 */
export type Requirements<S> = S extends Step<any, any, any, any, infer R> ? R : never

/**
 * The default time one attempt of a step may take.
 *
 * @since 0.1.0
 */
export const defaultTimeout: Duration.Duration = Duration.seconds(30)

const NAME = /^[a-z][a-z0-9-]*\/[a-z][a-z0-9-]*$/

/**
 * Whether a name follows `provider/step-name` (lower case, digits and dashes).
 *
 * @since 0.1.0
 */
export const isValidName = (name: string): boolean => NAME.test(name)

/**
 * Define a step.
 *
 * @example
 * ```ts
 * const createConvention = Step.make({
 *   name: "aimaira/create-convention",
 *   description: "Create a convention for a learner",
 *   input: CreateConventionInput,
 *   output: Convention,
 *   run: (input) => client.create("Convention", input),
 *   compensate: {
 *     description: "delete the convention",
 *     run: (_input, convention) => client.delete("Convention", convention.Id)
 *   },
 *   reconcile: (input) => client.findConventionByMarker(input.marker)
 * })
 * ```
 *
 * @since 0.1.0
 */
export const make = <const Name extends string, I, IE, O, OE, E, R>(options: {
  readonly name: Name
  readonly description: string
  readonly input: Schema.Schema<I, IE>
  readonly output: Schema.Schema<O, OE>
  readonly run: (input: I) => Effect.Effect<O, E, R>
  readonly compensate?: {
    readonly description: string
    readonly run: (input: I, output: O) => Effect.Effect<unknown, unknown, R>
    readonly retry?: RetryPolicy.RetryPolicy | undefined
    readonly timeout?: Duration.DurationInput | undefined
  } | undefined
  readonly reconcile?: ((input: I) => Effect.Effect<Option.Option<O>, E, R>) | undefined
  readonly retry?: RetryPolicy.RetryPolicy | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly idempotent?: boolean | undefined
  /** The policy is the step's polling (see {@link Step.polls}); default false. */
  readonly polls?: boolean | undefined
}): Step<Name, I, O, E, R> => {
  if (!isValidName(options.name)) {
    throw new TypeError(`step name "${options.name}" must look like "provider/step-name" (lower case, digits, dashes)`)
  }
  return {
    [TypeId]: TypeId,
    name: options.name,
    description: options.description,
    input: options.input,
    output: options.output,
    run: options.run,
    compensation: options.compensate === undefined ? undefined : {
      description: options.compensate.description,
      run: options.compensate.run,
      retry: options.compensate.retry ?? RetryPolicy.defaultCompensationPolicy,
      timeout: Duration.decode(options.compensate.timeout ?? defaultTimeout)
    },
    reconcile: options.reconcile,
    retry: options.retry ?? RetryPolicy.defaultPolicy,
    timeout: Duration.decode(options.timeout ?? defaultTimeout),
    idempotent: options.idempotent ?? false,
    polls: options.polls ?? false
  }
}

/**
 * Override the policy, timeout or compensation of a step for one use.
 *
 * @since 0.1.0
 */
export const withOptions = <Name extends string, I, O, E, R>(
  self: Step<Name, I, O, E, R>,
  options: {
    readonly retry?: RetryPolicy.RetryPolicy | undefined
    readonly timeout?: Duration.DurationInput | undefined
    /** `false` disables the compensation. */
    readonly compensate?: false | Compensation<I, O, R> | undefined
  }
): Step<Name, I, O, E, R> => ({
  ...self,
  retry: options.retry ?? self.retry,
  timeout: options.timeout !== undefined ? Duration.decode(options.timeout) : self.timeout,
  compensation: options.compensate === false
    ? undefined
    : options.compensate !== undefined
    ? options.compensate
    : self.compensation
})

/**
 * Decode a step input (from the encoded side, e.g. YAML values) into its typed form, or fail
 * with every misplaced field.
 *
 * @since 0.1.0
 */
export const decodeInput = <I>(
  step: Step<string, I, any, any, any>,
  path: string,
  value: unknown
): Effect.Effect<I, StepInputError> =>
  Schema.decodeUnknown(step.input, { errors: "all", onExcessProperty: "error" })(value).pipe(
    Effect.mapError((error) => new StepInputError({ step: step.name, path, issues: issuesFromParseError(error) }))
  )

/**
 * Check a typed input against the schema by encoding it (what the journal stores).
 *
 * @since 0.1.0
 */
export const encodeInput = <I>(
  step: Step<string, I, any, any, any>,
  path: string,
  value: I
): Effect.Effect<unknown, StepInputError> =>
  Schema.encode(step.input, { errors: "all" })(value).pipe(
    Effect.mapError((error) => new StepInputError({ step: step.name, path, issues: issuesFromParseError(error) }))
  )

/**
 * Encode an output for the journal, or fail naming the fields that do not match.
 *
 * @since 0.1.0
 */
export const encodeOutput = <O>(
  step: Step<string, any, O, any, any>,
  path: string,
  value: O
): Effect.Effect<unknown, StepOutputError> =>
  Schema.encode(step.output, { errors: "all" })(value).pipe(
    Effect.mapError((error) => new StepOutputError({ step: step.name, path, issues: issuesFromParseError(error) }))
  )

/**
 * Decode a journaled output.
 *
 * @since 0.1.0
 */
export const decodeOutput = <O>(
  step: Step<string, any, O, any, any>,
  path: string,
  value: unknown
): Effect.Effect<O, StepOutputError> =>
  Schema.decodeUnknown(step.output, { errors: "all" })(value).pipe(
    Effect.mapError((error) => new StepOutputError({ step: step.name, path, issues: issuesFromParseError(error) }))
  )

/**
 * The JSON Schemas of a step's input and output (encoded side), for docs and editors. The
 * input's rules across fields ({@link InputRule}), which JSON Schema cannot carry from a
 * filter, are listed under `x-relais-rules`.
 *
 * @since 0.1.0
 */
export const jsonSchemas = (step: Any): { readonly input: object; readonly output: object } => {
  const rules = inputRules(step.input)
  const input = jsonSchemaOf(step.input)
  return {
    input: rules.length === 0 ? input : { ...input, "x-relais-rules": rules.map((r) => ({ ...r, fields: [...r.fields] })) },
    output: jsonSchemaOf(step.output)
  }
}

/**
 * The annotation key of an {@link InputRule}.
 *
 * @since 0.1.0
 * @category Symbols
 */
export const InputRuleId: unique symbol = Symbol.for("@relais/core/Step/InputRule")

/**
 * A rule across several fields of a step's input ("give one of CiviliteId, CiviliteCode"),
 * declared with {@link inputRule} on the `Schema.filter` that enforces it. A filter alone is
 * invisible until a value is decoded; declared, the rule is listed by `relais steps`, carried
 * by the editor schema, and checked before a run when the fields it reads are literal or absent.
 *
 * @since 0.1.0
 */
export interface InputRule {
  /** Every field the filter reads, and only those: it can be run on just these fields. */
  readonly fields: ReadonlyArray<string>
  /** The rule for a person: "give exactly one of CiviliteId, CiviliteCode". */
  readonly description: string
  /** At least one of `fields` must be given (an editor can check that as you type). */
  readonly requiresOne?: boolean | undefined
}

/**
 * The annotations that declare an input rule on its filter:
 * `Schema.filter(check, Step.inputRule({ fields: ["A", "B"], description: "give one of A, B" }))`.
 *
 * @since 0.1.0
 */
export const inputRule = (rule: InputRule): { readonly [InputRuleId]: InputRule } => ({ [InputRuleId]: rule })

/**
 * The input rule declared on a schema node (a filter), if any.
 *
 * @since 0.1.0
 */
export const getInputRule = (ast: SchemaAST.AST): InputRule | undefined =>
  ast.annotations[InputRuleId] as InputRule | undefined

/**
 * The input rules of a schema's outer object: its filters, through classes (transformations)
 * and suspensions.
 *
 * @since 0.1.0
 */
export const inputRules = (schema: Schema.Schema.Any): ReadonlyArray<InputRule> => {
  const out: Array<InputRule> = []
  let ast: SchemaAST.AST | undefined = schema.ast
  for (let depth = 0; ast !== undefined && depth < 16; depth++) {
    if (ast._tag === "Refinement") {
      const rule = getInputRule(ast)
      if (rule !== undefined) out.push(rule)
      ast = ast.from
    } else if (ast._tag === "Transformation") ast = ast.from
    else if (ast._tag === "Suspend") ast = ast.f()
    else ast = undefined
  }
  return out.reverse()
}

const jsonSchemaOf = (schema: Schema.Schema<any, any>): object => {
  try {
    return JSONSchema.make(Schema.encodedSchema(schema)) as object
  } catch {
    // Declarations without a JSON Schema annotation (e.g. a Temporal value) cannot be rendered;
    // fall back to "anything" rather than failing the whole catalogue.
    return {}
  }
}

// -----------------------------------------------------------------------------
// Step state
// -----------------------------------------------------------------------------

/**
 * The most a step's state may hold: 1 MiB of JSON (UTF-8). Enough for a plan that carries the
 * versions of a few hundred records before a write; a state is scratch data for retries,
 * resumes and the compensation, not a place for whole responses.
 *
 * @since 0.1.0
 */
export const maxStateBytes = 1024 * 1024

/**
 * Why a step's state could not be read or saved:
 *
 * - `too-large`: the value is more than {@link maxStateBytes} of JSON;
 * - `not-json`: the value has no JSON form (a function, `undefined`, a cycle, a BigInt);
 * - `invalid`: what was saved does not decode with the schema it is read with (e.g. saved by
 *   another version of the step before the run was resumed);
 * - `store`: the run store failed (a full disk...); its own error is in `detail`.
 *
 * Not retried by default policies: every attempt would meet it again. `store` is never retried,
 * whatever the policy names: the step fails at once, as with any other failed store write, and
 * a store that cannot be written (a full disk, a read-only file) stops the run with its
 * `StoreError`, left to resume once the store is fixed, nothing compensated.
 *
 * @since 0.1.0
 * @category Errors
 */
export class StepStateError extends Schema.TaggedError<StepStateError>("@relais/core/StepStateError")(
  "StepStateError",
  {
    reason: Schema.Literal("too-large", "not-json", "invalid", "store"),
    /** The invocation whose state it is. */
    path: Schema.String,
    detail: Schema.String
  }
) {
  override get message(): string {
    const verb = this.reason === "invalid" ? "read" : this.reason === "store" ? "keep" : "save"
    return `cannot ${verb} the state of step ${this.path}: ${this.detail}`
  }
}

/**
 * A small scratch state per step invocation, journaled in the run store (like the heartbeat
 * details of a Temporal activity): what an attempt needs to remember for the next attempt, for
 * the run resumed after a crash, and for the compensation: a deadline recorded by the first
 * poll, a plan made before a write, the versions of records before they were changed.
 *
 * - Per invocation: every attempt, `reconcile` and the compensation of one invocation (one path
 *   of one run) share it, also after a resume; another invocation never sees it.
 * - `set` replaces it and returns once it is written to the store: a process killed after
 *   `set` finds it when the run resumes.
 * - A JSON value, at most {@link maxStateBytes}: `get` returns the value as JSON read it back
 *   (`undefined` fields dropped, dates as strings). Prefer {@link loadState} and
 *   {@link saveState}, which encode and decode with a schema.
 * - Removed when the run ends (succeeded, failed, compensated...). A removal that fails is a
 *   warning: the run's outcome stands.
 * - Never put secrets in it: it is stored in clear beside the run history. The store applies
 *   the `Redactor` to it like to everything it stores, so a registered secret would come back
 *   masked, not as it was saved.
 *
 * @since 0.1.0
 */
export interface StepState {
  /** What this invocation saved last, none before its first `set` (or after `clear`). */
  readonly get: Effect.Effect<Option.Option<unknown>, StepStateError>
  /** Replace the state with a JSON value; durable when this returns. */
  readonly set: (value: unknown) => Effect.Effect<void, StepStateError>
  /** Forget the state (the next `get` finds none). */
  readonly clear: Effect.Effect<void, StepStateError>
}

/**
 * Where a step is running, available to its `run`, `reconcile` and compensation: the run, the
 * invocation's path, the attempt, a key that is the same for every attempt of this invocation
 * (and after a resume) but different for any other invocation, and the invocation's journaled
 * {@link StepState}. A provider without idempotency keys can store the key in a field of what
 * it creates (a marker) and look it up in `reconcile`.
 *
 * @since 0.1.0
 * @category Tags
 */
export class StepContext extends Context.Tag("@relais/core/Step/StepContext")<StepContext, {
  readonly runId: string
  readonly path: string
  readonly attempt: number
  /** Stable per invocation: 16 hex characters derived from the run id and the path. */
  readonly key: string
  /** The invocation's scratch state, kept in the run store across attempts and resumes. */
  readonly state: StepState
}>() {}

/**
 * The invocation's state decoded with `schema`, none when nothing was saved. A saved value that
 * does not decode fails with `StepStateError` (`invalid`), naming what does not match.
 *
 * @since 0.1.0
 */
export const loadState = <A, I>(
  schema: Schema.Schema<A, I, never>
): Effect.Effect<Option.Option<A>, StepStateError, StepContext> =>
  Effect.flatMap(StepContext, (context) =>
    Effect.flatMap(context.state.get, (saved) =>
      Option.isNone(saved)
        ? Effect.succeedNone
        : Effect.map(
          Effect.mapError(
            Schema.decodeUnknown(schema)(saved.value),
            (error) =>
              new StepStateError({
                reason: "invalid",
                path: context.path,
                detail: `what was saved does not match what the step reads: ${
                  ParseResult.TreeFormatter.formatErrorSync(error)
                }`
              })
          ),
          Option.some
        )))

/**
 * Save `value`, encoded with `schema`, as the invocation's state (replacing what was there);
 * durable when this returns.
 *
 * @since 0.1.0
 */
export const saveState = <A, I>(
  schema: Schema.Schema<A, I, never>,
  value: A
): Effect.Effect<void, StepStateError, StepContext> =>
  Effect.flatMap(StepContext, (context) =>
    Effect.flatMap(
      Effect.mapError(
        Schema.encode(schema)(value),
        (error) =>
          new StepStateError({
            reason: "not-json",
            path: context.path,
            detail: `the value does not encode with its schema: ${ParseResult.TreeFormatter.formatErrorSync(error)}`
          })
      ),
      context.state.set
    ))

/**
 * Forget the invocation's state.
 *
 * @since 0.1.0
 */
export const clearState: Effect.Effect<void, StepStateError, StepContext> = Effect.flatMap(
  StepContext,
  (context) => context.state.clear
)

/**
 * The invocation's state: what an earlier attempt (or the execution before a crash) saved, or
 * else `make`'s value, saved now. For what the first attempt must fix for all the others: a
 * deadline, a plan, the values before a write.
 *
 * @since 0.1.0
 */
export const rememberState = <A, I, E, R>(
  schema: Schema.Schema<A, I, never>,
  make: Effect.Effect<A, E, R>
): Effect.Effect<A, E | StepStateError, R | StepContext> =>
  Effect.flatMap(loadState(schema), (saved) =>
    Option.isSome(saved)
      ? Effect.succeed(saved.value)
      : Effect.tap(make, (value) => saveState(schema, value)))

/**
 * The JSON text of a state value and its size in bytes, or why it cannot be saved. The engine
 * checks every `set` with it.
 *
 * @since 0.1.0
 */
export const encodeStateJson = (path: string, value: unknown): Effect.Effect<string, StepStateError> =>
  Effect.suspend(() => {
    let text: string | undefined
    try {
      text = JSON.stringify(value)
    } catch (error) {
      return Effect.fail(
        new StepStateError({
          reason: "not-json",
          path,
          detail: `the value has no JSON form (${error instanceof Error ? error.message : String(error)})`
        })
      )
    }
    if (text === undefined) {
      return Effect.fail(new StepStateError({ reason: "not-json", path, detail: `${typeof value} has no JSON form` }))
    }
    const bytes = new TextEncoder().encode(text).length
    return bytes > maxStateBytes
      ? Effect.fail(
        new StepStateError({
          reason: "too-large",
          path,
          detail: `it would hold ${bytes} bytes of JSON, more than the ${maxStateBytes} a step state may hold ` +
            "(keep what a retry, a resume or the compensation needs: ids, a deadline, a plan)"
        })
      )
      : Effect.succeed(text)
  })

/**
 * The current step context, when running inside a step.
 *
 * @since 0.1.0
 */
export const context: Effect.Effect<Option.Option<StepContext["Type"]>> = Effect.serviceOption(StepContext)

/**
 * A stable 16-hex-character key for an invocation (FNV-1a over the run id and the path).
 *
 * @since 0.1.0
 */
export const invocationKey = (runId: string, path: string): string => {
  let h1 = 0x811c9dc5
  let h2 = 0x01000193
  const text = `${runId}\u0000${path}`
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0
    h2 = Math.imul(h2 ^ c, 0x811c9dc5) >>> 0
  }
  return h1.toString(16).padStart(8, "0") + h2.toString(16).padStart(8, "0")
}
