/**
 * `@relais/aimaira`: a typed client for the AIMAIRA GraphV1 OData API, the AIMAIRA steps and
 * the plugin that registers them. The simulator is `@relais/aimaira/sandbox`.
 *
 * @since 0.1.0
 */
export * as AimairaClient from "./AimairaClient.js"
export * as AimairaConfig from "./AimairaConfig.js"
export * as AimairaPlugin from "./AimairaPlugin.js"
export * as BillingSteps from "./BillingSteps.js"
export * as ConventionSteps from "./ConventionSteps.js"
export * as Entities from "./Entities.js"
export * as Errors from "./Errors.js"
export * as ExportSteps from "./ExportSteps.js"
export * as Ids from "./Ids.js"
export * as LearnerSteps from "./LearnerSteps.js"
export * as ObjectSteps from "./ObjectSteps.js"
export * as ParisDate from "./ParisDate.js"
export * as Query from "./Query.js"
export * as StepErrors from "./StepErrors.js"
export * as Webhook from "./Webhook.js"
