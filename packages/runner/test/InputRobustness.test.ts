/**
 * What a person may hand relais by mistake (or on purpose) is refused with a located message,
 * never a crash: deep or long expressions and YAML, files that are not UTF-8, several documents,
 * YAML tags, aliases and merge keys, and names like `toString` or `__proto__`.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { Plugin, Redactor } from "@relais/core"
import { Effect, Either, Layer, Option } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { readInputFile } from "../src/commands/Run.js"
import * as Config from "../src/Config.js"
import * as Definition from "../src/Definition.js"
import * as Expression from "../src/yaml/Expression.js"
import * as Load from "../src/yaml/Load.js"
import * as Source from "../src/yaml/Source.js"
import * as T from "../src/yaml/Types.js"
import { inProcess, stackTrace, tmpDir, writeFile } from "./harness/Cli.js"
import { runFlow } from "./support/RunFlow.js"
import { makePlugin, Remote } from "./support/TestPlugin.js"

const registry = Plugin.layer([makePlugin(new Remote())])

/** The diagnostics of a workflow text, as `line:col: message`, or [] when it loads. */
const problems = (text: string) =>
  Load.loadText(text, "flow.yaml").pipe(
    Effect.provide(registry),
    Effect.match({
      onFailure: (error) =>
        error._tag === "InvalidWorkflow"
          ? error.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`)
          : [`${error._tag}: ${error.message}`],
      onSuccess: () => []
    })
  )

/** The diagnostics of a file on disk, through `Load.loadFile`. */
const fileProblems = (file: string) =>
  Load.loadFile(file).pipe(
    Effect.provide(registry),
    Effect.match({
      onFailure: (error) =>
        error._tag === "InvalidWorkflow"
          ? error.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`)
          : [`${error._tag}: ${error.message}`],
      onSuccess: () => []
    })
  )

const notify = (message: string) => `version: 1
name: flow
inputs:
  n: integer
steps:
  - id: tell
    uses: test/notify
    with:
      message: ${message}
`

const parseError = (text: string) => {
  const result = Expression.parse(text)
  return "error" in result ? result.error : undefined
}

const dir = tmpDir("relais-robust-")
const bytesFile = (name: string, bytes: Uint8Array | string) => {
  const file = Path.join(dir, name)
  Fs.writeFileSync(file, bytes)
  return file
}

const valid = notify("hello")

