/**
 * The JSON Schema committed at the repository root (relais.schema.json, which the examples point
 * their editors at) is the one `relais schema` writes today: regenerate it with
 * `pnpm relais schema` when a step's input changes.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Plugins from "../src/Plugins.js"
import * as Load from "../src/yaml/Load.js"

describe("relais.schema.json", () => {
  it.effect("is up to date with the steps of the providers", () =>
    Effect.gen(function*() {
      const committed = JSON.parse(Fs.readFileSync(Path.resolve(import.meta.dirname, "../../../relais.schema.json"), "utf8"))
      const current = yield* Load.jsonSchema.pipe(Effect.provide(Plugins.layer({ sandbox: false })), Effect.orDie)
      expect(committed).toEqual(JSON.parse(JSON.stringify(current)))
    }))

  it("is what the examples point their editors at", () => {
    const examples = Path.resolve(import.meta.dirname, "../../../examples")
    // Every workflow (relais.*.config.yaml are configuration files, with a schema of their own).
    for (const file of Fs.readdirSync(examples).filter((f) => f.endsWith(".yaml") && !f.endsWith(".config.yaml"))) {
      expect(Fs.readFileSync(Path.join(examples, file), "utf8").split("\n")[0]).toBe(
        "# yaml-language-server: $schema=../relais.schema.json"
      )
    }
  })
})
