/**
 * The services of the plugins a workflow uses, built once at the edge from the plugin registry
 * and the plugin contract (`@relais/core` `Plugin`): one `HttpClient` (`NodeHttpClient`) under
 * every plugin's `layer`, each built from the plugin's configuration (a profile's section, its
 * environment variables) or from the configuration its sandbox hands back (`--sandbox`).
 *
 * Nothing here knows a plugin by name. A plugin is only set up when the workflow uses one of its
 * steps, so a missing configuration for a plugin the workflow does not need is not an error; a
 * plugin without `layer` needs nothing.
 *
 * The command-line side of the sandboxes lives here too: `--fault <plugin>:<rule>` and
 * `--sandbox-set <plugin>:<name>=<value>`, checked against the registry (and, for settings,
 * against the sandbox's own `settings` once it is loaded) so that a typo is a usage error before
 * anything starts.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Plugin, PluginConfig, Redactor, Suggest } from "@relais/core"
import { Faults, type StateFile } from "@relais/sandbox-kit"
import { Context, Deferred, Effect, Either, Layer, type Scope } from "effect"
import * as NodePath from "node:path"
import * as Config from "./Config.js"
import * as Definition from "./Definition.js"
import { ProviderSetupError, UsageError } from "./Errors.js"

// -----------------------------------------------------------------------------
// Which plugins a workflow uses
// -----------------------------------------------------------------------------

/**
 * The plugins whose steps a (checked) definition uses, in the registry's order: the plugins
 * to set up for a run, and the only ones.
 *
 * @since 0.1.0
 */
export const pluginsUsed = (registry: Plugin.Registry, definitionText: string): ReadonlyArray<Plugin.Plugin> => {
  const used = Definition.pluginsUsed(definitionText)
  return registry.plugins.filter((plugin) => used.has(plugin.name))
}

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * A plugin's setup failed: its layer, its sandbox (loading or starting it).
 *
 * @since 0.1.0
 */
export const setupError = (plugin: Plugin.Plugin, source: string, usage = false) => (error: { readonly message: string }) =>
  new ProviderSetupError({ provider: Plugin.label(plugin), source, reason: error.message, usage })

const isStateFileError = (error: { readonly _tag: string }): error is StateFile.StateFileError => error._tag === "StateFileError"

/**
 * A sandbox that could not start; a state file that cannot be kept (a full or read-only disk)
 * stays a `StateFileError`, which says what to do about the disk.
 */
const sandboxError = (plugin: Plugin.Plugin) =>
(
  error: { readonly _tag: string; readonly message: string }
): ProviderSetupError | StateFile.StateFileError => isStateFileError(error) ? error : setupError(plugin, "sandbox")(error)

// -----------------------------------------------------------------------------
// --fault and --sandbox-set
// -----------------------------------------------------------------------------

/**
 * The plugins that have a sandbox, in the registry's order.
 *
 * @since 0.1.0
 */
export const withSandbox = (registry: Plugin.Registry): ReadonlyArray<Plugin.Plugin> =>
  registry.plugins.filter((plugin) => plugin.sandbox !== undefined)

/**
 * Fault rules by plugin name, in the sandbox-kit text syntax (`--fault <plugin>:<rule>`).
 *
 * @since 0.1.0
 */
export type FaultRules = Readonly<Record<string, ReadonlyArray<string>>>

/**
 * Sandbox settings by plugin, then by setting name, as given (`--sandbox-set
 * <plugin>:<name>=<value>`): the texts their `parse` accepts.
 *
 * @since 0.1.0
 */
export type SandboxSettings = Readonly<Record<string, Readonly<Record<string, string>>>>

/**
 * The plugin named before the first `:` of a flag's value, if it has a sandbox; otherwise a
 * usage error with the plugins that have one (and the closest name).
 */
const sandboxPluginOf = (
  registry: Plugin.Registry,
  flag: string,
  value: string,
  shape: string,
  example: (plugin: string) => string
): Either.Either<{ readonly plugin: Plugin.Plugin; readonly rest: string }, UsageError> => {
  const colon = value.indexOf(":")
  const name = colon < 0 ? "" : value.slice(0, colon).trim()
  const candidates = withSandbox(registry).map((p) => p.name)
  const plugin = registry.plugin(name)
  if (plugin !== undefined && plugin.sandbox !== undefined) return Either.right({ plugin, rest: value.slice(colon + 1).trim() })
  const suggestion = name === "" ? undefined : Suggest.closest(name, candidates)[0]
  const reason = candidates.length === 0
    ? "no plugin loaded has a sandbox"
    : plugin !== undefined
    ? `${name} has no sandbox (plugins with one: ${candidates.join(", ")})`
    : `expected ${shape}, where <plugin> is one with a sandbox: ${candidates.join(", ")}${
      suggestion !== undefined ? ` (did you mean "${suggestion}"?)` : ""
    }, e.g. ${flag} "${example(candidates[0]!)}"`
  return Either.left(new UsageError({ reason: `${flag} ${JSON.stringify(value)}: ${reason}` }))
}

