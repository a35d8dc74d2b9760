/**
 * Running compiled YAML workflows on the in-memory engine: conditions, loops with item
 * isolation, parallel branches, compensation overrides, runtime expression errors.
 */
import { describe, expect, it } from "@effect/vitest"
import { Plugin } from "@relais/core"
import { Effect } from "effect"
import * as Load from "../src/yaml/Load.js"
import { runFlow } from "./support/RunFlow.js"
import { makePlugin, Remote } from "./support/TestPlugin.js"

const run = runFlow

describe("compiled workflows", () => {
  it.live("skips a step whose condition is false, and records why", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const { events, record } = yield* run(`version: 1
name: cond
inputs:
  notify: boolean
steps:
  - id: hello
    if: \${{ inputs.notify }}
    uses: test/notify
    with:
      message: hello
outputs:
  sent: \${{ steps.hello.output.sent ?? false }}
`, { notify: false }, remote)
      expect(record.status).toBe("succeeded")
      expect(record.output).toEqual({ sent: false })
      expect(remote.log).toEqual([])
      expect(events.find((e) => e._tag === "StepSkipped")).toMatchObject({ path: "hello", reason: "if inputs.notify was false" })
    }))

  it.live("runs a forEach with item isolation: a bad item is undone alone, the others stay", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const { record } = yield* run(`version: 1
name: batch
inputs:
  learners: array
steps:
  - id: each
    forEach: \${{ inputs.learners }}
    as: learner
    concurrency: 2
    onItemFailure: compensate-item
    steps:
      - id: convention
        uses: test/create-convention
        with:
          ApprenantId: \${{ learner.id }}
          TypeConventionCode: APP
          SequenceId: \${{ loop.index }}
      - id: check
        if: \${{ learner.bad }}
        uses: test/fail
        with:
          message: "learner \${{ learner.id }} is bad"
outputs:
  created: \${{ pluck(pluck(steps.each.output, 'convention'), 'Id') }}
  failed: \${{ pluck(steps.each.failed, 'index') }}
`, { learners: [{ id: 1, bad: false }, { id: 2, bad: true }, { id: 3, bad: false }] }, remote)
      expect(record.status).toBe("succeeded_with_failures")
      expect(record.output).toMatchObject({ failed: [1] })
      expect((record.output as { created: Array<number> }).created).toHaveLength(2)
      expect([...remote.conventions.values()].map((c) => c.ApprenantId).sort()).toEqual([1, 3])
    }))

  it.live("runs parallel branches and compensates them all when a later step fails", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const { record } = yield* run(`version: 1
name: par
steps:
  - id: both
    parallel:
      - id: a
        uses: test/create-convention
        with: { ApprenantId: 1, TypeConventionCode: APP, SequenceId: 1 }
      - id: b
        uses: test/create-convention
        with: { ApprenantId: 2, TypeConventionCode: STA, SequenceId: 2 }
  - id: after
    uses: test/fail
    with:
      message: "created \${{ steps.a.output.Id }} and \${{ steps.b.output.Id }}"
`, {}, remote)
      expect(record.status).toBe("compensated")
      expect(record.failure?.error.message).toBe("created 100 and 101")
      expect(remote.conventions.size).toBe(0)
      expect(record.compensated?.map((c) => c.path).sort()).toEqual(["a", "b"])
    }))

  it.live("compensates with another step when asked, and not at all when turned off", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const { record } = yield* run(`version: 1
name: comp
steps:
  - id: kept
    uses: test/create-convention
    compensate: false
    with: { ApprenantId: 1, TypeConventionCode: APP, SequenceId: 1 }
  - id: other
    uses: test/create-convention
    compensate:
      uses: test/delete-convention
      with:
        Id: \${{ steps.other.output.Id }}
    with: { ApprenantId: 2, TypeConventionCode: APP, SequenceId: 1 }
  - id: boom
    uses: test/fail
    with: { message: stop }
`, {}, remote)
      expect(record.status).toBe("compensated")
      expect(remote.log).toEqual(["create 100", "create 101", "delete-by-step 101"])
      expect([...remote.conventions.keys()]).toEqual([100])
    }))

  it.live("a value that does not fit at run time fails the run with the file position", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const text = `version: 1
name: empty
inputs:
  apprenantId: integer
steps:
  - id: sequences
    uses: test/list-sequences
    with:
      apprenantId: \${{ inputs.apprenantId }}
  - id: convention
    uses: test/create-convention
    with:
      ApprenantId: \${{ inputs.apprenantId }}
      TypeConventionCode: APP
      SequenceId: \${{ steps.sequences.output[0].Id }}
`
      const empty = yield* run(text, { apprenantId: 0 }, remote)
      expect(empty.record.status).toBe("failed")
      expect(empty.record.failure?.error.message).toBe("flow.yaml:15:19: steps.sequences.output[0]: the list has no item")
      const negative = yield* run(text, { apprenantId: -5 }, remote)
      expect(negative.record.status).toBe("failed")
      expect(negative.record.failure?.error.message).toBe(
        "flow.yaml:10:5: the values given to test/create-convention do not fit its input: ApprenantId: Expected a positive number, actual -5"
      )
      expect(remote.conventions.size).toBe(0)
    }))
})

