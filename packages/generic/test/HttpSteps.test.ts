/**
 * `http/request` through the engine, against real servers on 127.0.0.1: success and headers,
 * path parameters and query, expected and unexpected statuses, Retry-After, 5xx retried then
 * failing, timeouts, garbage JSON, the response schema, the size cap, paths that escape the base
 * URL, unknown connections, credentials that never show, and a POST whose answer is lost.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import { Engine, PluginConfig, Redactor, RetryPolicy, type Run, RunStore, Step, Workflow } from "@relais/core"
import { Duration, Effect, Layer, Schema } from "effect"
import { HttpConfig, HttpConnections, HttpSteps } from "../src/index.js"
import * as Server from "./support/server.js"

const TOKEN = "canary-7f3a9c2e-TOKEN"
const PASSWORD = "canary-basic-PASS-91"
const basic = Buffer.from(`relais:${PASSWORD}`).toString("base64")

/** Quick retries: the tests are about which failures are retried, not about the backoff. */
const quick = RetryPolicy.merge(HttpSteps.defaultRetry, { initialDelay: 10, maxDelay: 50, jitter: false })

/**
 * A server, and the http plugin's services pointed at it (`crm`: bearer; `payroll`: basic;
 * `esign`: an API key, a tiny size cap and a short timeout), on an engine in memory.
 */
const setup = Effect.gen(function*() {
  const server = yield* Server.start
  const config = Schema.decodeUnknownSync(HttpConfig.Config)({
    connections: {
      crm: { url: `${server.url}/api/v2/`, auth: { bearer: TOKEN }, headers: { "X-Tenant": "cfa-paris" } },
      payroll: { url: `${server.url}/payroll`, auth: { basic: { username: "relais", password: PASSWORD } } },
      esign: {
        url: server.url,
        auth: { apiKey: { header: "X-Api-Key", value: TOKEN } },
        maxResponseBytes: 1024,
        timeout: "300ms"
      }
    }
  })
  // What the host does with every plugin's configuration; the layer adds the derived forms.
  const redactor = Redactor.make(PluginConfig.secretsOf(config) as ReadonlyArray<any>)
  const redactorLayer = Layer.succeed(Redactor.Redactor, redactor)
  const context = yield* Layer.build(
    Layer.mergeAll(
      HttpConnections.layer(config).pipe(Layer.provide(NodeHttpClient.layerUndici)),
      Engine.layerMemory()
    ).pipe(Layer.provide(redactorLayer))
  )
  /** Run one `http/request` with this `with` (as a workflow file gives it) in a run of its own. */
  const run = (input: Record<string, unknown>, retry: RetryPolicy.RetryPolicy = quick) =>
    Effect.gen(function*() {
      const decoded = yield* Step.decodeInput(HttpSteps.request, "call", input)
      const workflow = Workflow.make({
        name: "call",
        input: Schema.Struct({}),
        output: Schema.Unknown,
        run: () => Workflow.step(HttpSteps.request, decoded, { id: "call", retry })
      })
      const record = yield* Engine.run(workflow, {})
      const events = (yield* Effect.flatMap(RunStore.RunStore, (store) => store.events(record.id))).map((e) => e.event)
      return { record, events }
    }).pipe(Effect.provide(context))
  return { server, run, redactor }
})

const ofTag = <T extends Run.RunEvent["_tag"]>(events: ReadonlyArray<Run.RunEvent>, tag: T) =>
  events.filter((e): e is Extract<Run.RunEvent, { _tag: T }> => e._tag === tag)

const inputIssues = (value: unknown) =>
  Effect.flip(Step.decodeInput(HttpSteps.request, "call", value)).pipe(
    Effect.map((e) => e.issues.map((i) => `${i.location}: ${i.message}`).join("\n"))
  )