/**
 * Read `--fault <plugin>:<rule>` flags: a plugin that has a sandbox, then a rule in the
 * sandbox-kit text syntax (checked here, so that a typo is a usage error before anything
 * starts).
 *
 * @since 0.1.0
 */
export const parseFaults = (registry: Plugin.Registry, flags: ReadonlyArray<string>): Either.Either<FaultRules, UsageError> => {
  const rules: Record<string, Array<string>> = {}
  for (const flag of flags) {
    const target = sandboxPluginOf(registry, "--fault", flag, "<plugin>:<rule>", (p) => `${p}:* latency:200`)
    if (Either.isLeft(target)) return Either.left(target.left)
    const { plugin, rest: rule } = target.right
    if (rule === "") return Either.left(new UsageError({ reason: `--fault ${JSON.stringify(flag)}: the rule is empty` }))
    const parsed = Faults.parse(rule)
    if (Either.isLeft(parsed)) return Either.left(new UsageError({ reason: `--fault: ${parsed.left.message}` }))
    ;(rules[plugin.name] ??= []).push(rule)
  }
  return Either.right(rules)
}

/**
 * Read `--sandbox-set <plugin>:<name>=<value>` flags: their shape and plugin (the setting and
 * its value are checked by {@link checkSettings} once the sandbox is loaded). A setting given
 * twice keeps its last value.
 *
 * @since 0.1.0
 */
export const parseSettings = (
  registry: Plugin.Registry,
  flags: ReadonlyArray<string>
): Either.Either<SandboxSettings, UsageError> => {
  const settings: Record<string, Record<string, string>> = {}
  for (const flag of flags) {
    const target = sandboxPluginOf(registry, "--sandbox-set", flag, "<plugin>:<name>=<value>", (p) => `${p}:<name>=<value>`)
    if (Either.isLeft(target)) return Either.left(target.left)
    const { plugin, rest } = target.right
    const eq = rest.indexOf("=")
    const name = eq < 0 ? "" : rest.slice(0, eq).trim()
    if (name === "") {
      return Either.left(new UsageError({
        reason: `--sandbox-set ${JSON.stringify(flag)}: expected <plugin>:<name>=<value>, e.g. --sandbox-set "${plugin.name}:<name>=<value>"`
      }))
    }
    ;(settings[plugin.name] ??= {})[name] = rest.slice(eq + 1).trim()
  }
  return Either.right(settings)
}

/**
 * The settings of a sandbox for help and error texts: `name (values; default d)`.
 *
 * @since 0.1.0
 */
export const settingsList = (sandbox: Plugin.Sandbox): string =>
  (sandbox.settings ?? []).map((s) => `${s.name} (${s.values}; default ${s.default})`).join(", ")

/**
 * The canonical form of a setting's value (`30s` and `30000ms` are the same setting), or the
 * text itself when its `parse` refuses it.
 *
 * @since 0.1.0
 */
export const canonical = (setting: Plugin.SandboxSetting, text: string): string =>
  Either.getOrElse(setting.parse(text), () => text)

/**
 * Check the settings given for a plugin's sandbox against the ones it declares: an unknown
 * name or a value its `parse` refuses is a usage error.
 *
 * @since 0.1.0
 */
export const checkSettings = (
  plugin: Plugin.Plugin,
  sandbox: Plugin.Sandbox,
  given: Readonly<Record<string, string>>
): Either.Either<void, UsageError> => {
  const declared = sandbox.settings ?? []
  for (const [name, value] of Object.entries(given)) {
    const flag = `--sandbox-set ${plugin.name}:${name}=${value}`
    const setting = declared.find((s) => s.name === name)
    if (setting === undefined) {
      const suggestion = Suggest.closest(name, declared.map((s) => s.name))[0]
      return Either.left(new UsageError({
        reason: declared.length === 0
          ? `${flag}: the ${Plugin.label(plugin)} sandbox has no settings`
          : `${flag}: the ${Plugin.label(plugin)} sandbox has no setting "${name}"${
            suggestion !== undefined ? ` (did you mean "${suggestion}"?)` : ""
          }; its settings: ${settingsList(sandbox)}`
      }))
    }
    const parsed = setting.parse(value)
    if (Either.isLeft(parsed)) return Either.left(new UsageError({ reason: `${flag}: ${parsed.left}` }))
  }
  return Either.right(undefined)
}

