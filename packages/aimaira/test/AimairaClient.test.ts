import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, layer } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Temporal } from "temporal-polyfill"
import { PluginConfig } from "@relais/core"
import { AimairaClient, AimairaConfig, AimairaPlugin, Entities, Errors, Ids, Query } from "../src/index.js"
import { AimairaSandbox } from "../src/sandbox/index.js"
import { call, rows } from "./support.js"

const PAGE_SIZE = 5

const SandboxLive = AimairaSandbox.layer({ pageSize: PAGE_SIZE })

/** A client configured for the sandbox, with Basic auth. */
const ClientLive = Layer.unwrapEffect(
  Effect.map(AimairaSandbox.AimairaSandbox, (sandbox) =>
    AimairaClient.layer({
      url: sandbox.apiUrl,
      auth: AimairaConfig.basic(sandbox.credentials.username, sandbox.credentials.password)
    }))
)

const TestLive = ClientLive.pipe(
  Layer.provideMerge(SandboxLive),
  Layer.provideMerge(NodeHttpClient.layer),
  Layer.orDie
)

const client = AimairaClient.AimairaClient
const sandbox = AimairaSandbox.AimairaSandbox

/** A client for the sandbox with other credentials. */
const clientWith = (auth: AimairaConfig.Auth) =>
  Effect.flatMap(sandbox, (s) => AimairaClient.make({ url: s.apiUrl, auth }))

const failure = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.flip(effect), (error) => Effect.succeed(error))

const secretFree = (error: unknown, secrets: ReadonlyArray<string>) => {
  const texts = [
    String((error as Error).message),
    String(error),
    JSON.stringify(Schema.encodeUnknownSync(Errors.AimairaError)(error))
  ]
  for (const text of texts) for (const secret of secrets) expect(text).not.toContain(secret)
}

