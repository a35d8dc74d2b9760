/**
 * `relais resume <runId>`: continue an interrupted run with the definition it started with,
 * against the same target. Completed steps are replayed from the journal; a step that was in
 * flight is reconciled (or run again) before the run goes on.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Engine, Errors, Plugin, Run, RunStore, type Workflow } from "@relais/core"
import { Effect, Layer, Option } from "effect"
import { TargetMismatch, UsageError } from "../Errors.js"
import * as Definition from "../Definition.js"
import * as Execute from "../Execute.js"
import * as ExitCode from "../ExitCode.js"
import * as Output from "../Output.js"
import * as Progress from "../Progress.js"
import * as Providers from "../Providers.js"
import * as Report from "../Report.js"
import * as Setup from "../Setup.js"
import * as Targets from "../Targets.js"
import * as Load from "../yaml/Load.js"
import * as Store from "../Store.js"
import * as Cluster from "./Cluster.js"
import * as Common from "./Common.js"
import { checkTargetFlags } from "./Run.js"
import { layerStore, storeExists } from "./Runs.js"

/**
 * The flags of `relais resume`.
 *
 * @since 0.1.0
 */
export interface Flags {
  readonly runId: string
  readonly profile: Option.Option<string>
  readonly config: Option.Option<string>
  readonly sandbox: boolean
  readonly seed: Option.Option<number>
  readonly fault: ReadonlyArray<string>
  readonly sandboxSet: ReadonlyArray<string>
  readonly store: Option.Option<string>
  readonly json: boolean
}

/**
 * Whether the file a run came from still holds the definition it started with.
 *
 * @since 0.1.0
 */
export const definitionDrift = (
  definition: Run.Definition
): Effect.Effect<Option.Option<string>, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const source = definition.source
    if (source === undefined) return Option.none()
    const fs = yield* FileSystem.FileSystem
    const text = yield* Effect.either(fs.readFileString(source))
    if (text._tag === "Left") {
      return Option.some(`${source} cannot be read any more; resuming with the definition stored with the run (sha256 ${definition.hash.slice(0, 12)})`)
    }
    if (text.right === definition.text || Load.hashOf(text.right) === definition.hash) return Option.none()
    return Option.some(
      `${source} has changed since the run started: resuming with the definition stored with the run (sha256 ${definition.hash.slice(0, 12)}), not with the file (sha256 ${Load.hashOf(text.right).slice(0, 12)})`
    )
  })

/**
 * A run continues (or restarts) on the target it started on: another is refused, saying how
 * they differ.
 *
 * @since 0.1.0
 */
export const sameTarget = (
  runId: string,
  started: Report.TargetInfo,
  requested: Report.TargetInfo
): Effect.Effect<void, TargetMismatch> => {
  const mismatch = Targets.compare(started, requested)
  return Option.isNone(mismatch) ? Effect.void : Effect.fail(
    new TargetMismatch({
      runId,
      started: Report.targetText(started),
      requested: Report.targetText(requested),
      hint: mismatch.value
    })
  )
}

/**
 * The handler of `relais resume`.
 *
 * @since 0.1.0
 */