describe("http/request: answers", () => {
  it.scopedLive("GET: JSON out, credentials and connection headers in, a safe subset of the answer's headers", () =>
    Effect.gen(function*() {
      const { run, server } = yield* setup
      server.handle((_, response) =>
        Server.json(response, 200, { id: 7, name: "Ada" }, { etag: "\"v3\"", "set-cookie": "session=abc", "x-internal": "1" })
      )
      const { record } = yield* run({ connection: "crm", path: "/learners/7" })
      expect(record.status).toBe("succeeded")
      expect(record.output).toMatchObject({ status: 200, body: { id: 7, name: "Ada" } })
      const output = record.output as HttpSteps.RequestOutput
      expect(output.headers).toMatchObject({ "content-type": "application/json", etag: "\"v3\"" })
      expect(Object.keys(output.headers)).not.toContain("set-cookie")
      expect(Object.keys(output.headers)).not.toContain("x-internal")
      const [request] = server.received
      expect(request).toMatchObject({ method: "GET", url: "/api/v2/learners/7" })
      expect(request!.headers.authorization).toBe(`Bearer ${TOKEN}`)
      expect(request!.headers["x-tenant"]).toBe("cfa-paris")
      expect(request!.headers.accept).toBe("application/json")
    }))

  it.scopedLive("path parameters are one encoded segment each; query lists repeat, nulls are left out; JSON body", () =>
    Effect.gen(function*() {
      const { run, server } = yield* setup
      server.handle((request, response) => Server.json(response, 201, { got: JSON.parse(request.body) }))
      const { record } = yield* run({
        connection: "crm",
        method: "POST",
        path: "/schools/{school}/learners",
        params: { school: "a/../b c" },
        query: { tag: ["x", "y"], page: 2, skip: null },
        body: { name: "Ada", tags: [1, 2] },
        headers: { "X-Trace": "t-1" }
      })
      expect(record.status).toBe("succeeded")
      expect(record.output).toMatchObject({ status: 201, body: { got: { name: "Ada", tags: [1, 2] } } })
      const [request] = server.received
      expect(request!.url).toBe("/api/v2/schools/a%2F..%2Fb%20c/learners?tag=x&tag=y&page=2")
      expect(request!.headers["content-type"]).toBe("application/json")
      expect(request!.headers["x-trace"]).toBe("t-1")
    }))

  it.scopedLive("an expected non-2xx status is a success; text and empty answers", () =>
    Effect.gen(function*() {
      const { run, server } = yield* setup
      server.handle((request, response) => {
        if (request.url.endsWith("/missing")) return Server.json(response, 404, { error: "no such learner" })
        if (request.url.endsWith("/text")) {
          response.writeHead(200, { "content-type": "text/plain; charset=utf-8" })
          return response.end("pong")
        }
        response.writeHead(204)
        response.end()
      })
      const missing = yield* run({ connection: "crm", path: "/missing", expect: [200, 404] })
      expect(missing.record.output).toMatchObject({ status: 404, body: { error: "no such learner" } })
      const text = yield* run({ connection: "crm", path: "/text" })
      expect(text.record.output).toMatchObject({ status: 200, body: "pong" })
      const empty = yield* run({ connection: "crm", method: "DELETE", path: "/x" })
      expect(empty.record.output).toMatchObject({ status: 204, body: null })
    }))

  it.scopedLive("an unexpected status fails at once (not retried) with the status and an excerpt of the body", () =>
    Effect.gen(function*() {
      const { run, server } = yield* setup
      server.handle((_, response) => Server.json(response, 409, { error: "already exists", detail: "x".repeat(2000) }))
      const { events, record } = yield* run({ connection: "crm", method: "PUT", path: "/learners/7", body: {} })
      expect(record.status).toBe("failed")
      expect(record.failure?.reason).toBe("non_retryable")
      expect(record.failure?.error).toMatchObject({ _tag: "UnexpectedStatus", status: 409 })
      const message = record.failure!.error.message
      expect(message).toContain("PUT /learners/7 on connection \"crm\" answered HTTP 409 (expected 2xx)")
      expect(message).toContain("{\"error\":\"already exists\"")
      expect(message.length).toBeLessThan(700)
      expect(ofTag(events, "AttemptFailed")).toHaveLength(1)
      expect(server.received).toHaveLength(1)
    }))
})

