/**
 * `trigger.*` in expressions: what started a run (its kind, and the fields of each kind of
 * trigger the workflow declares), checked with located problems and given to the run from the
 * reserved `$trigger` part of its input.
 */
import { describe, expect, it } from "@effect/vitest"
import { Plugin } from "@relais/core"
import { Effect, Schema } from "effect"
import * as Load from "../src/yaml/Load.js"
import { runFlow } from "./support/RunFlow.js"
import { makePlugin, Remote } from "./support/TestPlugin.js"

const hooks = Plugin.make({
  name: "hooks",
  description: "test webhooks",
  steps: [],
  trigger: {
    description: "a change of a watched object",
    options: Schema.Struct({ objectTypes: Schema.Array(Schema.String) }),
    event: Schema.Struct({ ObjectType: Schema.String, ObjectId: Schema.Int }),
    matches: () => true
  }
})

const problems = (text: string) =>
  Load.loadText(text, "flow.yaml").pipe(
    Effect.provide(Plugin.layer([makePlugin(new Remote()), hooks])),
    Effect.catchTag("DuplicateStep", "InvalidStepName", "InvalidPlugin", Effect.die),
    Effect.flip,
    Effect.map((error) => error.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`))
  )

const scheduled = `version: 1
name: nightly
triggers:
  - schedule: { cron: "0 2 * * *" }
steps:
  - id: hello
    uses: test/notify
    with:
      message: "slot \${{ trigger.slot ?? 'none' }} (\${{ trigger.kind }})"
outputs:
  kind: \${{ trigger.kind }}
  slot: \${{ trigger.slot }}
`

describe("trigger.* in expressions", () => {
  it.live("a run started by a schedule reads its slot; a run started by hand is manual", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const fired = yield* runFlow(scheduled, { $trigger: { kind: "schedule", slot: "2027-03-28T01:00:00.000Z", cron: "0 2 * * *", timezone: "Europe/Paris" } }, remote)
      expect(fired.record.status).toBe("succeeded")
      expect(fired.record.output).toEqual({ kind: "schedule", slot: "2027-03-28T01:00:00.000Z" })
      const byHand = yield* runFlow(scheduled, {}, remote)
      expect(byHand.record.output).toEqual({ kind: "manual", slot: null })
      expect(remote.log.map((l) => JSON.stringify(l))).toEqual([
        expect.stringContaining("slot 2027-03-28T01:00:00.000Z (schedule)"),
        expect.stringContaining("slot none (manual)")
      ])
    }))

  it.effect("a field no declared trigger gives is a located problem that says which fields exist", () =>
    Effect.gen(function*() {
      const found = yield* problems(`version: 1
name: on-change
triggers:
  - hooks: { objectTypes: [Convention] }
steps:
  - id: hello
    uses: test/notify
    with:
      message: "\${{ trigger.ObjectID }}"
`)
      expect(found).toEqual([
        expect.stringMatching(/^9:\d+: trigger\.ObjectID: none of this workflow's triggers \(hooks\) gives "ObjectID"; known: kind, ObjectType, ObjectId$/)
      ])
    }))

  it.effect("a workflow without triggers knows trigger.kind only", () =>
    Effect.gen(function*() {
      const found = yield* problems(`version: 1
name: plain
steps:
  - id: hello
    uses: test/notify
    with:
      message: "\${{ trigger.slot }}"
`)
      expect(found).toEqual([expect.stringMatching(/^7:\d+: trigger\.slot: this workflow declares no triggers/)])
    }))

  it.effect("a plugin trigger's event fields are known in templates", () =>
    Effect.gen(function*() {
      const ok = yield* Load.loadText(`version: 1
name: on-change
triggers:
  - hooks: { objectTypes: [Convention] }
steps:
  - id: hello
    uses: test/notify
    with:
      message: "object \${{ trigger.ObjectType }} \${{ trigger.ObjectId }}"
`, "flow.yaml").pipe(
        Effect.provide(Plugin.layer([makePlugin(new Remote()), hooks])),
        Effect.orDie
      )
      expect(ok.triggers).toHaveLength(1)
    }))
})

describe("plugin triggers and inputs", () => {
  it.effect("a workflow with a plugin trigger and a required input without default is refused where the trigger is", () =>
    Effect.gen(function*() {
      const found = yield* problems(`version: 1
name: on-change
inputs:
  apprenantId: integer
  typeConvention: { type: string, default: APP }
triggers:
  - hooks: { objectTypes: [Convention] }
steps:
  - id: hello
    uses: test/notify
    with:
      message: "\${{ trigger.ObjectId }} \${{ inputs.typeConvention }}"
`)
      expect(found).toEqual([
        expect.stringMatching(/^7:5: a run started by the hooks trigger gets no inputs, and "apprenantId" is required: give it a default/)
      ])
    }))
})
