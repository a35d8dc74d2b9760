/**
 * What the compensations of the AIMAIRA steps report, through the engine against the sandbox:
 * a step that found what it needed (a learner, an e-mail, periods already linked) says there
 * was nothing to undo, or what it actually undid, so a compensated run never lists "delete the
 * learner" for a learner that existed before the run and is still there.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Workflow } from "@relais/core"
import * as Effect from "effect/Effect"
import { ConventionSteps, type Ids, LearnerSteps } from "../src/index.js"
import { failStep, ofTag, runFlow, stepsLayer, table } from "./stepSupport.js"

layer(stepsLayer(), { excludeTestServices: true })("compensation reports", (it) => {
  describe("find-or-create-learner", () => {
    it.effect("a learner found by address: nothing to undo, and the learner stays", () =>
      Effect.gen(function*() {
        const learner = (yield* table("Apprenant")).find((a) => typeof a.MailId === "number" && a.MailId > 0)!
        const mail = (yield* table("Mail")).find((m) => m.Id === learner.MailId)!
        const { events, record } = yield* runFlow(Effect.gen(function*() {
          yield* Workflow.step(LearnerSteps.findOrCreateLearner, {
            Adresse: mail.Adresse as string,
            Nom: "IGNORÉ",
            Prenoms: "Ignoré",
            CiviliteCode: "M"
          }, { id: "learner" })
          yield* Workflow.step(failStep, {}, { id: "boom" })
        }))
        expect(record.status).toBe("compensated")
        expect(record.compensated).toMatchObject([{
          path: "learner",
          nothingToUndo: true,
          detail: `the learner (Apprenant ${learner.Id}) and its e-mail existed before the run`
        }])
        expect(ofTag(events, "CompensationSkipped")).toHaveLength(1)
        expect(ofTag(events, "CompensationSucceeded")).toEqual([])
        expect((yield* table("Apprenant")).map((a) => a.Id)).toContain(learner.Id)
      }))

    it.effect("a learner created on an e-mail that existed: the learner is deleted, the e-mail kept, and the report says so", () =>
      Effect.gen(function*() {
        // An e-mail without a learner (a professional's, say).
        const mails = yield* table("Mail")
        const learners = yield* table("Apprenant")
        const free = mails.find((m) => !learners.some((a) => a.MailId === m.Id) && m.IsDuplicate !== true)!
        const { record } = yield* runFlow(Effect.gen(function*() {
          yield* Workflow.step(LearnerSteps.findOrCreateLearner, {
            Adresse: free.Adresse as string,
            Nom: "NOUVEAU",
            Prenoms: "Né",
            CiviliteCode: "M"
          }, { id: "learner" })
          yield* Workflow.step(failStep, {}, { id: "boom" })
        }))
        expect(record.status).toBe("compensated")
        const [undone] = record.compensated ?? []
        expect(undone!.nothingToUndo).toBeUndefined()
        expect(undone!.detail).toMatch(/^deleted the learner \(Apprenant \d+\); its e-mail \(Mail \d+\) existed before the run and was kept$/)
        expect((yield* table("Apprenant")).filter((a) => a.Nom === "NOUVEAU")).toEqual([])
        expect((yield* table("Mail")).map((m) => m.Id)).toContain(free.Id)
      }))
  })

  describe("create-professionnel", () => {
    it.effect("a professional on an existing e-mail (MailId): the report says the e-mail was kept", () =>
      Effect.gen(function*() {
        const entreprise = (yield* table("Entreprise"))[0]!
        const mail = (yield* table("Mail"))[0]!
        const { record } = yield* runFlow(Effect.gen(function*() {
          yield* Workflow.step(ConventionSteps.createProfessionnel, {
            CiviliteCode: "MME",
            Nom: "GARDÉE",
            Prenoms: "Adresse",
            EntrepriseId: entreprise.Id as Ids.EntrepriseId,
            MailId: mail.Id as Ids.MailId
          }, { id: "maitre" })
          yield* Workflow.step(failStep, {}, { id: "boom" })
        }))
        expect(record.status).toBe("compensated")
        expect(record.compensated![0]!.detail).toMatch(
          new RegExp(`^deleted the professional \\(Professionnel \\d+\\); its e-mail \\(Mail ${mail.Id}\\) was given by MailId and was kept$`)
        )
        expect((yield* table("Professionnel")).filter((p) => p.Nom === "GARDÉE")).toEqual([])
        expect((yield* table("Mail")).map((m) => m.Id)).toContain(mail.Id)
      }))
  })
})
