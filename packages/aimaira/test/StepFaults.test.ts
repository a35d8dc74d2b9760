/**
 * Every fault kind of the sandbox, handled by the steps' retry policies through the core
 * engine on the real clock: 429 with Retry-After, 5xx (recovered and exhausted), a dropped
 * connection before the handler, a hanging request cut by the step timeout; and faults on the
 * routes of enrolment (linking periods) and of the export steps.
 */
import { describe, expect, layer } from "@effect/vitest"
import { RetryPolicy, Workflow } from "@relais/core"
import * as Effect from "effect/Effect"
import { Temporal } from "temporal-polyfill"
import { BillingSteps, ConventionSteps, ExportSteps, type Ids, LearnerSteps } from "../src/index.js"
import { clearFaults, fast, fault, journaled, ofTag, runFlow, stepsLayer, table } from "./stepSupport.js"

layer(stepsLayer(), { excludeTestServices: true })("AIMAIRA steps under faults", (it) => {
  describe("429 Too Many Requests", () => {
    it.effect("waits for Retry-After (longer than the policy's delay), then creates exactly once", () =>
      Effect.gen(function*() {
        const before = (yield* table("Entreprise")).length
        yield* fault("POST /GraphV1/Entreprise 429:1 x1")
        const started = Date.now()
        const { events, record } = yield* runFlow(Workflow.step(ConventionSteps.createEntreprise, { Nom: "Fromagerie Roux" }, fast))
        expect(record.status).toBe("succeeded")
        expect(Date.now() - started).toBeGreaterThanOrEqual(1000)
        expect(ofTag(events, "AttemptFailed")).toMatchObject([
          { error: { _tag: "RateLimited", status: 429, retryAfterMillis: 1000 }, retryable: true }
        ])
        expect(ofTag(events, "RetryScheduled").map((e) => e.delayMillis)).toEqual([1000])
        // Before the retry, the marker look-up found nothing (the 429 committed nothing).
        expect(ofTag(events, "StepReconciled").map((e) => e.found)).toEqual([false])
        expect((yield* table("Entreprise")).length).toBe(before + 1)
      }))
  })

  describe("5xx", () => {
    it.effect("a 503 is retried by the step's own default policy", () =>
      Effect.gen(function*() {
        const [learner] = yield* table("Apprenant")
        yield* fault("GET /GraphV1/Inscription 503 x1")
        const { events, record } = yield* runFlow(
          Workflow.step(LearnerSteps.listInscriptions, { ApprenantId: learner!.Id as Ids.ApprenantId })
        )
        expect(record.status).toBe("succeeded")
        expect(ofTag(events, "AttemptFailed").map((e) => [e.error._tag, e.error.status])).toEqual([["Unavailable", 503]])
        expect(journaled(events, "aimaira/list-inscriptions")).toHaveLength(1)
      }))

    it.effect("502 and 504 are retried; a 503 that persists exhausts the policy", () =>
      Effect.gen(function*() {
        yield* fault("GET /GraphV1/TypeConvention 502 x1\nGET /GraphV1/TypeConvention 504 x1")
        const recovered = yield* runFlow(Workflow.step(ConventionSteps.listTypesConvention, {}, fast))
        expect(recovered.record.status).toBe("succeeded")
        expect(ofTag(recovered.events, "StepSucceeded")[0]!.attempts).toBe(3)

        yield* fault("GET /GraphV1/EtatConvention 503")
        const exhausted = yield* runFlow(Workflow.step(ConventionSteps.listEtatsConvention, {}, fast))
        yield* clearFaults
        expect(exhausted.record.status).toBe("failed")
        expect(exhausted.record.failure).toMatchObject({ reason: "exhausted", error: { _tag: "Unavailable", status: 503 } })
        expect(ofTag(exhausted.events, "AttemptFailed")).toHaveLength(3)
      }))
  })

  describe("connection dropped before the server handled the request", () => {
    it.effect("the look-up finds nothing, the create runs again: exactly one professional", () =>
      Effect.gen(function*() {
        const before = (yield* table("Professionnel")).length
        yield* fault("POST /GraphV1/Professionnel drop x1")
        const { events, record } = yield* runFlow(Workflow.step(ConventionSteps.createProfessionnel, {
          CiviliteCode: "M",
          Nom: "ROUX",
          Prenoms: "Marc"
        }, fast))
        expect(record.status).toBe("succeeded")
        expect(ofTag(events, "AttemptFailed").map((e) => e.error._tag)).toEqual(["Transport"])
        expect(ofTag(events, "StepReconciled").map((e) => e.found)).toEqual([false])
        expect((yield* table("Professionnel")).length).toBe(before + 1)
      }))
  })

  describe("a request that never answers", () => {
    it.effect("is cut by the step timeout and retried", () =>
      Effect.gen(function*() {
        yield* fault("GET /GraphV1/OPCA hang x1")
        // The timeout cuts the hang whatever the load; the attempts after it must answer within
        // it, so it leaves a loaded machine room (and attempts to spare in case one is slow anyway).
        const { events, record } = yield* runFlow(Workflow.step(BillingSteps.listOrganismesFinanceurs, {}, {
          retry: RetryPolicy.constant({ maxAttempts: 5, initialDelay: 50 }),
          timeout: "1 second"
        }))
        expect(record.status).toBe("succeeded")
        const failed = ofTag(events, "AttemptFailed")
        expect(failed[0]).toMatchObject(
          { path: "aimaira/list-organismes-financeurs", error: { _tag: "StepTimeout" }, retryable: true }
        )
        expect(failed.every((e) => e.error._tag === "StepTimeout")).toBe(true)
        expect(journaled(events, "aimaira/list-organismes-financeurs")).toHaveLength(11)
      }))
  })

  describe("the routes of enrolment and export", () => {
    it.effect("a 503 then a lost answer on the link call: each period is linked once, by the step's own policy", () =>
      Effect.gen(function*() {
        const programme = (yield* table("Programme")).find((p) => p.Code === "PGE")!
        const voie = (yield* table("Recrutement")).find((r) => r.ProgrammeId === programme.Id && r.ReferenceExterneId !== 0)!
        const [seeded] = yield* table("Inscription")
        const { output: created } = yield* runFlow(Workflow.step(LearnerSteps.createInscription, {
          ApprenantId: (yield* table("Apprenant"))[5]!.Id as Ids.ApprenantId,
          ProgrammeId: programme.Id as Ids.ProgrammeId,
          RegimeInscriptionId: seeded!.RegimeInscriptionId as number,
          RecrutementId: voie.Id,
          EtatInscriptionId: seeded!.EtatInscriptionId as number,
          DateInscription: Temporal.ZonedDateTime.from("2025-09-10T10:00:00+02:00[Europe/Paris]")
        }))
        const inscriptionId = (created as any).Id as Ids.InscriptionId
        // The first link answers 503 (nothing stored); the second is stored, then its answer is lost.
        yield* fault("POST /GraphV1/InscriptionPeriode 503 x1\nPOST /GraphV1/InscriptionPeriode drop-after-commit x1 after 1")
        yield* fault("GET /GraphV1/Parcours/* 502 x1")
        const { events, record } = yield* runFlow(Workflow.step(LearnerSteps.enrolParcours, { InscriptionId: inscriptionId }))
        yield* clearFaults
        expect(record.status).toBe("succeeded")
        expect(ofTag(events, "AttemptFailed").map((e) => [e.error._tag, e.error.status])).toEqual([
          ["Unavailable", 502],
          ["Unavailable", 503],
          ["Transport", undefined]
        ])
        const enrolled = journaled(events, "aimaira/enrol-parcours")
        const links = (yield* table("InscriptionPeriode")).filter((l) => l.InscriptionId === inscriptionId)
        expect(links.map((l) => l.PeriodeId)).toEqual(enrolled.Periodes.map((p: any) => p.PeriodeId))
        expect(new Set(links.map((l) => l.PeriodeId)).size).toBe(3)
        // The link whose answer was lost carries the marker: the step reports it as its own.
        expect(enrolled.Linked).toEqual(links.map((l) => l.Id))
        const sequences = (yield* table("InscriptionSequence")).filter((r) => r.InscriptionId === inscriptionId)
        expect(sequences).toHaveLength(9)
        expect(new Set(sequences.map((r) => r.SequenceId)).size).toBe(9)
      }))

    it.effect("a 503 on a convention read is retried", () =>
      Effect.gen(function*() {
        const [convention] = yield* table("Convention")
        yield* fault(`GET /GraphV1/Convention/${convention!.Id} 503 x1`)
        const read = yield* runFlow(
          Workflow.step(ExportSteps.getConventionAggregate, { ConventionId: convention!.Id as Ids.ConventionId }, fast)
        )
        expect(read.record.status).toBe("succeeded")
        expect(ofTag(read.events, "AttemptFailed").map((e) => e.error._tag)).toEqual(["Unavailable"])
        expect(journaled(read.events, "aimaira/get-convention-aggregate").convention.Id).toBe(convention!.Id)
      }))
  })
})
