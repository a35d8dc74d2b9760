/**
 * What every HTTP provider plugin needs and should not write again: the check of a service's
 * base URL, `Retry-After`, durations written as text (`30s`), secrets in a configuration
 * schema and the forms a credential takes on the wire, the response size cap as a setting, and
 * readable transport failures, dates of an API that writes local times with their offset
 * (`temporal-polyfill` values in a time zone). The built-in providers (AIMAIRA, Campus Skills) use it, and so
 * can an outside plugin: it is part of `@relais/core`'s public surface.
 *
 * Each check comes as a plain function (for code that builds options by hand) and as a Schema
 * (for a plugin's `config`), so a value read from a profile, from `<PLUGIN>_*` variables or
 * given in code passes or fails the same check with the same message.
 *
 * @since 0.1.0
 */
import { Buffer } from "node:buffer"
import { Clock, Duration, Effect, Either, ParseResult, Redacted, Schema, type SchemaAST } from "effect"
import { Temporal } from "temporal-polyfill"
import { defaultMaxBytes, formatBytes } from "./HttpBody.js"
import { mask } from "./Redactor.js"

// -----------------------------------------------------------------------------
// Base URLs
// -----------------------------------------------------------------------------

/**
 * The hosts plain HTTP is allowed to: the machine itself, where sandboxes listen.
 *
 * @since 0.1.0
 */
export const loopbackHosts: ReadonlyArray<string> = ["127.0.0.1", "localhost", "::1"]

const LOOPBACK = new Set([...loopbackHosts, "[::1]"])

/**
 * Whether a URL's host name is a loopback host (`127.0.0.1`, `localhost`, `::1`).
 *
 * @since 0.1.0
 */
export const isLoopback = (hostname: string): boolean => LOOPBACK.has(hostname.toLowerCase())

/**
 * How {@link checkBaseUrl} words its messages and normalizes a URL.
 *
 * @since 0.1.0
 */
export interface BaseUrlOptions {
  /** The service, as people read it in messages: "AIMAIRA requires HTTPS...". */
  readonly service: string
  /** A valid URL, shown when the input is not a URL at all. */
  readonly example?: string | undefined
  /**
   * The path a bare origin gets (AIMAIRA's `/GraphV1`): `https://myapi.aimaira.net` becomes
   * `https://myapi.aimaira.net/GraphV1`.
   */
  readonly defaultPath?: string | undefined
}

/**
 * Checks a service's base URL: absolute, `https:` (plain `http:` only on a loopback host, for a
 * sandbox: credentials travel with every request), no credentials, no query string, no
 * fragment. Answers the URL without a trailing slash (with `defaultPath` for a bare origin), or
 * why it is refused. A refusal never quotes credentials written in the URL.
 *
 * @since 0.1.0
 */
export const checkBaseUrl = (input: string, options: BaseUrlOptions): Either.Either<string, string> => {
  let url: URL
  try {
    url = new URL(input.trim())
  } catch {
    return Either.left(
      `${JSON.stringify(input)} is not an absolute URL (e.g. ${options.example ?? "https://api.example.com"})`
    )
  }
  if (url.username !== "" || url.password !== "") {
    return Either.left("the URL must not contain credentials: give them in their own settings")
  }
  const shown = `${url.protocol}//${url.host}${url.pathname}`
  if (url.search !== "" || url.hash !== "") {
    return Either.left(`the URL ${shown} must not have a query string or fragment`)
  }
  if (url.protocol === "http:" && !isLoopback(url.hostname)) {
    return Either.left(
      `${options.service} requires HTTPS, got ${shown}; plain http is only allowed for loopback hosts (127.0.0.1, localhost, ::1)`
    )
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return Either.left(`unsupported protocol ${url.protocol} in ${shown}: use https://`)
  }
  const path = url.pathname.replace(/\/+$/, "")
  return Either.right(`${url.protocol}//${url.host}${path === "" ? options.defaultPath ?? "" : path}`)
}

/**
 * {@link checkBaseUrl} as a Schema filter on a string, for the type side of a configuration.
 *
 * @since 0.1.0
 */
export const isBaseUrl = (options: BaseUrlOptions) =>
  Schema.filter<Schema.Schema<string>>((input) => Either.match(checkBaseUrl(input, options), { onLeft: (reason) => reason, onRight: () => true }), {
    description: `the base URL of ${options.service} (HTTPS; plain http only on 127.0.0.1, localhost, ::1)`
  })

/**
 * A configuration's base URL: checked by {@link checkBaseUrl} and decoded to its normal form
 * (no trailing slash, `defaultPath` for a bare origin).
 *
 * @since 0.1.0
 */
