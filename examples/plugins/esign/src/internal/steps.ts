import * as ProviderKit from "@relais/core/ProviderKit"
import * as RetryPolicy from "@relais/core/RetryPolicy"
import * as Step from "@relais/core/Step"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Api from "../Api.js"
import { EsignClient } from "../Client.js"
import type * as Errors from "../Errors.js"
import {
  EnvelopeCancelled,
  EnvelopeNotCancellable,
  NotYetSigned,
  SignatureDeclined,
  SignatureTimeout
} from "../StepErrors.js"

/**
 * The external reference of the envelope an invocation sends: derived from the invocation key,
 * the same for every attempt of the invocation and after a resume, different for any other
 * invocation (another run, another loop item). `reconcile` finds a lost envelope by it.
 */
export const externalReferenceOf = (key: string): string => `relais-${key}`

/** Why a compensation cancels: also how it recognises its own earlier, answer-lost cancel. */
export const cancelReason = "the relais run that sent it failed and was compensated"

export const sendForSignature = (
  input: Omit<Api.CreateEnvelope, "externalReference">
): Effect.Effect<Api.Envelope, Errors.EsignError, EsignClient | Step.StepContext> =>
  Effect.gen(function*() {
    const client = yield* EsignClient
    const { key } = yield* Step.StepContext
    return yield* client.createEnvelope({ ...input, externalReference: externalReferenceOf(key) })
  })

/**
 * An earlier attempt's envelope whose answer was lost (a connection dropped after the commit, a
 * 5xx, a timeout): the one carrying this invocation's reference. A cancelled one does not count
 * (nothing cancels an envelope between two attempts but a person, who meant it).
 */
export const reconcileSend = (
  _input: unknown
): Effect.Effect<Option.Option<Api.Envelope>, Errors.EsignError, EsignClient | Step.StepContext> =>
  Effect.gen(function*() {
    const client = yield* EsignClient
    const { key } = yield* Step.StepContext
    const found = yield* client.listEnvelopes({ externalReference: externalReferenceOf(key), limit: 10 })
    return Option.fromNullable(found.data.find((envelope) => envelope.status !== "cancelled"))
  })

/**
 * Withdraw the envelope. Already closed is fine (nothing to undo), except when every party has
 * signed: that cannot be withdrawn, and is left to a person.
 */
export const cancelSent = (
  _input: unknown,
  envelope: Api.Envelope
): Effect.Effect<Step.CompensationResult | undefined, Errors.EsignError | EnvelopeNotCancellable, EsignClient> =>
  Effect.gen(function*() {
    const client = yield* EsignClient
    return yield* client.cancelEnvelope(envelope.id, cancelReason).pipe(
      Effect.as(undefined),
      Effect.catchTags({
        NotFound: () => Effect.succeed(Step.nothingToUndo(`envelope ${envelope.id} no longer exists`)),
        Conflict: (conflict) => {
          switch (conflict.envelopeStatus) {
            case "declined":
              return Effect.succeed(
                Step.nothingToUndo(`envelope ${envelope.id} was declined by a signer: it is closed, nobody can sign it`)
              )
            case "completed":
              return Effect.fail(new EnvelopeNotCancellable({ envelopeId: envelope.id, envelopeStatus: "completed" }))
            case "cancelled":
              // This compensation's own earlier attempt may have cancelled it and lost the answer.
              return Effect.map(client.getEnvelope(envelope.id), (current) =>
                current.cancelReason === cancelReason
                  ? undefined
                  : Step.nothingToUndo(`envelope ${envelope.id} was already cancelled`))
            default:
              return Effect.fail(conflict)
          }
        }
      })
    )
  })

export const getEnvelope = (
  input: { readonly envelopeId: Api.EnvelopeId }
): Effect.Effect<Api.Envelope, Errors.EsignError, EsignClient> =>
  Effect.flatMap(EsignClient, (client) => client.getEnvelope(input.envelopeId))

/**
 * A duration given to the factory, in code (`Duration.minutes(5)`, `"5 minutes"`) or as text in
 * a configuration file's plugin options (`5m`, `30s`); `NaN` when it is neither.
 */