describe("http/request: retries", () => {
  it.scopedLive("429 with Retry-After: waits at least what the server asked, then succeeds", () =>
    Effect.gen(function*() {
      const { run, server } = yield* setup
      server.handle((_, response, count) =>
        count === 1
          ? Server.json(response, 429, { error: "slow down" }, { "retry-after": "1" })
          : Server.json(response, 200, { ok: true })
      )
      const { events, record } = yield* run({ connection: "crm", path: "/busy" })
      expect(record.status).toBe("succeeded")
      expect(ofTag(events, "AttemptFailed")[0]!.error).toMatchObject({ _tag: "UnexpectedStatus", status: 429, retryAfterMillis: 1000 })
      expect(ofTag(events, "RetryScheduled")[0]!.delayMillis).toBe(1000)
      const [first, second] = server.received
      // The backoff alone is 10 ms: the wait is the server's.
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(950)
    }))

  it.scopedLive("500 every time: retried up to the policy's attempts, then fails (exhausted)", () =>
    Effect.gen(function*() {
      const { run, server } = yield* setup
      server.handle((_, response) => Server.json(response, 500, { error: "boom" }))
      const { record } = yield* run({ connection: "crm", path: "/down" })
      expect(record.status).toBe("failed")
      expect(record.failure?.reason).toBe("exhausted")
      expect(record.failure?.error).toMatchObject({ _tag: "UnexpectedStatus", status: 500 })
      expect(server.count("/api/v2/down")).toBe(HttpSteps.defaultRetry.maxAttempts)
    }))

  it.scopedLive("a GET that does not answer in the connection's timeout is a Transport timeout, retried", () =>
    Effect.gen(function*() {
      const { run, server } = yield* setup
      server.handle(() => {/* never answers */})
      const { record } = yield* run({ connection: "esign", path: "/slow" }, RetryPolicy.merge(quick, { maxAttempts: 2 }))
      expect(record.status).toBe("failed")
      expect(record.failure?.reason).toBe("exhausted")
      expect(record.failure?.error).toMatchObject({ _tag: "Transport" })
      expect(record.failure?.error.message).toContain("no complete answer within")
      expect(server.count("/slow")).toBe(2)
    }))

  it.scopedLive("a refused connection is retried (the request never left)", () =>
    Effect.gen(function*() {
      // A port that was just freed: nothing listens there.
      const url = yield* Effect.scoped(Effect.map(Server.start, (server) => server.url))
      const config = Schema.decodeUnknownSync(HttpConfig.Config)({ connections: { gone: { url } } })
      const context = yield* Layer.build(
        Layer.mergeAll(HttpConnections.layer(config).pipe(Layer.provide(NodeHttpClient.layerUndici)), Engine.layerMemory())
          .pipe(Layer.provide(Redactor.layer))
      )
      const workflow = Workflow.make({
        name: "gone",
        input: Schema.Struct({}),
        output: Schema.Unknown,
        run: () =>
          Workflow.step(
            HttpSteps.request,
            Schema.decodeUnknownSync(HttpSteps.RequestInput)({ connection: "gone", method: "POST", body: {} }),
            { id: "call", retry: quick }
          )
      })
      const record = yield* Engine.run(workflow, {}).pipe(Effect.provide(context))
      expect(record.status).toBe("failed")
      expect(record.failure?.reason).toBe("exhausted")
      expect(record.failure?.error).toMatchObject({ _tag: "Transport" })
      expect(record.failure?.error.message).toContain("refused")
    }))
})