// -----------------------------------------------------------------------------
// Sandboxes
// -----------------------------------------------------------------------------

/**
 * A plugin's sandbox, loaded (its module is only imported now).
 *
 * @since 0.1.0
 */
export const loadSandbox = (plugin: Plugin.Plugin): Effect.Effect<Plugin.Sandbox, ProviderSetupError> =>
  plugin.sandbox === undefined
    ? Effect.fail(setupError(plugin, "sandbox")({ message: "it has no sandbox" }))
    : Effect.tryPromise({
      try: plugin.sandbox,
      catch: (error) => setupError(plugin, "sandbox")({ message: `its sandbox could not be loaded: ${error instanceof Error ? error.message : String(error)}` })
    })

/**
 * A plugin with its loaded sandbox.
 *
 * @since 0.1.0
 */
export interface WithSandbox {
  readonly plugin: Plugin.Plugin
  readonly sandbox: Plugin.Sandbox
}

/**
 * Load the sandboxes of these plugins.
 *
 * @since 0.1.0
 */
export const loadSandboxes = (plugins: ReadonlyArray<Plugin.Plugin>): Effect.Effect<ReadonlyArray<WithSandbox>, ProviderSetupError> =>
  Effect.forEach(plugins, (plugin) => Effect.map(loadSandbox(plugin), (sandbox) => ({ plugin, sandbox })))

/**
 * How the sandboxes start.
 *
 * @since 0.1.0
 */
export interface StartOptions {
  readonly seed?: number | undefined
  readonly faults?: FaultRules | undefined
  /** Checked with {@link checkSettings}. */
  readonly settings?: SandboxSettings | undefined
  /** Ports by plugin name (default: any free port). */
  readonly ports?: Readonly<Record<string, number>> | undefined
  /** The directory where each sandbox keeps its data, in `<plugin name>.json`. */
  readonly stateDirectory?: string | undefined
  /**
   * Failed when a sandbox cannot keep its data after a request (a disk that filled up or became
   * read-only; the request answers 500). From then on the clients (`layerSandboxes`) deliver no
   * answer at all: the data in memory is ahead of the file, and a step that built on it (or
   * reconciled against it) would journal what a resumed run no longer finds. The steps in flight
   * wait until the run is stopped, and are checked again when it resumes.
   */
  readonly dataLost?: Deferred.Deferred<never, StateFile.StateFileError> | undefined
}

/**
 * Where a plugin's sandbox keeps the data of a run.
 *
 * @since 0.1.0
 */
export const stateFile = (directory: string, pluginName: string): string => NodePath.join(directory, `${pluginName}.json`)

/**
 * A started sandbox.
 *
 * @since 0.1.0
 */
export interface Started extends WithSandbox {
  readonly running: Plugin.RunningSandbox
}

/**
 * Start sandboxes (at the same time), stopped when the scope closes. The configuration each
 * hands back holds its own credentials: {@link layerPlugin} registers them with the `Redactor`
 * (`relais sandbox` prints them: they only open these local simulators).
 *
 * @since 0.1.0
 */
export const startSandboxes = (
  sandboxes: ReadonlyArray<WithSandbox>,
  options: StartOptions
): Effect.Effect<ReadonlyArray<Started>, ProviderSetupError | StateFile.StateFileError, Scope.Scope> =>
  Effect.forEach(
    sandboxes,
    ({ plugin, sandbox }) =>
      Effect.gen(function*() {
        const running = yield* sandbox.start({
          port: options.ports?.[plugin.name],
          seed: options.seed,
          faults: options.faults?.[plugin.name] ?? [],
          settings: options.settings?.[plugin.name] ?? {},
          stateFile: options.stateDirectory !== undefined ? stateFile(options.stateDirectory, plugin.name) : undefined,
          onSaveFailure: options.dataLost === undefined
            ? undefined
            : (error) => Effect.asVoid(Deferred.fail(options.dataLost!, error as StateFile.StateFileError))
        }).pipe(Effect.mapError(sandboxError(plugin)))
        return { plugin, sandbox, running }
      }),
    { concurrency: "unbounded" }
  )

// -----------------------------------------------------------------------------
// Layers
// -----------------------------------------------------------------------------

/**
 * The one HTTP client of the process (node:http with its own agent, closed with the layer).
 *
 * @since 0.1.0
 * @category Layers
 */
export const httpClient: Layer.Layer<HttpClient.HttpClient> = NodeHttpClient.layer

