/**
 * The e-signature steps. Each needs the `Client.EsignClient` service (the plugin's `layer`
 * provides it) and runs inside relais' engine, which gives it a `Step.StepContext`.
 *
 * | step | what | policy | compensation |
 * | --- | --- | --- | --- |
 * | `esign/send-for-signature` | create an envelope (the document, its signers) | {@link writePolicy}, reconciled | cancel the envelope |
 * | `esign/wait-signed` | poll until every signer has signed; fails on a decline, a cancel, the deadline | one attempt per poll ({@link makeWaitSigned}) | none |
 * | `esign/get-envelope` | read an envelope and each signer's status | {@link readPolicy} | none |
 *
 * @since 0.1.0
 */
import * as RetryPolicy from "@relais/core/RetryPolicy"
import * as Step from "@relais/core/Step"
import type * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import * as Api from "./Api.js"
import * as internal from "./internal/steps.js"

/**
 * Reads: 4 attempts, exponential from 500 ms to 10 s, jittered, on relais' default transient
 * failures (408, 429, 5xx, timeouts, `Transport`, `RateLimited`, `Unavailable`).
 *
 * @since 0.1.0
 */
export const readPolicy: RetryPolicy.RetryPolicy = RetryPolicy.exponential({
  maxAttempts: 4,
  initialDelay: "500 millis",
  maxDelay: "10 seconds",
  jitter: true
})

/**
 * The create: 4 attempts, exponential from 1 s to 30 s, jittered, on the default transient
 * failures. Before each retry (and before the first attempt of a resumed run) the step looks for
 * the envelope an earlier attempt may have created (see {@link sendForSignature}).
 *
 * @since 0.1.0
 */
export const writePolicy: RetryPolicy.RetryPolicy = RetryPolicy.exponential({
  maxAttempts: 4,
  initialDelay: "1 second",
  maxDelay: "30 seconds",
  jitter: true
})

// ---------------------------------------------------------------------------------------------
// send-for-signature
// ---------------------------------------------------------------------------------------------

const { externalReference: _, ...createFields } = Api.CreateEnvelope.fields

/**
 * The input of `esign/send-for-signature`: the envelope without its external reference, which
 * the step derives from the invocation (that is how it finds a lost envelope again).
 *
 * @since 0.1.0
 */
export const SendForSignatureInput = Schema.Struct(createFields).pipe(
  Schema.filter(
    (input) => {
      const seen = new Set<string>()
      for (const signer of input.signers) {
        const email = signer.email.toLowerCase()
        if (seen.has(email)) return `${signer.email} is given twice: each signer signs once, with their own address`
        seen.add(email)
      }
      return true
    },
    Step.inputRule({ fields: ["signers"], description: "each signer's e-mail address once" })
  )
)

/** @since 0.1.0 */
export type SendForSignatureInput = typeof SendForSignatureInput.Type

/**
 * `esign/send-for-signature`: `POST /api/v1/envelopes`. The service e-mails each signer.
 *
 * Not idempotent (every create is a new envelope), so it reconciles: the envelope's external
 * reference is `relais-<invocation key>`, and before a retry, or when a run resumes after a
 * crash, the step lists the envelopes with that reference and takes the one it finds instead of
 * sending the document a second time. Its compensation cancels the envelope; one already
 * cancelled, declined or gone is "nothing to undo"; one that every party has signed cannot be
 * withdrawn and is reported as left to undo by hand.
 *
 * @since 0.1.0
 */
export const sendForSignature = Step.make({
  name: "esign/send-for-signature",
  description: "Send a document for signature (POST /api/v1/envelopes): one envelope, each signer invited by e-mail. " +
    "Returns the envelope (status sent).",
  input: SendForSignatureInput,
  output: Api.Envelope,
  run: internal.sendForSignature,
  reconcile: internal.reconcileSend,
  compensate: {
    description: "cancel the envelope",
    run: internal.cancelSent
  },
  retry: writePolicy,
  timeout: "45 seconds"
})

