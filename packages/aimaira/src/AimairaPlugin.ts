/**
 * The AIMAIRA plugin of relais: a factory `(options) => Plugin` with every AIMAIRA step under
 * the `aimaira/` namespace and everything a host needs to run them, through `@relais/core`'s
 * plugin contract: the configuration section (`AimairaConfig.Options`, read from a profile's
 * `aimaira` section or `AIMAIRA_*` variables), the client layer (which registers every form of
 * the credentials with core's `Redactor`, so that the run store, events and logs mask them),
 * the endpoint for banners, the sandbox, loaded only when asked for, and the webhook trigger
 * (`triggers: - aimaira: { objectTypes: [...] }`, see `Webhook`).
 *
 * ```ts
 * const plugin = AimairaPlugin.make()
 * const registry = Plugin.layer([plugin])
 * const client = AimairaPlugin.layer(config) // AimairaClient, secrets registered
 * ```
 *
 * The steps require the `AimairaClient` service; the host (the runner, a test) provides it
 * once, at the edge.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { Plugin, Redactor, type RetryPolicy, Step } from "@relais/core"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as AimairaClient from "./AimairaClient.js"
import * as AimairaConfig from "./AimairaConfig.js"
import * as BillingSteps from "./BillingSteps.js"
import * as ConventionSteps from "./ConventionSteps.js"
import type * as Errors from "./Errors.js"
import * as ExportSteps from "./ExportSteps.js"
import * as LearnerSteps from "./LearnerSteps.js"
import * as ObjectSteps from "./ObjectSteps.js"
import * as Webhook from "./Webhook.js"

/**
 * Every AIMAIRA step, with its default policy.
 *
 * @since 0.1.0
 */
export const steps: ReadonlyArray<Step.Any> = [
  ...LearnerSteps.steps,
  ...ConventionSteps.steps,
  ...BillingSteps.steps,
  ...ExportSteps.steps,
  ...ObjectSteps.steps
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
 * The plugin's name: the namespace of its steps.
 *
 * @since 0.1.0
 */
export const name = "aimaira"

/**
 * What people read in banners, reports and errors.
 *
 * @since 0.1.0
 */
export const label = "AIMAIRA"

/**
 * The client from a configuration, every form of its credentials (the password, the Basic
 * credential, or the API key) registered with the `Redactor` in context first.
 *
 * @since 0.1.0
 */
export const layer = (
  config: AimairaConfig.Options
): Layer.Layer<AimairaClient.AimairaClient, Errors.InvalidConfiguration, HttpClient.HttpClient | Redactor.Redactor> =>
  Layer.effect(
    AimairaClient.AimairaClient,
    Effect.zipRight(Redactor.register(...AimairaConfig.secretsOf(config.auth)), AimairaClient.make(config))
  )

/**
 * The plugin: every `aimaira/...` step (they need `AimairaClient`), its configuration, client
 * layer, endpoint (the API root) and sandbox.
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Plugin.Plugin<AimairaConfig.Options> =>
  Plugin.make({
    name,
    label,
    description:
      "AIMAIRA ERP (GraphV1 OData API): learners, inscriptions and parcours, conventions, companies, funding bodies, pay, " +
      "billing, and convention aggregates for other systems",
    steps: steps.map((step) =>
      Step.withOptions(step, {
        retry: isRead(step) ? options.readRetry : options.writeRetry,
        timeout: options.timeout
      })
    ),
    config: AimairaConfig.Options,
    layer,
    endpoint: (config) => config.url,
    sandbox: () => import("./sandbox/index.js").then((module) => module.AimairaSandbox.pluginSandbox),
    trigger: Webhook.trigger
  })
