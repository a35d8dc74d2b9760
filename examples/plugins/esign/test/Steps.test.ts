/**
 * The steps inside relais' engine (in memory), with the plugin's client layer on the real HTTP
 * client, against the sandbox: what a run does with them, event by event.
 *
 * - send-for-signature: sent, retried on 429 (honouring Retry-After) and 500, reconciled after
 *   a dropped answer (one envelope, not two);
 * - compensation: cancels; "nothing to undo" when already cancelled; left to undo when signed;
 * - wait-signed: signed, declined (fails at once, who and why), the deadline, and polling until
 *   the signers answer by hand.
 */
import { describe, expect, it } from "@effect/vitest"
import { Engine, RetryPolicy, RunStore, Step, Workflow } from "@relais/core"
import { type Duration, Effect, Schema } from "effect"
import { EsignClient } from "../src/Client.js"
import * as Sandbox from "../src/Sandbox.js"
import * as Steps from "../src/Steps.js"
import { engineLayer, envelopeRequest, waitForRequests } from "./support.js"

class Boom extends Schema.TaggedError<Boom>()("Boom", { message: Schema.String }) {}

/** A later step of the run that fails for good, so that what came before is compensated. */
const failLater = Step.make({
  name: "test/fail-later",
  description: "fail, for the compensation tests",
  input: Schema.Struct({}),
  output: Schema.Struct({}),
  run: () => Effect.fail(new Boom({ message: "the publication failed" })),
  retry: RetryPolicy.none
})

/** A later step that withdraws the envelope behind the run's back, then fails. */
const cancelThenFail = Step.make({
  name: "test/cancel-then-fail",
  description: "someone cancels the envelope by hand, then the run fails",
  input: Schema.Struct({ envelopeId: Schema.String }),
  output: Schema.Struct({}),
  run: ({ envelopeId }) =>
    Effect.flatMap(EsignClient, (client) => client.cancelEnvelope(envelopeId as never, "cancelled by hand")).pipe(
      Effect.zipRight(Effect.fail(new Boom({ message: "the publication failed" })))
    ),
  retry: RetryPolicy.none
})

const flow = (options: {
  readonly wait?: typeof Steps.waitSigned | undefined
  readonly then?: "fail" | "cancel-then-fail" | undefined
}) =>
  Workflow.make({
    name: "convention-signature",
    input: Schema.Struct({}),
    output: Schema.Struct({ envelopeId: Schema.String, signed: Schema.Number }),
    run: () =>
      Effect.gen(function*() {
        const envelope = yield* Workflow.step(Steps.sendForSignature, envelopeRequest, { id: "send" })
        let signed = 0
        if (options.wait !== undefined) {
          const done = yield* Workflow.step(options.wait, { envelopeId: envelope.id }, { id: "wait" })
          signed = done.signers.length
        }
        if (options.then === "fail") yield* Workflow.step(failLater, {}, { id: "publish" })
        if (options.then === "cancel-then-fail") yield* Workflow.step(cancelThenFail, { envelopeId: envelope.id }, { id: "publish" })
        return { envelopeId: envelope.id, signed }
      })
  })

/** Runs the flow against a sandbox; returns the run, its events, and the sandbox. */
const runFlow = (
  sandboxOptions: Sandbox.Options,
  options: Parameters<typeof flow>[0]
) =>
  Effect.gen(function*() {
    const sandbox = yield* Sandbox.make(sandboxOptions)
    return yield* Effect.gen(function*() {
      const record = yield* Engine.run(flow(options), {})
      const events = yield* Effect.flatMap(RunStore.RunStore, (store) => store.events(record.id))
      return { record, events: events.map((e) => e.event), sandbox }
    }).pipe(Effect.provide(engineLayer(sandbox.config)))
  })

const fastWait = (deadline: Duration.DurationInput) => Steps.makeWaitSigned({ pollInterval: "100 millis", deadline })