describe("deep and long input", () => {
  it("expressions: nesting is bounded, with the offset of the first level too many", () => {
    const parens = `${"(".repeat(1000)}1${")".repeat(1000)}`
    expect(parseError(parens)).toEqual({
      at: Expression.maxNesting,
      message: `expression nested too deeply (more than ${Expression.maxNesting} levels of parentheses, brackets, calls or operators): simplify it`
    })
    for (const deep of [`${"!".repeat(5000)}true`, `${"[".repeat(5000)}${"]".repeat(5000)}`, `${"length(".repeat(3000)}'a'${")".repeat(3000)}`, `${"a ? b : ".repeat(3000)}c`, `${"x[".repeat(100)}0${"]".repeat(100)}`]) {
      expect(parseError(deep)?.message).toContain("nested too deeply")
    }
    // The limit itself is fine, and every walk of it works.
    const limit = `${"(".repeat(Expression.maxNesting - 1)}n + 1${")".repeat(Expression.maxNesting - 1)}`
    const parsed = Expression.parse(limit)
    expect("expr" in parsed).toBe(true)
    if ("expr" in parsed) {
      expect(Expression.evaluate(parsed.expr, new Map([["n", 41]]))).toBe(42)
      expect(Expression.typeOf(parsed.expr, { names: new Map([["n", T.integer]]) }).errors).toEqual([])
    }
  })

  it("expressions: a chain of thousands of terms is refused, not a stack overflow; a long allowed one evaluates", () => {
    const chain = (n: number) => Array.from({ length: n }, () => "n").join(" + ")
    expect(parseError(chain(4000))?.message).toBe(
      `this expression is too long (more than ${Expression.maxParts} names, values and operators): shorten it`
    )
    expect(parseError(Array.from({ length: 4000 }, () => "a.b").join(" && "))?.message).toContain("too long")
    expect(parseError(`x${".y".repeat(5000)}`)?.message).toContain("too long")
    // A name with a long run of dashes is read in linear time (a trimming regular expression
    // used to backtrack over it: minutes for this one).
    const dashes = Expression.parse(`a${"-".repeat(200_000)}b`)
    expect("expr" in dashes && dashes.expr._tag === "Name" && dashes.expr.name.length).toBe(200_002)
    // 500 terms and 499 operators: at the limit, and the tree walks (type, evaluation,
    // references) handle its height.
    const parsed = Expression.parse(chain(500))
    if (!("expr" in parsed)) throw new Error(parsed.error.message)
    expect(Expression.evaluate(parsed.expr, new Map([["n", 2]]))).toBe(1000)
    expect(Expression.typeOf(parsed.expr, { names: new Map([["n", T.integer]]) }).errors).toEqual([])
    expect(Expression.references(parsed.expr)).toHaveLength(500)
  })

  it.effect("expressions in a workflow: located at file:line:col, exit-free", () =>
    Effect.gen(function*() {
      const deep = notify(`"\${{ ${"(".repeat(1000)}inputs.n${")".repeat(1000)} }}"`)
      // The 65th parenthesis, after `      message: "${{ `.
      expect(yield* problems(deep)).toEqual([
        `9:${21 + Expression.maxNesting}: expression nested too deeply (more than ${Expression.maxNesting} levels of parentheses, brackets, calls or operators): simplify it`
      ])
      const long = notify(`"\${{ ${Array.from({ length: 4000 }, () => "string(inputs.n)").join(" + ")} }}"`)
      const found = yield* problems(long)
      expect(found).toHaveLength(1)
      expect(found[0]).toMatch(/^9:\d+: this expression is too long/)
    }))

  it.live("a long expression under the limit runs (the evaluator inside the engine has room)", () =>
    Effect.gen(function*() {
      const terms = Array.from({ length: 300 }, (_, i) => `'${i % 10}'`).join(" + ")
      const flow = `${notify(`"\${{ ${terms} }}"`)}outputs:\n  message: \${{ steps.tell.output.message }}\n`
      const { record } = yield* runFlow(flow, { n: 1 })
      expect(record.status).toBe("succeeded")
      expect(record.output).toEqual({ message: Array.from({ length: 300 }, (_, i) => String(i % 10)).join("") })
    }))

  it("YAML: nesting deeper than the limit is refused where it starts, in every style", () => {
    const message = `YAML nested more than ${Source.maxDepth} levels (mappings and lists inside each other): flatten this part`
    const flowSeq = `a: ${"[".repeat(5000)}${"]".repeat(5000)}\n`
    expect(Source.parse(flowSeq).problems).toEqual([{ pos: { line: 1, column: 3 + Source.maxDepth }, message }])
    const flowMap = `a: ${"{a: ".repeat(5000)}1${"}".repeat(5000)}\n`
    expect(Source.parse(flowMap).problems.map((p) => p.message)).toEqual([message])
    const dashes = `a:\n  ${"- ".repeat(5000)}x\n`
    expect(Source.parse(dashes).problems).toEqual([{ pos: { line: 2, column: 3 + 2 * (Source.maxDepth - 1) }, message }])
    const indented = Array.from({ length: 3000 }, (_, i) => `${" ".repeat(i)}k:`).join("\n") + " 1\n"
    // Line i holds the mapping at depth i.
    expect(Source.parse(indented).problems).toEqual([{ pos: { line: Source.maxDepth + 1, column: Source.maxDepth + 1 }, message }])
    // At the limit: read.
    const atLimit = `${"[".repeat(Source.maxDepth)}1${"]".repeat(Source.maxDepth)}\n`
    const parsed = Source.parse(atLimit)
    expect(parsed.problems).toEqual([])
    expect(Source.tooDeep(Source.toJs(parsed.root!))).toBeUndefined()
  })

  it.effect("YAML: a deep workflow file is refused through Load.loadFile", () =>
    Effect.gen(function*() {
      const file = writeFile(dir, "deep.yaml", valid.replace("message: hello", `message: hello\n      tags: ${"[".repeat(3000)}${"]".repeat(3000)}`))
      // The root, steps, the step and with are 4 levels: the 61st bracket is one too many.
      expect(yield* fileProblems(file)).toEqual([
        `10:${13 + Source.maxDepth - 4}: YAML nested more than ${Source.maxDepth} levels (mappings and lists inside each other): flatten this part`
      ])
    }))

  it("inputs: JSON and YAML input files, and --input values, are bounded too", () => {
    const deepJson = `{"a": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`
    expect(Source.readData(deepJson, "json", "set of inputs")).toEqual({
      problems: [{
        pos: { line: 1, column: 7 + Source.maxDepth - 1 },
        message: `JSON nested more than ${Source.maxDepth} levels (objects and arrays inside each other): flatten this part`
      }]
    })
    // Brackets inside texts do not count.
    expect(Source.readData(`{"a": "${"[".repeat(1000)}"}`, "json", "set of inputs")).toEqual({ value: { a: "[".repeat(1000) } })
    expect(Source.readData(`a: ${"[".repeat(1000)}${"]".repeat(1000)}\n`, "yaml", "set of inputs")).toMatchObject({
      problems: [{ message: expect.stringContaining("YAML nested more than") }]
    })
    expect(Source.readData(`{"a": [1, }`, "json", "set of inputs")).toMatchObject({ problems: [{ message: expect.stringMatching(/^invalid JSON: /) }] })
    expect(Source.tooDeep({ a: [[{ b: 1 }]] }, 3)).toEqual(["a", 0, 0])
    expect(Source.tooDeep({ a: [[{ b: 1 }]] }, 4)).toBeUndefined()
  })

  it.effect("inputs: a value nested too deep is refused by parseInputs, whatever its source", () =>
    Effect.gen(function*() {
      const loaded = yield* Load.loadText(`version: 1
name: deep
inputs:
  data: object
steps:
  - id: tell
    uses: test/notify
    with: { message: '\${{ json(inputs.data) }}' }
`, "deep.yaml").pipe(Effect.provide(registry))
      let deep: unknown = 1
      for (let i = 0; i < 10_000; i++) deep = { a: deep }
      const fromFile = yield* Effect.flip(Load.parseInputs(loaded, [], { data: deep as Record<string, unknown> }))
      expect(fromFile.diagnostics.map((d) => d.message)).toEqual([
        `--input-file: input "data" is nested more than ${Source.maxDepth} levels (at data.a.a.a...): flatten it`
      ])
      const json = `${"{\"a\":".repeat(10_000)}1${"}".repeat(10_000)}`
      const fromFlag = yield* Effect.flip(Load.parseInputs(loaded, [["data", json]], undefined))
      expect(fromFlag.diagnostics.map((d) => d.message)).toEqual([
        `--input data: input "data" is nested more than ${Source.maxDepth} levels (at data.a.a.a...): flatten it`
      ])
    }))

  it.effect("wide input is checked in linear time: 50,000 keys, 50,000 distinct values, duplicates found", () =>
    Effect.gen(function*() {
      // Quadratic checks (the yaml library's duplicate keys, a union deduplicated by scanning)
      // took minutes on files like these; the suite's timeout is the bound here.
      const n = 50_000
      const keys = `${valid}outputs:\n${Array.from({ length: n }, (_, i) => `  k${i}: ${i}`).join("\n")}\n`
      expect(yield* problems(keys)).toEqual([])
      // `run` reads the checked text again for its providers: the same reader.
      expect([...Definition.pluginsUsed(keys.replace("test/notify", "aimaira/notify"))]).toEqual(["aimaira"])
      const values = `${valid}outputs:\n  x: [${Array.from({ length: n }, (_, i) => i).join(", ")}]\n`
      expect(yield* problems(values)).toEqual([])
      expect(yield* problems(`${keys}  k7: again\n`)).toEqual([`${n + 11}:3: this key appears twice in the same mapping`])
      // A long line with thousands of syntax errors: one message for the line.
      const errors = yield* problems(`${valid}outputs:\n  x: ${"[] ".repeat(20_000)}\n`)
      expect(errors).toEqual(["11:9: invalid YAML: Unexpected flow-seq-start at node end"])
      // Keys are text: 1 and "1" are the same key.
      expect(Source.parse("1: a\n'1': b\n").problems).toEqual([{ pos: { line: 2, column: 1 }, message: "this key appears twice in the same mapping" }])
    }), { timeout: 120_000 })

  it.effect("the CLI: validate answers exit 2 with a located message, no stack trace, for each kind of depth", () =>
    Effect.gen(function*() {
      const files = [
        writeFile(dir, "cli-parens.yaml", notify(`"\${{ ${"(".repeat(1000)}inputs.n${")".repeat(1000)} }}"`)),
        writeFile(dir, "cli-chain.yaml", notify(`"\${{ ${Array.from({ length: 4000 }, () => "string(inputs.n)").join(" + ")} }}"`)),
        writeFile(dir, "cli-yaml.yaml", valid.replace("message: hello", `message: ${"[".repeat(5000)}${"]".repeat(5000)}`))
      ]
      for (const file of files) {
        const result = yield* inProcess(["validate", file])
        expect(result.code).toBe(2)
        expect(result.stderr).toContain(`${file}:`)
        expect(result.stderr).not.toMatch(stackTrace)
        expect(result.stderr).not.toContain("RangeError")
        expect(result.stderr).not.toContain("Maximum call stack")
      }
    }), { timeout: 120_000 })

  it.effect("the CLI: run refuses a deep --input-file and a mis-encoded or tagged workflow with exit 2, located", () =>
    Effect.gen(function*() {
      const flow = writeFile(dir, "cli-run.yaml", `version: 1
name: cli-run
inputs:
  data: { type: object, default: {} }
steps:
  - id: tell
    uses: test/notify
    with: { message: '\${{ json(inputs.data) }}' }
`)
      const plugins = [makePlugin(new Remote())]
      const store = Path.join(dir, "runs.db")
      const input = writeFile(dir, "cli-deep.json", `{"data": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`)
      const deep = yield* inProcess(["run", flow, "--input-file", input, "--store", store], { plugins })
      expect(deep.code).toBe(2)
      expect(deep.stderr).toContain(`${input}:1:${10 + Source.maxDepth - 1}: JSON nested more than ${Source.maxDepth} levels`)
      expect(deep.stderr).not.toMatch(stackTrace)
      for (
        const [file, message] of [
          [bytesFile("cli-latin1.yaml", Buffer.from(valid.replace("hello", "héllo"), "latin1")), "9:17: this file is not UTF-8"],
          [writeFile(dir, "cli-tag.yaml", valid.replace("hello", "!!binary R0lGOD")), "9:16: the YAML tag !!binary is not supported"]
        ] as const
      ) {
        const result = yield* inProcess(["run", file, "--input", "n=1", "--store", store], { plugins })
        expect(result.code).toBe(2)
        expect(result.stderr).toContain(`${file}:${message}`)
        expect(result.stderr).not.toMatch(stackTrace)
      }
    }), { timeout: 120_000 })
})