export const BaseUrl = (options: BaseUrlOptions): Schema.Schema<string, string> =>
  Schema.transformOrFail(Schema.String, Schema.String.pipe(isBaseUrl(options)), {
    strict: true,
    decode: (input, _, ast) =>
      Either.match(checkBaseUrl(input, options), {
        onLeft: (reason) => ParseResult.fail(new ParseResult.Type(ast, input, reason)),
        onRight: ParseResult.succeed
      }),
    encode: ParseResult.succeed
  }).annotations({
    description: `the base URL of ${options.service}${options.example === undefined ? "" : `, e.g. ${options.example}`}`
  })

/**
 * Checks a configuration built in code (not decoded from a profile) against the type side of
 * its schema, with the same rules: the first problem, at its field (`auth.password`).
 *
 * @since 0.1.0
 */
export const validateConfig = <A, I>(schema: Schema.Schema<A, I, never>) => {
  const validate = Schema.validateEither(Schema.typeSchema(schema))
  return (config: A): Either.Either<A, { readonly field: string; readonly reason: string }> =>
    Either.mapLeft(validate(config), (error) => {
      const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
      return { field: issue?.path.map(String).join(".") || "section", reason: issue?.message ?? "is not valid" }
    })
}

// -----------------------------------------------------------------------------
// Retry-After
// -----------------------------------------------------------------------------

/**
 * Reads a `Retry-After` header as milliseconds: a delay in seconds (`120`, `1.5`), or an HTTP
 * date (relative to `nowMillis`; a date in the past is 0). Absent or unreadable: `undefined`.
 *
 * @since 0.1.0
 */
export const parseRetryAfter = (header: string | undefined, nowMillis: number): number | undefined => {
  if (header === undefined) return undefined
  const text = header.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  if (/^\d+\.\d+$/.test(text)) return Math.round(Number(text) * 1000)
  if (!/[a-z]/i.test(text)) return undefined // "-5", "" and other numbers are not dates
  const date = Date.parse(text)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - nowMillis)
}

/**
 * {@link parseRetryAfter} against the `Clock` (so `TestClock` drives it in tests).
 *
 * @since 0.1.0
 */
export const retryAfter = (header: string | undefined): Effect.Effect<number | undefined> =>
  header === undefined ? Effect.succeed(undefined) : Effect.map(Clock.currentTimeMillis, (now) => parseRetryAfter(header, now))

// -----------------------------------------------------------------------------
// Durations as text
// -----------------------------------------------------------------------------

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|millis|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?)$/i

const unitMillis = (unit: string): number => {
  const u = unit.toLowerCase()
  if (u === "ms" || u.startsWith("milli")) return 1
  if (u.startsWith("s")) return 1000
  if (u.startsWith("m")) return 60_000
  return 3_600_000
}

/**
 * Reads a duration written as text: a number and a unit, `500ms`, `30s`, `2m`, `1h` (also
 * `30 seconds`, `2 minutes`). Answers why it is refused otherwise.
 *
 * @since 0.1.0
 */
export const parseDuration = (text: string): Either.Either<Duration.Duration, string> => {
  const match = DURATION.exec(text.trim())
  if (match === null) return Either.left(`${JSON.stringify(text)} is not a duration (e.g. 30s, 2m, 500ms)`)
  return Either.right(Duration.millis(Math.round(Number(match[1]) * unitMillis(match[2]!))))
}

/**
 * A duration in its canonical text form, the largest unit that keeps it whole: `30000ms` and
 * `30 seconds` are both `30s`, `90s` is `90s`, `2 minutes` is `2m`.
 *
 * @since 0.1.0
 */
export const formatDuration = (duration: Duration.Duration): string => {
  const millis = Math.round(Duration.toMillis(duration))
  if (!Number.isFinite(millis)) return "infinity"
  if (millis !== 0 && millis % 3_600_000 === 0) return `${millis / 3_600_000}h`
  if (millis !== 0 && millis % 60_000 === 0) return `${millis / 60_000}m`
  if (millis % 1000 === 0) return `${millis / 1000}s`
  return `${millis}ms`
}

/**
 * A duration written as text in a configuration (`timeout: 30s`, `<PLUGIN>_TIMEOUT=30s`),
 * decoded as a `Duration` and encoded in its canonical form ({@link formatDuration}).
 *
 * @since 0.1.0
 */
export const DurationText: Schema.Schema<Duration.Duration, string> = Schema.transformOrFail(
  Schema.String.annotations({ description: "a duration such as 30s, 2m or 500ms" }),
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (text, _, ast) =>
      Either.match(parseDuration(text), {
        onLeft: (reason) => ParseResult.fail(new ParseResult.Type(ast, text, reason)),
        onRight: ParseResult.succeed
      }),
    encode: (duration) => ParseResult.succeed(formatDuration(duration))
  }
).annotations({ identifier: "DurationText" })