/**
 * A plugin's services from its decoded configuration, its secrets registered with the
 * `Redactor` first; nothing for a plugin without `layer`. `source` says where the
 * configuration came from, for errors ("profile preprod", "sandbox").
 *
 * The output is typed `never` on purpose: a workflow compiled from YAML requires `any`, and the
 * engine hands its whole context to the steps.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerPlugin = (
  plugin: Plugin.Plugin,
  config: unknown,
  source: string
): Layer.Layer<never, ProviderSetupError, HttpClient.HttpClient | Redactor.Redactor> => {
  const layer = plugin.layer
  if (layer === undefined) return Layer.empty
  return Layer.unwrapEffect(
    Effect.as(PluginConfig.registerSecrets(config), layer(config).pipe(Layer.mapError(setupError(plugin, source))))
  ) as Layer.Layer<never, ProviderSetupError, HttpClient.HttpClient | Redactor.Redactor>
}

/**
 * The services of started sandboxes, over one HTTP client. With `dataLost`, that client
 * delivers no answer once a sandbox could not keep its data (see {@link StartOptions}).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerSandboxes = (
  started: ReadonlyArray<Started>,
  dataLost?: Deferred.Deferred<never, StateFile.StateFileError>
): Layer.Layer<never, ProviderSetupError, Redactor.Redactor> =>
  Layer.mergeAll(Layer.empty, ...started.map(({ plugin, running }) => layerPlugin(plugin, running.config, "sandbox"))).pipe(
    Layer.provide(
      dataLost === undefined ? httpClient : Layer.map(httpClient, (context) =>
        Context.add(context, HttpClient.HttpClient, withheldAfter(Context.get(context, HttpClient.HttpClient), dataLost)))
    )
  )

/** A client that delivers no answer (success or failure) once `dataLost` is done. */
const withheldAfter = (client: HttpClient.HttpClient, dataLost: Deferred.Deferred<never, StateFile.StateFileError>) =>
  HttpClient.transformResponse(client, (response) =>
    Effect.flatMap(Effect.exit(response), (exit) => Effect.flatMap(Deferred.isDone(dataLost), (lost) => lost ? Effect.never : exit)))

/**
 * Where a target's values come from, for errors: `profile preprod` or `environment variables`.
 *
 * @since 0.1.0
 */
export const sourceOf = (target: Config.Target): string =>
  target.kind === "profile" ? `profile ${target.profile}${target.production ? " (PRODUCTION)" : ""}` : "environment variables"

/**
 * The decoded configuration of a plugin in a target, or why it cannot be used. A plugin
 * without a `config` schema needs none (its `layer` receives `undefined`).
 *
 * @since 0.1.0
 */
export const configOf = (target: Config.Target, plugin: Plugin.Plugin): Effect.Effect<unknown, Config.NotConfigured> =>
  plugin.config === undefined ? Effect.succeed(undefined) : Effect.map(Config.requirePlugin(target, plugin.name), (section) => section.config)

/**
 * Check that every plugin with a layer among `plugins` is configured in the target (the
 * failure says what to set).
 *
 * @since 0.1.0
 */
export const requireConfigured = (
  target: Config.Target,
  plugins: ReadonlyArray<Plugin.Plugin>
): Effect.Effect<void, Config.NotConfigured> =>
  Effect.forEach(plugins.filter((p) => p.layer !== undefined), (plugin) => configOf(target, plugin), { discard: true })

/**
 * The services of the plugins the workflow uses, from a resolved target. Fails with a
 * plugin's configuration problem only for a plugin in `plugins`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerTarget = (
  target: Config.Target,
  plugins: ReadonlyArray<Plugin.Plugin>
): Layer.Layer<never, ProviderSetupError | Config.NotConfigured, Redactor.Redactor> => {
  const source = sourceOf(target)
  const layers = plugins.filter((p) => p.layer !== undefined).map((plugin) =>
    Layer.unwrapEffect(Effect.map(configOf(target, plugin), (config) => layerPlugin(plugin, config, source)))
  )
  return Layer.mergeAll(Layer.empty, ...layers).pipe(Layer.provide(httpClient))
}

/**
 * The addresses a target points at, by plugin name, for banners and the run history (no
 * secret in them: `endpoint` never returns one).
 *
 * @since 0.1.0
 */
export const endpoints = (target: Config.Target, plugins: ReadonlyArray<Plugin.Plugin>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const plugin of plugins) {
    const entry = target.plugins.get(plugin.name)
    if (plugin.endpoint === undefined || entry === undefined || Either.isLeft(entry)) continue
    const url = plugin.endpoint(entry.right.config)
    if (url !== undefined) out[plugin.name] = url
  }
  return out
}

/**
 * The labels of plugins by name (kept with a run's target, so that its history reads the same
 * whatever plugins are loaded when it is shown).
 *
 * @since 0.1.0
 */
export const labels = (plugins: ReadonlyArray<Plugin.Plugin>): Record<string, string> =>
  Object.fromEntries(plugins.map((p) => [p.name, Plugin.label(p)]))

