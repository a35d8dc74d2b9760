import { describe, expect, it } from "@effect/vitest"
import { Plugin } from "@relais/core"
import { Effect } from "effect"
import * as Load from "../src/yaml/Load.js"
import { runFlow } from "./support/RunFlow.js"
import { makePlugin, Remote } from "./support/TestPlugin.js"

const registry = (remote: Remote) => Plugin.layer([makePlugin(remote)])

const load = (text: string, remote = new Remote()) =>
  Load.loadText(text, "flow.yaml").pipe(Effect.provide(registry(remote)))

const problems = (text: string) =>
  Effect.map(Effect.flip(load(text)), (error) =>
    error._tag === "InvalidWorkflow" ? error.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`) : [error.message]
  )

const convention = `version: 1
name: convention
inputs:
  apprenantId: integer
  typeConvention: { type: string, default: APP }
steps:
  - id: sequences
    uses: test/list-sequences
    with:
      apprenantId: \${{ inputs.apprenantId }}
  - id: convention
    uses: test/create-convention
    with:
      ApprenantId: \${{ inputs.apprenantId }}
      TypeConventionCode: \${{ inputs.typeConvention }}
      SequenceId: \${{ steps.sequences.output[0].Id }}
      Poste: "Poste de \${{ inputs.apprenantId }}"
outputs:
  conventionId: \${{ steps.convention.output.Id }}
  code: \${{ steps.convention.output.Code }}
`

describe("Load", () => {
  it.effect("loads a valid workflow with its inputs, definition and graph", () =>
    Effect.gen(function*() {
      const loaded = yield* load(convention)
      expect(loaded.name).toBe("convention")
      expect(loaded.inputs).toEqual([
        { name: "apprenantId", type: "integer", required: true, description: undefined },
        { name: "typeConvention", type: "string", required: false, default: "APP", description: undefined }
      ])
      expect(loaded.definition.hash).toMatch(/^[0-9a-f]{64}$/)
      expect(loaded.definition.text).toBe(convention)
      expect(loaded.mermaid).toContain("test/create-convention")
    }))

  it.live("runs it: expressions keep their type, interpolation gives text, outputs are evaluated", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const { record } = yield* runFlow(convention, { apprenantId: 42, typeConvention: "APP" }, remote)
      expect(record.status).toBe("succeeded")
      expect(record.output).toEqual({ conventionId: 100, code: "CS100" })
      expect(remote.conventions.get(100)).toEqual({ ApprenantId: 42, SequenceId: 7 })
      expect(remote.log).toEqual(["list 42", "create 100"])
    }))

  it.effect("reports every problem at once, located, in file order", () =>
    Effect.gen(function*() {
      const found = yield* problems(`version: 1
name: broken
steps:
  - id: sequences
    uses: test/list-sequence
    with:
      apprenantId: 1
  - id: convention
    uses: test/create-convention
    retyr: { maxAttempts: 2 }
    with:
      ApprenantId: \${{ inputs.learner }}
      TypeConventionCode: APP
      SequenceId: \${{ steps.sequences.output.Idd }}
`)
      expect(found).toEqual([
        `5:11: unknown step "test/list-sequence" (did you mean "test/list-sequences"?)`,
        `10:5: unknown key "retyr" in step "convention" (did you mean "retry"?)`,
        `12:31: inputs has no field "learner"`
        // steps.sequences.output.Idd is not reported: the step is unknown, so is its output.
      ])
    }))

  it.effect("checks expression types against the step schemas", () =>
    Effect.gen(function*() {
      const found = yield* problems(`version: 1
name: types
inputs:
  apprenantId: string
steps:
  - id: sequences
    uses: test/list-sequences
    with:
      apprenantId: \${{ inputs.apprenantId }}
  - id: convention
    uses: test/create-convention
    with:
      ApprenantId: 12
      TypeConventionCode: APX
      SequenceId: \${{ steps.sequences.output[0].Idd }}
      Extra: 1
`)
      expect(found).toEqual([
        `9:20: with.apprenantId: expected integer, got string (\${{ inputs.apprenantId }})`,
        `14:27: with.TypeConventionCode: expected "APP" | "STA" | "PRO", got "APX"`,
        `15:49: steps.sequences.output[0] has no field "Idd" (did you mean "Id"?)`,
        `16:7: with has no field "Extra"; its fields are ApprenantId, TypeConventionCode, SequenceId, Poste`
      ])
    }))
})
