/**
 * Runs, their statuses, outcomes and events: the vocabulary shared by the engine, the run
 * store, progress displays and the CLI.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { ErrorInfo, FailureReason } from "./Errors.js"

/**
 * The id of a run, e.g. `run_m3k9q2x7a1b4`.
 *
 * @since 0.1.0
 */
export const RunId = Schema.String.pipe(Schema.brand("@relais/core/RunId"))

/**
 * @since 0.1.0
 */
export type RunId = typeof RunId.Type

/**
 * Where a run is.
 *
 * - `running`: executing (or, if its process died, about to be resumed; see `interrupted`).
 * - `compensating`: a step failed for good and completed steps are being undone.
 * - `succeeded`: every step succeeded.
 * - `succeeded_with_failures`: the run went to its end, but loop items failed and were set aside
 *   (`onItemFailure: continue` or `compensate-item`); `failedItems` lists them.
 * - `failed`: a step failed for good and there was nothing to compensate.
 * - `compensated`: a step failed for good and every completed step was undone.
 * - `compensation_failed`: some compensations failed too; `remaining` lists what is left to
 *   undo by hand.
 * - `interrupted`: stopped before the end (process stopped or killed); resumable.
 *
 * @since 0.1.0
 */
export const RunStatus = Schema.Literal(
  "running",
  "compensating",
  "succeeded",
  "succeeded_with_failures",
  "failed",
  "compensated",
  "compensation_failed",
  "interrupted",
  "cancelled"
)

/**
 * @since 0.1.0
 */
export type RunStatus = typeof RunStatus.Type

/**
 * Whether a status is final.
 *
 * @since 0.1.0
 */
export const isFinal = (status: RunStatus): boolean =>
  status === "succeeded" || status === "succeeded_with_failures" || status === "failed" ||
  status === "compensated" || status === "compensation_failed" || status === "cancelled"

/**
 * A completed step that could not be undone: what a human has to clean up.
 *
 * @since 0.1.0
 */
export class LeftToUndo extends Schema.Class<LeftToUndo>("@relais/core/LeftToUndo")({
  path: Schema.String,
  step: Schema.String,
  /** What the compensation would have done ("delete the convention"). */
  description: Schema.String,
  input: Schema.Unknown,
  output: Schema.Unknown,
  error: ErrorInfo
}) {}

/**
 * A completed compensation. A compensation may say what it actually did (`Step.undid`), or that
 * there was nothing to undo (`Step.nothingToUndo`, e.g. the learner existed before the run):
 * reports show that, not the general description.
 *
 * @since 0.1.0
 */
export class Compensated extends Schema.Class<Compensated>("@relais/core/Compensated")({
  path: Schema.String,
  step: Schema.String,
  /** What the compensation does in general ("delete the convention"). */
  description: Schema.String,
  /** What it reported it did, or, with `nothingToUndo`, why there was nothing to undo. */
  detail: Schema.optional(Schema.String),
  /** True when the compensation found nothing to undo: it changed nothing. */
  nothingToUndo: Schema.optional(Schema.Boolean)
}) {}

/**
 * Where a run failed: the error, and the step when a step failed.
 *
 * @since 0.1.0
 */
export class Failure extends Schema.Class<Failure>("@relais/core/Failure")({
  error: ErrorInfo,
  step: Schema.optional(Schema.String),
  path: Schema.optional(Schema.String),
  reason: Schema.optional(FailureReason)
}) {}

/**
 * A loop item that failed while the run went on (`onItemFailure: continue` or
 * `compensate-item`): what failed, and what became of the item's completed steps.
 *
 * @since 0.1.0
 */
export class FailedItem extends Schema.Class<FailedItem>("@relais/core/FailedItem")({
  /** The item's path, e.g. `contrats[3]`. */
  path: Schema.String,
  /** The loop's path, e.g. `contrats`. */
  loop: Schema.String,
  index: Schema.Number,
  /** How many items the loop had. */
  items: Schema.Number,
  /** The step that failed in the item, and its error. */
  failure: Failure,
  /**
   * What became of the item's completed steps: `kept` (`continue`: they stay, and are undone
   * only if the run fails later), `undone` (`compensate-item`), or `partly_undone` (some could
   * not be undone: they are in the run's `remaining`).
   */
  completedSteps: Schema.Literal("kept", "undone", "partly_undone")
}) {}

