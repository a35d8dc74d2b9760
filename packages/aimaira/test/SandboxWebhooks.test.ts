/**
 * The sandbox's webhooks against a real receiver on 127.0.0.1 (token endpoint and webhook URL):
 * signed messages with a bearer token for creates, updates and deletes made through the API;
 * token reuse and renewal after a 401; retries after a 500 (same bytes), bounded attempts;
 * delivery that never holds an API call up; nothing for unwatched types; the documented
 * `GET /GraphV1/Webhook` without secrets; configuration errors; the `webhooks` setting of the
 * plugin sandbox (what `relais sandbox` uses); and `GET /GraphV1/Object/{id}`.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Either from "effect/Either"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { Temporal } from "temporal-polyfill"
import { Webhook } from "../src/index.js"
import { AimairaSandbox } from "../src/sandbox/index.js"
import { collectionNames } from "../src/sandbox/internal/model.js"
import * as Receiver from "./receiver.js"
import { call } from "./support.js"

const PARIS_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}[+-]\d{2}:\d{2}$/

/** A webhook of the receiver, watching `entites`. */
const hookOf = (receiver: Receiver.Receiver, entites: ReadonlyArray<string>, more: Partial<AimairaSandbox.WebhookConfig> = {}) => ({
  Code: "WH_RELAIS",
  Nom: "relais",
  Url: receiver.hookUrl,
  Configuration: JSON.stringify({ Entites: entites }),
  AuthType: 2 as const,
  AuthClientId: receiver.clientId,
  AuthClientSecret: receiver.clientSecret,
  AuthTokenEndpoint: receiver.tokenUrl,
  ...more
})

const fastRetry = { maxAttempts: 5, initialDelayMs: 20, maxDelayMs: 200, timeoutMs: 30_000 }

/** A sandbox (in this process) with a receiver's webhook, and an HTTP client for `call`. */
const setUp = (
  entites: ReadonlyArray<string> = ["core.T_MAIL"],
  options: { readonly retry?: typeof fastRetry; readonly expiresIn?: number; readonly more?: Partial<AimairaSandbox.WebhookConfig> } = {}
) =>
  Effect.gen(function*() {
    const receiver = yield* Receiver.start(options.expiresIn === undefined ? {} : { expiresIn: options.expiresIn })
    const sandbox = yield* AimairaSandbox.make({
      customerName: "ECOLE-TEST",
      webhooks: { retry: options.retry ?? fastRetry, webhooks: [hookOf(receiver, entites, options.more)] }
    })
    return { receiver, sandbox }
  })

/** Runs `call` against this sandbox. */
const api = (sandbox: AimairaSandbox.Service) => (...args: Parameters<typeof call>) =>
  call(...args).pipe(Effect.provideService(AimairaSandbox.AimairaSandbox, sandbox), Effect.provide(NodeHttpClient.layer))

const message = (received: Receiver.Received): Webhook.Message => JSON.parse(received.body)

/** Waits until the sandbox's delivery log satisfies `predicate` (polling its state, not a delay). */
const deliveriesUntil = (sandbox: AimairaSandbox.Service, predicate: (d: ReadonlyArray<AimairaSandbox.WebhookDelivery>) => boolean) =>
  sandbox.webhooks.deliveries.pipe(
    Effect.filterOrFail(predicate, () => "not yet"),
    Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("60 seconds"))),
    Effect.orDie
  )

