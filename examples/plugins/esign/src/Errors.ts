/**
 * The errors of the e-signature client: one tagged union.
 *
 * What relais' retry policies rely on (the plugin contract does not type it; it is read
 * structurally by `@relais/core`'s `RetryPolicy`): an error from an HTTP answer carries its
 * numeric `status`; `RateLimited` and `Unavailable` carry `retryAfterMillis` when the server
 * sent `Retry-After`. So the default policies retry 429 and 5xx (honouring `Retry-After`),
 * connection failures (`Transport`) and timeouts, and fail at once on 400, 401, 404 and 409.
 *
 * No error ever holds the token, the request or its headers: only the method and the path.
 *
 * @since 0.1.0
 */
import * as HttpBody from "@relais/core/HttpBody"
import * as Schema from "effect/Schema"
import { EnvelopeStatus } from "./Api.js"

const where = { method: Schema.String, path: Schema.String }

const at = (e: { readonly method: string; readonly path: string }) => `${e.method} ${e.path}`

/**
 * 401 / 403: the token was refused.
 *
 * @since 0.1.0
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  status: Schema.Int,
  ...where
}) {
  override get message(): string {
    return `the e-signature service refused the token (HTTP ${this.status} on ${at(this)}): check the profile's ` +
      "esign.token (or ESIGN_TOKEN)"
  }
}

/**
 * 400 / 422: the service refused what was sent, naming the fields when it says which.
 *
 * @since 0.1.0
 */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  status: Schema.Int,
  ...where,
  code: Schema.String,
  detail: Schema.optional(Schema.String),
  fields: Schema.optional(Schema.Array(Schema.Struct({ field: Schema.String, message: Schema.String })))
}) {
  override get message(): string {
    const fields = (this.fields ?? []).map((f) => `${f.field}: ${f.message}`)
    return `the e-signature service refused ${at(this)} (HTTP ${this.status}, ${this.code})` +
      (this.detail === undefined ? "" : `: ${this.detail}`) +
      (fields.length === 0 ? "" : ` [${fields.join("; ")}]`)
  }
}

/**
 * 404: no such envelope (or route: a wrong base URL).
 *
 * @since 0.1.0
 */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  status: Schema.Int,
  ...where,
  detail: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `the e-signature service has no ${at(this)} (HTTP ${this.status})${
      this.detail === undefined ? "" : `: ${this.detail}`
    }`
  }
}

/**
 * 409: the envelope's status forbids the operation (cancelling an envelope that is already
 * completed, declined or cancelled).
 *
 * @since 0.1.0
 */
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", {
  status: Schema.Int,
  ...where,
  code: Schema.String,
  envelopeStatus: Schema.optional(EnvelopeStatus),
  detail: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `the e-signature service refused ${at(this)} (HTTP ${this.status}, ${this.code})${
      this.envelopeStatus === undefined ? "" : `: the envelope is ${this.envelopeStatus}`
    }${this.detail === undefined ? "" : ` (${this.detail})`}`
  }
}

/**
 * 429: too many requests; `retryAfterMillis` from `Retry-After`.
 *
 * @since 0.1.0
 */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  status: Schema.Int,
  ...where,
  retryAfterMillis: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return `the e-signature service rate-limited ${at(this)} (HTTP ${this.status})${
      this.retryAfterMillis === undefined ? "" : `; retry after ${this.retryAfterMillis} ms`
    }`
  }
}

/**
 * 5xx: the service failed or is unavailable. A write may or may not have been applied.
 *
 * @since 0.1.0
 */
export class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", {
  status: Schema.Int,
  ...where,
  retryAfterMillis: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return `the e-signature service is unavailable: HTTP ${this.status} on ${at(this)}${
      this.retryAfterMillis === undefined ? "" : `; retry after ${this.retryAfterMillis} ms`
    }`
  }
}

/**
 * Any other status.
 *
 * @since 0.1.0
 */
export class UnexpectedStatus extends Schema.TaggedError<UnexpectedStatus>()("UnexpectedStatus", {
  status: Schema.Int,
  ...where,
  /** The start of the body, for diagnosis (never a secret: the client masks its own token). */
  body: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `the e-signature service answered HTTP ${this.status} on ${at(this)}${this.body ? `: ${this.body}` : ""}`
  }
}

/**
 * The connection failed: refused, reset (the service may have committed a write and then lost
 * the connection: the outcome is unknown), timed out, or another socket error.
 *
 * @since 0.1.0
 */
export class Transport extends Schema.TaggedError<Transport>()("Transport", {
  ...where,
  reason: Schema.Literal("refused", "reset", "timeout", "other"),
  detail: Schema.String
}) {
  override get message(): string {
    const what = this.reason === "timeout"
      ? "timed out"
      : this.reason === "refused"
      ? "could not connect"
      : this.reason === "reset"
      ? "lost the connection (the request may or may not have been applied)"
      : "failed"
    return `e-signature ${at(this)} ${what}: ${this.detail}`
  }
}

/**
 * A 2xx answer whose body is not what the route documents.
 *
 * @since 0.1.0
 */
export class Decode extends Schema.TaggedError<Decode>()("Decode", {
  status: Schema.Int,
  ...where,
  detail: Schema.String
}) {
  override get message(): string {
    return `the e-signature service answered ${at(this)} (HTTP ${this.status}) with an unexpected body: ${this.detail}`
  }
}

/**
 * An answer larger than the client's cap (`maxResponseBytes`, 16 MiB by default): the client
 * stopped reading and closed the connection. `responseStatus`, not `status`, so that a policy
 * retrying 5xx does not retry it (the same request gets the same answer).
 *
 * @since 0.1.0
 */
export class ResponseTooLarge extends Schema.TaggedError<ResponseTooLarge>()("ResponseTooLarge", {
  responseStatus: Schema.Int,
  ...where,
  limit: Schema.Number,
  received: Schema.Number,
  announced: Schema.Boolean
}) {
  override get message(): string {
    const seen = this.announced
      ? `its Content-Length announces ${HttpBody.formatBytes(this.received)}, so it was not read`
      : `reading stopped at ${HttpBody.formatBytes(this.limit)} (${HttpBody.formatBytes(this.received)} received)`
    return `the e-signature answer to ${at(this)} (HTTP ${this.responseStatus}) is larger than ` +
      `${HttpBody.formatBytes(this.limit)}; ${seen}. Check esign.url (it must point at the service), or raise ` +
      "esign.maxResponseBytes if such answers are expected."
  }
}

/**
 * What the caller gave the client does not encode (a missing title, a bad e-mail address).
 * Nothing was sent.
 *
 * @since 0.1.0
 */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  ...where,
  detail: Schema.String
}) {
  override get message(): string {
    return `invalid input for e-signature ${at(this)} (nothing was sent): ${this.detail}`
  }
}

/**
 * Every error a client method can fail with.
 *
 * @since 0.1.0
 */
export type EsignError =
  | Unauthorized
  | InvalidRequest
  | NotFound
  | Conflict
  | RateLimited
  | Unavailable
  | UnexpectedStatus
  | Transport
  | Decode
  | ResponseTooLarge
  | InvalidInput

/**
 * The configuration cannot work (an empty token after trimming...). Raised when the client is
 * built, never by a method. Most problems are caught earlier, by the `EsignConfig` schema.
 *
 * @since 0.1.0
 */
export class InvalidConfiguration extends Schema.TaggedError<InvalidConfiguration>()("InvalidConfiguration", {
  field: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid e-signature configuration (esign.${this.field}): ${this.reason}`
  }
}
