/**
 * The workflow format is described once (src/yaml/Format.ts): the reader walks YAML along it,
 * `Schema.decodeUnknown` of the same schema accepts the same documents, and the editor schema is
 * generated from it. These tests hold the three to each other.
 */
import { describe, expect, it } from "@effect/vitest"
import { Plugin } from "@relais/core"
import { Effect, Either, Schema } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Format from "../src/yaml/Format.js"
import * as JsonSchema from "../src/yaml/JsonSchema.js"
import * as Model from "../src/yaml/Model.js"
import * as Source from "../src/yaml/Source.js"
import { makePlugin, Remote } from "./support/TestPlugin.js"

const decode = Schema.decodeUnknownEither(Format.Workflow, { onExcessProperty: "error", errors: "all" })

const read = (text: string) => {
  const parsed = Source.parse(text)
  expect(parsed.problems).toEqual([])
  return { ...Model.read(parsed.root), js: parsed.root === undefined ? undefined : Source.toJs(parsed.root) }
}

const messages = (text: string) =>
  [...read(text).problems]
    .sort((a, b) => a.pos.line - b.pos.line || a.pos.column - b.pos.column)
    .map((p) => `${p.pos.line}:${p.pos.column}: ${p.message}`)

const invalidDir = Path.join(import.meta.dirname, "invalid")
const examplesDir = Path.resolve(import.meta.dirname, "../../../examples")

describe("Format", () => {
  it("Schema.decodeUnknown accepts the examples, as the reader does", () => {
    const files = Fs.readdirSync(examplesDir).filter((f) => f.endsWith(".yaml") && !f.endsWith(".config.yaml"))
    expect(files.length).toBeGreaterThanOrEqual(3)
    for (const file of files) {
      const { js, problems } = read(Fs.readFileSync(Path.join(examplesDir, file), "utf8"))
      expect(problems, file).toEqual([])
      expect(Either.isRight(decode(js)), file).toBe(true)
    }
  })

  it("the reader and Schema.decodeUnknown refuse the same files of the invalid corpus", () => {
    let refused = 0
    for (const file of Fs.readdirSync(invalidDir).filter((f) => f.endsWith(".yaml"))) {
      const parsed = Source.parse(Fs.readFileSync(Path.join(invalidDir, file), "utf8"))
      if (parsed.problems.length > 0) continue // YAML itself, not the format
      const byReader = Model.read(parsed.root).problems.length > 0
      const bySchema = Either.isLeft(decode(parsed.root === undefined ? undefined : Source.toJs(parsed.root)))
      expect(bySchema, file).toBe(byReader)
      if (byReader) refused++
    }
    // The structural half of the corpus (the rest are semantic: unknown steps, types...).
    expect(refused).toBeGreaterThanOrEqual(15)
  })

  it("durations decode to milliseconds, in the reader and in the schema", () => {
    const decodeDuration = Schema.decodeUnknownSync(Format.Duration)
    expect(["500ms", "30s", "2m", "1h", " 1.5s ", 250].map((d) => decodeDuration(d))).toEqual([500, 30_000, 120_000, 3_600_000, 1500, 250])
    for (const bad of ["30 seconds", "-1s", -5, "1d"]) expect(() => decodeDuration(bad)).toThrow()
    const { model } = read(`version: 1
name: d
defaults: { timeout: 2m, retry: { initialDelay: 1.5s, maxDelay: 1h } }
steps:
  - { id: a, uses: x/y, timeout: 250 }
`)
    expect(model?.defaults).toMatchObject({ timeoutMillis: 120_000, retry: { initialDelayMillis: 1500, maxDelayMillis: 3_600_000 } })
    expect(model?.steps[0]).toMatchObject({ kind: "step", timeoutMillis: 250 })
  })

  it("retryOn takes what a retry policy takes: statuses, 4xx, 5xx, timeout, error names", () => {
    expect(messages(`version: 1
name: r
steps:
  - id: a
    uses: x/y
    retry: { retryOn: [429, 4xx, 5xx, timeout, Transport, 99, "not a name"], factor: 0.5 }
`)).toEqual([
      "6:59: retry.retryOn items are HTTP statuses (429), 4xx, 5xx, timeout, or error names (Transport)",
      "6:63: retry.retryOn items are HTTP statuses (429), 4xx, 5xx, timeout, or error names (Transport)",
      "6:86: retry.factor must be a number of at least 1"
    ])
  })

  it("names what is wrong where it is: groups, compensations, expressions, inputs", () => {
    expect(messages(`version: 1
name: m
inputs:
  n: { type: integer, required: maybe, default: 1 }
  list: array
steps:
  - id: g
    steps: []
  - id: a
    if: "{{ inputs.n }}"
    uses: x/y
    retry: [1]
    compensate: { uses: x/undo, with: [1], width: 2 }
  - id: loop
    forEach: "\${{ inputs.list }} and more"
    steps:
      - { id: b, uses: x/y }
`)).toEqual([
      "4:33: required must be true or false",
      "8:12: the steps of group \"g\" is empty: add at least one step",
      "10:10: if: expressions are written ${{ … }} (a dollar sign and two braces)",
      "12:12: retry must be a mapping (maxAttempts, backoff, initialDelay, maxDelay, factor, jitter, retryOn), not a list",
      "13:39: compensate.with must be a mapping of the step's inputs, not a list",
      "13:44: unknown key \"width\" in compensate (did you mean \"with\"?)",
      "15:14: forEach must be one expression written ${{ … }}, not text with expressions inside"
    ])
  })

  it("a step of no known kind lists every key a step can have", () => {
    expect(messages(`version: 1
name: k
steps:
  - id: a
    run: x/y
`)).toEqual([
      `5:5: unknown key "run" in step "a"; expected one of: ${Format.keysOf(Format.Node.ast).join(", ")}`
    ])
    expect(Format.keysOf(Format.Node.ast)).toEqual([
      "id",
      "name",
      "description",
      "if",
      "uses",
      "with",
      "retry",
      "timeout",
      "compensate",
      "forEach",
      "as",
      "concurrency",
      "onItemFailure",
      "steps",
      "parallel"
    ])
  })

  it.effect("the editor schema is generated from the format: its keys, and the registry's step names", () =>
    Effect.gen(function*() {
    const schema = JsonSchema.make(yield* Plugin.makeRegistry([makePlugin(new Remote())])) as any
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#")
    expect(Object.keys(schema.properties)).toEqual(Format.keysOf(Format.Workflow.ast))
    expect(schema.required).toEqual(["version", "name", "steps"])
    for (const [kind, member] of Object.entries(Format.kinds)) {
      const def = schema.$defs[member.ast.annotations[Symbol.for("effect/annotation/Identifier")] as string]
      expect(Object.keys(def.properties), kind).toEqual(Format.keysOf(member.ast))
      expect(def.additionalProperties, kind).toBe(false)
      expect(def.required, kind).toContain(kind)
    }
    expect(schema.$defs.step.properties.uses.enum).toContain("test/notify")
    expect(schema.$defs.compensate.properties.uses.enum).toContain("test/delete-convention")
    expect(schema.$defs.step.allOf.length).toBeGreaterThan(0)
    // draft-07 ignores keywords beside a $ref: none is left.
    const refsWithSiblings = JSON.stringify(schema).match(/"\$ref":"[^"]*","/g)
    expect(refsWithSiblings).toBeNull()
  }))
})
