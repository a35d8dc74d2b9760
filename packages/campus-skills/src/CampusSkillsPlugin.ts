/**
 * The Campus Skills plugin of relais: a factory `(options) => Plugin` registering the
 * `campus-skills/...` steps, and the client layers that also register the token with core's
 * `Redactor`, so that the run store masks it wherever it would appear.
 *
 * @example
 * ```ts
 * const plugin = CampusSkillsPlugin.make({ sandbox: true })
 * const services = CampusSkillsPlugin.layerConfig().pipe(
 *   Layer.provide(NodeHttpClient.layerUndici),
 *   Layer.provideMerge(Redactor.layer)
 * )
 * ```
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { Plugin, Redactor } from "@relais/core"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as CampusSkillsConfig from "./CampusSkillsConfig.js"
import * as Client from "./Client.js"
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
   * The configured target is a Campus Skills sandbox: enables `campus-skills/reset-sync`, which
   * the vendor reserves for the sandbox (refused otherwise, before anything is sent).
   */
  readonly sandbox?: boolean | undefined
  /** Polling parameters of `campus-skills/wait-integrated` (default: every 5 s for 5 minutes). */
  readonly waitIntegrated?: Steps.WaitOptions | undefined
}

/**
 * The plugin: every `campus-skills/...` step. Its steps need `Client.CampusSkillsClient`.
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Plugin.Plugin =>
  Plugin.make({
    name: "campus-skills",
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
    ]
  })

/**
 * The client from explicit options, with its token registered with the `Redactor` in context.
 *
 * @since 0.1.0
 */
export const layer = (
  options: CampusSkillsConfig.Options
): Layer.Layer<Client.CampusSkillsClient, Errors.InvalidConfiguration, HttpClient.HttpClient | Redactor.Redactor> =>
  Layer.effect(
    Client.CampusSkillsClient,
    Effect.zipRight(Redactor.register(options.token), Client.make(options))
  )

/**
 * The client from `Config` (by default `CAMPUS_SKILLS_URL`, `CAMPUS_SKILLS_TOKEN`,
 * `CAMPUS_SKILLS_TIMEOUT`), with its token registered with the `Redactor` in context.
 *
 * @since 0.1.0
 */
export const layerConfig = (
  config: Config.Config<CampusSkillsConfig.Options> = CampusSkillsConfig.config
): Layer.Layer<
  Client.CampusSkillsClient,
  Errors.InvalidConfiguration | ConfigError.ConfigError,
  HttpClient.HttpClient | Redactor.Redactor
> =>
  Layer.effect(
    Client.CampusSkillsClient,
    Effect.flatMap(config, (options) => Effect.zipRight(Redactor.register(options.token), Client.make(options)))
  )