const millisOf = (input: Duration.DurationInput | string): number => {
  if (typeof input === "string") {
    const text = ProviderKit.parseDuration(input)
    if (Either.isRight(text)) return Duration.toMillis(text.right)
  }
  const decoded = Duration.decodeUnknown(input)
  return decoded._tag === "Some" ? Duration.toMillis(decoded.value) : Number.NaN
}

/** The most attempts a relais retry policy allows. */
const maxPolicyAttempts = 100

/**
 * The policy of `esign/wait-signed`: one attempt per poll, at a constant interval, as many as
 * the deadline needs (plus the first).
 */
export const waitPolicy = (pollInterval: Duration.DurationInput | string, deadline: Duration.DurationInput | string) => {
  const intervalMillis = millisOf(pollInterval)
  const deadlineMillis = millisOf(deadline)
  if (!(intervalMillis > 0) || !Number.isFinite(intervalMillis)) {
    throw new RangeError(`esign wait-signed: pollInterval must be a positive duration (30s, 5m), got ${JSON.stringify(pollInterval)}`)
  }
  if (!(deadlineMillis >= 0) || !Number.isFinite(deadlineMillis)) {
    throw new RangeError(`esign wait-signed: deadline must be a finite duration (8h, 90m), got ${JSON.stringify(deadline)}`)
  }
  const maxAttempts = Math.ceil(deadlineMillis / intervalMillis) + 1
  if (maxAttempts > maxPolicyAttempts) {
    throw new RangeError(
      `esign wait-signed: a deadline of ${Duration.format(Duration.millis(deadlineMillis))} polled every ` +
        `${Duration.format(Duration.millis(intervalMillis))} needs ${maxAttempts} attempts, more than the ` +
        `${maxPolicyAttempts} a relais retry policy allows: poll at least every ${
          Math.ceil(deadlineMillis / (maxPolicyAttempts - 1) / 1000)
        } s`
    )
  }
  const policy = RetryPolicy.constant({
    maxAttempts,
    initialDelay: intervalMillis,
    maxDelay: intervalMillis,
    retryOn: ["NotYetSigned", ...RetryPolicy.defaultRetryOn]
  })
  return { deadlineMillis, policy }
}

/** What the first poll of an invocation saves: the deadline runs from there, across resumes. */
const FirstPoll = Schema.Struct({ firstPollAt: Schema.Number })

const signerOf = (s: Api.Signer) => ({ name: s.name, email: s.email, role: s.role })

export const waitSigned = (deadlineMillis: number) => (input: { readonly envelopeId: Api.EnvelopeId }) =>
  Effect.gen(function*() {
    const client = yield* EsignClient
    const { firstPollAt } = yield* Step.rememberState(
      FirstPoll,
      Effect.map(Clock.currentTimeMillis, (at) => ({ firstPollAt: at }))
    )
    const envelope = yield* client.getEnvelope(input.envelopeId)
    const elapsedMillis = (yield* Clock.currentTimeMillis) - firstPollAt
    const envelopeId = envelope.id
    switch (envelope.status) {
      case "completed":
        return {
          envelopeId,
          status: "completed" as const,
          ...(envelope.completedAt === undefined ? {} : { completedAt: envelope.completedAt }),
          signers: envelope.signers.map((s) => ({ ...signerOf(s), ...(s.signedAt === undefined ? {} : { signedAt: s.signedAt }) })),
          waitedMillis: elapsedMillis
        }
      case "declined": {
        const decliner = envelope.signers.find((s) => s.status === "declined")
        return yield* new SignatureDeclined({
          envelopeId,
          name: decliner?.name ?? "a signer",
          email: decliner?.email ?? "unknown",
          role: decliner?.role ?? "unknown",
          ...(decliner?.declineReason === undefined ? {} : { reason: decliner.declineReason })
        })
      }
      case "cancelled":
        return yield* new EnvelopeCancelled({
          envelopeId,
          ...(envelope.cancelReason === undefined ? {} : { reason: envelope.cancelReason })
        })
      case "sent": {
        const waiting = envelope.signers.filter((s) => s.status !== "signed").map(signerOf)
        if (elapsedMillis < deadlineMillis) {
          return yield* new NotYetSigned({ envelopeId, waiting, total: envelope.signers.length, elapsedMillis })
        }
        return yield* new SignatureTimeout({ envelopeId, deadlineMillis, waiting })
      }
    }
  })
