/**
 * The convention steps against the sandbox, through the core engine (memory engine, real
 * clock): the documented convention flow end to end, compensation of a failed run, the
 * get-modify-write of `update-convention`, and the natural-key and marker reconciliations of
 * the creates when a response is lost after commit.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Step, Workflow } from "@relais/core"
import * as Either from "effect/Either"
import * as Effect from "effect/Effect"
import { Temporal } from "temporal-polyfill"
import { AimairaSandbox } from "../src/sandbox/index.js"
import { type AimairaClient, BillingSteps, ConventionSteps, type Ids, LearnerSteps } from "../src/index.js"
import { data, fast, fault, journaled, ofTag, runFlow, stepsLayer, table } from "./stepSupport.js"

type Row = Readonly<Record<string, unknown>> & { readonly Id: number }

const date = (text: string) => Temporal.PlainDate.from(text)

/** A seeded learner without a convention, with their e-mail address and inscription. */
const freeLearner = Effect.gen(function*() {
  const conventions = yield* table("Convention")
  const taken = new Set(conventions.map((c) => c.ApprenantId))
  const learners = yield* table("Apprenant")
  const mails = yield* table("Mail")
  const inscriptions = yield* table("Inscription")
  const learner = learners.find((l) => !taken.has(l.Id))!
  const mail = mails.find((m) => m.Id === learner.MailId)!
  const inscription = inscriptions.find((i) => i.ApprenantId === learner.Id)!
  return { learner, adresse: mail.Adresse as string, inscription }
})

