import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it, layer } from "@effect/vitest"
import { PluginConfig } from "@relais/core"
import * as HttpBody from "@relais/core/HttpBody"
import { SandboxServer } from "@relais/sandbox-kit"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Temporal } from "temporal-polyfill"
import { CampusSkillsClient, CampusSkillsPlugin, Contract, Errors } from "../src/index.js"
import { CampusSkillsSandbox } from "../src/sandbox/index.js"
import { wire } from "./fixtures.js"
import { hugeBodyServer } from "./servers.js"

const contract = (n: number, overrides: Record<string, unknown> = {}) =>
  Schema.decodeUnknownSync(Contract.Contract)(wire(n, overrides))

const codes = (contracts: ReadonlyArray<{ readonly codeContrat: string }>) => contracts.map((c) => c.codeContrat)

/** Runs a client call on the live clock, so its timeout is real time. */
const live = <A, E>(effect: Effect.Effect<A, E>) => Effect.withClock(effect, Clock.make())

const SandboxLive = CampusSkillsSandbox.layer({ integrationDelay: { listCalls: 1 } })
const ClientLive = Layer.unwrapEffect(
  Effect.map(CampusSkillsSandbox.CampusSkillsSandbox, (sandbox) =>
    CampusSkillsClient.layer({ url: sandbox.url, token: sandbox.token, timeout: Duration.seconds(1) }))
)
const TestLive = ClientLive.pipe(
  Layer.provideMerge(SandboxLive),
  Layer.provideMerge(NodeHttpClient.layerUndici)
)

const setup = Effect.gen(function*() {
  const sandbox = yield* CampusSkillsSandbox.CampusSkillsSandbox
  yield* sandbox.reset
  const client = yield* CampusSkillsClient.CampusSkillsClient
  return { client, sandbox }
})

