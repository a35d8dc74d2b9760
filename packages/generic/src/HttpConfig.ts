/**
 * The configuration section of the `http` plugin: named connections. A workflow can only call
 * a connection declared here (`with: { connection: crm }`): the base URL and the credentials
 * come from the profile, never from an expression, so a value read from a service cannot send
 * a request (or a token) anywhere else.
 *
 * In `relais.config.yaml` (profile key `http`; secrets are best read from the environment or a
 * file with `{ env: NAME }` / `{ file: path }`):
 *
 * ```yaml
 * profiles:
 *   preprod:
 *     http:
 *       connections:
 *         crm:
 *           url: https://crm.example.org/api/v2
 *           auth: { bearer: { env: CRM_TOKEN } }
 *           timeout: 20s
 *         payroll:
 *           url: https://payroll.example.org
 *           auth: { basic: { username: relais, password: { file: secrets/payroll } } }
 *         esign:
 *           url: https://esign.example.org/api
 *           auth: { apiKey: { header: X-Api-Key, value: { env: ESIGN_KEY } } }
 *           headers: { X-Tenant: cfa-paris }
 *           maxResponseBytes: 4194304
 * ```
 *
 * or the whole section as JSON in `HTTP_CONNECTIONS`.
 *
 * @since 0.1.0
 */
import { Duration, Either, Schema } from "effect"
import * as Durations from "./Durations.js"

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"])

/**
 * Check a connection's base URL: absolute, `https:` (or `http:` on a loopback host: a local
 * service or a test server), no credentials, no query, no fragment. Answers the URL without its
 * trailing slashes, or why it is refused.
 *
 * @since 0.1.0
 */
export const checkBaseUrl = (input: string): Either.Either<string, string> => {
  let url: URL
  try {
    url = new URL(input)
  } catch {
    return Either.left(`"${input.slice(0, 80)}" is not an absolute URL (e.g. https://crm.example.org/api)`)
  }
  if (url.username !== "" || url.password !== "") {
    // Not quoted: the text holds a credential.
    return Either.left("the URL must not contain credentials: put them under auth (bearer, basic or apiKey)")
  }
  if (url.search !== "" || url.hash !== "") {
    return Either.left(`the base URL must not have a query or a fragment (${url.protocol}//${url.host}${url.pathname})`)
  }
  const loopback = LOOPBACK.has(url.hostname)
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    return Either.left(
      `HTTPS is required (credentials and data travel in every request); got ${url.protocol}//${url.host}. ` +
        "Plain HTTP is only accepted on 127.0.0.1, localhost and ::1."
    )
  }
  return Either.right(url.toString().replace(/\/+$/, ""))
}

/**
 * An absolute base URL, checked by {@link checkBaseUrl}.
 *
 * @since 0.1.0
 */
export const BaseUrl = Schema.String.pipe(
  Schema.filter((text) => Either.match(checkBaseUrl(text), { onLeft: (reason) => reason, onRight: () => undefined }), {
    description: "the base URL: https://host/path (http:// only on 127.0.0.1, localhost, ::1)",
    jsonSchema: { format: "uri" }
  })
)

/**
 * A secret: a non-empty string kept `Redacted`. A value that does not fit is never quoted.
 *
 * @since 0.1.0
 */
export const Secret = Schema.Redacted(
  Schema.String.pipe(Schema.minLength(1)).annotations({
    message: () => ({ message: "expected a non-empty string (the value is not shown: it is a secret)", override: true })
  })
).annotations({ description: "a secret: write { env: NAME } or { file: path } rather than the value" })

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/**
 * Request headers that are the client's business (framing, the host, the credentials) and that
 * neither a connection nor a step may set.
 *
 * @since 0.1.0
 */
export const reservedHeaders: ReadonlySet<string> = new Set([
  "authorization",
  "proxy-authorization",
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
  "expect"
])

/**
 * A header name a connection or a step may set: a token (RFC 9110), not a reserved one
 * ({@link reservedHeaders}).
 *
 * @since 0.1.0
 */
export const SettableHeaderName = Schema.String.pipe(Schema.filter((name) => headerNameProblem(name)))

/**
 * Why a header name cannot be set by a connection or a step, if it cannot.
 *
 * @since 0.1.0
 */
export const headerNameProblem = (name: string): string | undefined => {
  if (!TOKEN.test(name)) return `"${name.slice(0, 40)}" is not a header name (letters, digits, - and a few symbols)`
  const lower = name.toLowerCase()
  if (!reservedHeaders.has(lower)) return undefined
  return `${name} cannot be set here: ${
    lower === "authorization" || lower === "proxy-authorization"
      ? "credentials come from the connection's auth"
      : "the HTTP client sets it"
  }`
}

/**
 * A header value: one line of visible text (no CR, LF or NUL, which would split the request).
 *
 * @since 0.1.0
 */
export const HeaderValue = Schema.String.pipe(
  Schema.filter((value) =>
    /[\r\n\0]/.test(value) ? "a header value must not contain line breaks or NUL characters" : undefined
  )
)

/**
 * Headers by name, each name checked by {@link headerNameProblem} (at its own path, with a
 * message saying why) and each value by {@link HeaderValue}.
 *
 * @since 0.1.0
 */
export const Headers = Schema.Record({ key: Schema.String, value: HeaderValue }).pipe(
  Schema.filter((headers) =>
    Object.keys(headers).flatMap((name) => {
      const problem = headerNameProblem(name)
      return problem === undefined ? [] : [{ path: [name], message: problem }]
    })
  )
)