// -----------------------------------------------------------------------------
// Secrets
// -----------------------------------------------------------------------------

/**
 * A text that is not blank.
 *
 * @since 0.1.0
 */
export const NonEmptyText = Schema.String.pipe(
  Schema.filter((text) => text.trim().length > 0 || "must not be empty")
)

/**
 * A secret in a configuration (a token, a password, an API key): a non-empty string, kept
 * `Redacted` once decoded, so that it is never printed and the host registers it with the
 * `Redactor`.
 *
 * @since 0.1.0
 */
export const Secret: Schema.Schema<Redacted.Redacted<string>, string> = Schema.Redacted(NonEmptyText)

/**
 * The secrets of an HTTP Basic credential, in the forms they take on the wire: the password,
 * `user:password`, and its base64 (the `Authorization: Basic` header). Register them all with
 * the `Redactor`: the user name alone is not a secret, but the pair is.
 *
 * @since 0.1.0
 */
export const basicCredentialSecrets = (
  username: string,
  password: Redacted.Redacted<string>
): ReadonlyArray<Redacted.Redacted<string>> => {
  const pair = `${username}:${Redacted.value(password)}`
  return [password, Redacted.make(pair), Redacted.make(Buffer.from(pair, "utf8").toString("base64"))]
}

/**
 * A function that masks secrets in a text (a server's message quoted in an error) before it
 * goes anywhere: each secret as written, in base64 (padded or not) and URL-encoded. Works
 * without a `Redactor`, so a client's errors are clean whoever prints them.
 *
 * @since 0.1.0
 */
export const scrubber = (secrets: ReadonlyArray<Redacted.Redacted<string> | string>): (text: string) => string => {
  const forms = new Set<string>()
  for (const secret of secrets) {
    const value = typeof secret === "string" ? secret : Redacted.value(secret)
    if (value.length === 0) continue
    const base64 = Buffer.from(value, "utf8").toString("base64")
    forms.add(value).add(base64).add(base64.replace(/=+$/, "")).add(encodeURIComponent(value))
  }
  // Longest first, so a secret containing another is masked whole.
  const sorted = [...forms].filter((form) => form.length > 0).sort((a, b) => b.length - a.length)
  return (text) => sorted.reduce((out, form) => (out.includes(form) ? out.split(form).join(mask) : out), text)
}

// -----------------------------------------------------------------------------
// Response size
// -----------------------------------------------------------------------------

/**
 * Checks a response size cap: a positive whole number of bytes.
 *
 * @since 0.1.0
 */
export const checkMaxResponseBytes = (bytes: number): Either.Either<number, string> =>
  Number.isSafeInteger(bytes) && bytes > 0
    ? Either.right(bytes)
    : Either.left(`expected a positive number of bytes, got ${bytes}`)

/**
 * The `maxResponseBytes` setting of a client: the largest answer it reads (default 16 MiB,
 * `HttpBody.defaultMaxBytes`).
 *
 * @since 0.1.0
 */
export const MaxResponseBytes: Schema.Schema<number, number> = Schema.Number.pipe(
  Schema.filter((bytes) => Either.match(checkMaxResponseBytes(bytes), { onLeft: (reason) => reason, onRight: () => true }))
).annotations({
  description: `the largest answer read, in bytes (default ${formatBytes(defaultMaxBytes)}): a larger one fails as soon as it passes the limit`
})

// -----------------------------------------------------------------------------
// Transport failures
// -----------------------------------------------------------------------------

/**
 * A readable description of why a request failed: the messages and codes of an error and its
 * causes (`fetch failed: connect ECONNREFUSED 127.0.0.1:1 (ECONNREFUSED)`).
 *
 * @since 0.1.0
 */
export const causeText = (cause: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = cause
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code
    parts.push(typeof code === "string" ? `${current.message} (${code})` : current.message)
    current = current.cause
  }
  return parts.length === 0 ? String(cause) : parts.join(": ")
}

/**
 * What kind of transport failure a description ({@link causeText}) tells of: a refused
 * connection (nothing was sent), a reset one (a write may or may not have been applied), a
 * timeout, or something else.
 *
 * @since 0.1.0
 */
export const transportReason = (detail: string): "refused" | "reset" | "timeout" | "other" => {
  if (/ECONNREFUSED/.test(detail)) return "refused"
  if (/ECONNRESET|UND_ERR_SOCKET|other side closed|socket hang up|EPIPE|terminated/i.test(detail)) return "reset"
  if (/TIMEOUT|timed out/i.test(detail)) return "timeout"
  return "other"
}