layer(TestLive)("CampusSkillsClient: routes", (it) => {
  it.effect("test answers the school's name", () =>
    Effect.gen(function*() {
      const { client } = yield* setup
      const answer = yield* client.test
      expect(answer).toBeInstanceOf(Contract.TestResponse)
      expect(answer.name).toBe(CampusSkillsSandbox.defaultSchoolName)
    }))

  it.effect("syncV1 sends the list; a later snapshot archives and warns", () =>
    Effect.gen(function*() {
      const { client, sandbox } = yield* setup
      const first = yield* client.syncV1([contract(1), contract(2)])
      expect(first.total).toBe(2)
      expect(codes(first.contrats)).toEqual(["C1", "C2"])
      const second = yield* client.syncV1([contract(2)])
      expect(second.warning).toContain("C1")
      expect((yield* sandbox.state).archived.map((c) => c.codeContrat)).toEqual(["C1"])
    }))

  it.effect("syncV1 with an invalid batch fails with InvalidRequest naming the contracts", () =>
    Effect.gen(function*() {
      const { client, sandbox } = yield* setup
      const error = yield* Effect.flip(client.syncV1([contract(1), contract(2, { codeApprenant: "MA1" })]))
      expect(error._tag).toBe("InvalidRequest")
      if (error._tag !== "InvalidRequest") return
      expect(error.status).toBe(400)
      expect(error.invalidContrats?.[0]?.reasons[0]).toMatchObject({
        rule: "person-code-conflict",
        field: "codeApprenant",
        otherContrat: "C1"
      })
      expect(error.message).toContain(`C2: codeApprenant "MA1" is also used as codeMaitreApprentissage`)
      expect((yield* sandbox.state).transmitted).toEqual([])
    }))

  it.effect("syncV2 reports valid and invalid contracts", () =>
    Effect.gen(function*() {
      const { client } = yield* setup
      const answer = yield* client.syncV2([contract(1), contract(2, { nomSite: "Rennes Nord" })])
      expect(answer.success).toBe(false)
      expect(codes(answer.validContrats)).toEqual(["C1"])
      expect(answer.validContrats[0]).toBeInstanceOf(Contract.TransmittedContract)
      expect(answer.invalidContrats[0]?.reasons[0]).toBeInstanceOf(Contract.Violation)
      expect(answer.invalidContrats[0]?.reasons[0]).toMatchObject({ rule: "code-name-conflict", field: "nomSite" })
    }))

  it.effect("syncChanges merges, diff simulates", () =>
    Effect.gen(function*() {
      const { client } = yield* setup
      yield* client.syncV2([contract(1), contract(2), contract(3)])
      const diff = yield* client.diff([contract(1), contract(2, { nomEntreprise: "X" }), contract(4)])
      expect([codes(diff.same), codes(diff.updated), codes(diff.added), codes(diff.removed)]).toEqual([
        ["C1"],
        ["C2"],
        ["C4"],
        ["C3"]
      ])
      const changes = yield* client.syncChanges(
        Contract.Changes.make({ added: [contract(4)], updated: [], removed: [Contract.CodeContrat.make("C3")] })
      )
      expect(changes.success).toBe(true)
      const page = yield* client.listTransmitted()
      expect(codes(page.contrats)).toEqual(["C1", "C2", "C4"])
    }))

  it.effect("lists integrated and transmitted contracts by page, and streams them all", () =>
    Effect.gen(function*() {
      const { client, sandbox } = yield* setup
      yield* client.syncV2(Array.from({ length: 25 }, (_, i) => contract(i + 1)))
      const page = yield* client.listTransmitted({ page: 2, limit: 10 })
      expect(page.total).toBe(25)
      expect(codes(page.contrats)).toEqual(Array.from({ length: 10 }, (_, i) => `C${i + 11}`))
      // integration waits for one list call here
      expect((yield* client.listIntegrated()).total).toBe(0)
      yield* sandbox.requests.clear
      const all = yield* Stream.runCollect(client.integrated({ pageSize: 10 }))
      expect(Chunk.size(all)).toBe(25)
      expect(yield* sandbox.requests.count({ path: "/api/sync/v1/contrats" })).toBe(3)
      const transmitted = yield* Stream.runCollect(client.transmitted({ pageSize: 25 }))
      expect(Chunk.size(transmitted)).toBe(25)
      expect(yield* sandbox.requests.count({ path: "/api/sync/v1/contrats-get-all" })).toBe(1)
      const none = yield* client.listTransmitted({ page: 9, limit: 10 })
      expect(none.contrats).toEqual([])
    }))

  it.effect("arguments that do not encode give InvalidInput, and nothing is sent", () =>
    Effect.gen(function*() {
      const { client, sandbox } = yield* setup
      const notAContract = { ...wire(1), dateDebut: "01/09/2025" } as unknown as Contract.Contract
      const error = yield* Effect.flip(client.syncV2([notAContract]))
      expect(error).toMatchObject({ _tag: "InvalidInput", method: "POST", path: "/api/sync/v2/contrats" })
      expect(yield* sandbox.requests.count()).toBe(0)
    }))

  it.effect("resetSync deletes every contract, transmitted and integrated", () =>
    Effect.gen(function*() {
      const { client } = yield* setup
      yield* client.syncV2([contract(1)])
      yield* client.listIntegrated() // integrated after one list call (this layer's delay)
      expect((yield* client.listIntegrated()).total).toBe(1)
      yield* client.resetSync
      expect((yield* client.listTransmitted()).total).toBe(0)
      expect((yield* client.listIntegrated()).total).toBe(0)
      expect(codes((yield* client.diff([contract(1)])).added)).toEqual(["C1"])
    }))

  it.effect("dates round-trip through the service: leap day, end of month", () =>
    Effect.gen(function*() {
      const { client } = yield* setup
      yield* client.syncV2([
        contract(1, { dateDebut: "29/02/2024", dateFin: "31/01/2026" }),
        contract(2, { dateDebut: "30/04/2025", dateFin: "31/12/2025" })
      ])
      const [first, second] = (yield* client.listTransmitted()).contrats
      expect(first?.dateDebut?.equals(Temporal.PlainDate.from("2024-02-29"))).toBe(true)
      expect(first?.dateFin?.toString()).toBe("2026-01-31")
      expect(second?.dateDebut?.toString()).toBe("2025-04-30")
      // a leap day in a non-leap year never leaves the client
      expect(() => contract(3, { dateDebut: "29/02/2025" })).toThrow(/29\/02\/2025" is not a date that exists/)
    }))
})

layer(TestLive)("CampusSkillsClient: faults", (it) => {
  it.effect("429 gives RateLimited with retryAfterMillis; nothing is retried", () =>
    Effect.gen(function*() {
      const { client, sandbox } = yield* setup
      yield* sandbox.faults.addText("POST /api/sync/v2/contrats 429:2 x1")
      const error = yield* Effect.flip(client.syncV2([contract(1)]))
      expect(error).toBeInstanceOf(Errors.RateLimited)
      expect(error).toMatchObject({ status: 429, retryAfterMillis: 2000, method: "POST", path: "/api/sync/v2/contrats" })
      expect(yield* sandbox.requests.count()).toBe(1)
    }))

  it.effect("5xx gives Unavailable with its status", () =>
    Effect.gen(function*() {
      const { client, sandbox } = yield* setup
      yield* sandbox.faults.addText("GET /api/sync/v1/test 503 x1; GET /api/sync/v1/test 502 x1")
      const first = yield* Effect.flip(client.test)
      const second = yield* Effect.flip(client.test)
      expect([first._tag, second._tag]).toEqual(["Unavailable", "Unavailable"])
      expect([(first as Errors.Unavailable).status, (second as Errors.Unavailable).status]).toEqual([503, 502])
      expect((first as Errors.Unavailable).retryAfterMillis).toBeUndefined()
      expect(yield* client.test).toBeInstanceOf(Contract.TestResponse)
    }))

  it.effect("drop gives Transport (reset), nothing committed", () =>
    Effect.gen(function*() {
      const { client, sandbox } = yield* setup
      yield* sandbox.faults.addText("POST /api/sync/v2/contrats drop x1")
      const error = yield* Effect.flip(client.syncV2([contract(1)]))
      expect(error).toBeInstanceOf(Errors.Transport)
      expect(error).toMatchObject({ reason: "reset" })
      expect((yield* sandbox.state).transmitted).toEqual([])
    }))

  it.effect("drop-after-commit gives Transport (reset) while the sync was applied", () =>
    Effect.gen(function*() {
      const { client, sandbox } = yield* setup
      yield* sandbox.faults.addText("POST /api/sync/v2/contrats drop-after-commit x1")
      const error = yield* Effect.flip(client.syncV2([contract(1)]))
      expect(error).toMatchObject({ _tag: "Transport", reason: "reset" })
      expect(error.message).toContain("may or may not have been applied")
      expect((yield* sandbox.state).active.map((c) => c.codeContrat)).toEqual(["C1"])
    }))

  it.effect("hang gives Transport (timeout) after the configured timeout", () =>
    Effect.gen(function*() {
      const { client, sandbox } = yield* setup
      yield* sandbox.faults.addText("GET /api/sync/v1/test hang x1")
      const start = Date.now()
      const error = yield* Effect.flip(live(client.test))
      expect(error).toMatchObject({ _tag: "Transport", reason: "timeout" })
      expect(Date.now() - start).toBeGreaterThanOrEqual(900)
      // The next call answers (x1 is used up). On the test clock its timeout never fires: a
      // loaded machine may make it slow, never a failure.
      expect(yield* client.test).toBeInstanceOf(Contract.TestResponse)
    }))

  it.effect("latency under the timeout is just slower", () =>
    Effect.gen(function*() {
      const { sandbox } = yield* setup
      yield* sandbox.faults.addText("GET /api/sync/v1/test latency:200 x1")
      // A timeout far above the latency, so that a loaded machine cannot push the call over it.
      const client = yield* CampusSkillsClient.make({ url: sandbox.url, token: sandbox.token, timeout: Duration.seconds(60) })
      const [elapsed, response] = yield* live(Effect.timed(client.test))
      expect(response).toBeInstanceOf(Contract.TestResponse)
      expect(Duration.toMillis(elapsed)).toBeGreaterThanOrEqual(190)
    }))
})

layer(TestLive)("CampusSkillsClient: secrets", (it) => {
  it.effect("a bad token gives Unauthorized whose message and encodings never hold the token", () =>
    Effect.gen(function*() {
      const { sandbox } = yield* setup
      const secret = "super-secret-token-5f1c9a"
      const client = yield* CampusSkillsClient.make({ url: sandbox.url, token: Redacted.make(secret) })
      const exit = yield* Effect.exit(client.syncV2([contract(1)]))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = yield* Effect.flip(client.test)
      expect(error).toBeInstanceOf(Errors.Unauthorized)
      expect(error).toMatchObject({ status: 401, reason: "Your token is invalid please contact the administrator" })
      expect(error.message).toContain("Campus Skills refused the token (HTTP 401 on GET /api/sync/v1/test)")
      const renderings = [
        error.message,
        String(error),
        JSON.stringify(error),
        JSON.stringify(Schema.encodeSync(Errors.CampusSkillsError)(error)),
        String(error.stack),
        Exit.isFailure(exit) ? JSON.stringify(exit.cause) : "",
        Exit.isFailure(exit) ? String(exit.cause) : ""
      ]
      for (const text of renderings) expect(text).not.toContain(secret)
    }))

  it.effect("transport errors do not hold the token either", () =>
    Effect.gen(function*() {
      const secret = "another-secret-77"
      // a port nobody listens on: take one, then close it
      const port = yield* Effect.scoped(
        Effect.map(SandboxServer.make({ app: HttpRouter.empty }), (s) => s.port)
      )
      const client = yield* CampusSkillsClient.make({ url: `http://127.0.0.1:${port}`, token: Redacted.make(secret) })
      const error = yield* Effect.flip(client.test)
      expect(error).toMatchObject({ _tag: "Transport", reason: "refused" })
      expect(JSON.stringify(error) + error.message + String(error.stack)).not.toContain(secret)
    }))
})

describe("CampusSkillsClient: garbage answers", () => {
  const garbage = HttpRouter.empty.pipe(
    HttpRouter.get("/api/sync/v1/test", Effect.succeed(HttpServerResponse.text("<html>maintenance</html>"))),
    HttpRouter.get("/api/sync/v1/contrats", Effect.succeed(HttpServerResponse.unsafeJson({ total: "many" }))),
    HttpRouter.get(
      "/api/sync/v1/contrats-get-all",
      Effect.succeed(HttpServerResponse.unsafeJson({ total: 1, contrats: [wire(1, { dateDebut: "31/02/2025" })] }))
    ),
    HttpRouter.post("/api/sync/v1/contrats", Effect.succeed(HttpServerResponse.text("nope", { status: 418 })))
  )

  it.scoped("a body that is not JSON, or not the documented shape, gives Decode", () =>
    Effect.gen(function*() {
      const server = yield* SandboxServer.make({ app: garbage })
      const client = yield* CampusSkillsClient.make({ url: server.url, token: Redacted.make("t") })
      const notJson = yield* Effect.flip(client.test)
      expect(notJson).toMatchObject({ _tag: "Decode", status: 200, path: "/api/sync/v1/test" })
      expect(notJson.message).toContain("not JSON")
      const wrongShape = yield* Effect.flip(client.listIntegrated({ page: 1, limit: 5 }))
      expect(wrongShape).toMatchObject({ _tag: "Decode", path: "/api/sync/v1/contrats?page=1&limit=5" })
      expect(wrongShape.message).toContain("total")
      const badDate = yield* Effect.flip(client.listTransmitted())
      expect(badDate.message).toContain("31/02/2025")
      const teapot = yield* Effect.flip(client.syncV1([contract(1)]))
      expect(teapot).toMatchObject({ _tag: "UnexpectedStatus", status: 418, body: "nope" })
      const missing = yield* Effect.flip(client.diff([contract(1)]))
      expect(missing).toMatchObject({ _tag: "NotFound", status: 404 })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

describe("CampusSkillsClient: response size cap", () => {
  const MiB = 1024 * 1024

  it.scoped("a 600 MB answer stops at the default 16 MiB with a clear error; the process stays up", () =>
    Effect.gen(function*() {
      const server = yield* hugeBodyServer(600 * MiB)
      const client = yield* CampusSkillsClient.make({ url: server.url, token: Redacted.make("t") })
      const error = yield* Effect.flip(client.listTransmitted())
      expect(error).toMatchObject({
        _tag: "ResponseTooLarge",
        responseStatus: 200,
        method: "GET",
        path: "/api/sync/v1/contrats-get-all",
        limit: 16 * MiB,
        announced: false
      })
      if (error._tag !== "ResponseTooLarge") return
      expect(error.received).toBeGreaterThan(16 * MiB)
      expect(error.received).toBeLessThan(17 * MiB)
      expect(error.message).toBe(
        "Campus Skills: the answer to GET /api/sync/v1/contrats-get-all (HTTP 200) is larger than 16 MiB; relais " +
          `stopped reading at 16 MiB (${HttpBody.formatBytes(error.received)} received). Check the configured URL ` +
          "(CAMPUS_SKILLS_URL: it must point at the Campus Skills application) and the server, or raise the limit " +
          "(CAMPUS_SKILLS_MAX_RESPONSE_BYTES) if such answers are expected."
      )
      // the client hung up: the server could not push the rest of the 600 MB
      expect(server.sentBytes()).toBeLessThan(100 * MiB)
      expect(server.hits).toEqual(["GET /api/sync/v1/contrats-get-all"])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("maxResponseBytes: an announced Content-Length over it is refused unread; error statuses too", () =>
    Effect.gen(function*() {
      const announced = yield* hugeBodyServer(4 * MiB, { announce: true })
      const client = yield* CampusSkillsClient.make({ url: announced.url, token: Redacted.make("t"), maxResponseBytes: MiB })
      const error = yield* Effect.flip(client.test)
      expect(error).toMatchObject({ _tag: "ResponseTooLarge", limit: MiB, announced: true })
      expect(error.message).toContain("its Content-Length announces 4 MiB, so relais did not read it")

      const failing = yield* hugeBodyServer(4 * MiB, { status: 503 })
      const other = yield* CampusSkillsClient.make({ url: failing.url, token: Redacted.make("t"), maxResponseBytes: MiB })
      const refused = yield* Effect.flip(other.syncChanges(Contract.Changes.make({ added: [], updated: [], removed: [] })))
      expect(refused).toMatchObject({ _tag: "ResponseTooLarge", responseStatus: 503, method: "POST", limit: MiB })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("answers under the limit are read as before", () =>
    Effect.gen(function*() {
      const sandbox = yield* CampusSkillsSandbox.make({ contracts: 50 })
      const client = yield* CampusSkillsClient.make({ url: sandbox.url, token: sandbox.token, maxResponseBytes: 64 * 1024 })
      expect((yield* client.listTransmitted()).total).toBe(50)
      const small = yield* CampusSkillsClient.make({ url: sandbox.url, token: sandbox.token, maxResponseBytes: 1024 })
      expect((yield* Effect.flip(small.listTransmitted()))._tag).toBe("ResponseTooLarge")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.effect("refuses a limit that is not a positive number of bytes", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        CampusSkillsClient.make({ url: "https://x.fr", token: Redacted.make("t"), maxResponseBytes: 0 })
      )
      expect(error.message).toBe(
        "Invalid Campus Skills configuration (maxResponseBytes): expected a positive number of bytes, got 0"
      )
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

describe("CampusSkillsClient: construction", () => {
  it.effect("refuses plain HTTP except on loopback hosts", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(CampusSkillsClient.make({ url: "http://app.campus-skills.com", token: Redacted.make("t") }))
      expect(error._tag).toBe("InvalidConfiguration")
      expect(error.message).toBe(
        "Invalid Campus Skills configuration (url): Campus Skills requires HTTPS, got http://app.campus-skills.com/; " +
          "plain http is only allowed for loopback hosts (127.0.0.1, localhost, ::1)"
      )
      yield* CampusSkillsClient.make({ url: "https://app.campus-skills.com", token: Redacted.make("t") })
      yield* CampusSkillsClient.make({ url: "http://localhost:8080", token: Redacted.make("t") })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("a client from CAMPUS_SKILLS_URL and CAMPUS_SKILLS_TOKEN, decoded by the plugin's config schema", () =>
    Effect.gen(function*() {
      const sandbox = yield* CampusSkillsSandbox.make()
      const plugin = CampusSkillsPlugin.make()
      const env = { CAMPUS_SKILLS_URL: `${sandbox.url}/`, CAMPUS_SKILLS_TOKEN: Redacted.value(sandbox.token) }
      const read = yield* PluginConfig.fromEnv(plugin, env)
      const config = Either.getOrThrow(PluginConfig.decode(plugin.config!, read.input))
      expect(config.url).toBe(sandbox.url)
      const answer = yield* Effect.flatMap(CampusSkillsClient.CampusSkillsClient, (c) => c.test).pipe(
        Effect.provide(CampusSkillsClient.layer(config))
      )
      expect(answer.value).toBe("token valid")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
