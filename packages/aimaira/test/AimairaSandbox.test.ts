import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { AimairaSandbox } from "../src/sandbox/index.js"
import { call, rows, sandboxLayer, state } from "./support.js"

const PAGE_SIZE = 5

/** Ids of seeded reference rows by code. */
const refId = (collection: string, code: string) =>
  Effect.map(rows(collection), (list) => {
    const row = list.find((candidate) => candidate.Code === code)
    if (row === undefined) throw new Error(`no ${collection} ${code}`)
    return row.Id
  })

/** A learner with an inscription and a sequence of type S, ready for a convention. */
const conventionInput = Effect.gen(function*() {
  const inscriptions = yield* rows("Inscription")
  const inscriptionSequences = yield* rows("InscriptionSequence")
  const sequences = yield* rows("Sequence")
  const typeS = yield* refId("TypeSequence", "S")
  const conventions = yield* rows("Convention")
  const taken = new Set(conventions.map((c) => c.ApprenantId))
  const inscription = inscriptions.find((candidate) => !taken.has(candidate.ApprenantId))!
  const sequenceIds = inscriptionSequences.filter((is) => is.InscriptionId === inscription.Id).map((is) => is.SequenceId)
  const sequence = sequences.find((s) => sequenceIds.includes(s.Id) && s.TypeSequenceId === typeS)!
  return { ApprenantId: inscription.ApprenantId as number, SequenceId: sequence.Id }
})

/** The inscription `conventionInput` picks. */
const inscriptionOf = (apprenantId: number) =>
  Effect.map(rows("Inscription"), (list) => list.find((row) => row.ApprenantId === apprenantId)!.Id)

