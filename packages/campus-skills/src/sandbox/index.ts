/**
 * The Campus Skills sandbox: `@relais/campus-skills/sandbox`.
 *
 * @since 0.1.0
 */
export * as CampusSkillsSandbox from "./CampusSkillsSandbox.js"
