import { describe, expect, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Entities, Ids } from "../src/index.js"
import { wireSchema } from "../src/internal/wire.js"

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(fileURLToPath(new URL(`./fixtures/${name}.json`, import.meta.url)), "utf8"))

describe("Entities", () => {
  it("decode the documented samples, keeping undeclared properties in extra", () => {
    const raw = fixture("convention.get")
    const convention = Schema.decodeUnknownSync(wireSchema(Entities.Convention))(raw)
    expect(convention.Id).toBe(1234567)
    expect(convention.DateDebut?.toString()).toBe("2022-11-14")
    expect(convention.DateFin?.toString()).toBe("2024-08-31")
    expect(convention.extra.NbJourConges).toBe("")
    expect(convention.extra.DiplomeViseId).toBe(0)
    expect("@odata.context" in convention.extra).toBe(false)
    const encoded = Schema.encodeSync(wireSchema(Entities.Convention))(convention)
    const { "@odata.context": _, ...withoutContext } = raw
    expect(encoded).toEqual(withoutContext)
  })

  it("round-trip every documented entity sample through its class", () => {
    const cases: Array<[string, Entities.EntitySet<any>]> = [
      ["apprenant.get", Entities.Apprenant],
      ["entreprise.get", Entities.Entreprise],
      ["professionnel.create", Entities.Professionnel],
      ["convention-organisme-financeur.create", Entities.ConventionOrganismeFinanceur],
      ["remuneration.create", Entities.Remuneration],
      ["sequence.get", Entities.Sequence],
      ["inscription.create", Entities.Inscription],
      ["mail.create", Entities.Mail],
      ["client.create", Entities.Client],
      ["programme.create", Entities.Programme],
      ["convention.create", Entities.Convention],
      ["parcours.get", Entities.Parcours],
      ["inscription-periode.create", Entities.InscriptionPeriode]
    ]
    for (const [name, entity] of cases) {
      const { "@odata.context": _, ...raw } = fixture(name)
      const decoded = Schema.decodeUnknownSync(wireSchema(entity))(raw)
      expect(Schema.encodeSync(wireSchema(entity))(decoded), name).toEqual(raw)
    }
    for (const [name, entity] of [
      ["etat-convention.list", Entities.EtatConvention],
      ["type-convention.list", Entities.TypeConvention],
      ["opca.list", Entities.OrganismeFinanceur],
      ["client.by-reference", Entities.Client],
      ["inscription-sequence.by-inscription", Entities.InscriptionSequence],
      ["enseignant.list", Entities.Enseignant],
      ["nature-client.list", Entities.NatureClient],
      ["programme.list", Entities.Programme],
      ["civilite.list", Entities.Civilite],
      ["type-sequence.list", Entities.TypeSequence],
      ["periode.list", Entities.Periode],
      ["recrutement.list", Entities.VoieEntree],
      ["inscription-periode.by-inscription", Entities.InscriptionPeriode]
    ] as const) {
      for (const row of fixture(name).value as Array<unknown>) {
        const decoded = Schema.decodeUnknownSync(wireSchema(entity as Entities.EntitySet<any>))(row)
        expect(Schema.encodeSync(wireSchema(entity as Entities.EntitySet<any>))(decoded), name).toEqual(row)
      }
    }
  })

  it("decode a parcours with its periods, which are only reachable through it", () => {
    const { "@odata.context": _, ...raw } = fixture("parcours.expand-periodes")
    const schema = Schema.Struct({ Id: Ids.ParcoursId, ParcoursPeriodes: Schema.Array(Entities.wire(Entities.ParcoursPeriode)) })
    const decoded = Schema.decodeUnknownSync(schema)(raw)
    expect(decoded.ParcoursPeriodes.map((p) => [p.AnneeScolaire, p.LibellePeriode, p.Debut?.toString(), p.PeriodeId])).toEqual([
      [1, "2023/2024", "2023-09-01", 1326],
      [2, "2024/2025", "2024-09-01", 1327],
      [3, "2025/2026", "2025-09-01", 2215069]
    ])
    expect(decoded.ParcoursPeriodes[0]!.extra).toEqual({ LibellePeriodeSpecifique: "", SpecialiteId: 0 })
    const parcours = Schema.decodeUnknownSync(Entities.wire(Entities.Parcours))(raw)
    expect(Object.keys(parcours.extra)).toEqual(["ParcoursPeriodes"])
  })

  it("copy changes declared fields and keeps the rest", () => {
    const convention = Schema.decodeUnknownSync(wireSchema(Entities.Convention))(fixture("convention.create"))
    const changed = Entities.copy(convention, { EntrepriseId: Ids.EntrepriseId.make(42), Poste: "Apprenti" })
    expect(changed).toBeInstanceOf(Entities.Convention)
    expect(changed.EntrepriseId).toBe(42)
    expect(changed.Poste).toBe("Apprenti")
    expect(changed.Code).toBe(convention.Code)
    expect(changed.extra).toEqual(convention.extra)
    // @ts-expect-error an ApprenantId is not an EntrepriseId
    Entities.copy(convention, { EntrepriseId: Ids.ApprenantId.make(1) })
  })
})
