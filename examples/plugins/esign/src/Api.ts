/**
 * The e-signature service's HTTP API, as data: every body the client sends or reads, as an
 * Effect Schema. The sandbox answers with exactly these shapes, and the client decodes every
 * answer with them, so the two cannot drift apart.
 *
 * The API (JSON, `Authorization: Bearer <token>` on every route):
 *
 * | route | what | answers |
 * | --- | --- | --- |
 * | `POST /api/v1/envelopes` | send a document for signature ({@link CreateEnvelope}) | 201 {@link Envelope} |
 * | `GET /api/v1/envelopes/{id}` | one envelope, with each signer's status | 200 {@link Envelope}, 404 |
 * | `GET /api/v1/envelopes?externalReference=&limit=` | envelopes, newest first, optionally by external reference | 200 {@link EnvelopeList} |
 * | `POST /api/v1/envelopes/{id}/cancel` | withdraw an envelope still out for signature ({@link CancelEnvelope}) | 200 {@link Envelope}, 404, 409 when it is no longer `sent` |
 *
 * Errors are `{ "error": "<code>", "message": "...", "details"?: [{ "field", "message" }],
 * "envelopeStatus"?: "..." }` ({@link ErrorBody}) with 400 (`invalid_request`), 401
 * (`unauthorized`), 404 (`not_found`), 409 (`envelope_not_cancellable`), 429 (`rate_limited`,
 * with `Retry-After`) and 5xx (`server_error`).
 *
 * An envelope is `sent` until every signer has signed (`completed`), one signer declines
 * (`declined`: the others can no longer sign) or the sender withdraws it (`cancelled`). Those
 * three are final.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * An envelope's id, e.g. `env_8f3k2m9q1x`.
 *
 * @since 0.1.0
 */
export const EnvelopeId = Schema.String.pipe(
  Schema.pattern(/^env_[a-z0-9]+$/, { message: () => "an envelope id looks like env_8f3k2m9q1x" }),
  Schema.brand("EnvelopeId")
).annotations({ identifier: "EnvelopeId", description: "an envelope id, e.g. env_8f3k2m9q1x" })

/** @since 0.1.0 */
export type EnvelopeId = typeof EnvelopeId.Type

/**
 * A signer's id within an envelope, e.g. `sig_2b7d0c`.
 *
 * @since 0.1.0
 */
export const SignerId = Schema.String.pipe(Schema.brand("SignerId")).annotations({ identifier: "SignerId" })

/** @since 0.1.0 */
export type SignerId = typeof SignerId.Type

/**
 * Where a signer is: `pending` (asked, not answered yet), `signed`, `declined`.
 *
 * @since 0.1.0
 */
export const SignerStatus = Schema.Literal("pending", "signed", "declined")

/** @since 0.1.0 */
export type SignerStatus = typeof SignerStatus.Type

/**
 * Where an envelope is: `sent` (out for signature), then one of the final `completed` (every
 * signer signed), `declined` (a signer refused), `cancelled` (withdrawn by the sender).
 *
 * @since 0.1.0
 */
export const EnvelopeStatus = Schema.Literal("sent", "completed", "declined", "cancelled")

/** @since 0.1.0 */
export type EnvelopeStatus = typeof EnvelopeStatus.Type

/** A text that is not blank, at most `max` characters (a filter, not a transformation: what is sent is what was given). */
const Text = (max: number) =>
  Schema.String.pipe(
    Schema.filter((text) => text.trim().length > 0 || "must not be empty"),
    Schema.maxLength(max)
  )

/**
 * An e-mail address, checked loosely (something@domain.tld): the service sends the invitation
 * to it.
 *
 * @since 0.1.0
 */
export const Email = Schema.String.pipe(
  Schema.pattern(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, { message: () => "expected an e-mail address (name@domain.tld)" }),
  Schema.maxLength(254)
).annotations({ description: "an e-mail address" })

/**
 * A timestamp as the service writes it: ISO 8601 in UTC (`2026-03-02T09:15:00.000Z`).
 *
 * @since 0.1.0
 */
export const Timestamp = Schema.String.pipe(
  Schema.pattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, {
    message: () => "expected an ISO 8601 UTC timestamp (2026-03-02T09:15:00.000Z)"
  })
).annotations({ description: "an ISO 8601 UTC timestamp" })

