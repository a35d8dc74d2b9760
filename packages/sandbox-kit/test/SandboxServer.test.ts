import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Net from "node:net"
import { Faults, SandboxServer } from "../src/index.js"

/** A tiny API with one piece of state, so a test can see whether a write was committed. */
const makeApp = Effect.gen(function*() {
  const items = yield* Ref.make(0)
  const app = HttpRouter.empty.pipe(
    HttpRouter.get("/items", Effect.map(Ref.get(items), (count) => HttpServerResponse.unsafeJson({ count }))),
    HttpRouter.post(
      "/items",
      Effect.map(Ref.updateAndGet(items, (n) => n + 1), (count) => HttpServerResponse.unsafeJson({ count }, { status: 201 }))
    ),
    HttpRouter.get("/GraphV1/Convention(12)", Effect.succeed(HttpServerResponse.unsafeJson({ Id: 12 }))),
    HttpRouter.get("/boom", Effect.die("handler defect"))
  )
  const admin = HttpRouter.empty.pipe(
    HttpRouter.get("/__sandbox/state", Effect.map(Ref.get(items), (count) => HttpServerResponse.unsafeJson({ count })))
  )
  return { app, admin, items }
})

const start = (faults: ReadonlyArray<string> = []) =>
  Effect.gen(function*() {
    const { admin, app, items } = yield* makeApp
    const server = yield* SandboxServer.make({
      app,
      admin,
      faults: faults.flatMap((text) => Either.getOrThrow(Faults.parse(text)))
    })
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.mapRequest(HttpClientRequest.prependUrl(server.url)))
    return { server, client, items }
  })

const status = (effect: Effect.Effect<{ readonly status: number }, unknown>) => Effect.map(effect, (r) => r.status)

