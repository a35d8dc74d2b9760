import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Plugin, Step, Suggest } from "../src/index.js"

const stepNamed = (name: string) =>
  Step.make({ name, description: `does ${name}`, input: Schema.Void, output: Schema.Void, run: () => Effect.void })

const aimaira = Plugin.make({
  name: "aimaira",
  description: "AIMAIRA",
  steps: [stepNamed("aimaira/create-convention"), stepNamed("aimaira/create-entreprise"), stepNamed("aimaira/list-eligible-sequences")]
})

describe("Plugin", () => {
  it.effect("registers steps under their plugin's namespace and lists them sorted", () =>
    Effect.gen(function*() {
      const registry = yield* Plugin.makeRegistry([aimaira])
      expect(registry.steps.map((s) => s.name)).toEqual([
        "aimaira/create-convention",
        "aimaira/create-entreprise",
        "aimaira/list-eligible-sequences"
      ])
      expect(registry.steps[0]).toMatchObject({ plugin: "aimaira", description: "does aimaira/create-convention" })
      const step = yield* registry.get("aimaira/create-entreprise")
      expect(step.name).toBe("aimaira/create-entreprise")
    }))

  it.effect("an unknown step is an error with suggestions", () =>
    Effect.gen(function*() {
      const registry = yield* Plugin.makeRegistry([aimaira])
      const error = yield* Effect.flip(registry.get("aimaira/create-conventon"))
      expect(error._tag).toBe("UnknownStep")
      expect(error.suggestions[0]).toBe("aimaira/create-convention")
      expect(error.message).toBe(`unknown step "aimaira/create-conventon" (did you mean "aimaira/create-convention"?)`)
      const far = yield* Effect.flip(registry.get("campus-skills/sync"))
      expect(far.suggestions).toEqual([])
      expect(far.message).toBe(`unknown step "campus-skills/sync"`)
    }))

  it.effect("refuses duplicates, names outside the namespace, and the same plugin twice", () =>
    Effect.gen(function*() {
      const copy = Plugin.make({ name: "other", description: "", steps: [] })
      const dup = yield* Effect.flip(
        Plugin.makeRegistry([Plugin.make({ ...aimaira, steps: [...aimaira.steps, stepNamed("aimaira/create-convention")] })])
      )
      expect(dup.message).toContain(`step "aimaira/create-convention" is registered more than once`)
      const outside = yield* Effect.flip(
        Plugin.makeRegistry([Plugin.make({ name: "other", description: "", steps: [stepNamed("aimaira/x")] })])
      )
      expect(outside._tag).toBe("InvalidStepName")
      expect(outside.message).toContain(`only registers steps under its own namespace "other/"`)
      const twice = yield* Effect.flip(Plugin.makeRegistry([copy, copy]))
      expect(twice._tag).toBe("InvalidPlugin")
    }))
})

describe("Suggest", () => {
  it("finds close names, best first, and nothing for far ones", () => {
    expect(Suggest.distance("convention", "conventon")).toBe(1)
    expect(Suggest.distance("Idd", "Id")).toBe(1)
    expect(Suggest.distance("ab", "ba")).toBe(1)
    expect(Suggest.closest("Idd", ["Id", "Nom", "Code"])).toEqual(["Id"])
    expect(Suggest.closest("retyr", ["retry", "timeout", "with"])).toEqual(["retry"])
    expect(Suggest.closest("zzz", ["retry", "timeout"])).toEqual([])
    expect(Suggest.closest("conc", ["concurrency", "compensate"])).toEqual(["concurrency"])
  })
})
