/**
 * The exit codes of `relais`, and how run outcomes and errors map to them. Scripts and CI jobs
 * branch on these, so they are part of the public interface (documented in the README).
 *
 * @since 0.1.0
 */
import type { Run } from "@relais/core"
import { Context, Effect, Ref } from "effect"

/** The run succeeded (or the command did what it was asked). @since 0.1.0 */
export const succeeded = 0

/** The run failed: every completed step was undone, or there was nothing to undo. @since 0.1.0 */
export const failed = 1

/**
 * Invalid usage or workflow: a bad flag, a missing or invalid workflow file, inputs that do not
 * match, an unknown run or step. Nothing was called.
 *
 * @since 0.1.0
 */
export const invalid = 2

/**
 * Compensation incomplete: something is left to undo by hand (status `compensation_failed`, or a
 * run that succeeded but left isolated loop items not fully undone).
 *
 * @since 0.1.0
 */
export const incomplete = 3

/**
 * The environment is not ready: configuration file, profile, credentials, a plugin listed in the
 * configuration that cannot be loaded (`PluginLoadError`), the run store (in use
 * by another relais process, read-only, on a full disk, damaged or not a store: `StoreError`), a
 * sandbox that cannot start or keep its data beside the store (`StateFileError`). The workflow
 * itself is fine.
 *
 * @since 0.1.0
 */
export const environment = 4

/**
 * The run went to its end but loop items failed and were set aside (`onItemFailure: continue`
 * or `compensate-item`; status `succeeded_with_failures`): the report lists which. When
 * something of those items is also left to undo by hand, the code is `incomplete` (3) instead.
 *
 * @since 0.1.0
 */
export const itemsFailed = 5

/**
 * A bug in relais (an unexpected defect); the report asks to be filed.
 *
 * @since 0.1.0
 */
export const internal = 70

/**
 * Interrupted (Ctrl-C, SIGTERM): the run is left `interrupted` and can be resumed with
 * `relais resume <runId>`. 128 + SIGINT, as shells report it.
 *
 * @since 0.1.0
 */
export const interrupted = 130

/**
 * The exit code of a run, from its record: `remaining` items make a success incomplete.
 *
 * @since 0.1.0
 */
export const ofRecord = (record: Pick<Run.RunRecord, "status" | "remaining">): number => {
  const leftToUndo = (record.remaining?.length ?? 0) > 0
  switch (record.status) {
    case "succeeded":
      return leftToUndo ? incomplete : succeeded
    case "succeeded_with_failures":
      return leftToUndo ? incomplete : itemsFailed
    case "failed":
    case "compensated":
      return leftToUndo ? incomplete : failed
    case "compensation_failed":
      return incomplete
    case "cancelled":
      // Stopped on purpose: done, unless something is left to undo by hand.
      return leftToUndo ? incomplete : failed
    case "interrupted":
    case "running":
    case "compensating":
      // Not finished: it stopped (or is still going in another process) and can be resumed.
      return interrupted
  }
}

/**
 * The exit code of an error that ended a command, by its tag. Unknown tags are bugs.
 *
 * @since 0.1.0
 */
export const ofError = (error: { readonly _tag: string; readonly usage?: boolean | undefined }): number => {
  switch (error._tag) {
    case "UsageError":
    case "InvalidWorkflow":
    case "WorkflowFileError":
    case "WorkflowInputError":
    case "RunNotFound":
    case "RunEnded":
    case "CannotRestart":
    case "UnknownStep":
      return invalid
    case "FileError":
    case "ProviderSetupError":
      return error.usage === true ? invalid : environment
    case "ConfigError":
    case "PluginLoadError":
    case "MissingCredentials":
    case "TargetMismatch":
    case "StoreError":
    case "StateFileError": // the sandboxes' data beside the store: a full or read-only disk
    case "WorkflowNotFound":
    case "SandboxStateLost":
    case "NoWorkers":
      return environment
    default:
      return internal
  }
}

/**
 * The exit code a command chose (a run's outcome); errors are mapped by `ofError` instead.
 *
 * @since 0.1.0
 * @category Tags
 */
export class ExitStatus extends Context.Tag("@relais/runner/ExitStatus")<ExitStatus, Ref.Ref<number>>() {}

/**
 * Set the exit code of the command.
 *
 * @since 0.1.0
 */
export const set = (code: number): Effect.Effect<void, never, ExitStatus> =>
  Effect.flatMap(ExitStatus, (ref) => Ref.set(ref, code))
