/**
 * The built-in plugins of the `relais` application: the one file of the runner that names them.
 * Everything else works from `Plugin.PluginRegistry` (steps, configuration, sandboxes, labels),
 * and outside plugins come in through `plugins:` in `relais.config.yaml` (`Loader.ts`) exactly
 * like these. Adding a built-in is one entry in {@link builtins}.
 *
 * @since 0.1.0
 */
import { AimairaPlugin } from "@relais/aimaira"
import { CampusSkillsPlugin } from "@relais/campus-skills"
import { CorePlugin, HttpPlugin } from "@relais/generic"
import type { Errors } from "@relais/core"
import { Plugin } from "@relais/core"
import type { Layer } from "effect"

/**
 * What a plugin factory may need to know about the run (none of the built-ins reads it now:
 * whether a target is a sandbox is said by the configuration the plugin's sandbox returns).
 *
 * @since 0.1.0
 */
export interface Options {
  /** True for `--sandbox` (the clients point at the in-process simulators). */
  readonly sandbox: boolean
}

/**
 * A built-in plugin: on by default; listing its name under `plugins:` passes it options.
 *
 * @since 0.1.0
 */
export interface Builtin {
  readonly name: string
  /** The plugin, from the `options` map of its `plugins:` entry (`{}` when it has none). */
  readonly make: (options: Readonly<Record<string, unknown>>, context: Options) => Plugin.Plugin
}

/**
 * The built-in plugins, in registration order.
 *
 * @since 0.1.0
 */
export const builtins: ReadonlyArray<Builtin> = [
  { name: "aimaira", make: (options) => AimairaPlugin.make(options as AimairaPlugin.Options) },
  { name: "campus-skills", make: (options) => CampusSkillsPlugin.make(options as CampusSkillsPlugin.Options) },
  { name: "core", make: () => CorePlugin.make() },
  { name: "http", make: () => HttpPlugin.make() }
]

/**
 * The built-in plugins with their default options.
 *
 * @since 0.1.0
 */
export const plugins = (options: Options): ReadonlyArray<Plugin.Plugin> => builtins.map((builtin) => builtin.make({}, options))

/**
 * The registry of the built-in plugins alone (tests and tools that load no configuration file;
 * the commands use `Loader.registry`, which adds the plugins of `plugins:`).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (
  options: Options
): Layer.Layer<Plugin.PluginRegistry, Errors.DuplicateStep | Errors.InvalidStepName | Errors.InvalidPlugin> =>
  Plugin.layer(plugins(options))
