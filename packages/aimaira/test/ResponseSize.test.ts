/**
 * The response size cap, against a real misbehaving HTTP server on the loopback (node:http):
 * an endless body, a body announced as 600 MB, and a create whose answer never ends. The client
 * stops at the limit with `ResponseTooLarge`; through the engine, the step fails at its first
 * attempt with that error (it is not retried), and a create's reconciliation still runs.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import { Engine, Redactor, Workflow } from "@relais/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { AimairaClient, AimairaConfig, AimairaPlugin, ConventionSteps, Entities, Errors } from "../src/index.js"
import { ofTag, runFlow } from "./stepSupport.js"

interface Garbage {
  readonly url: string
  /** Bytes written per request path, and whether the client closed the connection. */
  readonly sent: Map<string, { bytes: number; closed: boolean }>
  readonly server: Http.Server
}

/**
 * A server that answers every GET with JSON that never ends (`{"value":[` then garbage
 * forever), `/GraphV1/OPCA` with a `Content-Length` of 600 MB, and `POST /GraphV1/Entreprise`
 * with a 201 whose body never ends. It stops writing when the client goes away (or at 2 GiB).
 */
const garbageServer = Effect.acquireRelease(
  Effect.async<Garbage>((resume) => {
    const sent = new Map<string, { bytes: number; closed: boolean }>()
    const chunk = Buffer.alloc(64 * 1024, "x")
    const server = Http.createServer((request, response) => {
      const path = (request.url ?? "/").split("?")[0]!
      const stats = { bytes: 0, closed: false }
      sent.set(`${request.method} ${path}`, stats)
      response.on("close", () => {
        stats.closed = true
      })
      if (path === "/GraphV1/OPCA") {
        response.writeHead(200, { "content-type": "application/json", "content-length": String(600 * 1024 * 1024) })
        response.write("{\"value\":[")
        return
      }
      response.writeHead(request.method === "POST" ? 201 : 200, { "content-type": "application/json" })
      response.write("{\"value\":[")
      const pump = () => {
        while (!response.destroyed && stats.bytes < 2 * 1024 * 1024 * 1024) {
          stats.bytes += chunk.length
          if (!response.write(chunk)) {
            response.once("drain", pump)
            return
          }
        }
      }
      request.resume()
      request.on("end", pump)
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resume(Effect.succeed({ url: `http://127.0.0.1:${port}/GraphV1`, sent, server }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

const auth = AimairaConfig.basic("user", "garbage-server-password")

/** Waits (without a wall-clock limit of its own) until the server saw the client go away. */
const closed = (garbage: Garbage, key: string) =>
  Effect.promise(() =>
    new Promise<void>((resolve) => {
      const wait = () => (garbage.sent.get(key)?.closed === true ? resolve() : setTimeout(wait, 20))
      wait()
    })
  )

describe("response size cap", { timeout: 120_000 }, () => {
  it.scopedLive("an endless body fails with ResponseTooLarge at the limit, and the connection is closed", () =>
    Effect.gen(function*() {
      const garbage = yield* garbageServer
      const client = yield* AimairaClient.make({ url: garbage.url, auth, maxResponseBytes: 1024 * 1024 })
      const error = yield* Effect.flip(client.list(Entities.TypeConvention))
      expect(error).toBeInstanceOf(Errors.ResponseTooLarge)
      expect(error).toMatchObject({ _tag: "ResponseTooLarge", responseStatus: 200, method: "GET", path: "/GraphV1/TypeConvention" })
      const tooLarge = error as Errors.ResponseTooLarge
      expect(tooLarge.limit).toBe(1024 * 1024)
      expect(tooLarge.received).toBeGreaterThan(1024 * 1024)
      expect(tooLarge.message).toContain(
        "AIMAIRA: the answer to GET /GraphV1/TypeConvention (200) is larger than 1 MiB; relais stops reading at 1 MiB"
      )
      expect(tooLarge.message).not.toContain("garbage-server-password")
      yield* closed(garbage, "GET /GraphV1/TypeConvention")
      expect(garbage.sent.get("GET /GraphV1/TypeConvention")!.bytes).toBeLessThan(256 * 1024 * 1024)
    }).pipe(Effect.provide(NodeHttpClient.layer)))

  it.scopedLive("the default limit is 16 MiB; a body announced larger is refused without being read", () =>
    Effect.gen(function*() {
      const garbage = yield* garbageServer
      const client = yield* AimairaClient.make({ url: garbage.url, auth })
      const endless = yield* Effect.flip(client.list(Entities.Civilite))
      expect(endless).toMatchObject({ _tag: "ResponseTooLarge", limit: 16 * 1024 * 1024, announced: false })
      const announced = yield* Effect.flip(client.list(Entities.OrganismeFinanceur))
      expect(announced).toMatchObject({
        _tag: "ResponseTooLarge",
        path: "/GraphV1/OPCA",
        limit: 16 * 1024 * 1024,
        received: 600 * 1024 * 1024,
        announced: true
      })
      expect(announced.message).toContain("is larger than 16 MiB; its Content-Length announces 600 MiB, so relais did not read it")
    }).pipe(Effect.provide(NodeHttpClient.layer)))

  it.scopedLive("through the engine: the step fails at its first attempt with the clear error; a create reconciles first", () =>
    Effect.gen(function*() {
      const garbage = yield* garbageServer
      const layer = Layer.mergeAll(
        AimairaPlugin.layer({ url: garbage.url, auth, maxResponseBytes: 512 * 1024 }),
        Engine.layerMemory()
      ).pipe(Layer.provideMerge(NodeHttpClient.layer), Layer.provideMerge(Redactor.layer), Layer.orDie)
      const read = yield* runFlow(Workflow.step(ConventionSteps.listTypesConvention, {})).pipe(Effect.provide(layer))
      expect(read.record.status).toBe("failed")
      expect(read.record.failure).toMatchObject({
        reason: "non_retryable",
        error: { _tag: "ResponseTooLarge" }
      })
      expect(read.record.failure!.error.message).toContain("is larger than 512 KiB")
      expect(ofTag(read.events, "AttemptFailed")).toHaveLength(1)

      const write = yield* runFlow(Workflow.step(ConventionSteps.createEntreprise, { Nom: "Garbage SARL" })).pipe(
        Effect.provide(layer)
      )
      expect(write.record.status).toBe("failed")
      expect(write.record.failure).toMatchObject({ reason: "non_retryable", error: { _tag: "ResponseTooLarge" } })
      expect(write.record.failure!.error.message).toContain("the answer to POST /GraphV1/Entreprise (201) is larger than 512 KiB")
      expect(ofTag(write.events, "AttemptFailed")).toHaveLength(1)
      // The create may have been stored: the step looked for it (its marker) before failing.
      expect(garbage.sent.has("GET /GraphV1/Entreprise")).toBe(true)
    }))
})