export const handler = (flags: Flags) =>
  Effect.gen(function*() {
    const { faults, settings } = yield* checkTargetFlags(flags)
    const mode = Progress.chooseMode({ json: flags.json, interactive: (yield* Output.Output).interactive })
    const location = yield* Store.locate(flags.store, flags.config)
    if (location.kind === "postgres") {
      // The workers execute the run: ask them to continue it, and follow it.
      yield* Cluster.checkFlags(flags, location)
      const registry = yield* Plugin.PluginRegistry
      const code = yield* Cluster.resume({ runId: flags.runId, location, mode }).pipe(
        Effect.catchTag("RunNotFound", () => Effect.fail(Cluster.notFound(flags.runId, location))),
        Effect.provide(Cluster.layerClient(location, "relais resume", registry)),
        Effect.scoped
      )
      return yield* ExitCode.set(code)
    }
    // A SQLite file (the PostgreSQL case returned above), found once: flag, RELAIS_STORE, config file.
    const store = location
    // A run stopped before it was recorded left nothing to resume: say how to start it again.
    const notRecorded = (target: Option.Option<Report.TargetInfo>) =>
      new Errors.RunNotFound({
        runId: flags.runId,
        hint: Option.match(target, {
          onNone: () =>
            `there is no such run in ${store.file}; if \`relais run ... --run-id ${flags.runId}\` was stopped before the run was recorded, nothing was called: run that command again`,
          onSome: (t) =>
            `it was being started (on ${Report.targetText(t)}) but stopped before it was recorded, so nothing was called: start it again with \`relais run <workflow file> --run-id ${flags.runId}${
              Common.storeFlag(store)
            }${t.kind === "sandbox" ? " --sandbox" : t.kind === "profile" ? ` --profile ${t.profile}` : ""}\``
        })
      })
    if (!(yield* storeExists(store.file))) return yield* notRecorded(Option.none())
    const { record, started } = yield* Effect.gen(function*() {
      const runs = yield* RunStore.RunStore
      const record = yield* runs.get(flags.runId).pipe(
        Effect.catchTag("RunNotFound", () => Effect.flatMap(Targets.find(flags.runId), (t) => Effect.fail(notRecorded(t))))
      )
      return { record, started: yield* Targets.find(flags.runId) }
    }).pipe(Effect.provide(layerStore(store.file)))
    const hints = (flagsText: string): Pick<Execute.Options, "resumeCommand" | "showCommand"> => ({
      resumeCommand: (id) => `relais resume ${id}${Common.storeFlag(store)}${flagsText}`,
      showCommand: (id) => `relais runs show ${id}${Common.storeFlag(store)}`
    })
    if (Run.isFinal(record.status)) {
      yield* Output.note(`run ${record.id} has already finished (${record.status}); nothing to resume`)
      yield* Execute.report(record, { mode, ...hints("") })
      yield* ExitCode.set(ExitCode.ofRecord(record))
      return
    }
    if (record.status !== "interrupted") {
      // Its owner holds the store: the store is busy, as for any other engine (exit 4).
      return yield* new Errors.StoreError({
        operation: `resume run ${record.id}`,
        reason: "locked",
        path: store.file,
        detail: `run ${record.id} is ${record.status} in ${record.owner === undefined ? "it" : Engine.describeOwner(record.owner)}`
      })
    }
    const definition = record.definition
    if (definition === undefined) {
      return yield* new UsageError({
        reason: `run ${record.id} (${record.workflow}) was not started from a workflow file; resume it from the program that started it`
      })
    }
    const loaded = yield* Load.resolveRun(record)
    const drift = yield* definitionDrift(definition)
    if (Option.isSome(drift)) yield* Output.warn(drift.value)
    const registry = yield* Plugin.PluginRegistry
    const plugins = Providers.pluginsUsed(registry, definition.text)
    const attempts = Definition.attempts(definition.text)
    const sandboxState = flags.sandbox ? Setup.sandboxStateDir(store.file, record.id) : undefined
    const plan = yield* Setup.plan(
      { sandbox: flags.sandbox, seed: flags.seed, faults, settings, profile: flags.profile, configFile: flags.config, sandboxState },
      plugins
    )
    if (Option.isSome(started)) {
      yield* sameTarget(record.id, started.value, plan.info)
    } else {
      yield* Output.warn(`relais does not know which target run ${record.id} started on; make sure it is ${Report.targetText(plan.info)}`)
    }
    // Fresh sandboxes would answer 404 for everything the first execution created (and its
    // compensations would "undo" nothing): resume only with the data the sandboxes kept.
    if (sandboxState !== undefined && !Setup.sandboxStateKept(sandboxState, plan.sandboxes)) {
      const inputs = record.input !== null && typeof record.input === "object" && Object.keys(record.input).length > 0
      return yield* new Setup.SandboxStateLost({
        runId: record.id,
        directory: sandboxState,
        rerun: `relais run ${Common.shellWord(definition.source ?? "<workflow file>")} --sandbox${Common.storeFlag(store)}${
          inputs ? " (with the same inputs)" : ""
        }`
      })
    }
    const code = yield* Effect.gen(function*() {
      yield* Setup.announce(plan.info, `resuming ${record.workflow}`)
      const workflow = loaded.workflow as unknown as Workflow.Workflow<any, any, never>
      // Only this run is resolved, and only once we follow it: other unfinished runs found in
      // the store stay suspended (they may belong to another target).
      let following = false
      const providers = yield* Layer.build(plan.layer)
      const engine = yield* Layer.build(
        Engine.layerSqlite({
          filename: store.file,
          resolve: (r) => Effect.succeed(following && r.id === record.id ? Option.some(workflow) : Option.none())
        }).pipe(Layer.provide(Layer.succeedContext(providers)))
      )
      return yield* Execute.follow(
        {
          mode,
          live: { maxAttempts: (step, path) => Definition.attemptsAt(attempts, path, registry.find(step)) },
          ...hints(plan.flags)
        },
        (engine) =>
          Effect.sync(() => {
            following = true
          }).pipe(Effect.as({ runId: record.id, done: engine.resume(record.id) }))
      ).pipe(
        // A sandbox that cannot keep its data stops the run (see `run`); it stays resumable.
        Effect.raceFirst(plan.stopped),
        Effect.provide(engine)
      )
    }).pipe(Effect.scoped)
    yield* Setup.settle(plan, code !== ExitCode.interrupted)
    yield* ExitCode.set(code)
  }).pipe(Common.jsonErrors(flags.json), Common.provideRegistry({ sandbox: flags.sandbox, configFile: flags.config }))
