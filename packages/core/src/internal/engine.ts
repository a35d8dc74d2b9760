/**
 * The engine: runs relais workflows as `@effect/workflow` executions, records them in the run
 * store, publishes their events, and applies saga semantics when a run fails.
 *
 * @internal
 */
import * as EWorkflow from "@effect/workflow/Workflow"
import { WorkflowEngine, WorkflowInstance } from "@effect/workflow/WorkflowEngine"
import {
  Cause,
  Clock,
  Deferred,
  Duration,
  Effect,
  Exit,
  FiberId,
  Option,
  ParseResult,
  PubSub,
  Random,
  Schedule,
  Schema,
  Stream
} from "effect"
import type { Scope } from "effect"
import {
  CannotRestart,
  ErrorInfo,
  RunEnded,
  issuesFromParseError,
  RunNotFound,
  StoreError,
  WorkflowInputError,
  WorkflowNotFound
} from "../Errors.js"
import * as Redactor from "../Redactor.js"
import {
  completedBefore,
  Definition,
  Failure,
  isFinal,
  LeftToUndo,
  makeRunId,
  Outcome,
  type RunEvent,
  type RunId,
  RunRecord,
  type RunStatus
} from "../Run.js"
import * as RunStore from "../RunStore.js"
import type * as Workflow from "../Workflow.js"
import { firstExecution } from "./activity.js"
import * as Cancels from "./cancels.js"
import * as Drain from "./drain.js"
import { retry } from "./retry.js"
import { currentOwner } from "./owner.js"
import { healthy, isFatal, StoreFile, StoreHealth, unreported } from "./store.js"
import { currentFrame, currentPath, makeRunContext, RunContext, SagaFrame } from "./runtime.js"

/** The single `@effect/workflow` workflow every relais run executes as. */
export const RelaisRun = EWorkflow.make({
  name: "relais/run",
  payload: { runId: Schema.String },
  success: Outcome,
  idempotencyKey: ({ runId }) => runId
})

export interface StartOptions {
  /** Use this id instead of a fresh one (starting an existing run only waits for it). */
  readonly runId?: string | undefined
  /** The definition the workflow was compiled from (a YAML text), kept with the run. */
  readonly definition?: Definition | undefined
}

export interface EngineService {
  /** Start a run and return its id without waiting. The input is in its typed form. */
  readonly start: <I, O>(
    workflow: Workflow.Workflow<I, O, never>,
    input: I,
    options?: StartOptions
  ) => Effect.Effect<RunId, WorkflowInputError | StoreError>
  /** Start a run from an input in encoded (JSON) form, validated against the input schema. */
  readonly startUnknown: (
    workflow: Workflow.Workflow<any, any, never>,
    input: unknown,
    options?: StartOptions
  ) => Effect.Effect<RunId, WorkflowInputError | StoreError>
  /** Wait until a run reaches a final status (or stops, interrupted) and return its record. */
  readonly await: (runId: string) => Effect.Effect<RunRecord, RunNotFound | StoreError>
  /** Resume an interrupted run with the definition it started with, and wait for it. */
  readonly resume: (runId: string) => Effect.Effect<RunRecord, RunNotFound | WorkflowNotFound | StoreError>
  /** Live events of every run executing in this process (already redacted). */
  readonly events: Stream.Stream<RunEvent>
  /** Subscribe to live events; the subscription starts now, before anything is missed. */
  readonly subscribe: Effect.Effect<Stream.Stream<RunEvent>, never, Scope.Scope>
  /**
   * The events of a run as the store records them, from the first (or after `after`, a stored
   * event's `seq`), until the run finishes or stops: whichever process executes it.
   */
  readonly watch: (
    runId: string,
    options?: { readonly after?: number | undefined }
  ) => Stream.Stream<RunEvent, StoreError>
  /**
   * Stop starting steps in this process and wait until the steps executing now have finished.
   * The runs wait at their next step; in a cluster, another worker continues them once this
   * process stops (and once drained, or once the caller stops waiting, a worker stopping waits
   * for nothing more than its steps in flight: see `Engine.layerPostgres`).
   */
  readonly drain: Effect.Effect<void>
  /** The steps (and compensations) executing in this process now. */
  readonly stepsInFlight: Effect.Effect<number>
  /**
   * Stop a running or waiting run wherever it executes: no step of it starts any more (steps in
   * flight finish), what it completed is undone (`compensate: false` leaves it as it is), and it
   * ends `cancelled`. Returns its final record. A run not executing anywhere is continued here
   * to that end.
   */
  readonly cancel: (
    runId: string,
    options?: { readonly compensate?: boolean | undefined }
  ) => Effect.Effect<RunRecord, RunNotFound | RunEnded | WorkflowNotFound | StoreError>
  /**
   * Start a new run, linked to an ended one, that reuses the recorded outcomes of the steps that
   * completed before `from` (a step's path) and executes from there: with the original's
   * workflow, or `workflow` and its `definition` (a corrected file). Refused while the original
   * has not ended, when it never reached `from`, when steps to reuse were undone, or when it was
   * restarted already (its restart, `restartIdOf`, is answered when the same restart is asked
   * again: same step, same definition).
   */
  readonly restart: (
    runId: string,
    options: {
      readonly from: string
      readonly workflow?: Workflow.Workflow<any, any, never> | undefined
      readonly definition?: Definition | undefined
    }
  ) => Effect.Effect<RunId, RunNotFound | CannotRestart | WorkflowNotFound | StoreError>
}

