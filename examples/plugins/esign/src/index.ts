/**
 * `@cfa-example/relais-esign`: an e-signature plugin for relais. The convention, once created
 * in AIMAIRA, is sent for signature to the learner, the company and the school; the workflow
 * waits until every party has signed before it publishes the contract to Campus Skills.
 *
 * The default export is the plugin factory, which is what relais loads from a configuration
 * file:
 *
 * ```yaml
 * plugins:
 *   - ./plugins/esign/dist/index.js      # or the package name, @cfa-example/relais-esign
 * ```
 *
 * In code: `Plugin.layer([esign()])`, or `esign({ waitSigned: { pollInterval: "1 minute" } })`.
 *
 * @since 0.1.0
 */
import * as Plugin from "@relais/core/Plugin"
import * as Client from "./Client.js"
import * as EsignConfig from "./EsignConfig.js"
import * as Steps from "./Steps.js"

/** @since 0.1.0 */
export * as Api from "./Api.js"
/** @since 0.1.0 */
export * as Client from "./Client.js"
/** @since 0.1.0 */
export * as Errors from "./Errors.js"
/** @since 0.1.0 */
export * as EsignConfig from "./EsignConfig.js"
/** @since 0.1.0 */
export * as StepErrors from "./StepErrors.js"
/** @since 0.1.0 */
export * as Steps from "./Steps.js"

/**
 * Options of the plugin.
 *
 * @since 0.1.0
 */
export interface Options {
  /** How `esign/wait-signed` polls (default: every 5 minutes for 8 hours). */
  readonly waitSigned?: Steps.WaitOptions | undefined
}

/**
 * The plugin: the `esign/...` steps, the `esign:` configuration section, the client layer built
 * from it, and a sandbox loaded only when asked for (`--sandbox`, `relais sandbox`).
 *
 * @since 0.1.0
 */
export const esign = (options: Options = {}): Plugin.Plugin<EsignConfig.EsignConfig> =>
  Plugin.make<EsignConfig.EsignConfig>({
    name: "esign",
    label: "E-signature",
    description: "Electronic signature of documents (envelopes, signers, their status): send a convention for " +
      "signature to the learner, the company and the school, and wait until every party has signed.",
    steps: [
      Steps.sendForSignature,
      options.waitSigned === undefined ? Steps.waitSigned : Steps.makeWaitSigned(options.waitSigned),
      Steps.getEnvelope
    ],
    config: EsignConfig.EsignConfig,
    layer: Client.layer,
    endpoint: (config) => config.url,
    sandbox: () => import("./Sandbox.js").then((module) => module.sandbox)
  })

export default esign