describe("optional fields", () => {
  it.live("null for an optional field leaves it out; a given value is passed", () =>
    Effect.gen(function*() {
      const text = `version: 1
name: optional
inputs:
  tags: { type: array, required: false }
steps:
  - id: n
    uses: test/notify
    with:
      message: hello
      tags: \${{ inputs.tags }}
outputs:
  sent: \${{ steps.n.output.sent }}
`
      const without = yield* run(text, {})
      expect(without.record.status).toBe("succeeded")
      const given = yield* run(text, { tags: ["a"] })
      expect(given.record.status).toBe("succeeded")
      const wrong = yield* run(text, { tags: [1] })
      expect(wrong.record.status).toBe("failed")
      expect(wrong.record.failure?.error.message).toContain("tags[0]: Expected string, actual 1")
    }))
})

describe("inputs", () => {
  const text = `version: 1
name: inputs
inputs:
  apprenantId: integer
  rate: { type: number, default: 1.5 }
  dry: { type: boolean, default: false }
  type: { type: string, enum: [APP, STA], default: APP }
  tags: { type: array, required: false }
steps:
  - id: n
    uses: test/notify
    with: { message: "x" }
`
  const parse = (pairs: ReadonlyArray<readonly [string, string]>, fromFile?: Record<string, unknown>) =>
    Effect.gen(function*() {
      const loaded = yield* Load.loadText(text, "flow.yaml")
      return yield* Load.parseInputs(loaded, pairs, fromFile)
    }).pipe(Effect.provide(Plugin.layer([makePlugin(new Remote())])))

  it.effect("converts --input values to their types and applies defaults", () =>
    Effect.gen(function*() {
      expect(yield* parse([["apprenantId", "42"], ["dry", "true"]])).toEqual({ apprenantId: 42, rate: 1.5, dry: true, type: "APP" })
      expect(yield* parse([["tags", "[\"a\"]"]], { apprenantId: 7 })).toEqual({ apprenantId: 7, rate: 1.5, dry: false, type: "APP", tags: ["a"] })
    }))

  it.effect("reports every wrong, unknown or missing input", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(parse([["apprenantid", "1"], ["rate", "fast"], ["dry", "yes"]]))
      expect(error._tag === "InvalidWorkflow" && error.diagnostics.map((d) => d.toString())).toEqual([
        `flow.yaml: --input apprenantid: inputs has no input "apprenantid" (did you mean "apprenantId"?)`,
        `flow.yaml: --input rate: expects a number, not "fast"`,
        `flow.yaml: --input dry: expects true or false, not "yes"`,
        `flow.yaml: the input "apprenantId" (integer) is required: pass --input apprenantId=...`
      ])
    }))
})