describe("encodings, line endings, documents", () => {
  it.effect("a Latin-1 file is refused at its first non-UTF-8 byte, with what to do", () =>
    Effect.gen(function*() {
      const file = bytesFile("latin1.yaml", Buffer.from(valid.replace("message: hello", "message: café crème"), "latin1"))
      expect(yield* fileProblems(file)).toEqual([
        `9:19: this file is not UTF-8: the character here is not valid UTF-8 (the file is probably Latin-1 or Windows-1252); save it as UTF-8 (in most editors: "Save with encoding" or "Reopen/Save as", then UTF-8)`
      ])
      // The same text in UTF-8 loads.
      expect(yield* fileProblems(bytesFile("utf8.yaml", valid.replace("message: hello", "message: café crème")))).toEqual([])
    }))

  it.effect("UTF-16 is named, with or without a byte-order mark; a UTF-8 byte-order mark is fine", () =>
    Effect.gen(function*() {
      const le = bytesFile("utf16le.yaml", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(valid, "utf16le")]))
      const beNoBom = bytesFile("utf16be.yaml", Buffer.from(valid, "utf16le").swap16())
      for (const file of [le, beNoBom]) {
        const found = yield* fileProblems(file)
        expect(found).toHaveLength(1)
        expect(found[0]).toMatch(/^1:1: this file is UTF-16 \(.*\), not UTF-8: save it as UTF-8/)
      }
      const bom = bytesFile("bom.yaml", `\uFEFF${valid}`)
      expect(yield* fileProblems(bom)).toEqual([])
      // Positions on the first line are not shifted by the mark.
      expect(yield* fileProblems(bytesFile("bom-bad.yaml", `\uFEFFversio: 1\n${valid.slice("version: 1\n".length)}`))).toEqual([
        "1:1: unknown key \"versio\" in the workflow (did you mean \"version\"?)",
        "1:1: add `version: 1` at the top of the file"
      ])
    }))

  it("the decoder finds every kind of malformed UTF-8, and accepts every well-formed one", () => {
    const at = (bytes: Array<number>) => {
      const decoded = Source.decode(Uint8Array.from([0x61, 0x0a, 0x62, ...bytes]))
      return "problem" in decoded ? decoded.problem.pos : decoded.text
    }
    for (const bad of [[0xc0, 0x80], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xe9, 0x20]]) {
      expect(at(bad)).toEqual({ line: 2, column: 2 })
    }
    expect(at([0xf0, 0x9f, 0x98, 0x80, 0xc3, 0xa9])).toBe("a\nb😀é")
    const nul = Source.decode(Uint8Array.from([0x61, 0x0a, 0x00]))
    expect(nul).toEqual({ problem: { pos: { line: 2, column: 1 }, message: "this file contains a NUL character here: it is not a text file saved as UTF-8" } })
  })

  it.effect("lines ended by CR alone are refused (CRLF is fine), located", () =>
    Effect.gen(function*() {
      expect(yield* fileProblems(bytesFile("cr.yaml", valid.replace(/\n/g, "\r")))).toEqual([
        "1:11: this line ends with a carriage return alone (old Mac OS style), which YAML reads ambiguously: save the file with LF (or CRLF) line endings"
      ])
      expect(yield* problems(valid.replace("name: flow\n", "name: flow\rx: 1\n"))).toEqual([
        "2:11: this line ends with a carriage return alone (old Mac OS style), which YAML reads ambiguously: save the file with LF (or CRLF) line endings"
      ])
      expect(yield* fileProblems(bytesFile("crlf.yaml", valid.replace(/\n/g, "\r\n")))).toEqual([])
    }))

  it.effect("several documents: one file holds one workflow, located at the second", () =>
    Effect.gen(function*() {
      const message = "a second YAML document starts here: one file holds one workflow; move this one to a file of its own (or remove the ---)"
      expect(yield* problems(`${valid}---\n${valid}`)).toEqual([`10:1: ${message}`])
      expect(yield* problems(`${valid}---\n`)).toEqual([`10:1: ${message}`])
      // A leading --- or a final ... is one document.
      expect(yield* problems(`---\n${valid}...\n`)).toEqual([])
      expect(Source.readData("a: 1\n---\nb: 2\n", "yaml", "set of inputs")).toMatchObject({
        problems: [{ pos: { line: 2, column: 1 }, message: expect.stringContaining("one file holds one set of inputs") }]
      })
    }))
})

