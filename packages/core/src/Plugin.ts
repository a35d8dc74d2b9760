/**
 * Plugins: the one way anything plugs into relais. In the spirit of Rollup and Vite, a plugin is
 * a plain object, usually returned by a factory taking the plugin's options; the host (the
 * engine, the runner) owns the lifecycle and never reaches into a plugin's internals.
 *
 * A plugin declares:
 * - `name` (the namespace of its steps: `esign` registers `esign/...`), `label` (what people
 *   read: "E-signature"), `description`, and the `apiVersion` of this contract it was built
 *   against ({@link make} stamps it);
 * - `steps`;
 * - `config`: an Effect Schema of what a profile of `relais.config.yaml` holds for it (its
 *   encoded side is plain JSON; secrets are `Schema.Redacted(Schema.String)`). The host reads
 *   it from the profile's section (key: {@link PluginConfig.profileKey}) or from environment
 *   variables (`<PLUGIN>_<FIELD>`, see {@link PluginConfig.envName}), decodes it with this one
 *   schema, and registers every `Redacted` value with the `Redactor`;
 * - `layer`: the services its steps need (its client), built from that configuration. It
 *   registers any derived form of a secret (a Basic credential...) with the `Redactor`;
 * - `sandbox`: optionally, a lazily loaded simulator of the service on a loopback port, with a
 *   seed, fault rules and settings, and the configuration that points the plugin at it.
 *
 * What the host reads on a plugin's errors: the default retry policies (`RetryPolicy`) retry
 * an error with a numeric `status` of 408, 429, 500, 502, 503 or 504, a step timeout, or an
 * error tagged `Transport`, `RateLimited` or `Unavailable`, never sooner than its
 * `retryAfterMillis`; a polling step says so with
 * `polls: true` (its policy is its polling, which a workflow's `defaults.retry` does not replace);
 * state an invocation needs after a crash goes in `Step.rememberState`, never in module variables.
 *
 * Steps are registered under `plugin/step-name`; the registry refuses names outside the
 * plugin's namespace, duplicate plugins and steps, and plugins built against another major
 * version of this contract, and answers unknown step names with suggestions.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type { Either, Scope } from "effect"
import { Context, Effect, Layer } from "effect"
import type * as Schema from "effect/Schema"
import { DuplicateStep, InvalidPlugin, InvalidStepName, UnknownStep } from "./Errors.js"
import type * as Redactor from "./Redactor.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as Step from "./Step.js"
import * as Suggest from "./Suggest.js"

/**
 * The major version of the plugin contract this `@relais/core` implements. A plugin built
 * against another major version is refused when it is loaded.
 *
 * @since 0.1.0
 */
export const apiVersion = 1

/**
 * A plugin.
 *
 * @since 0.1.0
 */
export interface Plugin<Config = any> {
  /** The version of the contract the plugin was built against ({@link make} fills it in). */
  readonly apiVersion?: number | undefined
  /** The namespace of the plugin's steps: lower case, digits and dashes (`aimaira`, `esign`). */
  readonly name: string
  /** The name people read in banners, reports and errors ("AIMAIRA"); defaults to `name`. */
  readonly label?: string | undefined
  readonly description: string
  readonly steps: ReadonlyArray<Step.Any>
  /**
   * What a profile holds for the plugin: URL, credentials (`Schema.Redacted(Schema.String)`),
   * timeouts... Its encoded side must be JSON (objects, strings, numbers, booleans). Without it,
   * the plugin needs no configuration and `layer` receives `undefined`.
   */
  readonly config?: Schema.Schema<Config, any, never> | undefined
  /**
   * The services the plugin's steps need, from the decoded configuration. Built once, and only
   * when a workflow uses one of the plugin's steps. A failure says what is wrong in `message`.
   */
  readonly layer?:
    | ((config: Config) => Layer.Layer<any, { readonly message: string }, HttpClient.HttpClient | Redactor.Redactor>)
    | undefined
  /** The address a configuration points at, for banners and the run history (never a secret). */
  readonly endpoint?: ((config: Config) => string | undefined) | undefined
  /** A simulator of the service, loaded only when asked for (`--sandbox`, `relais sandbox`). */
  readonly sandbox?: (() => Promise<Sandbox<Config>>) | undefined
  /**
   * A kind of trigger the plugin contributes: a workflow declares it under the plugin's name
   * (`triggers: - aimaira: { objectTypes: [...] }`), and `relais serve` starts the workflow when
   * a firing matches.
   */
  readonly trigger?: Trigger | undefined
}

// -----------------------------------------------------------------------------
// Triggers
// -----------------------------------------------------------------------------

/**
 * A kind of trigger contributed by a plugin. A workflow declares it in `triggers:` under the
 * plugin's name, with options this plugin checks; every firing that `matches` those options
 * starts a run of the workflow, with the firing's event as `trigger.*` in expressions.
 *
 * @since 0.1.0
 */
