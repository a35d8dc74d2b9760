/**
 * The Campus Skills plugin of relais: a factory `(options) => Plugin` with the
 * `campus-skills/...` steps and everything a host needs to run them, through `@relais/core`'s
 * plugin contract: the configuration section (`CampusSkillsConfig.Options`, read from a
 * profile's `campusSkills` section or `CAMPUS_SKILLS_*` variables), the client layer (which
 * registers the token with core's `Redactor`), the endpoint for banners, and the sandbox,
 * loaded only when asked for.
 *
 * @example
 * ```ts
 * const plugin = CampusSkillsPlugin.make()
 * const config = Either.getOrThrow(PluginConfig.decode(plugin.config!, { url: "https://app.campus-skills.com", token: "…" }))
 * const services = CampusSkillsPlugin.layer(config).pipe(
 *   Layer.provide(NodeHttpClient.layerUndici),
 *   Layer.provideMerge(Redactor.layer)
 * )
 * ```
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { Plugin, Redactor } from "@relais/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as CampusSkillsClient from "./CampusSkillsClient.js"
import * as CampusSkillsConfig from "./CampusSkillsConfig.js"
import type * as Errors from "./Errors.js"
import * as Mapping from "./Mapping.js"
import * as Steps from "./Steps.js"

/**
 * Options of the plugin.
 *
 * @since 0.1.0
 */
export interface Options {
  /**
   * Allow `campus-skills/reset-sync` whatever the configuration says (for code that drives a
   * sandbox directly). Hosts do not need it: the configuration says whether the target is a
   * sandbox (`sandbox: true`, which the plugin's own sandbox sets).
   */
  readonly sandbox?: boolean | undefined
  /** Polling parameters of `campus-skills/wait-integrated` (default: every 5 s for 5 minutes). */
  readonly waitIntegrated?: Steps.WaitOptions | undefined
}

/**
 * The plugin's name: the namespace of its steps.
 *
 * @since 0.1.0
 */
export const name = "campus-skills"

/**
 * What people read in banners, reports and errors.
 *
 * @since 0.1.0
 */
export const label = "Campus Skills"

/**
 * The client from a configuration, with the token registered with the `Redactor` in context
 * first.
 *
 * @since 0.1.0
 */
export const layer = (
  config: CampusSkillsConfig.Options
): Layer.Layer<CampusSkillsClient.CampusSkillsClient, Errors.InvalidConfiguration, HttpClient.HttpClient | Redactor.Redactor> =>
  Layer.effect(
    CampusSkillsClient.CampusSkillsClient,
    Effect.zipRight(Redactor.register(config.token), CampusSkillsClient.make(config))
  )

/**
 * The plugin: every `campus-skills/...` step (they need `CampusSkillsClient`), its
 * configuration, client layer, endpoint and sandbox.
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Plugin.Plugin<CampusSkillsConfig.Options> =>
  Plugin.make({
    name,
    label,
    description: "Campus Skills (Ypareo Skills) sync API: contracts, snapshot and change syncs, integration, " +
      "and the mapping from an AIMAIRA convention.",
    steps: [
      Steps.testToken,
      Steps.diff,
      Steps.syncSnapshot,
      Steps.sendChanges,
      Steps.listIntegrated,
      Steps.listTransmitted,
      options.waitIntegrated === undefined ? Steps.waitIntegrated : Steps.makeWaitIntegrated(options.waitIntegrated),
      options.sandbox === true ? Steps.makeResetSync({ sandbox: true }) : Steps.resetSync,
      Mapping.mapConvention,
      Mapping.mapConventions
    ],
    config: CampusSkillsConfig.Options,
    layer,
    endpoint: (config) => config.url,
    sandbox: () => import("./sandbox/index.js").then((module) => module.CampusSkillsSandbox.pluginSandbox)
  })
