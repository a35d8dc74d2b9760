/**
 * The corpus of invalid workflow files: each must be refused before anything runs, with
 * exactly the expected messages at the expected positions (test/invalid/expected.json).
 */
import { describe, expect, it } from "@effect/vitest"
import { Plugin } from "@relais/core"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Load from "../src/yaml/Load.js"
import { makePlugin, Remote } from "./support/TestPlugin.js"

const dir = Path.join(__dirname, "invalid")
const expected = JSON.parse(Fs.readFileSync(Path.join(dir, "expected.json"), "utf8")) as Record<string, Array<string>>
const files = Fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort()

const diagnosticsOf = (file: string) =>
  Load.loadFile(Path.join(dir, file)).pipe(
    Effect.provide(Plugin.layer([makePlugin(new Remote())])),
    Effect.flip,
    Effect.map((error) =>
      error._tag === "InvalidWorkflow"
        ? error.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`)
        : [`${error._tag}: ${error.message}`]
    )
  )

describe("invalid workflows", () => {
  it("the corpus has at least 30 files, each with its expected messages", () => {
    expect(files.length).toBeGreaterThanOrEqual(30)
    expect(Object.keys(expected).sort()).toEqual(files)
  })

  for (const file of files) {
    it.effect(file, () =>
      Effect.gen(function*() {
        const found = yield* diagnosticsOf(file)
        expect(found).toEqual(expected[file])
        // The message renders as file:line:col: message, one per line.
        const error = yield* Effect.flip(Load.loadFile(Path.join(dir, file)).pipe(Effect.provide(Plugin.layer([makePlugin(new Remote())]))))
        expect(error.message.split("\n")[0]).toContain(`${Path.join(dir, file)}:`)
      }))
  }
})
