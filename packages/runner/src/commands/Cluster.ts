/**
 * `run`, `resume` and `runs` on a PostgreSQL store: the workers (`relais worker`) execute the
 * runs; this process submits a run, follows its events from the store, and may stop following
 * (Ctrl-C, `--detach`) without stopping it.
 *
 * @since 0.1.0
 */
import { Engine, Errors, Plugin, Run, RunStore, type Workflow } from "@relais/core"
import { Effect, Option } from "effect"
import * as Definition from "../Definition.js"
import { NoWorkers, UsageError } from "../Errors.js"
import * as Execute from "../Execute.js"
import * as ExitCode from "../ExitCode.js"
import * as Output from "../Output.js"
import type * as Progress from "../Progress.js"
import * as Store from "../Store.js"
import * as Load from "../yaml/Load.js"
import * as Common from "./Common.js"

type Postgres = Store.Location & { readonly kind: "postgres" }

/**
 * The engine of a process that only submits and follows runs.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerClient = (location: Postgres, applicationName: string, registry: Plugin.Registry) =>
  Engine.layerPostgres({
    url: location.url,
    applicationName,
    // Only to resume: the workflow is compiled here from the run's definition (the workers
    // execute it); nothing runs in this process.
    resolve: (record) =>
      Load.resolveRun(record).pipe(
        Effect.provideService(Plugin.PluginRegistry, registry),
        Effect.map((loaded) => Option.some(loaded.workflow as unknown as Workflow.Workflow<any, any, never>)),
        Effect.catchAll((error) => Effect.fail(new Errors.WorkflowNotFound({ name: record.workflow, reason: error.message })))
      )
  })

/**
 * Fail when no worker is alive on the store: a run submitted now would wait silently.
 *
 * @since 0.1.0
 */
export const requireWorkers = (location: Postgres) =>
  Effect.gen(function*() {
    const cluster = yield* Engine.Cluster
    const workers = yield* cluster.workers
    if (workers.length === 0) return yield* new NoWorkers({ store: location.display })
    return workers
  })

/**
 * Refuse what only makes sense when this process executes the run.
 *
 * @since 0.1.0
 */
export const checkFlags = (flags: { readonly sandbox: boolean; readonly profile: Option.Option<string> }, location: Postgres) =>
  Effect.gen(function*() {
    if (flags.sandbox) {
      return yield* new UsageError({
        reason: `--sandbox starts the simulators inside this process, but on ${location.display} the workers execute the runs: start \`relais sandbox\`, point the workers at it (the export lines it prints), and run without --sandbox`
      })
    }
    if (Option.isSome(flags.profile)) {
      return yield* new UsageError({
        reason: `--profile chooses where this process sends calls, but on ${location.display} the workers execute the runs with their own configuration: give the profile to \`relais worker --profile ${flags.profile.value}\``
      })
    }
  })

/**
 * Submit a run of a loaded workflow to the workers and follow it (or only print its id, with
 * `detach`). Returns the exit code.
 *
 * @since 0.1.0
 */
export const submit = (options: {
  readonly loaded: Pick<Load.LoadedWorkflow, "workflow" | "definition" | "file">
  readonly inputs: Record<string, unknown>
  readonly location: Postgres
  readonly mode: Progress.Mode
  readonly runId: string
  readonly detach: boolean
}) =>
  Effect.gen(function*() {
    const { loaded, location, runId } = options
    const registry = yield* Plugin.PluginRegistry
    const workflow = loaded.workflow as unknown as Workflow.Workflow<any, any, never>
    const attempts = Definition.attempts(loaded.definition.text)
    const workers = yield* requireWorkers(location)
    const hints: Pick<Execute.Options, "resumeCommand" | "showCommand"> = {
      resumeCommand: (id) => `relais resume ${id}${Store.flag(location)}`,
      showCommand: (id) => `relais runs show ${id}${Store.flag(location)}`
    }
    const existing = yield* RunStore.find(runId)
    if (Option.isSome(existing)) {
      const record = existing.value
      const taken = Common.runIdTaken(record, workflow.name, loaded.definition)
      if (Option.isSome(taken)) return yield* taken.value
      if (Run.isFinal(record.status)) {
        yield* Output.note(`run ${runId} already exists and has finished; its outcome:`)
        yield* Execute.report(record, { mode: options.mode, ...hints })
        return ExitCode.ofRecord(record)
      }
      yield* Output.note(`run ${runId} already exists (${record.status}); following it`)
    }
    yield* Output.note(
      `run ${runId}: ${workflow.name} (${loaded.file}), store ${location.display}, ${workers.length} worker${workers.length === 1 ? "" : "s"}`
    )
    if (options.detach) {
      const engine = yield* Engine.Engine
      yield* engine.startUnknown(workflow, options.inputs, { runId, definition: loaded.definition })
      const output = yield* Output.Output
      if (options.mode === "json") {
        yield* output.writeOut(`${JSON.stringify({ type: "submitted", runId, show: hints.showCommand(runId) })}\n`)
      } else {
        yield* output.writeOut(`${runId}\n`)
        yield* Output.note(`submitted; the workers run it. See where it is with: ${hints.showCommand(runId)}`)
      }
      return ExitCode.succeeded
    }
    return yield* Execute.follow(
      {
        mode: options.mode,
        remote: true,
        live: { maxAttempts: (step, path) => Definition.attemptsAt(attempts, path, registry.find(step)) },
        ...hints
      },
      (engine) =>
        engine.startUnknown(workflow, options.inputs, { runId, definition: loaded.definition }).pipe(
          Effect.map((id) => ({ runId: id, done: engine.await(id) }))
        )
    )
  })

/**
 * Ask the workers to continue a run that stopped (a run left suspended, e.g. because no worker
 * could load its workflow), and follow it.
 *
 * @since 0.1.0
 */
export const resume = (options: { readonly runId: string; readonly location: Postgres; readonly mode: Progress.Mode }) =>
  Effect.gen(function*() {
    const { location } = options
    const hints: Pick<Execute.Options, "resumeCommand" | "showCommand"> = {
      resumeCommand: (id) => `relais resume ${id}${Store.flag(location)}`,
      showCommand: (id) => `relais runs show ${id}${Store.flag(location)}`
    }
    const store = yield* RunStore.RunStore
    const record = yield* store.get(options.runId)
    if (Run.isFinal(record.status)) {
      yield* Output.note(`run ${record.id} has already finished (${record.status}); nothing to resume`)
      yield* Execute.report(record, { mode: options.mode, ...hints })
      return ExitCode.ofRecord(record)
    }
    if (record.definition === undefined) {
      return yield* new UsageError({
        reason: `run ${record.id} (${record.workflow}) was not started from a workflow file; resume it from the program that started it`
      })
    }
    yield* requireWorkers(location)
    const registry = yield* Plugin.PluginRegistry
    const attempts = Definition.attempts(record.definition.text)
    return yield* Execute.follow(
      {
        mode: options.mode,
        remote: true,
        live: { maxAttempts: (step, path) => Definition.attemptsAt(attempts, path, registry.find(step)) },
        ...hints
      },
      (engine) => Effect.succeed({ runId: record.id, done: engine.resume(record.id) })
    )
  })

/**
 * A run id that is not in the store, said the same way as on SQLite.
 *
 * @since 0.1.0
 */
export const notFound = (runId: string, location: Postgres) =>
  new Errors.RunNotFound({ runId, hint: `there is no such run in ${location.display}` })