describe("esign/send-for-signature", () => {
  it.scopedLive("sends the envelope, marked with the invocation's external reference", () =>
    Effect.gen(function*() {
      const { record, sandbox } = yield* runFlow({}, { wait: Steps.waitSigned })
      expect(record.status).toBe("succeeded")
      const output = record.output as { envelopeId: string; signed: number }
      expect(output.signed).toBe(3)
      const envelope = (yield* sandbox.envelopes).find((e) => e.id === output.envelopeId)!
      expect(envelope.status).toBe("completed")
      expect(envelope.externalReference).toBe(`relais-${Step.invocationKey(record.id, "send")}`)
      expect(envelope.signers.map((s) => s.email)).toEqual(envelopeRequest.signers.map((s) => s.email))
    }))

  it.scopedLive("a dropped answer after the commit: reconciled, one envelope, not two", () =>
    Effect.gen(function*() {
      const { events, record, sandbox } = yield* runFlow({ faults: ["POST /api/v1/envelopes drop-after-commit x1"] }, {})
      expect(record.status).toBe("succeeded")
      expect(events.filter((e) => e._tag === "StepReconciled")).toMatchObject([{ path: "send", found: true }])
      expect(yield* sandbox.requests.count({ method: "POST", path: "/api/v1/envelopes" })).toBe(1)
      const mine = (yield* sandbox.envelopes).filter((e) => e.externalReference?.startsWith("relais-"))
      expect(mine.map((e) => e.id)).toEqual([(record.output as { envelopeId: string }).envelopeId])
    }))

  it.scopedLive("429 with Retry-After then 500: retried, waiting at least what the server asked", () =>
    Effect.gen(function*() {
      const { events, record, sandbox } = yield* runFlow({
        faults: ["POST /api/v1/envelopes 429:3 x1", "POST /api/v1/envelopes 500 x1"]
      }, {})
      expect(record.status).toBe("succeeded")
      const failed = events.filter((e) => e._tag === "AttemptFailed")
      expect(failed.map((e) => e._tag === "AttemptFailed" && e.error.status)).toEqual([429, 500])
      const retries = events.filter((e) => e._tag === "RetryScheduled")
      expect(retries[0]!._tag === "RetryScheduled" && retries[0]!.delayMillis).toBeGreaterThanOrEqual(3000)
      // before each retry the step looked for an envelope of an earlier attempt: none
      expect(events.filter((e) => e._tag === "StepReconciled")).toMatchObject([{ found: false }, { found: false }])
      expect((yield* sandbox.envelopes).filter((e) => e.externalReference?.startsWith("relais-"))).toHaveLength(1)
    }))
})

describe("the compensation of esign/send-for-signature", () => {
  it.scopedLive("a later failure cancels the envelope still out for signature", () =>
    Effect.gen(function*() {
      const { record, sandbox } = yield* runFlow({ signing: "never" }, { then: "fail" })
      expect(record.status).toBe("compensated")
      expect(record.compensated).toMatchObject([{ path: "send", description: "cancel the envelope" }])
      expect(record.compensated?.[0]?.nothingToUndo).toBeUndefined()
      const envelope = (yield* sandbox.envelopes).find((e) => e.externalReference?.startsWith("relais-"))!
      expect(envelope.status).toBe("cancelled")
      expect(envelope.cancelReason).toContain("compensated")
    }))

  it.scopedLive("an envelope already cancelled by someone else: nothing to undo", () =>
    Effect.gen(function*() {
      const { record } = yield* runFlow({ signing: "never" }, { then: "cancel-then-fail" })
      expect(record.status).toBe("compensated")
      expect(record.compensated).toMatchObject([{ path: "send", nothingToUndo: true }])
      expect(record.compensated?.[0]?.detail).toMatch(/^envelope env_[a-z0-9]+ was already cancelled$/)
    }))

  it.scopedLive("an envelope every party has signed cannot be withdrawn: left to undo by hand", () =>
    Effect.gen(function*() {
      const { record } = yield* runFlow({}, { wait: Steps.waitSigned, then: "fail" })
      expect(record.status).toBe("compensation_failed")
      expect(record.remaining).toHaveLength(1)
      expect(record.remaining?.[0]).toMatchObject({ path: "send", step: "esign/send-for-signature", description: "cancel the envelope" })
      expect(record.remaining?.[0]?.error.message).toContain("every party has signed, so it cannot be withdrawn")
    }))
})

