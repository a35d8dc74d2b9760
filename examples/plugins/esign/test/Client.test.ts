/**
 * The client against the real sandbox on 127.0.0.1: every route, every error the API
 * documents, faults (429 with Retry-After, 500, a dropped connection, a hang), the response
 * cap, and a canary token that must never appear in an error, even when a server echoes it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Redacted } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Api from "../src/Api.js"
import * as Sandbox from "../src/Sandbox.js"
import { clientOf, company, envelopeRequest, learner } from "./support.js"

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "None") throw new Error(`expected a failure, got ${Cause.pretty(exit.cause)}`)
  return failure.value
}

describe("Client", () => {
  it.scopedLive("creates an envelope, reads it back signed, finds it by external reference", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.make()
      const client = yield* clientOf(sandbox.config)
      const created = yield* client.createEnvelope({ ...envelopeRequest, externalReference: "conv-42" })
      expect(created).toBeInstanceOf(Api.Envelope)
      expect(created.status).toBe("sent")
      expect(created.id).toMatch(/^env_[a-z0-9]{10}$/)
      expect(created.signers.map((s) => [s.role, s.status])).toEqual([
        ["learner", "pending"],
        ["company", "pending"],
        ["school", "pending"]
      ])
      // signing "immediate": every signer has signed by the next request
      const read = yield* client.getEnvelope(created.id)
      expect(read.status).toBe("completed")
      expect(read.signers.every((s) => s.status === "signed" && s.signedAt !== undefined)).toBe(true)
      expect(read.completedAt).toBeDefined()
      const found = yield* client.listEnvelopes({ externalReference: "conv-42" })
      expect(found.data.map((e) => e.id)).toEqual([created.id])
      expect(found.hasMore).toBe(false)
      // the seeded history is there too, newest first
      const all = yield* client.listEnvelopes({ limit: 2 })
      expect(all.data[0]!.id).toBe(created.id)
      expect(all.hasMore).toBe(true)
    }))

  it.scopedLive("cancels a waiting envelope; a second cancel is a Conflict naming the status", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.make({ signing: "never" })
      const client = yield* clientOf(sandbox.config)
      const created = yield* client.createEnvelope(envelopeRequest)
      const cancelled = yield* client.cancelEnvelope(created.id, "wrong dates")
      expect(cancelled.status).toBe("cancelled")
      expect(cancelled.cancelReason).toBe("wrong dates")
      const again = failureOf(yield* Effect.exit(client.cancelEnvelope(created.id)))
      expect(again._tag).toBe("Conflict")
      expect(again).toMatchObject({ status: 409, code: "envelope_not_cancellable", envelopeStatus: "cancelled" })
      expect(again.message).toContain("the envelope is cancelled")
    }))

  it.scopedLive("an unknown envelope is NotFound; a refused body is InvalidRequest with its fields", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.make()
      const client = yield* clientOf(sandbox.config)
      const missing = failureOf(yield* Effect.exit(client.getEnvelope(Api.EnvelopeId.make("env_nothinghere"))))
      expect(missing).toMatchObject({ _tag: "NotFound", status: 404, method: "GET", path: "/api/v1/envelopes/env_nothinghere" })

      const twice = failureOf(
        yield* Effect.exit(client.createEnvelope({
          ...envelopeRequest,
          signers: [learner, { ...company, email: learner.email }]
        }))
      )
      expect(twice._tag).toBe("InvalidRequest")
      expect(twice.message).toContain("signers.1.email: tom.legall@etudiant-exemple.fr is given twice")

      const limit = failureOf(yield* Effect.exit(client.listEnvelopes({ limit: 500 })))
      expect(limit).toMatchObject({ _tag: "InvalidRequest", status: 400, code: "invalid_request" })
    }))

  it.scopedLive("an input that does not encode is refused before anything is sent", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.make()
      const client = yield* clientOf(sandbox.config)
      const error = failureOf(
        yield* Effect.exit(client.createEnvelope({
          ...envelopeRequest,
          signers: [{ name: "Tom", email: "not an address", role: "learner" }]
        }))
      )
      expect(error._tag).toBe("InvalidInput")
      expect(error.message).toContain("expected an e-mail address")
      expect(yield* sandbox.requests.count({ method: "POST" })).toBe(0)
    }))

  it.scopedLive("faults: 429 with Retry-After, 500, a dropped connection, a hang past the timeout", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.make({
        faults: [
          "POST /api/v1/envelopes 429:7 x1",
          "POST /api/v1/envelopes 500 x1",
          "POST /api/v1/envelopes drop x1",
          "GET /api/v1/envelopes hang x1"
        ]
      })
      const client = yield* clientOf({ ...sandbox.config, timeout: Duration.seconds(1) })
      const limited = failureOf(yield* Effect.exit(client.createEnvelope(envelopeRequest)))
      expect(limited).toMatchObject({ _tag: "RateLimited", status: 429, retryAfterMillis: 7000 })
      const failed = failureOf(yield* Effect.exit(client.createEnvelope(envelopeRequest)))
      expect(failed).toMatchObject({ _tag: "Unavailable", status: 500 })
      const dropped = failureOf(yield* Effect.exit(client.createEnvelope(envelopeRequest)))
      expect(dropped).toMatchObject({ _tag: "Transport", reason: "reset" })
      const hung = failureOf(yield* Effect.exit(client.listEnvelopes()))
      expect(hung).toMatchObject({ _tag: "Transport", reason: "timeout" })
      // nothing was created by the refused attempts; the fifth goes through
      const created = yield* client.createEnvelope(envelopeRequest)
      expect((yield* sandbox.envelopes).filter((e) => e.document.reference === "CS00000006").map((e) => e.id)).toEqual([
        created.id
      ])
    }))

  it.scopedLive("an answer over maxResponseBytes is ResponseTooLarge, not read into memory", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.make({ envelopes: 30 })
      const client = yield* clientOf({ ...sandbox.config, maxResponseBytes: 2048 })
      const error = failureOf(yield* Effect.exit(client.listEnvelopes({ limit: 100 })))
      expect(error).toMatchObject({ _tag: "ResponseTooLarge", responseStatus: 200, limit: 2048 })
      expect(error.message).toContain("esign.maxResponseBytes")
    }))

  describe("the token never appears in an error", () => {
    const canary = "canary-esign-token-5b1f0e7d"

    it.scopedLive("a refused token: Unauthorized, with the config's field named and not the token", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.make({ tokens: ["the-sandbox-accepts-this-one"] })
        const client = yield* clientOf({ url: sandbox.url, token: Redacted.make(canary) })
        const exit = yield* Effect.exit(client.createEnvelope(envelopeRequest))
        const error = failureOf(exit)
        expect(error).toMatchObject({ _tag: "Unauthorized", status: 401 })
        expect(error.message).toContain("esign.token")
        for (const text of [error.message, JSON.stringify(error), String(error), Cause.pretty((exit as Exit.Failure<unknown, unknown>).cause)]) {
          expect(text).not.toContain(canary)
        }
      }))

    it.scopedLive("a server that echoes the Authorization header: the client masks the token in every error", () =>
      Effect.gen(function*() {
        // Not the sandbox: a misbehaving server that puts the request's header in its answers.
        const server = Http.createServer((request, response) => {
          const echoed = request.headers.authorization ?? ""
          if (request.url?.startsWith("/api/v1/envelopes/env_")) {
            response.writeHead(200, { "content-type": "application/json" })
            response.end(JSON.stringify({ id: 42, echoed }))
          } else if (request.method === "GET") {
            response.writeHead(418, { "content-type": "text/plain" })
            response.end(`teapot says ${echoed}`)
          } else {
            response.writeHead(400, { "content-type": "application/json" })
            response.end(JSON.stringify({ error: "invalid_request", message: `bad header ${echoed}`, details: [{ field: "auth", message: echoed }] }))
          }
        })
        yield* Effect.acquireRelease(
          Effect.async<void>((resume) => {
            server.listen(0, "127.0.0.1", () => resume(Effect.void))
          }),
          () => Effect.sync(() => server.close())
        )
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
        const client = yield* clientOf({ url, token: Redacted.make(canary) })
        const errors = [
          failureOf(yield* Effect.exit(client.getEnvelope(Api.EnvelopeId.make("env_abc")))),
          failureOf(yield* Effect.exit(client.listEnvelopes())),
          failureOf(yield* Effect.exit(client.createEnvelope(envelopeRequest)))
        ]
        expect(errors.map((e) => e._tag)).toEqual(["Decode", "UnexpectedStatus", "InvalidRequest"])
        // the echo made it into the errors, masked
        expect(errors.map((e) => e.message).join("\n")).toContain("Bearer [redacted]")
        for (const error of errors) {
          expect(error.message).not.toContain(canary)
          expect(JSON.stringify(error)).not.toContain(canary)
        }
      }))
  })
})
