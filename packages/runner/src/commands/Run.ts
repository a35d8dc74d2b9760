/**
 * `relais run <file>`: check the workflow, start a run on the durable engine, show its progress
 * and report its outcome.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import { Engine, Plugin, Run, RunStore, type Workflow } from "@relais/core"
import { Clock, Effect, Either, Layer, Option, Random } from "effect"
import * as Fs from "node:fs"
import * as Files from "../cli/Files.js"
import { FileError, TargetMismatch, UsageError } from "../Errors.js"
import * as Definition from "../Definition.js"
import * as Execute from "../Execute.js"
import * as ExitCode from "../ExitCode.js"
import * as Output from "../Output.js"
import * as Progress from "../Progress.js"
import * as Providers from "../Providers.js"
import * as Setup from "../Setup.js"
import * as Targets from "../Targets.js"
import * as Load from "../yaml/Load.js"
import * as Source from "../yaml/Source.js"
import * as Store from "../Store.js"
import * as Cluster from "./Cluster.js"
import * as Common from "./Common.js"

/**
 * `--input name=value` pairs, split at the first `=`.
 *
 * @since 0.1.0
 */
export const parsePairs = (
  flags: ReadonlyArray<string>
): Either.Either<ReadonlyArray<readonly [string, string]>, UsageError> => {
  const pairs: Array<readonly [string, string]> = []
  for (const flag of flags) {
    const eq = flag.indexOf("=")
    const name = eq < 0 ? "" : flag.slice(0, eq).trim()
    if (name === "") {
      return Either.left(new UsageError({ reason: `--input ${JSON.stringify(flag)}: expected name=value, e.g. --input apprenantId=1234` }))
    }
    pairs.push([name, flag.slice(eq + 1)])
  }
  return Either.right(pairs)
}

/**
 * Read an `--input-file`: a JSON or YAML object.
 *
 * @since 0.1.0
 */
export const readInputFile = (path: string): Effect.Effect<Record<string, unknown>, FileError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const text = yield* Files.readText(path)
    // The workflow files' reader: located errors, bounded nesting, one document, core tags only.
    const read = Source.readData(text, /\.json$/i.test(path) ? "json" : "yaml", "set of inputs")
    if ("problems" in read) {
      const [first, ...others] = read.problems
      return yield* new FileError({
        file: `${path}:${first!.pos.line}:${first!.pos.column}`,
        reason: `${first!.message}${others.length > 0 ? ` (and ${others.length} more problem${others.length === 1 ? "" : "s"})` : ""}`
      })
    }
    const value = read.value
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return yield* new FileError({ file: path, reason: "expected an object of input names and values" })
    }
    return value as Record<string, unknown>
  })

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/

/**
 * The flags of `relais run`.
 *
 * @since 0.1.0
 */
export interface Flags {
  readonly file: string
  readonly input: ReadonlyArray<string>
  readonly inputFile: Option.Option<string>
  readonly profile: Option.Option<string>
  readonly config: Option.Option<string>
  readonly sandbox: boolean
  readonly seed: Option.Option<number>
  readonly fault: ReadonlyArray<string>
  readonly sandboxSet: ReadonlyArray<string>
  readonly store: Option.Option<string>
  readonly json: boolean
  readonly runId: Option.Option<string>
  readonly detach: boolean
}

/**
 * Check the flags that only make sense together, and read the sandboxes' faults and settings
 * (against the plugins of the registry: only those with a sandbox).
 *
 * @since 0.1.0
 */
export const checkTargetFlags = (flags: {
  readonly sandbox: boolean
  readonly profile: Option.Option<string>
  readonly fault: ReadonlyArray<string>
  readonly seed: Option.Option<number>
  readonly sandboxSet: ReadonlyArray<string>
}): Effect.Effect<
  { readonly faults: Providers.FaultRules; readonly settings: Providers.SandboxSettings },
  UsageError,
  Plugin.PluginRegistry