export interface Trigger<Options = any, Event = any> {
  readonly description: string
  /** What a workflow writes under the plugin's name in `triggers:` (checked, errors located). */
  readonly options: Schema.Schema<Options, any, never>
  /** What a firing carries; its encoded side (JSON) is `trigger.*` in expressions. */
  readonly event: Schema.Schema<Event, any, never>
  /** Whether a firing starts a workflow that declared these options. */
  readonly matches: (options: Options, event: Event) => boolean
  /** How firings reach `relais serve` over HTTP. */
  readonly webhook?: Webhook<Event> | undefined
}

/**
 * Firings received over HTTP. The host (`relais serve`) owns the route
 * (`POST /hooks/<plugin>`), its authentication (OAuth client credentials against a token endpoint
 * it serves, with the client id and secret of its configuration), the size cap, the durable
 * record of each message before answering 2xx, deduplication and debouncing; the plugin reads
 * and checks one message.
 *
 * @since 0.1.0
 */
export interface Webhook<Event = any, Settings = any> {
  /** What the server's configuration holds for this webhook besides the OAuth client (JSON). */
  readonly settings?: Schema.Schema<Settings, any, never> | undefined
  /** How the sender authenticates: OAuth 2 client credentials, or nothing (loopback tests). */
  readonly auth: "oauth-client-credentials" | "none"
  /** Read one message from the request body: its event, or why it is refused (a 4xx). */
  readonly receive: (body: string, settings: Settings) => Either.Either<Received<Event>, Rejected>
}

/**
 * A message a webhook accepted.
 *
 * @since 0.1.0
 */
export interface Received<Event = any> {
  readonly event: Event
  /** The same for a message sent again: resends are recorded once. */
  readonly messageKey: string
  /** What the message is about (`ObjectType:ObjectId`): a burst about one subject starts one run. */
  readonly subject: string
}

/**
 * Why a webhook refused a message (recorded for the operator; nothing starts).
 *
 * @since 0.1.0
 */
export interface Rejected {
  readonly status: 400 | 401 | 403 | 409 | 413 | 415 | 422
  readonly reason: string
}

/**
 * Define a plugin, stamping the contract version it is built against.
 *
 * @since 0.1.0
 */
export const make = <Config>(plugin: Plugin<Config>): Plugin<Config> => ({ apiVersion, ...plugin })

/**
 * The label of a plugin: what people read.
 *
 * @since 0.1.0
 */
export const label = (plugin: Plugin): string => plugin.label ?? plugin.name

/**
 * The names plugins may take (the namespace of their steps).
 *
 * @since 0.1.0
 */
export const isValidName = (name: string): boolean => /^[a-z][a-z0-9-]*$/.test(name)

// -----------------------------------------------------------------------------
// Sandboxes
// -----------------------------------------------------------------------------

/**
 * A simulator of a plugin's service, for `--sandbox`, `relais sandbox` and tests.
 *
 * @since 0.1.0
 */
export interface Sandbox<Config = any> {
  /** One line about what it simulates. */
  readonly description: string
  /** A fault rule in the sandbox-kit syntax, for help texts (`POST /api/envelopes 500 x1`). */
  readonly faultExample?: string | undefined
  /** Behaviours that depend on the vendor's setup, chosen with `--sandbox-set <plugin>:<name>=<value>`. */
  readonly settings?: ReadonlyArray<SandboxSetting> | undefined
  /**
   * Start the simulator on 127.0.0.1 (stopped when the scope closes). The configuration it
   * returns points the plugin at it, with the simulator's own credentials.
   */
  readonly start: (
    options: SandboxOptions
  ) => Effect.Effect<RunningSandbox<Config>, { readonly _tag: string; readonly message: string }, Scope.Scope>
}

/**
 * A setting of a sandbox (`--sandbox-set campus-skills:integration=never`).
 *
 * @since 0.1.0
 */
export interface SandboxSetting {
  readonly name: string
  readonly description: string
  /** The values it takes, for help texts: "immediate, never, or a delay such as 30s". */
  readonly values: string
  readonly default: string
  /**
   * Check a value: its canonical form (two values with the same canonical form are the same
   * setting: `30s` and `30000ms`), or why it is refused.
   */
  readonly parse: (text: string) => Either.Either<string, string>
}

/**
 * How the host starts a sandbox.
 *
 * @since 0.1.0
 */
export interface SandboxOptions {
  /** 0 or absent: any free port. */
  readonly port?: number | undefined
  /** Seed of the generated data (the same seed, the same data). */
  readonly seed?: number | undefined
  /** Fault rules in the sandbox-kit text syntax (already checked with `Faults.parse`). */
  readonly faults: ReadonlyArray<string>
  /** Settings by name, already checked with their `parse`; absent ones take their default. */
  readonly settings: Readonly<Record<string, string>>
  /**
   * A file where the sandbox keeps its data after every request that changes it, and restores
   * it from when it exists (a resumed run meets the same data).
   */
  readonly stateFile?: string | undefined
  /**
   * Called when the sandbox could not keep its data (a full or read-only disk); the error is
   * sandbox-kit's `StateFileError`.
   */
  readonly onSaveFailure?: ((error: { readonly _tag: "StateFileError"; readonly message: string }) => Effect.Effect<void>) | undefined
}

/**
 * A started sandbox.
 *
 * @since 0.1.0
 */
