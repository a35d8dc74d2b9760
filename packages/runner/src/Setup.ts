/**
 * Everything `run` and `resume` need from the environment before a run starts: which target
 * (the sandboxes, a profile, or the environment variables), the services of the plugins the
 * workflow uses, and the banner that says where the run goes (loud for production). It works
 * from the plugin registry and the plugin contract: no plugin is known here by name.
 *
 * The in-process sandboxes of `--sandbox` keep their data with the run, in
 * `<store directory>/sandboxes/<run id>/<plugin name>.json` (written after every request that
 * changes it, so a killed process loses nothing): `resume --sandbox` restores it, and it is
 * removed when the run ends. A run whose sandbox data is not there cannot be resumed, and says
 * so. Their settings (`--sandbox-set`) are kept there too, in `settings.json` (`{ "<plugin>": {
 * "<setting>": "<value>" } }`), so that a resumed run meets the same sandboxes; faults and the
 * seed are not (faults are for one execution, and the data restored replaces the seeded data).
 *
 * @since 0.1.0
 */
import { Plugin, type Redactor } from "@relais/core"
import { StateFile } from "@relais/sandbox-kit"
import { Deferred, Effect, Layer, Option, Schema } from "effect"
import * as Fs from "node:fs"
import * as NodePath from "node:path"
import * as Config from "./Config.js"
import { ProviderSetupError, UsageError } from "./Errors.js"
import * as Output from "./Output.js"
import * as Providers from "./Providers.js"
import * as Report from "./Report.js"

/**
 * Where a run will go, and how to build the services of its plugins.
 *
 * @since 0.1.0
 */
export interface Plan {
  readonly info: Report.TargetInfo
  /** The plugins' services (and the sandboxes), built once at the edge. */
  readonly layer: Layer.Layer<
    never,
    ProviderSetupError | Config.NotConfigured | StateFile.StateFileError,
    Redactor.Redactor | Output.Output
  >
  /** The flags that select the same target again (` --sandbox`, ` --profile prod`). */
  readonly flags: string
  /** Where the in-process sandboxes keep their data for this run (`--sandbox` only). */
  readonly sandboxState?: string | undefined
  /** The plugins whose sandboxes the run starts (`--sandbox` only), by name. */
  readonly sandboxes: ReadonlyArray<string>
  /**
   * Fails when a sandbox could not keep its data after a request (a disk that filled up or
   * became read-only): the run must stop there, so that what is kept matches its journal and it
   * can be resumed once the disk is fixed. Never completes otherwise.
   */
  readonly stopped: Effect.Effect<never, StateFile.StateFileError>
}

/**
 * What the command line says about the target.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly sandbox: boolean
  readonly seed: Option.Option<number>
  readonly faults: Providers.FaultRules
  /** With `sandbox`: how the sandboxes behave (only what the command line gave). */
  readonly settings: Providers.SandboxSettings
  readonly profile: Option.Option<string>
  readonly configFile: Option.Option<string>
  /**
   * With `sandbox`: the directory where the sandboxes keep their data (`sandboxStateDir`),
   * restored from it when it holds some. Without it, the sandboxes start from their seed and
   * keep nothing.
   */
  readonly sandboxState?: string | undefined
}

/**
 * Where the in-process sandboxes of a run keep their data: beside the run store.
 *
 * @since 0.1.0
 */
export const sandboxStateDir = (storeFile: string, runId: string): string =>
  NodePath.join(NodePath.dirname(storeFile), "sandboxes", runId)

const settingsFile = (directory: string) => NodePath.join(directory, "settings.json")

const Settings = Schema.Record({ key: Schema.String, value: Schema.Record({ key: Schema.String, value: Schema.String }) })

const only = (settings: Providers.SandboxSettings, names: ReadonlyArray<string>): Providers.SandboxSettings =>
  Object.fromEntries(Object.entries(settings).filter(([plugin]) => names.includes(plugin)))

/**
 * The settings of a run's sandboxes: those it started with when its data is kept (a setting
 * given again must be the same, compared in the canonical form of the setting's `parse`: the
 * sandboxes are the instance the run started on), else those of the command line. Data kept by
 * a relais that did not keep settings had the defaults.
 */
