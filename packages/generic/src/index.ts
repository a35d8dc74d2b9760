/**
 * @relais/generic: the built-in generic steps of relais, as two plugins written on the public
 * plugin contract of `@relais/core`: `core` (`core/set`, `core/fail`, `core/sleep`) and `http`
 * (`http/request` to the connections a profile declares).
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as CorePlugin from "./CorePlugin.js"
/** @since 0.1.0 */
export * as CoreSteps from "./CoreSteps.js"
/** @since 0.1.0 */
export * as Durations from "./Durations.js"
/** @since 0.1.0 */
export * as HttpConfig from "./HttpConfig.js"
/** @since 0.1.0 */
export * as HttpConnections from "./HttpConnections.js"
/** @since 0.1.0 */
export * as HttpErrors from "./HttpErrors.js"
/** @since 0.1.0 */
export * as HttpPath from "./HttpPath.js"
/** @since 0.1.0 */
export * as HttpPlugin from "./HttpPlugin.js"
/** @since 0.1.0 */
export * as HttpSteps from "./HttpSteps.js"
/** @since 0.1.0 */
export * as JsonSchemaFragment from "./JsonSchemaFragment.js"
