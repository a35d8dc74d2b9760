import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it, layer } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import { CampusSkillsSandbox } from "../src/sandbox/index.js"
import { wire } from "./fixtures.js"

interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: any
}

/** Raw HTTP against the sandbox: these tests check the wire, not the typed client. */
const api = Effect.gen(function*() {
  const sandbox = yield* CampusSkillsSandbox.CampusSkillsSandbox
  const http = yield* HttpClient.HttpClient
  const send = (request: HttpClientRequest.HttpClientRequest, token: string | null = Redacted.value(sandbox.token)) =>
    Effect.gen(function*() {
      const withAuth = token === null ? request : HttpClientRequest.bearerToken(request, token)
      const response = yield* http.execute(HttpClientRequest.prependUrl(withAuth, sandbox.url))
      const text = yield* response.text
      let body: unknown = text
      try {
        body = JSON.parse(text)
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, headers: response.headers, body } as Answer
    }).pipe(Effect.orDie)
  return {
    sandbox,
    get: (path: string, token?: string | null) => send(HttpClientRequest.get(path), token),
    post: (path: string, body: unknown, token?: string | null) =>
      send(HttpClientRequest.post(path).pipe(HttpClientRequest.bodyUnsafeJson(body)), token),
    postText: (path: string, text: string) =>
      send(HttpClientRequest.post(path).pipe(HttpClientRequest.bodyText(text, "application/json"))),
    del: (path: string, token?: string | null) => send(HttpClientRequest.del(path), token)
  }
})

/** A sandbox shared by a describe block, reset before each test. */
const fresh = Effect.tap(api, ({ sandbox }) => sandbox.reset)

const codes = (contracts: ReadonlyArray<{ codeContrat: string }>) => contracts.map((c) => c.codeContrat)

const sandboxLayer = (options: CampusSkillsSandbox.Options = {}) =>
  Layer.merge(CampusSkillsSandbox.layer(options), NodeHttpClient.layerUndici)

