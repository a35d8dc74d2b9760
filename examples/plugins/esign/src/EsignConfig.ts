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
 * One schema does everything: relais decodes the section with it (every problem reported at its
 * path, a secret never quoted), shows its fields in `relais config`, derives the configuration
 * file's JSON Schema from its encoded side, and registers the `Redacted` token with its
 * redactor before anything can print it.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"])

/**
 * Why a base URL cannot be used, or `undefined` when it can: absolute, `https:` (plain `http:`
 * only on a loopback host, for the sandbox), without credentials, query or fragment.
 *
 * @since 0.1.0
 */
export const urlProblem = (text: string): string | undefined => {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return `${JSON.stringify(text)} is not an absolute URL (e.g. https://api.esign.example)`
  }
  if (url.username !== "" || url.password !== "") return "the URL must not contain credentials: put the token in esign.token"
  if (url.search !== "" || url.hash !== "") return "the URL must not have a query or a fragment"
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
    return `HTTPS is required (the token travels in every request); got ${url.protocol}//${url.host}. ` +
      "Plain HTTP is only accepted on 127.0.0.1, localhost and ::1 (the sandbox)."
  }
  return undefined
}

/**
 * The service's base URL, without a trailing slash.
 *
 * @since 0.1.0
 */
export const Url = Schema.transformOrFail(Schema.String, Schema.String, {
  strict: true,
  decode: (text, _, ast) => {
    const problem = urlProblem(text.trim())
    return problem === undefined
      ? ParseResult.succeed(new URL(text.trim()).toString().replace(/\/+$/, ""))
      : ParseResult.fail(new ParseResult.Type(ast, text, problem))
  },
  encode: ParseResult.succeed
}).annotations({ description: "the e-signature service's base URL (https)" })

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|millis|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hours?|d|days?)$/

const unitMillis = (unit: string): number =>
  unit === "ms" || unit.startsWith("milli")
    ? 1
    : unit === "s" || unit.startsWith("sec")
    ? 1000
    : unit === "m" || unit.startsWith("min")
    ? 60_000
    : unit === "h" || unit.startsWith("hour")
    ? 3_600_000
    : 86_400_000

/**
 * Reads a duration written by a person: `30s`, `500ms`, `2m`, `1h`, `2 days`, `30 seconds`.
 *
 * @since 0.1.0
 */
export const parseDuration = (text: string): Either.Either<Duration.Duration, string> => {
  const match = DURATION.exec(text.trim().toLowerCase())
  if (match === null) return Either.left(`${JSON.stringify(text)} is not a duration (e.g. 30s, 500ms, 2m, 1h)`)
  return Either.right(Duration.millis(Math.round(Number(match[1]) * unitMillis(match[2]!))))
}

/**
 * A duration as it is written in configuration files and variables (`30s`, `2m`), decoded to
 * a `Duration`.
 *
 * @since 0.1.0
 */
export const DurationText = Schema.transformOrFail(Schema.String, Schema.DurationFromSelf, {
  strict: true,
  decode: (text, _, ast) =>
    Either.match(parseDuration(text), {
      onLeft: (reason) => ParseResult.fail(new ParseResult.Type(ast, text, reason)),
      onRight: ParseResult.succeed
    }),
  encode: (duration) => ParseResult.succeed(`${Duration.toMillis(duration)}ms`)
}).annotations({ description: "a duration: 30s, 500ms, 2m" })

/**
 * The `esign:` section of a profile.
 *
 * @since 0.1.0
 */
// `exact` optional fields (absent, never `undefined`): a plain `Schema.optional` is a union with
// `undefined`, and a wrong value is then reported as "Expected undefined, actual ..." instead of
// with the field's own message.
export const EsignConfig = Schema.Struct({
  url: Url,
  token: Schema.Redacted(Schema.String.pipe(Schema.nonEmptyString())).annotations({
    description: "the bearer token of the service's API (a secret: write { env: NAME } or { file: path })"
  }),
  timeout: Schema.optionalWith(DurationText.annotations({ description: "per-request timeout (default 30s)" }), {
    exact: true
  }),
  maxResponseBytes: Schema.optionalWith(
    Schema.Int.pipe(Schema.positive()).annotations({
      description: "the largest answer the client reads, in bytes (default 16 MiB)"
    }),
    { exact: true }
  )
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
