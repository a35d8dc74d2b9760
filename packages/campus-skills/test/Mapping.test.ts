import { describe, expect, it } from "@effect/vitest"
import { Engine, Redactor, Step, Workflow } from "@relais/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { Contract, Mapping } from "../src/index.js"
import { aggregate, aggregateWire } from "./aimaira.js"

const encodeContract = Schema.encodeSync(Contract.Contract)

const mapped = (n: number, overrides: Parameters<typeof aggregate>[1] = {}) => {
  const result = Mapping.toContract(aggregate(n, overrides))
  if (Either.isLeft(result)) throw new Error(result.left.message)
  return encodeContract(result.right)
}

const issues = (n: number, overrides: Parameters<typeof aggregate>[1]) => {
  const result = Mapping.toContract(aggregate(n, overrides))
  if (Either.isRight(result)) throw new Error("expected a MappingError")
  return result.left
}

describe("Mapping.toContract", () => {
  it("maps a convention aggregate shaped after the AIMAIRA samples", () => {
    expect(mapped(1)).toEqual({
      codeContrat: "CS00000001",
      dateDebut: "01/09/2025",
      dateFin: "31/08/2027",
      nomGroupe: "26-27 PGE 1 - PROFESSIONNALISATION",
      nomEntreprise: "Entreprise 1",
      emailPersonnel: "arnaud.philibert@ecole-exemple.fr",
      prenomPersonnel: "Arnaud",
      nomPersonnel: "PHILIBERT",
      codePersonnel: "ENS-2291254",
      emailMaitreApprentissage: "antoine.lateral1@entreprise1.fr",
      prenomMaitreApprentissage: "Antoine",
      nomMaitreApprentissage: "LATERAL",
      codeMaitreApprentissage: "MA-4001",
      nomApprenant: "FERNANDEZ",
      emailApprenant: "emmanuel.fernandez1@etudiant-exemple.fr",
      prenomApprenant: "Emmanuel",
      codeApprenant: "APP-2001",
      codeGroupe: "SEQ-2217285",
      codePeriode: "2025/2026",
      nomPeriode: "2025/2026",
      codeFormation: "PGE",
      nomFormation: "Programme Grande Ecole",
      codeSite: "CAMPUS-SAINT-ETIENNE",
      nomSite: "Campus Saint-Étienne",
      codeMarque: "ECOLE-EXEMPLE",
      nomMarque: "École Exemple",
      codeAnnee: "SEQ-2217285",
      nomAnnee: "26-27 PGE 1 - PROFESSIONNALISATION",
      rncp: "RNCP35125"
    })
  })

  it("accepts every other property AIMAIRA sends, and drops it", () => {
    const decoded = aggregate(1)
    expect(Object.keys(decoded.convention!)).toEqual(["Id", "Code", "DateDebut", "DateFin", "Poste"])
    expect(decoded.apprenant?.Mail).toEqual({ Id: 9001, Adresse: "emmanuel.fernandez1@etudiant-exemple.fr" })
  })

  describe("dates: the calendar day in Europe/Paris", () => {
    const cases: ReadonlyArray<readonly [string, string, string]> = [
      ["winter offset (+01:00)", "2022-11-14T00:00:00+01:00", "14/11/2022"],
      ["summer offset (+02:00)", "2023-09-01T00:00:00+02:00", "01/09/2023"],
      ["previous day in UTC, the right day in Paris (DST starts that night)", "2024-03-31T00:00:00+01:00", "31/03/2024"],
      ["the day DST ends", "2023-10-29T00:00:00+02:00", "29/10/2023"],
      ["end of month (30 Jan 23:00 UTC)", "2024-01-31T00:00:00+01:00", "31/01/2024"],
      ["end of a summer month (30 Jun 22:00 UTC)", "2026-06-30T00:00:00+02:00", "30/06/2026"],
      ["leap day", "2024-02-29T00:00:00+01:00", "29/02/2024"],
      ["an instant in UTC that is already the next year in Paris", "2024-12-31T23:30:00Z", "01/01/2025"],
      ["a plain ISO date", "2023-09-01", "01/09/2023"]
    ]
    for (const [what, input, expected] of cases) {
      it(what, () => {
        expect(mapped(1, { convention: { DateDebut: input, DateFin: "2030-06-30T00:00:00+02:00" } }).dateDebut).toBe(
          expected
        )
      })
    }

    it("refuses dates that do not exist or are not ISO, naming the field", () => {
      const error = issues(1, {
        convention: { DateDebut: "2023-02-29T00:00:00+01:00", DateFin: "31/08/2027" }
      })
      expect(error.issues.map((i) => i.path)).toEqual(["convention.DateDebut", "convention.DateFin"])
      expect(error.issues[1]!.message).toContain(`"31/08/2027" is not a date such as 2023-09-01T00:00:00+02:00`)
    })

    it("refuses an end that does not come after the start", () => {
      const error = issues(1, {
        convention: { DateDebut: "2025-09-01T00:00:00+02:00", DateFin: "2025-08-31T23:30:00Z" }
      })
      expect(error.issues).toEqual([
        new Mapping.MappingIssue({
          path: "convention.DateFin",
          message: "the end (01/09/2025) must come after the start (01/09/2025)"
        })
      ])
    })
  })

  describe("codes", () => {
    it("prefixes person codes per role and source table", () => {
      const contract = mapped(1, { apprenant: { Id: 77 }, maitre: { Id: 77 }, enseignant: { Id: 77 } })
      expect([contract.codeApprenant, contract.codeMaitreApprentissage, contract.codePersonnel]).toEqual([
        "APP-77",
        "MA-77",
        "ENS-77"
      ])
    })

    it("takes the référent as school tutor when there is no enseignant", () => {
      const contract = mapped(1, {
        enseignant: null,
        referent: { Id: 12, Nom: "MARTIN", Prenoms: "Claire", Mail: { Adresse: "claire.martin@ecole-exemple.fr" } }
      })
      expect(contract).toMatchObject({
        codePersonnel: "REF-12",
        nomPersonnel: "MARTIN",
        prenomPersonnel: "Claire",
        emailPersonnel: "claire.martin@ecole-exemple.fr"
      })
    })

    it("falls back on ids when AIMAIRA codes are blank", () => {
      const contract = mapped(1, { convention: { Code: " " }, programme: { Code: "", Id: 55 }, sequence: { Code: null } })
      expect([contract.codeContrat, contract.codeFormation, contract.codeGroupe]).toEqual([
        "CONV-1001",
        "PRG-55",
        "SEQ-2217285"
      ])
    })

    it("uses the AIMAIRA codes when set", () => {
      const contract = mapped(1, { sequence: { Code: "PGE1-2526" } })
      expect([contract.codeGroupe, contract.codeAnnee]).toEqual(["PGE1-2526", "PGE1-2526"])
    })

    it("derives période, site, marque and année from the explicit entities when given", () => {
      const contract = mapped(1, {
        periode: { Id: 1319, Nom: "2025-2026", Code: "P2526", Debut: "2025-09-01T00:00:00+02:00" },
        sequence: { Campus: "Rennes", Marque: "Sup de Co" },
        annee: { Code: "PGE-A1", Nom: "PGE 1ère année" }
      })
      expect(contract).toMatchObject({
        codePeriode: "P2526",
        nomPeriode: "2025-2026",
        codeSite: "RENNES",
        nomSite: "Rennes",
        codeMarque: "SUP-DE-CO",
        nomMarque: "Sup de Co",
        codeAnnee: "PGE-A1",
        nomAnnee: "PGE 1ère année"
      })
    })

    it("takes an explicit site over the Campus properties", () => {
      expect(mapped(1, { site: { Nom: "Lyon Part-Dieu" } })).toMatchObject({ codeSite: "LYON-PART-DIEU", nomSite: "Lyon Part-Dieu" })
      expect(mapped(1, { site: { Code: "LYS", Nom: "Lyon" }, programme: { Campus: null } })).toMatchObject({
        codeSite: "LYS",
        nomSite: "Lyon"
      })
      expect(issues(1, { site: { Code: "LYS" } }).issues.map((i) => i.path)).toEqual(["site.Nom"])
    })

    it("prefers usage names, and the explicit Email over the expanded Mail", () => {
      const contract = mapped(1, {
        apprenant: { NomUsage: "DURAND", PrenomUsage: "", Prenoms: "Léa", Email: "lea.durand@mail.fr" }
      })
      expect(contract).toMatchObject({ nomApprenant: "DURAND", prenomApprenant: "Léa", emailApprenant: "lea.durand@mail.fr" })
    })

    it("sends the job title and drops empty optional fields", () => {
      const contract = mapped(1, { convention: { Poste: "Vendeur" }, programme: { Marque: "", CodeRNCP: null } })
      expect(contract.missionTitle).toBe("Vendeur")
      expect(contract).not.toHaveProperty("codeMarque")
      expect(contract).not.toHaveProperty("rncp")
    })

    it("slugs names into codes", () => {
      expect(Mapping.slug("Saint-Étienne (centre)")).toBe("SAINT-ETIENNE-CENTRE")
      expect(Mapping.slug("  Île  de France ")).toBe("ILE-DE-FRANCE")
    })
  })

  describe("validation", () => {
    it("reports every missing or invalid field at once, with its path", () => {
      const error = issues(1, {
        convention: { DateFin: null },
        apprenant: { Nom: "", NomUsage: "" },
        maitre: { Mail: null },
        enseignant: { Email: "not-an-email" },
        entreprise: null,
        sequence: { LibellePeriode: "" },
        programme: { Campus: null }
      })
      expect(error._tag).toBe("MappingError")
      expect(error.codeContrat).toBe("CS00000001")
      expect(error.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
        "convention.DateFin: missing",
        "apprenant.NomUsage: missing (and apprenant.Nom is blank too)",
        "maitre.Email: missing (give Email, or the person with its Mail expanded)",
        "enseignant.Email: \"not-an-email\" is not an e-mail address",
        "entreprise: missing",
        "sequence.LibellePeriode: missing (or give periode)",
        "programme.Campus: missing (the site: give site, sequence.Campus or programme.Campus)"
      ])
      expect(error.message).toContain("Cannot map convention CS00000001 to a Campus Skills contract (7 problems)")
      expect(error.message).toContain("maitre.Email: missing")
    })

    it("reports missing entities and ids", () => {
      const error = issues(1, { maitre: { Id: 0 }, enseignant: null, convention: { Code: "", Id: null } })
      expect(error.codeContrat).toBeUndefined()
      expect(error.issues.map((i) => i.path)).toEqual(["convention.Id", "maitre.Id", "enseignant"])
    })

    it("is a tagged error that survives the journal", () => {
      const error = issues(1, { maitre: { Mail: null } })
      const encoded = Schema.encodeSync(Mapping.MappingError)(error)
      expect(Schema.decodeUnknownSync(Mapping.MappingError)(encoded).message).toBe(error.message)
    })
  })
})

