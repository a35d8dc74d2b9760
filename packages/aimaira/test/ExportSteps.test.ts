/**
 * The export steps against the sandbox (server pages of 2 rows), through the core engine:
 * `get-convention-aggregate` field by field (complete conventions with an enseignant or a
 * référent école, the incomplete one), in one request and one GET per entity; its output
 * decoded with a copy of `campus-skills/map-convention`'s input schema; `list-conventions` by
 * school year, dates, état and type, over several pages; and a nightly batch over a school year
 * where one convention fails alone.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Step, Workflow } from "@relais/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { ExportSteps, type Ids } from "../src/index.js"
import { AimairaSandbox } from "../src/sandbox/index.js"
import { clearFaults, fast, fault, journaled, ofTag, runFlow, stepsLayer, table } from "./stepSupport.js"
import { call } from "./support.js"

type Row = Readonly<Record<string, unknown>> & { readonly Id: number }

// ---------------------------------------------------------------------------------------------
// A copy of the input of `campus-skills/map-convention` (`ConventionAggregate` in
// packages/campus-skills/src/Mapping.ts), which this package must not import: same slots, same
// field names and JSON types. Decoding the journaled output with it, as the runner decodes a
// step's `with:`, checks that the two stay compatible.

const Text = Schema.optional(Schema.NullOr(Schema.String))
const Int = Schema.optional(Schema.NullOr(Schema.Number))
const entity = <Fields extends Schema.Struct.Fields>(fields: Fields) => {
  const keys = Object.keys(fields)
  return Schema.transform(
    Schema.Struct(fields, Schema.Record({ key: Schema.String, value: Schema.Unknown })),
    Schema.typeSchema(Schema.Struct(fields)),
    {
      strict: false,
      decode: (raw) => Object.fromEntries(keys.filter((key) => key in raw).map((key) => [key, (raw as any)[key]])),
      encode: (value) => value
    }
  ) as unknown as Schema.Schema<Schema.Struct.Type<Fields>, Schema.Struct.Encoded<Fields> & { readonly [key: string]: unknown }>
}
const CampusMail = entity({ Id: Int, Adresse: Text })
const CampusPerson = entity({
  Id: Int,
  Code: Text,
  Nom: Text,
  Prenoms: Text,
  NomUsage: Text,
  PrenomUsage: Text,
  Email: Text,
  Mail: Schema.optional(Schema.NullOr(CampusMail))
})
const slot = <A, I>(schema: Schema.Schema<A, I>) => Schema.optional(Schema.NullOr(schema))
const CampusConventionAggregate = Schema.Struct({
  convention: slot(entity({ Id: Int, Code: Text, DateDebut: Text, DateFin: Text, Poste: Text })),
  apprenant: slot(CampusPerson),
  entreprise: slot(entity({ Id: Int, Nom: Text, Code: Text })),
  maitre: slot(CampusPerson),
  enseignant: slot(CampusPerson),
  referent: slot(CampusPerson),
  sequence: slot(entity({ Id: Int, Nom: Text, Code: Text, LibelleExterne: Text, LibellePeriode: Text, Campus: Text, Marque: Text })),
  programme: slot(entity({ Id: Int, Nom: Text, Code: Text, LibelleExterne: Text, Campus: Text, Marque: Text, CodeRNCP: Text })),
  periode: slot(entity({ Id: Int, Nom: Text, Code: Text })),
  annee: slot(Schema.Struct({ Code: Text, Nom: Text })),
  site: slot(Schema.Struct({ Code: Text, Nom: Text }))
})

/** A stand-in for `campus-skills/map-convention`: needs the maître's e-mail, as the mapping does. */
class MissingMaitre extends Schema.TaggedError<MissingMaitre>()("MissingMaitre", { convention: Schema.String }) {
  override get message() {
    return `convention ${this.convention}: maitre.Email: missing`
  }
}
const mapStandIn = Step.make({
  name: "test/map-convention",
  description: "reads the aggregate as campus-skills/map-convention does",
  input: CampusConventionAggregate,
  output: Schema.Struct({ codeContrat: Schema.String, emailMaitre: Schema.String }),
  run: (aggregate) => {
    const email = aggregate.maitre?.Email ?? aggregate.maitre?.Mail?.Adresse
    const code = aggregate.convention?.Code ?? ""
    return email === undefined || email === null
      ? Effect.fail(new MissingMaitre({ convention: code }))
      : Effect.succeed({ codeContrat: code, emailMaitre: email })
  }
})