layer(sandboxLayer())("CampusSkillsSandbox: routes", (it) => {
  it.effect("serves on a random loopback port and tests the token", () =>
    Effect.gen(function*() {
      const { get, sandbox } = yield* fresh
      expect(sandbox.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const answer = yield* get("/api/sync/v1/test")
      expect(answer.status).toBe(200)
      expect(answer.body).toEqual({ value: "token valid", name: CampusSkillsSandbox.defaultSchoolName })
    }))

  it.effect("refuses a missing or wrong token with the documented body, on every route", () =>
    Effect.gen(function*() {
      const { del, get, post } = yield* fresh
      const documented = { error: "invalid token", reason: "Your token is invalid please contact the administrator" }
      for (
        const answer of [
          yield* get("/api/sync/v1/test", null),
          yield* get("/api/sync/v1/test", "wrong-token"),
          yield* post("/api/sync/v2/contrats", { contrats: [] }, "wrong-token"),
          yield* get("/api/sync/v1/contrats", null),
          yield* del("/api/sync/v1/contrats", "nope")
        ]
      ) {
        expect(answer.status).toBe(401)
        expect(answer.body).toEqual(documented)
      }
      // the sync state is untouched by refused calls
      const state = yield* (yield* api).sandbox.state
      expect(state.transmitted).toEqual([])
    }))

  it.effect("answers unknown routes with 404", () =>
    Effect.gen(function*() {
      const { get } = yield* fresh
      const answer = yield* get("/api/sync/v1/nope")
      expect(answer.status).toBe(404)
      expect(answer.body).toMatchObject({ error: "Not found" })
    }))

  it.effect("v1 sync stores the contracts and answers total and contrats", () =>
    Effect.gen(function*() {
      const { get, post, sandbox } = yield* fresh
      const answer = yield* post("/api/sync/v1/contrats", { contrats: [wire(1), wire(2)] })
      expect(answer.status).toBe(200)
      expect(answer.body).toMatchObject({ success: true, total: 2 })
      expect(codes(answer.body.contrats)).toEqual(["C1", "C2"])
      expect(answer.body.warning).toBeUndefined()
      const all = yield* get("/api/sync/v1/contrats-get-all")
      expect(all.body.total).toBe(2)
      expect(all.body.contrats[0]).toEqual(wire(1))
      const state = yield* sandbox.state
      expect(state.active.map((c) => c.codeContrat)).toEqual(["C1", "C2"])
    }))

  it.effect("v1 sync accepts a bare array (as on the vendor page) and ccodeContrat (its typo)", () =>
    Effect.gen(function*() {
      const { get, post } = yield* fresh
      const { codeContrat: _, ...rest } = wire(1)
      const answer = yield* post("/api/sync/v1/contrats", [{ ...rest, ccodeContrat: "C1" }])
      expect(answer.status).toBe(200)
      const all = yield* get("/api/sync/v1/contrats-get-all")
      expect(all.body.contrats[0].codeContrat).toBe("C1")
      expect(all.body.contrats[0].ccodeContrat).toBeUndefined()
    }))

  it.effect("v1 accepts contracts without dates (only v2 requires them)", () =>
    Effect.gen(function*() {
      const { post } = yield* fresh
      const { dateDebut: _a, dateFin: _b, ...undated } = wire(1)
      expect((yield* post("/api/sync/v1/contrats", { contrats: [undated] })).status).toBe(200)
      const v2 = yield* post("/api/sync/v2/contrats", { contrats: [undated] })
      expect(v2.body.invalidContrats[0].reasons.map((r: any) => [r.rule, r.field])).toEqual([
        ["required", "dateDebut"],
        ["required", "dateFin"]
      ])
    }))

  it.effect("a snapshot archives the contracts absent from the call (v1 warns)", () =>
    Effect.gen(function*() {
      const { get, post, sandbox } = yield* fresh
      yield* post("/api/sync/v1/contrats", { contrats: [wire(1), wire(2), wire(3)] })
      const answer = yield* post("/api/sync/v1/contrats", { contrats: [wire(2)] })
      expect(answer.body.total).toBe(1)
      expect(answer.body.warning).toContain("2 contract(s) archived")
      expect(answer.body.warning).toContain("C1, C3")
      const all = yield* get("/api/sync/v1/contrats-get-all")
      expect(codes(all.body.contrats)).toEqual(["C2"])
      const integrated = yield* get("/api/sync/v1/contrats")
      expect(codes(integrated.body.contrats)).toEqual(["C2"])
      const state = yield* sandbox.state
      expect(state.archived.map((c) => c.codeContrat)).toEqual(["C1", "C3"])
    }))

  it.effect("v2 snapshot archives too, and an empty list archives everything", () =>
    Effect.gen(function*() {
      const { get, post } = yield* fresh
      const first = yield* post("/api/sync/v2/contrats", { contrats: [wire(1), wire(2)] })
      expect(first.body).toMatchObject({ success: true, invalidContrats: [] })
      expect(codes(first.body.validContrats)).toEqual(["C1", "C2"])
      yield* post("/api/sync/v2/contrats", { contrats: [] })
      expect((yield* get("/api/sync/v1/contrats-get-all")).body).toEqual({ total: 0, contrats: [] })
    }))

  it.effect("an archived contract sent again is active again, and counts as added", () =>
    Effect.gen(function*() {
      const { post } = yield* fresh
      yield* post("/api/sync/v2/contrats", { contrats: [wire(1), wire(2)] })
      yield* post("/api/sync/v2/contrats", { contrats: [wire(1)] })
      const diff = yield* post("/api/sync/v1/contrats-diff", { contrats: [wire(1), wire(2)] })
      expect(codes(diff.body.added)).toEqual(["C2"])
      expect(codes(diff.body.same)).toEqual(["C1"])
    }))

  it.effect("diff reports same, added, updated, removed and changes nothing", () =>
    Effect.gen(function*() {
      const { post, sandbox } = yield* fresh
      yield* post("/api/sync/v1/contrats", { contrats: [wire(1), wire(2), wire(3)] })
      const before = yield* sandbox.state
      const diff = yield* post("/api/sync/v1/contrats-diff", {
        contrats: [wire(1), wire(2, { nomEntreprise: "Renamed" }), wire(4)]
      })
      expect(diff.status).toBe(200)
      expect(codes(diff.body.same)).toEqual(["C1"])
      expect(codes(diff.body.updated)).toEqual(["C2"])
      expect(diff.body.updated[0].nomEntreprise).toBe("Renamed")
      expect(codes(diff.body.added)).toEqual(["C4"])
      expect(codes(diff.body.removed)).toEqual(["C3"])
      expect(diff.body.removed[0]).toEqual(wire(3))
      expect(yield* sandbox.state).toEqual(before)
    }))

  it.effect("v2 changes merge added, updated and removed into what the sandbox holds", () =>
    Effect.gen(function*() {
      const { get, post, sandbox } = yield* fresh
      yield* post("/api/sync/v2/contrats", { contrats: [wire(1), wire(2), wire(3)] })
      const answer = yield* post("/api/sync/v2/contrats/changes", {
        changes: { added: [wire(4)], updated: [wire(2, { nomEntreprise: "Nouvelle" })], removed: ["C3"] }
      })
      expect(answer.status).toBe(200)
      expect(answer.body.success).toBe(true)
      expect(codes(answer.body.validContrats)).toEqual(["C4", "C2"])
      const all = yield* get("/api/sync/v1/contrats-get-all")
      expect(codes(all.body.contrats)).toEqual(["C1", "C2", "C4"])
      expect(all.body.contrats[1].nomEntreprise).toBe("Nouvelle")
      expect((yield* sandbox.state).archived.map((c) => c.codeContrat)).toEqual(["C3"])
      // C1 was not mentioned: kept (unlike a snapshot)
    }))

  it.effect("v2 changes are idempotent: the same call twice leaves the same state", () =>
    Effect.gen(function*() {
      const { post, sandbox } = yield* fresh
      yield* post("/api/sync/v2/contrats", { contrats: [wire(1)] })
      const changes = { changes: { added: [wire(2)], removed: ["C1", "UNKNOWN"] } }
      yield* post("/api/sync/v2/contrats/changes", changes)
      const once = yield* sandbox.state
      const again = yield* post("/api/sync/v2/contrats/changes", changes)
      expect(again.body.success).toBe(true)
      expect(yield* sandbox.state).toEqual(once)
    }))

  it.effect("v2 changes check conflicts against the contracts already held", () =>
    Effect.gen(function*() {
      const { post } = yield* fresh
      yield* post("/api/sync/v2/contrats", { contrats: [wire(1)] })
      const answer = yield* post("/api/sync/v2/contrats/changes", {
        changes: { added: [wire(2, { codeApprenant: "MA1" })] }
      })
      expect(answer.body.success).toBe(false)
      expect(answer.body.invalidContrats).toHaveLength(1)
      expect(answer.body.invalidContrats[0].reasons[0]).toMatchObject({
        rule: "person-code-conflict",
        field: "codeApprenant",
        otherContrat: "C1",
        otherField: "codeMaitreApprentissage"
      })
      expect(answer.body.invalidContrats[0].reasons[0].otherIndex).toBeUndefined()
    }))

  it.effect("v2 changes refuse a contract both changed and removed", () =>
    Effect.gen(function*() {
      const { post } = yield* fresh
      const answer = yield* post("/api/sync/v2/contrats/changes", {
        changes: { added: [wire(1)], removed: ["C1"] }
      })
      expect(answer.body.invalidContrats[0]).toMatchObject({ codeContrat: "C1", index: 0 })
      expect(answer.body.invalidContrats[0].reasons[0].message).toContain("changes.removed")
    }))

  it.effect("DELETE deletes every contract (\"supprimer tous les contrats\"): both lists; what is sent afterwards is new", () =>
    Effect.gen(function*() {
      const { del, get, post, sandbox } = yield* fresh
      yield* post("/api/sync/v1/contrats", { contrats: [wire(1), wire(2), wire(3)] })
      yield* post("/api/sync/v2/contrats/changes", { changes: { removed: ["C3"] } })
      expect(codes((yield* get("/api/sync/v1/contrats")).body.contrats)).toEqual(["C1", "C2"])
      const reset = yield* del("/api/sync/v1/contrats")
      expect(reset.status).toBe(200)
      expect(reset.body).toEqual({ success: true, total: 0, contrats: [] })
      expect((yield* get("/api/sync/v1/contrats-get-all")).body).toEqual({ total: 0, contrats: [] })
      expect((yield* get("/api/sync/v1/contrats")).body).toEqual({ total: 0, contrats: [] })
      const state = yield* sandbox.state
      expect(state.transmitted).toEqual([]) // archived C3 included
      expect(state.integrated).toEqual([])
      const diff = yield* post("/api/sync/v1/contrats-diff", { contrats: [wire(1)] })
      expect(codes(diff.body.added)).toEqual(["C1"])
      expect(diff.body.removed).toEqual([])
      // a snapshot after the reset archives nothing it no longer knows
      const sync = yield* post("/api/sync/v1/contrats", { contrats: [wire(1)] })
      expect(sync.body.warning).toBeUndefined()
      expect(codes((yield* get("/api/sync/v1/contrats")).body.contrats)).toEqual(["C1"])
    }))

  it.effect("paginates both lists with page and limit", () =>
    Effect.gen(function*() {
      const { get, post } = yield* fresh
      yield* post("/api/sync/v1/contrats", { contrats: [1, 2, 3, 4, 5].map((n) => wire(n)) })
      for (const path of ["/api/sync/v1/contrats", "/api/sync/v1/contrats-get-all"]) {
        const p1 = yield* get(`${path}?page=1&limit=2`)
        const p3 = yield* get(`${path}?page=3&limit=2`)
        const p4 = yield* get(`${path}?page=4&limit=2`)
        expect(p1.body.total).toBe(5)
        expect(codes(p1.body.contrats)).toEqual(["C1", "C2"])
        expect(codes(p3.body.contrats)).toEqual(["C5"])
        expect(p4.body).toEqual({ total: 5, contrats: [] })
        expect(codes((yield* get(`${path}?limit=3`)).body.contrats)).toEqual(["C1", "C2", "C3"])
        expect((yield* get(path)).body.contrats).toHaveLength(5)
        for (const bad of ["page=0", "limit=-1", "limit=abc", "page=1.5"]) {
          const answer = yield* get(`${path}?${bad}`)
          expect(answer.status, bad).toBe(400)
          expect(answer.body.error).toBe("Invalid request")
        }
      }
    }))

  it.effect("refuses a malformed body with {error: Invalid request}", () =>
    Effect.gen(function*() {
      const { post, postText, sandbox } = yield* fresh
      const cases = [
        yield* postText("/api/sync/v1/contrats", "{not json"),
        yield* postText("/api/sync/v2/contrats", ""),
        yield* post("/api/sync/v2/contrats", { contracts: [] }),
        yield* post("/api/sync/v1/contrats-diff", 42),
        yield* post("/api/sync/v2/contrats/changes", { added: [] }),
        yield* post("/api/sync/v2/contrats/changes", { changes: { removed: [1] } }),
        yield* post("/api/sync/v2/contrats/changes", { changes: { added: {} } })
      ]
      for (const answer of cases) {
        expect(answer.status).toBe(400)
        expect(answer.body.error).toBe("Invalid request")
        expect(typeof answer.body.reason).toBe("string")
      }
      expect((yield* sandbox.state).transmitted).toEqual([])
    }))
})

layer(sandboxLayer())("CampusSkillsSandbox: validation", (it) => {
  const reasonsOf = (body: any, index: number) =>
    body.invalidContrats.find((i: any) => i.index === index).reasons as Array<Record<string, unknown>>

  it.effect("required fields, e-mail shape and types", () =>
    Effect.gen(function*() {
      const { post } = yield* fresh
      const { nomApprenant: _, ...noName } = wire(1)
      const answer = yield* post("/api/sync/v2/contrats", {
        contrats: [
          noName,
          wire(2, { emailApprenant: "not-an-email", codeGroupe: "  " }),
          wire(3, { codeApprenant: 42 }),
          "a string",
          wire(5, { codeContrat: undefined })
        ]
      })
      expect(answer.body.success).toBe(false)
      expect(answer.body.validContrats).toEqual([])
      expect(reasonsOf(answer.body, 0)).toEqual([
        { rule: "required", field: "nomApprenant", message: "nomApprenant is required" }
      ])
      expect(reasonsOf(answer.body, 1).map((r) => [r.rule, r.field])).toEqual([
        ["required", "codeGroupe"],
        ["email-format", "emailApprenant"]
      ])
      expect(reasonsOf(answer.body, 2)[0]).toMatchObject({ rule: "type", field: "codeApprenant", value: 42 })
      expect(reasonsOf(answer.body, 3)[0]).toMatchObject({ rule: "type", field: "contrat" })
      expect(answer.body.invalidContrats[4]).toMatchObject({ codeContrat: null, index: 4 })
      expect(reasonsOf(answer.body, 4)[0]).toMatchObject({ rule: "required", field: "codeContrat" })
      expect(answer.body.invalidContrats[1].contrat.emailApprenant).toBe("not-an-email")
    }))

  it.effect("dates: DD/MM/YYYY, real calendar days, end after start", () =>
    Effect.gen(function*() {
      const { post } = yield* fresh
      const answer = yield* post("/api/sync/v2/contrats", {
        contrats: [
          wire(1, { dateDebut: "31/02/2025" }),
          wire(2, { dateDebut: "29/02/2025" }),
          wire(3, { dateDebut: "29/02/2024", dateFin: "28/02/2026" }),
          wire(4, { dateDebut: "2025-09-01" }),
          wire(5, { dateDebut: "01/09/2026", dateFin: "30/06/2026" }),
          wire(6, { dateDebut: "01/09/2025", dateFin: "01/09/2025" }),
          wire(7, { dateFin: "31/12/2025" }),
          wire(8, { dateDebut: "1/9/2025" })
        ]
      })
      expect(codes(answer.body.validContrats)).toEqual(["C3", "C7"])
      expect(reasonsOf(answer.body, 0)[0]).toMatchObject({
        rule: "date-format",
        field: "dateDebut",
        value: "31/02/2025",
        message: `dateDebut: "31/02/2025" is not a date that exists in the calendar`
      })
      expect(reasonsOf(answer.body, 1)[0]).toMatchObject({ rule: "date-format", value: "29/02/2025" })
      expect(reasonsOf(answer.body, 3)[0]?.message).toContain("DD/MM/YYYY")
      expect(reasonsOf(answer.body, 4)[0]).toMatchObject({ rule: "date-order", field: "dateFin" })
      expect(reasonsOf(answer.body, 5)[0]).toMatchObject({ rule: "date-order" })
      expect(reasonsOf(answer.body, 7)[0]).toMatchObject({ rule: "date-format" })
    }))

  it.effect("person codes are unique across roles, naming the other contract", () =>
    Effect.gen(function*() {
      const { post } = yield* fresh
      const answer = yield* post("/api/sync/v2/contrats", {
        contrats: [wire(1), wire(2, { codeApprenant: "MA1" }), wire(3, { codePersonnel: "APP3" })]
      })
      // the first use of a code is the reference: C1 stays valid, C2 is refused and names C1
      expect(codes(answer.body.validContrats)).toEqual(["C1"])
      expect(reasonsOf(answer.body, 1)[0]).toEqual({
        rule: "person-code-conflict",
        field: "codeApprenant",
        value: "MA1",
        otherContrat: "C1",
        otherIndex: 0,
        otherField: "codeMaitreApprentissage",
        message: `codeApprenant "MA1" is also used as codeMaitreApprentissage in contract "C1": person codes must be unique across apprenants, maîtres d'apprentissage and tuteurs école`
      })
      // within one contract too: the tuteur école has the apprenant's code
      expect(reasonsOf(answer.body, 2)[0]).toMatchObject({
        rule: "person-code-conflict",
        field: "codePersonnel",
        otherContrat: "C3",
        otherField: "codeApprenant"
      })
    }))

  it.effect("the same person in several contracts is fine; one e-mail per account", () =>
    Effect.gen(function*() {
      const { post } = yield* fresh
      const answer = yield* post("/api/sync/v2/contrats", {
        contrats: [
          wire(1),
          wire(2, { codeMaitreApprentissage: "MA1", emailMaitreApprentissage: "maitre1@entreprise.fr" }), // same master
          wire(3, { emailMaitreApprentissage: "maitre1@entreprise.fr" }), // another master, same e-mail
          wire(4, { emailPersonnel: "autre@ecole.fr" }) // PERS1 with another e-mail
        ]
      })
      expect(codes(answer.body.validContrats)).toEqual(["C1", "C2"])
      expect(reasonsOf(answer.body, 2)).toEqual([expect.objectContaining({
        rule: "email-conflict",
        field: "emailMaitreApprentissage",
        value: "maitre1@entreprise.fr",
        otherContrat: "C1",
        otherField: "emailMaitreApprentissage"
      })])
      expect(reasonsOf(answer.body, 2)[0]?.message).toContain(`also the e-mail of person "MA1"`)
      expect(reasonsOf(answer.body, 3)).toEqual([expect.objectContaining({
        rule: "person-email-conflict",
        field: "emailPersonnel",
        value: "autre@ecole.fr",
        otherContrat: "C1"
      })])
    }))

  it.effect("e-mails compare without case", () =>
    Effect.gen(function*() {
      const { post } = yield* fresh
      const answer = yield* post("/api/sync/v2/contrats", {
        contrats: [wire(1), wire(2, { emailApprenant: "APPRENANT1@mail.fr" })]
      })
      expect(reasonsOf(answer.body, 1)[0]).toMatchObject({ rule: "email-conflict", otherContrat: "C1" })
    }))

  it.effect("code / name pairs map one to one (période, formation, site, année)", () =>
    Effect.gen(function*() {
      const { post } = yield* fresh
      const answer = yield* post("/api/sync/v2/contrats", {
        contrats: [
          wire(1),
          wire(2, { nomSite: "Rennes Centre" }), // one code, two names
          wire(3, { codeFormation: "BTS-MCO" }), // one name, two codes
          wire(4, { codePeriode: "P2026", nomPeriode: "2026/2027" }), // another pair: fine
          wire(5, { codeAnnee: "A2", nomAnnee: "1ère année" })
        ]
      })
      expect(codes(answer.body.validContrats)).toEqual(["C1", "C4"])
      expect(reasonsOf(answer.body, 1)[0]).toMatchObject({
        rule: "code-name-conflict",
        field: "nomSite",
        value: "Rennes Centre",
        otherContrat: "C1"
      })
      expect(reasonsOf(answer.body, 2)[0]).toMatchObject({
        rule: "code-name-conflict",
        field: "codeFormation",
        value: "BTS-MCO",
        otherContrat: "C1"
      })
      expect(reasonsOf(answer.body, 4)[0]).toMatchObject({ field: "codeAnnee", value: "A2" })
    }))

  it.effect("a codeContrat sent twice is refused on both, and codeContrat / ccodeContrat must agree", () =>
    Effect.gen(function*() {
      const { post } = yield* fresh
      const answer = yield* post("/api/sync/v2/contrats", {
        contrats: [wire(1), wire(2, { codeContrat: "C1", codeApprenant: "APP1", emailApprenant: "apprenant1@mail.fr" }), wire(3, { ccodeContrat: "X" })]
      })
      expect(answer.body.validContrats).toEqual([])
      expect(reasonsOf(answer.body, 0)[0]).toMatchObject({ rule: "duplicate-contract", otherIndex: 1 })
      expect(reasonsOf(answer.body, 1)[0]).toMatchObject({ rule: "duplicate-contract", otherIndex: 0 })
      expect(reasonsOf(answer.body, 2)[0]).toMatchObject({ rule: "code-contrat-mismatch" })
    }))

  it.effect("v2 applies the valid contracts; an invalid one already held is kept as it was", () =>
    Effect.gen(function*() {
      const { get, post } = yield* fresh
      yield* post("/api/sync/v2/contrats", { contrats: [wire(1), wire(2), wire(3)] })
      const answer = yield* post("/api/sync/v2/contrats", {
        contrats: [wire(1, { nomEntreprise: "Changée" }), wire(2, { dateFin: "31/02/2026" })]
      })
      expect(codes(answer.body.validContrats)).toEqual(["C1"])
      const all = (yield* get("/api/sync/v1/contrats-get-all")).body.contrats
      expect(codes(all)).toEqual(["C1", "C2"]) // C3 archived, C2 kept unchanged
      expect(all[0].nomEntreprise).toBe("Changée")
      expect(all[1]).toEqual(wire(2))
    }))

  it.effect("v1 refuses the whole batch with 400 and the reasons; nothing is stored or archived", () =>
    Effect.gen(function*() {
      const { post, sandbox } = yield* fresh
      yield* post("/api/sync/v1/contrats", { contrats: [wire(1), wire(2)] })
      const before = yield* sandbox.state
      const answer = yield* post("/api/sync/v1/contrats", { contrats: [wire(3), wire(4, { codePersonnel: "APP3" })] })
      expect(answer.status).toBe(400)
      expect(answer.body.error).toBe("Invalid request")
      expect(answer.body.reason).toContain("nothing was changed")
      expect(answer.body.invalidContrats.map((i: any) => i.codeContrat)).toEqual(["C4"])
      expect(answer.body.invalidContrats).toHaveLength(1)
      expect(reasonsOf(answer.body, 1)[0]).toMatchObject({
        rule: "person-code-conflict",
        field: "codePersonnel",
        otherContrat: "C3"
      })
      expect(yield* sandbox.state).toEqual(before)
      const diff = yield* post("/api/sync/v1/contrats-diff", { contrats: [wire(3, { dateFin: "2026" })] })
      expect(diff.status).toBe(400)
    }))
})

layer(sandboxLayer({ models: [{ codeGroupe: "BTSMCO-*" }, { nomGroupe: "*Licence*" }] }))(
  "CampusSkillsSandbox: integration by model",
  (it) => {
    it.effect("only contracts whose group matches a model are integrated", () =>
      Effect.gen(function*() {
        const { get, post, sandbox } = yield* fresh
        yield* post("/api/sync/v2/contrats", {
          contrats: [
            wire(1),
            wire(2, { codeGroupe: "NDRC-1", nomGroupe: "BTS NDRC" }),
            wire(3, { codeGroupe: "LP-1", nomGroupe: "Licence Pro Commerce" })
          ]
        })
        expect(codes((yield* get("/api/sync/v1/contrats")).body.contrats)).toEqual(["C1", "C3"])
        expect((yield* get("/api/sync/v1/contrats-get-all")).body.total).toBe(3)
        const state = yield* sandbox.state
        expect(state.transmitted.map((c) => [c.codeContrat, c.integration])).toEqual([
          ["C1", "integrated"],
          ["C2", "unmatched"],
          ["C3", "integrated"]
        ])
      }))
  }
)

layer(sandboxLayer({ integrationDelay: { listCalls: 2 } }))("CampusSkillsSandbox: integration after list calls", (it) => {
  it.effect("a contract is integrated after being left out of N list calls", () =>
    Effect.gen(function*() {
      const { get, post } = yield* fresh
      yield* post("/api/sync/v2/contrats", { contrats: [wire(1)] })
      const totals: Array<number> = []
      for (let i = 0; i < 4; i++) totals.push((yield* get("/api/sync/v1/contrats")).body.total)
      expect(totals).toEqual([0, 0, 1, 1])
      // an update of an integrated contract flows through at once
      yield* post("/api/sync/v2/contrats", { contrats: [wire(1, { nomEntreprise: "Maj" })] })
      expect((yield* get("/api/sync/v1/contrats")).body.contrats[0].nomEntreprise).toBe("Maj")
    }))
})

layer(sandboxLayer({ integrationDelay: { millis: 300 } }))("CampusSkillsSandbox: integration after a delay", (it) => {
  it.effect("a contract is integrated once the delay has passed, not before", () =>
    Effect.gen(function*() {
      const { get, post } = yield* fresh
      const posted = Date.now()
      yield* post("/api/sync/v2/contrats", { contrats: [wire(1)] })
      // Poll on the server's own (real) clock until it is integrated: seen no sooner than the
      // delay after the post. A lower bound only, which a loaded machine cannot break (a check
      // that it is not integrated yet right after the post would race the delay).
      yield* get("/api/sync/v1/contrats").pipe(
        Effect.filterOrFail((answer) => answer.body.total === 1, () => "not yet"),
        Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 3000 }),
        Effect.withClock(Clock.make())
      )
      expect(Date.now() - posted).toBeGreaterThanOrEqual(300)
    }))
})