describe("esign/wait-signed", () => {
  it.scopedLive("a declined signature fails at once, naming who declined and why; the envelope needs no cancel", () =>
    Effect.gen(function*() {
      const { events, record } = yield* runFlow({ signing: "decline:company" }, { wait: Steps.waitSigned })
      expect(record.status).toBe("compensated")
      expect(record.failure).toMatchObject({ path: "wait", step: "esign/wait-signed", reason: "non_retryable" })
      expect(record.failure?.error._tag).toBe("SignatureDeclined")
      expect(record.failure?.error.message).toContain("declined by Paul Martin (company, paul.martin@boulangerie-martin.fr)")
      expect(events.filter((e) => e._tag === "AttemptFailed")).toHaveLength(1)
      expect(record.compensated).toMatchObject([{ path: "send", nothingToUndo: true }])
      expect(record.compensated?.[0]?.detail).toContain("was declined by a signer")
    }))

  it.scopedLive("nobody signs: polls until the deadline, then SignatureTimeout naming who has not signed", () =>
    Effect.gen(function*() {
      const { events, record } = yield* runFlow({ signing: "never" }, { wait: fastWait("500 millis") })
      expect(record.status).toBe("compensated")
      expect(record.failure?.error._tag).toBe("SignatureTimeout")
      expect(record.failure?.error.message).toContain("Tom Le Gall (learner), Paul Martin (company), Direction des études (school)")
      const polls = events.filter((e) => e._tag === "AttemptFailed" && e.path === "wait")
      expect(polls.length).toBeGreaterThan(1)
      expect(polls.slice(0, -1).every((e) => e._tag === "AttemptFailed" && e.error._tag === "NotYetSigned")).toBe(true)
    }))

  it.scopedLive("polls while the signers have not answered, and finishes once they have", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.make({ signing: "never" })
      const result = yield* Effect.gen(function*() {
        const runId = yield* Engine.start(flow({ wait: Steps.makeWaitSigned({ pollInterval: "500 millis", deadline: "45 seconds" }) }), {})
        // a poll has seen the envelope waiting (the first poll fails NotYetSigned)
        yield* waitForRequests(sandbox.requests, { method: "GET", path: "/api/v1/envelopes/env_*" }, 2)
        const envelope = (yield* sandbox.envelopes).find((e) => e.externalReference?.startsWith("relais-"))!
        for (const signer of envelopeRequest.signers) yield* sandbox.answer(envelope.id, signer.email, "sign")
        const record = yield* Engine.awaitRun(runId)
        const events = yield* Effect.flatMap(RunStore.RunStore, (store) => store.events(runId))
        return { record, events: events.map((e) => e.event) }
      }).pipe(Effect.provide(engineLayer(sandbox.config)))
      expect(result.record.status).toBe("succeeded")
      const notYet = result.events.filter((e) => e._tag === "AttemptFailed" && e.error._tag === "NotYetSigned")
      expect(notYet.length).toBeGreaterThanOrEqual(1)
      expect(notYet[0]!._tag === "AttemptFailed" && notYet[0]!.error.message).toContain("3 of 3 signer(s) have not signed yet")
    }))

  it("refuses polling parameters a retry policy cannot express", () => {
    expect(() => Steps.makeWaitSigned({ pollInterval: "1 second", deadline: "1 hour" })).toThrow(/poll at least every 37 s/)
  })
})