/**
 * The document to sign: the sender's reference (e.g. the convention's code in AIMAIRA) and an
 * optional file name shown to the signers.
 *
 * @since 0.1.0
 */
export const Document = Schema.Struct({
  reference: Text(200).annotations({ description: "the sender's reference of the document (e.g. a convention code)" }),
  name: Schema.optional(Text(200).annotations({ description: "the file name the signers see" }))
})

/** @since 0.1.0 */
export type Document = typeof Document.Type

/**
 * A signer as the sender names them: who, where to send the invitation, and in what capacity.
 *
 * @since 0.1.0
 */
export const SignerRequest = Schema.Struct({
  name: Text(200).annotations({ description: "the signer's full name" }),
  email: Email,
  role: Text(50).annotations({ description: "in what capacity they sign: learner, company, school..." })
})

/** @since 0.1.0 */
export type SignerRequest = typeof SignerRequest.Type

/**
 * The body of `POST /api/v1/envelopes`.
 *
 * @since 0.1.0
 */
export const CreateEnvelope = Schema.Struct({
  title: Text(200).annotations({ description: "what the signers see as the subject" }),
  document: Document,
  /** One to ten signers, each e-mail address once. */
  signers: Schema.Array(SignerRequest).pipe(Schema.minItems(1), Schema.maxItems(10)),
  /**
   * The sender's own key for this envelope, to find it again (`GET
   * /api/v1/envelopes?externalReference=`). The service does not require it to be unique.
   */
  externalReference: Schema.optional(Text(100)),
  /** The text of the invitation e-mail. */
  message: Schema.optional(Text(2000).annotations({ description: "the text of the invitation e-mail" }))
})

/** @since 0.1.0 */
export type CreateEnvelope = typeof CreateEnvelope.Type

/**
 * A signer of an envelope, with where they are.
 *
 * @since 0.1.0
 */
export class Signer extends Schema.Class<Signer>("@cfa-example/relais-esign/Signer")({
  id: SignerId,
  name: Schema.String,
  email: Schema.String,
  role: Schema.String,
  status: SignerStatus,
  signedAt: Schema.optional(Timestamp),
  declinedAt: Schema.optional(Timestamp),
  /** What the signer wrote when declining, if anything. */
  declineReason: Schema.optional(Schema.String)
}) {}

/**
 * An envelope: a document sent to signers.
 *
 * @since 0.1.0
 */
export class Envelope extends Schema.Class<Envelope>("@cfa-example/relais-esign/Envelope")({
  id: EnvelopeId,
  status: EnvelopeStatus,
  title: Schema.String,
  document: Document,
  signers: Schema.Array(Signer),
  externalReference: Schema.optional(Schema.String),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  /** When the last signer signed (`completed`). */
  completedAt: Schema.optional(Timestamp),
  cancelledAt: Schema.optional(Timestamp),
  cancelReason: Schema.optional(Schema.String)
}) {}

/**
 * The answer of `GET /api/v1/envelopes`: newest first, at most `limit` (default 20, at most
 * 100); `hasMore` when more match.
 *
 * @since 0.1.0
 */
export const EnvelopeList = Schema.Struct({
  data: Schema.Array(Envelope),
  hasMore: Schema.Boolean
})

/** @since 0.1.0 */
export type EnvelopeList = typeof EnvelopeList.Type

/**
 * The body of `POST /api/v1/envelopes/{id}/cancel`.
 *
 * @since 0.1.0
 */
export const CancelEnvelope = Schema.Struct({
  reason: Schema.optional(Text(500))
})

/** @since 0.1.0 */
export type CancelEnvelope = typeof CancelEnvelope.Type

/**
 * The body of every error answer.
 *
 * @since 0.1.0
 */
export const ErrorBody = Schema.Struct({
  error: Schema.String,
  message: Schema.optional(Schema.String),
  details: Schema.optional(Schema.Array(Schema.Struct({ field: Schema.String, message: Schema.String }))),
  /** With 409: the envelope's status, which forbids the operation. */
  envelopeStatus: Schema.optional(EnvelopeStatus)
})

/** @since 0.1.0 */
export type ErrorBody = typeof ErrorBody.Type