// ---------------------------------------------------------------------------------------------

const PAGE_SIZE = 2

const byId = (rows: ReadonlyArray<Row>, id: unknown) => rows.find((row) => row.Id === id)

/** The seeded conventions, and the sandbox rows an aggregate is made of. */
const seeded = Effect.gen(function*() {
  const conventions = yield* table("Convention")
  const collections = {
    Apprenant: yield* table("Apprenant"),
    Mail: yield* table("Mail"),
    Entreprise: yield* table("Entreprise"),
    Professionnel: yield* table("Professionnel"),
    Enseignant: yield* table("Enseignant"),
    Sequence: yield* table("Sequence"),
    Programme: yield* table("Programme"),
    Periode: yield* table("Periode"),
    EtatConvention: yield* table("EtatConvention"),
    TypeConvention: yield* table("TypeConvention")
  }
  return { conventions, ...collections }
})

const aggregateOf = (ConventionId: number, Expand?: boolean) =>
  Effect.map(
    runFlow(Workflow.step(ExportSteps.getConventionAggregate, {
      ConventionId: ConventionId as Ids.ConventionId,
      ...(Expand === undefined ? {} : { Expand })
    })),
    ({ events, record }) => {
      expect(record.status).toBe("succeeded")
      return journaled(events, "aimaira/get-convention-aggregate")
    }
  )

const listed = (input: typeof ExportSteps.ListConventionsInput.Encoded) =>
  Effect.gen(function*() {
    const decoded = yield* Effect.orDie(Step.decodeInput(ExportSteps.listConventions, "list", input))
    return yield* runFlow(Workflow.step(ExportSteps.listConventions, decoded))
  })

