/**
 * The funding, pay and billing steps against the sandbox, through the core engine: funding
 * bodies by id, name or code, marker reconciliation of the links and pay rows, and
 * SynchronisationAffaire.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Step, Workflow } from "@relais/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { Temporal } from "temporal-polyfill"
import { BillingSteps, type Ids } from "../src/index.js"
import { call } from "./support.js"
import { fast, fault, journaled, ofTag, runFlow, stepsLayer, table } from "./stepSupport.js"

/** A fresh convention (STG) for a seeded learner, created over raw HTTP. */
const newConvention = Effect.gen(function*() {
  const [inscription] = yield* table("Inscription")
  const sequence = (yield* table("Sequence")).find((s) => s.ProgrammeId === inscription!.ProgrammeId)!
  const type = (yield* table("TypeConvention")).find((t) => t.Code === "PRO")!
  const reply = yield* call("POST", "/Convention", {
    body: { ApprenantId: inscription!.ApprenantId, SequenceId: sequence.Id, TypeConventionId: type.Id }
  })
  return reply.json.Id as Ids.ConventionId
})

layer(stepsLayer(), { excludeTestServices: true })("BillingSteps", (it) => {
  describe("funding bodies", () => {
    it.effect("lists them and attaches one by code; a lost answer leaves one link", () =>
      Effect.gen(function*() {
        const ConventionId = yield* newConvention
        yield* fault("POST /GraphV1/ConventionOrganismeFinanceur drop-after-commit x1")
        const { events, record } = yield* runFlow(Effect.gen(function*() {
          const all = yield* Workflow.step(BillingSteps.listOrganismesFinanceurs, {}, { id: "all" })
          const link = yield* Workflow.step(BillingSteps.attachOrganismeFinanceur, {
            ConventionId,
            OrganismeFinanceurCode: "OFP3",
            TypePriseCharge: "OPCO"
          }, { ...fast, id: "attach" })
          return { all, link }
        }))
        expect(record.status).toBe("succeeded")
        expect(journaled(events, "all").map((o: any) => o.Nom)).toContain("OPCO SANTÉ")
        expect(ofTag(events, "StepReconciled").map((e) => e.found)).toEqual([true])
        const atlas = (yield* table("OrganismeFinanceur")).find((o) => o.Code === "OFP3")!
        const links = (yield* table("ConventionOrganismeFinanceur")).filter((l) => l.ConventionId === ConventionId)
        expect(links).toMatchObject([{ Id: journaled(events, "attach").Id, OrganismeFinanceurId: atlas.Id, TypePriseCharge: "OPCO" }])
      }))

    it.effect("an unknown name fails at once with the closest names", () =>
      Effect.gen(function*() {
        const ConventionId = yield* newConvention
        const { record } = yield* runFlow(
          Workflow.step(BillingSteps.attachOrganismeFinanceur, { ConventionId, OrganismeFinanceurNom: "AKTOO" })
        )
        expect(record.failure).toMatchObject({ reason: "non_retryable", error: { _tag: "UnknownCode" } })
        expect(record.failure!.error.message).toMatch(/^AIMAIRA has no OPCA with Nom "AKTOO" \(did you mean "AKTO"/)
      }))
  })

  describe("pay", () => {
    it.effect("creates one contract year; a lost answer leaves one row", () =>
      Effect.gen(function*() {
        const ConventionId = yield* newConvention
        yield* fault("POST /GraphV1/Remuneration drop-after-commit x1")
        const { events, record } = yield* runFlow(Workflow.step(BillingSteps.createRemuneration, {
          ConventionId,
          Annee: 2,
          Debut1: Temporal.PlainDate.from("2026-09-15"),
          Fin1: Temporal.PlainDate.from("2027-08-31"),
          Pourcentage1: 61,
          SalaireMin1: "SMC"
        }, fast))
        expect(record.status).toBe("succeeded")
        expect(ofTag(events, "StepReconciled").map((e) => e.found)).toEqual([true])
        const rows = (yield* table("Remuneration")).filter((r) => r.ConventionId === ConventionId)
        expect(rows).toMatchObject([{ Annee: 2, Pourcentage1: 61, SalaireMin1: "SMC", Debut1: "2026-09-15T00:00:00+02:00" }])
        expect(journaled(events, "aimaira/create-remuneration")).toMatchObject({ Id: rows[0]!.Id, Code: rows[0]!.Code })
      }))

    it("refuses a year outside 1 to 4 and an unknown minimum before any call", () => {
      const decode = (value: unknown) =>
        Step.decodeInput(BillingSteps.createRemuneration, "pay", value).pipe(Effect.either, Effect.runSync)
      expect(Either.isLeft(decode({ ConventionId: 1, Annee: 5 }))).toBe(true)
      expect(Either.isLeft(decode({ ConventionId: 1, Annee: 1, SalaireMin1: "SMIG" }))).toBe(true)
      const ok = decode({ ConventionId: 1, Annee: 1, Debut1: "2025-09-01", Fin1: null, SalaireMin2: "-" })
      expect(Either.isRight(ok) && ok.right.Debut1?.toString()).toBe("2025-09-01")
    })
  })

  describe("billing", () => {
    it.effect("SynchronisationAffaire needs the company; then it creates the billing clients once", () =>
      Effect.gen(function*() {
        const ConventionId = yield* newConvention
        const refused = yield* runFlow(Workflow.step(BillingSteps.synchronisationAffaire, { ConventionId }))
        expect(refused.record.failure).toMatchObject({ reason: "non_retryable", error: { _tag: "Validation", status: 400 } })
        expect(refused.record.failure!.error.message).toContain("[EntrepriseId]")

        const entreprise = (yield* call("POST", "/Entreprise", { body: { Nom: "Garage Petit" } })).json
        const convention = (yield* call("GET", `/Convention/${ConventionId}`)).json
        yield* call("PUT", `/Convention/${ConventionId}`, { body: { ...convention, EntrepriseId: entreprise.Id } })
        const { events, record } = yield* runFlow(Effect.gen(function*() {
          yield* Workflow.step(BillingSteps.synchronisationAffaire, { ConventionId }, { id: "first" })
          yield* Workflow.step(BillingSteps.synchronisationAffaire, { ConventionId }, { id: "again" })
          return yield* Workflow.step(BillingSteps.listBillingClients, { ReferenceId: ConventionId }, { id: "clients" })
        }))
        expect(record.status).toBe("succeeded")
        const clients = (yield* table("Client")).filter((c) => c.ReferenceId === ConventionId)
        expect(clients).toMatchObject([{ Nom: "Garage Petit", EntrepriseId: entreprise.Id }])
        for (const path of ["first", "again", "clients"]) {
          expect(journaled(events, path).map((c: any) => c.Id)).toEqual(clients.map((c) => c.Id))
        }
      }))
  })
})
