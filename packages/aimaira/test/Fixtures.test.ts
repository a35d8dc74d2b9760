import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { call, rows, sandboxLayer } from "./support.js"

type Json = Record<string, unknown>

const dir = fileURLToPath(new URL("./fixtures/", import.meta.url))
const fixtures: Record<string, Json> = Object.fromEntries(
  readdirSync(dir)
    .filter((file) => file.endsWith(".json"))
    .map((file) => [file.slice(0, -5), JSON.parse(readFileSync(`${dir}${file}`, "utf8")) as Json])
)

/** The entity set each fixture family describes (file name up to the first dot). */
const setOf: Record<string, string> = {
  apprenant: "Apprenant",
  civilite: "Civilite",
  client: "Client",
  "convention-organisme-financeur": "ConventionOrganismeFinanceur",
  convention: "Convention",
  enseignant: "Enseignant",
  entreprise: "Entreprise",
  "etat-convention": "EtatConvention",
  "inscription-sequence": "InscriptionSequence",
  "inscription-periode": "InscriptionPeriode",
  inscription: "Inscription",
  mail: "Mail",
  "nature-client": "NatureClient",
  opca: "OPCA",
  parcours: "Parcours",
  periode: "Periode",
  professionnel: "Professionnel",
  programme: "Programme",
  recrutement: "Recrutement",
  remuneration: "Remuneration",
  sequence: "Sequence",
  "type-convention": "TypeConvention",
  "type-sequence": "TypeSequence"
}

const rowsOf = (fixture: Json): ReadonlyArray<Json> =>
  Array.isArray(fixture.value) ? (fixture.value as Array<Json>) : [fixture]

/** Every entity row the docs show for a set (the eligible-sequences sample also shows Sequences). */
const documentedRows = (set: string): ReadonlyArray<Json> =>
  Object.entries(fixtures).flatMap(([name, fixture]) => {
    if (name === "inscription-sequence.expand-sequence") {
      return set === "Sequence" ? rowsOf(fixture).map((row) => row.Sequence as Json) : []
    }
    if (name === "parcours.expand-periodes" && set === "ParcoursPeriode") {
      return (fixture.ParcoursPeriodes as Array<Json>)
    }
    return setOf[name.split(".")[0]!] === set ? rowsOf(fixture) : []
  })

const documentedKeys = (set: string): ReadonlySet<string> =>
  new Set(documentedRows(set).flatMap((row) => Object.keys(row)).filter((key) => !key.startsWith("@")))

const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/
const PARIS_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]0[12]:00$/

const jsonType = (value: unknown): string =>
  value === null
    ? "null"
    : Array.isArray(value)
    ? "array"
    : typeof value === "string" && DATE.test(value)
    ? "date"
    : typeof value

/** The sandbox row has the documented keys (and no undocumented one) with compatible types. */
const expectSameShape = (set: string, documented: Json, actual: Json, label: string) => {
  const allowed = documentedKeys(set)
  for (const key of Object.keys(documented)) {
    if (key.startsWith("@")) continue
    expect(Object.keys(actual), `${label}: missing ${key}`).toContain(key)
    const expected = jsonType(documented[key])
    const got = jsonType(actual[key])
    if (expected !== "null" && got !== "null") expect(got, `${label}: type of ${key}`).toBe(expected)
    if (got === "date") expect(actual[key], `${label}: ${key} in Paris time`).toMatch(PARIS_DATE)
  }
  for (const key of Object.keys(actual)) {
    if (key.startsWith("@")) continue
    expect(allowed.has(key), `${label}: undocumented key ${key}`).toBe(true)
  }
}

