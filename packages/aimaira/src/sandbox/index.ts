/**
 * `@relais/aimaira/sandbox`: the AIMAIRA GraphV1 simulator.
 *
 * @since 0.1.0
 */
export * as AimairaSandbox from "./AimairaSandbox.js"