describe("YAML tags, aliases, merge keys", () => {
  it.effect("tags other than the plain core ones are refused where they are", () =>
    Effect.gen(function*() {
      const unsupported = (tag: string) =>
        `the YAML tag ${tag} is not supported: write the value plainly (quote it to make it a text)`
      expect(yield* problems(valid.replace("message: hello", "message: !!binary R0lGODlhAQABAAAAACw="))).toEqual([
        `9:16: ${unsupported("!!binary")}`
      ])
      expect(yield* problems(valid.replace("message: hello", "message: !foo hello"))).toEqual([`9:16: ${unsupported("!foo")}`])
      expect(yield* problems(valid.replace("message: hello", "message: !!timestamp 2001-12-14"))).toEqual([
        `9:16: ${unsupported("!!timestamp")}`
      ])
      expect(yield* problems(valid.replace("message: hello", "message: hello\n      tags: !!set { a }"))).toEqual([
        `10:13: ${unsupported("!!set")}`
      ])
      expect(yield* problems(valid.replace("message: hello", "message: !<tag:example.com,2000:x> hello"))).toEqual([
        `9:16: ${unsupported("tag:example.com,2000:x")}`
      ])
      expect(yield* problems(`%TAG !! tag:example.com,2000:\n---\n${valid.replace("message: hello", "message: !!str hello")}`)).toEqual([
        "1:1: YAML directives (%YAML, %TAG) are not supported: remove this line (relais reads YAML 1.2)"
      ])
      expect(yield* problems(`%YAML 1.1\n---\n${valid}`)).toEqual([
        "1:1: YAML directives (%YAML, %TAG) are not supported: remove this line (relais reads YAML 1.2)"
      ])
      // The core ones are plain YAML; one that does not fit its value is refused.
      expect(yield* problems(valid.replace("message: hello", "message: !!str 12"))).toEqual([])
      expect(yield* problems(valid.replace("n: integer", "n: { type: integer, default: !!int '3' }"))).toEqual([])
      expect(yield* problems(valid.replace("n: integer", "n: { type: integer, default: !!int abc }"))).toEqual([
        "4:32: the YAML tag !!int does not fit this value: remove the tag, or fix the value"
      ])
    }))

  it("!!str keeps a text a text; !!binary never reaches a step", () => {
    const parsed = Source.parse("a: !!str 12\nb: !!float 1.5\n")
    expect(parsed.problems).toEqual([])
    expect(Source.toJs(parsed.root!)).toEqual({ a: "12", b: 1.5 })
    // The core schema's float needs a dot or an exponent, as the yaml library reads it.
    expect(Source.parse("b: !!float 1\n").problems.map((p) => p.message)).toEqual([
      "the YAML tag !!float does not fit this value: remove the tag, or fix the value"
    ])
  })

  it("aliases are refused without being expanded (billion laughs), merge keys too", () => {
    const laughs = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i)
      const next = String.fromCharCode(97 + i)
      laughs.push(`${next}: &${next} [${Array.from({ length: 9 }, () => `*${prev}`).join(", ")}]`)
    }
    const parsed = Source.parse(laughs.join("\n"))
    expect(parsed.root).toBeUndefined()
    expect(parsed.problems).toHaveLength(81)
    expect(parsed.problems[0]).toEqual({ pos: { line: 2, column: 8 }, message: "YAML aliases (*name) are not supported: write the value out" })
    expect(Source.parse("a: 1\n<<: { b: 2 }\n").problems).toEqual([
      { pos: { line: 2, column: 1 }, message: "YAML merge keys (<<) are not supported: write the keys out" }
    ])
    // A quoted "<<" is a plain key.
    expect(Source.parse("\"<<\": 1\n").problems).toEqual([])
  })

  it.effect("input files and the configuration file go through the same reader", () =>
    Effect.gen(function*() {
      const inputs = writeFile(dir, "inputs.yaml", "name: !!binary R0lGOD\n")
      const error = yield* Effect.flip(readInputFile(inputs).pipe(Effect.provide(NodeContext.layer)))
      expect(error.message).toBe(`${inputs}:1:7: the YAML tag !!binary is not supported: write the value plainly (quote it to make it a text)`)
      const json = writeFile(dir, "inputs.json", `{"a": ${"[".repeat(1000)}${"]".repeat(1000)}}`)
      const deep = yield* Effect.flip(readInputFile(json).pipe(Effect.provide(NodeContext.layer)))
      expect(deep.message).toContain(`${json}:1:${7 + Source.maxDepth - 1}: JSON nested more than ${Source.maxDepth} levels`)
      const twoDocuments = yield* Effect.flip(readInputFile(writeFile(dir, "two.yaml", "a: 1\n---\nb: 2\n")).pipe(Effect.provide(NodeContext.layer)))
      expect(twoDocuments.message).toContain("one file holds one set of inputs")
      expect(yield* readInputFile(writeFile(dir, "ok.yaml", "toString: a\nvalueOf: 2\n")).pipe(Effect.provide(NodeContext.layer))).toEqual({
        toString: "a",
        valueOf: 2
      })

      // The configuration file is decoded strictly too (a Latin-1 password would be sent garbled),
      // and the message shows no byte of it.
      const latin1 = bytesFile("relais.config.yaml", Buffer.from("profiles:\n  p:\n    aimaira: { url: https://x.aimaira.net, username: u, password: sécret }\n", "latin1"))
      const refused = yield* Effect.flip(Config.load(Option.some(latin1)).pipe(Effect.provide(Layer.merge(NodeContext.layer, Redactor.layer))))
      expect(refused.problems.map((p) => p.toString())).toEqual([
        `${latin1}:3:68: this file is not UTF-8: the character here is not valid UTF-8 (the file is probably Latin-1 or Windows-1252); save it as UTF-8 (in most editors: "Save with encoding" or "Reopen/Save as", then UTF-8)`
      ])
      expect(refused.message).not.toMatch(/cret|E9|233/)

      const config = (text: string) =>
        Either.match(Config.parse(text, "relais.config.yaml", "/tmp"), { onLeft: (e) => e.problems.map((p) => p.toString()), onRight: () => [] })
      expect(config("profiles:\n  p:\n    aimaira: { url: !!binary aHR0cA== }\n")).toEqual([
        "relais.config.yaml:3:21: the YAML tag !!binary is not supported: write the value plainly (quote it to make it a text)"
      ])
      expect(config(`profiles: ${"[".repeat(3000)}${"]".repeat(3000)}\n`)[0]).toContain("YAML nested more than")
      expect(config("profiles: {}\n---\nprofiles: {}\n")).toEqual([
        "relais.config.yaml:2:1: a second YAML document starts here: one file holds one configuration; move this one to a file of its own (or remove the ---)"
      ])
    }))
})

