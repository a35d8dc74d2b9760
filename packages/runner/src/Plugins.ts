/**
 * The provider plugins the `relais` application knows: the single list every command's
 * `PluginRegistry` is built from. Everything else in the runner works from
 * `Plugin.PluginRegistry`, so adding a provider is one line here.
 *
 * @since 0.1.0
 */
import type { Errors } from "@relais/core"
import { AimairaPlugin } from "@relais/aimaira"
import { CampusSkillsPlugin } from "@relais/campus-skills"
import { Plugin } from "@relais/core"
import type { Layer } from "effect"

/**
 * What a plugin factory may need to know about the run.
 *
 * @since 0.1.0
 */
export interface Options {
  /** True for `--sandbox` (the clients point at the in-process simulators). */
  readonly sandbox: boolean
}

/**
 * The plugins, in registration order.
 *
 * @since 0.1.0
 */
export const plugins = (options: Options): ReadonlyArray<Plugin.Plugin> => [
  AimairaPlugin.make(),
  CampusSkillsPlugin.make({ sandbox: options.sandbox })
]

/**
 * The registry of the plugins. A plugin that registers a bad or duplicate name fails here, at
 * start-up, with a message naming it.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (
  options: Options
): Layer.Layer<Plugin.PluginRegistry, Errors.DuplicateStep | Errors.InvalidStepName> =>
  Plugin.layer(plugins(options))