describe("sandbox webhooks", () => {
  it.scopedLive("sends a signed message with a bearer token for a create, an update and a delete", () =>
    Effect.gen(function*() {
      const { receiver, sandbox } = yield* setUp()
      const call = api(sandbox)
      const created = yield* call("POST", "/Mail", { body: { Adresse: "hook@example.fr" } })
      expect(created.status).toBe(201)
      const id = created.json.Id as number
      const first = yield* Receiver.next(receiver.hooks)
      yield* call("PUT", `/Mail(${id})`, { body: { Adresse: "hook2@example.fr" } })
      const second = yield* Receiver.next(receiver.hooks)
      expect((yield* call("DELETE", `/Mail(${id})`)).status).toBe(204)
      const third = yield* Receiver.next(receiver.hooks)

      for (const received of [first, second, third]) {
        expect(received.status).toBe(200)
        expect(received.headers.authorization).toBe("Bearer token-1")
        expect(received.headers["content-type"]).toMatch(/^application\/json/)
        const sent = message(received)
        expect(Object.keys(sent)).toEqual(["CustomerName", "Date", "Hash", "ObjectId", "ObjectType", "TriggerName"])
        expect(sent).toMatchObject({ CustomerName: "ECOLE-TEST", ObjectId: id, ObjectType: "core.T_MAIL", TriggerName: "relais" })
        expect(Webhook.verify(sent)).toBe(true)
        // Paris local time with its offset, seven fractional digits, as in the documentation.
        expect(sent.Date).toMatch(PARIS_DATE)
        const zoned = Temporal.Instant.from(sent.Date).toZonedDateTimeISO("Europe/Paris")
        expect(sent.Date.slice(-6)).toBe(zoned.offset)
        // What relais serve does with it: the plugin's receive accepts it.
        expect(Either.isRight(Webhook.receive(received.body, { customerName: "ECOLE-TEST" }))).toBe(true)
      }
      // One token, reused for the three messages; asked for as RFC 6749 §4.4 says.
      expect(receiver.issued).toEqual(["token-1"])
      const token = yield* Receiver.next(receiver.tokens, "token request")
      expect(token.body).toBe("grant_type=client_credentials")
      expect(token.status).toBe(200)
    }))

  it.scopedLive("asks for a new token when the last one expires", () =>
    Effect.gen(function*() {
      const { receiver, sandbox } = yield* setUp(["core.T_MAIL"], { expiresIn: 1 })
      const call = api(sandbox)
      yield* call("POST", "/Mail", { body: { Adresse: "a@example.fr" } })
      expect((yield* Receiver.next(receiver.hooks)).headers.authorization).toBe("Bearer token-1")
      // expires_in 1 s, renewed 5 s early: each message gets a fresh token.
      yield* call("POST", "/Mail", { body: { Adresse: "b@example.fr" } })
      expect((yield* Receiver.next(receiver.hooks)).headers.authorization).toBe("Bearer token-2")
    }))

  it.scopedLive("asks for a new token when the webhook URL answers 401 to a reused one", () =>
    Effect.gen(function*() {
      const { receiver, sandbox } = yield* setUp()
      const call = api(sandbox)
      yield* call("POST", "/Mail", { body: { Adresse: "a@example.fr" } })
      expect((yield* Receiver.next(receiver.hooks)).headers.authorization).toBe("Bearer token-1")
      receiver.revoked.add("token-1")
      const created = yield* call("POST", "/Mail", { body: { Adresse: "b@example.fr" } })
      const refused = yield* Receiver.next(receiver.hooks)
      expect([refused.status, refused.headers.authorization]).toEqual([401, "Bearer token-1"])
      const resent = yield* Receiver.next(receiver.hooks)
      expect([resent.status, resent.headers.authorization]).toEqual([200, "Bearer token-2"])
      expect(resent.body).toBe(refused.body)
      expect(message(resent).ObjectId).toBe(created.json.Id)
    }))

  it.scopedLive("retries after a 500 with the same message, then goes on in order", () =>
    Effect.gen(function*() {
      const { receiver, sandbox } = yield* setUp()
      const call = api(sandbox)
      receiver.script.push(500)
      const a = yield* call("POST", "/Mail", { body: { Adresse: "a@example.fr" } })
      const b = yield* call("POST", "/Mail", { body: { Adresse: "b@example.fr" } })
      const failed = yield* Receiver.next(receiver.hooks)
      const retried = yield* Receiver.next(receiver.hooks)
      const after = yield* Receiver.next(receiver.hooks)
      expect(failed.status).toBe(500)
      expect(retried.status).toBe(200)
      expect(retried.body).toBe(failed.body)
      expect(message(retried).ObjectId).toBe(a.json.Id)
      expect(message(after).ObjectId).toBe(b.json.Id)
      const log = yield* deliveriesUntil(sandbox, (d) => d.length === 2 && d.every((x) => x.outcome === "delivered"))
      expect(log.map((d) => [d.message.ObjectId, d.attempts, d.outcome])).toEqual([
        [a.json.Id, 2, "delivered"],
        [b.json.Id, 1, "delivered"]
      ])
    }))

  it.scopedLive("gives a message up after the configured attempts, and delivers the next one", () =>
    Effect.gen(function*() {
      const { receiver, sandbox } = yield* setUp(["core.T_MAIL"], { retry: { ...fastRetry, maxAttempts: 2 } })
      const call = api(sandbox)
      receiver.script.push(503, 503)
      const a = yield* call("POST", "/Mail", { body: { Adresse: "a@example.fr" } })
      const b = yield* call("POST", "/Mail", { body: { Adresse: "b@example.fr" } })
      const statuses = [yield* Receiver.next(receiver.hooks), yield* Receiver.next(receiver.hooks), yield* Receiver.next(receiver.hooks)]
      expect(statuses.map((r) => [message(r).ObjectId, r.status])).toEqual([[a.json.Id, 503], [a.json.Id, 503], [b.json.Id, 200]])
      const log = yield* deliveriesUntil(sandbox, (d) => d.length === 2 && d.every((x) => x.outcome !== "pending"))
      expect(log.map((d) => [d.attempts, d.outcome, d.lastError])).toEqual([[2, "failed", "webhook URL: HTTP 503"], [1, "delivered", undefined]])
    }))

  it.scopedLive("retries when the receiver cannot be reached", () =>
    Effect.gen(function*() {
      const { receiver, sandbox } = yield* setUp(["core.T_MAIL"], { retry: { ...fastRetry, maxAttempts: 2 }, more: { Url: "http://127.0.0.1:1/hooks" } })
      yield* api(sandbox)("POST", "/Mail", { body: { Adresse: "a@example.fr" } })
      const [delivery] = yield* deliveriesUntil(sandbox, (d) => d.length === 1 && d[0]!.outcome === "failed")
      expect(delivery!.attempts).toBe(2)
      expect(delivery!.lastError).toMatch(/^webhook URL: /)
      expect(receiver.issued.length).toBe(1)
    }))

  it.scopedLive("never holds an API call up while a delivery waits", () =>
    Effect.gen(function*() {
      const { receiver, sandbox } = yield* setUp()
      const call = api(sandbox)
      const hold = yield* Deferred.make<void>()
      receiver.hold = hold
      yield* call("POST", "/Mail", { body: { Adresse: "a@example.fr" } })
      // The receiver is holding the first message (it has not answered): the API still answers.
      yield* deliveriesUntil(sandbox, (d) => d.length === 1 && d[0]!.attempts === 1)
      const second = yield* call("POST", "/Mail", { body: { Adresse: "b@example.fr" } })
      expect(second.status).toBe(201)
      receiver.hold = undefined
      yield* Deferred.succeed(hold, undefined)
      expect((yield* Receiver.next(receiver.hooks)).status).toBe(200)
      expect(message(yield* Receiver.next(receiver.hooks)).ObjectId).toBe(second.json.Id)
    }))

  it.scopedLive("sends nothing for the entity types a webhook does not watch", () =>
    Effect.gen(function*() {
      const { receiver, sandbox } = yield* setUp(["entreprise.T_ENTREPRISE"])
      const call = api(sandbox)
      // A Mail first (not watched), then an Entreprise (watched): the first message is the Entreprise's.
      yield* call("POST", "/Mail", { body: { Adresse: "a@example.fr" } })
      const entreprise = yield* call("POST", "/Entreprise", { body: { Nom: "ACME" } })
      const received = message(yield* Receiver.next(receiver.hooks))
      expect([received.ObjectType, received.ObjectId]).toEqual(["entreprise.T_ENTREPRISE", entreprise.json.Id])
      // A refused write changes nothing, and sends nothing either.
      expect((yield* call("POST", "/Entreprise", { body: { Nom: 3 } })).status).toBe(400)
      const other = yield* call("POST", "/Entreprise", { body: { Nom: "ACME 2" } })
      expect(message(yield* Receiver.next(receiver.hooks)).ObjectId).toBe(other.json.Id)
      const log = yield* sandbox.webhooks.deliveries
      expect(log.map((d) => d.message.ObjectType)).toEqual(["entreprise.T_ENTREPRISE", "entreprise.T_ENTREPRISE"])
    }))

  it.scopedLive("an inactive webhook or one without authentication", () =>
    Effect.gen(function*() {
      const receiver = yield* Receiver.start()
      const sandbox = yield* AimairaSandbox.make({
        webhooks: [
          { ...hookOf(receiver, ["core.T_MAIL"]), Code: "OFF", Actif: false },
          { Code: "OPEN", Nom: "open", Url: `${receiver.url}/hooks`, Entites: ["core.T_MAIL"], AuthType: 0 }
        ]
      })
      receiver.issued.push("unused")
      const created = yield* api(sandbox)("POST", "/Mail", { body: { Adresse: "a@example.fr" } })
      const received = yield* Receiver.next(receiver.hooks)
      // No token: the receiver answers 401, and nothing came from the inactive webhook.
      expect(received.headers.authorization).toBeUndefined()
      expect(message(received)).toMatchObject({ ObjectId: created.json.Id, CustomerName: "SANDBOX", TriggerName: "open" })
      const log = yield* deliveriesUntil(sandbox, (d) => d.length === 1)
      expect(log[0]!.webhook).toBe("OPEN")
    }))

  it.scopedLive("lists the webhooks as the documentation shows them, never the secret", () =>
    Effect.gen(function*() {
      const { receiver, sandbox } = yield* setUp(["core.T_MAIL", "entreprise.T_ENTREPRISE"])
      const listed = yield* api(sandbox)("GET", "/Webhook")
      expect(listed.status).toBe(200)
      expect(listed.json).toEqual({
        "@odata.context": `${sandbox.apiUrl}/$metadata#Webhook/$entity`,
        value: [{
          Id: 1,
          Code: "WH_RELAIS",
          Nom: "relais",
          Actif: true,
          Url: receiver.hookUrl,
          Configuration: "{\"Entites\":[\"core.T_MAIL\",\"entreprise.T_ENTREPRISE\"]}",
          AuthType: 2,
          AuthClientId: receiver.clientId,
          AuthTokenEndpoint: receiver.tokenUrl
        }]
      })
      expect(listed.text).not.toContain(receiver.clientSecret)
      expect((yield* api(sandbox)("GET", "/Webhook", { auth: "none" })).status).toBe(401)
      expect((yield* api(sandbox)("POST", "/Webhook", { body: {} })).status).toBe(405)
      const admin = yield* api(sandbox)("GET", `${sandbox.url}/__sandbox/webhooks`)
      expect(admin.json).toMatchObject({ customerName: "ECOLE-TEST", retry: fastRetry, deliveries: [] })
      expect(admin.text).not.toContain(receiver.clientSecret)
    }))

  it.scopedLive("is configured with PUT /__sandbox/webhooks; a wrong configuration is refused and says why", () =>
    Effect.gen(function*() {
      const receiver = yield* Receiver.start()
      const sandbox = yield* AimairaSandbox.make()
      const call = api(sandbox)
      expect((yield* call("GET", "/Webhook")).json.value).toEqual([])
      const put = (body: unknown) => call("PUT", `${sandbox.url}/__sandbox/webhooks`, { body })
      const typo = yield* put({ webhooks: [hookOf(receiver, ["core.T_MAILS"])] })
      expect(typo.status).toBe(400)
      expect(typo.json.error.message).toBe(
        "Invalid webhook configuration: webhooks.0.Entites: 0: unknown legacy entity name \"core.T_MAILS\" (did you mean \"core.T_MAIL\"?)"
      )
      const unknown = yield* put([hookOf(receiver, ["recrutement.T_CANDIDAT"])])
      expect(unknown.json.error.message).toContain("the sandbox has no entity type \"recrutement.T_CANDIDAT\"; it sends messages for core.T_MAIL")
      const noSecret = yield* put([{ ...hookOf(receiver, ["core.T_MAIL"]), AuthClientSecret: undefined }])
      expect(noSecret.json.error.message).toContain("webhooks.0.AuthClientSecret: AuthType 2 needs the client secret")
      const basic = yield* put([{ ...hookOf(receiver, ["core.T_MAIL"]), AuthType: 1 }])
      expect(basic.json.error.message).toBe(
        "Invalid webhook configuration: webhooks.0.AuthType: expected 0 (no authentication) or 2 (OAuth client credentials), got 1: 1 (Basic) is not simulated"
      )
      const extra = yield* put({ webhooks: [], colour: "blue" })
      expect(extra.json.error.message).toContain("colour")
      for (const refusal of [typo, unknown, noSecret, basic, extra]) expect(refusal.text).not.toContain(receiver.clientSecret)

      const ok = yield* put({ customerName: "ECOLE-2", retry: fastRetry, webhooks: [hookOf(receiver, ["core.T_MAIL"])] })
      expect(ok.status).toBe(200)
      const created = yield* call("POST", "/Mail", { body: { Adresse: "a@example.fr" } })
      expect(message(yield* Receiver.next(receiver.hooks))).toMatchObject({ CustomerName: "ECOLE-2", ObjectId: created.json.Id })
      // Replaced by nothing: no more messages.
      expect((yield* put([])).status).toBe(200)
      yield* call("POST", "/Mail", { body: { Adresse: "b@example.fr" } })
      expect((yield* sandbox.webhooks.deliveries).length).toBe(1)
    }))

  it.scopedLive("the plugin sandbox reads its webhooks from the file of the webhooks setting (relais sandbox)", () =>
    Effect.gen(function*() {
      const receiver = yield* Receiver.start()
      const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "aimaira-webhooks-"))
      const file = NodePath.join(dir, "webhooks.json")
      NodeFs.writeFileSync(file, JSON.stringify({ retry: fastRetry, webhooks: [hookOf(receiver, ["core.T_MAIL"])] }))
      const running = yield* AimairaSandbox.pluginSandbox.start({
        faults: [],
        settings: { webhooks: file, "customer-name": "CAMPUS-LOCAL" }
      })
      expect(running.summary).toBe(`webhooks: WH_RELAIS -> ${receiver.hookUrl}`)
      const sandbox = {
        apiUrl: `${running.url}/GraphV1`,
        credentials: AimairaSandbox.defaultCredentials
      } as AimairaSandbox.Service
      const created = yield* api(sandbox)("POST", "/Mail", { body: { Adresse: "a@example.fr" } })
      const received = message(yield* Receiver.next(receiver.hooks))
      expect(received).toMatchObject({ CustomerName: "CAMPUS-LOCAL", ObjectId: created.json.Id })
      expect(Webhook.verify(received)).toBe(true)

      // A wrong file: a typed error that names it and never shows the secret.
      NodeFs.writeFileSync(file, JSON.stringify({ webhooks: [{ ...hookOf(receiver, ["core.T_MAIL"]), Url: "ftp://x" }] }))
      const error = yield* Effect.flip(AimairaSandbox.pluginSandbox.start({ faults: [], settings: { webhooks: file } }))
      expect(error.message).toBe(
        `Invalid AIMAIRA sandbox webhook configuration: ${file}: webhooks.0.Url: expected an http(s) URL, got "ftp://x"`
      )
      const missing = yield* Effect.flip(AimairaSandbox.pluginSandbox.start({ faults: [], settings: { webhooks: NodePath.join(dir, "none.json") } }))
      expect(missing.message).toContain("cannot read the webhooks file")
      expect(missing.message).toContain("ENOENT")
      NodeFs.rmSync(dir, { recursive: true, force: true })
    }))
})

