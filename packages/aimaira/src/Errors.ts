/**
 * The errors of the AIMAIRA client: one tagged union, `AimairaError`, journaled as JSON.
 *
 * Convention the retry policy of `@relais/core` relies on: every error that comes from an HTTP
 * response carries its numeric `status`; `RateLimited` and `Unavailable` carry
 * `retryAfterMillis` when the server sent `Retry-After`. Tags are the plain names the policy
 * matches (`"Transport"`, `"RateLimited"`, `"Unavailable"`).
 *
 * No error ever holds a credential: requests are described by method and path only, and server
 * messages are scrubbed of the configured secrets.
 *
 * @since 0.1.0
 */
import * as HttpBody from "@relais/core/HttpBody"
import * as Schema from "effect/Schema"

const where = (method: string, path: string) => `${method} ${path}`

/**
 * 404: the entity (or route) does not exist.
 *
 * @since 0.1.0
 */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  status: Schema.Number,
  method: Schema.String,
  path: Schema.String,
  entitySet: Schema.optional(Schema.String),
  key: Schema.optional(Schema.Number),
  detail: Schema.String
}) {
  override get message(): string {
    const what = this.entitySet !== undefined && this.key !== undefined ? `${this.entitySet} ${this.key} not found` : "not found"
    return `AIMAIRA: ${what} (${this.status} on ${where(this.method, this.path)}): ${this.detail}`
  }
}

/**
 * 401/403: the credentials were refused. The message never contains them.
 *
 * @since 0.1.0
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  status: Schema.Number,
  method: Schema.String,
  path: Schema.String,
  /** Which kind of credentials was sent. */
  auth: Schema.Literal("Basic", "ApiKey"),
  detail: Schema.String
}) {
  override get message(): string {
    const hint = this.auth === "Basic"
      ? "check AIMAIRA_USERNAME / AIMAIRA_PASSWORD"
      : "check AIMAIRA_API_KEY"
    return `AIMAIRA refused the ${this.auth === "Basic" ? "user name and password" : "API key"} (${this.status} on ${where(this.method, this.path)}): ${this.detail}; ${hint} and that they belong to this instance (pre-production and production have different credentials).`
  }
}

/**
 * 400 (and other 4xx): the request was refused as invalid, with the OData error message and the
 * property at fault when known.
 *
 * @since 0.1.0
 */
export class Validation extends Schema.TaggedError<Validation>()("Validation", {
  status: Schema.Number,
  method: Schema.String,
  path: Schema.String,
  code: Schema.optional(Schema.String),
  field: Schema.optional(Schema.String),
  detail: Schema.String
}) {
  override get message(): string {
    const field = this.field === undefined ? "" : ` [${this.field}]`
    return `AIMAIRA rejected ${where(this.method, this.path)} (${this.status})${field}: ${this.detail}`
  }
}

/**
 * 409: the write conflicts with existing data (e.g. an `EntrepriseId` already used by another
 * convention).
 *
 * @since 0.1.0
 */
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", {
  status: Schema.Number,
  method: Schema.String,
  path: Schema.String,
  field: Schema.optional(Schema.String),
  detail: Schema.String
}) {
  override get message(): string {
    const field = this.field === undefined ? "" : ` [${this.field}]`
    return `AIMAIRA conflict on ${where(this.method, this.path)} (${this.status})${field}: ${this.detail}`
  }
}

/**
 * 429: too many requests.
 *
 * @since 0.1.0
 */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  status: Schema.Number,
  method: Schema.String,
  path: Schema.String,
  retryAfterMillis: Schema.optional(Schema.Number),
  detail: Schema.String
}) {
  override get message(): string {
    const wait = this.retryAfterMillis === undefined ? "" : `, retry after ${this.retryAfterMillis} ms`
    return `AIMAIRA rate limit on ${where(this.method, this.path)} (${this.status}${wait}): ${this.detail}`
  }
}

/**
 * 5xx (and 408): the server could not answer.
 *
 * @since 0.1.0
 */