const keptSettings = (
  directory: string,
  sandboxes: ReadonlyArray<Providers.WithSandbox>,
  given: Providers.SandboxSettings
): Effect.Effect<Providers.SandboxSettings, UsageError | StateFile.StateFileError> =>
  Effect.gen(function*() {
    const file = settingsFile(directory)
    const kept = yield* StateFile.read(file, "settings")
    const decoded: Option.Option<Providers.SandboxSettings> = Option.isNone(kept)
      ? Option.some({})
      : Schema.decodeUnknownOption(Settings)(kept.value)
    if (Option.isNone(decoded)) {
      return yield* new StateFile.StateFileError({
        file,
        operation: "read",
        reason: "it does not hold the sandboxes' settings as this relais keeps them ({ \"<plugin>\": { \"<setting>\": \"<value>\" } }; damaged, or kept by another version)"
      })
    }
    const started = decoded.value
    for (const { plugin, sandbox } of sandboxes) {
      for (const [name, value] of Object.entries(given[plugin.name] ?? {})) {
        const setting = (sandbox.settings ?? []).find((s) => s.name === name)
        if (setting === undefined) continue // refused by `checkSettings` already
        const was = started[plugin.name]?.[name]
        if (Providers.canonical(setting, value) !== Providers.canonical(setting, was ?? setting.default)) {
          return yield* new UsageError({
            reason: `--sandbox-set ${plugin.name}:${name}=${value}: this run's sandboxes were started with ${
              was === undefined ? `the default (${name}=${setting.default})` : `--sandbox-set ${plugin.name}:${name}=${was}`
            }, and a resumed run goes on with the same sandboxes; leave the flag out`
          })
        }
      }
    }
    return started
  })

/**
 * Whether a run's sandbox data is there to resume it: every sandbox the run needs wrote its
 * file when it started.
 *
 * @since 0.1.0
 */
export const sandboxStateKept = (directory: string, sandboxes: ReadonlyArray<string>): boolean =>
  sandboxes.every((name) => Fs.existsSync(Providers.stateFile(directory, name)))

/**
 * Remove a run's sandbox data once the run has ended (a final status): nothing will resume it.
 * An interrupted run keeps it.
 *
 * @since 0.1.0
 */
export const settle = (plan: Plan, runEnded: boolean): Effect.Effect<void, never, Output.Output> =>
  plan.sandboxState === undefined || !runEnded
    ? Effect.void
    : Effect.try(() => Fs.rmSync(plan.sandboxState!, { recursive: true, force: true })).pipe(
      Effect.catchAll(() => Output.warn(`could not remove the sandboxes' data of the finished run: ${plan.sandboxState}`))
    )

/**
 * A run started on the in-process sandboxes cannot be resumed: their data was not kept with
 * the run (it was started by a relais that did not keep it, or the directory was removed), so
 * what its first execution created is gone.
 *
 * @since 0.1.0
 */
export class SandboxStateLost extends Schema.TaggedError<SandboxStateLost>("@relais/runner/SandboxStateLost")(
  "SandboxStateLost",
  {
    runId: Schema.String,
    directory: Schema.String,
    /** The command that starts the workflow again. */
    rerun: Schema.String
  }
) {
  override get message(): string {
    return `run ${this.runId} used in-process sandboxes whose data ended with the process (it is not kept in ${this.directory}), so it cannot be resumed: what its first execution created is gone. Start it again instead: ${this.rerun}`
  }
}

/** The sandboxes' line: each one's label, address and summary, the faults, the data restored. */
const sandboxesLine = (
  started: ReadonlyArray<Providers.Started>,
  faults: Providers.FaultRules,
  restoredFrom: string | undefined
): string => {
  const items = started.flatMap(({ plugin, running }) => [
    `${Plugin.label(plugin)} ${running.url}`,
    ...(running.summary !== undefined && running.summary !== "" ? [running.summary] : [])
  ])
  const rules = Object.entries(faults).flatMap(([plugin, list]) =>
    started.some((s) => s.plugin.name === plugin) ? list.map((rule) => `${plugin}: ${rule}`) : []
  )
  return `sandboxes: ${items.length > 0 ? items.join("; ") : "none (the workflow uses no step of a plugin with a sandbox)"}${
    rules.length > 0 ? `; faults: ${rules.join("; ")}` : ""
  }${restoredFrom !== undefined ? `; their data restored from ${restoredFrom}` : ""}`
}

/**
 * The sandboxes a `--sandbox` run of these plugins starts: the plugins with a sandbox. A plugin
 * that needs services (it has a `layer`) but has no sandbox cannot run there.
 *
 * @since 0.1.0
 */
export const sandboxPlugins = (
  plugins: ReadonlyArray<Plugin.Plugin>
): Effect.Effect<ReadonlyArray<Plugin.Plugin>, ProviderSetupError> => {
  const without = plugins.find((p) => p.sandbox === undefined && p.layer !== undefined)
  return without === undefined
    ? Effect.succeed(plugins.filter((p) => p.sandbox !== undefined))
    : Effect.fail(
      new ProviderSetupError({
        provider: Plugin.label(without),
        source: "sandbox",
        reason: `it has no sandbox, and the workflow uses its steps: run it against a profile (--profile) instead of --sandbox`,
        usage: true
      })
    )
}

