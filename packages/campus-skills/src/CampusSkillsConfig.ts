/**
 * The configuration of the Campus Skills plugin, described once by {@link Options}: the
 * `campusSkills` section of a profile in `relais.config.yaml`, or the `CAMPUS_SKILLS_*`
 * environment variables (names derived by `PluginConfig.envName` of `@relais/core`), decoded
 * by the same schema, so `timeout: 30s` in a profile and `CAMPUS_SKILLS_TIMEOUT=30s` pass or
 * fail the same check:
 *
 * - `url` (`CAMPUS_SKILLS_URL`): the application's base URL, e.g. `https://app.campus-skills.com`
 *   or a white-label URL. Required: nothing defaults silently to production. HTTPS, except on
 *   loopback hosts (127.0.0.1, localhost, ::1) for the sandbox.
 * - `token` (`CAMPUS_SKILLS_TOKEN`): the bearer token, kept `Redacted`.
 * - `timeout` (`CAMPUS_SKILLS_TIMEOUT`, optional): per-request timeout, e.g. `30s` (default 30 s).
 * - `maxResponseBytes` (`CAMPUS_SKILLS_MAX_RESPONSE_BYTES`, optional): the largest answer the
 *   client reads (default 16 MiB, `HttpBody.defaultMaxBytes` of `@relais/core`).
 * - `sandbox` (`CAMPUS_SKILLS_SANDBOX`, optional): the target is a Campus Skills sandbox (the
 *   vendor's, or relais' own, whose configuration sets it): allows `campus-skills/reset-sync`.
 *
 * @since 0.1.0
 */
import { ProviderKit } from "@relais/core"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { InvalidConfiguration } from "./Errors.js"

/**
 * How the base URL is checked and named in messages.
 *
 * @since 0.1.0
 */
export const urlOptions: ProviderKit.BaseUrlOptions = { service: "Campus Skills", example: "https://app.campus-skills.com" }

/**
 * What the plugin's section holds, and what the client needs. Decoded from the profile's
 * section or the environment (`url` without a trailing slash, `token` `Redacted`, `timeout` a
 * `Duration`); built by hand in code and tests (checked again by {@link validate}).
 *
 * @since 0.1.0
 */
export const Options = Schema.Struct({
  url: Schema.propertySignature(ProviderKit.BaseUrl(urlOptions)).annotations({
    description: "the Campus Skills application's base URL, e.g. https://app.campus-skills.com (HTTPS)",
    missingMessage: () => "missing url (e.g. https://app.campus-skills.com)"
  }),
  token: Schema.propertySignature(ProviderKit.Secret).annotations({
    description: "the bearer token of the sync API",
    missingMessage: () => "missing token"
  }),
  timeout: Schema.optionalWith(ProviderKit.DurationText, { exact: true }).annotations({
    description: "per-request timeout, covering the connection and the body, e.g. 30s (default 30s)"
  }),
  maxResponseBytes: Schema.optionalWith(ProviderKit.MaxResponseBytes, { exact: true }).annotations({
    description: "the largest answer the client reads, in bytes (default 16 MiB)"
  }),
  sandbox: Schema.optionalWith(Schema.Boolean, { exact: true }).annotations({
    description: "the target is a Campus Skills sandbox: allows campus-skills/reset-sync (default false)"
  })
})

/**
 * @since 0.1.0
 */
export interface Options extends Schema.Schema.Type<typeof Options> {}

/**
 * The section as written in a profile (plain JSON).
 *
 * @since 0.1.0
 */
export interface Encoded extends Schema.Schema.Encoded<typeof Options> {}

/**
 * The default per-request timeout.
 *
 * @since 0.1.0
 */
export const defaultTimeout: Duration.Duration = Duration.seconds(30)

/**
 * Checks a base URL (`ProviderKit.checkBaseUrl`): answers it without a trailing slash.
 *
 * @since 0.1.0
 */
export const checkUrl = (input: string): Either.Either<string, InvalidConfiguration> =>
  Either.mapLeft(ProviderKit.checkBaseUrl(input, urlOptions), (reason) => new InvalidConfiguration({ field: "url", reason }))

const validateType = ProviderKit.validateConfig(Options)

/**
 * Checks options built in code with the same rules as the schema, before a client is built:
 * the first problem, at its field. Answers the options with the URL in its normal form.
 *
 * @since 0.1.0
 */
export const validate = (options: Options): Either.Either<Options, InvalidConfiguration> =>
  Either.flatMap(
    Either.mapLeft(validateType(options), (problem) => new InvalidConfiguration(problem)),
    (checked) => Either.map(checkUrl(checked.url), (url) => ({ ...checked, url }))
  )
