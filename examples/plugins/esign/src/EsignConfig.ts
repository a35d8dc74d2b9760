/**
 * The plugin's configuration section: what a profile of `relais.config.yaml` holds under
 * `esign:`, or the environment variables `ESIGN_URL`, `ESIGN_TOKEN`, `ESIGN_TIMEOUT`,
 * `ESIGN_MAX_RESPONSE_BYTES` (relais derives both names from the plugin's name).
 *
 * ```yaml
 * profiles:
 *   preprod:
 *     esign:
 *       url: https://api.esign.example
 *       token: { env: ESIGN_TOKEN }
 *       timeout: 30s
 * ```
 *
 * Built from `@relais/core/ProviderKit`, the pieces every HTTP provider shares. One schema does
 * everything: relais decodes the section with it (every problem reported at its
 * path, a secret never quoted), shows its fields in `relais config`, derives the configuration
 * file's JSON Schema from its encoded side, and registers the `Redacted` token with its
 * redactor before anything can print it.
 *
 * @since 0.1.0
 */
import * as ProviderKit from "@relais/core/ProviderKit"
import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"

/**
 * How the base URL is checked: `ProviderKit`'s rule for every HTTP provider (absolute,
 * `https:`, plain `http:` only on a loopback host for the sandbox, no credentials, query or
 * fragment), worded for this service.
 *
 * @since 0.1.0
 */
export const urlOptions: ProviderKit.BaseUrlOptions = {
  service: "the e-signature service",
  example: "https://api.esign.example"
}

/**
 * The `esign:` section of a profile.
 *
 * @since 0.1.0
 */
// `exact` optional fields (absent, never `undefined`): a plain `Schema.optional` is a union with
// `undefined`, and a wrong value is then reported as "Expected undefined, actual ..." instead of
// with the field's own message.
export const EsignConfig = Schema.Struct({
  url: ProviderKit.BaseUrl(urlOptions),
  token: ProviderKit.Secret.annotations({
    description: "the bearer token of the service's API (a secret: write { env: NAME } or { file: path })"
  }),
  timeout: Schema.optionalWith(ProviderKit.DurationText.annotations({ description: "per-request timeout (default 30s)" }), {
    exact: true
  }),
  maxResponseBytes: Schema.optionalWith(ProviderKit.MaxResponseBytes, { exact: true })
})

/**
 * The decoded section: what the client layer is built from.
 *
 * @since 0.1.0
 */
export type EsignConfig = typeof EsignConfig.Type

/**
 * The default per-request timeout.
 *
 * @since 0.1.0
 */
export const defaultTimeout: Duration.Duration = Duration.seconds(30)