/**
 * How a run ended.
 *
 * @since 0.1.0
 */
export const Outcome = Schema.Union(
  Schema.TaggedStruct("succeeded", { output: Schema.Unknown }),
  Schema.TaggedStruct("succeeded_with_failures", { output: Schema.Unknown, failedItems: Schema.Array(FailedItem) }),
  Schema.TaggedStruct("failed", { failure: Failure }),
  Schema.TaggedStruct("compensated", { failure: Failure, compensated: Schema.Array(Compensated) }),
  Schema.TaggedStruct("compensation_failed", {
    failure: Failure,
    compensated: Schema.Array(Compensated),
    remaining: Schema.Array(LeftToUndo)
  }),
  /**
   * Stopped by `Engine.cancel` before a step: what it completed was undone (`compensated`), or
   * left as it is (`remaining`: each with why), with `compensate: false` or when an undo failed.
   */
  Schema.TaggedStruct("cancelled", {
    failure: Failure,
    compensated: Schema.Array(Compensated),
    remaining: Schema.Array(LeftToUndo)
  })
)

/**
 * @since 0.1.0
 */
export type Outcome = typeof Outcome.Type

/**
 * The definition a run started with (a YAML file, say), so that resuming uses the same one and
 * a changed file is reported instead of silently replayed.
 *
 * @since 0.1.0
 */
export class Definition extends Schema.Class<Definition>("@relais/core/Definition")({
  /** sha256 of `text`, hex. */
  hash: Schema.String,
  text: Schema.String,
  /** Where it came from (a file path), for messages. */
  source: Schema.optional(Schema.String)
}) {}

/**
 * A run as the store keeps it. `input` and `output` are in encoded (JSON) form.
 *
 * @since 0.1.0
 */
export class RunRecord extends Schema.Class<RunRecord>("@relais/core/RunRecord")({
  id: RunId,
  workflow: Schema.String,
  status: RunStatus,
  input: Schema.Unknown,
  output: Schema.optional(Schema.Unknown),
  failure: Schema.optional(Failure),
  compensated: Schema.optional(Schema.Array(Compensated)),
  remaining: Schema.optional(Schema.Array(LeftToUndo)),
  /** Loop items that failed while the run went on, in loop order. */
  failedItems: Schema.optional(Schema.Array(FailedItem)),
  definition: Schema.optional(Definition),
  /** Epoch milliseconds. */
  createdAt: Schema.Number,
  updatedAt: Schema.Number,
  finishedAt: Schema.optional(Schema.Number),
  /** How many times the run started executing: 1, plus one per resume. */
  executions: Schema.Number,
  /** `host:pid` of the process executing the run, when known. */
  owner: Schema.optional(Schema.String),
  /**
   * A run started again from a step of another (`Engine.restart`): that run, the step, and the
   * steps before it whose recorded outcomes this run reused instead of executing them.
   */
  restartOf: Schema.optional(Schema.Struct({ runId: Schema.String, from: Schema.String, reused: Schema.Array(Schema.String) }))
}) {}

const base = {
  runId: RunId,
  /** Epoch milliseconds. */
  at: Schema.Number
}

const stepBase = {
  ...base,
  /** The unique path of the invocation in the run, e.g. `contrats[3]/convention`. */
  path: Schema.String,
  step: Schema.String
}

/**
 * What happens during a run, as it happens: for progress displays and the run history.
 *
 * @since 0.1.0
 */