describe("GET /GraphV1/Object/{id}", () => {
  it.scopedLive("tells the type and dates of an entity, seeded, created, modified and deleted", () =>
    Effect.gen(function*() {
      const sandbox = yield* AimairaSandbox.make()
      const call = api(sandbox)
      const state = yield* sandbox.state
      const seeded = state.collections.Entreprise![0]!
      const object = yield* call("GET", `/Object/${seeded.Id}`)
      expect(object.json).toEqual({
        "@odata.context": `${sandbox.apiUrl}/$metadata#Object/$entity`,
        Id: seeded.Id,
        Nom: seeded.Nom,
        Code: seeded.Code,
        DateCreation: "2024-01-08T09:00:00+01:00",
        DateModification: "2024-01-08T09:00:00+01:00",
        DateSuppression: null,
        Actif: true,
        Type: "entreprise.T_ENTREPRISE"
      })
      const created = yield* call("POST", "/Mail", { body: { Adresse: "o@example.fr", Code: "C1" } })
      const id = created.json.Id as number
      const fresh = (yield* call("GET", `/Object(${id})`)).json
      expect(fresh).toMatchObject({ Id: id, Code: "C1", Actif: true, DateSuppression: null, Type: "core.T_MAIL" })
      expect(fresh.DateModification).toBe(fresh.DateCreation)
      yield* Effect.sleep("5 millis") // two writes in the same millisecond would have the same date
      yield* call("PUT", `/Mail(${id})`, { body: { Adresse: "o2@example.fr", Code: "C2" } })
      const modified = (yield* call("GET", `/Object/${id}`)).json
      expect(modified.DateCreation).toBe(fresh.DateCreation)
      expect(Temporal.Instant.compare(Temporal.Instant.from(modified.DateModification), Temporal.Instant.from(fresh.DateCreation))).toBe(1)
      expect(modified.Code).toBe("C2")
      yield* call("DELETE", `/Mail(${id})`)
      const deleted = (yield* call("GET", `/Object/${id}`)).json
      expect(deleted).toMatchObject({ Id: id, Actif: false, Code: "C2", DateCreation: fresh.DateCreation, Type: "core.T_MAIL" })
      expect(deleted.DateSuppression).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}$/)
      expect((yield* call("GET", `/Mail(${id})`)).status).toBe(404)

      expect((yield* call("GET", "/Object/999999999")).status).toBe(404)
      expect((yield* call("GET", "/Object/abc")).status).toBe(400)
      expect((yield* call("DELETE", `/Object/${seeded.Id}`)).status).toBe(405)
      expect((yield* call("GET", `/Object/${seeded.Id}`, { auth: "none" })).status).toBe(401)
    }))

  it.scopedLive("keeps the dates in the state file", () =>
    Effect.gen(function*() {
      const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "aimaira-object-"))
      const stateFile = NodePath.join(dir, "state.json")
      const id = yield* Effect.scoped(Effect.gen(function*() {
        const sandbox = yield* AimairaSandbox.make({ stateFile })
        const created = yield* api(sandbox)("POST", "/Mail", { body: { Adresse: "kept@example.fr" } })
        yield* api(sandbox)("DELETE", `/Mail(${created.json.Id})`)
        return created.json.Id as number
      }))
      const again = yield* AimairaSandbox.make({ stateFile })
      const object = (yield* api(again)("GET", `/Object/${id}`)).json
      expect(object).toMatchObject({ Id: id, Actif: false, Type: "core.T_MAIL" })
      NodeFs.rmSync(dir, { recursive: true, force: true })
    }))

  it("every collection of the sandbox has a legacy name", () => {
    for (const collection of collectionNames) expect([collection, Webhook.legacyNameOf(collection)]).toEqual([collection, expect.any(String)])
  })
})