describe("AimairaSandbox", () => {
  it.layer(sandboxLayer({ pageSize: PAGE_SIZE }))((it) => {
    describe("authentication", () => {
      it.effect("accepts Basic and X-ApiKey", () =>
        Effect.gen(function*() {
          expect((yield* call("GET", "/Civilite", { auth: "basic" })).status).toBe(200)
          expect((yield* call("GET", "/Civilite", { auth: "apikey" })).status).toBe(200)
        }))

      it.effect("answers 401 with an OData error that never echoes the credentials", () =>
        Effect.gen(function*() {
          const attempts = [
            { auth: "none" as const, message: /Authentication is required/ },
            { auth: { header: "Authorization", value: `Basic ${Buffer.from("sandbox:hunter2-secret").toString("base64")}` }, message: /not valid/ },
            { auth: { header: "X-ApiKey", value: "hunter2-secret" }, message: /not valid/ },
            { auth: { header: "Authorization", value: "Bearer hunter2-secret" }, message: /Unsupported authentication scheme/ }
          ]
          for (const attempt of attempts) {
            const reply = yield* call("GET", "/Convention", { auth: attempt.auth })
            expect(reply.status).toBe(401)
            expect(reply.json.error.code).toBe("Unauthorized")
            expect(reply.json.error.message).toMatch(attempt.message)
            expect(reply.text).not.toContain("hunter2")
            expect(reply.headers["www-authenticate"]).toMatch(/^Basic/)
          }
        }))
    })

    describe("resources and OData shapes", () => {
      it.effect("serves a key as a segment and in parentheses, with the entity context", () =>
        Effect.gen(function*() {
          const [apprenant] = yield* rows("Apprenant")
          const bySegment = yield* call("GET", `/Apprenant/${apprenant!.Id}`)
          const byParens = yield* call("GET", `/Apprenant(${apprenant!.Id})`)
          expect(bySegment.status).toBe(200)
          expect(bySegment.json).toEqual(byParens.json)
          expect(bySegment.json["@odata.context"]).toMatch(/\/GraphV1\/\$metadata#Apprenant\/\$entity$/)
          expect(bySegment.json.Nom).toBe(apprenant!.Nom)
          expect(Object.keys(bySegment.json)[1]).toBe("Id")
        }))

      it.effect("answers 404 for unknown keys and sets, 400 for a bad key", () =>
        Effect.gen(function*() {
          const missing = yield* call("GET", "/Convention(1)")
          expect(missing.status).toBe(404)
          expect(missing.json.error.message).toMatch(/No Convention with key 1/)
          expect((yield* call("GET", "/Nope")).status).toBe(404)
          expect((yield* call("GET", "/Convention(abc)")).status).toBe(400)
          expect((yield* call("GET", "/Convention(12)/Nope")).status).toBe(404)
        }))

      it.effect("lists OPCA and OrganismeFinanceur as the same rows, with the documented context", () =>
        Effect.gen(function*() {
          const opca = yield* call("GET", "/OPCA")
          const of = yield* call("GET", "/OrganismeFinanceur")
          expect(opca.json["@odata.context"]).toMatch(/#OPCA$/)
          expect(opca.json.value).toEqual(of.json.value.slice(0, PAGE_SIZE))
          expect(opca.json.value[0].Nom).toBe("AFDAS")
        }))

      it.effect("uses one id counter across entities and Europe/Paris offsets for dates", () =>
        Effect.gen(function*() {
          const snapshot = yield* state
          const ids = Object.values(snapshot.collections).flatMap((list) => list.map((row) => row.Id))
          expect(new Set(ids).size).toBe(ids.length)
          const sequence = snapshot.collections.Sequence![0]!
          expect(sequence.Debut).toBe("2025-09-01T00:00:00+02:00")
          const mail = yield* call("POST", "/Mail", { body: { Adresse: "dates@example.fr" } })
          const created = yield* call("POST", "/Convention", {
            body: { ...(yield* conventionInput), TypeConventionId: yield* refId("TypeConvention", "STG"), DateDebut: "2025-11-14T00:00:00.000Z", DateFin: "2026-08-31" }
          })
          expect(mail.json.Id).toBeLessThan(created.json.Id)
          expect(created.json.DateDebut).toBe("2025-11-14T01:00:00+01:00")
          expect(created.json.DateFin).toBe("2026-08-31T00:00:00+02:00")
          const bad = yield* call("PUT", `/Convention/${created.json.Id}`, { body: { ...created.json, DateFin: "31/08/2026" } })
          expect(bad.status).toBe(400)
          expect(bad.json.error.target).toBe("DateFin")
        }))

      it.effect("serves navigation properties, single properties, $count and the service document", () =>
        Effect.gen(function*() {
          const [inscription] = yield* rows("Inscription")
          const apprenant = yield* call("GET", `/Inscription(${inscription!.Id})/Apprenant`)
          expect(apprenant.json.Id).toBe(inscription!.ApprenantId)
          const sequences = yield* call("GET", `/Inscription/${inscription!.Id}/InscriptionSequences`)
          expect(sequences.json.value.length).toBe(3)
          expect(sequences.json["@odata.context"]).toMatch(new RegExp(`#Inscription\\(${inscription!.Id}\\)/InscriptionSequences$`))
          const nom = yield* call("GET", `/Apprenant(${inscription!.ApprenantId})/Nom`)
          expect(typeof nom.json.value).toBe("string")
          const count = yield* call("GET", "/TypeConvention/$count")
          expect(count.text).toBe("4")
          const root = yield* call("GET", "")
          expect(root.json.value.map((set: { name: string }) => set.name)).toContain("ConventionOrganismeFinanceur")
          const metadata = yield* call("GET", "/$metadata")
          expect(metadata.text).toContain(`<EntityType Name="Civilite" BaseType="GraphV1.Base">`)
        }))
    })

    describe("query options", () => {
      it.effect("filters with eq, ne, and/or/not, functions and navigation paths", () =>
        Effect.gen(function*() {
          const apprenants = yield* rows("Apprenant")
          const first = apprenants[0]!
          const byCode = yield* call("GET", "/Apprenant", { query: { $filter: `Code eq '${String(first.Code)}'` } })
          expect(byCode.json.value.map((a: { Id: number }) => a.Id)).toEqual([first.Id])
          const mails = yield* rows("Mail")
          const adresse = mails.find((m) => m.Id === first.MailId)!.Adresse as string
          const byMail = yield* call("GET", "/Apprenant", { query: { $filter: `Mail/Adresse eq '${adresse}'` } })
          expect(byMail.json.value.map((a: { Id: number }) => a.Id)).toEqual([first.Id])
          const others = yield* call("GET", "/Apprenant", { query: { $filter: `not (Id eq ${first.Id}) and Id ne 0`, $count: "true" } })
          expect(others.json["@odata.count"]).toBe(apprenants.length - 1)
          const either = yield* call("GET", "/TypeConvention", { query: { $filter: "Code eq 'APP' or startswith(Code,'ST')", $orderby: "Code" } })
          expect(either.json.value.map((t: { Code: string }) => t.Code)).toEqual(["APP", "STA", "STG"])
          const contains = yield* call("GET", "/TypeConvention", { query: { $filter: "contains(Nom,'stage') and endswith(Code,'G')" } })
          expect(contains.json.value.map((t: { Code: string }) => t.Code)).toEqual(["STG"])
          const dates = yield* call("GET", "/Sequence", { query: { $filter: "Debut ge 2025-09-01 and Fin lt 2026-09-01T00:00:00+02:00", $count: "true", $top: "0" } })
          expect(dates.json["@odata.count"]).toBe(9)
          const nulls = yield* call("GET", "/Sequence", { query: { $filter: "SegmentId eq null and Campus ne null", $count: "true", $top: "0" } })
          expect(nulls.json["@odata.count"]).toBe(0)
        }))

      it.effect("runs the documented eligible-sequences query with a GET body and with $filter=InscriptionId", () =>
        Effect.gen(function*() {
          const inscriptionId = yield* inscriptionOf((yield* conventionInput).ApprenantId)
          const query = { $expand: "Sequence", $select: "Sequence", $filter: "startswith(Sequence/TypeSequence/Code, 'S')" }
          const withBody = yield* call("GET", "/InscriptionSequence", { query, body: { Id: inscriptionId } })
          expect(withBody.status).toBe(200)
          expect(withBody.json["@odata.context"]).toMatch(/#InscriptionSequence\(Sequence,Sequence\(\)\)$/)
          expect(withBody.json.value).toHaveLength(1)
          expect(Object.keys(withBody.json.value[0])).toEqual(["Sequence"])
          expect(withBody.json.value[0].Sequence.Nom).toMatch(/PÉRIODE EN ENTREPRISE/)
          const withFilter = yield* call("GET", "/InscriptionSequence", {
            query: { ...query, $filter: `startswith(Sequence/TypeSequence/Code, 'S') and InscriptionId eq ${inscriptionId}` }
          })
          expect(withFilter.json.value).toEqual(withBody.json.value)
          const withoutBody = yield* call("GET", "/InscriptionSequence", { query: { ...query, $count: "true" } })
          expect(withoutBody.json["@odata.count"]).toBeGreaterThan(1)
          const badBody = yield* call("GET", "/InscriptionSequence", { body: { Id: "x" } })
          expect(badBody.status).toBe(400)
        }))

      it.effect("supports $select, nested $expand with $select, $orderby with several keys, $top and $skip", () =>
        Effect.gen(function*() {
          const expanded = yield* call("GET", "/InscriptionSequence", {
            query: { $select: "Id,SequenceId", $expand: "Sequence($select=Id,Nom;$expand=TypeSequence($select=Code))", $top: "1" }
          })
          const row = expanded.json.value[0]
          expect(Object.keys(row)).toEqual(["Id", "SequenceId", "Sequence"])
          expect(Object.keys(row.Sequence)).toEqual(["Id", "Nom", "TypeSequence"])
          expect(row.Sequence.Id).toBe(row.SequenceId)
          expect(Object.keys(row.Sequence.TypeSequence)).toEqual(["Code"])
          const all = (yield* call("GET", "/EtatConvention", { query: { $orderby: "Ordre desc, Id" } })).json.value
          const ordered = yield* call("GET", "/EtatConvention", { query: { $orderby: "Ordre desc,Id asc", $skip: "2", $top: "2", $select: "Code" } })
          expect(ordered.json.value).toEqual(all.slice(2, 4).map((e: { Code: string }) => ({ Code: e.Code })))
          expect(all[0].Code).toBe("SIGNEDOCUSIGN")
          const byNavigation = yield* call("GET", "/Sequence", { query: { $orderby: "TypeSequence/Code desc, Id", $select: "TypeSequenceId", $top: "1" } })
          const types = yield* rows("TypeSequence")
          expect(types.find((t) => t.Id === byNavigation.json.value[0].TypeSequenceId)?.Code).toBe("S")
        }))

      it.effect("pages with @odata.nextLink until the end, with $count on every page", () =>
        Effect.gen(function*() {
          const total = (yield* rows("InscriptionSequence")).length
          const seen: Array<number> = []
          let url: string | undefined = undefined
          let pages = 0
          let reply = yield* call("GET", "/InscriptionSequence", { query: { $count: "true", $select: "Id" } })
          for (;;) {
            pages++
            expect(reply.json["@odata.count"]).toBe(total)
            expect(reply.json.value.length).toBeLessThanOrEqual(PAGE_SIZE)
            seen.push(...reply.json.value.map((r: { Id: number }) => r.Id))
            url = reply.json["@odata.nextLink"]
            if (url === undefined) break
            reply = yield* call("GET", url)
          }
          expect(pages).toBe(Math.ceil(total / PAGE_SIZE))
          expect(new Set(seen).size).toBe(total)
          const topped = yield* call("GET", "/InscriptionSequence", { query: { $top: "7" } })
          const next = yield* call("GET", topped.json["@odata.nextLink"])
          expect(topped.json.value.length + next.json.value.length).toBe(7)
          expect(next.json["@odata.nextLink"]).toBeUndefined()
        }))

      it.effect("answers 400 with an OData error body on malformed queries", () =>
        Effect.gen(function*() {
          for (const query of [
            { $filter: "Nom eq" },
            { $filter: "Nom eq 'x" },
            { $filter: "Nope eq 1" },
            { $filter: "Id eq 'x'" },
            { $select: "Id,,Nom" },
            { $expand: "Nope" },
            { $orderby: "Nom up" },
            { $top: "ten" },
            { $apply: "groupby((Nom))" }
          ]) {
            const reply = yield* call("GET", "/Apprenant", { query })
            expect(reply.status, JSON.stringify(query)).toBe(400)
            expect(reply.json.error.code).toBe("BadRequest")
            expect(typeof reply.json.error.message).toBe("string")
          }
        }))

      it.effect("only lists remunerations for one convention", () =>
        Effect.gen(function*() {
          const refused = yield* call("GET", "/Remuneration")
          expect(refused.status).toBe(400)
          expect(refused.json.error.message).toMatch(/ConventionId eq/)
          const [remuneration] = yield* rows("Remuneration")
          const listed = yield* call("GET", "/Remuneration", { query: { $filter: `ConventionId eq ${remuneration!.ConventionId}` } })
          expect(listed.json.value.map((r: { Id: number }) => r.Id)).toEqual([remuneration!.Id])
        }))
    })

    describe("documented behaviour", () => {
      it.effect("refuses a create without its required fields, naming the field", () =>
        Effect.gen(function*() {
          const cases: Array<[string, Record<string, unknown>, string]> = [
            ["/Convention", { TypeConventionId: 1, SequenceId: 1 }, "ApprenantId"],
            ["/Apprenant", { Nom: "X", Prenoms: "Y", CiviliteId: yield* refId("Civilite", "M") }, "MailId"],
            ["/Professionnel", { CiviliteId: yield* refId("Civilite", "M"), Nom: "LATERAL", Prenoms: "Antoine", NomUsage: "LATERAL" }, "PrenomUsage"],
            ["/Inscription", { ApprenantId: 1 }, "ProgrammeId"],
            ["/Client", { Nom: "X", Prenoms: "Y", EntiteJuridiqueId: 1 }, "NatureClientId"],
            ["/Programme", { Nom: "P", Code: "P", EntiteJuridiqueId: 1, EcoleId: 1, CodeDroit: "P" }, "CodeAnalytique"]
          ]
          for (const [path, body, field] of cases) {
            const reply = yield* call("POST", path, { body })
            expect(reply.status, path).toBe(400)
            expect(reply.json.error.target).toBe(field)
            expect(reply.json.error.message).toContain(field)
          }
          const unknown = yield* call("POST", "/Entreprise", { body: { Nom: "X", Siret: "1" } })
          expect(unknown.status).toBe(400)
          expect(unknown.json.error.message).toBe("The property 'Siret' does not exist on type 'GraphV1.Entreprise'.")
          const wrongType = yield* call("POST", "/Entreprise", { body: { Nom: 12 } })
          expect(wrongType.json.error.target).toBe("Nom")
          const notJson = yield* call("POST", "/Entreprise", { rawBody: "{nope" })
          expect(notJson.status).toBe(400)
          const badReference = yield* call("POST", "/Convention", { body: { ApprenantId: 1, TypeConventionId: 1, SequenceId: 1 } })
          expect(badReference.status).toBe(400)
          expect(badReference.json.error.target).toBe("ApprenantId")
        }))

      it.effect("creates an empty Entreprise, places a convention in the first état with a CS code", () =>
        Effect.gen(function*() {
          const entreprise = yield* call("POST", "/Entreprise", { body: {} })
          expect(entreprise.status).toBe(201)
          expect(entreprise.headers["location"]).toMatch(new RegExp(`/GraphV1/Entreprise\\(${entreprise.json.Id}\\)$`))
          expect(entreprise.json.Nom).toBe("")
          const etats = yield* rows("EtatConvention")
          const first = [...etats].sort((a, b) => (a.Ordre as number) - (b.Ordre as number))[0]!
          expect(first.Code).toBe("SAISIE")
          const created = yield* call("POST", "/Convention", {
            body: { ...(yield* conventionInput), TypeConventionId: yield* refId("TypeConvention", "STG"), EtatConventionId: etats.at(-1)!.Id }
          })
          expect(created.status).toBe(201)
          expect(created.json.EtatConventionId).toBe(first.Id)
          expect(created.json.Code).toMatch(/^CS\d{8}$/)
          expect(created.json.NatureContratId).toBe(0)
          expect(created.json.Devise).toBe("Euro")
          expect(created.json.DiplomeViseId).toBeNull()
        }))

      it.effect("selects the first mode contractuel for a contrat d'apprentissage", () =>
        Effect.gen(function*() {
          const snapshot = yield* state
          const created = yield* call("POST", "/Convention", {
            body: { ...(yield* conventionInput), TypeConventionId: yield* refId("TypeConvention", "APP") }
          })
          expect(created.json.NatureContratId).toBe(snapshot.modesContractuels[0]!.Id)
        }))

      it.effect("resets omitted fields on a full update (PUT, PATCH and POST on the key)", () =>
        Effect.gen(function*() {
          const created = yield* call("POST", "/Entreprise", { body: { Nom: "Garage Durand", SIRET: "73282932000074", NAF: "4520A" } })
          const id = created.json.Id
          for (const method of ["PUT", "PATCH", "POST"] as const) {
            const full = (yield* call("GET", `/Entreprise/${id}`)).json
            const updated = yield* call(method, `/Entreprise/${id}`, { body: { ...full, Effectif: "12" } })
            expect(updated.status).toBe(200)
            expect(updated.json.SIRET).toBe("73282932000074")
            const partial = yield* call(method, `/Entreprise/${id}`, { body: { Nom: "Garage Durand" } })
            expect(partial.json.SIRET).toBe("")
            expect(partial.json.NAF).toBe("")
            expect(partial.json.Effectif).toBe("")
            yield* call("PUT", `/Entreprise/${id}`, { body: { Nom: "Garage Durand", SIRET: "73282932000074", NAF: "4520A" } })
          }
          const mismatch = yield* call("PUT", `/Entreprise/${id}`, { body: { Id: id + 1 } })
          expect(mismatch.status).toBe(400)
        }))

      it.effect("refuses a second convention with the same EntrepriseId (409)", () =>
        Effect.gen(function*() {
          const [existing] = yield* rows("Convention")
          const input = yield* conventionInput
          const second = yield* call("POST", "/Convention", {
            body: { ...input, TypeConventionId: yield* refId("TypeConvention", "PRO"), EntrepriseId: existing!.EntrepriseId }
          })
          expect(second.status).toBe(409)
          expect(second.json.error.code).toBe("Conflict")
          expect(second.json.error.target).toBe("EntrepriseId")
          const created = yield* call("POST", "/Convention", { body: { ...input, TypeConventionId: yield* refId("TypeConvention", "PRO") } })
          const update = yield* call("PUT", `/Convention/${created.json.Id}`, { body: { ...created.json, EntrepriseId: existing!.EntrepriseId } })
          expect(update.status).toBe(409)
          const own = yield* call("POST", "/Entreprise", { body: { Nom: "Propre" } })
          const ok = yield* call("PUT", `/Convention/${created.json.Id}`, { body: { ...created.json, EntrepriseId: own.json.Id } })
          expect(ok.status).toBe(200)
          const again = yield* call("PUT", `/Convention/${created.json.Id}`, { body: ok.json })
          expect(again.status).toBe(200)
        }))

      it.effect("deletes a convention's documents when it moves back to SAISIE, only then", () =>
        Effect.gen(function*() {
          const sandbox = yield* AimairaSandbox.AimairaSandbox
          const etats = yield* rows("EtatConvention")
          const saisie = etats.find((e) => e.Code === "SAISIE")!.Id
          const entr = etats.find((e) => e.Code === "ENTR")!.Id
          const created = yield* call("POST", "/Convention", {
            body: { ...(yield* conventionInput), TypeConventionId: yield* refId("TypeConvention", "STG") }
          })
          const id = created.json.Id
          yield* sandbox.addDocument(id, "convention.pdf")
          const documents = () => Effect.map(state, (s) => s.documents.filter((d) => d.ConventionId === id).length)
          // SAISIE to SAISIE: not a move "from another état", documents stay.
          yield* call("PUT", `/Convention/${id}`, { body: { ...created.json, Nom: "touched" } })
          expect(yield* documents()).toBe(1)
          const validated = yield* call("PUT", `/Convention/${id}`, { body: { ...created.json, EtatConventionId: entr } })
          expect(validated.json.EtatConventionId).toBe(entr)
          expect(yield* documents()).toBe(1)
          yield* call("PUT", `/Convention/${id}`, { body: { ...validated.json, EtatConventionId: saisie } })
          expect(yield* documents()).toBe(0)
        }))

      it.effect("SynchronisationAffaire creates the company and OPCO billing clients, findable by ReferenceId", () =>
        Effect.gen(function*() {
          const created = yield* call("POST", "/Convention", {
            body: { ...(yield* conventionInput), TypeConventionId: yield* refId("TypeConvention", "APP") }
          })
          const id = created.json.Id
          const refused = yield* call("POST", `/Convention/${id}/SynchronisationAffaire`)
          expect(refused.status).toBe(400)
          expect(refused.json.error.target).toBe("EntrepriseId")
          const entreprise = yield* call("POST", "/Entreprise", { body: { Nom: "Altis Cyberdéfense" } })
          yield* call("PUT", `/Convention/${id}`, { body: { ...created.json, EntrepriseId: entreprise.json.Id } })
          const atlas = (yield* rows("OrganismeFinanceur")).find((o) => o.Nom === "ATLAS")!
          const link = yield* call("POST", "/ConventionOrganismeFinanceur", { body: { ConventionId: id, OrganismeFinanceurId: atlas.Id } })
          expect(link.status).toBe(201)
          expect(link.json.TypePriseCharge).toBe("Entreprise")
          const synced = yield* call("POST", `/Convention/${id}/SynchronisationAffaire`)
          expect(synced.status).toBe(200)
          const clients = yield* call("GET", "/Client", { query: { $filter: `ReferenceId eq ${id}`, $orderby: "Id" } })
          expect(clients.json.value.map((c: { Nom: string }) => c.Nom)).toEqual(["Altis Cyberdéfense", "ATLAS"])
          expect(clients.json.value[0].EntrepriseId).toBe(entreprise.json.Id)
          expect(clients.json.value[1].Code).toBe("CATLAS")
          const natures = yield* rows("NatureClient")
          expect(natures.find((n) => n.Id === clients.json.value[1].NatureClientId)?.Code).toBe("OPCO")
          // Synchronising again refreshes, it does not duplicate.
          yield* call("POST", `/Convention(${id})/SynchronisationAffaire`)
          const again = yield* call("GET", "/Client", { query: { $filter: `ReferenceId eq ${id}`, $count: "true" } })
          expect(again.json["@odata.count"]).toBe(2)
          expect((yield* call("GET", `/Convention/${id}/SynchronisationAffaire`)).status).toBe(405)
          expect((yield* call("POST", `/Convention/1/SynchronisationAffaire`)).status).toBe(404)
        }))

      it.effect("DELETE removes a convention with its owned rows; reference data is read-only", () =>
        Effect.gen(function*() {
          const created = yield* call("POST", "/Convention", {
            body: { ...(yield* conventionInput), TypeConventionId: yield* refId("TypeConvention", "APP") }
          })
          const id = created.json.Id
          yield* call("POST", "/Remuneration", { body: { ConventionId: id, Annee: 1, Pourcentage1: 53, SalaireMin1: "SMIC" } })
          const deleted = yield* call("DELETE", `/Convention/${id}`)
          expect(deleted.status).toBe(204)
          expect((yield* call("GET", `/Convention/${id}`)).status).toBe(404)
          expect((yield* rows("Remuneration")).filter((r) => r.ConventionId === id)).toEqual([])
          expect((yield* call("DELETE", `/Convention/${id}`)).status).toBe(404)
          const civilite = yield* refId("Civilite", "M")
          expect((yield* call("DELETE", `/Civilite/${civilite}`)).status).toBe(405)
          expect((yield* call("POST", "/TypeConvention", { body: { Nom: "x" } })).status).toBe(405)
        }))

      it.effect("creates a client from a learner with the learner's code", () =>
        Effect.gen(function*() {
          const [apprenant] = yield* rows("Apprenant")
          const nature = yield* refId("NatureClient", "APPRENANT")
          const client = yield* call("POST", `/Apprenant/${apprenant!.Id}/Client`, {
            body: { Nom: "ARTHURO", Prenoms: "Valentin", EntiteJuridiqueId: (yield* state).counters.nextId, NatureClientId: nature }
          })
          expect(client.status).toBe(201)
          expect(client.json.Code).toBe(apprenant!.Code)
          expect(client.json.ReferenceId).toBe(apprenant!.Id)
          expect(client.json.NomUsage).toBe("ARTHURO")
        }))
    })

    describe("enrolment on a parcours", () => {
      /** A new inscription of a learner without one in the PGE programme, through its voie d'entrée. */
      const freshInscription = Effect.gen(function*() {
        const programme = (yield* rows("Programme")).find((p) => p.Code === "PGE")!
        const recrutement = (yield* rows("Recrutement")).find((r) => r.ProgrammeId === programme.Id && r.ReferenceExterneId !== 0)!
        const inscriptions = yield* rows("Inscription")
        const learner = (yield* rows("Apprenant")).find((a) => !inscriptions.some((i) => i.ApprenantId === a.Id && i.ProgrammeId === programme.Id))!
        const created = yield* call("POST", "/Inscription", {
          body: {
            ApprenantId: learner.Id, ProgrammeId: programme.Id, RegimeInscriptionId: 544, RecrutementId: recrutement.Id,
            EtatInscriptionId: 78736, DateInscription: "2025-09-08T09:30:00+02:00"
          }
        })
        expect(created.status).toBe(201)
        return { inscription: created.json, recrutement }
      })

      const eligible = (inscriptionId: number) =>
        Effect.map(
          call("GET", "/InscriptionSequence", {
            query: { $expand: "Sequence", $select: "Sequence", $filter: "startswith(Sequence/TypeSequence/Code, 'S')", $top: "50" },
            body: { Id: inscriptionId }
          }),
          (reply) => (reply.json.value as Array<{ Sequence: { Nom: string } }>).map((row) => row.Sequence.Nom)
        )

      it.effect("shows only the voies d'entrée with a référence externe; each leads to a parcours of its programme", () =>
        Effect.gen(function*() {
          const listed = yield* call("GET", "/Recrutement")
          expect(listed.json["@odata.context"]).toMatch(/#Recrutement$/)
          const all = yield* rows("Recrutement")
          const hidden = all.find((r) => r.ReferenceExterneId === 0)!
          expect(listed.json.value.map((r: { Id: number }) => r.Id)).toEqual(all.filter((r) => r !== hidden).map((r) => r.Id))
          expect((yield* call("GET", `/Recrutement/${hidden.Id}`)).status).toBe(404)
          expect((yield* call("GET", "/Recrutement/$count")).text).toBe(String(all.length - 1))
          for (const voie of listed.json.value as Array<{ ParcoursId: number; ProgrammeId: number }>) {
            const parcours = yield* call("GET", `/Parcours/${voie.ParcoursId}`)
            expect(parcours.json["@odata.context"]).toMatch(/#Parcours\/\$entity$/)
            expect(parcours.json.ProgrammeId).toBe(voie.ProgrammeId)
          }
          expect((yield* call("POST", "/Parcours", { body: { Nom: "x" } })).status).toBe(405)
          expect((yield* call("GET", "/ParcoursPeriode")).status).toBe(404)
          expect((yield* call("GET", "/ParcoursPeriodeSequence")).status).toBe(404)
        }))

      it.effect("linking an inscription to the periods of its parcours gives it their sequences; linking twice adds none", () =>
        Effect.gen(function*() {
          const { inscription, recrutement } = yield* freshInscription
          expect(yield* eligible(inscription.Id)).toEqual([])
          const parcours = yield* call("GET", `/Parcours/${recrutement.ParcoursId}`, { query: { $expand: "ParcoursPeriodes" } })
          const periods = parcours.json.ParcoursPeriodes as Array<Record<string, unknown>>
          expect(periods.map((p) => [p.AnneeScolaire, p.LibellePeriode])).toEqual([[1, "2025/2026"], [2, "2026/2027"], [3, "2027/2028"]])
          const link = (period: Record<string, unknown>) =>
            call("POST", "/InscriptionPeriode", {
              body: {
                InscriptionId: inscription.Id, PeriodeId: period.PeriodeId, LibellePeriode: period.LibellePeriode,
                Debut: period.Debut, Fin: period.Fin, AnneeScolaire: period.AnneeScolaire,
                RegimeInscriptionId: inscription.RegimeInscriptionId, EtatInscriptionId: inscription.EtatInscriptionId
              }
            })
          const links = []
          for (const period of periods) {
            const reply = yield* link(period)
            expect(reply.status).toBe(201)
            expect(reply.headers["location"]).toMatch(new RegExp(`/InscriptionPeriode\\(${reply.json.Id}\\)$`))
            links.push(reply.json)
          }
          expect(yield* eligible(inscription.Id)).toEqual([
            "25-26 PGE 1 - PÉRIODE EN ENTREPRISE",
            "26-27 PGE 2 - PÉRIODE EN ENTREPRISE",
            "27-28 PGE 3 - PÉRIODE EN ENTREPRISE"
          ])
          const own = () => Effect.map(rows("InscriptionSequence"), (list) => list.filter((r) => r.InscriptionId === inscription.Id))
          expect(yield* own()).toHaveLength(9)
          const linked = yield* call("GET", `/Inscription/${inscription.Id}/InscriptionPeriodes`)
          expect(linked.json.value.map((l: { PeriodeId: number }) => l.PeriodeId)).toEqual(periods.map((p) => p.PeriodeId))

          // A second link to the same period is stored, and adds no sequence.
          const twice = yield* link(periods[0]!)
          expect(twice.status).toBe(201)
          expect(yield* own()).toHaveLength(9)
          // Deleting one of the two keeps the sequences; deleting the other takes them back.
          expect((yield* call("DELETE", `/InscriptionPeriode/${twice.json.Id}`)).status).toBe(204)
          expect(yield* own()).toHaveLength(9)
          expect((yield* call("DELETE", `/InscriptionPeriode/${links[0].Id}`)).status).toBe(204)
          expect(yield* own()).toHaveLength(6)
          expect(yield* eligible(inscription.Id)).toEqual(["26-27 PGE 2 - PÉRIODE EN ENTREPRISE", "27-28 PGE 3 - PÉRIODE EN ENTREPRISE"])

          const unknown = yield* call("POST", "/InscriptionPeriode", { body: { InscriptionId: inscription.Id, PeriodeId: 1 } })
          expect(unknown.status).toBe(400)
          expect(unknown.json.error.target).toBe("PeriodeId")
          const missing = yield* call("POST", "/InscriptionPeriode", { body: { PeriodeId: periods[0]!.PeriodeId } })
          expect(missing.json.error.target).toBe("InscriptionId")
        }))

      it.effect("a period outside the inscription's programme's parcours is linked without sequences", () =>
        Effect.gen(function*() {
          const { inscription } = yield* freshInscription
          const old = (yield* rows("Periode")).find((p) => p.Nom === "2023/2024")!
          const reply = yield* call("POST", "/InscriptionPeriode", { body: { InscriptionId: inscription.Id, PeriodeId: old.Id } })
          expect(reply.status).toBe(201)
          expect(reply.json.LibellePeriode).toBe("")
          expect((yield* rows("InscriptionSequence")).filter((r) => r.InscriptionId === inscription.Id)).toEqual([])
        }))
    })

    describe("admin routes", () => {
      it.effect("exposes the state and resets to the seeded data", () =>
        Effect.gen(function*() {
          const sandbox = yield* AimairaSandbox.AimairaSandbox
          const before = yield* call("GET", `${sandbox.url}/__sandbox/state`, { auth: "none" })
          expect(before.status).toBe(200)
          expect(before.json.collections.Convention.length).toBeGreaterThan(5)
          const doc = yield* call("POST", `${sandbox.url}/__sandbox/documents`, {
            auth: "none",
            body: { ConventionId: before.json.collections.Convention[0].Id, Nom: "a.pdf" }
          })
          expect(doc.status).toBe(201)
          const reset = yield* call("POST", `${sandbox.url}/__sandbox/reset`, { auth: "none" })
          expect(reset.status).toBe(200)
          const after = (yield* call("GET", `${sandbox.url}/__sandbox/state`, { auth: "none" })).json
          expect(after.collections.Convention).toHaveLength(5)
          expect(after.documents).toHaveLength(8)
        }))
    })
  })

  it.effect("generates the same data from the same seed, and other data from another seed", () =>
    Effect.gen(function*() {
      const snapshot = (options: AimairaSandbox.Options) =>
        Effect.scoped(Effect.flatMap(AimairaSandbox.make(options), (sandbox) => sandbox.state))
      const a = yield* snapshot({ seed: 7 })
      const b = yield* snapshot({ seed: 7 })
      const c = yield* snapshot({ seed: 8 })
      expect(a).toEqual(b)
      expect(c.collections.Apprenant).not.toEqual(a.collections.Apprenant)
      expect(a.collections.TypeConvention).toEqual(c.collections.TypeConvention)
    }).pipe(Effect.orDie))
})
