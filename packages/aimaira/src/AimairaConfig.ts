/**
 * The configuration of the AIMAIRA plugin, described once by {@link Options}: the `aimaira`
 * section of a profile in `relais.config.yaml`, or the `AIMAIRA_*` environment variables
 * (names derived by `PluginConfig.envName` of `@relais/core`), decoded by the same schema:
 *
 * - `url` (`AIMAIRA_URL`): the API root, e.g. `https://myapi.aimaira.net/GraphV1` (a bare
 *   origin gets `/GraphV1`). HTTPS; plain HTTP only on loopback hosts (the sandbox).
 * - `username` + `password` (`AIMAIRA_USERNAME`, `AIMAIRA_PASSWORD`): HTTP Basic, or
 * - `apiKey` (`AIMAIRA_API_KEY`): the `X-ApiKey` header. Exactly one of the two forms.
 * - `maxResponseBytes` (`AIMAIRA_MAX_RESPONSE_BYTES`, optional): the largest answer the client
 *   reads (default 16 MiB, `HttpBody.defaultMaxBytes` of `@relais/core`).
 *
 * Each school has a pre-production and a production instance: one profile each.
 *
 * @since 0.1.0
 */
import { ProviderKit } from "@relais/core"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { InvalidConfiguration } from "./Errors.js"

/**
 * How the API root is checked and named in messages.
 *
 * @since 0.1.0
 */
export const urlOptions: ProviderKit.BaseUrlOptions = {
  service: "AIMAIRA",
  example: "https://myapi.aimaira.net/GraphV1",
  defaultPath: "/GraphV1"
}

const SecretValue = Schema.RedactedFromSelf(ProviderKit.NonEmptyText)

/**
 * HTTP Basic: user name and password (`Authorization: Basic …`).
 *
 * @since 0.1.0
 */
export const BasicAuth = Schema.Struct({ _tag: Schema.Literal("Basic"), username: ProviderKit.NonEmptyText, password: SecretValue })

/**
 * @since 0.1.0
 */
export interface BasicAuth extends Schema.Schema.Type<typeof BasicAuth> {}

/**
 * An API key sent in the `X-ApiKey` header.
 *
 * @since 0.1.0
 */
export const ApiKeyAuth = Schema.Struct({ _tag: Schema.Literal("ApiKey"), apiKey: SecretValue })

/**
 * @since 0.1.0
 */
export interface ApiKeyAuth extends Schema.Schema.Type<typeof ApiKeyAuth> {}

/**
 * The credentials, in one of the two forms AIMAIRA accepts.
 *
 * @since 0.1.0
 */
export const Auth = Schema.Union(BasicAuth, ApiKeyAuth)

/** @since 0.1.0 */
export type Auth = BasicAuth | ApiKeyAuth

const redacted = (value: string | Redacted.Redacted<string>): Redacted.Redacted<string> =>
  Redacted.isRedacted(value) ? value : Redacted.make(value)

/** @since 0.1.0 */
export const basic = (username: string, password: string | Redacted.Redacted<string>): Auth => ({
  _tag: "Basic",
  username,
  password: redacted(password)
})

/** @since 0.1.0 */
export const apiKey = (key: string | Redacted.Redacted<string>): Auth => ({ _tag: "ApiKey", apiKey: redacted(key) })

/**
 * The secrets of credentials in every form they take on the wire, to register with the
 * `Redactor` and to scrub from server messages: the password, `user:password` and its base64
 * (the Basic header), or the API key.
 *
 * @since 0.1.0
 */
export const secretsOf = (auth: Auth): ReadonlyArray<Redacted.Redacted<string>> =>
  auth._tag === "Basic" ? ProviderKit.basicCredentialSecrets(auth.username, auth.password) : [auth.apiKey]

/**
 * The section as a profile writes it: flat, with the two credential forms side by side.
 */
