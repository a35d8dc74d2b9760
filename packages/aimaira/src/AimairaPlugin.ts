/**
 * The AIMAIRA plugin of relais: every AIMAIRA step under the `aimaira/` namespace, and the
 * client layers that register the credentials with core's `Redactor`, so that the run store,
 * events and logs mask them.
 *
 * ```ts
 * const registry = Plugin.layer([AimairaPlugin.make()])
 * const client = AimairaPlugin.layerClientConfig() // AimairaClient, secrets registered
 * ```
 *
 * The steps require the `AimairaClient` service; the host (the runner, a test) provides it
 * once, at the edge.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { Plugin, Redactor, type RetryPolicy, Step } from "@relais/core"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { Buffer } from "node:buffer"
import * as AimairaClient from "./AimairaClient.js"
import * as AimairaConfig from "./AimairaConfig.js"
import * as BillingSteps from "./BillingSteps.js"
import * as ConventionSteps from "./ConventionSteps.js"
import type * as Errors from "./Errors.js"
import * as ExportSteps from "./ExportSteps.js"
import * as LearnerSteps from "./LearnerSteps.js"

/**
 * Every AIMAIRA step, with its default policy.
 *
 * @since 0.1.0
 */
export const steps: ReadonlyArray<Step.Any> = [
  ...LearnerSteps.steps,
  ...ConventionSteps.steps,
  ...BillingSteps.steps,
  ...ExportSteps.steps
]

/**
 * Options of the plugin: policies that replace the steps' defaults.
 *
 * @since 0.1.0
 */
export interface Options {
  /** The retry policy of every read (`list-*`, `get-*`). */
  readonly readRetry?: RetryPolicy.RetryPolicy | undefined
  /** The retry policy of every write (creates, updates, enrolment, SynchronisationAffaire). */
  readonly writeRetry?: RetryPolicy.RetryPolicy | undefined
  /** The time one attempt of any step may take. */
  readonly timeout?: Duration.DurationInput | undefined
}

const isRead = (step: Step.Any) => step.name.startsWith("aimaira/list-") || step.name.startsWith("aimaira/get-")

/**
 * The plugin: a plain object with the `aimaira` name and its steps.
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Plugin.Plugin =>
  Plugin.make({
    name: "aimaira",
    description:
      "AIMAIRA ERP (GraphV1 OData API): learners, inscriptions and parcours, conventions, companies, funding bodies, pay, " +
      "billing, and convention aggregates for other systems",
    steps: steps.map((step) =>
      Step.withOptions(step, {
        retry: isRead(step) ? options.readRetry : options.writeRetry,
        timeout: options.timeout
      })
    )
  })

/**
 * The secret values of a configuration, in every form they can take on the wire: the password
 * and the Basic credential (`base64(user:password)`), or the API key.
 *
 * @since 0.1.0
 */
export const secretsOf = (auth: AimairaConfig.Auth): ReadonlyArray<Redacted.Redacted<string>> =>
  auth._tag === "Basic"
    ? [
      auth.password,
      Redacted.make(Buffer.from(`${auth.username}:${Redacted.value(auth.password)}`, "utf8").toString("base64").replace(/=+$/, ""))
    ]
    : [auth.apiKey]

/**
 * Registers the credentials with the `Redactor` in context.
 *
 * @since 0.1.0
 */
export const registerSecrets = (auth: AimairaConfig.Auth): Effect.Effect<void, never, Redactor.Redactor> =>
  Redactor.register(...secretsOf(auth))

/**
 * A layer that only registers the credentials, for hosts that build the client themselves.
 *
 * @since 0.1.0
 */
export const layerSecrets = (auth: AimairaConfig.Auth): Layer.Layer<never, never, Redactor.Redactor> =>
  Layer.effectDiscard(registerSecrets(auth))

/**
 * The client from options, its credentials registered with the `Redactor` first.
 *
 * @since 0.1.0
 */
export const layerClient = (
  options: AimairaConfig.Options
): Layer.Layer<AimairaClient.AimairaClient, Errors.AimairaConfigError, HttpClient.HttpClient | Redactor.Redactor> =>
  Layer.effect(AimairaClient.AimairaClient, Effect.zipRight(registerSecrets(options.auth), AimairaClient.make(options)))

/**
 * The client from `Config` (`AIMAIRA_URL`, `AIMAIRA_USERNAME` / `AIMAIRA_PASSWORD` or
 * `AIMAIRA_API_KEY` by default; `AimairaConfig.config("AIMAIRA_PREPROD")` for a profile), its
 * credentials registered with the `Redactor` first.
 *
 * @since 0.1.0
 */
export const layerClientConfig = (
  config: Config.Config<AimairaConfig.Options> = AimairaConfig.config()
): Layer.Layer<
  AimairaClient.AimairaClient,
  Errors.AimairaConfigError | ConfigError.ConfigError,
  HttpClient.HttpClient | Redactor.Redactor
> =>
  Layer.effect(
    AimairaClient.AimairaClient,
    Effect.flatMap(config, (options) => Effect.zipRight(registerSecrets(options.auth), AimairaClient.make(options)))
  )