describe("http/request: non-idempotent requests", () => {
  it.scopedLive("a POST whose answer is lost is not sent again: OutcomeUnknown, one request", () =>
    Effect.gen(function*() {
      const { run, server } = yield* setup
      server.handle((_, response) => response.socket?.destroy())
      const { record } = yield* run({ connection: "crm", method: "POST", path: "/orders", body: { n: 1 } })
      expect(record.status).toBe("failed")
      expect(record.failure?.reason).toBe("non_retryable")
      expect(record.failure?.error._tag).toBe("OutcomeUnknown")
      expect(record.failure?.error.message).toContain("may have been processed")
      expect(record.failure?.error.message).toContain("idempotencyKey: true")
      expect(server.count("/api/v2/orders")).toBe(1)
    }))

  it.scopedLive("a POST cut by its attempt timeout is not sent again by the next attempt (its mark is journaled)", () =>
    Effect.gen(function*() {
      const { server } = yield* setup
      server.handle(() => {/* never answers */})
      const context = yield* Layer.build(
        Layer.mergeAll(
          HttpConnections.layer(Schema.decodeUnknownSync(HttpConfig.Config)({ connections: { crm: { url: server.url } } }))
            .pipe(Layer.provide(NodeHttpClient.layerUndici)),
          Engine.layerMemory()
        ).pipe(Layer.provide(Redactor.layer))
      )
      const workflow = Workflow.make({
        name: "cut",
        input: Schema.Struct({}),
        output: Schema.Unknown,
        run: () =>
          Workflow.step(
            HttpSteps.request,
            Schema.decodeUnknownSync(HttpSteps.RequestInput)({ connection: "crm", method: "POST", path: "/orders", body: {} }),
            // The engine cuts the attempt long before the connection's own 30 s timeout.
            { id: "call", retry: quick, timeout: Duration.millis(300) }
          )
      })
      const record = yield* Engine.run(workflow, {}).pipe(Effect.provide(context))
      const events = (yield* Effect.flatMap(RunStore.RunStore, (store) => store.events(record.id)).pipe(Effect.provide(context)))
        .map((e) => e.event)
      expect(ofTag(events, "AttemptFailed").map((e) => e.error._tag)).toEqual(["StepTimeout", "OutcomeUnknown"])
      expect(record.failure?.reason).toBe("non_retryable")
      expect(record.failure?.error.message).toContain("an earlier attempt (attempt 1")
      expect(server.count("/orders")).toBe(1)
    }))

  it.scopedLive("the same GET is asked again", () =>
    Effect.gen(function*() {
      const { run, server } = yield* setup
      server.handle((_, response, count) => (count === 1 ? response.socket?.destroy() : Server.json(response, 200, [])))
      const { record } = yield* run({ connection: "crm", path: "/orders" })
      expect(record.status).toBe("succeeded")
      expect(server.count("/api/v2/orders")).toBe(2)
    }))

  it.scopedLive("with idempotencyKey, a lost POST is retried with the same key", () =>
    Effect.gen(function*() {
      const { run, server } = yield* setup
      server.handle((_, response, count) => (count === 1 ? response.socket?.destroy() : Server.json(response, 201, { id: 1 })))
      const { record } = yield* run({ connection: "crm", method: "POST", path: "/orders", body: {}, idempotencyKey: true })
      expect(record.status).toBe("succeeded")
      const keys = server.received.map((r) => r.headers["idempotency-key"])
      expect(keys).toHaveLength(2)
      expect(keys[0]).toMatch(/^relais-[0-9a-f]{16}$/)
      expect(keys[1]).toBe(keys[0])
    }))

  it.scopedLive("a POST answered 503 is retried: the service said it did nothing", () =>
    Effect.gen(function*() {
      const { run, server } = yield* setup
      server.handle((_, response, count) => (count === 1 ? Server.json(response, 503, {}) : Server.json(response, 201, { id: 2 })))
      const { record } = yield* run({ connection: "crm", method: "POST", path: "/orders", body: {} })
      expect(record.status).toBe("succeeded")
      expect(server.count("/api/v2/orders")).toBe(2)
    }))

  it("declares itself non-idempotent (a POST is not)", () => {
    expect(HttpSteps.request.idempotent).toBe(false)
    expect([...HttpConnections.idempotentMethods].sort()).toEqual(["DELETE", "GET", "HEAD", "PUT"])
  })
})

