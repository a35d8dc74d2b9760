/**
 * The sandbox's data kept in a state file (`stateFile`), as `relais run --sandbox` keeps it for
 * `resume`: a sandbox started again over the file holds exactly what the last one held (hidden
 * fields, documents and counters included) and goes on numbering after it.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { AimairaSandbox } from "../src/sandbox/index.js"
import { call, sandboxLayer, state } from "./support.js"

const tmpFile = () => Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-aimaira-state-")), "aimaira.json")

/** Run `effect` against a sandbox over `file`, then stop that sandbox. */
const withSandbox = <A, E>(file: string, effect: Effect.Effect<A, E, AimairaSandbox.AimairaSandbox | HttpClient.HttpClient>) =>
  Effect.scoped(Effect.provide(effect, sandboxLayer({ stateFile: file })))

describe("AimairaSandbox state file", () => {
  it.live("a sandbox started again over its file holds what the last one held, and numbers after it", () =>
    Effect.gen(function*() {
      const file = tmpFile()
      const first = yield* withSandbox(
        file,
        Effect.gen(function*() {
          // Written at start, before any request: a process killed at once still leaves it.
          expect(Fs.existsSync(file)).toBe(true)
          const entreprise = yield* call("POST", "/Entreprise", { body: { Nom: "Boulangerie Persistée" } })
          expect(entreprise.status).toBe(201)
          const mail = yield* call("POST", "/Mail", { body: { Adresse: "garde@example.fr", Code: "relais-abc" } })
          const sandbox = yield* AimairaSandbox.AimairaSandbox
          const convention = (yield* state).collections.Convention![0]!
          yield* sandbox.addDocument(convention.Id, "cerfa.pdf")
          return { entreprise: entreprise.json.Id as number, mail: mail.json.Id as number, snapshot: yield* state }
        })
      )
      const second = yield* withSandbox(
        file,
        Effect.gen(function*() {
          const restored = yield* state
          const another = yield* call("POST", "/Entreprise", { body: { Nom: "Une autre" } })
          const mail = yield* call("GET", `/Mail(${first.mail})`)
          return { restored, another: another.json.Id as number, mail: mail.json }
        })
      )
      expect(second.restored).toEqual(first.snapshot)
      expect(second.mail).toMatchObject({ Adresse: "garde@example.fr", Code: "relais-abc" })
      expect(second.another).toBeGreaterThan(Math.max(first.entreprise, first.mail))
      // A third start sees the second one's write too.
      const third = yield* withSandbox(file, Effect.map(state, (s) => s.collections.Entreprise!.map((e) => e.Id)))
      expect(third).toContain(second.another)
    }))

  it.live("with a state file that does not hold its data, the sandbox refuses to start, naming the file", () =>
    Effect.gen(function*() {
      const file = tmpFile()
      Fs.writeFileSync(file, JSON.stringify({ format: "relais-sandbox-state", version: 1, sandbox: "aimaira", state: { counters: 3 } }))
      const exit = yield* Effect.exit(Effect.scoped(Layer.build(AimairaSandbox.layer({ stateFile: file }))))
      expect(Exit.isFailure(exit)).toBe(true)
      const text = JSON.stringify(exit)
      expect(text).toContain("it does not hold the AIMAIRA sandbox's data")
      expect(text).toContain(JSON.stringify(file).slice(1, -1))
    }))
})