/** Everything the documented flow needs, for one learner, then `last` (which may fail). */
const conventionFlow = (
  who: { readonly Adresse: string; readonly Nom: string; readonly Prenoms: string },
  template: Row,
  programmeCode: string,
  last: (conventionId: Ids.ConventionId) => Effect.Effect<unknown, unknown, Workflow.RunContext | AimairaClient.AimairaClient> = () =>
    Effect.void
) =>
  Effect.gen(function*() {
    const learner = yield* Workflow.step(LearnerSteps.findOrCreateLearner, { ...who, CiviliteCode: "MME" }, { id: "learner" })
    const inscription = yield* Workflow.step(LearnerSteps.createInscription, {
      ApprenantId: learner.Id,
      ProgrammeCode: programmeCode,
      RegimeInscriptionId: template.RegimeInscriptionId as number,
      RecrutementId: template.RecrutementId as number,
      EtatInscriptionId: template.EtatInscriptionId as number,
      DateInscription: Temporal.ZonedDateTime.from("2025-09-08T09:30:00+02:00[Europe/Paris]")
    }, { id: "inscription" })
    const inscriptions = yield* Workflow.step(LearnerSteps.listInscriptions, { ApprenantId: learner.Id }, { id: "inscriptions" })
    // The documented query per inscription; a fresh inscription has no sequences until its
    // périodes are linked, so the learner's older inscription provides them when there is one.
    const sequences = yield* Workflow.step(ConventionSteps.listEligibleSequences, { ApprenantId: learner.Id }, { id: "sequences" })
    const fallback = sequences.length > 0
      ? []
      : yield* Workflow.step(ConventionSteps.listEligibleSequences, { InscriptionId: template.Id as Ids.InscriptionId }, {
        id: "sequences-of-template"
      })
    const sequence = sequences[0] ?? fallback[0]!
    const types = yield* Workflow.step(ConventionSteps.listTypesConvention, {}, { id: "types" })
    const etats = yield* Workflow.step(ConventionSteps.listEtatsConvention, {}, { id: "etats" })
    const convention = yield* Workflow.step(ConventionSteps.createConvention, {
      ApprenantId: learner.Id,
      SequenceId: sequence.Id,
      TypeConventionCode: "APP"
    }, { id: "convention" })
    const entreprise = yield* Workflow.step(ConventionSteps.createEntreprise, {
      Nom: "Boulangerie Fontaine SARL",
      SIRET: "73282932000074",
      NAF: "1071C",
      IDCC: "843"
    }, { id: "entreprise" })
    const person = (id: string, Nom: string, Prenoms: string) =>
      Workflow.step(ConventionSteps.createProfessionnel, {
        CiviliteCode: "M",
        Nom,
        Prenoms,
        Fonction: id === "maitre" ? "Chef boulanger" : "Gérant",
        EntrepriseId: entreprise.Id
      }, { id })
    const maitre = yield* person("maitre", "LATERAL", "Antoine")
    const signataire = yield* person("signataire", "FONTAINE", "Paul")
    const updated = yield* Workflow.step(ConventionSteps.updateConvention, {
      ConventionId: convention.Id,
      EntrepriseId: entreprise.Id,
      MaitreId: maitre.Id,
      SignataireId: signataire.Id,
      DateDebut: date("2025-09-15"),
      DateFin: date("2027-08-31"),
      Poste: "Apprenti boulanger",
      Remuneration: 1261.76
    }, { id: "complete" })
    const opcos = yield* Workflow.step(BillingSteps.listOrganismesFinanceurs, { Nom: "AKTO" }, { id: "opcos" })
    const link = yield* Workflow.step(BillingSteps.attachOrganismeFinanceur, {
      ConventionId: convention.Id,
      OrganismeFinanceurId: opcos[0]!.Id,
      NumeroDossier: "DECA-2025-0042"
    }, { id: "opco" })
    const pay = yield* Workflow.step(BillingSteps.createRemuneration, {
      ConventionId: convention.Id,
      Annee: 1,
      Debut1: date("2025-09-15"),
      Fin1: date("2026-09-14"),
      Pourcentage1: 53,
      SalaireMin1: "SMIC"
    }, { id: "pay" })
    const synced = yield* Workflow.step(BillingSteps.synchronisationAffaire, { ConventionId: convention.Id }, { id: "sync" })
    const clients = yield* Workflow.step(BillingSteps.listBillingClients, { ReferenceId: convention.Id }, { id: "clients" })
    const etat = yield* Workflow.step(ConventionSteps.setConventionEtat, {
      ConventionId: convention.Id,
      EtatConventionCode: "APPRENANT"
    }, { id: "etat" })
    yield* last(convention.Id)
    return {
      learner,
      inscription,
      inscriptions,
      sequence,
      types,
      etats,
      convention,
      entreprise,
      maitre,
      signataire,
      updated,
      link,
      pay,
      synced,
      clients,
      etat
    }
  })

const byId = (rows: ReadonlyArray<Row>, id: number) => rows.find((row) => row.Id === id)