/**
 * How a connection authenticates:
 * - `{ bearer: <secret> }`: `Authorization: Bearer <token>`;
 * - `{ basic: { username, password: <secret> } }`: `Authorization: Basic ...`;
 * - `{ apiKey: { header, value: <secret> } }`: the key in a header of its own (`X-Api-Key`).
 *
 * @since 0.1.0
 */
export const Auth = Schema.Union(
  Schema.Struct({ bearer: Secret }),
  Schema.Struct({
    basic: Schema.Struct({
      username: Schema.String.pipe(
        Schema.minLength(1),
        Schema.filter((u) => !u.includes(":") || "a Basic user name cannot contain \":\"")
      ),
      password: Secret
    })
  }),
  Schema.Struct({ apiKey: Schema.Struct({ header: SettableHeaderName, value: Secret }) })
).annotations({
  identifier: "HttpAuth",
  description: "{ bearer: <secret> }, { basic: { username, password: <secret> } } or { apiKey: { header, value: <secret> } }",
  // The member-by-member report would quote the value it was given (a token written in place).
  message: () => ({
    message: "expected one of { bearer: <secret> }, { basic: { username, password: <secret> } }, " +
      "{ apiKey: { header, value: <secret> } } (the value given is not shown: it may hold a secret)",
    override: true
  })
})

/**
 * @since 0.1.0
 */
export type Auth = typeof Auth.Type

/**
 * The default time one request may take (connection, answer and body): 30 seconds.
 *
 * @since 0.1.0
 */
export const defaultTimeout: Duration.Duration = Duration.seconds(30)

/**
 * The longest request timeout a connection may set: 5 minutes, below the step's own attempt
 * timeout (10 minutes), so a slow answer fails as the step's `Transport` timeout, which knows
 * whether the request was sent, and not as the engine's.
 *
 * @since 0.1.0
 */
export const maxTimeout: Duration.Duration = Duration.minutes(5)

/**
 * The default largest answer: 1 MiB. A step's output is journaled with the run: an API that
 * answers more than that should be read by a dedicated plugin, or the limit raised knowingly.
 *
 * @since 0.1.0
 */
export const defaultMaxResponseBytes = 1024 * 1024

/**
 * The largest `maxResponseBytes` a connection may set: 64 MiB.
 *
 * @since 0.1.0
 */
export const maxMaxResponseBytes = 64 * 1024 * 1024

/**
 * One named connection.
 *
 * @since 0.1.0
 */
export const Connection = Schema.Struct({
  url: BaseUrl,
  auth: Schema.optionalWith(Auth, { exact: true }),
  timeout: Schema.optionalWith(
    Durations.DurationText.pipe(
      Schema.filter((d) =>
        Duration.greaterThan(d, Duration.zero) && Duration.lessThanOrEqualTo(d, maxTimeout) ||
        "the request timeout must be more than 0 and at most 5m"
      )
    ).annotations({ description: "the time one request may take (default 30s, at most 5m)" }),
    { exact: true }
  ),
  maxResponseBytes: Schema.optionalWith(
    Schema.Int.pipe(Schema.between(1, maxMaxResponseBytes)).annotations({
      description: "the largest answer read, in bytes (default 1 MiB, at most 64 MiB)"
    }),
    { exact: true }
  ),
  headers: Schema.optionalWith(
    Headers.annotations({
      description: "headers sent with every request of this connection"
    }),
    { exact: true }
  )
}).pipe(
  Schema.filter((connection) => {
    const header = connection.auth !== undefined && "apiKey" in connection.auth ? connection.auth.apiKey.header : undefined
    if (header === undefined || connection.headers === undefined) return undefined
    return Object.keys(connection.headers).some((h) => h.toLowerCase() === header.toLowerCase())
      ? { path: ["headers", header], message: `${header} carries the API key (auth.apiKey.header); it cannot be set in headers` }
      : undefined
  })
)

/**
 * @since 0.1.0
 */
export type Connection = typeof Connection.Type

const CONNECTION_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/

/**
 * A connection's name: a letter, then letters, digits, `_` or `-` (at most 64).
 *
 * @since 0.1.0
 */
export const ConnectionName = Schema.String.pipe(
  Schema.filter((name) =>
    CONNECTION_NAME.test(name) ||
    `"${name.slice(0, 40)}" is not a connection name (a letter, then letters, digits, _ or -)`
  )
)

/**
 * The plugin's section: `connections`, by name. Without a section, no connection is declared
 * and every `http/request` is refused, naming the connection it asked for.
 *
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  connections: Schema.optionalWith(
    Schema.Record({ key: Schema.String, value: Connection }).pipe(
      Schema.filter((connections) =>
        Object.keys(connections).flatMap((name) =>
          CONNECTION_NAME.test(name)
            ? []
            : [{ path: [name], message: `"${name.slice(0, 40)}" is not a connection name (a letter, then letters, digits, _ or -)` }]
        )
      )
    ).annotations({
      description: "the services flows may call, by name: { <name>: { url, auth?, timeout?, maxResponseBytes?, headers? } }"
    }),
    // `exact`: a wrong value is reported as itself, not also as "expected undefined" (which
    // quotes the whole section, secrets included).
    { default: () => ({}), exact: true }
  )
})

/**
 * @since 0.1.0
 */
export type Config = typeof Config.Type