describe("Mapping.toContracts", () => {
  it("maps a list and reports the problems of every convention, with positions", () => {
    const result = Mapping.toContracts([
      aggregate(1),
      aggregate(2, { maitre: { Mail: null } }),
      aggregate(3, { convention: { Code: "CS00000001" } }),
      aggregate(4, { apprenant: null })
    ])
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isRight(result)) return
    expect(result.left.issues.map((i) => i.path)).toEqual(["[1].maitre.Email", "[2].convention.Code", "[3].apprenant"])
    expect(result.left.issues[1]!.message).toBe(
      `gives the contract code "CS00000001", as [0] does: each contract must appear once`
    )
  })

  it("maps a list", () => {
    const result = Mapping.toContracts([aggregate(1), aggregate(2)])
    expect(Either.getOrThrow(result).map((c) => c.codeContrat)).toEqual(["CS00000001", "CS00000002"])
  })
})

describe("mapping steps", () => {
  const TestEngine = Engine.layerMemory().pipe(Layer.provide(Redactor.layer))

  it.effect("decode AIMAIRA wire JSON as the YAML runner does (extra properties accepted)", () =>
    Effect.gen(function*() {
      const input = yield* Step.decodeInput(Mapping.mapConvention, "map", aggregateWire(1))
      const output = yield* Mapping.mapConvention.run(input)
      expect(output.codeContrat).toBe("CS00000001")
      const many = yield* Step.decodeInput(Mapping.mapConventions, "map", {
        conventions: [aggregateWire(1), aggregateWire(2)]
      })
      expect((yield* Mapping.mapConventions.run(many)).contrats).toHaveLength(2)
    }))

  it.effect("a value of the wrong JSON type is refused by the input schema, with its path", () =>
    Effect.gen(function*() {
      const wire = aggregateWire(1, { maitre: { Nom: 42 } })
      const error = yield* Effect.flip(Step.decodeInput(Mapping.mapConvention, "map", wire))
      expect(error.message).toContain("maitre.Nom")
    }))

  it.scoped("a MappingError fails the step at once, with every issue in the run history", () =>
    Effect.gen(function*() {
      const flow = Workflow.make({
        name: "map",
        input: Schema.Struct({ conventions: Schema.Array(Mapping.ConventionAggregate) }),
        output: Schema.Unknown,
        run: ({ conventions }) => Workflow.step(Mapping.mapConventions, { conventions })
      })
      const record = yield* Engine.run(flow, {
        conventions: [aggregate(1), aggregate(2, { maitre: { Mail: null }, convention: { DateDebut: "nope" } })]
      })
      expect(record.status).toBe("failed")
      expect(record.failure).toMatchObject({
        step: "campus-skills/map-conventions",
        reason: "non_retryable",
        error: { _tag: "MappingError" }
      })
      expect(record.failure!.error.message).toContain("conventions[1].maitre.Email: missing")
      expect(record.failure!.error.message).toContain(`conventions[1].convention.DateDebut: "nope" is not a date`)
      expect(record.failure!.error.details).toEqual({
        issues: [
          expect.objectContaining({ path: "conventions[1].convention.DateDebut" }),
          expect.objectContaining({ path: "conventions[1].maitre.Email" })
        ]
      })
    }).pipe(Effect.provide(TestEngine)))
})
