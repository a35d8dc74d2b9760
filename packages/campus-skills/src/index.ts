/**
 * The Campus Skills provider of relais: the typed sync API client, the contract schemas, the
 * mapping from an AIMAIRA convention, the steps and the plugin.
 * The sandbox is a separate entry: `@relais/campus-skills/sandbox`.
 *
 * @since 0.1.0
 */
export * as CampusSkillsClient from "./CampusSkillsClient.js"
export * as CampusSkillsConfig from "./CampusSkillsConfig.js"
export * as CampusSkillsPlugin from "./CampusSkillsPlugin.js"
export * as Contract from "./Contract.js"
export * as Errors from "./Errors.js"
export * as Mapping from "./Mapping.js"
export * as StepErrors from "./StepErrors.js"
export * as Steps from "./Steps.js"