const Section = Schema.Struct({
  url: Schema.propertySignature(ProviderKit.BaseUrl(urlOptions)).annotations({
    description: "the API root, e.g. https://myapi.aimaira.net/GraphV1 (a bare origin gets /GraphV1; HTTPS)",
    missingMessage: () => "missing url (the API root, e.g. https://myapi.aimaira.net/GraphV1)"
  }),
  username: Schema.optionalWith(ProviderKit.NonEmptyText, { exact: true }).annotations({
    description: "the API user (HTTP Basic), with password; or use apiKey"
  }),
  password: Schema.optionalWith(ProviderKit.Secret, { exact: true }).annotations({
    description: "the API user's password (HTTP Basic)"
  }),
  apiKey: Schema.optionalWith(ProviderKit.Secret, { exact: true }).annotations({
    description: "an API key (the X-ApiKey header), instead of username and password"
  }),
  maxResponseBytes: Schema.optionalWith(ProviderKit.MaxResponseBytes, { exact: true }).annotations({
    description: "the largest answer the client reads, in bytes (default 16 MiB)"
  })
}).pipe(
  // Exactly one credential form. Reported on the section: the fields at fault are secrets,
  // whose own messages the host never shows.
  Schema.filter((section) => {
    const has = (key: "username" | "password" | "apiKey") => section[key] !== undefined
    if (has("apiKey") && (has("username") || has("password"))) return "give either apiKey, or username and password, not both"
    if (has("apiKey") || (has("username") && has("password"))) return true
    if (has("username")) return "missing password (or use apiKey)"
    if (has("password")) return "missing username"
    return "missing credentials: apiKey, or username and password"
  })
)

const Decoded = Schema.Struct({
  url: Schema.String.pipe(ProviderKit.isBaseUrl(urlOptions)),
  auth: Auth,
  maxResponseBytes: Schema.optionalWith(Schema.typeSchema(ProviderKit.MaxResponseBytes), { exact: true })
})

/**
 * What the plugin's section holds, and what the client needs: the API root (normalized: no
 * trailing slash, `/GraphV1` for a bare origin), the credentials (`Auth`, secrets `Redacted`)
 * and the response size cap. Decoded from a profile's section or the environment; built by
 * hand in code and tests (checked again by {@link validate}).
 *
 * @since 0.1.0
 */
export const Options = Schema.transform(Section, Decoded, {
  strict: true,
  decode: ({ apiKey: key, maxResponseBytes, password, url, username }) => ({
    url,
    auth: key !== undefined
      ? { _tag: "ApiKey" as const, apiKey: key }
      : { _tag: "Basic" as const, username: username!, password: password! },
    ...(maxResponseBytes === undefined ? {} : { maxResponseBytes })
  }),
  encode: ({ auth, maxResponseBytes, url }) => ({
    url,
    ...(auth._tag === "Basic" ? { username: auth.username, password: auth.password } : { apiKey: auth.apiKey }),
    ...(maxResponseBytes === undefined ? {} : { maxResponseBytes })
  })
}).annotations({
  // What the section needs, in the words of its keys (the runner's "not configured" message).
  description: "url, and apiKey or username + password"
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
 * Checks and normalizes an API root (`ProviderKit.checkBaseUrl`): HTTPS (or HTTP on a loopback
 * host), no credentials or query, no trailing slash, `/GraphV1` added to a bare origin.
 *
 * @since 0.1.0
 */
export const checkUrl = (input: string): Either.Either<string, InvalidConfiguration> =>
  Either.mapLeft(ProviderKit.checkBaseUrl(input, urlOptions), (reason) => new InvalidConfiguration({ field: "url", reason }))

const validateType = ProviderKit.validateConfig(Options)

/**
 * Checks options built in code with the same rules as the schema, before a client is built:
 * the first problem, at its field. Answers the options with the API root in its normal form.
 *
 * @since 0.1.0
 */
export const validate = (options: Options): Either.Either<Options, InvalidConfiguration> =>
  Either.flatMap(
    Either.mapLeft(validateType(options), (problem) => new InvalidConfiguration(problem)),
    (checked) => Either.map(checkUrl(checked.url), (url) => ({ ...checked, url }))
  )