export interface RunningSandbox<Config = any> {
  /** Where it listens (printed). */
  readonly url: string
  /** The configuration that points the plugin at it. */
  readonly config: Config
  /** What differs from its defaults, for the banner ("integration: never"). */
  readonly summary?: string | undefined
}

/**
 * What the catalogue says about a step: for `relais steps`, docs and JSON Schema generation.
 *
 * @since 0.1.0
 */
export interface StepInfo {
  readonly name: string
  readonly plugin: string
  readonly description: string
  readonly step: Step.Any
  readonly retry: string
  readonly compensation: string | undefined
  readonly reconciles: boolean
  readonly idempotent: boolean
}

/**
 * The registry of every step the host knows.
 *
 * @since 0.1.0
 */
export interface Registry {
  readonly plugins: ReadonlyArray<Plugin>
  /** The plugin with this name. */
  readonly plugin: (name: string) => Plugin | undefined
  /** The plugin a step name belongs to (by its namespace). */
  readonly pluginOf: (stepName: string) => Plugin | undefined
  /** Look a step up by its full name; an unknown name fails with suggestions. */
  readonly get: (name: string) => Effect.Effect<Step.Any, UnknownStep>
  /** Look a step up without failing. */
  readonly find: (name: string) => Step.Any | undefined
  /** Every step, sorted by name. */
  readonly steps: ReadonlyArray<StepInfo>
}

/**
 * @since 0.1.0
 * @category Tags
 */
export class PluginRegistry extends Context.Tag("@relais/core/Plugin/PluginRegistry")<PluginRegistry, Registry>() {}

/**
 * Build a registry from plugins, checking namespaces and duplicates.
 *
 * @since 0.1.0
 */
export const makeRegistry = (
  plugins: ReadonlyArray<Plugin>
): Effect.Effect<Registry, DuplicateStep | InvalidStepName | InvalidPlugin> =>
  Effect.gen(function*() {
    const byName = new Map<string, { readonly step: Step.Any; readonly plugin: string }>()
    const pluginNames = new Map<string, Plugin>()
    for (const plugin of plugins) {
      if (!isValidName(plugin.name)) {
        return yield* new InvalidPlugin({
          plugin: String(plugin.name),
          reason: "plugin names are lower case letters, digits and dashes, starting with a letter (e.g. \"esign\")"
        })
      }
      if (pluginNames.has(plugin.name)) {
        return yield* new InvalidPlugin({ plugin: plugin.name, reason: `the name "${plugin.name}" is already taken by another plugin` })
      }
      if (plugin.apiVersion !== undefined && Math.trunc(plugin.apiVersion) !== apiVersion) {
        return yield* new InvalidPlugin({
          plugin: plugin.name,
          reason: `it was built for version ${plugin.apiVersion} of the plugin API, and this @relais/core implements version ${apiVersion}; use a release of the plugin built for @relais/core with plugin API ${apiVersion}`
        })
      }
      pluginNames.set(plugin.name, plugin)
      for (const step of plugin.steps) {
        if (!Step.isValidName(step.name)) {
          return yield* new InvalidStepName({
            name: step.name,
            plugin: plugin.name,
            reason: "names look like \"provider/step-name\" (lower case, digits, dashes)"
          })
        }
        if (!step.name.startsWith(`${plugin.name}/`)) {
          return yield* new InvalidStepName({
            name: step.name,
            plugin: plugin.name,
            reason: `a plugin only registers steps under its own namespace "${plugin.name}/"`
          })
        }
        const existing = byName.get(step.name)
        if (existing) {
          return yield* new DuplicateStep({ name: step.name, plugins: [existing.plugin, plugin.name] })
        }
        byName.set(step.name, { step, plugin: plugin.name })
      }
    }
    const steps: ReadonlyArray<StepInfo> = [...byName.entries()]
      // Code-point order, not localeCompare: its first call loads ICU's collation data, tens of
      // milliseconds of every CLI command's start-up. Step names are lower-case ASCII anyway.
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, { plugin, step }]) => ({
        name,
        plugin,
        description: step.description,
        step,
        retry: RetryPolicy.describe(step.retry),
        compensation: step.compensation?.description,
        reconciles: step.reconcile !== undefined,
        idempotent: step.idempotent
      }))
    return {
      plugins,
      plugin: (name) => pluginNames.get(name),
      pluginOf: (stepName) => pluginNames.get(stepName.slice(0, Math.max(0, stepName.indexOf("/")))),
      steps,
      find: (name) => byName.get(name)?.step,
      get: (name) => {
        const entry = byName.get(name)
        return entry
          ? Effect.succeed(entry.step)
          : Effect.fail(new UnknownStep({ name, suggestions: Suggest.closest(name, byName.keys()) }))
      }
    }
  })

/**
 * A layer providing the registry of the given plugins.
 *
 * @since 0.1.0
 */
export const layer = (plugins: ReadonlyArray<Plugin>): Layer.Layer<PluginRegistry, DuplicateStep | InvalidStepName | InvalidPlugin> =>
  Layer.effect(PluginRegistry, makeRegistry(plugins))
