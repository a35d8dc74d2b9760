/**
 * The Campus Skills provider of relais: the typed sync API client and the contract schemas.
 * The sandbox is a separate entry: `@relais/campus-skills/sandbox`.
 *
 * @since 0.1.0
 */
export * as CampusSkillsConfig from "./CampusSkillsConfig.js"
export * as Client from "./Client.js"
export * as Contract from "./Contract.js"
export * as Errors from "./Errors.js"