layer(stepsLayer(), { excludeTestServices: true })("ConventionSteps", (it) => {
  describe("the documented convention flow", () => {
    it.effect("runs end to end as a workflow and leaves the convention complete in the sandbox", () =>
      Effect.gen(function*() {
        const { adresse, inscription: template, learner: seeded } = yield* freeLearner
        const programmes = yield* table("Programme")
        const other = programmes.find((p) => p.Id !== template.ProgrammeId)!
        const { output, record } = yield* runFlow(
          conventionFlow({ Adresse: adresse, Nom: seeded.Nom as string, Prenoms: seeded.Prenoms as string }, template, other.Code as string)
        )
        expect(record.status).toBe("succeeded")
        const out = output as any

        // The learner was found (by e-mail), not created.
        expect(out.learner.Id).toBe(seeded.Id)
        expect(out.learner.Created).toEqual({ Mail: false, Apprenant: false })
        expect(out.learner.Mail.Adresse).toBe(adresse)
        // The new inscription, in the other programme, is listed with the older one.
        expect(out.inscriptions.map((i: Row) => i.Id)).toEqual([template.Id, out.inscription.Id])
        expect(out.types.map((t: Row) => t.Code)).toEqual(["STG", "PRO", "APP", "STA"])
        expect(out.etats[0].Code).toBe("SAISIE")

        const state = yield* data
        const rows = (name: string) => state.collections[name] ?? []
        const inscription = byId(rows("Inscription"), out.inscription.Id)!
        expect(inscription).toMatchObject({ ApprenantId: seeded.Id, ProgrammeId: other.Id, DateInscription: "2025-09-08T09:30:00+02:00" })

        const convention = byId(rows("Convention"), out.convention.Id)!
        const etats = rows("EtatConvention")
        const types = rows("TypeConvention")
        expect(out.convention.EtatConventionId).toBe(etats.find((e) => e.Code === "SAISIE")!.Id)
        expect(convention).toMatchObject({
          ApprenantId: seeded.Id,
          SequenceId: out.sequence.Id,
          TypeConventionId: types.find((t) => t.Code === "APP")!.Id,
          EtatConventionId: etats.find((e) => e.Code === "APPRENANT")!.Id,
          EntrepriseId: out.entreprise.Id,
          MaitreId: out.maitre.Id,
          SignataireId: out.signataire.Id,
          MaitreBisId: 0,
          ReferentId: 0,
          DateDebut: "2025-09-15T00:00:00+02:00",
          DateFin: "2027-08-31T00:00:00+02:00",
          Poste: "Apprenti boulanger",
          Remuneration: 1261.76,
          Devise: "Euro"
        })
        expect(out.updated.Previous).toEqual({
          EntrepriseId: 0,
          MaitreId: 0,
          SignataireId: 0,
          DateDebut: null,
          DateFin: null,
          Poste: "",
          Remuneration: 0
        })
        expect(out.etat.Previous).toEqual({ EtatConventionId: out.convention.EtatConventionId })

        expect(byId(rows("Entreprise"), out.entreprise.Id)).toMatchObject({ Nom: "Boulangerie Fontaine SARL", SIRET: "73282932000074" })
        expect(out.entreprise.Code).toMatch(/^relais-[0-9a-f]{16}$/)
        for (const person of [out.maitre, out.signataire]) {
          expect(byId(rows("Professionnel"), person.Id)).toMatchObject({ EntrepriseId: out.entreprise.Id, Code: person.Code })
        }
        expect(out.maitre.Code).not.toBe(out.signataire.Code)

        const akto = rows("OrganismeFinanceur").find((o) => o.Nom === "AKTO")!
        expect(rows("ConventionOrganismeFinanceur").filter((l) => l.ConventionId === convention.Id)).toMatchObject([
          { Id: out.link.Id, OrganismeFinanceurId: akto.Id, NumeroDossier: "DECA-2025-0042", TypePriseCharge: "Entreprise" }
        ])
        expect(rows("Remuneration").filter((r) => r.ConventionId === convention.Id)).toMatchObject([
          { Id: out.pay.Id, Annee: 1, Pourcentage1: 53, SalaireMin1: "SMIC", Debut1: "2025-09-15T00:00:00+02:00" }
        ])
        const clients = rows("Client").filter((c) => c.ReferenceId === convention.Id)
        expect(clients.map((c) => c.Code).sort()).toEqual([`411-${seeded.Code as string}-`, "CAKTO"])
        expect(out.synced.map((c: Row) => c.Id)).toEqual(clients.map((c) => c.Id))
        expect(out.clients.map((c: Row) => c.Id)).toEqual(clients.map((c) => c.Id))
      }))
  })

  describe("compensation", () => {
    it.effect("a run whose last step fails for good is undone: the sandbox is as before", () =>
      Effect.gen(function*() {
        const [template] = yield* table("Inscription")
        const [programme] = yield* table("Programme")
        const before = yield* data
        const { events, record } = yield* runFlow(
          conventionFlow(
            { Adresse: "lea.nouvelle@ecole-exemple.fr", Nom: "NOUVELLE", Prenoms: "Léa" },
            template!,
            programme!.Code as string,
            (ConventionId) =>
              Workflow.step(ConventionSteps.setConventionEtat, { ConventionId, EtatConventionCode: "CLOTUREE" }, { id: "close" })
          )
        )
        expect(record.status).toBe("compensated")
        expect(record.failure).toMatchObject({ path: "close", reason: "non_retryable", error: { _tag: "UnknownCode" } })
        expect(record.failure!.error.message).toContain(`AIMAIRA has no EtatConvention with Code "CLOTUREE"`)
        // Every completed step with a compensation, in reverse completion order.
        expect(record.compensated!.map((c) => c.path)).toEqual([
          "etat",
          "pay",
          "opco",
          "complete",
          "signataire",
          "maitre",
          "entreprise",
          "convention",
          "inscription",
          "learner"
        ])
        expect(ofTag(events, "CompensationFailed")).toEqual([])
        expect(yield* data).toEqual(before)
      }))
  })

  describe("update-convention", () => {
    it.effect("changes only the given fields, and its compensation restores them exactly", () =>
      Effect.gen(function*() {
        const [seeded] = yield* table("Convention")
        const [, teacher] = yield* table("Enseignant")
        const id = seeded!.Id as Ids.ConventionId
        const original = byId(yield* table("Convention"), id)!
        const changes = {
          ConventionId: id,
          EnseignantId: teacher!.Id as Ids.EnseignantId,
          Poste: "Tourier",
          NbHeureFormation: 812.5,
          AvantageLogement: 120,
          DateFin: date("2028-08-31"),
          DateRupture: null
        }
        const { events, record } = yield* runFlow(Workflow.step(ConventionSteps.updateConvention, changes))
        expect(record.status).toBe("succeeded")
        const after = byId(yield* table("Convention"), id)!
        const changed = Object.keys(after).filter((key) => JSON.stringify(after[key]) !== JSON.stringify(original[key]))
        expect(changed.sort()).toEqual(["AvantageLogement", "DateFin", "EnseignantId", "NbHeureFormation", "Poste"])
        expect(after).toMatchObject({ Poste: "Tourier", NbHeureFormation: 812.5, DateFin: "2028-08-31T00:00:00+02:00" })
        expect(journaled(events, "aimaira/update-convention").Previous).toEqual({
          EnseignantId: original.EnseignantId,
          Poste: original.Poste,
          NbHeureFormation: original.NbHeureFormation,
          AvantageLogement: original.AvantageLogement,
          // In update-convention's input form, so it can be given back as is.
          DateFin: Temporal.Instant.from(original.DateFin as string).toZonedDateTimeISO("Europe/Paris").toPlainDate().toString(),
          DateRupture: null
        })

        // The same change in a run that fails afterwards: compensated back to `after`.
        const undone = yield* runFlow(Effect.gen(function*() {
          yield* Workflow.step(ConventionSteps.updateConvention, {
            ...changes,
            Poste: "Pâtissier",
            AvantageLogement: null,
            EnseignantId: 0 as Ids.EnseignantId,
            DateRupture: date("2026-01-31")
          })
          yield* Workflow.step(ConventionSteps.setConventionEtat, { ConventionId: id, EtatConventionCode: "NOPE" })
        }))
        expect(undone.record.status).toBe("compensated")
        expect(byId(yield* table("Convention"), id)).toEqual(after)
      }))

    it.effect("a write whose answer is lost still reports (and restores) the values from before it", () =>
      Effect.gen(function*() {
        const [, seeded] = yield* table("Convention")
        const id = seeded!.Id as Ids.ConventionId
        const before = byId(yield* table("Convention"), id)!
        yield* fault(`PUT /GraphV1/Convention/${id} drop-after-commit x1`)
        const { events, record } = yield* runFlow(Effect.gen(function*() {
          const updated = yield* Workflow.step(ConventionSteps.updateConvention, { ConventionId: id, Poste: "Vendeur" }, fast)
          expect(updated.Previous).toEqual({ Poste: before.Poste })
          yield* Workflow.step(ConventionSteps.setConventionEtat, { ConventionId: id, EtatConventionCode: "NOPE" })
        }))
        expect(ofTag(events, "AttemptFailed")[0]).toMatchObject({ path: "aimaira/update-convention", error: { _tag: "Transport" } })
        expect(record.status).toBe("compensated")
        expect(byId(yield* table("Convention"), id)).toEqual(before)
      }))
  })

  describe("set-convention-etat", () => {
    it.effect("moves by code; the compensation puts the état back; moving into SAISIE deletes the documents", () =>
      Effect.gen(function*() {
        const [, , stage] = yield* table("Convention")
        const id = stage!.Id as Ids.ConventionId
        const etats = yield* table("EtatConvention")
        const etatOf = () => Effect.map(table("Convention"), (rows) => etats.find((e) => e.Id === byId(rows, id)!.EtatConventionId)!.Code)
        const documents = () => Effect.map(data, (state) => state.documents.filter((d) => d.ConventionId === id).map((d) => d.Nom))
        expect(yield* etatOf()).toBe("SAISIE")

        const moved = yield* runFlow(Workflow.step(ConventionSteps.setConventionEtat, { ConventionId: id, EtatConventionCode: "ENTR" }))
        expect(moved.record.status).toBe("succeeded")
        expect(yield* etatOf()).toBe("ENTR")
        expect((moved.output as any).Previous).toEqual({ EtatConventionId: stage!.EtatConventionId })
        yield* Effect.flatMap(AimairaSandbox.AimairaSandbox, (sandbox) => sandbox.addDocument(id, "cerfa.pdf"))

        const failed = yield* runFlow(Effect.gen(function*() {
          yield* Workflow.step(ConventionSteps.setConventionEtat, { ConventionId: id, EtatConventionCode: "COMPLET" })
          yield* Workflow.step(ConventionSteps.setConventionEtat, { ConventionId: id, EtatConventionCode: "NOPE" }, { id: "nope" })
        }))
        expect(failed.record.status).toBe("compensated")
        expect(yield* etatOf()).toBe("ENTR")
        expect(yield* documents()).toEqual(["cerfa.pdf"])

        const back = yield* runFlow(Workflow.step(ConventionSteps.setConventionEtat, { ConventionId: id, EtatConventionCode: "SAISIE" }))
        expect(back.record.status).toBe("succeeded")
        expect(yield* etatOf()).toBe("SAISIE")
        expect(yield* documents()).toEqual([])
      }))

    it.effect("an unknown type code fails at once, with suggestions", () =>
      Effect.gen(function*() {
        const { learner } = yield* freeLearner
        const { record } = yield* runFlow(Workflow.step(ConventionSteps.createConvention, {
          ApprenantId: learner.Id as Ids.ApprenantId,
          SequenceId: 1 as Ids.SequenceId,
          TypeConventionCode: "APPP"
        }))
        expect(record.status).toBe("failed")
        expect(record.failure).toMatchObject({ reason: "non_retryable", error: { _tag: "UnknownCode" } })
        expect(record.failure!.error.message).toBe(
          `AIMAIRA has no TypeConvention with Code "APPP" (did you mean "APP"?); known values: STG, PRO, APP, STA`
        )
      }))
  })

  describe("inputs in their YAML form", () => {
    const decode = (step: Step.Any, value: unknown) => {
      const result = Step.decodeInput(step, "step", value).pipe(Effect.either, Effect.runSync)
      return Either.isLeft(result) ? result.left.message : result.right
    }

    it("decodes ids, codes, dates and nulls; refuses unknown keys and double choices", () => {
      expect(decode(ConventionSteps.createConvention, { ApprenantId: 12, SequenceId: 34, TypeConventionCode: "APP" }))
        .toEqual({ ApprenantId: 12, SequenceId: 34, TypeConventionCode: "APP" })
      expect(decode(ConventionSteps.createConvention, { ApprenantId: 12, SequenceId: 34, TypeConventionId: 5, TypeConventionCode: "APP" }))
        .toContain("give only one of TypeConventionId, TypeConventionCode")
      expect(decode(ConventionSteps.createConvention, { ApprenantId: 0, SequenceId: 34, TypeConventionCode: "APP" }))
        .toContain("expected an id (a positive integer)")
      const update = decode(ConventionSteps.updateConvention, {
        ConventionId: 7,
        DateDebut: "2025-09-15",
        DateFin: "2027-08-31T00:00:00+02:00",
        EntrepriseId: null,
        Remuneration: 1261.76
      }) as any
      expect([update.DateDebut.toString(), update.DateFin.toString(), update.EntrepriseId]).toEqual(["2025-09-15", "2027-08-31", null])
      expect(decode(ConventionSteps.updateConvention, { ConventionId: 7, DateFin: "2027-08-31T12:00:00+02:00" }))
        .toContain("DateFin")
      expect(decode(ConventionSteps.updateConvention, { ConventionId: 7, Entreprise: 3 })).toContain("Entreprise")
      expect(decode(ConventionSteps.setConventionEtat, { ConventionId: 7, EtatConventionCode: "SAISIE" }))
        .toEqual({ ConventionId: 7, EtatConventionCode: "SAISIE" })
    })
  })

  describe("lost responses (drop-after-commit)", () => {
    it.effect("create-convention (natural key): exactly one convention, found by reconciliation", () =>
      Effect.gen(function*() {
        const { inscription, learner } = yield* freeLearner
        const sequences = (yield* table("Sequence")).filter((s) => s.ProgrammeId === inscription.ProgrammeId)
        const before = (yield* table("Convention")).length
        yield* fault("POST /GraphV1/Convention drop-after-commit x1")
        const { events, output, record } = yield* runFlow(Workflow.step(ConventionSteps.createConvention, {
          ApprenantId: learner.Id as Ids.ApprenantId,
          SequenceId: sequences[0]!.Id as Ids.SequenceId,
          TypeConventionCode: "STG"
        }, fast))
        expect(record.status).toBe("succeeded")
        expect(ofTag(events, "AttemptFailed").map((e) => e.error._tag)).toEqual(["Transport"])
        expect(ofTag(events, "StepReconciled").map((e) => e.found)).toEqual([true])
        const mine = (yield* table("Convention")).filter((c) => c.ApprenantId === learner.Id)
        expect(mine.map((c) => c.Id)).toEqual([(output as any).Id])
        expect((yield* table("Convention")).length).toBe(before + 1)
      }))

    it.effect("create-entreprise and create-professionnel (marker): exactly one each", () =>
      Effect.gen(function*() {
        const before = yield* data
        yield* fault("POST /GraphV1/Entreprise drop-after-commit x1\nPOST /GraphV1/Professionnel drop-after-commit x1")
        const { events, output, record } = yield* runFlow(Effect.gen(function*() {
          const entreprise = yield* Workflow.step(ConventionSteps.createEntreprise, { Nom: "Menuiserie Dubois" }, fast)
          const maitre = yield* Workflow.step(ConventionSteps.createProfessionnel, {
            CiviliteCode: "MME",
            Nom: "DUBOIS",
            Prenoms: "Claire",
            EntrepriseId: entreprise.Id
          }, fast)
          return { entreprise, maitre }
        }))
        expect(record.status).toBe("succeeded")
        expect(ofTag(events, "StepReconciled").map((e) => [e.path, e.found])).toEqual([
          ["aimaira/create-entreprise", true],
          ["aimaira/create-professionnel", true]
        ])
        const after = yield* data
        const added = (name: string) => after.collections[name]!.length - before.collections[name]!.length
        expect([added("Entreprise"), added("Professionnel")]).toEqual([1, 1])
        const out = output as any
        expect(after.collections.Entreprise!.filter((e) => e.Nom === "Menuiserie Dubois").map((e) => e.Id)).toEqual([out.entreprise.Id])
        expect(after.collections.Professionnel!.filter((p) => p.Nom === "DUBOIS" && p.Prenoms === "Claire").map((p) => p.Id)).toEqual([out.maitre.Id])
      }))
  })
})