describe("the sandbox answers like the documentation's samples", () => {
  it.layer(sandboxLayer())((it) => {
    it.effect("lists and entities have the documented keys and types", () =>
      Effect.gen(function*() {
        for (const [name, fixture] of Object.entries(fixtures)) {
          // Projected samples have their own tests below.
          if (name === "inscription-sequence.expand-sequence" || name === "parcours.expand-periodes") continue
          const set = setOf[name.split(".")[0]!]!
          let actual: Json
          if (name === "inscription-periode.by-inscription") {
            // The documented route: "Récupérer les périodes liées à une inscription".
            const [inscription] = yield* rows("Inscription")
            actual = (yield* call("GET", `/Inscription/${inscription!.Id}/InscriptionPeriodes`)).json
          } else if (set === "Remuneration" && Array.isArray(fixture.value)) {
            const [remuneration] = yield* rows("Remuneration")
            const reply = yield* call("GET", "/Remuneration", { query: { $filter: `ConventionId eq ${remuneration!.ConventionId}` } })
            actual = reply.json
          } else if (Array.isArray(fixture.value)) {
            actual = (yield* call("GET", `/${set}`)).json
          } else {
            const [first] = yield* rows(set === "OPCA" ? "OrganismeFinanceur" : set)
            actual = (yield* call("GET", `/${set}/${first!.Id}`)).json
          }
          expect(typeof actual["@odata.context"], name).toBe("string")
          if (Array.isArray(fixture.value)) {
            expect(Array.isArray(actual.value), `${name} is a list`).toBe(true)
            expect((actual.value as Array<Json>).length, `${name} not empty`).toBeGreaterThan(0)
            for (const documented of fixture.value as Array<Json>) {
              expectSameShape(set === "OPCA" ? "OPCA" : set, documented, (actual.value as Array<Json>)[0]!, name)
            }
          } else {
            expect(actual["@odata.context"], name).toMatch(/\/\$entity$/)
            expectSameShape(set, fixture, actual, name)
          }
        }
      }))

    it.effect("the eligible-sequences query has the documented shape", () =>
      Effect.gen(function*() {
        const [inscription] = yield* rows("Inscription")
        const reply = yield* call("GET", "/InscriptionSequence", {
          query: { $expand: "Sequence", $select: "Sequence", $filter: "startswith(Sequence/TypeSequence/Code, 'S')" },
          body: { Id: inscription!.Id }
        })
        const documented = fixtures["inscription-sequence.expand-sequence"]!
        expect(String(reply.json["@odata.context"]).split("#")[1]).toBe(String(documented["@odata.context"]).split("#")[1])
        const [row] = reply.json.value as Array<Json>
        expect(Object.keys(row!)).toEqual(["Sequence"])
        expectSameShape("Sequence", rowsOf(documented)[0]!.Sequence as Json, row!.Sequence as Json, "eligible sequences")
      }))

    it.effect("a parcours with its periods ($expand=ParcoursPeriodes) has the documented shape", () =>
      Effect.gen(function*() {
        const [parcours] = yield* rows("Parcours")
        const reply = yield* call("GET", `/Parcours/${parcours!.Id}`, { query: { $expand: "ParcoursPeriodes" } })
        const documented = fixtures["parcours.expand-periodes"]!
        expect(String(reply.json["@odata.context"]).split("#")[1]).toBe(String(documented["@odata.context"]).split("#")[1])
        expectSameShape("Parcours", documented, reply.json, "parcours with periods")
        const periods = reply.json.ParcoursPeriodes as Array<Json>
        expect(periods.length).toBeGreaterThan(0)
        for (const period of periods) {
          expectSameShape("ParcoursPeriode", (documented.ParcoursPeriodes as Array<Json>)[0]!, period, "parcours period")
        }
      }))

    it.effect("documented create requests give the documented defaults", () =>
      Effect.gen(function*() {
        const id = (set: string, code?: string) =>
          Effect.map(rows(set), (list) => (code === undefined ? list[0]! : list.find((row) => row.Code === code)!).Id)
        const conventions = yield* rows("Convention")
        const taken = new Set(conventions.map((c) => c.ApprenantId))
        const apprenantId = (yield* rows("Apprenant")).find((a) => !taken.has(a.Id))!.Id
        const civiliteId = yield* id("Civilite", "M")
        const mailId = (yield* call("POST", "/Mail", { body: { Adresse: "jean.dupont@ecole.fr", IsDuplicate: false } })).json.Id
        const convention = conventions[0]!
        const cases: Array<{ fixture: string; path: string; body: Json; generated: ReadonlyArray<string> }> = [
          { fixture: "mail.create", path: "/Mail", body: { Adresse: "jean.dupont@ecole.fr", IsDuplicate: false }, generated: [] },
          {
            fixture: "convention.create",
            path: "/Convention",
            body: { ApprenantId: apprenantId, TypeConventionId: yield* id("TypeConvention", "STG"), SequenceId: yield* id("Sequence") },
            generated: ["Code", "EtatConventionId"]
          },
          { fixture: "entreprise.create", path: "/Entreprise", body: {}, generated: ["AdresseId", "MailId", "TelephoneId"] },
          {
            fixture: "professionnel.create",
            path: "/Professionnel",
            body: { CiviliteId: civiliteId, Nom: "LATERAL", Prenoms: "Antoine", NomUsage: "LATERAL", PrenomUsage: "Antoine" },
            generated: ["IndividuId"]
          },
          {
            fixture: "apprenant.create",
            path: "/Apprenant",
            body: {
              Nom: "DUPONT", Login: "jean.dupont@ecole.fr", Prenoms: "Jean", NomUsage: "DUPONT", PrenomUsage: "Jean",
              CiviliteId: civiliteId, MailId: mailId
            },
            generated: ["Code", "IndividuId"]
          },
          {
            fixture: "inscription.create",
            path: "/Inscription",
            body: {
              ApprenantId: apprenantId, ProgrammeId: yield* id("Programme"), RegimeInscriptionId: 544,
              RecrutementId: 2215184, EtatInscriptionId: 78736, DateInscription: "2023-11-20T12:00:00.000Z"
            },
            generated: ["AffaireId", "EntiteJuridiqueId"]
          },
          {
            fixture: "convention-organisme-financeur.create",
            path: "/ConventionOrganismeFinanceur",
            body: { ConventionId: convention.Id, OrganismeFinanceurId: yield* id("OrganismeFinanceur") },
            generated: []
          },
          {
            fixture: "remuneration.create",
            path: "/Remuneration",
            body: {
              Debut1: "2025-09-01T00:00:00+02:00", Fin1: "2026-05-31T00:00:00+02:00", Pourcentage1: 80, SalaireMin1: "SMIC",
              Debut2: "2026-06-01T00:00:00+02:00", Fin2: "2026-08-31T00:00:00+02:00", Pourcentage2: 95, SalaireMin2: "SMIC",
              Annee: 1, ConventionId: convention.Id
            },
            generated: []
          },
          {
            fixture: "client.create",
            path: "/Client",
            body: { Nom: "ARTHURO", Prenoms: "Valentin", EntiteJuridiqueId: 2215501, NatureClientId: yield* id("NatureClient", "APPRENANT") },
            generated: []
          },
          {
            fixture: "inscription-periode.create",
            path: "/InscriptionPeriode",
            body: {
              InscriptionId: (yield* rows("Inscription"))[0]!.Id, PeriodeId: yield* id("Periode", "2023/2024"),
              LibellePeriode: "2023/2024", Debut: "2023-09-01T00:00:00+02:00", Fin: "2024-08-31T00:00:00+02:00",
              AnneeScolaire: 1, RegimeInscriptionId: 544, EtatInscriptionId: 78736
            },
            generated: []
          },
          {
            fixture: "programme.create",
            path: "/Programme",
            body: {
              Nom: "Mon programme", Code: "MON_PROGRAMME", EntiteJuridiqueId: 2215156, EcoleId: 2215157,
              CodeDroit: "MON_PROGRAMME", CodeAnalytique: "MON_PROGRAMME"
            },
            generated: []
          }
        ]
        for (const { body, fixture, generated, path } of cases) {
          const reply = yield* call("POST", path, { body })
          expect(reply.status, `${fixture}: ${reply.text}`).toBe(201)
          const documented = fixtures[fixture]!
          const set = setOf[fixture.split(".")[0]!]!
          expectSameShape(set, documented, reply.json, fixture)
          expect(reply.json["@odata.context"]).toMatch(new RegExp(`#${set}/\\$entity$`))
          for (const [key, value] of Object.entries(documented)) {
            if (key.startsWith("@") || key === "Id" || generated.includes(key) || key in body) continue
            expect(reply.json[key], `${fixture}: default of ${key}`).toEqual(value)
          }
        }
      }))
  })
})
