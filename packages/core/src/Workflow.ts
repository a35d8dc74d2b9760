/**
 * Code-defined workflows. A workflow is a typed function from an input to an output written
 * with `Effect.gen`, that calls steps through `Workflow.step` and composes them with plain
 * control flow (sequence, `if`), `Workflow.parallel` and `Workflow.forEach`.
 *
 * The engine runs the body durably: each step invocation is a journaled activity keyed by its
 * path in the run, so a resumed run replays completed steps from the journal instead of calling
 * them again. When a step fails for good, the steps completed so far are compensated in reverse
 * completion order (saga), across parallel branches and loop items.
 *
 * A body must be deterministic given its input and the outputs of its steps: no clock, random
 * numbers or I/O outside steps, or a resumed run may take another path than the first one.
 *
 * @since 0.1.0
 */
import type { Duration } from "effect"
import { Context, Effect, Schema } from "effect"
import type { DuplicateStepPath, ErrorInfo, StepFailed } from "./Errors.js"
import * as runtime from "./internal/runtime.js"
import type { LeftToUndo } from "./Run.js"
import type * as RetryPolicy from "./RetryPolicy.js"
import type * as Step from "./Step.js"

/**
 * @since 0.1.0
 * @category Symbols
 */
export const TypeId: unique symbol = Symbol.for("@relais/core/Workflow")

/**
 * @since 0.1.0
 * @category Symbols
 */
export type TypeId = typeof TypeId

/**
 * The context of a running workflow body: which run, how to journal a step, where compensations
 * are recorded. Provided by the engine; a body only needs it as a requirement.
 *
 * @since 0.1.0
 * @category Tags
 */
export const RunContext = runtime.RunContext

/**
 * @since 0.1.0
 */
export type RunContext = runtime.RunContext

/**
 * A workflow definition.
 *
 * @since 0.1.0
 */
export interface Workflow<in out I, in out O, out R = never> {
  readonly [TypeId]: TypeId
  readonly name: string
  readonly description: string
  readonly input: Schema.Schema<I, any>
  readonly output: Schema.Schema<O, any>
  readonly run: (input: I) => Effect.Effect<O, unknown, R | RunContext>
}

/**
 * Any workflow.
 *
 * @since 0.1.0
 */
export interface Any extends Workflow<any, any, any> {}

/**
 * @since 0.1.0
 */
export type Requirements<W> = W extends Workflow<any, any, infer R> ? R : never

/**
 * Define a workflow.
 *
 * @example
 * ```ts
 * const onboarding = Workflow.make({
 *   name: "onboarding",
 *   input: Schema.Struct({ email: Schema.String }),
 *   output: Schema.Struct({ learnerId: Schema.Number }),
 *   run: ({ email }) =>
 *     Effect.gen(function*() {
 *       const learner = yield* Workflow.step(findOrCreateLearner, { email })
 *       yield* Workflow.step(createInscription, { learnerId: learner.Id })
 *       return { learnerId: learner.Id }
 *     })
 * })
 * ```
 *
 * @since 0.1.0
 */
export const make = <I, IE, O, OE, R>(options: {
  readonly name: string
  readonly description?: string | undefined
  readonly input: Schema.Schema<I, IE>
  readonly output: Schema.Schema<O, OE>
  readonly run: (input: I) => Effect.Effect<O, unknown, R>
}): Workflow<I, O, Exclude<R, RunContext>> => ({
  [TypeId]: TypeId,
  name: options.name,
  description: options.description ?? "",
  input: options.input,
  output: options.output,
  run: options.run as Workflow<I, O, Exclude<R, RunContext>>["run"]
})

/**
 * Provide (part of) what a workflow's steps need, e.g. the providers' clients.
 *
 * @since 0.1.0
 */
export const provideContext = <I, O, R, R2>(
  self: Workflow<I, O, R>,
  context: Context.Context<R2>
): Workflow<I, O, Exclude<R, R2>> => ({
  ...self,
  run: (input) => Effect.provide(self.run(input), context) as Effect.Effect<O, unknown, Exclude<R, R2> | RunContext>
})

/**
 * Options of one step invocation.
 *
 * @since 0.1.0
 */
export interface StepOptions<I, O, R> {
  /** The name of the invocation in the run, unique at its level (default: the step name). */
  readonly id?: string | undefined
  readonly retry?: RetryPolicy.RetryPolicy | undefined
  readonly timeout?: Duration.DurationInput | undefined
  /** `false` disables the step's compensation for this invocation; a value replaces it. */
  readonly compensate?: false | Step.Compensation<I, O, R> | undefined
}