// Live clock: the sandbox's faults are real time, and Retry-After dates are read from the clock.
layer(TestLive, { excludeTestServices: true })("AimairaClient against the sandbox", (it) => {
  describe("the documented convention flow", () => {
    it.effect("finds the learner, picks a sequence, creates and completes a convention, then bills it", () =>
      Effect.gen(function*() {
        const aimaira = yield* client
        const seededConventions = yield* aimaira.list(Entities.Convention)
        const taken = new Set(seededConventions.value.map((c) => c.ApprenantId))

        // Find the learner (by code, as documented) and their inscriptions.
        const learners = yield* Stream.runCollect(aimaira.stream(Entities.Apprenant))
        const learner = Chunk.toReadonlyArray(learners).find((a) => !taken.has(a.Id))!
        const byCode = yield* aimaira.list(Entities.Apprenant, Query.from(Entities.Apprenant).where((f) => f.eq("Code", learner.Code)))
        expect(byCode.value.map((a) => a.Id)).toEqual([learner.Id])
        const inscriptions = yield* aimaira.list(
          Entities.Inscription,
          Query.from(Entities.Inscription).where((f) => f.eq("ApprenantId", learner.Id))
        )
        const inscription = inscriptions.value[0]!
        expect(inscription.DateInscription?.timeZoneId).toBe("Europe/Paris")

        // The eligible sequences: the documented query, with the inscription id as GET body.
        const eligible = yield* aimaira.listAs(
          Entities.InscriptionSequence,
          Schema.Struct({ Sequence: Entities.wire(Entities.Sequence) }),
          Query.from(Entities.InscriptionSequence)
            .expand("Sequence")
            .select("Sequence")
            .where((f) => f.startsWith(f.path("Sequence/TypeSequence/Code"), "S")),
          { body: { Id: inscription.Id } }
        )
        expect(eligible.value).toHaveLength(1)
        const sequence = eligible.value[0]!.Sequence
        expect(sequence).toBeInstanceOf(Entities.Sequence)
        expect(sequence.Debut?.toString()).toBe("2025-09-01")

        // Type and état.
        const types = yield* aimaira.list(Entities.TypeConvention, Query.from(Entities.TypeConvention).where((f) => f.eq("Code", "APP")))
        const app = types.value[0]!
        const etats = yield* Stream.runCollect(aimaira.stream(Entities.EtatConvention, Query.from(Entities.EtatConvention).orderBy("Ordre")))
        const [saisie, , , entr] = Chunk.toReadonlyArray(etats)

        // Create the convention: placed in the first état.
        const convention = yield* aimaira.create(Entities.Convention, {
          ApprenantId: learner.Id,
          TypeConventionId: app.Id,
          SequenceId: sequence.Id
        })
        expect(convention.EtatConventionId).toBe(saisie!.Id)
        expect(convention.Code).toMatch(/^CS\d{8}$/)
        const modes = (yield* (yield* sandbox).state).modesContractuels
        expect(convention.NatureContratId).toBe(modes[0]!.Id)

        // Its own company, and the people of the company.
        const entreprise = yield* aimaira.create(Entities.Entreprise, {
          Nom: "Boulangerie Fontaine SARL",
          SIRET: "73282932000074",
          NAF: "1071C"
        })
        const monsieur = (yield* aimaira.list(Entities.Civilite, Query.from(Entities.Civilite).where((f) => f.eq("Code", "M")))).value[0]!
        const person = (Nom: string, Prenoms: string) =>
          aimaira.create(Entities.Professionnel, {
            CiviliteId: monsieur.Id,
            Nom,
            Prenoms,
            NomUsage: Nom,
            PrenomUsage: Prenoms,
            EntrepriseId: entreprise.Id
          })
        const maitre = yield* person("LATERAL", "Antoine")
        const signataire = yield* person("FONTAINE", "Paul")
        expect(maitre.Id).not.toBe(signataire.Id)

        // Modify the convention with get-modify-write.
        const completed = yield* aimaira.modify(Entities.Convention, convention.Id, (current) =>
          Entities.copy(current, {
            EntrepriseId: entreprise.Id,
            MaitreId: maitre.Id,
            SignataireId: signataire.Id,
            DateDebut: Temporal.PlainDate.from("2025-09-15"),
            DateFin: Temporal.PlainDate.from("2027-08-31"),
            Remuneration: 1261.76
          }))
        expect(completed.EntrepriseId).toBe(entreprise.Id)
        expect(completed.Code).toBe(convention.Code)
        expect(completed.NatureContratId).toBe(convention.NatureContratId)

        // The funding body (OPCO) and the pay.
        const atlas = (yield* aimaira.list(Entities.OrganismeFinanceur, Query.from(Entities.OrganismeFinanceur).where((f) => f.eq("Nom", "ATLAS")))).value[0]!
        const link = yield* aimaira.create(Entities.ConventionOrganismeFinanceur, {
          ConventionId: convention.Id,
          OrganismeFinanceurId: atlas.Id
        })
        expect(link.TypePriseCharge).toBe("Entreprise")
        const pay = yield* aimaira.create(Entities.Remuneration, {
          ConventionId: convention.Id,
          Annee: 1,
          Debut1: Temporal.PlainDate.from("2025-09-15"),
          Fin1: Temporal.PlainDate.from("2026-09-14"),
          Pourcentage1: 53,
          SalaireMin1: "SMIC"
        })
        expect(pay.Debut1?.toString()).toBe("2025-09-15")
        const pays = yield* aimaira.list(Entities.Remuneration, Query.from(Entities.Remuneration).where((f) => f.eq("ConventionId", convention.Id)))
        expect(pays.value.map((p) => p.Id)).toEqual([pay.Id])

        // Move the état on, then build the billing structure.
        const validated = yield* aimaira.modify(Entities.Convention, convention.Id, (c) => Entities.copy(c, { EtatConventionId: entr!.Id }))
        expect(validated.MaitreId).toBe(maitre.Id)
        yield* aimaira.synchronisationAffaire(convention.Id)
        const clients = yield* aimaira.list(
          Entities.Client,
          Query.from(Entities.Client).where((f) => f.eq("ReferenceId", convention.Id)).orderBy("Id")
        )
        expect(clients.value.map((c) => c.Nom)).toEqual(["Boulangerie Fontaine SARL", "ATLAS"])
        expect(clients.value[0]!.EntrepriseId).toBe(entreprise.Id)
        const natures = yield* aimaira.list(Entities.NatureClient)
        expect(natures.value.find((n) => n.Id === clients.value[1]!.NatureClientId)?.Code).toBe("OPCO")

        // Everything the flow set is still there.
        const final = yield* aimaira.get(Entities.Convention, convention.Id)
        expect(final.EtatConventionId).toBe(entr!.Id)
        expect(final.EntrepriseId).toBe(entreprise.Id)
        expect(final.SignataireId).toBe(signataire.Id)
        expect(final.Remuneration).toBe(1261.76)
        expect(final.DateDebut?.toString()).toBe("2025-09-15")
      }))
  })

  describe("full updates", () => {
    it.effect("modify sets one field and leaves every other field of the entity unchanged", () =>
      Effect.gen(function*() {
        const aimaira = yield* client
        const [seeded] = yield* rows("Convention")
        // Give undeclared properties non-default values first, with a raw full update.
        const raw = (yield* call("GET", `/Convention/${seeded!.Id}`)).json
        const { "@odata.context": _, ...body } = raw
        const prepared = yield* call("PUT", `/Convention/${seeded!.Id}`, {
          body: { ...body, NbJourConges: "25", TauxOPCA: 12.5, DiplomeViseId: 7, ClassificationEmploi: "Employé", DateValidationEcole: "2025-09-02T00:00:00+02:00" }
        })
        expect(prepared.status).toBe(200)
        const before = (yield* rows("Convention")).find((c) => c.Id === seeded!.Id)!

        const updated = yield* aimaira.modify(Entities.Convention, Ids.ConventionId.make(seeded!.Id), (c) => Entities.copy(c, { Poste: "Boulanger(ère)" }))
        expect(updated.Poste).toBe("Boulanger(ère)")
        const after = (yield* rows("Convention")).find((c) => c.Id === seeded!.Id)!
        const changed = Object.keys(before).filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]))
        expect(changed).toEqual(["Poste"])
        expect(Object.keys(after)).toEqual(Object.keys(before))
      }))

    it.effect("update writes the whole entity, extra properties included", () =>
      Effect.gen(function*() {
        const aimaira = yield* client
        const entreprise = yield* aimaira.create(Entities.Entreprise, { Nom: "Garage", extra: { NumeroProjet: "P-42" } })
        expect(entreprise.extra.NumeroProjet).toBe("P-42")
        const renamed = yield* aimaira.update(Entities.Entreprise, Entities.copy(entreprise, { Nom: "Garage Durand" }))
        expect(renamed.Nom).toBe("Garage Durand")
        expect(renamed.extra.NumeroProjet).toBe("P-42")
        yield* aimaira.delete(Entities.Entreprise, entreprise.Id)
        const gone = yield* failure(aimaira.get(Entities.Entreprise, entreprise.Id))
        expect(gone._tag).toBe("NotFound")
      }))
  })

  describe("queries", () => {
    it.effect("a name with a quote round-trips through the sandbox's parser", () =>
      Effect.gen(function*() {
        const aimaira = yield* client
        const mail = yield* aimaira.create(Entities.Mail, { Adresse: "ines.dalmeida@example.fr" })
        const civilite = (yield* aimaira.list(Entities.Civilite)).value[0]!
        for (const Nom of ["D'ALMEIDA", "O''NEIL", "L'HERMITE (née D'ARC)"]) {
          const created = yield* aimaira.create(Entities.Apprenant, { Nom, Prenoms: "Inès", CiviliteId: civilite.Id, MailId: mail.Id })
          const found = yield* aimaira.list(Entities.Apprenant, Query.from(Entities.Apprenant).where((f) => f.eq("Nom", Nom)))
          expect(found.value.map((a) => a.Id)).toContain(created.Id)
          expect(new Set(found.value.map((a) => a.Nom))).toEqual(new Set([Nom]))
          const exact = yield* aimaira.list(
            Entities.Apprenant,
            Query.from(Entities.Apprenant).where((f) => f.and(f.eq("Nom", Nom), f.eq("MailId", mail.Id)))
          )
          expect(exact.value.map((a) => a.Id)).toEqual([created.Id])
          const prefix = yield* aimaira.list(Entities.Apprenant, Query.from(Entities.Apprenant).where((f) => f.and(f.startsWith("Nom", Nom.slice(0, 3)), f.eq("Prenoms", "Inès"))))
          expect(prefix.value.map((a) => a.Id)).toContain(created.Id)
        }
        const byMail = yield* aimaira.list(
          Entities.Apprenant,
          Query.from(Entities.Apprenant).where((f) => f.eq(f.path("Mail/Adresse"), "ines.dalmeida@example.fr")).withCount()
        )
        expect(byMail.count).toBe(3)
      }))

    it.effect("stream follows @odata.nextLink page by page; list returns one page", () =>
      Effect.gen(function*() {
        const aimaira = yield* client
        const s = yield* sandbox
        const total = (yield* rows("InscriptionSequence")).length
        const first = yield* aimaira.list(Entities.InscriptionSequence, Query.from(Entities.InscriptionSequence).withCount())
        expect(first.value).toHaveLength(PAGE_SIZE)
        expect(first.count).toBe(total)
        expect(first.next).toMatch(/^\/InscriptionSequence\?/)
        yield* s.requests.clear
        const all = yield* Stream.runCollect(aimaira.stream(Entities.InscriptionSequence))
        expect(Chunk.size(all)).toBe(total)
        expect(new Set(Chunk.toReadonlyArray(all).map((row) => row.Id)).size).toBe(total)
        expect(yield* s.requests.count({ method: "GET", path: "/GraphV1/InscriptionSequence" })).toBe(Math.ceil(total / PAGE_SIZE))
        const limited = yield* Stream.runCollect(aimaira.stream(Entities.InscriptionSequence, Query.from(Entities.InscriptionSequence).top(7).orderBy("Id", "desc")))
        expect(Chunk.toReadonlyArray(limited).map((r) => r.Id)).toEqual([...Chunk.toReadonlyArray(all).map((r) => r.Id)].sort((a, b) => b - a).slice(0, 7))
      }))

    it.effect("streamAs keeps the GET body's restriction on later pages", () =>
      Effect.gen(function*() {
        const aimaira = yield* client
        const [inscription] = yield* rows("Inscription")
        const sequences = yield* Stream.runCollect(
          aimaira.streamAs(
            Entities.InscriptionSequence,
            Schema.Struct({ Id: Schema.Number, SequenceId: Schema.Number }),
            Query.from(Entities.InscriptionSequence).select("Id", "SequenceId").top(2),
            { body: { Id: inscription!.Id } }
          )
        )
        expect(Chunk.size(sequences)).toBe(2)
        const expected = (yield* rows("InscriptionSequence")).filter((r) => r.InscriptionId === inscription!.Id).map((r) => r.Id).slice(0, 2)
        expect(Chunk.toReadonlyArray(sequences).map((r) => r.Id)).toEqual(expected)
      }))
  })

  describe("one entity with its navigation properties, and related collections", () => {
    it.effect("getAs reads the documented Parcours?$expand=ParcoursPeriodes; streamRelated follows Inscription/InscriptionPeriodes over pages", () =>
      Effect.gen(function*() {
        const aimaira = yield* client
        const s = yield* sandbox
        const [voie] = (yield* aimaira.list(Entities.VoieEntree)).value
        expect(voie!.ParcoursId).not.toBeNull()
        const parcours = yield* aimaira.getAs(
          Entities.Parcours,
          voie!.ParcoursId!,
          Schema.Struct({ Nom: Schema.String, ParcoursPeriodes: Schema.Array(Entities.wire(Entities.ParcoursPeriode)) }),
          Query.from(Entities.Parcours).expand("ParcoursPeriodes")
        )
        expect(parcours.ParcoursPeriodes.map((p) => p.LibellePeriode)).toEqual(["2025/2026", "2026/2027", "2027/2028"])
        expect(parcours.ParcoursPeriodes[0]).toBeInstanceOf(Entities.ParcoursPeriode)

        // An inscription linked to more periods than a page holds.
        const [inscription] = (yield* aimaira.list(Entities.Inscription, Query.from(Entities.Inscription).top(1))).value
        const periodes = yield* Stream.runCollect(aimaira.stream(Entities.Periode))
        for (const periode of Chunk.toReadonlyArray(periodes)) {
          yield* aimaira.create(Entities.InscriptionPeriode, { InscriptionId: inscription!.Id, PeriodeId: periode.Id })
        }
        yield* s.requests.clear
        const links = Chunk.toReadonlyArray(
          yield* Stream.runCollect(
            aimaira.streamRelated(Entities.Inscription, inscription!.Id, "InscriptionPeriodes", Entities.InscriptionPeriode)
          )
        )
        const expected = (yield* rows("InscriptionPeriode")).filter((l) => l.InscriptionId === inscription!.Id).map((l) => l.Id)
        expect(expected.length).toBeGreaterThan(PAGE_SIZE)
        expect(links.map((l) => l.Id)).toEqual(expected)
        expect(yield* s.requests.count({ method: "GET", path: `/GraphV1/Inscription/${inscription!.Id}/InscriptionPeriodes` }))
          .toBe(Math.ceil(expected.length / PAGE_SIZE))

        const missing = yield* failure(aimaira.getAs(Entities.Parcours, Ids.ParcoursId.make(1), Schema.Struct({ Id: Schema.Number })))
        expect(missing).toMatchObject({ _tag: "NotFound", status: 404, entitySet: "Parcours", key: 1 })
        const hidden = (yield* rows("Recrutement")).find((r) => r.ReferenceExterneId === 0)!
        expect(yield* failure(aimaira.get(Entities.VoieEntree, Ids.RecrutementId.make(hidden.Id)))).toMatchObject({ _tag: "NotFound" })
        expect(() => aimaira.streamRelated(Entities.Inscription, inscription!.Id, "Periodes/../x", Entities.InscriptionPeriode))
          .toThrow(RangeError)
      }))
  })

  describe("errors", () => {
    it.effect("maps 400, 404 and 409 to Validation, NotFound and Conflict with status and field", () =>
      Effect.gen(function*() {
        const aimaira = yield* client
        const missing = yield* failure(aimaira.get(Entities.Convention, Ids.ConventionId.make(1)))
        expect(missing).toBeInstanceOf(Errors.NotFound)
        expect(missing).toMatchObject({ status: 404, entitySet: "Convention", key: 1 })
        const invalid = yield* failure(aimaira.create(Entities.Convention, { TypeConventionId: Ids.TypeConventionId.make(1) }))
        expect(invalid).toBeInstanceOf(Errors.Validation)
        expect(invalid).toMatchObject({ status: 400, field: "ApprenantId" })
        expect(invalid.message).toMatch(/POST \/GraphV1\/Convention \(400\) \[ApprenantId\]/)
        const [seeded] = yield* rows("Convention")
        const apprenant = (yield* rows("Apprenant")).at(-1)!
        const sequence = (yield* rows("Sequence"))[0]!
        const type = (yield* rows("TypeConvention"))[0]!
        const conflict = yield* failure(
          aimaira.create(Entities.Convention, {
            ApprenantId: Ids.ApprenantId.make(apprenant.Id),
            SequenceId: Ids.SequenceId.make(sequence.Id),
            TypeConventionId: Ids.TypeConventionId.make(type.Id),
            EntrepriseId: Ids.EntrepriseId.make(seeded!.EntrepriseId as number)
          })
        )
        expect(conflict).toBeInstanceOf(Errors.Conflict)
        expect(conflict).toMatchObject({ status: 409, field: "EntrepriseId" })
      }))

    it.effect("maps faults: 5xx to Unavailable, 429 to RateLimited with retryAfterMillis, drops to Transport", () =>
      Effect.gen(function*() {
        const aimaira = yield* client
        const s = yield* sandbox
        yield* s.faults.addText("GET /GraphV1/TypeConvention 503 x1; GET /GraphV1/TypeConvention 502 x1; GET /GraphV1/TypeConvention 429:2 x1")
        const unavailable = yield* failure(aimaira.list(Entities.TypeConvention))
        expect(unavailable).toBeInstanceOf(Errors.Unavailable)
        expect(unavailable).toMatchObject({ status: 503 })
        expect((yield* failure(aimaira.list(Entities.TypeConvention)))).toMatchObject({ _tag: "Unavailable", status: 502 })
        const limited = yield* failure(aimaira.list(Entities.TypeConvention))
        expect(limited).toBeInstanceOf(Errors.RateLimited)
        expect(limited).toMatchObject({ status: 429, retryAfterMillis: 2000 })
        expect((yield* aimaira.list(Entities.TypeConvention)).value).toHaveLength(4)

        yield* s.faults.addText("GET /GraphV1/Civilite drop x1")
        const dropped = yield* failure(aimaira.list(Entities.Civilite))
        expect(dropped).toBeInstanceOf(Errors.Transport)
        expect((dropped as Errors.Transport).status).toBeUndefined()
      }))

    it.effect("drop-after-commit: Transport, although the entity was created (to reconcile by natural key)", () =>
      Effect.gen(function*() {
        const aimaira = yield* client
        const s = yield* sandbox
        yield* s.faults.addText("POST /GraphV1/Entreprise drop-after-commit x1")
        const lost = yield* failure(aimaira.create(Entities.Entreprise, { Nom: "Perdue SAS", SIRET: "40483304800022" }))
        expect(lost._tag).toBe("Transport")
        const found = yield* aimaira.list(Entities.Entreprise, Query.from(Entities.Entreprise).where((f) => f.eq("SIRET", "40483304800022")))
        expect(found.value.map((e) => e.Nom)).toEqual(["Perdue SAS"])
      }))

    it.effect("latency only slows the call; a hang is ended by the caller's timeout", () =>
      Effect.gen(function*() {
        const aimaira = yield* client
        const s = yield* sandbox
        yield* s.faults.addText("GET /GraphV1/NatureClient latency:150 x1; GET /GraphV1/EtatConvention hang x1")
        const [elapsed, natures] = yield* Effect.timed(aimaira.list(Entities.NatureClient))
        expect(Duration.toMillis(elapsed)).toBeGreaterThanOrEqual(140)
        expect(natures.value.length).toBeGreaterThan(0)
        const hung = yield* aimaira.list(Entities.EtatConvention).pipe(Effect.timeout("250 millis"), Effect.option)
        expect(Option.isNone(hung)).toBe(true)
        expect(Chunk.size(yield* Stream.runCollect(aimaira.stream(Entities.EtatConvention)))).toBe(7)
      }))

    it.effect("bad credentials give a clear Unauthorized that never contains the password or the API key", () =>
      Effect.gen(function*() {
        const s = yield* sandbox
        const badPassword = "wrong-Pa55word-7f3c"
        const badKey = "wrong-api-key-91ab"
        const secrets = [
          badPassword,
          badKey,
          Buffer.from(`${s.credentials.username}:${badPassword}`).toString("base64"),
          Redacted.value(s.credentials.password),
          Redacted.value(s.credentials.apiKey)
        ]
        const basic = yield* clientWith(AimairaConfig.basic(s.credentials.username, badPassword))
        const basicError = yield* failure(basic.list(Entities.Civilite))
        expect(basicError).toBeInstanceOf(Errors.Unauthorized)
        expect(basicError).toMatchObject({ status: 401, auth: "Basic" })
        expect(basicError.message).toMatch(/refused the user name and password.*AIMAIRA_USERNAME/)
        secretFree(basicError, secrets)
        const key = yield* clientWith(AimairaConfig.apiKey(badKey))
        const keyError = yield* failure(key.get(Entities.Civilite, Ids.CiviliteId.make(1)))
        expect(keyError).toMatchObject({ _tag: "Unauthorized", status: 401, auth: "ApiKey" })
        secretFree(keyError, secrets)
        const good = yield* clientWith(AimairaConfig.apiKey(s.credentials.apiKey))
        expect((yield* good.list(Entities.Civilite)).value).toHaveLength(3)
      }))

    it.effect("a refused connection is a Transport error without credentials", () =>
      Effect.gen(function*() {
        const password = "pw-not-in-errors-5521"
        const closed = yield* AimairaClient.make({ url: "http://127.0.0.1:1/GraphV1", auth: AimairaConfig.basic("u", password) })
        const error = yield* failure(closed.list(Entities.Civilite))
        expect(error._tag).toBe("Transport")
        expect(error.message).toMatch(/GET \/GraphV1\/Civilite/)
        secretFree(error, [password])
      }))

    it.effect("a response of the wrong shape is a Decode error naming the property", () =>
      Effect.gen(function*() {
        const aimaira = yield* client
        const wrong = yield* failure(aimaira.listAs(Entities.TypeConvention, Schema.Struct({ Code: Schema.Number })))
        expect(wrong).toBeInstanceOf(Errors.Decode)
        expect(wrong).toMatchObject({ status: 200, field: "value.0.Code" })
      }))

    it.effect("refuses plain HTTP to a remote host and empty credentials", () =>
      Effect.gen(function*() {
        const remote = yield* Effect.either(AimairaClient.make({ url: "http://myapi.aimaira.net/GraphV1", auth: AimairaConfig.apiKey("k") }))
        expect(Either.isLeft(remote) && remote.left.message).toMatch(/requires HTTPS/)
        const empty = yield* Effect.either(AimairaClient.make({ url: "https://myapi.aimaira.net", auth: AimairaConfig.basic("u", "") }))
        expect(Either.isLeft(empty) && empty.left).toMatchObject({ _tag: "InvalidConfiguration", field: "auth.password" })
        expect(Either.isLeft(empty) && empty.left.message).toBe("Invalid AIMAIRA configuration (auth.password): must not be empty")
        const bare = yield* AimairaClient.make({ url: "https://myapi.aimaira.net/", auth: AimairaConfig.apiKey("k") })
        expect(bare.apiUrl).toBe("https://myapi.aimaira.net/GraphV1")
      }))

    it.effect("a client from AIMAIRA_URL and AIMAIRA_API_KEY, decoded by the plugin's config schema", () =>
      Effect.gen(function*() {
        const s = yield* sandbox
        const plugin = AimairaPlugin.make()
        const env = { AIMAIRA_URL: s.url, AIMAIRA_API_KEY: Redacted.value(s.credentials.apiKey) }
        const config = Either.getOrThrow(PluginConfig.decode(plugin.config!, Option.getOrThrow(PluginConfig.fromEnv(plugin, env)).input))
        expect(config.url).toBe(s.apiUrl)
        const civilites = yield* Effect.flatMap(client, (c) => c.list(Entities.Civilite)).pipe(
          Effect.provide(AimairaClient.layer(config)),
          Effect.provide(NodeHttpClient.layer)
        )
        expect(civilites.value).toHaveLength(3)
      }))
  })
})

describe("AimairaClient decoding (stubbed HttpClient)", () => {
  layer(Layer.succeed(HttpClient.HttpClient, HttpClient.make((request) =>
    Effect.succeed(HttpClientResponse.fromWeb(request, new Response("<html>Bad Gateway</html>", { status: 200 }))))))((it) => {
    it.effect("a body that is not JSON is a Decode error", () =>
      Effect.gen(function*() {
        const aimaira = yield* AimairaClient.make({ url: "https://myapi.aimaira.net/GraphV1", auth: AimairaConfig.apiKey("k") })
        const error = yield* failure(aimaira.get(Entities.Convention, Ids.ConventionId.make(5)))
        expect(error).toBeInstanceOf(Errors.Decode)
        expect(error.message).toMatch(/not JSON/)
        expect(error).toMatchObject({ status: 200, path: "/GraphV1/Convention/5" })
      }))
  })
})