/**
 * A store shared by several processes (PostgreSQL with several workers): a run may execute in
 * another process, and a process that stops leaves its runs to the others.
 */
export interface SharedOptions {
  /** Who executes runs here (a worker's address), recorded as their owner. */
  readonly owner: string
  /** How often the store is read for a run executing elsewhere. */
  readonly pollInterval: Duration.DurationInput
  /**
   * Whether the process at this address is alive (a worker with a fresh heartbeat). A run that
   * comes here from a worker that is still alive (its shard moved while a step was in flight)
   * waits until that worker has let it go, so that no step executes in two places at once.
   */
  readonly isAlive?: ((address: string) => Effect.Effect<boolean>) | undefined
  /**
   * How long a run waits at most for a live worker to let it go (`isAlive`). A worker whose
   * shard moved interrupts the run's execution (its step in flight too) within the cluster's
   * `entityTerminationTimeout`, then lets the run go; past this limit it is taken to have failed
   * to say so (its write lost), and the run goes on here rather than wait for ever.
   */
  readonly handoverLimit?: Duration.DurationInput | undefined
}

export interface EngineOptions<R> {
  /** Workflows this engine can resume by name (code-defined workflows). */
  readonly workflows?: ReadonlyArray<Workflow.Workflow<any, any, R>> | undefined
  /**
   * Turns a stored run (its workflow name and definition) back into a workflow, for runs started
   * from a definition (YAML). `None` when the run is not one this resolver knows.
   */
  readonly resolve?:
    | ((record: RunRecord) => Effect.Effect<Option.Option<Workflow.Workflow<any, any, R>>, WorkflowNotFound>)
    | undefined
  /** Ask the durable storage to look for work now (resume latency), when it has such a knob. */
  readonly kick?: Effect.Effect<void> | undefined
  /** The store is shared with other processes (see `SharedOptions`). */
  readonly shared?: SharedOptions | undefined
  /**
   * Copy the journaled outcomes of some steps (by path) of one run into another's journal, for
   * `restart`. Only the durable engines keep such a journal.
   */
  readonly copySteps?: ((from: string, to: string, paths: ReadonlyArray<string>) => Effect.Effect<void, StoreError>) | undefined
  /** Told when a run starts executing here, and when it ends or leaves (for a worker's log). */
  readonly onExecution?: ((event: ExecutionEvent) => Effect.Effect<void>) | undefined
}

/** A run starting, ending or leaving this process. */
export type ExecutionEvent =
  | { readonly _tag: "Started"; readonly runId: string; readonly workflow: string; readonly execution: number }
  | { readonly _tag: "Finished"; readonly runId: string; readonly status: RunStatus }
  | { readonly _tag: "Left"; readonly runId: string }

/**
 * A store shared by several processes is a server, and a connection to it can drop (a restarted
 * or failed-over server, a killed backend) while the next statement, on a new connection,
 * succeeds. A run that stopped on such a failure would be left suspended in the cluster, with
 * nobody to resume it (ClusterFailover.test.ts cuts a worker's connections with
 * `pg_terminate_backend` and found runs stuck so), so a run's own reads and writes are tried
 * again for a minute first. Failures that need someone to act (`isFatal`: a full disk...) are
 * not; past the minute, the run stops as on SQLite.
 */
const retryTransient = Schedule.exponential(Duration.millis(100)).pipe(
  Schedule.union(Schedule.spaced(Duration.seconds(5))),
  Schedule.upTo(Duration.minutes(1))
)

const isTransient = (error: unknown): boolean => error instanceof StoreError && !isFatal(error)

const whileTransient = Schedule.whileInput(retryTransient, isTransient)

const retrying = (store: RunStore.Service): RunStore.Service => {
  const again = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    effect.pipe(
      Effect.tapError((error) =>
        isTransient(error) ? Effect.logWarning(`the run store failed, trying again: ${(error as StoreError).message}`) : Effect.void
      ),
      (tried) => retry(tried, whileTransient)
    )
  return {
    ...store,
    get: (id) => again(store.get(id)),
    read: (id) => again(store.read(id)),
    update: (id, f, from) => again(store.update(id, f, from)),
    loadState: (runId, path) => again(store.loadState(runId, path)),
    saveState: (runId, path, value) => again(store.saveState(runId, path, value)),
    clearState: (runId, path) => again(store.clearState(runId, path))
  }
}

/**
 * Records the engine builds from a record it read or wrote, changing fields of known types, are
 * not checked again by `RunRecord`'s constructor (a whole record's check is a good part of a
 * run's fixed cost: bench/postgres.ts, --cpu-prof). A record made from outside input is checked.
 */
const trusted = true