describe("names like Object.prototype members", () => {
  const flow = `version: 1
name: proto
inputs:
  toString: string
  valueOf: { type: string, default: dv }
  hasOwnProperty: { type: integer, required: false }
  isPrototypeOf: { type: object, default: { toString: 1, valueOf: 2 } }
steps:
  - id: toString
    uses: test/notify
    with:
      message: "\${{ inputs.toString }}-\${{ inputs.valueOf }}-\${{ inputs.hasOwnProperty ?? 0 }}-\${{ inputs.isPrototypeOf.valueOf }}-\${{ inputs.isPrototypeOf['toString'] }}"
  - id: each
    forEach: \${{ ['a', 'b'] }}
    as: valueOf
    steps:
      - id: hasOwnProperty
        uses: test/notify
        with: { message: '\${{ valueOf }}' }
outputs:
  hasOwnProperty: \${{ steps.toString.output.message }}
  toString: \${{ pluck(steps.each.output, 'hasOwnProperty') }}
  valueOf: \${{ inputs.valueOf }}
`

  it.live("inputs, step ids, loop variables, outputs and fields called toString, valueOf... work", () =>
    Effect.gen(function*() {
      const loaded = yield* Load.loadText(flow, "proto.yaml").pipe(Effect.provide(registry))
      expect(loaded.inputs.map((i) => i.name)).toEqual(["toString", "valueOf", "hasOwnProperty", "isPrototypeOf"])
      // The default of `valueOf` applies: nothing inherited counts as given.
      const inputs = yield* Load.parseInputs(loaded, [["toString", "ts"]], undefined)
      expect(inputs).toEqual({ toString: "ts", valueOf: "dv", isPrototypeOf: { toString: 1, valueOf: 2 } })
      expect(Object.keys(inputs)).toEqual(["toString", "valueOf", "isPrototypeOf"])
      const { record } = yield* runFlow(flow, inputs)
      expect(record.status).toBe("succeeded")
      expect(record.output).toEqual({
        hasOwnProperty: "ts-dv-0-2-1",
        toString: [{ sent: true, message: "a" }, { sent: true, message: "b" }],
        valueOf: "dv"
      })
    }))

  it.effect("a required input called toString is reported missing", () =>
    Effect.gen(function*() {
      const loaded = yield* Load.loadText(flow, "proto.yaml").pipe(Effect.provide(registry))
      const error = yield* Effect.flip(Load.parseInputs(loaded, [], undefined))
      expect(error.diagnostics.map((d) => d.message)).toEqual([
        "the input \"toString\" (string) is required: pass --input toString=..."
      ])
      const unknown = yield* Effect.flip(Load.parseInputs(loaded, [["toString", "x"]], JSON.parse("{\"__proto__\": 1, \"constructor\": 2}")))
      expect(unknown.diagnostics.map((d) => d.message)).toEqual([
        "--input-file: proto has no input \"__proto__\"; its inputs are toString, valueOf, hasOwnProperty, isPrototypeOf",
        "--input-file: proto has no input \"constructor\"; its inputs are toString, valueOf, hasOwnProperty, isPrototypeOf"
      ])
    }))

  it.effect("functions called like Object.prototype members are unknown functions, not a crash", () =>
    Effect.gen(function*() {
      for (const name of ["toString", "valueOf", "hasOwnProperty", "isPrototypeOf", "toLocaleString"]) {
        const found = yield* problems(notify(`"\${{ ${name}(inputs.n) }}"`))
        expect(found).toHaveLength(1)
        expect(found[0]).toMatch(new RegExp(`^9:21: unknown function "${name}"`))
        const parsed = Expression.parse(`${name}(1)`)
        if (!("expr" in parsed)) throw new Error("parse")
        expect(() => Expression.evaluate(parsed.expr, new Map())).toThrow(Expression.EvalError)
      }
    }))

  it.effect("names that cannot be plain data are refused where they are declared", () =>
    Effect.gen(function*() {
      const base = `version: 1
name: reserved
inputs:
  constructor: string
  __defineGetter__: string
steps:
  - id: prototype
    uses: test/notify
    with: { message: hi }
  - id: loop
    forEach: \${{ [1] }}
    as: __lookupSetter__
    steps:
      - id: inner
        uses: test/notify
        with: { message: hi }
outputs:
  constructor: x
`
      expect(yield* problems(base)).toEqual([
        "4:3: \"constructor\" cannot be the name of an input: expressions cannot read it; choose another name",
        "5:3: \"__defineGetter__\" cannot be the name of an input: expressions cannot read it; choose another name",
        "7:9: \"prototype\" cannot be the name of a step: expressions cannot read it; choose another name",
        "12:9: \"__lookupSetter__\" cannot be the name of a loop variable: expressions cannot read it; choose another name",
        "18:3: \"constructor\" cannot be the name of an output: expressions cannot read it; choose another name"
      ])
      // `__proto__` cannot even be a key, anywhere in the file (it would set a prototype).
      const proto = base.replace("  __defineGetter__: string", "  __proto__: string").replace(
        "with: { message: hi }\noutputs",
        "with: { message: hi, __proto__: { polluted: true } }\noutputs"
      )
      expect(yield* problems(proto)).toEqual([
        "5:3: \"__proto__\" cannot be used as a key: choose another name",
        "16:30: \"__proto__\" cannot be used as a key: choose another name"
      ])
      expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined()
    }))

  it("null-free objects keep keys named like prototype members as data", () => {
    const value = Source.toJs(Source.parse("toString: 1\nvalueOf: { hasOwnProperty: 2 }\n").root!) as Record<string, unknown>
    expect(Object.keys(value)).toEqual(["toString", "valueOf"])
    expect(value["toString"]).toBe(1)
    const out: Record<string, unknown> = {}
    Source.setOwn(out, "__proto__", { polluted: true })
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect(Object.keys(out)).toEqual(["__proto__"])
  })
})
