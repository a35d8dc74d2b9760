/**
 * The learner steps against the sandbox, through the core engine: find or create (natural key
 * by e-mail), what the compensation deletes, lost create responses, inscriptions, enrolment on
 * a parcours (new learner to convention, idempotence, compensation, refusals), and inputs
 * decoded from their YAML (JSON) form.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Step, Workflow } from "@relais/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { Temporal } from "temporal-polyfill"
import { ConventionSteps, type Ids, LearnerSteps } from "../src/index.js"
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
        // The attempt looked for the learner before undoing its Mail, and found it: no retry.
        expect(ofTag(events, "AttemptFailed")).toEqual([])
        const after = yield* data
        const learners = after.collections.Apprenant!.filter((a) => a.Nom === "MARTIN" && a.Prenoms === "Zoé")
        expect(learners.map((a) => a.Id)).toEqual([(output as any).Id])
        expect(after.collections.Mail!.filter((m) => m.Adresse === "zoe.martin@ecole-exemple.fr")).toHaveLength(1)
        expect(after.collections.Apprenant!.length).toBe(before.collections.Apprenant!.length + 1)
        // Its Mail carries this invocation's marker: the learner linked to it is this
        // invocation's, so a compensation deletes both.
        expect((output as any).Created).toEqual({ Mail: true, Apprenant: true })
        expect((output as any).Mail.Code).toMatch(/^relais-/)
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

    it.effect("without RecrutementId, takes the programme's only voie d'entrée the API shows; none is an error", () =>
      Effect.gen(function*() {
        const [template] = yield* table("Inscription")
        const programme = (yield* table("Programme")).find((p) => p.Code === "BTSMCO")!
        const voies = (yield* table("Recrutement")).filter((r) => r.ProgrammeId === programme.Id && r.ReferenceExterneId !== 0)
        expect(voies).toHaveLength(1)
        const input = {
          ApprenantId: template!.ApprenantId as Ids.ApprenantId,
          RegimeInscriptionId: template!.RegimeInscriptionId as number,
          EtatInscriptionId: template!.EtatInscriptionId as number,
          DateInscription: Temporal.ZonedDateTime.from("2025-09-02T09:00:00+02:00[Europe/Paris]")
        }
        const { events, record } = yield* runFlow(
          Workflow.step(LearnerSteps.createInscription, { ...input, ProgrammeCode: "BTSMCO" }, { id: "inscription" })
        )
        expect(record.status).toBe("succeeded")
        expect(journaled(events, "inscription")).toMatchObject({ ProgrammeId: programme.Id, RecrutementId: voies[0]!.Id })

        // A programme without a voie d'entrée (created for the test): the step says so before writing.
        const bare = (yield* call("POST", "/Programme", {
          body: { Nom: "Sans voie", Code: "SANSVOIE", EntiteJuridiqueId: 1, EcoleId: 1, CodeDroit: "X", CodeAnalytique: "X" }
        })).json
        const before = (yield* table("Inscription")).length
        const none = yield* runFlow(Workflow.step(LearnerSteps.createInscription, { ...input, ProgrammeCode: "SANSVOIE" }))
        expect(none.record.failure).toMatchObject({ reason: "non_retryable", error: { _tag: "UnknownCode" } })
        expect(none.record.failure!.error.message).toContain(`AIMAIRA has no Recrutement with ProgrammeId "${bare.Id}"`)
        expect((yield* table("Inscription")).length).toBe(before)
      }))
  })

  describe("enrol-parcours", () => {
    /** The voie d'entrée of a programme, and the régime / état of a seeded inscription. */
    const programmeSetup = (code: string) =>
      Effect.gen(function*() {
        const programme = (yield* table("Programme")).find((p) => p.Code === code)!
        const voie = (yield* table("Recrutement")).find((r) => r.ProgrammeId === programme.Id && r.ReferenceExterneId !== 0)!
        const [seeded] = yield* table("Inscription")
        return { programme, voie, seeded: seeded! }
      })

    it.effect("a new learner: inscription, enrolment on the parcours, eligible sequences, then a convention", () =>
      Effect.gen(function*() {
        const { seeded, voie } = yield* programmeSetup("PGE")
        const { events, output, record } = yield* runFlow(Effect.gen(function*() {
          const learner = yield* Workflow.step(LearnerSteps.findOrCreateLearner, {
            Adresse: "hugo.lefevre@etudiant-exemple.fr",
            Nom: "LEFEVRE",
            Prenoms: "Hugo",
            CiviliteCode: "M"
          }, { id: "learner" })
          const inscription = yield* Workflow.step(LearnerSteps.createInscription, {
            ApprenantId: learner.Id,
            ProgrammeCode: "PGE",
            RegimeInscriptionId: seeded.RegimeInscriptionId as number,
            RecrutementId: voie.Id,
            EtatInscriptionId: seeded.EtatInscriptionId as number,
            DateInscription: Temporal.ZonedDateTime.from("2025-09-08T09:30:00+02:00[Europe/Paris]")
          }, { id: "inscription" })
          const before = yield* Workflow.step(ConventionSteps.listEligibleSequences, { InscriptionId: inscription.Id }, { id: "before" })
          const enrolled = yield* Workflow.step(LearnerSteps.enrolParcours, { InscriptionId: inscription.Id }, { id: "enrol" })
          const sequences = yield* Workflow.step(ConventionSteps.listEligibleSequences, { ApprenantId: learner.Id }, { id: "sequences" })
          const convention = yield* Workflow.step(ConventionSteps.createConvention, {
            ApprenantId: learner.Id,
            SequenceId: sequences[0]!.Id,
            TypeConventionCode: "APP"
          }, { id: "convention" })
          return { learner, inscription, before, enrolled, sequences, convention }
        }))
        expect(record.status).toBe("succeeded")
        const out = output as any
        expect(out.before).toEqual([])
        const enrolled = journaled(events, "enrol")
        expect(enrolled.ParcoursId).toBe(voie.ParcoursId)
        expect(enrolled.Periodes.map((p: any) => [p.AnneeScolaire, p.LibellePeriode, p.Debut])).toEqual([
          [1, "2025/2026", "2025-09-01T00:00:00+02:00"],
          [2, "2026/2027", "2026-09-01T00:00:00+02:00"],
          [3, "2027/2028", "2027-09-01T00:00:00+02:00"]
        ])
        expect(enrolled.Linked).toEqual(enrolled.Periodes.map((p: any) => p.Id))
        expect(enrolled.EligibleSequences).toBe(3)
        expect(out.sequences.map((s: any) => s.Nom)).toEqual([
          "25-26 PGE 1 - PÉRIODE EN ENTREPRISE",
          "26-27 PGE 2 - PÉRIODE EN ENTREPRISE",
          "27-28 PGE 3 - PÉRIODE EN ENTREPRISE"
        ])
        expect(out.convention).toMatchObject({ ApprenantId: out.learner.Id, SequenceId: out.sequences[0].Id })

        // In the sandbox: three links carrying this invocation's marker, the régime and état of
        // the inscription, and the nine sequences of the three periods.
        const links = (yield* table("InscriptionPeriode")).filter((l) => l.InscriptionId === out.inscription.Id)
        expect(links.map((l) => l.Id)).toEqual(enrolled.Linked)
        expect(new Set(links.map((l) => l.Code))).toEqual(new Set([enrolled.Periodes[0].Code]))
        expect(enrolled.Periodes[0].Code).toMatch(/^relais-[0-9a-f]{16}$/)
        expect(links[0]).toMatchObject({ RegimeInscriptionId: seeded.RegimeInscriptionId, EtatInscriptionId: seeded.EtatInscriptionId })
        const enrolments = (yield* table("InscriptionSequence")).filter((r) => r.InscriptionId === out.inscription.Id)
        expect(enrolments).toHaveLength(9)

        // Again: everything is linked already, nothing is created, nothing to undo.
        const again = yield* runFlow(Workflow.step(LearnerSteps.enrolParcours, { InscriptionId: out.inscription.Id }))
        const second = journaled(again.events, "aimaira/enrol-parcours")
        expect(second.Linked).toEqual([])
        expect(second.Periodes.map((p: any) => p.Id)).toEqual(enrolled.Linked)
        expect((yield* table("InscriptionPeriode")).filter((l) => l.InscriptionId === out.inscription.Id)).toHaveLength(3)
      }))

    it.effect("skips the periods already linked; the compensation unlinks only what it linked", () =>
      Effect.gen(function*() {
        const { seeded } = yield* programmeSetup("PGE")
        const before = yield* data
        const { events, record } = yield* runFlow(Effect.gen(function*() {
          yield* Workflow.step(LearnerSteps.enrolParcours, { InscriptionId: seeded.Id as Ids.InscriptionId })
          yield* Workflow.step(failStep, {})
        }))
        expect(record.status).toBe("compensated")
        const enrolled = journaled(events, "aimaira/enrol-parcours")
        // The seeded inscription was linked to its first year: only the two others were linked.
        expect(enrolled.Periodes.map((p: any) => p.LibellePeriode)).toEqual(["2025/2026", "2026/2027", "2027/2028"])
        expect(enrolled.Linked).toEqual(enrolled.Periodes.slice(1).map((p: any) => p.Id))
        expect(enrolled.EligibleSequences).toBe(3)
        expect(record.compensated!.map((c) => c.path)).toEqual(["aimaira/enrol-parcours"])
        expect(yield* data).toEqual(before)
      }))

    it.effect("links only the chosen periods; refuses unknown periods, hidden voies d'entrée and other programmes", () =>
      Effect.gen(function*() {
        const { seeded, voie } = yield* programmeSetup("PGE")
        const learners = yield* table("Apprenant")
        const inscriptions = yield* table("Inscription")
        const free = learners.filter((a) => !inscriptions.some((i) => i.ApprenantId === a.Id && i.RecrutementId === voie.Id))
        const newInscription = (apprenantId: number, recrutementId: number) =>
          Effect.map(
            call("POST", "/Inscription", {
              body: {
                ApprenantId: apprenantId, ProgrammeId: voie.ProgrammeId, RegimeInscriptionId: seeded.RegimeInscriptionId,
                RecrutementId: recrutementId, EtatInscriptionId: seeded.EtatInscriptionId, DateInscription: "2026-09-01"
              }
            }),
            (reply) => reply.json.Id as Ids.InscriptionId
          )
        const chosen = yield* newInscription(free[0]!.Id, voie.Id)
        const one = yield* runFlow(Workflow.step(LearnerSteps.enrolParcours, { InscriptionId: chosen, LibellePeriodes: ["2026/2027"] }))
        expect(journaled(one.events, "aimaira/enrol-parcours")).toMatchObject({
          Periodes: [{ LibellePeriode: "2026/2027", AnneeScolaire: 2 }],
          EligibleSequences: 1
        })

        const typo = yield* runFlow(Workflow.step(LearnerSteps.enrolParcours, { InscriptionId: chosen, LibellePeriodes: ["2026-2027"] }))
        expect(typo.record.failure).toMatchObject({ reason: "non_retryable", error: { _tag: "UnknownCode" } })
        expect(typo.record.failure!.error.message).toContain(`LibellePeriode "2026-2027" (did you mean "2026/2027"`)

        const hiddenVoie = (yield* table("Recrutement")).find((r) => r.ReferenceExterneId === 0)!
        const hidden = yield* newInscription(free[1]!.Id, hiddenVoie.Id)
        const refused = yield* runFlow(Workflow.step(LearnerSteps.enrolParcours, { InscriptionId: hidden }))
        expect(refused.record.failure).toMatchObject({ reason: "non_retryable", error: { _tag: "NoParcours" } })
        expect(refused.record.failure!.error.message).toContain("only shows voies d'entrée with a référence externe")
        // Given explicitly, the parcours of the programme is used.
        const explicit = yield* runFlow(
          Workflow.step(LearnerSteps.enrolParcours, { InscriptionId: hidden, ParcoursId: voie.ParcoursId as Ids.ParcoursId })
        )
        expect(journaled(explicit.events, "aimaira/enrol-parcours").EligibleSequences).toBe(3)

        const otherParcours = (yield* table("Parcours")).find((p) => p.Id !== voie.ParcoursId)!
        const other = yield* runFlow(
          Workflow.step(LearnerSteps.enrolParcours, { InscriptionId: chosen, ParcoursId: otherParcours.Id as Ids.ParcoursId })
        )
        expect(other.record.failure).toMatchObject({ reason: "non_retryable", error: { _tag: "NoParcours" } })
        expect(other.record.failure!.error.message).toBe(
          `AIMAIRA: the parcours ${otherParcours.Id} belongs to another programme than the inscription ${chosen}`
        )
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

    it("enrol-parcours takes an inscription, an optional parcours and period names", () => {
      const decodeEnrol = (value: unknown) => {
        const result = Step.decodeInput(LearnerSteps.enrolParcours, "enrol", value).pipe(Effect.either, Effect.runSync)
        return Either.isLeft(result) ? result.left.message : result.right
      }
      expect(decodeEnrol({ InscriptionId: 12, LibellePeriodes: ["2025/2026"] })).toEqual({ InscriptionId: 12, LibellePeriodes: ["2025/2026"] })
      expect(decodeEnrol({ InscriptionId: 12, ParcoursId: 5 })).toEqual({ InscriptionId: 12, ParcoursId: 5 })
      expect(decodeEnrol({ InscriptionId: 12, LibellePeriodes: [] })).toContain("LibellePeriodes")
      expect(decodeEnrol({ InscriptionId: 0 })).toContain("expected an id (a positive integer)")
      expect(decodeEnrol({ InscriptionId: 12, Periodes: ["2025/2026"] })).toContain("Periodes")
    })
  })
})
