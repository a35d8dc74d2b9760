/**
 * The errors of the Campus Skills client: one tagged union for the package.
 *
 * Convention the retry policy of `@relais/core` relies on: every error that comes from an HTTP
 * response carries its numeric `status`; `RateLimited` and `Unavailable` carry
 * `retryAfterMillis` when the server sent `Retry-After`. None of them ever holds the token (nor
 * the request, whose headers would): only the method and the path.
 *
 * @since 0.1.0
 */
import * as HttpBody from "@relais/core/HttpBody"
import * as Schema from "effect/Schema"
import { InvalidContract } from "./Contract.js"

const where = { method: Schema.String, path: Schema.String }

const at = (e: { readonly method: string; readonly path: string }) => `${e.method} ${e.path}`

/**
 * 401 / 403: the token was refused (`{"error": "invalid token", "reason": "..."}`).
 *
 * @since 0.1.0
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  status: Schema.Int,
  ...where,
  reason: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `Campus Skills refused the token (HTTP ${this.status} on ${at(this)})${
      this.reason === undefined ? "" : `: ${this.reason}`
    }. Check the configured token (CAMPUS_SKILLS_TOKEN).`
  }
}

/**
 * 400 / 422: the request was refused, with the refused contracts when the server names them.
 *
 * @since 0.1.0
 */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  status: Schema.Int,
  ...where,
  error: Schema.optional(Schema.String),
  reason: Schema.optional(Schema.String),
  invalidContrats: Schema.optional(Schema.Array(InvalidContract))
}) {
  override get message(): string {
    const head = `Campus Skills refused ${at(this)} (HTTP ${this.status}): ${this.error ?? "invalid request"}${
      this.reason === undefined ? "" : ` (${this.reason})`
    }`
    const invalid = this.invalidContrats ?? []
    if (invalid.length === 0) return head
    const shown = invalid.slice(0, 3).map((c) =>
      `${c.codeContrat ?? `#${c.index ?? "?"}`}: ${c.reasons.map((r) => r.message).join("; ")}`
    )
    const more = invalid.length > 3 ? `; and ${invalid.length - 3} more` : ""
    return `${head}. ${invalid.length} invalid contract(s): ${shown.join(" | ")}${more}`
  }
}

/**
 * 429: too many requests.
 *
 * @since 0.1.0
 */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  status: Schema.Int,
  ...where,
  retryAfterMillis: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return `Campus Skills rate-limited ${at(this)} (HTTP ${this.status})${
      this.retryAfterMillis === undefined ? "" : `; retry after ${this.retryAfterMillis} ms`
    }`
  }
}

/**
 * 5xx: the service failed or is unavailable.
 *
 * @since 0.1.0
 */
export class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", {
  status: Schema.Int,
  ...where,
  retryAfterMillis: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return `Campus Skills is unavailable: HTTP ${this.status} on ${at(this)}${
      this.retryAfterMillis === undefined ? "" : `; retry after ${this.retryAfterMillis} ms`
    }`
  }
}

/**
 * 404: no such route (a wrong base URL, usually).
 *
 * @since 0.1.0
 */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  status: Schema.Int,
  ...where
}) {
  override get message(): string {
    return `Campus Skills has no ${at(this)} (HTTP ${this.status}): check the configured URL (CAMPUS_SKILLS_URL)`
  }
}

/**
 * Any other non-2xx status.
 *
 * @since 0.1.0
 */
export class UnexpectedStatus extends Schema.TaggedError<UnexpectedStatus>()("UnexpectedStatus", {
  status: Schema.Int,
  ...where,
  /** The start of the body, for diagnosis. */
  body: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `Campus Skills answered HTTP ${this.status} on ${at(this)}${this.body ? `: ${this.body}` : ""}`
  }
}

/**
 * The connection failed: refused, reset (e.g. the server committed and then dropped the
 * connection, so the outcome is unknown), timed out, or another socket error.
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
    return `Campus Skills ${at(this)} ${what}: ${this.detail}`
  }
}

/**
 * The server answered 2xx with a body that is not what the route documents.
 *
 * @since 0.1.0
 */
export class Decode extends Schema.TaggedError<Decode>()("Decode", {
  status: Schema.Int,
  ...where,
  detail: Schema.String
}) {
  override get message(): string {
    return `Campus Skills answered ${at(this)} (HTTP ${this.status}) with an unexpected body: ${this.detail}`
  }
}

/**
 * An answer larger than the client's cap (`maxResponseBytes`, 16 MiB by default): the client
 * stopped reading it and closed the connection, so nothing in it is used. No documented Campus
 * Skills answer comes near the cap: the server is misbehaving, or the URL points at something
 * that is not the API. `responseStatus` (not `status`) so that a retry policy naming statuses
 * does not retry it: the same request would get the same answer. A write whose answer was too
 * large may have been applied: the steps reconcile it as any lost answer.
 *
 * @since 0.1.0
 */
export class ResponseTooLarge extends Schema.TaggedError<ResponseTooLarge>()("ResponseTooLarge", {
  /** The status of the oversized answer. */
  responseStatus: Schema.Int,
  ...where,
  /** The cap, in bytes. */
  limit: Schema.Number,
  /** At least this many bytes: what `Content-Length` announced, or what had arrived when reading stopped. */
  received: Schema.Number,
  /** Whether `received` is the announced `Content-Length` (nothing was read). */
  announced: Schema.Boolean
}) {
  override get message(): string {
    const seen = this.announced
      ? `its Content-Length announces ${HttpBody.formatBytes(this.received)}, so relais did not read it`
      : `relais stopped reading at ${HttpBody.formatBytes(this.limit)} (${HttpBody.formatBytes(this.received)} received)`
    return `Campus Skills: the answer to ${at(this)} (HTTP ${this.responseStatus}) is larger than ` +
      `${HttpBody.formatBytes(this.limit)}; ${seen}. Check the configured URL (CAMPUS_SKILLS_URL: it must point at ` +
      "the Campus Skills application) and the server, or raise the limit (CAMPUS_SKILLS_MAX_RESPONSE_BYTES) if such " +
      "answers are expected."
  }
}

/**
 * What the caller gave the client does not encode (e.g. a plain object passed as a `Contract`).
 *
 * @since 0.1.0
 */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  ...where,
  detail: Schema.String
}) {
  override get message(): string {
    return `Invalid input for Campus Skills ${at(this)}: ${this.detail}`
  }
}

/**
 * Every error a client method can fail with.
 *
 * @since 0.1.0
 */
export type CampusSkillsError =
  | Unauthorized
  | InvalidRequest
  | RateLimited
  | Unavailable
  | NotFound
  | UnexpectedStatus
  | Transport
  | Decode
  | ResponseTooLarge
  | InvalidInput

/**
 * The schema of the union, to journal or decode errors.
 *
 * @since 0.1.0
 */
export const CampusSkillsError = Schema.Union(
  Unauthorized,
  InvalidRequest,
  RateLimited,
  Unavailable,
  NotFound,
  UnexpectedStatus,
  Transport,
  Decode,
  ResponseTooLarge,
  InvalidInput
)

/**
 * The client configuration cannot work (a non-HTTPS URL, an empty token...). Raised when the
 * client is built from options that did not come through the `CampusSkillsConfig.Options`
 * schema (which reports the same problems, at their path), never by a method.
 *
 * @since 0.1.0
 */
export class InvalidConfiguration extends Schema.TaggedError<InvalidConfiguration>()("InvalidConfiguration", {
  field: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Invalid Campus Skills configuration (${this.field}): ${this.reason}`
  }
}