describe("http/request: answers that are refused", () => {
  it.scopedLive("garbage JSON is an InvalidResponse, not retried", () =>
    Effect.gen(function*() {
      const { run, server } = yield* setup
      server.handle((_, response) => {
        response.writeHead(200, { "content-type": "application/json" })
        response.end("{\"id\": 7, oops")
      })
      const { record } = yield* run({ connection: "crm", path: "/learners/7" })
      expect(record.status).toBe("failed")
      expect(record.failure?.reason).toBe("non_retryable")
      expect(record.failure?.error).toMatchObject({ _tag: "InvalidResponse" })
      expect(record.failure?.error.message).toContain("is not valid JSON")
      expect(record.failure?.error.message).toContain("{\"id\": 7, oops")
      expect(server.received).toHaveLength(1)
    }))

  it.scopedLive("an answer that does not match the response schema is an InvalidResponse naming where", () =>
    Effect.gen(function*() {
      const { run, server } = yield* setup
      server.handle((_, response) => Server.json(response, 200, { items: [{ id: 1 }, { id: "2" }], total: 2 }))
      const response = {
        type: "object",
        required: ["items", "next"],
        properties: {
          items: { type: "array", items: { type: "object", properties: { id: { type: "integer" } } } },
          next: { type: "string" }
        }
      }
      const { record } = yield* run({ connection: "crm", path: "/learners", response })
      expect(record.failure?.error).toMatchObject({ _tag: "InvalidResponse" })
      expect(record.failure?.error.message).toContain("next: is missing")
      expect(record.failure?.error.message).toContain("items[1].id: expected integer, got a string")
      server.handle((_, response) => Server.json(response, 200, { items: [{ id: 1 }], next: "b" }))
      const ok = yield* run({ connection: "crm", path: "/learners", response })
      expect(ok.record.status).toBe("succeeded")
    }))

  it.scopedLive("an answer over the connection's size cap is refused, announced or streamed", () =>
    Effect.gen(function*() {
      const { run, server } = yield* setup
      server.handle((request, response) => {
        if (request.url === "/announced") return Server.json(response, 200, { blob: "x".repeat(5000) })
        response.writeHead(200, { "content-type": "application/json" })
        response.write("[")
        for (let i = 0; i < 100; i++) response.write(`"${"y".repeat(100)}",`)
        response.end("1]")
      })
      const announced = yield* run({ connection: "esign", path: "/announced" })
      expect(announced.record.failure?.error).toMatchObject({ _tag: "ResponseTooLarge" })
      expect(announced.record.failure?.error.message).toContain("Content-Length announces")
      const streamed = yield* run({ connection: "esign", path: "/streamed" })
      expect(streamed.record.failure?.error).toMatchObject({ _tag: "ResponseTooLarge" })
      expect(streamed.record.failure?.error.message).toContain("limit of 1 KiB")
      expect(streamed.record.failure?.reason).toBe("non_retryable")
    }))
})