layer(sandboxLayer({ contracts: 2, integration: "never" }))("CampusSkillsSandbox: integration never", (it) => {
  it.effect("no model is configured: contracts are transmitted, never integrated (seeded ones included)", () =>
    Effect.gen(function*() {
      const { get, post, sandbox } = yield* fresh
      expect((yield* get("/api/sync/v1/contrats")).body.total).toBe(0)
      yield* post("/api/sync/v2/contrats/changes", { changes: { added: [wire(1)] } })
      for (let i = 0; i < 3; i++) expect((yield* get("/api/sync/v1/contrats")).body.total).toBe(0)
      expect((yield* get("/api/sync/v1/contrats-get-all")).body.total).toBe(3)
      const state = yield* sandbox.state
      expect(state.transmitted.map((c) => c.integration)).toEqual(["unmatched", "unmatched", "unmatched"])
    }))
})

layer(sandboxLayer({ integration: { delay: "2 seconds" } }))("CampusSkillsSandbox: integration { delay }", (it) => {
  it.effect("a contract is pending, then integrated once the delay has passed", () =>
    Effect.gen(function*() {
      const { get, post, sandbox } = yield* fresh
      yield* post("/api/sync/v2/contrats/changes", { changes: { added: [wire(1)] } })
      expect((yield* get("/api/sync/v1/contrats")).body.total).toBe(0)
      expect((yield* sandbox.state).transmitted.map((c) => c.integration)).toEqual(["pending"])
      // poll on the server's own clock, with a generous overall limit for a loaded machine
      const integrated = yield* get("/api/sync/v1/contrats").pipe(
        Effect.filterOrFail((answer) => answer.body.total === 1, () => "not yet"),
        Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 600 }),
        Effect.withClock(Clock.make())
      )
      expect(codes(integrated.body.contrats)).toEqual(["C1"])
    }))
})

