/**
 * Plugins: how a provider contributes steps. In the spirit of Rollup and Vite, a plugin is a
 * plain object with a `name`, usually returned by a factory taking the provider's options; the
 * host (the engine, the runner) owns the lifecycle and never reaches into a plugin's internals.
 *
 * Steps are registered under `provider/step-name`; the registry refuses names outside the
 * plugin's namespace and duplicate registrations, and answers unknown names with suggestions.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import { DuplicateStep, InvalidStepName, UnknownStep } from "./Errors.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as Step from "./Step.js"
import * as Suggest from "./Suggest.js"

/**
 * A provider plugin.
 *
 * @since 0.1.0
 */
export interface Plugin {
  /** The namespace of the plugin's steps: `aimaira` registers `aimaira/...`. */
  readonly name: string
  readonly description: string
  readonly steps: ReadonlyArray<Step.Any>
}

/**
 * Define a plugin.
 *
 * @since 0.1.0
 */
export const make = (plugin: Plugin): Plugin => plugin

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
): Effect.Effect<Registry, DuplicateStep | InvalidStepName> =>
  Effect.gen(function*() {
    const byName = new Map<string, { readonly step: Step.Any; readonly plugin: string }>()
    const pluginNames = new Set<string>()
    for (const plugin of plugins) {
      if (pluginNames.has(plugin.name)) {
        const first = plugin.steps[0]?.name ?? `${plugin.name}/*`
        return yield* new DuplicateStep({ name: first, plugins: [plugin.name, plugin.name] })
      }
      pluginNames.add(plugin.name)
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
export const layer = (plugins: ReadonlyArray<Plugin>): Layer.Layer<PluginRegistry, DuplicateStep | InvalidStepName> =>
  Layer.effect(PluginRegistry, makeRegistry(plugins))
