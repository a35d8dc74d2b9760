/**
 * What the steps leave behind when things go wrong, through the core engine against the
 * sandbox: an attempt that fails after creating records undoes them (an e-mail before its
 * learner or its professional, the first links of an enrolment), and when AIMAIRA refuses
 * DELETE (the sandbox's `deletes: "refused"`: AIMAIRA documents none), the run says exactly
 * what to delete by hand, never "undone".
 */
import { describe, expect, layer } from "@effect/vitest"
import { Workflow } from "@relais/core"
import * as Effect from "effect/Effect"
import { Temporal } from "temporal-polyfill"
import { BillingSteps, ConventionSteps, type Ids, LearnerSteps } from "../src/index.js"
import { AimairaSandbox } from "../src/sandbox/index.js"
import { call } from "./support.js"
import { clearFaults, data, failStep, fast, fault, journaled, ofTag, runFlow, stepsLayer, table } from "./stepSupport.js"

const setDeletes = (mode: AimairaSandbox.DeleteMode) =>
  Effect.flatMap(AimairaSandbox.AimairaSandbox, (sandbox) => sandbox.setDeletes(mode))

/** A learner to create: nobody has this address. */
const newLearner = (n: number) => ({
  Adresse: `nouvel.apprenant${n}@etudiant-exemple.fr`,
  Nom: "NOUVEAU",
  Prenoms: `Camille${n}`,
  CiviliteCode: "MME"
})

const mailsOf = (adresse: string) => Effect.map(table("Mail"), (mails) => mails.filter((m) => m.Adresse === adresse))

/** An inscription of a seeded learner in the PGE programme, through its voie d'entrée. */
const freshInscription = (minute: number) =>
  Effect.gen(function*() {
    const programme = (yield* table("Programme")).find((p) => p.Code === "PGE")!
    const voie = (yield* table("Recrutement")).find((r) => r.ProgrammeId === programme.Id && r.ReferenceExterneId !== 0)!
    const [seeded] = yield* table("Inscription")
    const { output } = yield* runFlow(Workflow.step(LearnerSteps.createInscription, {
      ApprenantId: (yield* table("Apprenant"))[7]!.Id as Ids.ApprenantId,
      ProgrammeId: programme.Id as Ids.ProgrammeId,
      RegimeInscriptionId: seeded!.RegimeInscriptionId as number,
      RecrutementId: voie.Id,
      EtatInscriptionId: seeded!.EtatInscriptionId as number,
      DateInscription: Temporal.ZonedDateTime.from(`2025-09-11T10:${String(minute).padStart(2, "0")}:00+02:00[Europe/Paris]`)
    }))
    return (output as any).Id as Ids.InscriptionId
  })

