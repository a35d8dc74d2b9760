/**
 * The command-line side of the plugins' sandboxes, from the registry alone: `--fault` and
 * `--sandbox-set` are read against the plugins that have a sandbox, a setting against the
 * sandbox's own `settings`, and the plugins a workflow uses from its steps' namespaces.
 */
import { Plugin, Step } from "@relais/core"
import { Effect, Either, Schema } from "effect"
import { describe, expect, it } from "vitest"
import * as Providers from "../src/Providers.js"
import * as Counter from "./support/CounterPlugin.js"

const bare = (name: string) =>
  Plugin.make({
    name,
    description: `${name}, with no sandbox`,
    steps: [Step.make({ name: `${name}/noop`, description: "nothing", input: Schema.Struct({}), output: Schema.Struct({}), run: () => Effect.succeed({}) })]
  })

const registry = Effect.runSync(Plugin.makeRegistry([bare("notes"), Counter.make()]))
const message = <A>(either: Either.Either<A, { readonly message: string }>) => Either.isLeft(either) ? either.left.message : undefined

describe("Providers.parseFaults", () => {
  it("takes the plugin before the first colon and checks the rule with the sandbox kit", () => {
    expect(Providers.parseFaults(registry, ["counter:POST /counters/a 429:2 x1", "counter: * latency:200"])).toEqual(
      Either.right({ counter: ["POST /counters/a 429:2 x1", "* latency:200"] })
    )
    expect(Providers.parseFaults(registry, [])).toEqual(Either.right({}))
    expect(message(Providers.parseFaults(registry, ["countre:* 503"]))).toBe(
      `--fault "countre:* 503": expected <plugin>:<rule>, where <plugin> is one with a sandbox: counter (did you mean "counter"?), e.g. --fault "counter:* latency:200"`
    )
    expect(message(Providers.parseFaults(registry, ["notes:* 503"]))).toBe(`--fault "notes:* 503": notes has no sandbox (plugins with one: counter)`)
    expect(message(Providers.parseFaults(registry, ["counter:POST /x 404"]))).toMatch(/^--fault: Invalid fault "POST \/x 404": /)
    expect(message(Providers.parseFaults(registry, ["counter:"]))).toBe(`--fault "counter:": the rule is empty`)
    const none = Effect.runSync(Plugin.makeRegistry([bare("notes")]))
    expect(message(Providers.parseFaults(none, ["notes:* 503"]))).toBe(`--fault "notes:* 503": no plugin loaded has a sandbox`)
  })
})

describe("Providers.parseSettings and checkSettings", () => {
  it("reads <plugin>:<name>=<value>, the last value of a setting given twice", () => {
    expect(Providers.parseSettings(registry, ["counter:step=2", "counter: step = 3 "])).toEqual(Either.right({ counter: { step: "3" } }))
    expect(message(Providers.parseSettings(registry, ["counter:=2"]))).toBe(
      `--sandbox-set "counter:=2": expected <plugin>:<name>=<value>, e.g. --sandbox-set "counter:<name>=<value>"`
    )
    expect(message(Providers.parseSettings(registry, ["step=2"]))).toContain(`--sandbox-set "step=2": expected <plugin>:<name>=<value>, where <plugin> is one with a sandbox: counter`)
  })

  it("checks each setting against the sandbox's declared settings, with their values in the message", () => {
    const plugin = registry.plugin("counter")!
    expect(Providers.checkSettings(plugin, Counter.sandbox, { step: "4" })).toEqual(Either.right(undefined))
    expect(message(Providers.checkSettings(plugin, Counter.sandbox, { setp: "4" }))).toBe(
      `--sandbox-set counter:setp=4: the Counter service sandbox has no setting "setp" (did you mean "step"?); its settings: step (a positive integer; default 1)`
    )
    expect(message(Providers.checkSettings(plugin, Counter.sandbox, { step: "-1" }))).toBe(`--sandbox-set counter:step=-1: step "-1" is not a positive integer`)
    expect(message(Providers.checkSettings(plugin, { ...Counter.sandbox, settings: [] }, { step: "4" }))).toBe(
      "--sandbox-set counter:step=4: the Counter service sandbox has no settings"
    )
    const step = Counter.sandbox.settings![0]!
    expect(Providers.canonical(step, "007")).toBe(Providers.canonical(step, "7"))
  })
})

describe("Providers.pluginsUsed", () => {
  it("the plugins whose steps a definition uses, compensations included, in the registry's order", () => {
    const text = `version: 1
name: flow
steps:
  - id: one
    uses: counter/bump
    with: { name: "uses: notes/noop" }
    compensate: { uses: notes/noop, with: {} }
`
    expect(Providers.pluginsUsed(registry, text).map((p) => p.name)).toEqual(["notes", "counter"])
    expect(Providers.pluginsUsed(registry, "version: 1\nname: x\nsteps:\n  - { id: a, uses: counter/bump, with: {} }\n").map((p) => p.name)).toEqual([
      "counter"
    ])
    expect(Providers.pluginsUsed(registry, "version: 1\nname: x\nsteps: []\n")).toEqual([])
  })
})