// ---------------------------------------------------------------------------------------------
// wait-signed
// ---------------------------------------------------------------------------------------------

/**
 * The input of `esign/wait-signed` and `esign/get-envelope`.
 *
 * @since 0.1.0
 */
export const EnvelopeInput = Schema.Struct({ envelopeId: Api.EnvelopeId })

/**
 * The output of `esign/wait-signed`: who signed, when.
 *
 * @since 0.1.0
 */
export const WaitSignedOutput = Schema.Struct({
  envelopeId: Api.EnvelopeId,
  status: Schema.Literal("completed"),
  completedAt: Schema.optional(Api.Timestamp),
  signers: Schema.Array(Schema.Struct({
    name: Schema.String,
    email: Schema.String,
    role: Schema.String,
    signedAt: Schema.optional(Api.Timestamp)
  })),
  /** From the first poll of this invocation (kept across resumes) to the one that found it complete. */
  waitedMillis: Schema.Number
})

/** @since 0.1.0 */
export type WaitSignedOutput = typeof WaitSignedOutput.Type

/**
 * How `esign/wait-signed` polls.
 *
 * @since 0.1.0
 */
export interface WaitOptions {
  /** Between two polls (default 5 minutes): a `Duration`, or text such as `30s`, `5m`, `"5 minutes"`. */
  readonly pollInterval?: Duration.DurationInput | string | undefined
  /** How long to wait in all, from the first poll (default 8 hours). */
  readonly deadline?: Duration.DurationInput | string | undefined
}

/**
 * The default polling: every 5 minutes for 8 hours (97 polls). People sign in hours, not
 * seconds; a relais retry policy allows at most 100 attempts, so a longer deadline needs a
 * longer interval.
 *
 * @since 0.1.0
 */
export const defaultWait = { pollInterval: "5 minutes", deadline: "8 hours" } as const

/**
 * Builds `esign/wait-signed` for given polling parameters.
 *
 * Durable polling through the engine: each attempt reads the envelope once. While signatures
 * are missing it fails with `NotYetSigned`, which the step's policy retries every
 * `pollInterval` (each poll is in the run history). The deadline runs from the invocation's
 * first poll, kept in its journaled step state, so a run resumed after a crash keeps its
 * original deadline; once it has passed, the step fails with `SignatureTimeout`, naming who has
 * not signed. A decline fails at once with `SignatureDeclined` (who, and why), a withdrawn
 * envelope with `EnvelopeCancelled`.
 *
 * @since 0.1.0
 */
export const makeWaitSigned = (options: WaitOptions = {}) => {
  const { deadlineMillis, policy } = internal.waitPolicy(
    options.pollInterval ?? defaultWait.pollInterval,
    options.deadline ?? defaultWait.deadline
  )
  return Step.make({
    name: "esign/wait-signed",
    description: `Wait until every signer of an envelope has signed (polls GET /api/v1/envelopes/{id} ${
      RetryPolicy.describe(policy)
    }); fails at once when one declines, and with SignatureTimeout after ${deadlineMillis / 1000} s.`,
    input: EnvelopeInput,
    output: WaitSignedOutput,
    run: internal.waitSigned(deadlineMillis),
    retry: policy,
    timeout: "60 seconds",
    idempotent: true,
    polls: true
  })
}

/**
 * `esign/wait-signed` with the default polling ({@link defaultWait}).
 *
 * @since 0.1.0
 */
export const waitSigned = makeWaitSigned()

// ---------------------------------------------------------------------------------------------
// get-envelope
// ---------------------------------------------------------------------------------------------

/**
 * `esign/get-envelope`: `GET /api/v1/envelopes/{id}`, the envelope and each signer's status.
 *
 * @since 0.1.0
 */
export const getEnvelope = Step.make({
  name: "esign/get-envelope",
  description: "Read an envelope (GET /api/v1/envelopes/{id}): its status and each signer's (pending, signed, declined).",
  input: EnvelopeInput,
  output: Api.Envelope,
  run: internal.getEnvelope,
  retry: readPolicy,
  timeout: "45 seconds",
  idempotent: true
})