> =>
  Effect.gen(function*() {
    if (flags.sandbox && Option.isSome(flags.profile)) {
      return yield* new UsageError({ reason: "--sandbox runs against the in-process simulators; it cannot be combined with --profile" })
    }
    if (!flags.sandbox && flags.fault.length > 0) {
      return yield* new UsageError({ reason: "--fault injects faults into the sandboxes: add --sandbox (or use `relais sandbox --fault ...`)" })
    }
    if (!flags.sandbox && Option.isSome(flags.seed)) {
      return yield* new UsageError({ reason: "--seed only applies with --sandbox" })
    }
    if (!flags.sandbox && flags.sandboxSet.length > 0) {
      return yield* new UsageError({
        reason: "--sandbox-set sets how a sandbox behaves: add --sandbox (or use `relais sandbox --sandbox-set ...`)"
      })
    }
    const registry = yield* Plugin.PluginRegistry
    return {
      faults: yield* Providers.parseFaults(registry, flags.fault),
      settings: yield* Providers.parseSettings(registry, flags.sandboxSet)
    }
  })

/**
 * The handler of `relais run`.
 *
 * @since 0.1.0
 */
export const handler = (flags: Flags) =>
  Effect.gen(function*() {
    const { faults, settings } = yield* checkTargetFlags(flags)
    const pairs = yield* parsePairs(flags.input)
    if (Option.isSome(flags.runId) && !RUN_ID.test(flags.runId.value)) {
      return yield* new UsageError({ reason: `--run-id ${JSON.stringify(flags.runId.value)}: use letters, digits, "-", "_" and "." (at most 128)` })
    }
    const location = yield* Store.locate(flags.store, flags.config)
    if (location.kind === "postgres") {
      // The workers execute the run: this process submits it and follows it.
      yield* Cluster.checkFlags(flags, location)
      const loaded = yield* Load.loadFile(flags.file)
      const fromFile = Option.isSome(flags.inputFile) ? yield* readInputFile(flags.inputFile.value) : undefined
      const inputs = yield* Load.parseInputs(loaded, pairs, fromFile)
      const runId = Option.isSome(flags.runId) ? flags.runId.value : yield* freshRunId
      const registry = yield* Plugin.PluginRegistry
      const code = yield* Cluster.submit({
        loaded,
        inputs,
        location,
        runId,
        detach: flags.detach,
        mode: Progress.chooseMode({ json: flags.json, interactive: (yield* Output.Output).interactive })
      }).pipe(Effect.provide(Cluster.layerClient(location, "relais run", registry)), Effect.scoped)
      return yield* ExitCode.set(code)
    }
    if (flags.detach) {
      return yield* new UsageError({
        reason: "--detach leaves the run to the workers of a PostgreSQL store (--store postgres://...); on a SQLite store this process executes the run"
      })
    }
    // A SQLite file (the PostgreSQL case returned above), found once: flag, RELAIS_STORE, config file.
    const store = location
    const loaded = yield* Load.loadFile(flags.file)
    const fromFile = Option.isSome(flags.inputFile) ? yield* readInputFile(flags.inputFile.value) : undefined
    const inputs = yield* Load.parseInputs(loaded, pairs, fromFile)
    const plugins = Providers.pluginsUsed(yield* Plugin.PluginRegistry, loaded.definition.text)
    // Known before the sandboxes start: they keep their data with the run, for `resume`.
    const runId = Option.isSome(flags.runId) ? flags.runId.value : yield* freshRunId
    const plan = yield* Setup.plan(
      {
        sandbox: flags.sandbox,
        seed: flags.seed,
        faults,
        settings,
        profile: flags.profile,
        configFile: flags.config,
        sandboxState: flags.sandbox ? Setup.sandboxStateDir(store.file, runId) : undefined
      },
      plugins
    )
    const code = yield* runLoaded({
      loaded,
      inputs,
      plan,
      store,
      mode: Progress.chooseMode({ json: flags.json, interactive: (yield* Output.Output).interactive }),
      runId
    })
    yield* Setup.settle(plan, code !== ExitCode.interrupted)
    yield* ExitCode.set(code)
  }).pipe(Common.jsonErrors(flags.json), Common.provideRegistry({ sandbox: flags.sandbox, configFile: flags.config }))

/**
 * Start a loaded workflow on the engine of the store and follow it to its end: the part of
 * `run` after the checks, also used by tests with code-defined workflows.
 *
 * @since 0.1.0
 */
