/**
 * What the steps fail with besides the client's errors: a signature that is not there yet
 * (retried by `esign/wait-signed`'s polling), one that will never come (declined, withdrawn,
 * past the deadline), and an envelope too far gone to be cancelled by a compensation.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { EnvelopeStatus } from "./Api.js"

/**
 * Who has not signed yet.
 *
 * @since 0.1.0
 */
export const Waiting = Schema.Struct({ name: Schema.String, email: Schema.String, role: Schema.String })

const list = (signers: ReadonlyArray<typeof Waiting.Type>) => signers.map((s) => `${s.name} (${s.role})`).join(", ")

/**
 * The envelope is still out for signature: one poll of `esign/wait-signed`. Its policy retries
 * it at the poll interval until the deadline.
 *
 * @since 0.1.0
 */
export class NotYetSigned extends Schema.TaggedError<NotYetSigned>()("NotYetSigned", {
  envelopeId: Schema.String,
  waiting: Schema.Array(Waiting),
  total: Schema.Int,
  elapsedMillis: Schema.Number
}) {
  override get message(): string {
    return `envelope ${this.envelopeId}: ${this.waiting.length} of ${this.total} signer(s) have not signed yet: ${list(this.waiting)}`
  }
}

/**
 * A signer declined: the envelope is closed and nobody else can sign it. Not retryable: send a
 * corrected document in a new envelope.
 *
 * @since 0.1.0
 */
export class SignatureDeclined extends Schema.TaggedError<SignatureDeclined>()("SignatureDeclined", {
  envelopeId: Schema.String,
  name: Schema.String,
  email: Schema.String,
  role: Schema.String,
  reason: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `envelope ${this.envelopeId} was declined by ${this.name} (${this.role}, ${this.email})${
      this.reason === undefined ? "" : `: "${this.reason}"`
    }; it is closed and cannot be signed any more`
  }
}

/**
 * The envelope was withdrawn (cancelled) while the run waited for it.
 *
 * @since 0.1.0
 */
export class EnvelopeCancelled extends Schema.TaggedError<EnvelopeCancelled>()("EnvelopeCancelled", {
  envelopeId: Schema.String,
  reason: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `envelope ${this.envelopeId} was cancelled${this.reason === undefined ? "" : ` (${this.reason})`}; it cannot be signed any more`
  }
}

/**
 * The deadline of `esign/wait-signed` passed with signatures still missing. Not retryable; the
 * envelope stays out for signature (the run's compensation cancels it).
 *
 * @since 0.1.0
 */
export class SignatureTimeout extends Schema.TaggedError<SignatureTimeout>()("SignatureTimeout", {
  envelopeId: Schema.String,
  deadlineMillis: Schema.Number,
  waiting: Schema.Array(Waiting)
}) {
  override get message(): string {
    return `envelope ${this.envelopeId}: still waiting after ${
      Math.round(this.deadlineMillis / 1000)
    } s for ${list(this.waiting)}`
  }
}

/**
 * A compensation met an envelope it cannot withdraw: every party has already signed. A signed
 * document is not undone by an API call; whoever handles the failed run must void it with the
 * signers. The run lists it as left to undo.
 *
 * @since 0.1.0
 */
export class EnvelopeNotCancellable extends Schema.TaggedError<EnvelopeNotCancellable>()("EnvelopeNotCancellable", {
  envelopeId: Schema.String,
  envelopeStatus: EnvelopeStatus
}) {
  override get message(): string {
    return `envelope ${this.envelopeId} is ${this.envelopeStatus}: every party has signed, so it cannot be withdrawn; ` +
      "void the signed document with the signers by hand"
  }
}
