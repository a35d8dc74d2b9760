/**
 * The learner steps against the sandbox, through the core engine: find or create (natural key
 * by e-mail), what the compensation deletes, lost create responses, inscriptions, and inputs
 * decoded from their YAML (JSON) form.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Step, Workflow } from "@relais/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { Temporal } from "temporal-polyfill"
import { type Ids, LearnerSteps } from "../src/index.js"
import { call } from "./support.js"
import { data, failStep, fast, fault, journaled, ofTag, runFlow, stepsLayer, table } from "./stepSupport.js"

layer(stepsLayer(), { excludeTestServices: true })("LearnerSteps", (it) => {
  describe("find-or-create-learner", () => {
    it.effect("creates the e-mail and the learner, then finds them by address", () =>
      Effect.gen(function*() {
        const before = yield* data
        const input = { Adresse: "ines.dalmeida@ecole-exemple.fr", Nom: "D'ALMEIDA", Prenoms: "Inès", CiviliteCode: "MME" }
        const first = yield* runFlow(Workflow.step(LearnerSteps.findOrCreateLearner, input))
        expect(first.record.status).toBe("succeeded")
        const created = journaled(first.events, "aimaira/find-or-create-learner")
        expect(created).toMatchObject({
          Nom: "D'ALMEIDA",
          Prenoms: "Inès",
          NomUsage: "D'ALMEIDA",
          PrenomUsage: "Inès",
          Login: "ines.dalmeida@ecole-exemple.fr",
          GenreMale: false,
          Mail: { Adresse: "ines.dalmeida@ecole-exemple.fr", IsDuplicate: false },
          Created: { Mail: true, Apprenant: true }
        })
        expect(created.Code).toMatch(/^A\d{5}$/)
        expect(created.MailId).toBe(created.Mail.Id)

        const second = yield* runFlow(Workflow.step(LearnerSteps.findOrCreateLearner, { ...input, Nom: "AUTRE" }))
        expect(journaled(second.events, "aimaira/find-or-create-learner")).toMatchObject({
          Id: created.Id,
          Nom: "D'ALMEIDA",
          Created: { Mail: false, Apprenant: false }
        })
        const after = yield* data
        expect(after.collections.Apprenant!.length).toBe(before.collections.Apprenant!.length + 1)
        expect(after.collections.Mail!.length).toBe(before.collections.Mail!.length + 1)
      }))

    it.effect("reuses an existing e-mail; the compensation deletes only what the step created", () =>
      Effect.gen(function*() {
        const mail = (yield* call("POST", "/Mail", { body: { Adresse: "hugo.bernard@ecole-exemple.fr" } })).json
        const before = yield* data
        const { events, record } = yield* runFlow(Effect.gen(function*() {
          const learner = yield* Workflow.step(LearnerSteps.findOrCreateLearner, {
            Adresse: "hugo.bernard@ecole-exemple.fr",
            Nom: "BERNARD",
            Prenoms: "Hugo",
            CiviliteCode: "M",
            DateNaissance: Temporal.PlainDate.from("2006-04-12")
          })
          expect(learner.Created).toEqual({ Mail: false, Apprenant: true })
          expect(learner.MailId).toBe(mail.Id)
          expect(learner.GenreMale).toBe(true)
          expect(learner.DateNaissance?.toString()).toBe("2006-04-12")
          yield* Workflow.step(failStep, {})
        }))
        expect(record.status).toBe("compensated")
        expect(ofTag(events, "CompensationSucceeded").map((e) => e.path)).toEqual(["aimaira/find-or-create-learner"])
        // The learner is gone; the e-mail, which existed before, is kept.
        expect(yield* data).toEqual(before)
      }))

    it.effect("a learner whose creation answer is lost is found, not created twice", () =>
      Effect.gen(function*() {
        const before = yield* data
        yield* fault("POST /GraphV1/Apprenant drop-after-commit x1")
        const { events, output, record } = yield* runFlow(Workflow.step(LearnerSteps.findOrCreateLearner, {
          Adresse: "zoe.martin@ecole-exemple.fr",
          Nom: "MARTIN",
          Prenoms: "Zoé",
          CiviliteId: (yield* table("Civilite")).find((c) => c.Code === "MME")!.Id as Ids.CiviliteId
        }, fast))
        expect(record.status).toBe("succeeded")
        expect(ofTag(events, "AttemptFailed").map((e) => e.error._tag)).toEqual(["Transport"])
        expect(ofTag(events, "StepReconciled").map((e) => e.found)).toEqual([true])
        const after = yield* data
        const learners = after.collections.Apprenant!.filter((a) => a.Nom === "MARTIN" && a.Prenoms === "Zoé")
        expect(learners.map((a) => a.Id)).toEqual([(output as any).Id])
        expect(after.collections.Mail!.filter((m) => m.Adresse === "zoe.martin@ecole-exemple.fr")).toHaveLength(1)
        expect(after.collections.Apprenant!.length).toBe(before.collections.Apprenant!.length + 1)
        // What it cannot prove it created, it reports as found: a compensation never deletes it.
        expect((output as any).Created).toEqual({ Mail: false, Apprenant: false })
      }))

    it.effect("two learners sharing an address is an error, not a guess", () =>
      Effect.gen(function*() {
        const [first] = yield* table("Apprenant")
        const mail = (yield* table("Mail")).find((m) => m.Id === first!.MailId)!
        yield* call("POST", "/Apprenant", {
          body: { Nom: "DOUBLON", Prenoms: "Jean", CiviliteId: first!.CiviliteId, MailId: first!.MailId }
        })
        const { record } = yield* runFlow(Workflow.step(LearnerSteps.findOrCreateLearner, {
          Adresse: mail.Adresse as string,
          Nom: "X",
          Prenoms: "Y",
          CiviliteCode: "M"
        }))
        expect(record.status).toBe("failed")
        expect(record.failure).toMatchObject({ reason: "non_retryable", error: { _tag: "Ambiguous" } })
        expect(record.failure!.error.message).toContain(`AIMAIRA has 2 Apprenant entities for Mail/Adresse eq '${mail.Adresse as string}'`)
      }))
  })

  describe("inscriptions", () => {
    it.effect("creates an inscription (programme by code), lists it, and finds it again after a lost answer", () =>
      Effect.gen(function*() {
        const [template] = yield* table("Inscription")
        const programme = (yield* table("Programme")).find((p) => p.Id !== template!.ProgrammeId)!
        yield* fault("POST /GraphV1/Inscription drop-after-commit x1")
        const input = Either.getOrThrow(
          Step.decodeInput(LearnerSteps.createInscription, "inscription", {
            ApprenantId: template!.ApprenantId,
            ProgrammeCode: programme.Code,
            RegimeInscriptionId: template!.RegimeInscriptionId,
            RecrutementId: template!.RecrutementId,
            EtatInscriptionId: template!.EtatInscriptionId,
            // The documented form; AIMAIRA answers 2023-11-20T13:00:00+01:00.
            DateInscription: "2023-11-20T12:00:00.000Z"
          }).pipe(Effect.either, Effect.runSync)
        )
        const { events, record } = yield* runFlow(Effect.gen(function*() {
          const created = yield* Workflow.step(LearnerSteps.createInscription, input, { ...fast, id: "inscription" })
          const listed = yield* Workflow.step(LearnerSteps.listInscriptions, { ApprenantId: created.ApprenantId! }, { id: "list" })
          return { created, listed }
        }))
        expect(record.status).toBe("succeeded")
        expect(ofTag(events, "StepReconciled").map((e) => e.found)).toEqual([true])
        const created = journaled(events, "inscription")
        expect(created).toMatchObject({ ProgrammeId: programme.Id, DateInscription: "2023-11-20T13:00:00+01:00" })
        expect(journaled(events, "list").map((i: any) => i.Id)).toEqual([template!.Id, created.Id])
        const mine = (yield* table("Inscription")).filter((i) => i.ApprenantId === template!.ApprenantId)
        expect(mine.map((i) => i.Id)).toEqual([template!.Id, created.Id])
      }))
  })

  describe("inputs in their YAML form", () => {
    const decode = (value: unknown) =>
      Step.decodeInput(LearnerSteps.findOrCreateLearner, "learner", value).pipe(Effect.either, Effect.runSync)

    it("decodes dates and checks that exactly one civilité is given", () => {
      const ok = decode({ Adresse: "a@b.fr", Nom: "A", Prenoms: "B", CiviliteCode: "M", DateNaissance: "2006-04-12" })
      expect(Either.isRight(ok) && ok.right.DateNaissance?.equals("2006-04-12")).toBe(true)
      const aimairaForm = decode({
        Adresse: "a@b.fr",
        Nom: "A",
        Prenoms: "B",
        CiviliteId: 12,
        DateNaissance: "2006-04-12T00:00:00+02:00"
      })
      expect(Either.isRight(aimairaForm) && aimairaForm.right.DateNaissance?.toString()).toBe("2006-04-12")
      const messages = (value: unknown) => {
        const result = decode(value)
        return Either.isLeft(result) ? result.left.message : "decoded"
      }
      expect(messages({ Adresse: "a@b.fr", Nom: "A", Prenoms: "B" })).toContain("give one of CiviliteId, CiviliteCode")
      expect(messages({ Adresse: "a@b.fr", Nom: "A", Prenoms: "B", CiviliteId: 1, CiviliteCode: "M" }))
        .toContain("give only one of CiviliteId, CiviliteCode")
      expect(messages({ Adresse: "pas une adresse", Nom: "A", Prenoms: "B", CiviliteCode: "M" })).toContain("Adresse")
      expect(messages({ Adresse: "a@b.fr", Nom: "A", Prenoms: "B", CiviliteCode: "M", DateNaissance: "12/04/2006" }))
        .toContain("DateNaissance")
      expect(messages({ Adresse: "a@b.fr", Nom: "A", Prenoms: "B", CiviliteCode: "M", Civilite: "M" })).toContain("Civilite")
    })
  })
})