describe("CampusSkillsSandbox.parseIntegration", () => {
  it("reads immediate, never and delays; refuses anything else, saying what it takes", () => {
    const ok = (text: string) => Either.getOrThrow(CampusSkillsSandbox.parseIntegration(text))
    expect(ok("immediate")).toBe("immediate")
    expect(ok(" Never ")).toBe("never")
    const delay = (text: string) => Duration.toMillis((ok(text) as { delay: Duration.Duration }).delay)
    expect(delay("30s")).toBe(30_000)
    expect(delay("500ms")).toBe(500)
    expect(delay("2m")).toBe(120_000)
    expect(delay("2 minutes")).toBe(120_000)
    expect(delay("delay:1.5s")).toBe(1500)
    const bad = CampusSkillsSandbox.parseIntegration("later")
    expect(Either.isLeft(bad) && bad.left.message).toBe(
      `Invalid Campus Skills sandbox options: integration "later" is not one of immediate, never, or a delay such as ` +
        "30s, 500ms, 2m (contracts are integrated that long after they are sent)"
    )
  })
})

layer(
  sandboxLayer({
    contracts: 12,
    seed: 7,
    tokens: ["token-a", Redacted.make("token-b")],
    schoolName: "CFA des Tests",
    faults: ["GET /api/sync/v1/test 503 x1"]
  })
)("CampusSkillsSandbox: options, admin routes, faults", (it) => {
  it.effect("seeds valid, deterministic contracts, integrated from the start", () =>
    Effect.gen(function*() {
      const { sandbox } = yield* fresh
      const state = yield* sandbox.state
      expect(state.active).toHaveLength(12)
      expect(state.integrated).toHaveLength(12)
      expect(state.active[0]?.codeContrat).toBe("CTR-2025-0001")
      const again = yield* Effect.scoped(Effect.flatMap(CampusSkillsSandbox.make({ contracts: 12, seed: 7 }), (s) => s.state))
      expect(again.transmitted).toEqual(state.transmitted)
      const other = yield* Effect.scoped(Effect.flatMap(CampusSkillsSandbox.make({ contracts: 12, seed: 8 }), (s) => s.state))
      expect(other.transmitted).not.toEqual(state.transmitted)
    }))

  it.effect("accepts every configured token and answers the school name", () =>
    Effect.gen(function*() {
      const { get, sandbox } = yield* fresh
      expect(Redacted.value(sandbox.token)).toBe("token-a")
      yield* get("/api/sync/v1/test") // the initial fault
      expect((yield* get("/api/sync/v1/test", "token-b")).body).toEqual({ value: "token valid", name: "CFA des Tests" })
      expect((yield* get("/api/sync/v1/test", CampusSkillsSandbox.defaultToken)).status).toBe(401)
    }))

  it.effect("initial faults apply, and come back on reset with an empty request log", () =>
    Effect.gen(function*() {
      const { get, sandbox } = yield* fresh
      expect((yield* get("/api/sync/v1/test")).status).toBe(503)
      expect((yield* get("/api/sync/v1/test")).status).toBe(200)
      expect(yield* sandbox.requests.count({ path: "/api/sync/v1/test" })).toBe(2)
      yield* sandbox.reset
      expect(yield* sandbox.requests.count()).toBe(0)
      expect((yield* get("/api/sync/v1/test")).status).toBe(503)
    }))

  it.effect("GET /__sandbox/state and POST /__sandbox/reset need no token", () =>
    Effect.gen(function*() {
      const { del, get, post, sandbox } = yield* fresh
      yield* del("/api/sync/v1/contrats")
      expect((yield* sandbox.state).active).toHaveLength(0)
      const state = yield* get("/__sandbox/state", null)
      expect(state.status).toBe(200)
      expect(state.body).toMatchObject({ transmitted: [], integrated: [], integratedListCalls: 0 })
      const reset = yield* post("/__sandbox/reset", {}, null)
      expect(reset.body).toEqual({ reset: true })
      expect((yield* sandbox.state).active).toHaveLength(12)
    }))

  it.effect("faults through the admin route: 429 with Retry-After, drop-after-commit commits", () =>
    Effect.gen(function*() {
      const { post, sandbox } = yield* fresh
      const http = yield* HttpClient.HttpClient
      const added = yield* http.execute(
        HttpClientRequest.post(`${sandbox.url}/__sandbox/faults`).pipe(
          HttpClientRequest.bodyText("POST /api/sync/v2/contrats 429:3 x1; POST /api/sync/v2/contrats drop-after-commit x1")
        )
      )
      expect(added.status).toBe(201)
      const limited = yield* post("/api/sync/v2/contrats", { contrats: [wire(1)] })
      expect(limited.status).toBe(429)
      expect(limited.headers["retry-after"]).toBe("3")
      expect((yield* sandbox.state).active).toHaveLength(12) // not applied
      const dropped = yield* Effect.either(
        http.execute(
          HttpClientRequest.post(`${sandbox.url}/api/sync/v2/contrats`).pipe(
            HttpClientRequest.bearerToken("token-a"),
            HttpClientRequest.bodyUnsafeJson({ contrats: [wire(1)] })
          )
        )
      )
      expect(dropped._tag).toBe("Left")
      expect((yield* sandbox.state).active.map((c) => c.codeContrat)).toEqual(["C1"]) // committed
      const log = yield* sandbox.requests.list({ path: "/api/sync/v2/contrats" })
      expect(log.map((r) => [r.status, r.outcome, r.fault])).toEqual([
        [429, "responded", "rate-limit"],
        [200, "dropped", "drop-after-commit"]
      ])
    }))
})