describe("SandboxServer", () => {
  it.scopedLive("serves the app on a random loopback port", () =>
    Effect.gen(function*() {
      const { client, server } = yield* start()
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(server.port).toBeGreaterThan(0)
      const response = yield* client.post("/items")
      expect(response.status).toBe(201)
      expect(yield* response.json).toEqual({ count: 1 })
      expect(yield* status(client.get("/nowhere"))).toBe(404)
      expect(yield* status(client.get("/boom"))).toBe(500)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("answers a status fault without running the handler, `times` times", () =>
    Effect.gen(function*() {
      const { client, items } = yield* start(["POST /items 502 x2"])
      const statuses = [
        yield* status(client.post("/items")),
        yield* status(client.post("/items")),
        yield* status(client.post("/items"))
      ]
      expect(statuses).toEqual([502, 502, 201])
      expect(yield* Ref.get(items)).toBe(1)
      const response = yield* client.get("/items")
      expect(response.status).toBe(200) // GET not affected by a POST rule
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("answers a rate limit with 429 and Retry-After", () =>
    Effect.gen(function*() {
      const { client, server } = yield* start(["GET /items 429:2 x1"])
      const limited = yield* client.get("/items")
      expect(limited.status).toBe(429)
      expect(limited.headers["retry-after"]).toBe("2")
      expect(yield* limited.json).toMatchObject({ error: "Too Many Requests", sandboxFault: "fault-1" })
      expect(yield* status(client.get("/items"))).toBe(200)
      const [entry] = yield* server.faults.list
      expect(entry).toMatchObject({ applied: 1, remaining: 0 })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("delays a request by the latency", () =>
    Effect.gen(function*() {
      const { client, server } = yield* start(["GET /items latency:300 x1"])
      const [slow] = yield* Effect.timed(client.get("/items"))
      expect(yield* status(client.get("/items"))).toBe(200)
      // A delay has a lower bound only: a loaded machine makes anything slower, never faster.
      expect(Duration.toMillis(slow)).toBeGreaterThanOrEqual(290)
      // The second request went through without the latency (x1 is used up): the request log
      // says so, where comparing durations would depend on the machine's load.
      const [first, second] = yield* server.requests.list()
      expect(first).toMatchObject({ fault: "latency", status: 200 })
      expect(first?.durationMs).toBeGreaterThanOrEqual(290)
      expect(second).toMatchObject({ outcome: "responded", status: 200 })
      expect(second?.fault).toBeUndefined()
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("runs on the live clock even under a TestClock", () =>
    Effect.gen(function*() {
      // the client's side uses the TestClock here; only the server sleeps
      const { client, server } = yield* start(["GET /items latency:100 x1"])
      const response = yield* client.get("/items")
      expect(response.status).toBe(200)
      const [record] = yield* server.requests.list()
      expect(record?.durationMs).toBeGreaterThanOrEqual(90)
      expect(new Date(record?.at ?? 0).getFullYear()).toBeGreaterThan(2000)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("skips the first requests with `after`", () =>
    Effect.gen(function*() {
      const { client } = yield* start(["GET /items 503 x1 after 2"])
      const statuses: Array<number> = []
      for (let i = 0; i < 4; i++) statuses.push(yield* status(client.get("/items")))
      expect(statuses).toEqual([200, 200, 503, 200])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("drop resets the connection before the handler runs", () =>
    Effect.gen(function*() {
      const { client, items, server } = yield* start(["POST /items drop x1"])
      const error = yield* Effect.flip(client.post("/items"))
      expect(error._tag).toBe("RequestError")
      expect(error.reason).toBe("Transport")
      expect(yield* Ref.get(items)).toBe(0)
      const [record] = yield* server.requests.list()
      expect(record).toMatchObject({ method: "POST", path: "/items", outcome: "dropped", fault: "drop" })
      expect(record?.status).toBeUndefined()
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("drop-after-commit commits the write, then resets the connection", () =>
    Effect.gen(function*() {
      const { client, items, server } = yield* start(["POST /items drop-after-commit x1"])
      const error = yield* Effect.flip(client.post("/items"))
      expect(error._tag).toBe("RequestError")
      expect(error.reason).toBe("Transport")
      expect(yield* Ref.get(items)).toBe(1)
      const [record] = yield* server.requests.list()
      expect(record).toMatchObject({ outcome: "dropped", fault: "drop-after-commit", status: 201 })
      // the next request goes through and sees the committed write
      const response = yield* client.post("/items")
      expect(yield* response.json).toEqual({ count: 2 })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("hang never answers, until the client gives up", () =>
    Effect.gen(function*() {
      const { client, server } = yield* start(["GET /items hang x1"])
      const result = yield* client.get("/items").pipe(Effect.timeout("400 millis"), Effect.exit)
      expect(Exit.isFailure(result)).toBe(true)
      expect(String(Exit.isFailure(result) ? result.cause : "")).toContain("TimeoutException")
      const [record] = yield* server.requests.list()
      expect(record?.fault).toBe("hang")
      expect(["pending", "aborted"]).toContain(record?.outcome)
      expect(yield* status(client.get("/items"))).toBe(200)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.live("a hanging request does not keep the server from shutting down", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { server } = yield* start(["* hang"]).pipe(
        Effect.provide(NodeHttpClient.layerUndici),
        Scope.extend(scope)
      )
      // a raw socket, so nothing on the client side closes it for us
      const socket = Net.connect(server.port, "127.0.0.1")
      const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()))
      socket.on("error", () => undefined)
      socket.write(`GET /items HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
      // Wait for the server to hold the request (an event, not a guess at how long it takes).
      yield* server.requests.count({ outcome: "pending" }).pipe(
        Effect.repeat({ until: (pending) => pending === 1, schedule: Schedule.spaced("20 millis") })
      )
      // The hang fault never answers: a server waiting for it would never close. The limit only
      // turns that into a failure instead of a stuck test; closing normally takes milliseconds.
      yield* Scope.close(scope, Exit.void).pipe(Effect.timeout("60 seconds"))
      yield* Effect.promise(() => closed)
      expect(socket.destroyed).toBe(true)
    }))

  it.scopedLive("matches OData keys and wildcards", () =>
    Effect.gen(function*() {
      const { client } = yield* start(["GET /GraphV1/Convention(*) 504 x1"])
      expect(yield* status(client.get("/GraphV1/Convention(12)"))).toBe(504)
      expect(yield* status(client.get("/GraphV1/Convention(12)"))).toBe(200)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("admin routes: faults as JSON or text, listed, cleared; not subject to faults", () =>
    Effect.gen(function*() {
      const { client, server } = yield* start(["* 503"])
      const added = yield* client.execute(
        HttpClientRequest.post("/__sandbox/faults").pipe(HttpClientRequest.bodyText("POST /items 429:3 x1 #rl"))
      )
      expect(added.status).toBe(201)
      expect(yield* added.json).toMatchObject([{ id: "rl", rule: { kind: "rate-limit", retryAfterSeconds: 3 } }])
      const addedJson = yield* client.execute(
        yield* HttpClientRequest.post("/__sandbox/faults").pipe(
          HttpClientRequest.bodyJson([{ path: "/x", kind: "drop", times: 1 }, { path: "/y", kind: "hang" }])
        )
      )
      expect(addedJson.status).toBe(201)
      const listed = yield* Effect.flatMap(client.get("/__sandbox/faults"), (r) => r.json)
      expect((listed as Array<{ id: string }>).map((e) => e.id)).toEqual(["fault-1", "rl", "fault-2", "fault-3"])

      const bad = yield* client.execute(
        HttpClientRequest.post("/__sandbox/faults").pipe(HttpClientRequest.bodyText("POST /items 418"))
      )
      expect(bad.status).toBe(400)
      expect(yield* bad.json).toMatchObject({ error: "Invalid fault", reason: expect.stringContaining("418") })
      const badJson = yield* client.execute(
        yield* HttpClientRequest.post("/__sandbox/faults").pipe(HttpClientRequest.bodyJson({ path: "/x" }))
      )
      expect(badJson.status).toBe(400)

      // the sandbox's own admin route is served, and "* 503" does not touch admin routes
      expect(yield* Effect.flatMap(client.get("/__sandbox/state"), (r) => r.json)).toEqual({ count: 0 })
      expect(yield* status(client.get("/items"))).toBe(503)

      const removed = yield* client.execute(HttpClientRequest.del("/__sandbox/faults/rl"))
      expect(removed.status).toBe(200)
      expect(yield* status(client.execute(HttpClientRequest.del("/__sandbox/faults/rl")))).toBe(404)
      const cleared = yield* client.execute(HttpClientRequest.del("/__sandbox/faults"))
      expect(yield* cleared.json).toEqual({ cleared: 3 })
      expect(yield* server.faults.list).toEqual([])
      expect(yield* status(client.get("/items"))).toBe(200)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("admin routes: the request log, filtered and cleared", () =>
    Effect.gen(function*() {
      const { client, server } = yield* start(["POST /items 503 x1"])
      yield* client.post("/items")
      yield* client.post("/items")
      yield* client.get("/items?page=2")
      yield* client.get("/__sandbox/faults") // admin: not logged
      const records = (yield* Effect.flatMap(client.get("/__sandbox/requests"), (r) => r.json)) as Array<
        Record<string, unknown>
      >
      expect(records.map((r) => [r.seq, r.method, r.path, r.status, r.fault ?? null])).toEqual([
        [1, "POST", "/items", 503, "status"],
        [2, "POST", "/items", 201, null],
        [3, "GET", "/items", 200, null]
      ])
      expect(records[2]).toMatchObject({ query: "page=2", outcome: "responded" })
      expect(typeof records[0]?.at).toBe("string")
      const posts = yield* Effect.flatMap(client.get("/__sandbox/requests?method=post"), (r) => r.json)
      expect(posts).toHaveLength(2)
      expect(yield* server.requests.count({ method: "POST", path: "/items" })).toBe(2)
      const cleared = yield* Effect.flatMap(client.execute(HttpClientRequest.del("/__sandbox/requests")), (r) => r.json)
      expect(cleared).toEqual({ cleared: 3 })
      expect(yield* server.requests.count()).toBe(0)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("uses the sandbox's own fault response", () =>
    Effect.gen(function*() {
      const { app } = yield* makeApp
      const server = yield* SandboxServer.make({
        app,
        faults: [Either.getOrThrow(Faults.parseRule("* 500"))],
        faultResponse: (_rule, code) => HttpServerResponse.unsafeJson({ odata: { code: String(code) } }, { status: code })
      })
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(`${server.url}/items`)
      expect(response.status).toBe(500)
      expect(yield* response.json).toEqual({ odata: { code: "500" } })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("reports a taken port clearly", () =>
    Effect.gen(function*() {
      const { app } = yield* makeApp
      const first = yield* SandboxServer.make({ app })
      const error = yield* Effect.flip(SandboxServer.make({ app, port: first.port }))
      expect(error._tag).toBe("ServerStartError")
      expect(error.message).toContain(`127.0.0.1:${first.port}`)
      expect(error.message).toContain("EADDRINUSE")
    }))

  it.scopedLive("keeps two servers apart", () =>
    Effect.gen(function*() {
      const a = yield* start(["* 503"])
      const b = yield* start()
      expect(yield* status(a.client.get("/items"))).toBe(503)
      expect(yield* status(b.client.get("/items"))).toBe(200)
      expect(a.server.port).not.toBe(b.server.port)
      expect(yield* a.server.requests.count()).toBe(1)
      expect(yield* b.server.requests.count()).toBe(1)
      expect(yield* b.server.faults.list).toEqual([])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