/**
 * The id of the restart of a run (`Engine.restart`): the original's, then `.restart`. A run is
 * restarted once; its restart may be restarted in turn (`<id>.restart.restart`).
 */
export const restartIdOf = (runId: string): RunId => `${runId}.restart` as RunId

/** The real clock, for the engine's own housekeeping (see the cancellations' poll). */
const liveClock = Clock.make()

const encodeOutcomeOutput = (workflow: Workflow.Any, value: unknown) =>
  ParseResult.encodeUnknown(workflow.output, { errors: "all" })(value)

export const make = <R>(
  options: EngineOptions<R>
): Effect.Effect<EngineService, never, WorkflowEngine | RunStore.RunStore | Redactor.Redactor | R | Scope.Scope> =>
  Effect.gen(function*() {
    const engine = yield* WorkflowEngine
    const store = yield* RunStore.RunStore
    /** The store as the runs executing here use it (see `retrying`). */
    const runStore = options.shared === undefined ? store : retrying(store)
    const redactor = yield* Redactor.Redactor
    const context = yield* Effect.context<R>()
    const shared = options.shared
    const owner = shared?.owner ?? currentOwner()
    const pollMillis = shared === undefined ? 200 : Math.max(10, Duration.toMillis(shared.pollInterval))
    const drain = Drain.make()
    const notify = options.onExecution ?? (() => Effect.void)
    const pubsub = yield* PubSub.unbounded<RunEvent>()
    const byName = new Map<string, Workflow.Workflow<any, any, any>>()
    for (const workflow of options.workflows ?? []) byName.set(workflow.name, workflow)
    const perRun = new Map<string, Workflow.Workflow<any, any, any>>()
    /** Runs executing in this process now. */
    const executing = new Set<string>()
    /** Runs this process created (started or restarted): `await` need not read them first. */
    const createdHere = new Set<string>()
    /** Runs asked to stop (`cancel`), here or through the store: whether to undo their steps. */
    const cancels = new Cancels.Cancels()
    // The store's health: a storage failure anywhere (the journal, the history) ends every wait.
    const health = Option.getOrElse(yield* Effect.serviceOption(StoreHealth), () => healthy)
    const storePath = Option.getOrUndefined(yield* Effect.serviceOption(StoreFile))?.filename
    const waiters = new Map<string, Deferred.Deferred<RunRecord, StoreError>>()
    const waiter = (runId: string) => {
      let deferred = waiters.get(runId)
      if (deferred === undefined) {
        deferred = Deferred.unsafeMake<RunRecord, StoreError>(FiberId.none)
        waiters.set(runId, deferred)
      }
      return deferred
    }
    /** Wait for `effect`, unless the store fails first. */
    const guarded = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E | StoreError> =>
      Effect.raceFirst(effect, health.failed)

    const publish = (event: RunEvent) =>
      Effect.zipRight(store.append(event), PubSub.publish(pubsub, redactor.redact(event)))

    const resolve = (record: RunRecord): Effect.Effect<Option.Option<Workflow.Workflow<any, any, any>>> =>
      Effect.gen(function*() {
        const known = perRun.get(record.id)
        if (known) return Option.some(known)
        if (record.definition === undefined) {
          const named = byName.get(record.workflow)
          if (named) return Option.some(named)
        }
        if (options.resolve) {
          const resolved = yield* Effect.either(options.resolve(record))
          if (resolved._tag === "Right") return resolved.right
          yield* Effect.logWarning(`cannot resume run ${record.id}: ${resolved.left.message}`)
        }
        return Option.none()
      })

    const finish = (record: RunRecord) =>
      Effect.gen(function*() {
        // The record is final; events that could not be written are reported by the store's
        // health (a full disk), not by the run's outcome.
        yield* store.flush.pipe(Effect.catchAll((e) => Effect.logWarning(e.message)))
        yield* Deferred.succeed(waiter(record.id), record)
      })

    /** The store failed under a run: tell whoever waits for it (and every run, when it is fatal). */
    const storeStopped = (runId: string, error: StoreError): Effect.Effect<void> =>
      Effect.gen(function*() {
        yield* health.report(error)
        yield* Deferred.fail(waiter(runId), error)
        yield* Effect.logDebug(`run ${runId} stops: ${error.message}`)
      })

    /**
     * The store failed under a run: tell whoever waits for it, and leave the run suspended as it
     * was journaled (nothing is compensated: the steps did not fail), to be resumed once the
     * store is fixed.
     */
    const storeFailed = (runId: string, error: StoreError): Effect.Effect<never, never, WorkflowInstance> =>
      shared !== undefined && !isFatal(error)
        ? restartLater(runId, error)
        : Effect.zipRight(storeStopped(runId, error), Effect.flatMap(WorkflowInstance, EWorkflow.suspend))

    /**
     * On a shared store, a storage failure that nobody has to fix (a dropped connection, a
     * killed backend: the next statement succeeds on a new connection) must not leave the run
     * suspended: in a cluster nobody would resume it (ClusterFailover.test.ts cut a worker's
     * connections with pg_terminate_backend and found a run so, its 'run' message answered
     * Suspended). Its execution is interrupted instead, after a pause: the cluster keeps the
     * message of an interrupted run unanswered and delivers it again (to this worker, or to the
     * next owner of its shard if this one stops), and the run starts again from its journal.
     */
    const restartLater = (runId: string, error: StoreError): Effect.Effect<never> =>
      Effect.logWarning(`run ${runId}: the store failed (${error.message}); it goes on from its journal in a moment`).pipe(
        Effect.zipRight(Effect.sleep(Duration.seconds(1))),
        Effect.zipRight(Effect.interrupt)
      )

    /**
     * Runs that a step (or a compensation) stopped because the store failed under its state: the
     * step's activity suspended, and so did the run (see runtime.ts, `isStoreFailure`). By run id,
     * with the store's error; read when the run's execution is interrupted by the suspension.
     */
    const stoppedByStore = new Map<string, StoreError>()

    /** A defect that comes from storage (the cluster dies on journal failures), as a `StoreError`. */
    const storageDefect = (cause: Cause.Cause<unknown>): Effect.Effect<Option.Option<StoreError>> =>
      Effect.gen(function*() {
        const failed = yield* health.current
        if (Option.isSome(failed)) return failed
        for (const defect of Cause.defects(cause)) {
          const tag = (defect as { readonly _tag?: unknown } | null)?._tag
          if (tag === "PersistenceError" || tag === "SqlError" || tag === "StoreError") {
            return Option.some(StoreError.fromCause("write the journal", defect, storePath))
          }
        }
        return Option.none()
      })

    /**
     * A run that another worker executed before, and has not let go: that worker lost the run's
     * shard (its lock expired on a busy machine, or the run outlived the shard's termination
     * time) while a step of it was still executing there. That worker lets the run go
     * (`release`) once its execution has stopped, its step in flight ended or interrupted: until
     * then, or until that worker is gone, the run waits here rather than execute the same step a
     * second time, concurrently.
     */
    const handover = (stored: RunRecord): Effect.Effect<RunRecord, RunNotFound | StoreError> => {
      const isAlive = shared?.isAlive
      const previous = stored.owner
      if (isAlive === undefined || previous === undefined || previous === owner || stored.executions === 0 || isFinal(stored.status)) {
        return Effect.succeed(stored)
      }
      const held = (record: RunRecord) =>
        record.owner === previous && !isFinal(record.status) ? isAlive(previous) : Effect.succeed(false)
      const limit = Duration.toMillis(Duration.decode(shared?.handoverLimit ?? Duration.seconds(30)))
      return Effect.gen(function*() {
        if (!(yield* held(stored))) return stored
        yield* Effect.logInfo(`run ${stored.id}: waiting for ${previous}, which still executes a step of it`)
        // On the real clock: a test clock must not hold a run here.
        const since = yield* Effect.withClock(Clock.currentTimeMillis, liveClock)
        for (;;) {
          yield* Effect.withClock(Effect.sleep(pollMillis), liveClock)
          const latest = yield* runStore.read(stored.id)
          if (!(yield* held(latest))) return latest
          if ((yield* Effect.withClock(Clock.currentTimeMillis, liveClock)) - since >= limit) {
            yield* Effect.logWarning(
              `run ${stored.id}: ${previous} did not let it go within ${Duration.format(Duration.millis(limit))}; it goes on here (its step in flight, if any, is reconciled)`
            )
            return latest
          }
        }
      })
    }

    /** Let a run go (see `handover`): the next worker need not wait for this one. */
    const release = (runId: string): Effect.Effect<void> =>
      store.update(runId, (r) => r.owner === owner && !isFinal(r.status) ? new RunRecord({ ...r, owner: undefined }, trusted) : r).pipe(
        Effect.timeout(Duration.seconds(5)),
        unreported,
        Effect.catchAllCause((cause) => Effect.logDebug(`run ${runId}: not let go in the store (${Cause.pretty(cause).split("\n")[0]})`))
      )

    const body = (runId: string): Effect.Effect<Outcome, never, WorkflowInstance> =>
      Effect.gen(function*() {
        // The run may come back to this process while its earlier execution here is still
        // ending (its shard left and came back within the cluster's termination wait). That
        // execution is this process, which `handover` does not wait for: wait for it here, so
        // that no step executes twice at once.
        if (executing.has(runId)) {
          yield* Effect.logInfo(`run ${runId}: its earlier execution here is still ending; waiting for it`)
          while (executing.has(runId)) yield* Effect.withClock(Effect.sleep(pollMillis), liveClock)
        }
        stoppedByStore.delete(runId)
        // As stored: this process writes the run's record from this copy from now on, without
        // reading it again (it is the run's one executor; see `handover`).
        const stored = yield* Effect.flatMap(runStore.read(runId), handover)
        // A run executing again (resumed, taken over) may have been cancelled meanwhile: looked
        // up once here, before its first step (a first execution learns it from the poll).
        if (stored.executions > 0 && !cancels.has(runId)) {
          const asked = yield* store.cancellations.pipe(unreported, Effect.orElseSucceed(() => new Map()))
          const request = asked.get(runId)
          if (request !== undefined) cancels.set(runId, request.compensate)
        }
        const resolved = yield* resolve(stored)
        if (Option.isNone(resolved)) {
          // Not resolvable here (e.g. a run of another workflow found at start-up): leave it
          // suspended, so that `resume` can pick it up where the workflow is known.
          const instance = yield* WorkflowInstance
          return yield* EWorkflow.suspend(instance)
        }
        const workflow = resolved.value
        const now = yield* Clock.currentTimeMillis
        const record = yield* runStore.update(runId, (r) =>
          new RunRecord({
            ...r,
            status: r.status === "compensating" ? "compensating" : "running",
            executions: r.executions + 1,
            owner,
            updatedAt: now
          }, trusted), stored)
        let current = record
        // Whether a step saved a state in this execution (an earlier one may have: see below).
        let savedState = false
        const tracked: RunStore.Service = {
          ...runStore,
          saveState: (id, path, value) => Effect.zipRight(Effect.sync(() => (savedState = true)), runStore.saveState(id, path, value))
        }
        executing.add(runId)
        const context = makeRunContext({
          runId: record.id,
          workflow: workflow.name,
          resumed: record.executions > 1,
          emit: publish,
          store: tracked,
          cancel: cancels.signal(runId),
          onStoreStop: (error) => {
            if (!stoppedByStore.has(runId)) stoppedByStore.set(runId, error)
          }
        })
        yield* context.emit({ _tag: "RunStarted", workflow: workflow.name, execution: record.executions })
        yield* notify({ _tag: "Started", runId, workflow: workflow.name, execution: record.executions })
        const frame = new SagaFrame()

        const result = yield* Schema.decodeUnknown(workflow.input)(record.input).pipe(
          Effect.mapError((error) =>
            new WorkflowInputError({ workflow: workflow.name, issues: issuesFromParseError(error) })
          ),
          Effect.flatMap((input) =>
            Effect.locally(workflow.run(input), firstExecution, record.executions === 1 && record.restartOf === undefined)
          ),
          Effect.flatMap((output) => encodeOutcomeOutput(workflow, output)),
          Effect.provideService(RunContext, context),
          Effect.locally(currentFrame, frame),
          Effect.locally(currentPath, []),
          Effect.exit
        )

        let outcome: Outcome
        let journal: Option.Option<StoreError>
        if (Exit.isSuccess(result)) {
          // Loop items that failed while the run went on make it a partial success, reported as such.
          outcome = context.failedItems.length > 0
            ? { _tag: "succeeded_with_failures", output: result.value, failedItems: [...context.failedItems] }
            : { _tag: "succeeded", output: result.value }
        } else if (Cause.isInterruptedOnly(result.cause)) {
          return yield* Effect.failCause(result.cause as Cause.Cause<never>)
        } else if (Option.isSome(journal = yield* storageDefect(result.cause))) {
          // The journal failed, not a step: stop without compensating anything.
          return yield* journal.value
        } else {
          const failure = failureOf(result.cause)
          if (failure.reason === "cancelled") {
            // Cancelled: what it completed is undone, or left as it is when asked.
            const compensate = cancels.compensate(runId) ?? true
            if (compensate && frame.entries.length > 0) {
              current = yield* runStore.update(runId, (r) => new RunRecord({ ...r, status: "compensating" }, trusted), current)
              const undone = yield* context.compensate(frame.entries)
              outcome = { _tag: "cancelled", failure, compensated: undone.compensated, remaining: undone.remaining }
            } else {
              outcome = {
                _tag: "cancelled",
                failure,
                compensated: [],
                remaining: frame.entries.map((entry) =>
                  new LeftToUndo({
                    path: entry.path,
                    step: entry.step,
                    description: entry.description,
                    input: entry.input,
                    output: entry.output,
                    error: ErrorInfo.fromUnknown(new Error("not undone: the run was cancelled without compensation"))
                  })
                )
              }
            }
          } else if (frame.entries.length === 0) {
            outcome = { _tag: "failed", failure }
          } else {
            current = yield* runStore.update(runId, (r) => new RunRecord({ ...r, status: "compensating" }, trusted), current)
            const undone = yield* context.compensate(frame.entries)
            outcome = undone.remaining.length === 0
              ? { _tag: "compensated", failure, compensated: undone.compensated }
              : {
                _tag: "compensation_failed",
                failure,
                compensated: undone.compensated,
                remaining: undone.remaining
              }
          }
        }
        const finished = yield* Clock.currentTimeMillis
        const status: RunStatus = outcome._tag
        const remaining = [
          ...context.remaining,
          ...(outcome._tag === "compensation_failed" || outcome._tag === "cancelled" ? outcome.remaining : [])
        ]
        // The run's events are written before its record turns final: a reader that sees the
        // final record (`watch`, the API's event stream) finds every event, RunFinished last.
        yield* context.emit({ _tag: "RunFinished", status, durationMillis: finished - current.createdAt })
        yield* store.flush.pipe(Effect.catchAll((e) => Effect.logWarning(e.message)))
        const final = yield* runStore.update(runId, (r) =>
          new RunRecord({
            ...r,
            status,
            ...(outcome._tag === "succeeded" || outcome._tag === "succeeded_with_failures"
              ? { output: outcome.output }
              : { failure: outcome.failure }),
            ...(outcome._tag === "compensated" || outcome._tag === "compensation_failed" || outcome._tag === "cancelled"
              ? { compensated: outcome.compensated }
              : {}),
            ...(remaining.length > 0 ? { remaining } : {}),
            ...(context.failedItems.length > 0 ? { failedItems: [...context.failedItems] } : {}),
            updatedAt: finished,
            finishedAt: finished
          }, trusted), current)
        // The steps' states were for retries, resumes and compensations: the run has ended.
        // A state left by a failed delete is never read again (a final run does not execute),
        // so its failure is a warning: it neither changes the run's outcome, which is recorded,
        // nor stops the store's other runs (unreported to the store's health).
        // Nothing to forget when no execution of the run saved any (a statement fewer per run).
        if (savedState || record.executions > 1) yield* store.clearState(runId).pipe(
          unreported,
          Effect.catchAll((error) => Effect.logWarning(`run ${runId}: its step states are left in the store: ${error.message}`))
        )
        yield* finish(final)
        if (cancels.delete(runId) || status === "cancelled") {
          yield* store.forgetCancel(runId).pipe(unreported, Effect.catchAll((error) => Effect.logWarning(error.message)))
        }
        yield* notify({ _tag: "Finished", runId, status })
        return outcome
      }).pipe(
        Effect.ensuring(Effect.sync(() => executing.delete(runId))),
        Effect.onInterrupt(() => {
          // Stopped by the store: the run stays as it was journaled (running, shown interrupted
          // once this process is gone); its wait ends with the store's error.
          const stopped = stoppedByStore.get(runId)
          stoppedByStore.delete(runId)
          if (stopped !== undefined) return storeStopped(runId, stopped)
          // In a cluster, a run stopped here (this worker stops, or its shard moves) is not
          // interrupted: its journal stays in the cluster's storage and the worker that takes
          // its shard continues it.
          if (shared !== undefined) return Effect.zipRight(release(runId), notify({ _tag: "Left", runId }))
          return Effect.gen(function*() {
            const now = yield* Clock.currentTimeMillis
            const record = yield* store.update(runId, (r) =>
              isFinal(r.status) ? r : new RunRecord({ ...r, status: "interrupted", updatedAt: now }, trusted))
            if (!isFinal(record.status)) {
              yield* publish({ _tag: "RunInterrupted", runId: record.id, at: now })
              yield* finish(record)
            }
          }).pipe(Effect.ignore)
        }),
        Effect.catchAll((error) =>
          storeFailed(
            runId,
            error._tag === "StoreError" ? error : new StoreError({
              operation: `run ${runId}`,
              detail: `the journal holds run ${runId}, but the run history does not`,
              ...(storePath !== undefined ? { path: storePath } : {})
            })
          )
        ),
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.failCause(cause)
            : Effect.flatMap(storageDefect(cause), (failed) =>
              Option.isSome(failed) ? storeFailed(runId, failed.value) : Effect.failCause(cause))
        ),
        // A draining process starts no run: it waits, and moves to another process.
        (effect) => Effect.zipRight(drain.service.enter, effect),
        Effect.provideService(Drain.Drain, drain.service),
        Effect.provide(context)
      )

    yield* engine.register(RelaisRun, ({ runId }) => body(runId))

    // The run id is unique already: it is the execution id as it is (hashing it, as
    // `Workflow.execute` does, costs an asynchronous digest per call).
    const executionIdOf = (runId: string) => Effect.succeed(runId)

    const launch = (runId: string) =>
      Effect.flatMap(executionIdOf(runId), (executionId) =>
        engine.execute(RelaisRun, { executionId, payload: { runId }, discard: true })).pipe(
          Effect.zipRight(options.kick ?? Effect.void),
          Effect.asVoid
        )

    const awaitRun = (runId: string): Effect.Effect<RunRecord, RunNotFound | StoreError> =>
      Effect.gen(function*() {
        const deferred = waiter(runId)
        // A run created here ends here (its waiter is settled then), or on a shared store is
        // seen ending by the polling below: no read first (a statement fewer per run).
        if (!createdHere.has(runId)) {
          const record = yield* store.get(runId)
          if (isFinal(record.status) || record.status === "interrupted") return record
        }
        if (shared === undefined) return yield* guarded(Deferred.await(deferred))
        // Any worker may execute it: its record says when it ends.
        const polled: Effect.Effect<RunRecord, RunNotFound | StoreError> = Effect.flatMap(
          Effect.sleep(Duration.millis(pollMillis)),
          () => store.get(runId)
        ).pipe(Effect.flatMap((r) => (isFinal(r.status) ? Effect.succeed(r) : polled)))
        return yield* guarded(Effect.raceFirst(Deferred.await(deferred), polled))
      })

    const watch: EngineService["watch"] = (runId, watchOptions) =>
      Stream.map(RunStore.follow(store, runId, { after: watchOptions?.after, pollMillis }), (e) => e.event)

    const startUnknown: EngineService["startUnknown"] = (workflow, input, startOptions) =>
      Effect.gen(function*() {
        const decoded = yield* Schema.decodeUnknown(workflow.input, { errors: "all", onExcessProperty: "error" })(
          input
        ).pipe(
          Effect.mapError((error) =>
            new WorkflowInputError({ workflow: workflow.name, issues: issuesFromParseError(error) })
          )
        )
        const encoded = yield* Schema.encode(workflow.input)(decoded).pipe(
          Effect.mapError((error) =>
            new WorkflowInputError({ workflow: workflow.name, issues: issuesFromParseError(error) })
          )
        )
        return yield* startEncoded(workflow, encoded, startOptions)
      })

    const startEncoded = (
      workflow: Workflow.Workflow<any, any, never>,
      encoded: unknown,
      startOptions: StartOptions | undefined
    ): Effect.Effect<RunId, StoreError> =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const randoms = yield* Effect.replicateEffect(Random.next, 6)
        const given = startOptions?.runId as RunId | undefined
        const runId = given ?? makeRunId(now, randoms)
        // A fresh id cannot exist yet; a given one may (starting it again only waits for it).
        const existing = given === undefined
          ? Option.none()
          : yield* RunStore.find(runId).pipe(Effect.provideService(RunStore.RunStore, store))
        perRun.set(runId, workflow)
        if (Option.isNone(existing)) {
          const created = store.create(
            new RunRecord({
              id: runId,
              workflow: workflow.name,
              status: "running",
              input: encoded,
              ...(startOptions?.definition ? { definition: startOptions.definition } : {}),
              createdAt: now,
              updatedAt: now,
              executions: 0,
              owner
            }, given === undefined && (startOptions?.definition === undefined || startOptions.definition instanceof Definition))
          )
          // A given id started at the same moment by another process (two workers firing the
          // same schedule slot): the loser's insert fails on the key, and the run is the winner's.
          yield* given === undefined ? Effect.tap(created, () => Effect.sync(() => createdHere.add(runId))) : Effect.catchAll(created, (error) =>
            Effect.flatMap(
              RunStore.find(runId).pipe(Effect.provideService(RunStore.RunStore, store)),
              (found) => Option.isSome(found) ? Effect.void : Effect.fail(error)
            ))
        }
        yield* guarded(launch(runId))
        return runId
      })

    const service: EngineService = {
      start: (workflow, input, startOptions) =>
        Schema.encode(workflow.input)(input).pipe(
          Effect.mapError((error) =>
            new WorkflowInputError({ workflow: workflow.name, issues: issuesFromParseError(error) })
          ),
          Effect.flatMap((encoded) => startEncoded(workflow, encoded, startOptions))
        ),
      startUnknown,
      await: awaitRun,
      resume: (runId) =>
        Effect.gen(function*() {
          const record = yield* store.get(runId)
          if (isFinal(record.status)) return record
          const workflow = yield* resolve(record)
          if (Option.isNone(workflow)) {
            return yield* new WorkflowNotFound({
              name: record.workflow,
              reason: record.definition?.source
                ? `its definition (${record.definition.source}) cannot be loaded here`
                : "register it with the engine to resume its runs"
            })
          }
          perRun.set(runId, workflow.value)
          // The record is not final, so a settled waiter is stale (an earlier interruption).
          const stale = waiters.get(runId)
          if (stale !== undefined && (yield* Deferred.isDone(stale))) waiters.delete(runId)
          const executionId = yield* executionIdOf(runId)
          yield* guarded(Effect.zipRight(engine.resume(RelaisRun, executionId), launch(runId)))
          // In a cluster, a worker executes it (this process may not even be one): the store
          // says when it ends.
          if (shared !== undefined) return yield* awaitRun(runId)
          return yield* guarded(Deferred.await(waiter(runId)))
        }),
      events: Stream.fromPubSub(pubsub),
      watch,
      drain: Effect.zipRight(drain.start, drain.idle),
      restart: (runId, restartOptions) =>
        Effect.gen(function*() {
          const from = restartOptions.from
          const refuse = (reason: string) => new CannotRestart({ runId, from, reason })
          const original = yield* store.get(runId)
          if (!isFinal(original.status)) {
            return yield* refuse(
              original.status === "interrupted"
                ? "it is interrupted: resume it, or cancel it, first"
                : `it is ${original.status}: wait for its end, or cancel it, first`
            )
          }
          if (options.copySteps === undefined) return yield* refuse("this engine keeps no journal of steps (in memory)")
          const events = (yield* store.events(runId)).map((e) => e.event)
          const before = completedBefore(events, from)
          if (before === undefined) {
            const reached = [...new Set(events.flatMap((e) => e._tag === "StepStarted" ? [e.path] : []))]
            return yield* refuse(`the run never reached it${reached.length > 0 ? `; it reached ${reached.join(", ")}` : ""}`)
          }
          const reused = before.map((s) => s.path)
          const undone = [...new Set(events.flatMap((e) =>
            e._tag === "CompensationSucceeded" && reused.includes(e.path) ? [e.path] : []))]
          if (undone.length > 0) {
            return yield* refuse(`what ${undone.join(", ")} did was undone when the run ended: there is nothing to reuse; start a new run`)
          }
          const workflow = restartOptions.workflow ?? Option.getOrUndefined(yield* resolve(original))
          if (workflow === undefined) {
            return yield* new WorkflowNotFound({ name: original.workflow, reason: "register it with the engine to restart its runs" })
          }
          const now = yield* Clock.currentTimeMillis
          const definition = restartOptions.definition ?? original.definition
          // One restart per run, under an id made from the original's: a second restart (a
          // double click, two operators) would do again what the first did from its step. The
          // same restart asked again answers the run it started; another is refused, pointing
          // at the restart (which can be restarted in turn). The id's key settles a race.
          const newId = restartIdOf(runId)
          const already = (existing: RunRecord): Effect.Effect<RunId, CannotRestart> =>
            existing.restartOf?.runId === runId && existing.restartOf.from === from &&
              existing.definition?.hash === definition?.hash
              ? Effect.succeed(newId)
              : Effect.fail(refuse(
                `it was restarted already, as ${newId}${
                  existing.restartOf !== undefined ? ` (from ${existing.restartOf.from})` : ""
                }: restart that run instead, so that nothing is done twice`
              ))
          const readRestart = store.read(newId).pipe(
            Effect.map(Option.some),
            Effect.catchTag("RunNotFound", () => Effect.succeedNone)
          )
          const earlier = yield* readRestart
          if (Option.isSome(earlier)) return yield* already(earlier.value)
          const raced = yield* store.create(
            new RunRecord({
              id: newId,
              workflow: workflow.name,
              status: "running",
              input: original.input,
              ...(definition !== undefined ? { definition } : {}),
              createdAt: now,
              updatedAt: now,
              executions: 0,
              owner,
              restartOf: { runId, from, reused }
            })
          ).pipe(
            Effect.as<Option.Option<RunRecord>>(Option.none()),
            // Created meanwhile by another restart: that one stands.
            Effect.catchTag("StoreError", (error) =>
              Effect.flatMap(readRestart, (found) => Option.isSome(found) ? Effect.succeed(found) : Effect.fail(error)))
          )
          if (Option.isSome(raced)) return yield* already(raced.value)
          yield* options.copySteps(runId, newId, reused)
          perRun.set(newId, workflow)
          yield* guarded(launch(newId))
          return newId
        }),
      cancel: (runId, cancelOptions) =>
        Effect.gen(function*() {
          const compensate = cancelOptions?.compensate ?? true
          const record = yield* store.get(runId)
          if (isFinal(record.status)) return yield* new RunEnded({ runId, status: record.status })
          yield* store.requestCancel(runId, compensate)
          cancels.set(runId, compensate)
          // Executing here, or (shared store) somewhere: the executor sees it at its next step.
          if (executing.has(runId) || (shared !== undefined && record.status !== "interrupted")) {
            return yield* awaitRun(runId)
          }
          // Not executing: continue it, to stop at its first step not journaled yet.
          return yield* service.resume(runId)
        }),
      stepsInFlight: Effect.sync(() => drain.inFlight()),
      subscribe: Effect.map(PubSub.subscribe(pubsub), (queue) => Stream.fromQueue(queue))
    }
    // Cancellations asked by other processes (a CLI beside a server, another worker), for the
    // runs executing here: read while some run executes.
    yield* Effect.gen(function*() {
      if (executing.size === 0) return
      const asked = yield* store.cancellations
      for (const [runId, { compensate }] of asked) {
        if (executing.has(runId) && !cancels.has(runId)) {
          cancels.set(runId, compensate)
          yield* Effect.logInfo(`run ${runId}: cancelled; it stops now if it waits, or else before its next step`)
        }
      }
    }).pipe(
      unreported,
      Effect.catchAll((error) => Effect.logDebug(`cancellations not read: ${error.message}`)),
      // On the real clock even under a test clock: a test that moves its clock to the next
      // sleep must not find this one there every 250 ms.
      Effect.zipRight(Effect.withClock(Effect.sleep(Duration.millis(Math.max(pollMillis, 250))), liveClock)),
      Effect.forever,
      Effect.forkScoped
    )
    return service
  })


/** What the run failed with: the failing step when it is a `StepFailed`. */
const failureOf = (cause: Cause.Cause<unknown>): Failure => {
  const failure = Cause.failureOption(cause)
  const error = Option.isSome(failure) ? failure.value : Cause.squash(cause)
  const info = ErrorInfo.fromUnknown(error)
  if (info._tag === "StepFailed" && typeof error === "object" && error !== null) {
    const stepFailed = error as { step: string; path: string; reason: Failure["reason"]; error: ErrorInfo }
    return new Failure({
      error: stepFailed.error,
      step: stepFailed.step,
      path: stepFailed.path,
      ...(stepFailed.reason !== undefined ? { reason: stepFailed.reason } : {})
    })
  }
  return new Failure({ error: info })
}