/**
 * Run a step as part of the current workflow: journaled, retried by its policy, and recorded
 * for compensation. Fails with `StepFailed` once it has failed for good.
 *
 * @since 0.1.0
 */
export const step = <Name extends string, I, O, E, R>(
  step: Step.Step<Name, I, O, E, R>,
  input: I,
  options?: StepOptions<I, O, R>
): Effect.Effect<O, StepFailed | DuplicateStepPath, Exclude<R, Step.StepContext> | RunContext> =>
  Effect.flatMap(RunContext, (context) => context.step(step, input, options ?? {})) as Effect.Effect<
    O,
    StepFailed | DuplicateStepPath,
    Exclude<R, Step.StepContext> | RunContext
  >

/**
 * Run an effect under a path segment, so the steps inside are named `id/...`. Use it to call
 * the same sub-flow twice.
 *
 * @since 0.1.0
 */
export const group = <A, E, R>(id: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  runtime.withSegment(id, effect)

/**
 * Run branches concurrently. Each branch runs under its own path segment (its key). All
 * branches are allowed to finish, even when one fails, so that everything completed is known
 * and compensated; then the first failure (in key order) fails the whole.
 *
 * @since 0.1.0
 */
export const parallel = <const Branches extends Record<string, Effect.Effect<any, any, any>>>(
  branches: Branches,
  options?: {
    /**
     * Name the steps of each branch `key/...` (default). Turn it off when the steps already have
     * unique ids (as in YAML workflows).
     */
    readonly segments?: boolean | undefined
  }
): Effect.Effect<
  { -readonly [K in keyof Branches]: Effect.Effect.Success<Branches[K]> },
  Effect.Effect.Error<Branches[keyof Branches]>,
  Effect.Effect.Context<Branches[keyof Branches]>
> => runtime.parallel(branches, options) as any

/**
 * What happens to the other items of a `forEach` when one fails for good:
 *
 * - `fail` (default): no new item starts; items in flight finish; the loop fails, which fails
 *   the run and compensates everything completed (in every item).
 * - `compensate-item`: the failed item's completed steps are compensated, the other items go on;
 *   the loop reports each item's outcome.
 * - `continue`: the failed item is recorded and left as is (its completed steps stay), the other
 *   items go on; they are compensated only if the run fails later.
 *
 * With `compensate-item` or `continue`, a run whose items failed ends `succeeded_with_failures`
 * (not `succeeded`), with the failed items in its record (`failedItems`).
 *
 * @since 0.1.0
 */
export type OnItemFailure = "fail" | "compensate-item" | "continue"

/**
 * The outcome of one item of a `forEach` run with item isolation.
 *
 * @since 0.1.0
 */
export type ItemOutcome<A> =
  | { readonly _tag: "Succeeded"; readonly index: number; readonly value: A }
  | {
    readonly _tag: "Failed"
    readonly index: number
    readonly error: ErrorInfo
    /** True when the item's completed steps were all undone. */
    readonly compensated: boolean
    /** What could not be undone for this item. */
    readonly remaining: ReadonlyArray<LeftToUndo>
  }

/**
 * Run `f` for every item, at most `concurrency` at a time (default 1). Item `i` runs under the
 * path segment `id[i]`.
 *
 * @since 0.1.0
 */
export const forEach: {
  <A, B, E, R>(
    id: string,
    items: Iterable<A>,
    f: (item: A, index: number) => Effect.Effect<B, E, R>,
    options: { readonly concurrency?: number | undefined; readonly onItemFailure: "compensate-item" | "continue" }
  ): Effect.Effect<ReadonlyArray<ItemOutcome<B>>, never, R | RunContext>
  <A, B, E, R>(
    id: string,
    items: Iterable<A>,
    f: (item: A, index: number) => Effect.Effect<B, E, R>,
    options?: { readonly concurrency?: number | undefined; readonly onItemFailure?: "fail" | undefined }
  ): Effect.Effect<ReadonlyArray<B>, E, R | RunContext>
} = runtime.forEach as any

/**
 * Record that a step was skipped (a condition was false), for the run history.
 *
 * @since 0.1.0
 */
export const skipped = (id: string, step: string, reason: string): Effect.Effect<void, never, RunContext> =>
  Effect.flatMap(RunContext, (context) => context.skipped(id, step, reason))

/**
 * The id of the current run.
 *
 * @since 0.1.0
 */
export const runId: Effect.Effect<string, never, RunContext> = Effect.map(RunContext, (context) => context.runId)