layer(stepsLayer(), { excludeTestServices: true })("what failed steps leave behind", (it) => {
  describe("an attempt that fails after creating records undoes them", () => {
    it.effect("a permanent 503 on POST Apprenant: the run fails, and the Mail made before it is gone", () =>
      Effect.gen(function*() {
        const before = yield* data
        const input = newLearner(1)
        yield* fault("POST /GraphV1/Apprenant 503")
        const { events, record } = yield* runFlow(Workflow.step(LearnerSteps.findOrCreateLearner, input, fast))
        yield* clearFaults
        expect(record.status).toBe("failed")
        expect(record.failure).toMatchObject({ reason: "exhausted", error: { _tag: "Unavailable", status: 503 } })
        // Every attempt made a Mail and deleted it before failing.
        expect(ofTag(events, "AttemptFailed")).toHaveLength(3)
        expect(yield* mailsOf(input.Adresse)).toEqual([])
        expect(yield* data).toEqual(before)
      }))

    it.effect("a permanent 503 on POST Professionnel: the run compensates what came before and leaves no Mail", () =>
      Effect.gen(function*() {
        const before = yield* data
        yield* fault("POST /GraphV1/Professionnel 503")
        const { record } = yield* runFlow(Effect.gen(function*() {
          const entreprise = yield* Workflow.step(ConventionSteps.createEntreprise, { Nom: "Atelier Orphelin" })
          yield* Workflow.step(ConventionSteps.createProfessionnel, {
            CiviliteCode: "M",
            Nom: "ORPHELIN",
            Prenoms: "Paul",
            Adresse: "paul.orphelin@atelier-orphelin.fr",
            EntrepriseId: entreprise.Id
          }, fast)
        }))
        yield* clearFaults
        expect(record.status).toBe("compensated")
        expect(record.failure).toMatchObject({ path: "aimaira/create-professionnel", reason: "exhausted" })
        expect(record.compensated!.map((c) => c.path)).toEqual(["aimaira/create-entreprise"])
        expect(yield* mailsOf("paul.orphelin@atelier-orphelin.fr")).toEqual([])
        expect(yield* data).toEqual(before)
      }))

    it.effect("enrol-parcours failing after its first link unlinks it: no half enrolment", () =>
      Effect.gen(function*() {
        const inscriptionId = yield* freshInscription(1)
        const before = yield* data
        // The first link is stored, every later one answers 503.
        yield* fault("POST /GraphV1/InscriptionPeriode 503 after 1")
        const { events, record } = yield* runFlow(Workflow.step(LearnerSteps.enrolParcours, { InscriptionId: inscriptionId }, fast))
        yield* clearFaults
        expect(record.status).toBe("failed")
        expect(record.failure).toMatchObject({ reason: "exhausted", error: { _tag: "Unavailable" } })
        expect(ofTag(events, "AttemptFailed")).toHaveLength(3)
        expect((yield* table("InscriptionPeriode")).filter((l) => l.InscriptionId === inscriptionId)).toEqual([])
        expect((yield* table("InscriptionSequence")).filter((l) => l.InscriptionId === inscriptionId)).toEqual([])
        expect(yield* data).toEqual(before)
      }))
  })

  describe("AIMAIRA refuses DELETE (deletes: refused)", () => {
    it.effect("the sandbox answers 405 for every entity, and can be switched back", () =>
      Effect.gen(function*() {
        const mail = (yield* call("POST", "/Mail", { body: { Adresse: "a.supprimer@ecole-exemple.fr" } })).json
        const sandbox = yield* AimairaSandbox.AimairaSandbox
        const switched = yield* call("PUT", `${sandbox.url}/__sandbox/deletes`, { body: { deletes: "refused" } })
        expect(switched.json).toEqual({ deletes: "refused" })
        expect(yield* sandbox.deletes).toBe("refused")
        expect((yield* call("PUT", `${sandbox.url}/__sandbox/deletes`, { body: { deletes: "no" } })).status).toBe(400)
        const refused = yield* call("DELETE", `/Mail/${mail.Id}`)
        expect(refused.status).toBe(405)
        expect(refused.headers["allow"]).toBe("GET, PUT, PATCH, POST")
        expect(refused.json.error).toMatchObject({ code: "MethodNotAllowed" })
        expect(refused.json.error.message).toContain("The requested resource does not support http method 'DELETE'.")
        expect((yield* mailsOf("a.supprimer@ecole-exemple.fr")).map((m) => m.Id)).toEqual([mail.Id])
        yield* setDeletes("allowed")
        expect((yield* call("GET", `${sandbox.url}/__sandbox/deletes`)).json).toEqual({ deletes: "allowed" })
        expect((yield* call("DELETE", `/Mail/${mail.Id}`)).status).toBe(204)
        expect(yield* mailsOf("a.supprimer@ecole-exemple.fr")).toEqual([])
      }))

    it.effect("an attempt that cannot undo its Mail fails naming it; the retries reuse it (one Mail)", () =>
      Effect.gen(function*() {
        const input = newLearner(2)
        yield* setDeletes("refused")
        yield* fault("POST /GraphV1/Apprenant 503")
        const { events, record } = yield* runFlow(Workflow.step(LearnerSteps.findOrCreateLearner, input, fast))
        yield* clearFaults
        yield* setDeletes("allowed")
        const mails = yield* mailsOf(input.Adresse)
        expect(mails).toHaveLength(1)
        expect(record.status).toBe("failed")
        // Retried as the 503 it wraps.
        expect(record.failure).toMatchObject({ reason: "exhausted", error: { _tag: "LeftBehind", status: 503 } })
        expect(ofTag(events, "AttemptFailed").map((e) => e.error._tag)).toEqual(["LeftBehind", "LeftBehind", "LeftBehind"])
        const message = record.failure!.error.message
        expect(message).toContain("AIMAIRA unavailable on POST /GraphV1/Apprenant (503)")
        expect(message).toContain("relais could not undo what this attempt had already created")
        expect(message).toContain(`delete by hand in AIMAIRA Mail ${mails[0]!.Id} (the e-mail ${input.Adresse})`)
        expect(record.failure!.error.details).toEqual({
          left: [{ entitySet: "Mail", id: mails[0]!.Id, what: `the e-mail ${input.Adresse}` }]
        })
      }))

    it.effect("compensations that delete end compensation_failed, each naming what to delete by hand; none says undone", () =>
      Effect.gen(function*() {
        const sandbox = yield* AimairaSandbox.AimairaSandbox
        const { record } = yield* runFlow(Effect.gen(function*() {
          const learner = yield* Workflow.step(LearnerSteps.findOrCreateLearner, newLearner(3))
          const entreprise = yield* Workflow.step(ConventionSteps.createEntreprise, { Nom: "Boulangerie Refus" })
          yield* Workflow.step(ConventionSteps.createProfessionnel, {
            CiviliteCode: "MME",
            Nom: "REFUS",
            Prenoms: "Anne",
            Adresse: "anne.refus@boulangerie-refus.fr",
            EntrepriseId: entreprise.Id
          })
          yield* sandbox.setDeletes("refused")
          yield* Workflow.step(failStep, {})
          return learner
        }))
        yield* setDeletes("allowed")
        expect(record.status).toBe("compensation_failed")
        expect(record.compensated ?? []).toEqual([])
        const remaining = record.remaining!
        expect(remaining.map((r) => r.path)).toEqual([
          "aimaira/create-professionnel",
          "aimaira/create-entreprise",
          "aimaira/find-or-create-learner"
        ])
        for (const left of remaining) {
          expect(left.error).toMatchObject({ _tag: "DeleteRefused" })
          expect(left.error.message).toContain("AIMAIRA refused to delete")
          expect(left.error.message).toContain("delete by hand in AIMAIRA")
        }
        const professionnel = remaining[0]!.output as any
        expect(remaining[0]!.error.message).toContain(
          `delete by hand in AIMAIRA Professionnel ${professionnel.Id} (the professional REFUS Anne), ` +
            `then Mail ${professionnel.MailId} (the e-mail anne.refus@boulangerie-refus.fr)`
        )
        const entreprise = remaining[1]!.output as any
        expect(remaining[1]!.error.message).toContain(`Entreprise ${entreprise.Id} (the company Boulangerie Refus)`)
        const learner = remaining[2]!.output as any
        expect(remaining[2]!.error.message).toContain(
          `Apprenant ${learner.Id} (the learner NOUVEAU Camille3), then Mail ${learner.Mail.Id} (the e-mail ${learner.Mail.Adresse})`
        )
        // Not retried: a refusal is definitive.
        expect(remaining.map((r) => r.error.details)).toEqual([
          {
            left: [
              { entitySet: "Professionnel", id: professionnel.Id, what: "the professional REFUS Anne" },
              { entitySet: "Mail", id: professionnel.MailId, what: "the e-mail anne.refus@boulangerie-refus.fr" }
            ]
          },
          { left: [{ entitySet: "Entreprise", id: entreprise.Id, what: "the company Boulangerie Refus" }] },
          {
            left: [
              { entitySet: "Apprenant", id: learner.Id, what: "the learner NOUVEAU Camille3" },
              { entitySet: "Mail", id: learner.Mail.Id, what: `the e-mail ${learner.Mail.Adresse}` }
            ]
          }
        ])
        // And everything is indeed still there.
        expect((yield* table("Apprenant")).some((a) => a.Id === learner.Id)).toBe(true)
        expect((yield* table("Professionnel")).some((p) => p.Id === professionnel.Id)).toBe(true)
      }))

    it.effect("a convention's compensation lists its billing clients and itself; enrolment lists its links", () =>
      Effect.gen(function*() {
        const sandbox = yield* AimairaSandbox.AimairaSandbox
        const inscriptionId = yield* freshInscription(2)
        const inscription = (yield* table("Inscription")).find((i) => i.Id === inscriptionId)!
        const { events, record } = yield* runFlow(Effect.gen(function*() {
          const enrolled = yield* Workflow.step(LearnerSteps.enrolParcours, { InscriptionId: inscriptionId })
          const [sequence] = yield* Workflow.step(ConventionSteps.listEligibleSequences, { InscriptionId: inscriptionId })
          const convention = yield* Workflow.step(ConventionSteps.createConvention, {
            ApprenantId: inscription.ApprenantId as Ids.ApprenantId,
            SequenceId: sequence!.Id,
            TypeConventionCode: "APP"
          })
          const entreprise = yield* Workflow.step(ConventionSteps.createEntreprise, { Nom: "Ferme Refus" })
          yield* Workflow.step(ConventionSteps.updateConvention, { ConventionId: convention.Id, EntrepriseId: entreprise.Id })
          yield* Workflow.step(BillingSteps.synchronisationAffaire, { ConventionId: convention.Id })
          yield* sandbox.setDeletes("refused")
          yield* Workflow.step(failStep, {})
          return enrolled
        }))
        yield* setDeletes("allowed")
        expect(record.status).toBe("compensation_failed")
        // The update is undone with a PUT, which AIMAIRA allows: only the deletes are left.
        expect(record.compensated!.map((c) => c.path)).toEqual(["aimaira/update-convention"])
        const byPath = Object.fromEntries(record.remaining!.map((r) => [r.path, r]))
        const convention = journaled(events, "aimaira/create-convention")
        const clients = (yield* table("Client")).filter((c) => c.ReferenceId === convention.Id)
        expect(clients).toHaveLength(1)
        expect(byPath["aimaira/create-convention"]!.error.message).toContain(
          `Client ${clients[0]!.Id} (the billing client ${String(clients[0]!.Code)} of the convention ${convention.Code}), ` +
            `then Convention ${convention.Id} (the convention ${convention.Code})`
        )
        const enrolled = journaled(events, "aimaira/enrol-parcours")
        const links = byPath["aimaira/enrol-parcours"]!.error.details as { left: ReadonlyArray<{ entitySet: string; id: number }> }
        expect(links.left.map((l) => [l.entitySet, l.id])).toEqual(enrolled.Linked.map((id: number) => ["InscriptionPeriode", id]))
      }))
  })
})
