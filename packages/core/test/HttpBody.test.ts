import { HttpClient, type HttpClientResponse } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { HttpBody } from "../src/index.js"

/**
 * A real misbehaving server on the loopback: `/endless` streams garbage until the client goes
 * away and records how much it managed to send; `/announced` claims a 600 MB body in its
 * Content-Length; the others answer small bodies.
 */
const garbageServer = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly stats: { sent: number; closed: boolean }; readonly server: Http.Server }>((resume) => {
    const stats = { sent: 0, closed: false }
    const chunk = Buffer.alloc(64 * 1024, "x")
    const server = Http.createServer((request, response) => {
      switch (request.url) {
        case "/endless": {
          response.writeHead(200, { "content-type": "application/json" })
          response.on("close", () => {
            stats.closed = true
          })
          const pump = () => {
            while (!response.destroyed && stats.sent < 2 * 1024 * 1024 * 1024) {
              stats.sent += chunk.length
              if (!response.write(chunk)) {
                response.once("drain", pump)
                return
              }
            }
          }
          pump()
          return
        }
        case "/announced": {
          response.writeHead(200, { "content-type": "application/json", "content-length": String(600 * 1024 * 1024) })
          response.write(chunk)
          return // never finishes: the client must not wait for it
        }
        case "/json":
          response.writeHead(200, { "content-type": "application/json" })
          response.end(JSON.stringify({ Id: 7, Nom: "Dupont" }))
          return
        case "/exact":
          response.writeHead(200, { "content-type": "text/plain" })
          response.end("é".repeat(512)) // 1024 bytes of UTF-8
          return
        case "/empty":
          response.writeHead(200)
          response.end()
          return
        default:
          response.writeHead(200, { "content-type": "text/html" })
          response.end("<html>not json</html>")
      }
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, stats, server }))
    })
  }),
  (handle) =>
    Effect.async<void>((resume) => {
      handle.server.closeAllConnections()
      handle.server.close(() => resume(Effect.void))
    })
)

const get = (url: string) => Effect.flatMap(HttpClient.HttpClient, (client) => client.get(url))

describe("HttpBody", () => {
  it.scoped("stops reading an endless body at the limit and fails with ResponseTooLarge", () =>
    Effect.gen(function*() {
      const server = yield* garbageServer
      const maxBytes = 1024 * 1024
      const error = yield* get(`${server.url}/endless`).pipe(
        Effect.flatMap((response) => HttpBody.text(response, { maxBytes })),
        Effect.scoped,
        Effect.flip
      )
      expect(error._tag).toBe("ResponseTooLarge")
      if (error._tag !== "ResponseTooLarge") return
      expect(error.limit).toBe(maxBytes)
      expect(error.received).toBeGreaterThan(maxBytes)
      expect(error.received).toBeLessThanOrEqual(maxBytes + 1024 * 1024) // at most a chunk more
      expect(error.announced).toBe(false)
      expect(error.method).toBe("GET")
      expect(error.url).toBe(`${server.url}/endless`)
      expect(error.message).toContain(`the answer to GET ${server.url}/endless is larger than 1 MiB`)
      expect(error.message).toContain("relais stops reading at 1 MiB")
      // The connection is closed: the server stops well before its 2 GiB.
      yield* Effect.promise(() =>
        new Promise<void>((resolve) => {
          const wait = () => (server.stats.closed ? resolve() : setTimeout(wait, 20))
          wait()
        })
      )
      expect(server.stats.sent).toBeLessThan(512 * 1024 * 1024)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)), 120_000)

  it.scoped("refuses a body whose Content-Length is over the limit without reading it", () =>
    Effect.gen(function*() {
      const server = yield* garbageServer
      const error = yield* get(`${server.url}/announced`).pipe(
        Effect.flatMap((response) => HttpBody.json(response)),
        Effect.scoped,
        Effect.flip
      )
      expect(error).toBeInstanceOf(HttpBody.ResponseTooLarge)
      if (!(error instanceof HttpBody.ResponseTooLarge)) return
      expect(error.announced).toBe(true)
      expect(error.received).toBe(600 * 1024 * 1024)
      expect(error.limit).toBe(HttpBody.defaultMaxBytes)
      expect(error.message).toContain("is larger than 16 MiB; its Content-Length announces 600 MiB")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)), 120_000)

  it.scoped("reads bodies up to the limit: JSON, schema, text of exactly the limit, empty", () =>
    Effect.gen(function*() {
      const server = yield* garbageServer
      const read = <A>(path: string, f: (r: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, unknown>) =>
        get(`${server.url}${path}`).pipe(Effect.flatMap(f), Effect.scoped)
      expect(yield* read("/json", (r) => HttpBody.json(r, { maxBytes: 100 }))).toEqual({ Id: 7, Nom: "Dupont" })
      const Person = Schema.Struct({ Id: Schema.Number, Nom: Schema.String })
      expect(yield* read("/json", HttpBody.schemaBodyJson(Person))).toEqual({ Id: 7, Nom: "Dupont" })
      expect(yield* read("/exact", (r) => HttpBody.text(r, { maxBytes: 1024 }))).toBe("é".repeat(512))
      const over = yield* Effect.either(read("/exact", (r) => HttpBody.text(r, { maxBytes: 1023 })))
      expect(Either.isLeft(over) && over.left).toBeInstanceOf(HttpBody.ResponseTooLarge)
      expect(yield* read("/empty", (r) => HttpBody.json(r))).toBeNull()
      const notJson = yield* Effect.flip(read("/html", (r) => HttpBody.json(r)))
      expect(notJson).toMatchObject({ _tag: "ResponseError", reason: "Decode" })
      const wrongShape = yield* Effect.flip(read("/json", HttpBody.schemaBodyJson(Schema.Struct({ Id: Schema.String }))))
      expect(wrongShape).toMatchObject({ _tag: "ParseError" })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)), 120_000)

  it("survives a round trip through its schema and formats sizes for people", () => {
    const error = new HttpBody.ResponseTooLarge({ method: "GET", url: "http://h/x", limit: 16 * 1024 * 1024, received: 16 * 1024 * 1024 + 65536, announced: false })
    const encoded = Schema.encodeSync(HttpBody.ResponseTooLarge)(error)
    const decoded = Schema.decodeUnknownSync(HttpBody.ResponseTooLarge)(JSON.parse(JSON.stringify(encoded)))
    expect(decoded.message).toBe(error.message)
    expect(error.message).toMatch(/^the answer to GET http:\/\/h\/x is larger than 16 MiB; relais stops reading at 16 MiB \(16\.1 MiB received\)/)
    expect(HttpBody.formatBytes(1)).toBe("1 byte")
    expect(HttpBody.formatBytes(1536)).toBe("1.5 KiB")
    expect(HttpBody.formatBytes(600 * 1024 * 1024)).toBe("600 MiB")
  })
})
