/**
 * What `validate` proves before a run, and what the run then holds to:
 * - `if:` is a boolean expression (a located error with what to write when its type is not
 *   boolean), and a value known only at run time is not taken for true or false;
 * - every literal part of a step's `with` is decoded against the step's schema (ranges,
 *   patterns, rules across fields such as "CiviliteId or CiviliteCode") whatever else is an
 *   expression, and `with:` empty or missing still needs the required fields;
 * - expression types agree with evaluation: the output of a step with `if:` may be null, list
 *   and text functions refuse it unless defaulted (`x ?? []` is a list), indexes are whole
 *   numbers from 0.
 * The providers' real steps are used where the rule is theirs (aimaira/find-or-create-learner),
 * the test plugin otherwise.
 */
import { describe, expect, it } from "@effect/vitest"
import { AimairaPlugin } from "@relais/aimaira"
import { Plugin, Step } from "@relais/core"
import { Effect, Schema } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Plugins from "../src/Plugins.js"
import * as Load from "../src/yaml/Load.js"
import { inProcess, tmpDir, writeFile } from "./harness/Cli.js"
import { runFlow } from "./support/RunFlow.js"
import { makePlugin, Remote } from "./support/TestPlugin.js"

const testPlugins = () => [makePlugin(new Remote())]

