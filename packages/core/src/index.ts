/**
 * @relais/core: typed workflow steps with retries, timeouts and compensation, a durable
 * engine, run history, and the plugin model for providers.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Engine from "./Engine.js"
/** @since 0.1.0 */
export * as Errors from "./Errors.js"
/** @since 0.1.0 */
export * as HttpBody from "./HttpBody.js"
/** @since 0.1.0 */
export * as Plugin from "./Plugin.js"
/** @since 0.1.0 */
export * as PluginConfig from "./PluginConfig.js"
/** @since 0.1.0 */
export * as ProviderKit from "./ProviderKit.js"
/** @since 0.1.0 */
export * as Redactor from "./Redactor.js"
/** @since 0.1.0 */
export * as RetryPolicy from "./RetryPolicy.js"
/** @since 0.1.0 */
export * as Run from "./Run.js"
/** @since 0.1.0 */
export * as RunStore from "./RunStore.js"
/** @since 0.1.0 */
export * as Step from "./Step.js"
/** @since 0.1.0 */
export * as Suggest from "./Suggest.js"
/** @since 0.1.0 */
export * as Workflow from "./Workflow.js"
