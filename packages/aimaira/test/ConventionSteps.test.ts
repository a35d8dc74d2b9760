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
import { type AimairaClient, BillingSteps, ConventionSteps, ExportSteps, type Ids, LearnerSteps } from "../src/index.js"
import { call } from "./support.js"
import { data, failStep, fast, fault, journaled, ofTag, runFlow, stepsLayer, table } from "./stepSupport.js"

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

  describe("documented rules, checked before anything is written", () => {
    const professionals = (n: number) =>
      Effect.gen(function*() {
        const out: Array<Ids.ProfessionnelId> = []
        for (let i = 0; i < n; i++) {
          const { output } = yield* runFlow(Workflow.step(ConventionSteps.createProfessionnel, {
            CiviliteCode: "M",
            Nom: "ROLE",
            Prenoms: `Personne${i}`
          }))
          out.push((output as any).Id)
        }
        return out
      })
    const puts = Effect.flatMap(AimairaSandbox.AimairaSandbox, (sandbox) => sandbox.requests.count({ method: "PUT" }))

    it.effect("one professional in two roles: refused from the input alone, or against the convention's current roles", () =>
      Effect.gen(function*() {
        const [, seeded] = yield* table("Convention")
        const id = seeded!.Id as Ids.ConventionId
        const [a, b] = yield* professionals(2)
        const before = byId(yield* table("Convention"), id)!
        const putsBefore = yield* puts

        // Both roles in one input: the input is invalid, nothing is called.
        const twice = yield* runFlow(Workflow.step(ConventionSteps.updateConvention, { ConventionId: id, MaitreId: a!, SignataireId: a! }))
        expect(twice.record.status).toBe("failed")
        expect(twice.record.failure).toMatchObject({ reason: "invalid_input" })
        expect(twice.record.failure!.error.message).toContain(
          `MaitreId and SignataireId name the same professional (${a}): AIMAIRA requires a different professional for each role`
        )

        // The convention's maître (seeded) given as the signataire: refused after the read, before the write.
        const maitre = before.MaitreId as Ids.ProfessionnelId
        const signataire = yield* runFlow(Workflow.step(ConventionSteps.updateConvention, { ConventionId: id, SignataireId: maitre }))
        expect(signataire.record.status).toBe("failed")
        expect(signataire.record.failure).toMatchObject({ reason: "non_retryable", error: { _tag: "ConventionRule" } })
        expect(ofTag(signataire.events, "AttemptFailed")).toHaveLength(1)
        expect(signataire.record.failure!.error.message).toBe(
          `AIMAIRA: the professional ${maitre} cannot be both the tuteur / maître d'apprentissage and the signataire of ` +
            `the convention ${String(before.Code)} (${id}) (MaitreId and SignataireId): AIMAIRA requires a different ` +
            "professional for each role (tuteur, signataire, autre contact), even for the same person; create one per " +
            "role with aimaira/create-professionnel"
        )
        expect(yield* puts).toBe(putsBefore)
        expect(byId(yield* table("Convention"), id)).toEqual(before)

        // Different professionals in every role: accepted.
        const ok = yield* runFlow(Workflow.step(ConventionSteps.updateConvention, { ConventionId: id, SignataireId: a!, ReferentId: b! }))
        expect(ok.record.status).toBe("succeeded")
        expect(byId(yield* table("Convention"), id)).toMatchObject({ MaitreId: maitre, SignataireId: a, ReferentId: b })
      }))

    it.effect("a company that belongs to another convention is refused before the write", () =>
      Effect.gen(function*() {
        const [first, second] = yield* table("Convention")
        const putsBefore = yield* puts
        const { record } = yield* runFlow(Workflow.step(ConventionSteps.updateConvention, {
          ConventionId: second!.Id as Ids.ConventionId,
          EntrepriseId: first!.EntrepriseId as Ids.EntrepriseId
        }))
        expect(record.status).toBe("failed")
        expect(record.failure).toMatchObject({ reason: "non_retryable", error: { _tag: "ConventionRule" } })
        expect(record.failure!.error.message).toContain(
          `AIMAIRA: the company (Entreprise ${first!.EntrepriseId}) already belongs to the convention ${String(first!.Code)} ` +
            `(${first!.Id}), so it cannot be the company of the convention ${String(second!.Code)}`
        )
        expect(yield* puts).toBe(putsBefore)
        // Keeping its own company while changing something else is fine.
        const own = yield* runFlow(Workflow.step(ConventionSteps.updateConvention, {
          ConventionId: second!.Id as Ids.ConventionId,
          EntrepriseId: second!.EntrepriseId as Ids.EntrepriseId,
          Poste: "Apprenti(e) boulanger(e)"
        }))
        expect(own.record.status).toBe("succeeded")
      }))

    it.effect("the sandbox refuses what AIMAIRA refuses: one professional in two roles (400, naming the field)", () =>
      Effect.gen(function*() {
        const [, , third] = yield* table("Convention")
        const [a] = yield* professionals(1)
        const current = (yield* call("GET", `/Convention/${third!.Id}`)).json
        const { "@odata.context": _context, ...body } = current
        const refused = yield* call("PUT", `/Convention/${third!.Id}`, { body: { ...body, MaitreId: a, ReferentId: a } })
        expect(refused.status).toBe(400)
        expect(refused.json.error).toMatchObject({ code: "BadRequest", target: "ReferentId" })
        expect(refused.json.error.message).toContain(
          "the tuteur, the signataire and the autre contact must be different professionals with different ids"
        )
        const created = yield* call("POST", "/Convention", {
          body: { ApprenantId: third!.ApprenantId, SequenceId: third!.SequenceId, TypeConventionId: third!.TypeConventionId, SignataireId: a, MaitreBisId: a }
        })
        expect(created.status).toBe(400)
        expect(created.json.error.target).toBe("SignataireId")
        expect((yield* call("PUT", `/Convention/${third!.Id}`, { body: { ...body, MaitreId: a, ReferentId: 0 } })).status).toBe(200)
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

// ---------------------------------------------------------------------------------------------
// E-mails of professionals, and finding an enseignant (a fresh sandbox, pages of 3 rows)

const ADRESSE = "sophie.marchand@atelier-marchand.fr"

/** The maître of a convention, with a new e-mail address. */
const maitreWith = (fields: Partial<ConventionSteps.CreateProfessionnelInput> = {}) =>
  Workflow.step(ConventionSteps.createProfessionnel, {
    CiviliteCode: "MME",
    Nom: "MARCHAND",
    Prenoms: "Sophie",
    Adresse: ADRESSE,
    ...fields
  }, { ...fast, id: "maitre" })

/** The seeded enseignants as the step lists them. */
const expected = Effect.gen(function*() {
  const mails = yield* table("Mail")
  return (yield* table("Enseignant")).map((t) => ({
    Id: t.Id,
    Code: t.Code,
    Nom: t.Nom,
    Prenoms: t.Prenoms,
    NomUsage: t.NomUsage,
    PrenomUsage: t.PrenomUsage,
    MailId: t.MailId,
    Email: (mails.find((m) => m.Id === t.MailId)?.Adresse ?? null) as string | null
  }))
})

layer(stepsLayer({ pageSize: 3 }), { excludeTestServices: true })("ConventionSteps: e-mails and enseignants", (it) => {
  describe("create-professionnel with Adresse", () => {
    it.effect("creates the Mail, marked like the professional, and links it through MailId", () =>
      Effect.gen(function*() {
        const before = yield* table("Mail")
        const { events, record } = yield* runFlow(maitreWith({ Fonction: "Gérante" }))
        expect(record.status).toBe("succeeded")
        const maitre = journaled(events, "maitre")
        const mails = (yield* table("Mail")).filter((m) => m.Adresse === ADRESSE)
        expect(mails).toMatchObject([{ Id: maitre.MailId, Adresse: ADRESSE, Code: maitre.Code, IsDuplicate: false }])
        expect(maitre.Code).toMatch(/^relais-[0-9a-f]{16}$/)
        expect((yield* table("Mail")).length).toBe(before.length + 1)
        expect(byId(yield* table("Professionnel"), maitre.Id)).toMatchObject({
          MailId: maitre.MailId,
          Nom: "MARCHAND",
          NomUsage: "MARCHAND",
          PrenomUsage: "Sophie",
          Fonction: "Gérante"
        })
      }))

    it.effect("a lost answer on POST Mail leaves exactly one Mail, reused by the retry", () =>
      Effect.gen(function*() {
        const adresse = "paul.perdu@atelier-marchand.fr"
        yield* fault("POST /GraphV1/Mail drop-after-commit x1")
        const { events, record } = yield* runFlow(maitreWith({ Nom: "PERDU", Prenoms: "Paul", Adresse: adresse }))
        expect(record.status).toBe("succeeded")
        expect(ofTag(events, "AttemptFailed").map((e) => e.error._tag)).toEqual(["Transport"])
        // The professional was not created yet: the retry runs, and finds its own Mail.
        expect(ofTag(events, "StepReconciled").map((e) => e.found)).toEqual([false])
        const maitre = journaled(events, "maitre")
        expect((yield* table("Mail")).filter((m) => m.Adresse === adresse).map((m) => m.Id)).toEqual([maitre.MailId])
        expect((yield* table("Professionnel")).filter((p) => p.Nom === "PERDU").map((p) => p.MailId)).toEqual([maitre.MailId])
      }))

    it.effect("a lost answer on POST Professionnel: one professional, one Mail", () =>
      Effect.gen(function*() {
        const adresse = "jules.double@atelier-marchand.fr"
        yield* fault("POST /GraphV1/Professionnel drop-after-commit x1")
        const { events, record } = yield* runFlow(maitreWith({ Nom: "DOUBLE", Prenoms: "Jules", Adresse: adresse }))
        expect(record.status).toBe("succeeded")
        // The attempt looked for the professional (its marker) before undoing its Mail, found it,
        // and kept both: no retry was needed.
        expect(ofTag(events, "AttemptFailed")).toEqual([])
        const maitre = journaled(events, "maitre")
        expect(maitre.Code).toMatch(/^relais-/)
        expect((yield* table("Mail")).filter((m) => m.Adresse === adresse).map((m) => m.Id)).toEqual([maitre.MailId])
        expect((yield* table("Professionnel")).filter((p) => p.Nom === "DOUBLE").map((p) => p.Id)).toEqual([maitre.Id])
      }))

    it.effect("the compensation deletes the professional and its Mail, also after a lost answer", () =>
      Effect.gen(function*() {
        const before = yield* data
        const { events, record } = yield* runFlow(Effect.gen(function*() {
          yield* maitreWith({ Adresse: "lea.annulee@atelier-marchand.fr" })
          yield* Workflow.step(failStep, {})
        }))
        expect(record.status).toBe("compensated")
        expect(record.compensated!.map((c) => c.path)).toEqual(["maitre"])
        expect(journaled(events, "maitre").MailId).toBeGreaterThan(0)
        expect(yield* data).toEqual(before)

        yield* fault("POST /GraphV1/Mail drop-after-commit x1")
        const lost = yield* runFlow(Effect.gen(function*() {
          yield* maitreWith({ Adresse: "lea.annulee@atelier-marchand.fr" })
          yield* Workflow.step(failStep, {})
        }))
        expect(lost.record.status).toBe("compensated")
        expect(ofTag(lost.events, "AttemptFailed").map((e) => e.error._tag)).toEqual(["Transport", "Validation"])
        expect(ofTag(lost.events, "CompensationFailed")).toEqual([])
        expect(yield* data).toEqual(before)
      }))

    it.effect("a Mail that existed before is never reused nor deleted (Adresse or MailId)", () =>
      Effect.gen(function*() {
        const existing = (yield* table("Mail")).find((m) => String(m.Adresse).endsWith("@ecole-exemple.fr"))!
        const before = yield* data
        const withAdresse = yield* runFlow(Effect.gen(function*() {
          yield* maitreWith({ Adresse: existing.Adresse as string })
          yield* Workflow.step(failStep, {})
        }))
        expect(withAdresse.record.status).toBe("compensated")
        // A Mail of its own with the same address, deleted by the compensation.
        expect(journaled(withAdresse.events, "maitre").MailId).not.toBe(existing.Id)
        expect(yield* data).toEqual(before)

        const withMailId = yield* runFlow(Effect.gen(function*() {
          yield* Workflow.step(ConventionSteps.createProfessionnel, {
            CiviliteCode: "M",
            Nom: "FOURNIER",
            Prenoms: "Marc",
            MailId: existing.Id as Ids.MailId
          }, { id: "maitre" })
          yield* Workflow.step(failStep, {})
        }))
        expect(withMailId.record.status).toBe("compensated")
        expect(journaled(withMailId.events, "maitre").MailId).toBe(existing.Id)
        expect(yield* data).toEqual(before)
      }))

    it.effect("a professional AIMAIRA refuses for good leaves no Mail behind", () =>
      Effect.gen(function*() {
        const before = yield* data
        const { record } = yield* runFlow(maitreWith({ EntrepriseId: 999_999_999 as Ids.EntrepriseId }))
        expect(record.status).toBe("failed")
        expect(record.failure).toMatchObject({ reason: "non_retryable", error: { _tag: "Validation", status: 400 } })
        expect(yield* data).toEqual(before)
      }))

    it("takes Adresse or MailId, not both; Adresse must be an address", () => {
      const decode = (value: unknown) => {
        const result = Step.decodeInput(ConventionSteps.createProfessionnel, "maitre", value).pipe(Effect.either, Effect.runSync)
        return Either.isLeft(result) ? result.left.message : result.right
      }
      const base = { CiviliteCode: "M", Nom: "LATERAL", Prenoms: "Antoine" }
      expect(decode({ ...base, Adresse: "antoine@lateral.fr" })).toEqual({ ...base, Adresse: "antoine@lateral.fr" })
      expect(decode(base)).toEqual(base)
      expect(decode({ ...base, Adresse: "antoine@lateral.fr", MailId: 12 })).toContain("give at most one of MailId, Adresse")
      expect(decode({ ...base, Adresse: "antoine lateral" })).toContain("expected an e-mail address")
      expect(decode({ ...base, CiviliteId: 3, Adresse: "antoine@lateral.fr", MailId: 12 })).toContain("give only one of CiviliteId")
    })
  })

  describe("list-enseignants", () => {
    const list = (input: ConventionSteps.ListEnseignantsInput) =>
      Effect.map(runFlow(Workflow.step(ConventionSteps.listEnseignants, input)), ({ output, record }) => {
        expect(record.status).toBe("succeeded")
        return output as ReadonlyArray<unknown>
      })

    it.effect("every enseignant with its e-mail, ordered by id, over pages; by Nom, Code, Email, Top", () =>
      Effect.gen(function*() {
        const teachers = yield* expected
        expect(teachers.length).toBe(4)
        expect(teachers.every((t) => t.Email !== null && t.Email.includes("@"))).toBe(true)
        const ids = teachers.map((t) => t.Id)
        expect(ids).toEqual([...ids].sort((a, b) => a - b))

        expect(yield* list({})).toEqual(teachers)
        const [first, second, third, fourth] = teachers
        expect(yield* list({ Nom: second!.Nom as string })).toEqual(teachers.filter((t) => t.Nom === second!.Nom))
        expect(yield* list({ Code: third!.Code as string })).toEqual([third])
        expect(yield* list({ Email: fourth!.Email! })).toEqual([fourth])
        expect(yield* list({ Top: 2 })).toEqual([first, second])
        expect(yield* list({ Nom: first!.Nom as string, Email: fourth!.Email! }))
          .toEqual(first!.Nom === fourth!.Nom ? [fourth] : [])
        expect(yield* list({ Email: "personne@ecole-exemple.fr" })).toEqual([])
      }))

    it.effect("sends one documented list request with the filters, the e-mail through Mail/Adresse", () =>
      Effect.gen(function*() {
        const [, , , fourth] = yield* expected
        const sandbox = yield* AimairaSandbox.AimairaSandbox
        yield* sandbox.requests.clear
        yield* list({ Email: fourth!.Email!, Code: fourth!.Code as string })
        const requests = yield* sandbox.requests.list()
        expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /GraphV1/Enseignant"])
        const paths = requests.map((r) => decodeURIComponent(r.query.replace(/\+/g, " ")))
        expect(paths[0]).toContain(`Mail/Adresse eq '${fourth!.Email}'`)
        expect(paths[0]).toContain("$expand=Mail($select=Id,Adresse)")
        expect(paths[0]).toContain("$orderby=Id")
      }))
  })

  describe("a convention de stage without hard-coded ids", () => {
    it.effect("the enseignant found by e-mail, a tuteur created with Adresse: the aggregate has both e-mails", () =>
      Effect.gen(function*() {
        const { learner } = yield* freeLearner
        const [, teacher] = yield* expected
        const { events, record } = yield* runFlow(Effect.gen(function*() {
          const ApprenantId = learner.Id as Ids.ApprenantId
          const [sequence] = yield* Workflow.step(ConventionSteps.listEligibleSequences, { ApprenantId }, { id: "sequences" })
          const convention = yield* Workflow.step(ConventionSteps.createConvention, {
            ApprenantId,
            SequenceId: sequence!.Id,
            TypeConventionCode: "STG"
          }, { id: "convention" })
          const entreprise = yield* Workflow.step(ConventionSteps.createEntreprise, { Nom: "Atelier Marchand" }, { id: "entreprise" })
          const tuteur = yield* maitreWith({ EntrepriseId: entreprise.Id, Adresse: "tuteur@atelier-marchand.fr" })
          const [enseignant] = yield* Workflow.step(ConventionSteps.listEnseignants, { Email: teacher!.Email! }, { id: "enseignant" })
          yield* Workflow.step(ConventionSteps.updateConvention, {
            ConventionId: convention.Id,
            EntrepriseId: entreprise.Id,
            MaitreId: tuteur.Id,
            EnseignantId: enseignant!.Id
          }, { id: "complete" })
          yield* Workflow.step(ExportSteps.getConventionAggregate, { ConventionId: convention.Id }, { id: "aggregate" })
          yield* Workflow.step(ExportSteps.getConventionAggregate, { ConventionId: convention.Id, Expand: false }, {
            id: "aggregate-one-by-one"
          })
        }))
        expect(record.status).toBe("succeeded")
        const tuteur = journaled(events, "maitre")
        const aggregate = journaled(events, "aggregate")
        expect(aggregate.maitre).toEqual({
          Id: tuteur.Id,
          Code: tuteur.Code,
          Nom: "MARCHAND",
          Prenoms: "Sophie",
          NomUsage: "MARCHAND",
          PrenomUsage: "Sophie",
          MailId: tuteur.MailId,
          Email: "tuteur@atelier-marchand.fr",
          Mail: { Id: tuteur.MailId, Adresse: "tuteur@atelier-marchand.fr" }
        })
        expect(aggregate.enseignant).toMatchObject({ Id: teacher!.Id, MailId: teacher!.MailId, Email: teacher!.Email })
        expect(journaled(events, "aggregate-one-by-one")).toEqual(aggregate)
      }))
  })
})