/** Faults and settings aimed at a sandbox the run does not start are said to be ignored. */
const warnUnused = (options: Options, names: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const registry = yield* Plugin.PluginRegistry
    const unused = [...new Set([...Object.keys(options.faults), ...Object.keys(options.settings)])].filter((n) => !names.includes(n))
    for (const name of unused) {
      const plugin = registry.plugin(name)
      yield* Output.warn(
        `the workflow uses no ${plugin !== undefined ? Plugin.label(plugin) : name} step, so its sandbox is not started: --fault and --sandbox-set for ${name} are ignored`
      )
    }
  })

/**
 * Decide the target for a run of the given plugins (those whose steps the workflow uses, see
 * `Providers.pluginsUsed`). Configuration problems of those plugins fail here, before anything
 * is opened or called; the others are ignored. With `--sandbox`, the sandboxes' modules are
 * loaded here and the settings checked against them.
 *
 * @since 0.1.0
 */
export const plan = (options: Options, plugins: ReadonlyArray<Plugin.Plugin>) =>
  Effect.gen(function*() {
    if (options.sandbox) {
      const withSandbox = yield* sandboxPlugins(plugins)
      const names = withSandbox.map((p) => p.name)
      yield* warnUnused(options, names)
      const sandboxes = yield* Providers.loadSandboxes(withSandbox)
      for (const { plugin, sandbox } of sandboxes) yield* Providers.checkSettings(plugin, sandbox, options.settings[plugin.name] ?? {})
      const directory = options.sandboxState
      const restored = directory !== undefined && names.length > 0 && sandboxStateKept(directory, names)
      const settings = restored ? yield* keptSettings(directory, sandboxes, options.settings) : only(options.settings, names)
      const saveFailed = yield* Deferred.make<never, StateFile.StateFileError>()
      const layer = Layer.unwrapScoped(Effect.gen(function*() {
        // Written before the sandboxes write their data: kept data always has its settings.
        if (directory !== undefined && !restored) {
          yield* StateFile.write(settingsFile(directory), "settings", Schema.encodeSync(Settings)(settings))
        }
        const started = yield* Providers.startSandboxes(sandboxes, {
          seed: Option.getOrUndefined(options.seed),
          faults: options.faults,
          settings,
          ...(directory !== undefined ? { stateDirectory: directory, dataLost: saveFailed } : {})
        })
        yield* Output.note(sandboxesLine(started, options.faults, restored ? directory : undefined))
        return Providers.layerSandboxes(started, directory !== undefined ? saveFailed : undefined)
      }))
      const plan: Plan = {
        info: { kind: "sandbox", production: false, endpoints: {} },
        layer,
        flags: " --sandbox",
        sandboxState: directory,
        sandboxes: names,
        stopped: Deferred.await(saveFailed)
      }
      return plan
    }
    const { target, warnings } = yield* Config.resolve({ profile: options.profile, configFile: options.configFile })
    for (const warning of warnings) yield* Output.warn(warning.toString())
    yield* Providers.requireConfigured(target, plugins)
    const endpoints = Providers.endpoints(target, plugins)
    const plan: Plan = {
      info: {
        kind: target.kind,
        profile: target.profile,
        production: target.production,
        endpoints,
        labels: Providers.labels(plugins.filter((p) => endpoints[p.name] !== undefined))
      },
      layer: Providers.layerTarget(target, plugins),
      flags: target.kind === "profile" ? ` --profile ${target.profile}` : "",
      sandboxes: [],
      stopped: Effect.never
    }
    return plan
  })

/**
 * Say where the run goes, on stderr. A production target gets a banner that cannot be missed.
 *
 * @since 0.1.0
 */
export const announce = (info: Report.TargetInfo, verb: string): Effect.Effect<void, never, Output.Output> =>
  Effect.gen(function*() {
    const output = yield* Output.Output
    const style = output.styleErr
    if (info.production) {
      const lines = [
        `PRODUCTION: ${verb} against profile "${info.profile}"`,
        ...Report.endpointTexts(info),
        "Real records are created, changed and deleted there."
      ]
      const width = Math.max(...lines.map((l) => l.length)) + 2
      const bar = "!".repeat(width + 4)
      yield* output.writeErr(
        [bar, ...lines.map((l) => `!! ${l.padEnd(width - 1)}!!`), bar].map((l) => style.inverseRed(l)).join("\n") + "\n"
      )
      return
    }
    yield* output.writeErr(`${style.dim(`target: ${Report.targetText(info)}`)}\n`)
  })