export const RunEvent = Schema.Union(
  Schema.TaggedStruct("RunStarted", { ...base, workflow: Schema.String, execution: Schema.Number }),
  Schema.TaggedStruct("StepStarted", stepBase),
  Schema.TaggedStruct("StepReplayed", stepBase),
  Schema.TaggedStruct("StepSkipped", { ...stepBase, reason: Schema.String }),
  Schema.TaggedStruct("AttemptStarted", { ...stepBase, attempt: Schema.Number }),
  Schema.TaggedStruct("AttemptFailed", {
    ...stepBase,
    attempt: Schema.Number,
    durationMillis: Schema.Number,
    error: ErrorInfo,
    retryable: Schema.Boolean
  }),
  Schema.TaggedStruct("RetryScheduled", {
    ...stepBase,
    nextAttempt: Schema.Number,
    delayMillis: Schema.Number
  }),
  Schema.TaggedStruct("StepReconciled", { ...stepBase, found: Schema.Boolean }),
  Schema.TaggedStruct("StepSucceeded", {
    ...stepBase,
    attempts: Schema.Number,
    durationMillis: Schema.Number,
    output: Schema.Unknown
  }),
  Schema.TaggedStruct("StepFailed", {
    ...stepBase,
    attempts: Schema.Number,
    durationMillis: Schema.Number,
    reason: FailureReason,
    error: ErrorInfo
  }),
  Schema.TaggedStruct("ItemFailed", {
    ...base,
    path: Schema.String,
    index: Schema.Number,
    error: ErrorInfo,
    compensated: Schema.Boolean
  }),
  Schema.TaggedStruct("CompensationStarted", { ...stepBase, description: Schema.String }),
  Schema.TaggedStruct("CompensationAttemptFailed", {
    ...stepBase,
    attempt: Schema.Number,
    error: ErrorInfo,
    nextDelayMillis: Schema.optional(Schema.Number)
  }),
  Schema.TaggedStruct("CompensationSucceeded", {
    ...stepBase,
    attempts: Schema.Number,
    /** What the compensation reported it did (`Step.undid`), when it said. */
    detail: Schema.optional(Schema.String)
  }),
  /** The compensation ran and found nothing to undo (`Step.nothingToUndo`): nothing changed. */
  Schema.TaggedStruct("CompensationSkipped", { ...stepBase, attempts: Schema.Number, reason: Schema.String }),
  Schema.TaggedStruct("CompensationFailed", { ...stepBase, attempts: Schema.Number, error: ErrorInfo }),
  Schema.TaggedStruct("RunFinished", { ...base, status: RunStatus, durationMillis: Schema.Number }),
  Schema.TaggedStruct("RunInterrupted", base)
)

/**
 * @since 0.1.0
 */
export type RunEvent = typeof RunEvent.Type

/**
 * An event as stored, with its position in the run's history.
 *
 * @since 0.1.0
 */
export interface StoredEvent {
  readonly seq: number
  readonly event: RunEvent
}

/**
 * A fresh run id: time-ordered and random enough for several processes sharing a store.
 *
 * @since 0.1.0
 */
export const makeRunId = (now: number, randoms: ReadonlyArray<number>): RunId => {
  let suffix = ""
  for (const random of randoms) suffix += Math.floor(random * 36).toString(36)
  return RunId.make(`run_${now.toString(36)}${suffix}`)
}

/**
 * The steps a restart from `from` reuses (`Engine.restart`): those that completed (or were
 * replayed) before `from` first started, by path with the step each is, in order; `undefined`
 * when the run never reached `from`.
 *
 * @since 0.1.0
 */
export const completedBefore = (
  events: ReadonlyArray<RunEvent>,
  from: string
): ReadonlyArray<{ readonly path: string; readonly step: string }> | undefined => {
  const at = events.findIndex((e) => (e._tag === "StepStarted" || e._tag === "StepFailed" || e._tag === "StepSkipped") && e.path === from)
  if (at < 0) return undefined
  const done = new Map<string, string>()
  for (const e of events.slice(0, at)) if (e._tag === "StepSucceeded" || e._tag === "StepReplayed") done.set(e.path, e.step)
  return [...done].map(([path, step]) => ({ path, step }))
}
