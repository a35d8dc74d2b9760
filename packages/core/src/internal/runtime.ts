/**
 * The runtime of a workflow body: step execution (attempts, retries, timeouts, reconciliation,
 * events), journaling through `@effect/workflow` activities, and saga frames.
 *
 * @internal
 */
import * as EWorkflow from "@effect/workflow/Workflow"
import { WorkflowInstance } from "@effect/workflow/WorkflowEngine"
import * as Activity from "./activity.js"
import * as Cancels from "./cancels.js"
import { retry } from "./retry.js"
import { timeoutFail } from "./timeout.js"
import {
  Clock,
  Context,
  Data,
  Duration,
  Effect,
  Either,
  FiberRef,
  Option,
  Schedule,
  Schema
} from "effect"
import * as ScheduleDecision from "effect/ScheduleDecision"
import { DuplicateStepPath, ErrorInfo, type FailureReason, StepFailed, StepTimeout, StoreError } from "../Errors.js"
import * as RetryPolicy from "../RetryPolicy.js"
import { Compensated, FailedItem, Failure, LeftToUndo, type RunEvent, type RunId } from "../Run.js"
import type * as RunStore from "../RunStore.js"
import * as Step from "../Step.js"

// -----------------------------------------------------------------------------
// Paths
// -----------------------------------------------------------------------------

/** The path segments of the current position in the body. */
export const currentPath: FiberRef.FiberRef<ReadonlyArray<string>> = FiberRef.unsafeMake<ReadonlyArray<string>>([])