/** The problems `validate` reports for a workflow text, as `line:col: message` (none: it loads). */
const problems = (text: string, plugins: ReadonlyArray<Plugin.Plugin> = testPlugins()) =>
  Load.loadText(text, "flow.yaml").pipe(
    Effect.provide(Plugin.layer(plugins)),
    Effect.match({
      onFailure: (error) =>
        error._tag === "InvalidWorkflow"
          ? error.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`)
          : [`${error._tag}: ${error.message}`],
      onSuccess: () => [] as Array<string>
    })
  )

const withAimaira = () => [...testPlugins(), AimairaPlugin.make()]

describe("if: is a boolean expression", () => {
  it.effect("a string input is refused before the run, with the comparison to write", () =>
    Effect.gen(function*() {
      expect(
        yield* problems(`version: 1
name: cond
inputs:
  publish: string
steps:
  - id: hello
    if: \${{ inputs.publish }}
    uses: test/notify
    with: { message: hi }
`)
      ).toEqual([
        "7:9: if must be true or false; inputs.publish is a string: compare it, e.g. ${{ inputs.publish == 'true' }}"
      ])
    }))

  it.effect("numbers, lists and possibly-null booleans are refused; booleans and comparisons pass", () =>
    Effect.gen(function*() {
      expect(
        yield* problems(`version: 1
name: cond
inputs:
  count: integer
  notify: { type: boolean, required: false }
  flag: boolean
  mode: { type: string, enum: [APP, STA] }
steps:
  - id: seq
    if: \${{ inputs.count }}
    uses: test/list-sequences
    with: { apprenantId: 1 }
  - id: a
    if: \${{ steps.seq.output }}
    uses: test/notify
    with: { message: a }
  - id: b
    if: \${{ inputs.notify }}
    uses: test/notify
    with: { message: b }
  - id: c
    if: \${{ inputs.flag && inputs.mode == 'APP' && !(inputs.count > 2) && (inputs.notify ?? false) }}
    uses: test/notify
    with: { message: c }
  - id: d
    if: \${{ inputs.flag || inputs.count }}
    uses: test/notify
    with: { message: d }
`)
      ).toEqual([
        "10:9: if must be true or false; inputs.count is an integer: compare it, e.g. ${{ inputs.count > 0 }}",
        "14:9: if must be true or false; steps.seq.output is an array of object that may be null: test its length, e.g. ${{ length(steps.seq.output) > 0 }}",
        "18:9: if must be true or false; inputs.notify may be null (a skipped step, or a missing value): give a default, e.g. ${{ inputs.notify ?? false }}",
        "26:28: || takes true or false; inputs.count is an integer: compare it, e.g. inputs.count > 0"
      ])
    }))

  it.live("at run time a value that is not true or false stops the run at the if, and the step does not run", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      // The items of an untyped list are known only at run time: "false" is a text, not false.
      const { record } = yield* runFlow(
        `version: 1
name: cond
inputs:
  rows: array
steps:
  - id: each
    forEach: \${{ inputs.rows }}
    as: row
    steps:
      - id: hello
        if: \${{ row.publish }}
        uses: test/notify
        with: { message: "\${{ row.name }}" }
`,
        { rows: [{ name: "a", publish: "false" }] },
        remote
      )
      expect(record.status).toBe("failed")
      expect(record.failure?.error.message).toBe(`flow.yaml:11:13: if must be true or false, got "false" (a text)`)
      expect(remote.log).toEqual([])
    }))
})

describe("with: every literal part is checked before the run", () => {
  it.effect("find-or-create-learner without CiviliteId or CiviliteCode is refused even when another field is an expression", () =>
    Effect.gen(function*() {
      expect(
        yield* problems(
          `version: 1
name: learner
inputs:
  email: string
  civilite: { type: string, required: false }
steps:
  - id: none
    uses: aimaira/find-or-create-learner
    with:
      Adresse: \${{ inputs.email }}
      Nom: Martin
      Prenoms: Léa
  - id: both
    uses: aimaira/find-or-create-learner
    with:
      Adresse: \${{ inputs.email }}
      Nom: Martin
      Prenoms: Léa
      CiviliteId: 2
      CiviliteCode: MME
  - id: dynamic
    uses: aimaira/find-or-create-learner
    with:
      Adresse: \${{ inputs.email }}
      Nom: Martin
      Prenoms: Léa
      CiviliteCode: \${{ inputs.civilite }}
`,
          withAimaira()
        )
      ).toEqual([
        // Both absent: reported at the with mapping.
        "10:7: with.CiviliteId: give one of CiviliteId, CiviliteCode",
        "19:19: with.CiviliteId: give only one of CiviliteId, CiviliteCode (got CiviliteId and CiviliteCode)"
        // A rule that reads a field known only at run time waits for the run: "dynamic" passes.
      ])
    }))

  it.effect("ranges and patterns of literal fields are checked beside expressions", () =>
    Effect.gen(function*() {
      expect(
        yield* problems(
          `version: 1
name: literal
inputs:
  seq: integer
  email: string
steps:
  - id: convention
    uses: test/create-convention
    with:
      ApprenantId: -1
      TypeConventionCode: APP
      SequenceId: \${{ inputs.seq }}
  - id: learner
    uses: aimaira/find-or-create-learner
    with:
      Adresse: not-an-address
      Nom: \${{ inputs.email }}
      Prenoms: Léa
      CiviliteCode: MME
`,
          withAimaira()
        )
      ).toEqual([
        "10:20: with.ApprenantId: Expected a positive number, actual -1",
        "16:16: with.Adresse: expected an e-mail address"
      ])
    }))

  it.effect("with: empty or missing on a step with required fields is refused at the with", () =>
    Effect.gen(function*() {
      expect(
        yield* problems(
          `version: 1
name: empty
steps:
  - id: convention
    uses: test/create-convention
    with:
  - id: learner
    uses: aimaira/find-or-create-learner
`,
          withAimaira()
        )
      ).toEqual([
        "6:5: with is missing the fields ApprenantId, TypeConventionCode, SequenceId",
        "8:11: aimaira/find-or-create-learner needs `with:` Adresse, Nom, Prenoms",
        "8:11: with.CiviliteId: give one of CiviliteId, CiviliteCode"
      ])
    }))

  it.effect("rules inside lists and nested objects are checked item by item, compensations' with too", () =>
    Effect.gen(function*() {
      // A step whose input holds a list of periods, each with a rule across its fields.
      const Period = Schema.Struct({ debut: Schema.Int, fin: Schema.Int }).pipe(
        Schema.filter(
          (p) => p.fin > p.debut || { path: ["fin"], message: `fin (${p.fin}) must come after debut (${p.debut})` },
          Step.inputRule({ fields: ["debut", "fin"], description: "fin must come after debut" })
        )
      )
      const plugin = Plugin.make({
        name: "periods",
        description: "periods",
        steps: [
          Step.make({
            name: "periods/plan",
            description: "plan periods",
            input: Schema.Struct({ owner: Schema.String, periods: Schema.Array(Period) }),
            output: Schema.Struct({ planned: Schema.Number }),
            run: ({ periods }) => Effect.succeed({ planned: periods.length })
          })
        ]
      })
      expect(
        yield* problems(
          `version: 1
name: nested
inputs:
  owner: string
  start: integer
steps:
  - id: plan
    uses: periods/plan
    with:
      owner: \${{ inputs.owner }}
      periods:
        - { debut: 5, fin: 3 }
        - debut: \${{ inputs.start }}
          fin: 1
        - { debut: 1, fin: 2 }
  - id: convention
    uses: test/create-convention
    with: { ApprenantId: 1, TypeConventionCode: APP, SequenceId: 1 }
    compensate:
      uses: test/create-convention
      with:
        ApprenantId: 0
        TypeConventionCode: APP
        SequenceId: \${{ steps.convention.output.Id }}
`,
          [...testPlugins(), plugin]
        )
      ).toEqual([
        "12:28: with.periods[0].fin: fin (3) must come after debut (5)",
        "22:22: compensate.with.ApprenantId: Expected a positive number, actual 0"
      ])
    }))

  it.effect("the examples still validate", () =>
    Effect.gen(function*() {
      const dir = Path.resolve(import.meta.dirname, "../../../examples")
      // Workflows only (relais.*.config.yaml are configuration files); one needs a plugin its
      // configuration loads, and is validated and run with it elsewhere.
      const elsewhere: Record<string, string> = {
        "convention-with-signature.yaml":
          "needs the esign plugin of examples/relais.plugins.config.yaml: examples/plugins/esign/test/EndToEnd.test.ts validates and runs it"
      }
      const files = Fs.readdirSync(dir).filter((f) => f.endsWith(".yaml") && !f.endsWith(".config.yaml"))
      expect(files.filter((f) => !(f in elsewhere)).length).toBeGreaterThanOrEqual(3)
      for (const file of files) {
        if (file in elsewhere) {
          console.info(`${file}: not validated here: ${elsewhere[file]}`)
          continue
        }
        const loaded = yield* Load.loadFile(Path.join(dir, file)).pipe(
          Effect.provide(Plugins.layer({ sandbox: false })),
          Effect.either
        )
        expect(loaded._tag === "Left" ? `${file}: ${loaded.left.message}` : "valid").toBe("valid")
      }
    }))
})

describe("expression types agree with evaluation", () => {
  const flow = (message: string, extra = "") =>
    `version: 1
name: types
inputs:
  list: array
  n: number
  i: integer
steps:
  - id: seq
    if: \${{ inputs.i > 0 }}
    uses: test/list-sequences
    with: { apprenantId: 1 }
  - id: use
    uses: test/notify
    with:
      message: "${message}"
${extra}`

  it.effect("a possibly-skipped output is refused by list functions unless defaulted: x ?? [] is a list", () =>
    Effect.gen(function*() {
      expect(yield* problems(flow("\${{ length(steps.seq.output) }}"))).toEqual([
        "15:28: length needs a list, a text or an object, but steps.seq.output may be null (a skipped step, or a missing value): give a default, e.g. steps.seq.output ?? []"
      ])
      expect(yield* problems(flow("\${{ length(steps.seq.output ?? []) }} \${{ join(pluck(steps.seq.output ?? [], 'Nom'), ', ') }}"))).toEqual([])
      expect(yield* problems(flow("\${{ join(pluck(steps.seq.output, 'Nom')) }}"))).toEqual([
        "15:32: pluck needs a list, but steps.seq.output may be null (a skipped step, or a missing value): give a default, e.g. steps.seq.output ?? []"
      ])
    }))

  it.effect("an item of a possibly-skipped list, and first() of a list, may be null where a value is required", () =>
    Effect.gen(function*() {
      const convention = (sequence: string) =>
        flow("x", `  - id: convention
    uses: test/create-convention
    with:
      ApprenantId: 1
      TypeConventionCode: APP
      SequenceId: ${sequence}
`)
      expect(yield* problems(convention("${{ steps.seq.output[0].Id }}"))).toEqual([
        "21:19: with.SequenceId: it may be null (a skipped step, or a missing value): use ?? to give a default (${{ steps.seq.output[0].Id }})"
      ])
      expect(yield* problems(convention("${{ first(steps.seq.output ?? []).Id }}"))).toEqual([
        "21:19: with.SequenceId: it may be null (a skipped step, or a missing value): use ?? to give a default (${{ first(steps.seq.output ?? []).Id }})"
      ])
      expect(yield* problems(convention("${{ first(steps.seq.output ?? []).Id ?? 0 }}"))).toEqual([])
    }))

  it.effect("forEach over a possibly-skipped list is refused unless defaulted", () =>
    Effect.gen(function*() {
      const each = (over: string) =>
        flow("x", `  - id: each
    forEach: ${over}
    steps:
      - id: hello
        uses: test/notify
        with: { message: "\${{ item.Nom }}" }
`)
      expect(yield* problems(each("${{ steps.seq.output }}"))).toEqual([
        "17:14: forEach needs a list, but steps.seq.output may be null (a skipped step, or a missing value): give a default, e.g. ${{ steps.seq.output ?? [] }}"
      ])
      expect(yield* problems(each("${{ steps.seq.output ?? [] }}"))).toEqual([])
    }))

  it.effect("index literals are whole numbers from 0; computed indexes are typed integer", () =>
    Effect.gen(function*() {
      expect(yield* problems(flow("\${{ inputs.list[-1] }} \${{ inputs.list[0.5] }} \${{ inputs.list[1e100] }}"))).toEqual([
        "15:33: inputs.list[-1]: an index counts from 0 (the first item) and is never negative; last(list) gives the last item",
        "15:56: inputs.list[0.5]: an index is a whole number from 0, not 0.5",
        "15:80: inputs.list[1e+100]: 1e+100 is too large for an index (at most 9007199254740991)"
      ])
      expect(yield* problems(flow("\${{ inputs.list[inputs.n] }}"))).toEqual([
        "15:33: inputs.list[inputs.n]: an index is a whole number from 0, but inputs.n is a number (declare it integer, or compute it from whole numbers)"
      ])
      expect(yield* problems(flow("\${{ inputs.list[inputs.i] }} \${{ inputs.list[length(inputs.list) - 1] }} \${{ inputs.list[0] }}"))).toEqual([])
    }))

  it.live("a computed negative index is a located error at run time, not read from the end", () =>
    Effect.gen(function*() {
      const { record } = yield* runFlow(
        `version: 1
name: index
inputs:
  list: array
  i: integer
steps:
  - id: use
    uses: test/notify
    with:
      message: "\${{ inputs.list[inputs.i] }}"
`,
        { list: ["a", "b"], i: -1 }
      )
      expect(record.status).toBe("failed")
      expect(record.failure?.error.message).toBe("flow.yaml:10:16: inputs.list[-1]: an index is a whole number from 0 (the first item)")
    }))
})

describe("the CLI", () => {
  it.live("validate: exit 2 and every problem at file:line:col", () =>
    Effect.gen(function*() {
      const file = writeFile(
        tmpDir(),
        "flow.yaml",
        `version: 1
name: publish
inputs:
  publish: { type: string, default: "false" }
  email: string
steps:
  - id: learner
    if: \${{ inputs.publish }}
    uses: aimaira/find-or-create-learner
    with:
      Adresse: \${{ inputs.email }}
      Nom: Martin
      Prenoms: Léa
`
      )
      const result = yield* inProcess(["validate", file])
      expect(result.code).toBe(2)
      expect(result.stderr).toContain(
        `${file}:8:9: if must be true or false; inputs.publish is a string: compare it, e.g. \${{ inputs.publish == 'true' }}`
      )
      expect(result.stderr).toContain(`${file}:11:7: with.CiviliteId: give one of CiviliteId, CiviliteCode`)
    }))

  it.live("steps <name>: the either-or rule of find-or-create-learner", () =>
    Effect.gen(function*() {
      const result = yield* inProcess(["steps", "aimaira/find-or-create-learner"])
      expect(result.code).toBe(0)
      const lines = result.stdout.split("\n")
      expect(lines.find((l) => l.trim().startsWith("CiviliteId"))).toMatch(/required: one of CiviliteId, CiviliteCode/)
      expect(lines.find((l) => l.trim().startsWith("CiviliteCode"))).toMatch(/required: one of CiviliteId, CiviliteCode/)
      expect(lines.find((l) => l.trim().startsWith("(rule)"))).toMatch(/give exactly one of CiviliteId, CiviliteCode/)
      const json = yield* inProcess(["steps", "aimaira/find-or-create-learner", "--json"])
      expect(JSON.parse(json.stdout).input["x-relais-rules"]).toEqual([
        { fields: ["CiviliteId", "CiviliteCode"], description: "give exactly one of CiviliteId, CiviliteCode", requiresOne: true }
      ])
    }))
})

describe("a step of a plugin that is not loaded", () => {
  it.effect("says no such plugin is loaded and where plugins are listed; a known plugin's unknown step lists the steps", () =>
    Effect.gen(function*() {
      const flow = (uses: string) => `version: 1
name: unknown
steps:
  - id: sign
    uses: ${uses}
`
      expect(yield* problems(flow("esign/send-for-signature"))).toEqual([
        "5:11: unknown step \"esign/send-for-signature\": no plugin \"esign\" is loaded; a plugin of your own is listed under plugins: in relais.config.yaml (or the file given with --config)"
      ])
      expect(yield* problems(flow("test/zzzzzzzzzzzzzz"))).toEqual([
        "5:11: unknown step \"test/zzzzzzzzzzzzzz\"; `relais steps` lists the available steps"
      ])
    }))
})