// -----------------------------------------------------------------------------
// Dates in a time zone
// -----------------------------------------------------------------------------

/**
 * A `Temporal.PlainDate` value (the type side of date schemas).
 *
 * @since 0.1.0
 */
export const PlainDateFromSelf = Schema.declare(
  (u: unknown): u is Temporal.PlainDate => u instanceof Temporal.PlainDate,
  {
    identifier: "PlainDate",
    description: "a Temporal.PlainDate",
    equivalence: () => (a, b) => a.equals(b),
    pretty: () => (date) => `PlainDate(${date.toString()})`
  }
)

/**
 * A `Temporal.ZonedDateTime` value (the type side of date-time schemas).
 *
 * @since 0.1.0
 */
export const ZonedDateTimeFromSelf = Schema.declare(
  (u: unknown): u is Temporal.ZonedDateTime => u instanceof Temporal.ZonedDateTime,
  {
    identifier: "ZonedDateTime",
    description: "a Temporal.ZonedDateTime",
    equivalence: () => (a, b) => a.equals(b),
    pretty: () => (value) => `ZonedDateTime(${value.toString()})`
  }
)

/**
 * A date-time as such APIs write it: local time in `timeZone` with its offset, no zone name
 * (`2023-09-01T00:00:00+02:00` for Europe/Paris in summer).
 *
 * @since 0.1.0
 */
export const formatOffsetDateTime = (value: Temporal.ZonedDateTime, timeZone: string): string =>
  value.withTimeZone(timeZone).toString({ timeZoneName: "never" })

const toInstant = (input: string, ast: SchemaAST.AST) =>
  ParseResult.try({
    try: () => Temporal.Instant.from(input),
    catch: () =>
      new ParseResult.Type(ast, input, `Expected a date with an offset such as 2023-09-01T00:00:00+02:00, got ${JSON.stringify(input)}`)
  })

/**
 * A date-time written with its offset (any offset or `Z` is read), as a
 * `Temporal.ZonedDateTime` in `timeZone`; encoded as local time there with its offset
 * ({@link formatOffsetDateTime}).
 *
 * @since 0.1.0
 */
export const OffsetDateTime = (timeZone: string): Schema.Schema<Temporal.ZonedDateTime, string> =>
  Schema.transformOrFail(Schema.String, ZonedDateTimeFromSelf, {
    strict: true,
    decode: (input, _, ast) => ParseResult.map(toInstant(input, ast), (instant) => instant.toZonedDateTimeISO(timeZone)),
    encode: (value) => ParseResult.succeed(formatOffsetDateTime(value, timeZone))
  })

/**
 * A calendar date written as its midnight in `timeZone` with the offset
 * (`2023-09-01T00:00:00+02:00`), as a `Temporal.PlainDate`. A value that is not a midnight
 * there fails to decode rather than losing its time silently.
 *
 * @since 0.1.0
 */
export const MidnightDate = (timeZone: string): Schema.Schema<Temporal.PlainDate, string> =>
  Schema.transformOrFail(Schema.String, PlainDateFromSelf, {
    strict: true,
    decode: (input, _, ast) =>
      ParseResult.flatMap(toInstant(input, ast), (instant) => {
        const zoned = instant.toZonedDateTimeISO(timeZone)
        const date = zoned.toPlainDate()
        return Temporal.ZonedDateTime.compare(zoned, date.toZonedDateTime(timeZone)) === 0
          ? ParseResult.succeed(date)
          : ParseResult.fail(new ParseResult.Type(ast, input, `Expected a date at midnight in ${timeZone} time, got ${JSON.stringify(input)}`))
      }),
    encode: (date) => ParseResult.succeed(formatOffsetDateTime(date.toZonedDateTime(timeZone), timeZone))
  })

const PLAIN_DATE = /^\d{4}-\d{2}-\d{2}$/

/**
 * The calendar day of a text: a plain date (`2023-09-01`), or the day in `timeZone` of an
 * instant written with its offset (`2023-08-31T22:00:00Z` is 2023-09-01 in Paris). Lenient on
 * purpose, for data read from another system; answers why otherwise.
 *
 * @since 0.1.0
 */
export const calendarDay = (text: string, timeZone: string): Either.Either<Temporal.PlainDate, string> => {
  const value = text.trim()
  try {
    if (PLAIN_DATE.test(value)) return Either.right(Temporal.PlainDate.from(value, { overflow: "reject" }))
    return Either.right(Temporal.Instant.from(value).toZonedDateTimeISO(timeZone).toPlainDate())
  } catch {
    return Either.left(
      `${JSON.stringify(text)} is not a date such as 2023-09-01T00:00:00+02:00 (a date-time with its offset) or 2023-09-01`
    )
  }
}
