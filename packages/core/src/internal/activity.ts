/**
 * Journaled activities with a shared Exit schema.
 *
 * `Activity.make` from `@effect/workflow` builds a new `Exit` schema for every activity, and the
 * engine compiles a decoder for each new schema: with one activity per step invocation, that
 * compilation (and its garbage) was about half of the in-memory engine's cost per step. Here the
 * Exit schema is built once per pair of success and error schemas, and the activity is executed
 * the way `Activity.make`'s does it, through the engine's public `activityExecute`.
 *
 * @internal
 */
import * as Activity from "@effect/workflow/Activity"
import * as EWorkflow from "@effect/workflow/Workflow"
import { WorkflowEngine, WorkflowInstance } from "@effect/workflow/WorkflowEngine"
import { Cause, Effect, FiberRef, Schedule, Schema } from "effect"
import { Drain } from "./drain.js"
import { retry } from "./retry.js"

type AnyExit = Schema.Schema<any, any, never>

/** One schema per pair of success and error schemas, built once. */
const perPair = (make: (success: Schema.Schema.Any, failure: Schema.Schema.All) => AnyExit) => {
  const built = new WeakMap<Schema.Schema.Any, WeakMap<Schema.Schema.All, AnyExit>>()
  return (success: Schema.Schema.Any, failure: Schema.Schema.All): AnyExit => {
    let byFailure = built.get(success)
    if (byFailure === undefined) {
      byFailure = new WeakMap()
      built.set(success, byFailure)
    }
    let schema = byFailure.get(failure)
    if (schema === undefined) {
      schema = make(success, failure)
      byFailure.set(failure, schema)
    }
    return schema
  }
}

/** An activity's outcome as the engine hands it over: an `Exit` whose values are encoded. */
const exitSchemaOf = perPair((success, failure) =>
  Schema.ExitFromSelf({ success, failure, defect: Schema.Defect }) as unknown as AnyExit
)

/** An activity's outcome as JSON, for a journal of steps (see `Engine.layerPostgres`). */
export const exitJsonOf = perPair((success, failure) =>
  Schema.Exit({ success, failure, defect: Schema.Defect }) as unknown as AnyExit
)

/**
 * True while a run executes for the first time: no step of it can be journaled yet, so a journal
 * that would look a step up before executing it (the PostgreSQL engine's) can skip the look-up.
 * A run executing again (resumed, taken over, delivered again) has `false`.
 */
export const firstExecution: FiberRef.FiberRef<boolean> = FiberRef.unsafeMake(false)

/** Retry an activity whose fiber was interrupted (not failed), as `Activity.make` does. */
const interruptRetry = Schedule.exponential(100, 1.5).pipe(
  Schedule.union(Schedule.spaced("10 seconds")),
  Schedule.intersect(Schedule.recurs(10)),
  Schedule.whileInput((cause: Cause.Cause<unknown>) => Cause.isInterruptedOnly(cause))
)

/**
 * Run `execute` at most once per workflow execution under `name`: the first time it runs and its
 * exit is journaled; on replay the journaled exit is returned.
 */
export const run = <A, AI, E, EI, R>(options: {
  readonly name: string
  readonly success: Schema.Schema<A, AI, never>
  readonly error: Schema.Schema<E, EI, never>
  readonly execute: Effect.Effect<A, E, R>
}): Effect.Effect<A, E, R | WorkflowEngine | WorkflowInstance> => {
  const execute = Effect.flatMap(Drain, (drain) => drain.track(options.execute)).pipe(
    Effect.sandbox,
    (sandboxed) => retry(sandboxed, interruptRetry),
    Effect.catchAll((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.dieMessage(`activity "${options.name}" was interrupted too many times`)
        : Effect.failCause(cause)
    )
  )
  const activity = {
    [Activity.TypeId]: Activity.TypeId,
    name: options.name,
    successSchema: options.success,
    errorSchema: options.error,
    exitSchema: exitSchemaOf(options.success, options.error),
    execute,
    executeEncoded: Effect.matchEffect(execute, {
      onFailure: (error) => Effect.flatMap(Effect.orDie(Schema.encode(options.error)(error)), Effect.fail),
      onSuccess: (value) => Effect.orDie(Schema.encode(options.success)(value))
    })
  } as unknown as Activity.Activity<Schema.Schema<A, AI>, Schema.Schema<E, EI>, R>
  return Effect.gen(function*() {
    // A draining process starts nothing more: the run waits here until it moves to another.
    yield* (yield* Drain).enter
    const engine = yield* WorkflowEngine
    const instance = yield* WorkflowInstance
    const attempt = yield* Activity.CurrentAttempt
    const result = yield* EWorkflow.wrapActivityResult(
      engine.activityExecute(activity, attempt),
      (result) => result._tag === "Suspended"
    )
    if (result._tag === "Suspended") return yield* EWorkflow.suspend(instance)
    return yield* result.exit
  })
}