describe("http/request: requests that are refused before anything is sent", () => {
  it.effect("paths that leave the base URL, and absolute or scheme-relative URLs", () =>
    Effect.gen(function*() {
      expect(yield* inputIssues({ connection: "crm", path: "../admin" })).toContain("climbs above the connection's base URL")
      expect(yield* inputIssues({ connection: "crm", path: "/a/../../admin" })).toContain("climbs above")
      expect(yield* inputIssues({ connection: "crm", path: "/%2e%2e/admin" })).toContain("climbs above")
      expect(yield* inputIssues({ connection: "crm", path: "https://evil.example/x" })).toContain("is an absolute URL")
      expect(yield* inputIssues({ connection: "crm", path: "//evil.example/x" })).toContain("starts with //")
      expect(yield* inputIssues({ connection: "crm", path: "\\\\evil.example\\x" })).toContain("backslash")
      expect(yield* inputIssues({ connection: "crm", path: "/x?admin=1" })).toContain("put query parameters in query")
      expect(yield* inputIssues({ connection: "crm", path: "/{id}" })).toContain("give id in params")
      expect(yield* inputIssues({ connection: "crm", path: "/x", params: { id: 1 } })).toContain("no {id} placeholder")
      expect(yield* inputIssues({ connection: "crm", body: { a: 1 } })).toContain("a GET request carries no body")
      expect(yield* inputIssues({ connection: "crm", headers: { Authorization: "Bearer x" } })).toContain(
        "credentials come from the connection's auth"
      )
      expect(yield* inputIssues({ connection: "crm", expect: [] })).toContain("expect")
      // A path inside the base is fine, `..` included.
      expect((yield* Step.decodeInput(HttpSteps.request, "s", { connection: "crm", path: "a/../b" })).path).toBe("a/../b")
    }))

  it.scopedLive("a parameter that is . or .., and the API key's header set by a step, are refused; nothing is sent", () =>
    Effect.gen(function*() {
      const { run, server } = yield* setup
      const dots = yield* run({ connection: "crm", path: "/learners/{id}", params: { id: ".." } })
      expect(dots.record.failure?.error).toMatchObject({ _tag: "InvalidRequest" })
      expect(dots.record.failure?.error.message).toContain("params.id is \"..\"")
      const key = yield* run({ connection: "esign", path: "/x", headers: { "x-api-key": "mine" } })
      expect(key.record.failure?.error.message).toContain("x-api-key carries the connection's credentials")
      expect(key.record.failure?.reason).toBe("non_retryable")
      expect(server.received).toHaveLength(0)
    }))

  it.scopedLive("an unknown connection is refused with the declared names and a suggestion", () =>
    Effect.gen(function*() {
      const { run, server } = yield* setup
      const { record } = yield* run({ connection: "crmm", path: "/x" })
      expect(record.status).toBe("failed")
      expect(record.failure?.reason).toBe("non_retryable")
      expect(record.failure?.error.message).toBe(
        "http/request: no connection named \"crmm\" (declared: crm, esign, payroll). Did you mean \"crm\"? " +
          "A flow can only call the connections of its profile's http section."
      )
      expect(server.received).toHaveLength(0)
    }))
})

describe("http/request: secrets", () => {
  it.scopedLive("credentials echoed by a server never appear in outputs, errors, events or the run record", () =>
    Effect.gen(function*() {
      const { redactor, run, server } = yield* setup
      server.handle((request, response) => {
        const echo = { authorization: request.headers.authorization, key: request.headers["x-api-key"], note: `saw ${basic}` }
        if (request.url.endsWith("/denied")) return Server.json(response, 401, echo)
        return Server.json(response, 200, echo, { location: `/x?token=${TOKEN}`, "x-echo": TOKEN })
      })
      const results = [
        yield* run({ connection: "crm", path: "/echo" }),
        yield* run({ connection: "crm", path: "/denied" }),
        yield* run({ connection: "payroll", path: "/denied" }),
        yield* run({ connection: "payroll", path: "/echo" }),
        yield* run({ connection: "esign", path: "/denied" })
      ]
      // The requests did carry them.
      expect(server.received.map((r) => r.headers.authorization ?? r.headers["x-api-key"])).toEqual([
        `Bearer ${TOKEN}`,
        `Bearer ${TOKEN}`,
        `Basic ${basic}`,
        `Basic ${basic}`,
        TOKEN
      ])
      const everything = JSON.stringify(results)
      for (const secret of [TOKEN, PASSWORD, basic, `relais:${PASSWORD}`]) expect(everything).not.toContain(secret)
      expect(everything).toContain(Redactor.mask)
      expect(results[1]!.record.failure?.error.message).toContain("answered HTTP 401")
      expect(redactor.redactText(`Basic ${basic}`)).toBe(`Basic ${Redactor.mask}`)
    }))
})

describe("http/request: schemas", () => {
  it("its with and output render as JSON Schema (the response fragment is recursive)", () => {
    const { input, output } = Step.jsonSchemas(HttpSteps.request)
    const text = JSON.stringify(input)
    expect(text).toContain("\"connection\"")
    expect(text).toContain("JsonSchemaFragment")
    expect(JSON.stringify(output)).toContain("\"status\"")
    expect((input as { "x-relais-rules"?: Array<unknown> })["x-relais-rules"]).toHaveLength(2)
  })
})
