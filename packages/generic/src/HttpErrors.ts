/**
 * The errors of `http/request`: one tagged union.
 *
 * What core's retry policies rely on: an error that comes from an answer carries its numeric
 * `status` (so `retryOn: [429, 5xx]` works), and `retryAfterMillis` when the server sent
 * `Retry-After`; a failure to reach the service is a `Transport` (retried by default). No error
 * holds a credential or a request header: they name the connection, the method and the path,
 * and quote at most {@link maxExcerpt} characters of an answer's body, with every registered
 * secret masked.
 *
 * @since 0.1.0
 */
import * as HttpBody from "@relais/core/HttpBody"
import { Schema } from "effect"

/**
 * The most characters of a body an error quotes.
 *
 * @since 0.1.0
 */
export const maxExcerpt = 300

const where = {
  /** The connection's name. */
  connection: Schema.String,
  method: Schema.String,
  /** The path, relative to the connection's base URL, without the query. */
  path: Schema.String
}

const at = (e: { readonly connection: string; readonly method: string; readonly path: string }) =>
  `${e.method} ${e.path === "" ? "/" : e.path} on connection "${e.connection}"`

const excerptText = (excerpt: string | undefined) => excerpt === undefined || excerpt === "" ? "" : `; the answer begins: ${excerpt}`

/**
 * The step names a connection the profile does not declare. Nothing was sent.
 *
 * @since 0.1.0
 * @category Errors
 */
export class UnknownConnection extends Schema.TaggedError<UnknownConnection>("@relais/generic/UnknownConnection")(
  "UnknownConnection",
  {
    connection: Schema.String,
    /** The declared connections. */
    known: Schema.Array(Schema.String),
    suggestions: Schema.Array(Schema.String)
  }
) {
  override get message(): string {
    if (this.known.length === 0) {
      return `http/request: no connection named "${this.connection}": the configuration declares no HTTP connection. ` +
        `Declare it in the profile of relais.config.yaml (http: { connections: { ${this.connection}: { url: https://..., auth: ... } } }) ` +
        "or in HTTP_CONNECTIONS."
    }
    const hint = this.suggestions.length > 0 ? ` Did you mean ${this.suggestions.map((s) => `"${s}"`).join(" or ")}?` : ""
    return `http/request: no connection named "${this.connection}" (declared: ${this.known.join(", ")}).${hint} ` +
      "A flow can only call the connections of its profile's http section."
  }
}

/**
 * The request cannot be made as written (a header that would override the credentials, a path
 * parameter that is missing or would change the path...). Nothing was sent.
 *
 * @since 0.1.0
 * @category Errors
 */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>("@relais/generic/InvalidRequest")(
  "InvalidRequest",
  {
    ...where,
    reason: Schema.Literal("path", "param", "header", "body"),
    detail: Schema.String
  }
) {
  override get message(): string {
    return `http/request: cannot send ${at(this)}: ${this.detail}`
  }
}

/**
 * The service answered a status the step does not expect (`expect`, default 2xx).
 *
 * @since 0.1.0
 * @category Errors
 */
export class UnexpectedStatus extends Schema.TaggedError<UnexpectedStatus>("@relais/generic/UnexpectedStatus")(
  "UnexpectedStatus",
  {
    ...where,
    status: Schema.Int,
    /** What the step expected, as written: `2xx`, `200, 404`. */
    expected: Schema.String,
    retryAfterMillis: Schema.optional(Schema.Number),
    /** The start of the body (at most {@link maxExcerpt} characters, secrets masked). */
    excerpt: Schema.optional(Schema.String)
  }
) {
  override get message(): string {
    const retry = this.retryAfterMillis === undefined ? "" : `; the service asks to retry after ${this.retryAfterMillis} ms`
    return `http/request: ${at(this)} answered HTTP ${this.status} (expected ${this.expected})${retry}${excerptText(this.excerpt)}`
  }
}

/**
 * The service could not be reached, or the exchange broke off (refused, reset, timed out).
 * `sent` says whether the request may have reached the service. Retried by default.
 *
 * @since 0.1.0
 * @category Errors
 */
export class Transport extends Schema.TaggedError<Transport>("@relais/generic/Transport")("Transport", {
  ...where,
  reason: Schema.Literal("refused", "dns", "tls", "reset", "timeout", "other"),
  detail: Schema.String,
  /** False when the request certainly never reached the service (refused, unknown host, TLS). */
  sent: Schema.Boolean
}) {
  override get message(): string {
    return `http/request: ${at(this)} failed: ${this.detail}`
  }
}

/**
 * A non-idempotent request (POST, PATCH) may have been processed but its answer was lost (a
 * reset, a timeout, a crash of relais, an attempt cut by its timeout). relais does not send it
 * again on its own: the service could do the work twice. Not retried.
 *
 * @since 0.1.0
 * @category Errors
 */
export class OutcomeUnknown extends Schema.TaggedError<OutcomeUnknown>("@relais/generic/OutcomeUnknown")(
  "OutcomeUnknown",
  {
    ...where,
    detail: Schema.String
  }
) {
  override get message(): string {
    return `http/request: ${at(this)} may have been processed, but its answer was lost (${this.detail}). ` +
      `relais does not send a ${this.method} again on its own: check on the service whether it was done, then ` +
      "rerun or adapt the flow. If the service supports idempotency keys, set idempotencyKey: true so that relais can retry safely."
  }
}

/**
 * The answer is not what the step was told to expect: not JSON where JSON was expected, or not
 * matching the `response` fragment. Not retried: the same request would get the same answer.
 *
 * @since 0.1.0
 * @category Errors
 */
export class InvalidResponse extends Schema.TaggedError<InvalidResponse>("@relais/generic/InvalidResponse")(
  "InvalidResponse",
  {
    ...where,
    /** The answer's status (it was an expected one). */
    responseStatus: Schema.Int,
    reason: Schema.Literal("not-json", "schema"),
    detail: Schema.String,
    excerpt: Schema.optional(Schema.String)
  }
) {
  override get message(): string {
    return `http/request: the answer to ${at(this)} (HTTP ${this.responseStatus}) ${this.detail}${excerptText(this.excerpt)}`
  }
}

/**
 * The answer was larger than the connection's `maxResponseBytes`: relais stopped reading it
 * and closed the connection. Not retried.
 *
 * @since 0.1.0
 * @category Errors
 */
export class ResponseTooLarge extends Schema.TaggedError<ResponseTooLarge>("@relais/generic/ResponseTooLarge")(
  "ResponseTooLarge",
  {
    ...where,
    responseStatus: Schema.Int,
    limit: Schema.Number,
    received: Schema.Number,
    announced: Schema.Boolean
  }
) {
  override get message(): string {
    const seen = this.announced
      ? `its Content-Length announces ${HttpBody.formatBytes(this.received)}, so relais did not read it`
      : `relais stopped reading at ${HttpBody.formatBytes(this.received)}`
    return `http/request: the answer to ${at(this)} (HTTP ${this.responseStatus}) is larger than the connection's limit of ` +
      `${HttpBody.formatBytes(this.limit)}; ${seen}. Raise maxResponseBytes on the connection if such answers are expected.`
  }
}

/**
 * Every error of `http/request` but the step state's.
 *
 * @since 0.1.0
 */
export type HttpRequestError =
  | UnknownConnection
  | InvalidRequest
  | UnexpectedStatus
  | Transport
  | OutcomeUnknown
  | InvalidResponse
  | ResponseTooLarge
