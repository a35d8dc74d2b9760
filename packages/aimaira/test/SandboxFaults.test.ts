import { describe, expect, layer } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { AimairaSandbox } from "../src/sandbox/index.js"
import { attempt, call, rows, sandboxLayer } from "./support.js"

const sandbox = AimairaSandbox.AimairaSandbox

describe("AimairaSandbox fault injection (real HTTP)", () => {
  // Live clock: latency and hang are real time on the server side.
  layer(sandboxLayer({ faults: "GET /GraphV1/NatureClient 500 x1 #initial" }), { excludeTestServices: true })((it) => {
    it.effect("applies the initial faults given in the options", () =>
      Effect.gen(function*() {
        const first = yield* call("GET", "/NatureClient")
        expect(first.status).toBe(500)
        expect(first.json.error.message).toMatch(/sandbox fault initial/)
        expect((yield* call("GET", "/NatureClient")).status).toBe(200)
      }))

    it.effect("latency delays the answer, which is still correct", () =>
      Effect.gen(function*() {
        yield* Effect.flatMap(sandbox, (s) => s.faults.addText("GET /GraphV1/Civilite latency:200 x1"))
        const [duration, reply] = yield* Effect.timed(call("GET", "/Civilite"))
        expect(Duration.toMillis(duration)).toBeGreaterThanOrEqual(190)
        expect(reply.status).toBe(200)
        expect(reply.json.value).toHaveLength(3)
      }))

    it.effect("status answers a 5xx OData error without running the handler", () =>
      Effect.gen(function*() {
        const s = yield* sandbox
        yield* s.faults.addText("POST /GraphV1/Entreprise 502 x1\nPOST /GraphV1/Entreprise 503 x1")
        const before = (yield* rows("Entreprise")).length
        const first = yield* call("POST", "/Entreprise", { body: { Nom: "A" } })
        const second = yield* call("POST", "/Entreprise", { body: { Nom: "B" } })
        expect([first.status, second.status]).toEqual([502, 503])
        expect(second.json.error.code).toBe("ServiceUnavailable")
        expect((yield* rows("Entreprise")).length).toBe(before)
        expect((yield* call("POST", "/Entreprise", { body: { Nom: "C" } })).status).toBe(201)
      }))

    it.effect("rate-limit answers 429 with Retry-After", () =>
      Effect.gen(function*() {
        yield* Effect.flatMap(sandbox, (s) => s.faults.addText("GET /GraphV1/Convention(*) 429:3 x1"))
        const [convention] = yield* rows("Convention")
        const limited = yield* call("GET", `/Convention(${convention!.Id})`)
        expect(limited.status).toBe(429)
        expect(limited.headers["retry-after"]).toBe("3")
        expect(limited.json.error.code).toBe("TooManyRequests")
        expect((yield* call("GET", `/Convention(${convention!.Id})`)).status).toBe(200)
      }))

    it.effect("hang never answers; the client gives up and the server keeps serving", () =>
      Effect.gen(function*() {
        yield* Effect.flatMap(sandbox, (s) => s.faults.addText("GET /GraphV1/TypeSequence hang x1"))
        const timedOut = yield* call("GET", "/TypeSequence").pipe(Effect.timeout("300 millis"), Effect.option)
        expect(Option.isNone(timedOut)).toBe(true)
        expect((yield* call("GET", "/TypeSequence")).status).toBe(200)
      }))

    it.effect("drop loses the connection before the write", () =>
      Effect.gen(function*() {
        yield* Effect.flatMap(sandbox, (s) => s.faults.addText("POST /GraphV1/Entreprise drop x1"))
        const before = (yield* rows("Entreprise")).length
        const exit = yield* Effect.exit(attempt("POST", "/Entreprise", { body: { Nom: "Dropped" } }))
        expect(Exit.isFailure(exit)).toBe(true)
        expect((yield* rows("Entreprise")).length).toBe(before)
      }))

    it.effect("drop-after-commit loses the answer of a write that happened", () =>
      Effect.gen(function*() {
        const s = yield* sandbox
        yield* s.faults.addText("POST /GraphV1/Entreprise drop-after-commit x1")
        const before = yield* rows("Entreprise")
        const exit = yield* Effect.exit(attempt("POST", "/Entreprise", { body: { Nom: "Committed" } }))
        expect(Exit.isFailure(exit)).toBe(true)
        const after = yield* rows("Entreprise")
        expect(after.length).toBe(before.length + 1)
        expect(after.at(-1)!.Nom).toBe("Committed")
        const dropped = yield* s.requests.list({ method: "POST", path: "/GraphV1/Entreprise", outcome: "dropped" })
        expect(dropped.at(-1)?.status).toBe(201)
      }))

    it.effect("faults can be managed over HTTP through the kit's admin routes", () =>
      Effect.gen(function*() {
        const s = yield* sandbox
        const added = yield* call("POST", `${s.url}/__sandbox/faults`, {
          auth: "none",
          body: { path: "/GraphV1/Mail", method: "POST", kind: "status", status: 504, times: 1 }
        })
        expect(added.status).toBe(201)
        expect((yield* call("POST", "/Mail", { body: { Adresse: "x@y.fr" } })).status).toBe(504)
        const listed = yield* call("GET", `${s.url}/__sandbox/faults`, { auth: "none" })
        expect(listed.json.some((entry: { applied: number; rule: { status?: number } }) => entry.rule.status === 504 && entry.applied === 1)).toBe(true)
      }))
  })
})