export const withSegment = <A, E, R>(segment: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(FiberRef.get(currentPath), (path) => Effect.locally(effect, currentPath, [...path, segment]))

const pathOf = (segment: string) => Effect.map(FiberRef.get(currentPath), (path) => [...path, segment].join("/"))

// -----------------------------------------------------------------------------
// Saga frames
// -----------------------------------------------------------------------------

/** A completed step with a compensation, waiting to be undone if the run fails. */
export interface SagaEntry {
  readonly path: string
  readonly step: string
  readonly description: string
  readonly completedAt: number
  readonly input: unknown
  readonly output: unknown
  readonly compensation: Step.Compensation<any, any, any>
  readonly typedInput: unknown
  readonly typedOutput: unknown
}

/** Where completed steps are recorded: the run, or one isolated loop item. */
export class SagaFrame {
  readonly entries: Array<SagaEntry> = []
}

export const currentFrame: FiberRef.FiberRef<SagaFrame | undefined> = FiberRef.unsafeMake<SagaFrame | undefined>(
  undefined
)

let lastStamp = 0
/** A strictly increasing completion stamp (microseconds), journaled with each step. */
const completionStamp = Effect.map(Clock.currentTimeMillis, (millis) => {
  lastStamp = Math.max(millis * 1000, lastStamp + 1)
  return lastStamp
})

// -----------------------------------------------------------------------------
// The run context
// -----------------------------------------------------------------------------

export type EventInput = RunEvent extends infer E ? E extends RunEvent ? Omit<E, "runId" | "at"> : never : never

export interface StepInvocation<I, O, R> {
  readonly id?: string | undefined
  readonly retry?: RetryPolicy.RetryPolicy | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly compensate?: false | Step.Compensation<I, O, R> | undefined
}

export interface RunContextService {
  readonly runId: RunId
  readonly workflow: string
  /** True when this execution resumes a run that executed before (crash, stop). */
  readonly resumed: boolean
  readonly emit: (event: EventInput) => Effect.Effect<void>
  readonly step: <I, O, E, R>(
    step: Step.Step<string, I, O, E, R>,
    input: I,
    options: StepInvocation<I, O, R>
  ) => Effect.Effect<O, StepFailed | DuplicateStepPath, R>
  readonly skipped: (id: string, step: string, reason: string) => Effect.Effect<void>
  /** What isolated loop items could not undo: reported with the run. */
  readonly remaining: Array<LeftToUndo>
  /** Loop items that failed while the run went on: a run that ends with some did not fully succeed. */
  readonly failedItems: Array<FailedItem>
  readonly compensate: (
    entries: ReadonlyArray<SagaEntry>
  ) => Effect.Effect<{ readonly compensated: ReadonlyArray<Compensated>; readonly remaining: ReadonlyArray<LeftToUndo> }>
}

export class RunContext extends Context.Tag("@relais/core/Workflow/RunContext")<RunContext, RunContextService>() {}

/** What the journal keeps of a completed step. */
export const StepRecord = Schema.Struct({
  output: Schema.Unknown,
  attempts: Schema.Number,
  completedAt: Schema.Number,
  reconciled: Schema.Boolean
})

/** What the journal keeps of a compensation. */
const CompensationRecord = Schema.Union(
  Schema.TaggedStruct("done", { attempts: Schema.Number, detail: Schema.optional(Schema.String) }),
  Schema.TaggedStruct("nothing_to_undo", { attempts: Schema.Number, reason: Schema.String }),
  Schema.TaggedStruct("gave_up", { attempts: Schema.Number, error: ErrorInfo })
)

/** A step died instead of failing: a bug, never retried unless a policy names it. */
class StepDefect extends Data.TaggedError("StepDefect")<{ readonly message: string }> {}

const defectMessage = (defect: unknown): string =>
  defect instanceof Error ? `${defect.name}: ${defect.message}` : `unexpected error: ${String(defect)}`

/**
 * The run store failed under a step's state (`StepStateError` of reason `store`): like any
 * other failed store write, it stops the run, whatever the step's retry policy says. Another
 * attempt would meet the same store (a full disk, a read-only file) and only call the remote
 * system again for nothing; and it is not the step's failure: journaled as the step's result, it
 * would fail the run (and undo its steps) on every resume. So the step's (or compensation's)
 * activity is suspended instead, with nothing journaled for it: the resumed run reconciles and
 * runs it again. The engine ends the run's wait with the store's error (`onStoreStop`).
 */
const isStoreFailure = (error: unknown): boolean =>
  // By its tag: a plugin may bring its own copy of this module.
  typeof error === "object" && error !== null &&
  (error as { readonly _tag?: unknown })._tag === "StepStateError" &&
  (error as { readonly reason?: unknown }).reason === "store"

/**
 * The run was cancelled while the step waited: between two attempts (`between`: no attempt in
 * flight, nothing called since the last one failed), or during an attempt of a step with nothing
 * to undo that may run again (see `internal/cancels.ts`). Never retried.
 */
class StepCancelled extends Data.TaggedError("StepCancelled")<{ readonly between: boolean }> {
  override get message() {
    return this.between
      ? "the run was cancelled while this step waited to try again: no further attempt was made"
      : "the run was cancelled during this step, which has nothing to undo: it was stopped at once"
  }
}

/** The policy's schedule, except that a store failure or a cancellation is never retried. */
const retrySchedule = (policy: RetryPolicy.RetryPolicy) =>
  RetryPolicy.toSchedule(policy).pipe(
    Schedule.whileInput((error: unknown) => !isStoreFailure(error) && !(error instanceof StepCancelled))
  )

/** A step (or compensation) stopped by a store failure: its activity suspends. */
class StoppedByStore extends Data.TaggedError("StoppedByStore")<{}> {}

/** Suspend the activity being executed: nothing is journaled for it, a resume executes it again. */
const suspendActivity: Effect.Effect<never, never, WorkflowInstance> = Effect.flatMap(WorkflowInstance, EWorkflow.suspend)

/** Where step states are kept: the run store's part for them. */
export type StateStore = Pick<RunStore.Service, "loadState" | "saveState" | "clearState">

/**
 * The journaled state of the invocation at `path` (`Step.StepState`): every `set` is checked
 * (JSON, size) and written to the store before it returns.
 */
export const stepState = (
  store: StateStore,
  runId: string,
  path: string,
  onStoreFailure: (error: StoreError) => void = () => {}
): Step.StepState => {
  const failed = (error: StoreError) => {
    onStoreFailure(error)
    return new Step.StepStateError({ reason: "store", path, detail: error.message })
  }
  return {
    get: Effect.mapError(store.loadState(runId, path), failed),
    set: (value) =>
      Effect.zipRight(
        Step.encodeStateJson(path, value),
        Effect.mapError(store.saveState(runId, path, value), failed)
      ),
    clear: Effect.mapError(store.clearState(runId, path), failed)
  }
}

export const makeRunContext = (options: {
  readonly runId: RunId
  readonly workflow: string
  readonly resumed: boolean
  readonly emit: (event: RunEvent) => Effect.Effect<void>
  readonly store: StateStore
  /**
   * A step or compensation stopped the run: the store failed under its state (see
   * `isStoreFailure`). Called before the run suspends, with the store's error.
   */
  readonly onStoreStop?: ((error: StoreError) => void) | undefined
  /**
   * The run's cancellation (`Engine.cancel`): no step starts after it, no further attempt, and
   * a waiting step is stopped (see `internal/cancels.ts`).
   */
  readonly cancel?: Cancels.CancelSignal | undefined
}): RunContextService => {
  const cancel = options.cancel ?? Cancels.never
  const usedPaths = new Set<string>()
  /** The last store failure under the state of each invocation, by path. */
  const storeFailures = new Map<string, StoreError>()
  /** The run stops: the store failed under the state of the invocation at `path`. */
  const stopByStore = (path: string, error: Step.StepStateError) =>
    Effect.sync(() =>
      options.onStoreStop?.(
        storeFailures.get(path) ??
          new StoreError({ operation: `keep the state of step ${path}`, detail: error.detail })
      )
    )
  /** What a step's `run`, `reconcile` and compensation see of the invocation at `path`. */
  const stepContext = (path: string, attempt: number): Step.StepContext["Type"] => ({
    runId: options.runId,
    path,
    attempt,
    key: Step.invocationKey(options.runId, path),
    state: stepState(options.store, options.runId, path, (error) => storeFailures.set(path, error))
  })
  const emit = (event: EventInput): Effect.Effect<void> =>
    Effect.flatMap(
      Clock.currentTimeMillis,
      (at) => options.emit({ ...event, runId: options.runId, at } as RunEvent)
    )

  const attempts = <I, O, E, R>(
    step: Step.Step<string, I, O, E, R>,
    input: I,
    path: string
  ): Effect.Effect<typeof StepRecord.Type, StepFailed | StoppedByStore, R> =>
    Effect.gen(function*() {
      const started = yield* Clock.currentTimeMillis
      const base = { path, step: step.name } as const
      yield* emit({ _tag: "StepStarted", ...base })
      let attempt = 0
      let attemptStarted = started
      const timeoutMillis = Duration.toMillis(step.timeout)
      // A step with nothing to undo that may run again (a read, a poll, a sleep) is stopped in
      // the middle of an attempt when the run is cancelled; any other attempt runs to its end.
      const stoppable = step.idempotent && step.compensation === undefined
      const stop = stoppable
        ? { listen: cancel.listen, onStop: () => new StepCancelled({ between: false }) }
        : undefined
      const withTimeout = <A, E2, R2>(effect: Effect.Effect<A, E2, R2>) =>
        effect.pipe(
          Effect.catchAllDefect((defect) => Effect.fail(new StepDefect({ message: defectMessage(defect) }))),
          (attemptEffect) =>
            timeoutFail(attemptEffect, {
              duration: step.timeout,
              onTimeout: () => new StepTimeout({ step: step.name, attempt, timeoutMillis }),
              stop
            })
        )
      const reconcile = (reconcile: NonNullable<typeof step.reconcile>) =>
        withTimeout(reconcile(input)).pipe(
          Effect.provideService(Step.StepContext, stepContext(path, attempt)),
          Effect.tap((found) => emit({ _tag: "StepReconciled", ...base, found: Option.isSome(found) }))
        )
      const body = Effect.gen(function*() {
        attemptStarted = yield* Clock.currentTimeMillis
        if (step.reconcile !== undefined && (attempt > 1 || options.resumed)) {
          const found = yield* reconcile(step.reconcile)
          if (Option.isSome(found)) return { output: found.value, reconciled: true }
        }
        // StepStarted stands for the first attempt; later attempts are announced.
        if (attempt > 1) yield* emit({ _tag: "AttemptStarted", ...base, attempt })
        const output = yield* withTimeout(step.run(input))
        return { output, reconciled: false }
      })
      /** Whether an attempt is under way (not waiting for the next one). */
      let inFlight = false
      /** Called once the attempt under way has ended and been reported (a cancellation waits for it). */
      let whenIdle: (() => void) | undefined
      const once = Effect.suspend(() => {
        // Cancelled since the last attempt failed: no further attempt.
        if (attempt > 0 && cancel.requested()) return Effect.fail(new StepCancelled({ between: true }))
        attempt += 1
        inFlight = true
        return Effect.provideService(body, Step.StepContext, stepContext(path, attempt))
      }).pipe(
        Effect.tapError((error) =>
          // A cancellation is not the attempt's failure: the step's StepFailed says it.
          error instanceof StepCancelled ? Effect.void : Effect.flatMap(Clock.currentTimeMillis, (now) =>
            emit({
              _tag: "AttemptFailed",
              ...base,
              attempt,
              durationMillis: now - attemptStarted,
              error: ErrorInfo.fromUnknown(error),
              retryable: attempt < step.retry.maxAttempts && RetryPolicy.isRetryable(step.retry, error) &&
                !isStoreFailure(error)
            }))
        ),
        Effect.ensuring(Effect.sync(() => {
          inFlight = false
          const idle = whenIdle
          whenIdle = undefined
          idle?.()
        }))
      )
      const schedule = retrySchedule(step.retry).pipe(
        Schedule.onDecision((decision, next) =>
          ScheduleDecision.isContinue(next)
            // Whole, even when a cancellation ends the wait that follows.
            ? Effect.uninterruptible(emit({
              _tag: "RetryScheduled",
              ...base,
              nextAttempt: decision.nextAttempt,
              delayMillis: decision.delayMillis
            }))
            : Effect.void
        )
      )
      // A cancellation ends the wait between two attempts at once. An attempt under way ends
      // first (a stoppable one is stopped by its own listener, above), and is reported.
      const betweenAttempts = <A, E2, R2>(retries: Effect.Effect<A, E2, R2>) =>
        Effect.raceFirst(
          retries,
          Effect.async<never, StepCancelled>((resume) => {
            const stopNow = () => resume(Effect.fail(new StepCancelled({ between: true })))
            const unlisten = cancel.listen(() => {
              if (!inFlight) stopNow()
              else if (!stoppable) whenIdle = stopNow
            })
            return Effect.sync(() => {
              unlisten()
              whenIdle = undefined
            })
          })
        )
      const result = yield* Effect.either(retry(once, schedule, betweenAttempts))
      const finished = yield* Clock.currentTimeMillis
      if (Either.isLeft(result)) {
        const error: unknown = result.left
        if (isStoreFailure(error)) {
          yield* stopByStore(path, error as Step.StepStateError)
          return yield* new StoppedByStore()
        }
        // The last attempt may have been committed by the server before its answer was lost:
        // look once more before declaring the step failed.
        if (step.reconcile !== undefined && !(error instanceof StepDefect)) {
          const found = yield* Effect.either(reconcile(step.reconcile))
          if (Either.isRight(found) && Option.isSome(found.right)) {
            return yield* succeed({ output: found.right.value, reconciled: true })
          }
        }
        const reason: FailureReason = error instanceof StepCancelled
          ? "cancelled"
          : error instanceof StepDefect
          ? "defect"
          : RetryPolicy.isRetryable(step.retry, error)
          ? "exhausted"
          : "non_retryable"
        const info = ErrorInfo.fromUnknown(error)
        yield* emit({
          _tag: "StepFailed",
          ...base,
          attempts: attempt,
          durationMillis: finished - started,
          reason,
          error: info
        })
        return yield* new StepFailed({ step: step.name, path, attempts: attempt, reason, error: info })
      }
      return yield* succeed(result.right)

      function succeed(done: { readonly output: O; readonly reconciled: boolean }) {
        return Effect.gen(function*() {
          const encoded = yield* Step.encodeOutput(step, path, done.output).pipe(
            Effect.mapError((error) =>
              new StepFailed({
                step: step.name,
                path,
                attempts: attempt,
                reason: "invalid_output",
                error: ErrorInfo.fromUnknown(error)
              })
            )
          )
          const end = yield* Clock.currentTimeMillis
          yield* emit({
            _tag: "StepSucceeded",
            ...base,
            attempts: attempt,
            durationMillis: end - started,
            output: encoded
          })
          const completedAt = yield* completionStamp
          return { output: encoded, attempts: attempt, completedAt, reconciled: done.reconciled }
        })
      }
    })

  const service: RunContextService = {
    runId: options.runId,
    workflow: options.workflow,
    resumed: options.resumed,
    emit,
    remaining: [],
    failedItems: [],
    skipped: (id, step, reason) =>
      Effect.flatMap(pathOf(id), (path) => emit({ _tag: "StepSkipped", path, step, reason })),
    step: <I, O, E, R>(
      step: Step.Step<string, I, O, E, R>,
      input: I,
      stepOptions: StepInvocation<I, O, R>
    ) =>
      Effect.gen(function*() {
        const path = yield* pathOf(stepOptions.id ?? step.name)
        if (usedPaths.has(path)) return yield* new DuplicateStepPath({ path })
        usedPaths.add(path)
        const effective = Step.withOptions(step, {
          retry: stepOptions.retry,
          timeout: stepOptions.timeout,
          compensate: stepOptions.compensate
        })
        const encodedInput = yield* Step.encodeInput(step, path, input).pipe(
          Effect.mapError((error) =>
            new StepFailed({
              step: step.name,
              path,
              attempts: 0,
              reason: "invalid_input",
              error: ErrorInfo.fromUnknown(error)
            })
          ),
          Effect.tapError((error) =>
            emit({
              _tag: "StepFailed",
              path,
              step: step.name,
              attempts: 0,
              durationMillis: 0,
              reason: error.reason,
              error: error.error
            })
          )
        )
        let executed = false
        const record = yield* Activity.run({
          name: path,
          success: StepRecord,
          error: StepFailed,
          execute: Effect.suspend(() => {
            executed = true
            // A cancelled run starts no step: it fails here, before anything is called, and its
            // completed steps are undone (or left, as asked) by the engine.
            if (cancel.requested()) {
              return Effect.zipRight(
                emit({ _tag: "StepSkipped", path, step: step.name, reason: "the run was cancelled" }),
                Effect.fail(
                  new StepFailed({
                    step: step.name,
                    path,
                    attempts: 0,
                    reason: "cancelled",
                    error: ErrorInfo.fromUnknown(new Error("the run was cancelled before this step started"))
                  })
                )
              )
            }
            return attempts(effective, input, path)
          }).pipe(Effect.catchTag("StoppedByStore", () => suspendActivity))
        })
        if (!executed) yield* emit({ _tag: "StepReplayed", path, step: step.name })
        const output = yield* Step.decodeOutput(step, path, record.output).pipe(
          Effect.mapError((error) =>
            new StepFailed({
              step: step.name,
              path,
              attempts: record.attempts,
              reason: "invalid_output",
              error: ErrorInfo.fromUnknown(error)
            })
          )
        )
        const compensation = effective.compensation
        const frame = yield* FiberRef.get(currentFrame)
        if (compensation !== undefined && frame !== undefined) {
          frame.entries.push({
            path,
            step: step.name,
            description: compensation.description,
            completedAt: record.completedAt,
            input: encodedInput,
            output: record.output,
            compensation,
            typedInput: input,
            typedOutput: output
          })
        }
        return output
      }) as Effect.Effect<O, StepFailed | DuplicateStepPath, R>,
    compensate: (entries) =>
      Effect.gen(function*() {
        const ordered = [...entries].sort((a, b) => b.completedAt - a.completedAt)
        const compensated: Array<Compensated> = []
        const remaining: Array<LeftToUndo> = []
        for (const entry of ordered) {
          const result = yield* Activity.run({
            name: `compensate:${entry.path}`,
            success: CompensationRecord,
            error: Schema.Never,
            execute: runCompensation(entry)
          })
          if (result._tag === "done") {
            compensated.push(
              new Compensated({
                path: entry.path,
                step: entry.step,
                description: entry.description,
                ...(result.detail !== undefined ? { detail: result.detail } : {})
              })
            )
          } else if (result._tag === "nothing_to_undo") {
            compensated.push(
              new Compensated({
                path: entry.path,
                step: entry.step,
                description: entry.description,
                detail: result.reason,
                nothingToUndo: true
              })
            )
          } else {
            remaining.push(
              new LeftToUndo({
                path: entry.path,
                step: entry.step,
                description: entry.description,
                input: entry.input,
                output: entry.output,
                error: result.error
              })
            )
          }
        }
        return { compensated, remaining }
      }) as any
  }

  const runCompensation = (entry: SagaEntry): Effect.Effect<typeof CompensationRecord.Type, never, WorkflowInstance> =>
    Effect.gen(function*() {
      const base = { path: entry.path, step: entry.step } as const
      yield* emit({ _tag: "CompensationStarted", ...base, description: entry.description })
      const policy = entry.compensation.retry
      let attempt = 0
      const once = Effect.suspend(() => {
        attempt += 1
        return entry.compensation.run(entry.typedInput, entry.typedOutput).pipe(
          Effect.provideService(Step.StepContext, stepContext(entry.path, attempt))
        )
      }).pipe(
        Effect.catchAllDefect((defect) => Effect.fail(new StepDefect({ message: defectMessage(defect) }))),
        (attemptEffect) =>
          timeoutFail(attemptEffect, {
            duration: entry.compensation.timeout,
            onTimeout: () =>
              new StepTimeout({
                step: entry.step,
                attempt,
                timeoutMillis: Duration.toMillis(entry.compensation.timeout)
              })
          })
      )
      const schedule = retrySchedule(policy).pipe(
        Schedule.onDecision((decision, next) =>
          emit({
            _tag: "CompensationAttemptFailed",
            ...base,
            attempt: decision.nextAttempt - 1,
            error: ErrorInfo.fromUnknown(decision.error),
            ...(ScheduleDecision.isContinue(next) ? { nextDelayMillis: decision.delayMillis } : {})
          })
        )
      )
      const result = yield* Effect.either(retry(once, schedule))
      // Not the compensation's failure: the run stops (see `isStoreFailure`).
      if (Either.isLeft(result) && isStoreFailure(result.left)) {
        yield* stopByStore(entry.path, result.left as Step.StepStateError)
        return yield* suspendActivity
      }
      if (Either.isRight(result)) {
        const said = result.right
        if (Step.isCompensationResult(said) && said._tag === "NothingToUndo") {
          yield* emit({ _tag: "CompensationSkipped", ...base, attempts: attempt, reason: said.text })
          return { _tag: "nothing_to_undo", attempts: attempt, reason: said.text } as const
        }
        const detail = Step.isCompensationResult(said) ? { detail: said.text } : {}
        yield* emit({ _tag: "CompensationSucceeded", ...base, attempts: attempt, ...detail })
        return { _tag: "done", attempts: attempt, ...detail } as const
      }
      const error = ErrorInfo.fromUnknown(result.left)
      yield* emit({ _tag: "CompensationFailed", ...base, attempts: attempt, error })
      return { _tag: "gave_up", attempts: attempt, error } as const
    }) as Effect.Effect<typeof CompensationRecord.Type, never, WorkflowInstance>

  return service
}

// -----------------------------------------------------------------------------
// Composition
// -----------------------------------------------------------------------------

export const parallel = (
  branches: Record<string, Effect.Effect<unknown, unknown, unknown>>,
  options?: { readonly segments?: boolean | undefined }
): Effect.Effect<Record<string, unknown>, unknown, unknown> =>
  Effect.gen(function*() {
    const keys = Object.keys(branches)
    const segments = options?.segments ?? true
    const results = yield* Effect.all(
      keys.map((key) => Effect.either(segments ? withSegment(key, branches[key]!) : branches[key]!)),
      { concurrency: "unbounded" }
    )
    const out: Record<string, unknown> = {}
    for (let i = 0; i < keys.length; i++) {
      const result = results[i]!
      if (Either.isLeft(result)) return yield* Effect.fail(result.left)
      out[keys[i]!] = result.right
    }
    return out
  })

const HaltRecord = Schema.Struct({ halted: Schema.Boolean })

export const forEach = <A, B, E, R>(
  id: string,
  items: Iterable<A>,
  f: (item: A, index: number) => Effect.Effect<B, E, R>,
  options?: {
    readonly concurrency?: number | undefined
    readonly onItemFailure?: "fail" | "compensate-item" | "continue" | undefined
  }
): Effect.Effect<ReadonlyArray<unknown>, unknown, R | RunContext> =>
  Effect.gen(function*() {
    const context = yield* RunContext
    const list = Array.from(items)
    const mode = options?.onItemFailure ?? "fail"
    const concurrency = Math.max(1, options?.concurrency ?? 1)
    const parent = yield* FiberRef.get(currentFrame)

    if (mode === "fail") {
      let halted = false
      const prefix = yield* pathOf(id)
      // With several items in flight, whether item i starts after another item failed depends
      // on timing; the decision is journaled so that a replay starts exactly the same items.
      const gate = (index: number): Effect.Effect<boolean> =>
        concurrency === 1
          ? Effect.sync(() => halted)
          : Effect.map(
            Activity.run({
              name: `${prefix}[${index}]:start`,
              success: HaltRecord,
              error: Schema.Never,
              execute: Effect.sync(() => ({ halted }))
            }),
            (record) => record.halted
          ) as Effect.Effect<boolean>
      const results = yield* Effect.forEach(list, (item, index) =>
        Effect.flatMap(gate(index), (stop) =>
          stop
            ? Effect.succeed(Option.none<Either.Either<B, E>>())
            : withSegment(`${id}[${index}]`, f(item, index)).pipe(
              Effect.either,
              Effect.tap((result) => {
                if (Either.isLeft(result)) halted = true
              }),
              Effect.map(Option.some)
            )), { concurrency })
      const out: Array<B> = []
      for (const result of results) {
        if (Option.isNone(result)) continue
        if (Either.isLeft(result.value)) return yield* Effect.fail(result.value.left)
        out.push(result.value.right)
      }
      return out
    }

    const loop = yield* pathOf(id)
    const outcomes = yield* Effect.forEach(list, (item, index) => {
      const frame = new SagaFrame()
      const segment = `${id}[${index}]`
      return withSegment(segment, f(item, index)).pipe(
        Effect.locally(currentFrame, frame),
        Effect.either,
        Effect.flatMap((result) =>
          Effect.gen(function*() {
            if (Either.isRight(result)) {
              parent?.entries.push(...frame.entries)
              return { _tag: "Succeeded", index, value: result.right } as const
            }
            // A cancelled run is not an item's failure: the item's completed steps join the
            // run's, and the whole run stops.
            if (result.left instanceof StepFailed && result.left.reason === "cancelled") {
              parent?.entries.push(...frame.entries)
              return yield* Effect.fail(result.left)
            }
            // The step's own error says what is wrong with the item; the path is in the events.
            const error = result.left instanceof StepFailed ? result.left.error : ErrorInfo.fromUnknown(result.left)
            const itemPath = yield* pathOf(segment)
            const failed = (completedSteps: FailedItem["completedSteps"]) =>
              new FailedItem({
                path: itemPath,
                loop,
                index,
                items: list.length,
                failure: itemFailure(result.left),
                completedSteps
              })
            if (mode === "continue") {
              parent?.entries.push(...frame.entries)
              yield* context.emit({ _tag: "ItemFailed", path: itemPath, index, error, compensated: false })
              return { _tag: "Failed", index, error, compensated: false, remaining: [], item: failed("kept") } as const
            }
            const undone = yield* context.compensate(frame.entries)
            context.remaining.push(...undone.remaining)
            const compensated = undone.remaining.length === 0
            yield* context.emit({ _tag: "ItemFailed", path: itemPath, index, error, compensated })
            return {
              _tag: "Failed",
              index,
              error,
              compensated,
              remaining: undone.remaining,
              item: failed(compensated ? "undone" : "partly_undone")
            } as const
          })
        )
      )
    }, { concurrency })
    // In item order, whatever order they finished in.
    for (const outcome of outcomes) if (outcome._tag === "Failed") context.failedItems.push(outcome.item)
    return outcomes.map((outcome) => {
      if (outcome._tag === "Succeeded") return outcome
      const { item: _item, ...rest } = outcome
      return rest
    })
  })

/** What failed in a loop item: its failing step when it is a `StepFailed`. */
const itemFailure = (error: unknown): Failure =>
  error instanceof StepFailed
    ? new Failure({ error: error.error, step: error.step, path: error.path, reason: error.reason })
    : new Failure({ error: ErrorInfo.fromUnknown(error) })
