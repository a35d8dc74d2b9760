/**
 * The sandbox's contracts kept in a state file (`stateFile`), as `relais run --sandbox` keeps
 * them for `resume`: a sandbox started again over the file holds what the last one held
 * (active and archived contracts, integration states, list calls), not its seed.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { CampusSkillsSandbox } from "../src/sandbox/index.js"
import { wire } from "./fixtures.js"

const tmpFile = () => Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-campus-state-")), "campus-skills.json")

const post = (sandbox: CampusSkillsSandbox.Service, path: string, body: unknown) =>
  Effect.flatMap(HttpClient.HttpClient, (http) =>
    http.execute(
      HttpClientRequest.post(`${sandbox.url}${path}`).pipe(
        HttpClientRequest.bearerToken(Redacted.value(sandbox.token)),
        HttpClientRequest.bodyUnsafeJson(body)
      )
    )).pipe(Effect.map((response) => response.status), Effect.orDie)

describe("CampusSkillsSandbox state file", () => {
  it.live("a sandbox started again over its file holds what the last one held, not its seed", () =>
    Effect.gen(function*() {
      const file = tmpFile()
      const options: CampusSkillsSandbox.Options = { stateFile: file, contracts: [wire(9)] }
      const first = yield* Effect.scoped(Effect.gen(function*() {
        const sandbox = yield* CampusSkillsSandbox.make(options)
        // Written at start, before any request.
        expect(Fs.existsSync(file)).toBe(true)
        expect(yield* post(sandbox, "/api/sync/v1/contrats", { contrats: [wire(1), wire(2)] })).toBe(200)
        expect(yield* post(sandbox, "/api/sync/v1/contrats", { contrats: [wire(2)] })).toBe(200)
        return yield* sandbox.state
      }))
      expect(first.archived.map((c) => c.codeContrat).sort()).toEqual([wire(1).codeContrat, wire(9).codeContrat].sort())
      const second = yield* Effect.scoped(Effect.flatMap(CampusSkillsSandbox.make(options), (sandbox) => sandbox.state))
      expect(second).toEqual(first)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.live("with a state file that does not hold its data, the sandbox refuses to start, naming the file", () =>
    Effect.gen(function*() {
      const file = tmpFile()
      Fs.writeFileSync(file, JSON.stringify({ format: "relais-sandbox-state", version: 1, sandbox: "campus-skills", state: [] }))
      const exit = yield* Effect.exit(Effect.scoped(CampusSkillsSandbox.make({ stateFile: file })))
      expect(Exit.isFailure(exit)).toBe(true)
      const text = JSON.stringify(exit)
      expect(text).toContain("it does not hold the Campus Skills sandbox's data")
      expect(text).toContain(JSON.stringify(file).slice(1, -1))
    }))
})