layer(stepsLayer({ pageSize: PAGE_SIZE }), { excludeTestServices: true })("ExportSteps", (it) => {
  describe("get-convention-aggregate", () => {
    it.effect("reads a complete convention field by field, in one request (plus the période)", () =>
      Effect.gen(function*() {
        const s = yield* seeded
        const row = s.conventions[0]!
        const sandbox = yield* AimairaSandbox.AimairaSandbox
        yield* sandbox.requests.clear
        const out = yield* aggregateOf(row.Id)
        expect(yield* sandbox.requests.count({ method: "GET" })).toBe(2)

        const apprenant = byId(s.Apprenant, row.ApprenantId)!
        const apprenantMail = byId(s.Mail, apprenant.MailId)!
        const maitre = byId(s.Professionnel, row.MaitreId)!
        const maitreMail = byId(s.Mail, maitre.MailId)!
        const enseignant = byId(s.Enseignant, row.EnseignantId)!
        const enseignantMail = byId(s.Mail, enseignant.MailId)!
        const entreprise = byId(s.Entreprise, row.EntrepriseId)!
        const sequence = byId(s.Sequence, row.SequenceId)!
        const programme = byId(s.Programme, sequence.ProgrammeId)!
        const periode = s.Periode.find((p) => p.Nom === "2025/2026")!

        expect(Object.keys(out)).toEqual([
          "convention", "apprenant", "entreprise", "maitre", "enseignant", "referent", "sequence", "programme", "periode"
        ])
        expect(out.convention).toMatchObject({
          Id: row.Id,
          Code: row.Code,
          ApprenantId: row.ApprenantId,
          SequenceId: row.SequenceId,
          MaitreId: row.MaitreId,
          EnseignantId: row.EnseignantId,
          ReferentEcoleId: 0,
          DateDebut: "2025-09-15T00:00:00+02:00",
          DateFin: "2027-08-31T00:00:00+02:00",
          Poste: "Apprenti(e)"
        })
        expect(out.apprenant).toEqual({
          Id: apprenant.Id,
          Code: apprenant.Code,
          Nom: apprenant.Nom,
          Prenoms: apprenant.Prenoms,
          NomUsage: apprenant.NomUsage,
          PrenomUsage: apprenant.PrenomUsage,
          MailId: apprenantMail.Id,
          Email: apprenantMail.Adresse,
          Mail: { Id: apprenantMail.Id, Adresse: apprenantMail.Adresse }
        })
        expect(out.maitre).toMatchObject({ Id: maitre.Id, Nom: maitre.Nom, Prenoms: maitre.Prenoms, Email: maitreMail.Adresse })
        expect(out.maitre.Email).toMatch(/@/)
        expect(out.enseignant).toMatchObject({ Id: enseignant.Id, Code: enseignant.Code, Email: enseignantMail.Adresse })
        expect(out.referent).toBeNull()
        expect(out.entreprise).toEqual({
          Id: entreprise.Id,
          Nom: entreprise.Nom,
          Code: entreprise.Code,
          SIRET: entreprise.SIRET,
          NAF: entreprise.NAF
        })
        expect(out.sequence).toEqual({
          Id: sequence.Id,
          Nom: sequence.Nom,
          Code: "",
          LibelleExterne: sequence.LibelleExterne,
          LibellePeriode: "2025/2026",
          Campus: null,
          Marque: null,
          ProgrammeId: programme.Id,
          TypeSequenceId: sequence.TypeSequenceId,
          Debut: "2025-09-01T00:00:00+02:00",
          Fin: "2026-08-31T00:00:00+02:00"
        })
        expect(out.programme).toEqual({
          Id: programme.Id,
          Nom: programme.Nom,
          Code: programme.Code,
          LibelleExterne: programme.LibelleExterne,
          Campus: "Campus Lyon",
          Marque: "Ecole",
          CodeRNCP: programme.CodeRNCP
        })
        expect(out.periode).toEqual({
          Id: periode.Id,
          Nom: "2025/2026",
          Code: "2025/2026",
          Debut: "2025-09-01T00:00:00+02:00",
          Fin: "2026-08-31T00:00:00+02:00"
        })

        // One GET per entity gives the same aggregate.
        yield* sandbox.requests.clear
        expect(yield* aggregateOf(row.Id, false)).toEqual(out)
        expect(yield* sandbox.requests.count({ method: "GET" })).toBe(11)
      }))

    it.effect("takes the référent école as the school tutor when there is no enseignant", () =>
      Effect.gen(function*() {
        const s = yield* seeded
        const row = s.conventions.find((c) => c.EnseignantId === 0 && c.ReferentEcoleId !== 0)!
        const referent = byId(s.Enseignant, row.ReferentEcoleId)!
        const out = yield* aggregateOf(row.Id)
        expect(out.enseignant).toBeNull()
        expect(out.referent).toMatchObject({ Id: referent.Id, Nom: referent.Nom, Email: byId(s.Mail, referent.MailId)!.Adresse })
        expect(yield* aggregateOf(row.Id, false)).toEqual(out)
      }))

    it.effect("gives null for what an incomplete convention lacks (no maître), in both modes", () =>
      Effect.gen(function*() {
        const s = yield* seeded
        const row = s.conventions.find((c) => c.MaitreId === 0)!
        const out = yield* aggregateOf(row.Id)
        expect(out.maitre).toBeNull()
        expect(out.referent).toBeNull()
        expect(out.apprenant.Email).toMatch(/@etudiant-exemple\.fr$/)
        expect(out.entreprise.Id).toBe(row.EntrepriseId)
        expect(out.enseignant.Id).toBe(row.EnseignantId)
        expect(yield* aggregateOf(row.Id, false)).toEqual(out)
      }))

    it.effect("a person without an e-mail has Mail and Email null; an unknown convention is a NotFound", () =>
      Effect.gen(function*() {
        const s = yield* seeded
        const row = s.conventions[1]!
        // A maître whose e-mail is removed (MailId 0).
        const maitre = byId(s.Professionnel, row.MaitreId)!
        const sandbox = yield* AimairaSandbox.AimairaSandbox
        yield* call("PUT", `/Professionnel/${maitre.Id}`, { body: { ...maitre, MailId: 0 } })
        const out = yield* aggregateOf(row.Id)
        expect(out.maitre).toMatchObject({ Id: maitre.Id, MailId: 0, Mail: null, Email: null })
        expect(yield* aggregateOf(row.Id, false)).toEqual(out)
        yield* call("PUT", `/Professionnel/${maitre.Id}`, { body: maitre })

        const missing = yield* runFlow(Workflow.step(ExportSteps.getConventionAggregate, { ConventionId: 1 as Ids.ConventionId }))
        expect(missing.record.failure).toMatchObject({ reason: "non_retryable", error: { _tag: "NotFound", status: 404 } })
        expect(sandbox.pageSize).toBe(PAGE_SIZE)
      }))

    it.effect("its JSON output decodes as the input of campus-skills/map-convention", () =>
      Effect.gen(function*() {
        const s = yield* seeded
        for (const row of s.conventions.slice(0, 5)) {
          const out = yield* aggregateOf(row.Id)
          const decoded = Schema.decodeUnknownEither(CampusConventionAggregate, { errors: "all", onExcessProperty: "error" })(out)
          expect(Either.isRight(decoded), `${row.Code as string}: ${String(Either.isLeft(decoded) && decoded.left.message)}`).toBe(true)
          const value = Either.getOrThrow(decoded)
          expect(value.convention).toEqual({
            Id: row.Id,
            Code: row.Code,
            DateDebut: "2025-09-15T00:00:00+02:00",
            DateFin: "2027-08-31T00:00:00+02:00",
            Poste: row.Poste
          })
          expect(value.apprenant?.Email).toBe(out.apprenant.Email)
          expect(value.sequence?.LibellePeriode).toBe("2025/2026")
          expect(value.programme?.Campus).toBe("Campus Lyon")
          expect(value.periode).toEqual({ Id: out.periode.Id, Nom: "2025/2026", Code: "2025/2026" })
        }
      }))
  })

  describe("list-conventions", () => {
    it.effect("lists a school year over several pages, ordered by id, with small rows", () =>
      Effect.gen(function*() {
        const s = yield* seeded
        const sandbox = yield* AimairaSandbox.AimairaSandbox
        yield* sandbox.requests.clear
        const { events, record } = yield* listed({ LibellePeriode: "2025/2026" })
        expect(record.status).toBe("succeeded")
        const rows = journaled(events, "aimaira/list-conventions")
        const inPeriod = s.conventions.filter((c) => byId(s.Sequence, c.SequenceId)!.LibellePeriode === "2025/2026")
        expect(inPeriod.length).toBeGreaterThanOrEqual(5)
        expect(rows.map((r: Row) => r.Id)).toEqual(inPeriod.map((c) => c.Id).sort((a, b) => a - b))
        expect(Object.keys(rows[0])).toEqual([
          "Id", "Code", "ApprenantId", "SequenceId", "TypeConventionId", "EtatConventionId", "DateDebut", "DateFin"
        ])
        expect(yield* sandbox.requests.count({ method: "GET", path: "/GraphV1/Convention" })).toBe(Math.ceil(inPeriod.length / PAGE_SIZE))

        expect(journaled((yield* listed({ LibellePeriode: "2026/2027" })).events, "aimaira/list-conventions")).toEqual([])
        const top = journaled((yield* listed({ LibellePeriode: "2025/2026", Top: 3 })).events, "aimaira/list-conventions")
        expect(top.map((r: Row) => r.Id)).toEqual(inPeriod.map((c) => c.Id).slice(0, 3))
      }))

    it.effect("a 503 on a later page fails the attempt; the retry lists everything once", () =>
      Effect.gen(function*() {
        const all = journaled((yield* listed({})).events, "aimaira/list-conventions")
        yield* fault("GET /GraphV1/Convention 503 x1 after 1")
        const { events, record } = yield* runFlow(Workflow.step(ExportSteps.listConventions, {}, fast))
        yield* clearFaults
        expect(record.status).toBe("succeeded")
        expect(ofTag(events, "AttemptFailed").map((e) => [e.error._tag, e.error.status])).toEqual([["Unavailable", 503]])
        expect(journaled(events, "aimaira/list-conventions")).toEqual(all)
        expect(all.length).toBeGreaterThan(PAGE_SIZE)
      }))

    it.effect("filters by état and type codes and by dates", () =>
      Effect.gen(function*() {
        const s = yield* seeded
        const idsOf = (rows: ReadonlyArray<Row>) => rows.map((r) => r.Id)
        const withCodes = (field: "EtatConventionId" | "TypeConventionId", set: ReadonlyArray<Row>, codes: ReadonlyArray<string>) =>
          idsOf(s.conventions.filter((c) => codes.includes(byId(set, c[field])!.Code as string)))
        const ids = (input: typeof ExportSteps.ListConventionsInput.Encoded) =>
          Effect.map(listed(input), ({ events }) => idsOf(journaled(events, "aimaira/list-conventions")))

        const signed = yield* ids({ EtatConventionCodes: ["SIGNEDOCUSIGN"] })
        expect(signed).toEqual(withCodes("EtatConventionId", s.EtatConvention, ["SIGNEDOCUSIGN"]))
        expect(signed).toHaveLength(2)
        expect(yield* ids({ EtatConventionCodes: ["SIGNEDOCUSIGN", "COMPLET"], LibellePeriode: "2025/2026" }))
          .toEqual(withCodes("EtatConventionId", s.EtatConvention, ["SIGNEDOCUSIGN", "COMPLET"]))
        expect(yield* ids({ TypeConventionCodes: ["PRO"] })).toEqual(withCodes("TypeConventionId", s.TypeConvention, ["PRO"]))
        // Seeded conventions run from 2025-09-15 to 2027-08-31.
        const seededIds = idsOf(s.conventions.filter((c) => c.DateDebut === "2025-09-15T00:00:00+02:00"))
        expect(yield* ids({ ActiveFrom: "2027-08-31", ActiveUntil: "2025-09-15" })).toEqual(seededIds)
        expect(yield* ids({ ActiveFrom: "2027-09-01" })).toEqual([])
        expect(yield* ids({ ActiveUntil: "2025-09-14T00:00:00+02:00" })).toEqual([])

        const unknown = yield* listed({ EtatConventionCodes: ["SIGNE"] })
        expect(unknown.record.failure).toMatchObject({ reason: "non_retryable", error: { _tag: "UnknownCode" } })
        expect(unknown.record.failure!.error.message).toContain(`AIMAIRA has no EtatConvention with Code "SIGNE"`)
        expect(Either.isLeft(Step.decodeInput(ExportSteps.listConventions, "list", { EtatConventionCodes: [] }).pipe(Effect.either, Effect.runSync)))
          .toBe(true)
      }))
  })

  describe("the nightly batch", () => {
    it.effect("lists a school year, reads each convention and maps it; the incomplete one fails alone", () =>
      Effect.gen(function*() {
        const s = yield* seeded
        const { events, output, record } = yield* runFlow(Effect.gen(function*() {
          const rows = yield* Workflow.step(ExportSteps.listConventions, { LibellePeriode: "2025/2026" }, { id: "conventions" })
          return yield* Workflow.forEach("contrats", rows, (row) =>
            Effect.gen(function*() {
              const aggregate = yield* Workflow.step(ExportSteps.getConventionAggregate, { ConventionId: row.Id }, { id: "aggregate" })
              // What the runner does with `with: ${{ steps.aggregate.output }}`: JSON in, the
              // next step's input schema decodes it.
              const json = Schema.encodeSync(ExportSteps.ConventionAggregate)(aggregate)
              const input = yield* Step.decodeInput(mapStandIn, "contrat", json)
              return yield* Workflow.step(mapStandIn, input, { id: "contrat" })
            }), { concurrency: 2, onItemFailure: "continue" })
        }))
        expect(record.status).toBe("succeeded_with_failures")
        const outcomes = output as ReadonlyArray<Workflow.ItemOutcome<{ codeContrat: string }>>
        const incomplete = s.conventions.find((c) => c.MaitreId === 0)!
        const inPeriod = s.conventions.filter((c) => byId(s.Sequence, c.SequenceId)!.LibellePeriode === "2025/2026")
        expect(outcomes).toHaveLength(inPeriod.length)
        const failed = outcomes.filter((o) => o._tag === "Failed")
        expect(failed).toHaveLength(1)
        // Since core reports a failed loop item with its step's own error (06f1ed2).
        expect(failed[0]).toMatchObject({ index: inPeriod.indexOf(incomplete), error: { _tag: "MissingMaitre" } })
        expect(failed[0]!._tag === "Failed" && failed[0]!.error.message).toContain(`convention ${incomplete.Code as string}: maitre.Email: missing`)
        expect(ofTag(events, "StepFailed").map((e) => [e.path, e.error._tag])).toEqual([
          [`contrats[${inPeriod.indexOf(incomplete)}]/contrat`, "MissingMaitre"]
        ])
        expect(outcomes.filter((o) => o._tag === "Succeeded").map((o) => o._tag === "Succeeded" && o.value.codeContrat))
          .toEqual(inPeriod.filter((c) => c !== incomplete).map((c) => c.Code))
        expect(ofTag(events, "StepSucceeded").filter((e) => e.step === "aimaira/get-convention-aggregate")).toHaveLength(inPeriod.length)
      }))
  })
})