export const runLoaded = (options: {
  readonly loaded: Pick<Load.LoadedWorkflow, "workflow" | "definition" | "file">
  readonly inputs: Record<string, unknown>
  readonly plan: Setup.Plan
  readonly store: { readonly file: string; readonly explicit: boolean }
  readonly mode: Progress.Mode
  readonly runId?: string | undefined
}) =>
  Effect.gen(function*() {
    const registry = yield* Plugin.PluginRegistry
    const { loaded, plan, store } = options
    const workflow = loaded.workflow as unknown as Workflow.Workflow<any, any, never>
    const attempts = Definition.attempts(loaded.definition.text)
    yield* Setup.announce(plan.info, `running ${workflow.name}`)
    const providers = yield* Layer.build(plan.layer)
    // SQLite takes an empty file as an empty database: say so, it may be a store that lost its content.
    if (Fs.statSync(store.file, { throwIfNoEntry: false })?.size === 0) {
      yield* Output.note(`store ${store.file} is an empty file: a new run history starts in it`)
    }
    const engine = yield* Layer.build(
      Engine.layerSqlite({ filename: store.file }).pipe(Layer.provide(Layer.succeedContext(providers)))
    )
    const hints: Pick<Execute.Options, "resumeCommand" | "showCommand"> = {
      resumeCommand: (id) => `relais resume ${id}${Common.storeFlag(store)}${plan.flags}`,
      showCommand: (id) => `relais runs show ${id}${Common.storeFlag(store)}`
    }
    return yield* Effect.gen(function*() {
      const runId = options.runId ?? (yield* freshRunId)
      const existing = yield* RunStore.find(runId)
      if (Option.isSome(existing)) {
        const record = existing.value
        const taken = Common.runIdTaken(record, workflow.name, loaded.definition)
        if (Option.isSome(taken)) return yield* taken.value
        const started = yield* Targets.find(runId)
        if (Option.isSome(started)) {
          const mismatch = Targets.compare(started.value, plan.info)
          if (Option.isSome(mismatch)) {
            return yield* new TargetMismatch({ runId, started: targetWords(started.value), requested: targetWords(plan.info), hint: mismatch.value })
          }
        }
        if (Run.isFinal(record.status)) {
          yield* Output.note(`run ${runId} already exists and has finished; its outcome:`)
          yield* Execute.report(record, { mode: options.mode, ...hints })
          return ExitCode.ofRecord(record)
        }
        yield* Output.note(`run ${runId} already exists (${record.status}); continuing it`)
      }
      yield* Targets.record(runId, plan.info)
      yield* Output.note(`run ${runId}: ${workflow.name} (${loaded.file}), store ${store.file}`)
      let recorded = false
      return yield* Execute.follow(
        {
          mode: options.mode,
          live: {
            maxAttempts: (step, path) => Definition.attemptsAt(attempts, path, registry.find(step))
          },
          ...hints
        },
        (engine) =>
          engine.startUnknown(workflow, options.inputs, { runId, definition: loaded.definition }).pipe(
            Effect.tap(() => {
              recorded = true
            }),
            Effect.map((id) => ({ runId: id, done: engine.await(id) }))
          )
      ).pipe(
        // A sandbox that cannot keep its data stops the run before a step builds on what it
        // lost: the run is interrupted (the report says how to resume it), the error says why.
        Effect.raceFirst(plan.stopped),
        // The store failed under the run (a full disk): what was journaled stays, to be resumed.
        Effect.tapErrorTag("StoreError", () =>
          recorded
            ? Output.note(`run ${runId} stops here; once the store is fixed, resume it with: ${hints.resumeCommand(runId)}`)
            : Effect.void),
      )
    }).pipe(Effect.provide(engine))
  }).pipe(Effect.scoped)

const targetWords = (info: Setup.Plan["info"]) =>
  info.kind === "profile" ? `profile ${info.profile}` : info.kind === "sandbox" ? "the sandboxes" : "the environment variables"

const freshRunId = Effect.gen(function*() {
  const now = yield* Clock.currentTimeMillis
  const randoms = yield* Effect.replicateEffect(Random.next, 6)
  return Run.makeRunId(now, randoms)
})