describe("CampusSkillsSandbox.make", () => {
  it.effect("refuses invalid initial contracts and bad fault text", () =>
    Effect.gen(function*() {
      const bad = yield* Effect.flip(Effect.scoped(CampusSkillsSandbox.make({ contracts: [wire(1, { dateFin: "31/02/2026" })] })))
      expect(bad._tag).toBe("SandboxOptionsError")
      expect(bad.message).toContain("31/02/2026")
      const faults = yield* Effect.flip(Effect.scoped(CampusSkillsSandbox.make({ faults: ["GET /x 418"] })))
      expect(faults.message).toContain("unsupported status 418")
      const noToken = yield* Effect.flip(Effect.scoped(CampusSkillsSandbox.make({ tokens: [] })))
      expect(noToken.message).toContain("token")
      const never = yield* Effect.flip(Effect.scoped(CampusSkillsSandbox.make({ integration: "never", models: [] })))
      expect(never.message).toContain(`integration "never" means that no model is configured`)
      const twice = yield* Effect.flip(
        Effect.scoped(CampusSkillsSandbox.make({ integration: { delay: "1 second" }, integrationDelay: { millis: 5 } }))
      )
      expect(twice.message).toContain("give the integration delay once")
      const negative = yield* Effect.flip(Effect.scoped(CampusSkillsSandbox.make({ integration: { delay: -5 } })))
      expect(negative.message).toContain("is not a finite duration")
    }))
})
