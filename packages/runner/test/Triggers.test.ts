/**
 * `triggers:` in workflow files: schedules (cron, time zone, inputs, missed slots) and plugins'
 * kinds of trigger (options checked with the plugin's schema), read, checked with located
 * problems, and exposed on the loaded workflow.
 */
import { describe, expect, it } from "@effect/vitest"
import { Plugin } from "@relais/core"
import { Effect, Schema } from "effect"
import * as JsonSchema from "../src/yaml/JsonSchema.js"
import * as Load from "../src/yaml/Load.js"
import { makePlugin, Remote } from "./support/TestPlugin.js"

/** A plugin with a kind of trigger, as a webhook plugin would declare it. */
const hooks = Plugin.make({
  name: "hooks",
  description: "test webhooks",
  steps: [],
  trigger: {
    description: "a change of a watched object",
    options: Schema.Struct({
      objectTypes: Schema.Array(Schema.Literal("Convention", "Apprenant")).pipe(Schema.minItems(1)),
      debounce: Schema.optional(Schema.Number)
    }),
    event: Schema.Struct({ objectType: Schema.String, objectId: Schema.Number }),
    matches: (options: { readonly objectTypes: ReadonlyArray<string> }, event: { readonly objectType: string }) =>
      options.objectTypes.includes(event.objectType)
  }
})

const registry = Plugin.layer([makePlugin(new Remote()), hooks])

const load = (text: string) => Load.loadText(text, "flow.yaml").pipe(Effect.provide(registry), Effect.catchTag("DuplicateStep", "InvalidStepName", "InvalidPlugin", Effect.die))

const problems = (text: string) =>
  Effect.map(Effect.flip(load(text)), (error) => error.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`))

const flow = (triggers: string) => `version: 1
name: nightly
inputs:
  apprenantId: { type: integer, default: 1 }
  typeConvention: { type: string, default: APP }
triggers:
${triggers}
steps:
  - id: sequences
    uses: test/list-sequences
    with: { apprenantId: "\${{ inputs.apprenantId }}" }
`

describe("triggers", () => {
  it.effect("a schedule is exposed with its cron parsed, its zone resolved and its inputs complete", () =>
    Effect.gen(function*() {
      const loaded = yield* load(flow(`  - schedule: { cron: "0 2 * * *", inputs: { apprenantId: 12 } }
  - schedule:
      name: weekly
      cron: "@weekly"
      timezone: america/new_york
      missed: once
      inputs: { apprenantId: 3, typeConvention: STA }
  - hooks: { objectTypes: [Convention] }`))
      expect(loaded.triggers).toHaveLength(3)
      const [daily, weekly, hook] = loaded.triggers
      expect(daily).toMatchObject({
        _tag: "Schedule",
        index: 0,
        timezone: "Europe/Paris",
        missed: "skip",
        inputs: { apprenantId: 12, typeConvention: "APP" },
        cron: { text: "0 2 * * *", hour: { values: [2] } }
      })
      expect(daily).not.toHaveProperty("name")
      expect(weekly).toMatchObject({
        _tag: "Schedule",
        index: 1,
        name: "weekly",
        timezone: "America/New_York",
        missed: "once",
        inputs: { apprenantId: 3, typeConvention: "STA" },
        cron: { text: "@weekly", dayOfWeek: { values: [0] } }
      })
      expect(hook).toEqual({ _tag: "Plugin", index: 2, plugin: "hooks", options: { objectTypes: ["Convention"] } })
    }))

  it.effect("no triggers: an empty list", () =>
    Effect.gen(function*() {
      expect((yield* load(flow("  []"))).triggers).toEqual([])
      expect((yield* load(flow("").replace("triggers:\n\n", ""))).triggers).toEqual([])
    }))

  it.effect("a plugin's options are checked with its schema, located", () =>
    Effect.gen(function*() {
      expect(yield* problems(flow(`  - hooks: { objectTypes: [Convention, Entreprise] }
  - hooks: { objectTypes: [] }
  - hooks: { objectTypes: [Convention], debounc: 3 }
  - hook: { objectTypes: [Convention] }
  - test: {}`))).toEqual([
        "7:40: hooks.objectTypes.1: Expected \"Convention\", actual \"Entreprise\"",
        "7:40: hooks.objectTypes.1: Expected \"Apprenant\", actual \"Entreprise\"",
        "8:14: hooks.objectTypes: Expected an array of at least 1 item(s), actual []",
        "9:50: hooks.debounc: is unexpected, expected: \"objectTypes\" | \"debounce\"",
        "10:5: unknown trigger \"hook\" (did you mean \"hooks\"?)",
        "11:5: the plugin \"test\" declares no trigger; the kinds of trigger are schedule, hooks"
      ])
    }))

  it.effect("cron, time zone and inputs problems point at the place", () =>
    Effect.gen(function*() {
      expect(yield* problems(flow(`  - schedule: { cron: "*/15 2-30 * * *", timezone: Mars/Olympus }
  - schedule: { cron: "0 2 * * *", inputs: { apprenantId: 1.5 } }`))).toEqual([
        "7:31: hour: 30 is out of range 0-23",
        "7:52: unknown time zone \"Mars/Olympus\"; use an IANA name such as Europe/Paris, America/New_York or UTC",
        "8:59: schedule.inputs.apprenantId must be an integer, not the number 1.5"
      ])
    }))

  it("the editor schema lists schedule and each plugin's kind of trigger", () => {
    const schema = Effect.runSync(Plugin.makeRegistry([makePlugin(new Remote()), hooks]).pipe(Effect.map(JsonSchema.make))) as any
    expect(schema.properties.triggers.anyOf[0].items).toEqual({ $ref: "#/$defs/trigger" })
    expect(Object.keys(schema.$defs.trigger.properties)).toEqual(["schedule", "hooks"])
    expect(schema.$defs.trigger.properties.hooks.description).toBe("a change of a watched object")
    expect(schema.$defs.schedule.required).toEqual(["cron"])
  })
})
