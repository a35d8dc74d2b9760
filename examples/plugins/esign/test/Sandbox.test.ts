/**
 * The sandbox as relais starts it (`Plugin.Sandbox`) and as tests use it: the configuration it
 * hands out, bearer auth, the `signing` setting (immediate, never, decline, a delay), seeded
 * data, the admin routes, and data kept in a state file across a restart.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit, Redacted, Schedule, Scope } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import esign from "../src/index.js"
import * as Sandbox from "../src/Sandbox.js"
import { clientOf, envelopeRequest, learner } from "./support.js"

const tmpFile = (name: string) => Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "esign-sandbox-")), name)

describe("Sandbox", () => {
  describe("the signing setting", () => {
    it("reads each behaviour and gives one canonical form", () => {
      const canonical = (text: string) => Either.getOrThrow(Sandbox.signingSetting.parse(text))
      expect(canonical("immediate")).toBe("immediate")
      expect(canonical(" Never ")).toBe("never")
      expect(canonical("decline")).toBe("decline")
      expect(canonical("decline:company")).toBe("decline:company")
      expect(canonical("30s")).toBe(canonical("30000ms"))
      expect(canonical("2 minutes")).toBe("2m")
      expect(canonical("1500ms")).toBe("1500ms")
    })

    it("refuses anything else, saying what it takes", () => {
      const refused = Sandbox.signingSetting.parse("sometimes")
      expect(Either.isLeft(refused) && refused.left).toContain("not one of immediate, never, decline, decline:<role>")
    })
  })

  it.scopedLive("start (the plugin contract): a configuration pointing at the sandbox, that the plugin's layer accepts", () =>
    Effect.gen(function*() {
      const plugin = esign()
      const sandbox = yield* Effect.promise(() => plugin.sandbox!())
      expect(sandbox.settings?.map((s) => s.name)).toEqual(["signing"])
      const running = yield* sandbox.start({ faults: [], settings: { signing: "never" }, seed: 7 })
      expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(running.config.url).toBe(running.url)
      expect(Redacted.value(running.config.token)).toBe(Sandbox.defaultToken)
      expect(running.summary).toBe("signing: never")
      // the configuration is what the plugin's client is built from
      const client = yield* clientOf(running.config)
      const created = yield* client.createEnvelope(envelopeRequest)
      expect((yield* client.getEnvelope(created.id)).status).toBe("sent")
      expect(plugin.endpoint!(running.config)).toBe(running.url)
      const defaults = yield* sandbox.start({ faults: [], settings: {} })
      expect(defaults.summary).toBeUndefined()
    }))

  it.scopedLive("start with faults in the sandbox-kit syntax, as --fault esign:<rule> gives them", () =>
    Effect.gen(function*() {
      const sandbox = yield* Effect.promise(() => esign().sandbox!())
      const running = yield* sandbox.start({ faults: ["POST /api/v1/envelopes 503 x1"], settings: {} })
      const client = yield* clientOf(running.config)
      const first = yield* Effect.exit(client.createEnvelope(envelopeRequest))
      expect(Exit.isFailure(first) && JSON.stringify(first.cause)).toContain("\"status\":503")
      expect(Exit.isSuccess(yield* Effect.exit(client.createEnvelope(envelopeRequest)))).toBe(true)
    }))

  it.scopedLive("bearer auth: no token or another token is a 401 in the API's error shape; admin routes need none", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.make()
      const answer = (headers: Record<string, string>) =>
        Effect.promise(() => fetch(`${sandbox.url}/api/v1/envelopes`, { headers }).then(async (r) => ({ status: r.status, body: await r.json() })))
      expect(yield* answer({})).toEqual({ status: 401, body: { error: "unauthorized", message: "missing or invalid bearer token" } })
      expect((yield* answer({ authorization: "Bearer nope" })).status).toBe(401)
      expect((yield* answer({ authorization: `Bearer ${Sandbox.defaultToken}` })).status).toBe(200)
      const state = yield* Effect.promise(() => fetch(`${sandbox.url}/__sandbox/state`).then((r) => r.json() as Promise<{ envelopes: Array<unknown> }>))
      expect(state.envelopes).toHaveLength(3)
    }))

  it.scopedLive("seeded data: the same seed gives the same envelopes, another seed others", () =>
    Effect.gen(function*() {
      const ids = (seed: number) => Effect.flatMap(Sandbox.make({ seed }), (s) => s.envelopes).pipe(Effect.map((es) => es.map((e) => e.id)))
      const a = yield* ids(1)
      expect(a).toHaveLength(3)
      expect(yield* ids(1)).toEqual(a)
      expect(yield* ids(2)).not.toEqual(a)
      const seeded = yield* Effect.flatMap(Sandbox.make({ seed: 1 }), (s) => s.envelopes)
      expect(seeded.map((e) => e.status).sort()).toEqual(["cancelled", "completed", "sent"])
    }))

  it.scopedLive("decline:company: the signers before sign, the company declines, the envelope is closed", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.make({ signing: "decline:company" })
      const client = yield* clientOf(sandbox.config)
      const created = yield* client.createEnvelope(envelopeRequest)
      const read = yield* client.getEnvelope(created.id)
      expect(read.status).toBe("declined")
      expect(read.signers.map((s) => [s.role, s.status])).toEqual([
        ["learner", "signed"],
        ["company", "declined"],
        ["school", "pending"]
      ])
      expect(read.signers[1]!.declineReason).toBeDefined()
    }))

  it.scopedLive("a delay: the signers sign one after the other, the last one no sooner than the delay", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.make({ signing: "600ms" })
      const client = yield* clientOf(sandbox.config)
      const created = yield* client.createEnvelope(envelopeRequest)
      const done = yield* client.getEnvelope(created.id).pipe(
        Effect.filterOrFail((e) => e.status === "completed", () => "not yet"),
        Effect.retry(Schedule.spaced("100 millis"))
      )
      const signedAt = done.signers.map((s) => Date.parse(s.signedAt!))
      expect([...signedAt].sort((a, b) => a - b)).toEqual(signedAt)
      expect(signedAt[2]! - Date.parse(done.createdAt)).toBeGreaterThanOrEqual(600)
      expect(Date.parse(done.completedAt!)).toBe(signedAt[2])
    }))

  it.scopedLive("never, then a signer answers by hand (the admin route, by e-mail address)", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.make({ signing: "never" })
      const client = yield* clientOf(sandbox.config)
      const created = yield* client.createEnvelope(envelopeRequest)
      const post = (path: string) =>
        Effect.promise(() => fetch(`${sandbox.url}${path}`, { method: "POST" }).then(async (r) => ({ status: r.status, body: await r.json() as { status: string } })))
      const signed = yield* post(`/__sandbox/envelopes/${created.id}/signers/${learner.email}/sign`)
      expect(signed.status).toBe(200)
      expect((yield* client.getEnvelope(created.id)).signers.map((s) => s.status)).toEqual(["signed", "pending", "pending"])
      const twice = yield* post(`/__sandbox/envelopes/${created.id}/signers/${learner.email}/sign`)
      expect(twice.status).toBe(409)
      for (const signer of envelopeRequest.signers.slice(1)) yield* sandbox.answer(created.id, signer.email, "sign")
      expect((yield* client.getEnvelope(created.id)).status).toBe("completed")
    }))

  it.live("a state file: what a request changed is there after a restart, plans included", () =>
    Effect.gen(function*() {
      const stateFile = tmpFile("esign.json")
      const first = yield* Scope.make()
      const before = yield* Scope.extend(Sandbox.make({ stateFile, signing: "never" }), first)
      const client = yield* Scope.extend(clientOf(before.config), first)
      const created = yield* client.createEnvelope(envelopeRequest)
      yield* Scope.close(first, Exit.void)

      const after = yield* Effect.scoped(Effect.flatMap(Sandbox.make({ stateFile, signing: "immediate" }), (s) => s.envelopes))
      const kept = after.find((e) => e.id === created.id)
      // restored as it was: still waiting, since it was sent under "never"
      expect(kept?.status).toBe("sent")
      expect(after).toHaveLength(4)

      // another sandbox's file is refused, naming what it holds
      const foreign = tmpFile("campus-skills.json")
      Fs.writeFileSync(foreign, JSON.stringify({ format: "relais-sandbox-state", version: 1, sandbox: "campus-skills", state: {} }))
      const refused = yield* Effect.scoped(Effect.flip(Sandbox.make({ stateFile: foreign })))
      expect(refused._tag).toBe("StateFileError")
      expect(refused.message).toContain("campus-skills")
    }))
})
