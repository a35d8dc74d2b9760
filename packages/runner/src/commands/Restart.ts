/**
 * `relais restart <runId> --from <step> [--definition <file>]`: start a new run, linked to an
 * ended one, that reuses the recorded outcomes of the steps completed before `<step>` (they are
 * replayed, not executed again: no second create) and executes from there, with the definition
 * the run started with or a corrected file. Refused with the reason when that would be unsafe:
 * the original has not ended, never reached the step, or its steps to reuse were undone; with a
 * corrected file, a reused step missing from it or now another step.
 *
 * On SQLite the new run executes here, on the target the original started on (as `resume`); on
 * PostgreSQL the workers execute it and this process follows it.
 *
 * @since 0.1.0
 */
import { Engine, Errors, Plugin, Run, RunStore, type Workflow } from "@relais/core"
import { Effect, Layer, Option } from "effect"
import { UsageError } from "../Errors.js"
import * as Definition from "../Definition.js"
import * as Execute from "../Execute.js"
import * as ExitCode from "../ExitCode.js"
import * as Output from "../Output.js"
import * as Progress from "../Progress.js"
import * as Providers from "../Providers.js"
import * as Setup from "../Setup.js"
import * as Store from "../Store.js"
import * as Targets from "../Targets.js"
import * as Load from "../yaml/Load.js"
import * as Cluster from "./Cluster.js"
import * as Common from "./Common.js"
import * as Resume from "./Resume.js"
import { checkTargetFlags } from "./Run.js"
import { layerStore, storeExists } from "./Runs.js"

/**
 * The flags of `relais restart`.
 *
 * @since 0.1.0
 */
export interface Flags extends Resume.Flags {
  readonly from: string
  readonly definition: Option.Option<string>
}

/** The node id of a step's path: `contrats[3]/convention` is `convention`. */
const nodeIdOf = (path: string): string => path.slice(path.lastIndexOf("/") + 1).replace(/\[\d+\]$/, "")

/**
 * With a corrected definition, the steps to reuse must still be there, and be the same steps
 * (the same `uses`): their recorded outputs are then what the new run reads.
 */
const checkReused = (
  original: Run.RunRecord,
  events: ReadonlyArray<Run.RunEvent>,
  corrected: string,
  from: string
): Effect.Effect<void, UsageError> => {
  const used = Run.completedBefore(events, from)
  if (used === undefined) return Effect.void // the engine says why
  const steps = Definition.stepsById(corrected)
  const problems: Array<string> = []
  for (const { path, step } of used) {
    const now = steps.get(nodeIdOf(path))
    if (now === undefined) problems.push(`${path} (${step}) is not in it any more`)
    else if (now !== step) problems.push(`${path} is now ${now}, not ${step}: its recorded output would not fit`)
  }
  return problems.length === 0 ? Effect.void : Effect.fail(
    new UsageError({
      reason: `the corrected definition cannot reuse what run ${original.id} did before ${from}: ${problems.join("; ")}`
    })
  )
}

/**
 * The handler of `relais restart`.
 *
 * @since 0.1.0
 */