export class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", {
  status: Schema.Number,
  method: Schema.String,
  path: Schema.String,
  retryAfterMillis: Schema.optional(Schema.Number),
  detail: Schema.String
}) {
  override get message(): string {
    const wait = this.retryAfterMillis === undefined ? "" : `, retry after ${this.retryAfterMillis} ms`
    return `AIMAIRA unavailable on ${where(this.method, this.path)} (${this.status}${wait}): ${this.detail}`
  }
}

/**
 * No usable response: connection refused or reset, socket closed mid-answer, DNS failure. A write
 * may or may not have happened.
 *
 * @since 0.1.0
 */
export class Transport extends Schema.TaggedError<Transport>()("Transport", {
  method: Schema.String,
  path: Schema.String,
  /** The status, when the response started but its body could not be read. */
  status: Schema.optional(Schema.Number),
  reason: Schema.String
}) {
  override get message(): string {
    return `AIMAIRA unreachable on ${where(this.method, this.path)}: ${this.reason}`
  }
}

/**
 * The response was not what the API documents: not JSON, or a property of the wrong type.
 *
 * @since 0.1.0
 */
export class Decode extends Schema.TaggedError<Decode>()("Decode", {
  status: Schema.Number,
  method: Schema.String,
  path: Schema.String,
  entitySet: Schema.optional(Schema.String),
  /** The property at fault (`DateDebut`, `value.3.Nom`), when the body was JSON. */
  field: Schema.optional(Schema.String),
  detail: Schema.String
}) {
  override get message(): string {
    const field = this.field === undefined ? "" : ` at ${this.field}`
    const of = this.entitySet === undefined ? "" : ` ${this.entitySet}`
    return `Unexpected AIMAIRA${of} response to ${where(this.method, this.path)} (${this.status})${field}: ${this.detail}`
  }
}

/**
 * The answer's body was larger than the client's limit (`maxResponseBytes`, 16 MiB by default):
 * the client stopped reading it and closed the connection, so nothing in it is used. No
 * documented AIMAIRA answer comes near the limit: the server is misbehaving, or the URL points
 * at something that is not the API. Not retried by the default policies (the same request
 * would get the same answer); as for any failed write, the step's reconciliation looks for what
 * the request may have stored before the step is declared failed.
 *
 * @since 0.1.0
 */
export class ResponseTooLarge extends Schema.TaggedError<ResponseTooLarge>()("ResponseTooLarge", {
  /** The status of the oversized answer. */
  responseStatus: Schema.Number,
  method: Schema.String,
  path: Schema.String,
  /** The limit, in bytes. */
  limit: Schema.Number,
  /** At least this many bytes: what `Content-Length` announced, or what had arrived when reading stopped. */
  received: Schema.Number,
  /** Whether `received` is the announced `Content-Length` (nothing was read). */
  announced: Schema.Boolean
}) {
  override get message(): string {
    const seen = this.announced
      ? `its Content-Length announces ${HttpBody.formatBytes(this.received)}, so relais did not read it`
      : `relais stops reading at ${HttpBody.formatBytes(this.limit)} (${HttpBody.formatBytes(this.received)} received)`
    return `AIMAIRA: the answer to ${where(this.method, this.path)} (${this.responseStatus}) is larger than ` +
      `${HttpBody.formatBytes(this.limit)}; ${seen}. Check AIMAIRA_URL (it must point at the GraphV1 API) and the server, ` +
      "or raise the client's maxResponseBytes if such answers are expected."
  }
}

/**
 * Every error of the client.
 *
 * @since 0.1.0
 */
export const AimairaError = Schema.Union(
  NotFound,
  Unauthorized,
  Validation,
  Conflict,
  RateLimited,
  Unavailable,
  Transport,
  Decode,
  ResponseTooLarge
)

/**
 * @since 0.1.0
 */
export type AimairaError = typeof AimairaError.Type

/**
 * The client's configuration cannot work (plain HTTP to a remote host, an empty password...).
 * Raised when the client is built from options that did not come through the
 * `AimairaConfig.Options` schema (which reports the same problems, at their path), before any
 * request, never by a method.
 *
 * @since 0.1.0
 */
export class InvalidConfiguration extends Schema.TaggedError<InvalidConfiguration>()("InvalidConfiguration", {
  field: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Invalid AIMAIRA configuration (${this.field}): ${this.reason}`
  }
}
