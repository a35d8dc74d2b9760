/**
 * `@relais/aimaira`: a typed client for the AIMAIRA GraphV1 OData API. The simulator is
 * `@relais/aimaira/sandbox`.
 *
 * @since 0.1.0
 */
export * as AimairaClient from "./AimairaClient.js"
export * as AimairaConfig from "./AimairaConfig.js"
export * as Entities from "./Entities.js"
export * as Errors from "./Errors.js"
export * as Ids from "./Ids.js"
export * as ParisDate from "./ParisDate.js"
export * as Query from "./Query.js"