export const handler = (flags: Flags) =>
  Effect.gen(function*() {
    const { faults, settings } = yield* checkTargetFlags(flags)
    const mode = Progress.chooseMode({ json: flags.json, interactive: (yield* Output.Output).interactive })
    const location = yield* Store.locate(flags.store, flags.config)
    const registry = yield* Plugin.PluginRegistry
    const corrected = Option.isSome(flags.definition) ? Option.some(yield* Load.loadFile(flags.definition.value)) : Option.none()
    const hints = {
      resumeCommand: (id: string) => `relais resume ${id}${Store.flag(location)}`,
      showCommand: (id: string) => `relais runs show ${id}${Store.flag(location)}`
    }

    if (location.kind === "postgres") {
      yield* Cluster.checkFlags(flags, location)
      const code = yield* Effect.gen(function*() {
        const store = yield* RunStore.RunStore
        const original = yield* store.get(flags.runId)
        if (Option.isSome(corrected)) {
          yield* checkReused(original, (yield* store.events(original.id)).map((e) => e.event), corrected.value.definition.text, flags.from)
        }
        const text = Option.isSome(corrected) ? corrected.value.definition.text : original.definition?.text
        const attempts = Definition.attempts(text ?? "")
        return yield* Execute.follow(
          {
            mode,
            remote: true,
            live: { maxAttempts: (step, path) => Definition.attemptsAt(attempts, path, registry.find(step)) },
            ...hints
          },
          (engine) =>
            Effect.map(
              engine.restart(original.id, {
                from: flags.from,
                ...(Option.isSome(corrected)
                  ? { workflow: corrected.value.workflow as never, definition: corrected.value.definition }
                  : {})
              }),
              (runId) => ({ runId, done: engine.await(runId) })
            )
        )
      }).pipe(
        Effect.catchTag("RunNotFound", () => Effect.fail(Cluster.notFound(flags.runId, location))),
        Effect.provide(Cluster.layerClient(location, "relais restart", registry)),
        Effect.scoped
      )
      return yield* ExitCode.set(code)
    }

    const file = location.file
    if (!(yield* storeExists(file))) return yield* new Errors.RunNotFound({ runId: flags.runId, hint: `there is no store at ${file}` })
    const { events, original, started } = yield* Effect.gen(function*() {
      const runs = yield* RunStore.RunStore
      const original = yield* runs.get(flags.runId)
      return { original, events: (yield* runs.events(original.id)).map((e) => e.event), started: yield* Targets.find(original.id) }
    }).pipe(Effect.provide(layerStore(file)))
    const definition = Option.isSome(corrected) ? corrected.value.definition : original.definition
    if (definition === undefined) {
      return yield* new UsageError({
        reason: `run ${original.id} (${original.workflow}) was not started from a workflow file; restart it from the program that started it`
      })
    }
    if (Option.isSome(corrected)) yield* checkReused(original, events, definition.text, flags.from)
    const loaded = Option.isSome(corrected) ? corrected.value : yield* Load.resolveRun(original)
    const plugins = Providers.pluginsUsed(registry, definition.text)
    const attempts = Definition.attempts(definition.text)
    // With --sandbox, the simulators start from the data the original run left (what its reused
    // steps created is there).
    const sandboxState = flags.sandbox ? Setup.sandboxStateDir(file, original.id) : undefined
    const plan = yield* Setup.plan(
      { sandbox: flags.sandbox, seed: flags.seed, faults, settings, profile: flags.profile, configFile: flags.config, sandboxState },
      plugins
    )
    if (Option.isSome(started)) yield* Resume.sameTarget(original.id, started.value, plan.info)
    const code = yield* Effect.gen(function*() {
      yield* Setup.announce(plan.info, `restarting ${original.workflow} from ${flags.from}`)
      const workflow = loaded.workflow as unknown as Workflow.Workflow<any, any, never>
      const providers = yield* Layer.build(plan.layer)
      const engine = yield* Layer.build(
        Engine.layerSqlite({
          filename: file,
          // Only the new run is resolved here: other unfinished runs of the store stay as they are.
          resolve: (r) => Effect.succeed(r.restartOf?.runId === original.id ? Option.some(workflow) : Option.none())
        }).pipe(Layer.provide(Layer.succeedContext(providers)))
      )
      return yield* Execute.follow(
        {
          mode,
          live: { maxAttempts: (step, path) => Definition.attemptsAt(attempts, path, registry.find(step)) },
          ...hints
        },
        (engine) =>
          Effect.map(
            engine.restart(original.id, { from: flags.from, workflow, definition }),
            (runId) => ({ runId, done: engine.await(runId) })
          )
      ).pipe(Effect.raceFirst(plan.stopped), Effect.provide(engine))
    }).pipe(Effect.scoped)
    yield* Setup.settle(plan, code !== ExitCode.interrupted)
    yield* ExitCode.set(code)
  }).pipe(Common.jsonErrors(flags.json), Common.provideRegistry({ sandbox: flags.sandbox, configFile: flags.config }))
