/**
 * The plugin: its registry and schemas, the layer that registers the token with the Redactor,
 * its sandbox started through the plugin contract, the Make-style scenario as a code-defined
 * workflow, and secrets in the run store.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import { Engine, Plugin, PluginConfig, Redactor, RetryPolicy, RunStore, Step, Workflow } from "@relais/core"
import * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { CampusSkillsClient, CampusSkillsConfig, CampusSkillsPlugin, Contract, Mapping, Steps } from "../src/index.js"
import { CampusSkillsSandbox } from "../src/sandbox/index.js"
import { aggregate } from "./aimaira.js"
import { codes, contract, ofTag, runFlow, runStep, withSandbox } from "./harness.js"

const toWire = Schema.encodeSync(Contract.Contract)

// -----------------------------------------------------------------------------
// The Make scenario: test the token, map, simulate, stop on abnormal removals, sync, wait
// -----------------------------------------------------------------------------

const ScenarioOutput = Schema.Struct({
  school: Schema.String,
  stopped: Schema.Boolean,
  wouldArchive: Steps.Codes,
  synced: Steps.Codes,
  archived: Steps.Codes
})

const wait = Steps.makeWaitIntegrated({ pollInterval: "100 millis", deadline: "5 seconds" })

const scenario = Workflow.make({
  name: "campus-skills make scenario",
  input: Schema.Struct({ conventions: Schema.Array(Mapping.ConventionAggregate), maxRemovals: Schema.Int }),
  output: ScenarioOutput,
  run: ({ conventions, maxRemovals }) =>
    Effect.gen(function*() {
      const { name } = yield* Workflow.step(Steps.testToken, {})
      const { contrats } = yield* Workflow.step(Mapping.mapConventions, { conventions })
      const diff = yield* Workflow.step(Steps.diff, { contrats })
      if (diff.removed.length > maxRemovals) {
        yield* Workflow.skipped(
          "sync",
          Steps.syncSnapshot.name,
          `the diff would archive ${diff.removed.length} contracts (${diff.removed.join(", ")})`
        )
        return { school: name, stopped: true, wouldArchive: diff.removed, synced: [], archived: [] }
      }
      const sync = yield* Workflow.step(Steps.syncSnapshot, { contrats, allowRemovals: maxRemovals }, { id: "sync" })
      if (Arr.isNonEmptyReadonlyArray(sync.valid)) yield* Workflow.step(wait, { codes: sync.valid })
      return { school: name, stopped: false, wouldArchive: diff.removed, synced: sync.valid, archived: sync.archived }
    })
})

const mapped = (n: number, overrides: Parameters<typeof aggregate>[1] = {}) =>
  toWire(Either.getOrThrow(Mapping.toContract(aggregate(n, overrides))))

describe("the Make scenario as a workflow", () => {
  it.scopedLive("syncs a full list, stops on a partial one, archives when allowed", () =>
    withSandbox({
      // what last week's run sent: conventions 1 and 2 (the master of 2 has changed since)
      contracts: [mapped(1), mapped(2, { maitre: { NomUsage: "ANCIEN" } })],
      integrationDelay: { listCalls: 1 }
    }, (sandbox) =>
      Effect.gen(function*() {
        const first = yield* runFlow(scenario, {
          conventions: [aggregate(1), aggregate(2), aggregate(3)],
          maxRemovals: 0
        })
        expect(first.record.status).toBe("succeeded")
        expect(first.record.output).toEqual({
          school: CampusSkillsSandbox.defaultSchoolName,
          stopped: false,
          wouldArchive: [],
          synced: ["CS00000001", "CS00000002", "CS00000003"],
          archived: []
        })
        expect(ofTag(first.events, "StepSucceeded").map((e) => e.path)).toEqual([
          "campus-skills/test-token",
          "campus-skills/map-conventions",
          "campus-skills/diff",
          "sync",
          "campus-skills/wait-integrated"
        ])
        expect(ofTag(first.events, "StepSucceeded")[2]!.output).toEqual({
          same: ["CS00000001"],
          added: ["CS00000003"],
          updated: ["CS00000002"],
          removed: []
        })
        // the new contract needed one more poll to be integrated
        expect(ofTag(first.events, "AttemptFailed").map((e) => e.error.message)).toEqual([
          "1 of 3 contracts not integrated yet: CS00000003"
        ])
        let state = yield* sandbox.state
        expect(codes(state.active)).toEqual(["CS00000001", "CS00000002", "CS00000003"])
        expect(state.active.map((c) => c.integration)).toEqual(["integrated", "integrated", "integrated"])
        expect(codes(state.integrated as ReadonlyArray<{ codeContrat: string }>).sort()).toEqual([
          "CS00000001",
          "CS00000002",
          "CS00000003"
        ])
        expect(state.active[1]!.contrat.nomMaitreApprentissage).toBe("LATERAL")
        expect(state.archived).toEqual([])

        // next week, the export lost two conventions: the diff shows it and the run stops
        const syncsBefore = yield* sandbox.requests.count({ method: "POST", path: "/api/sync/v2/contrats" })
        const partial = yield* runFlow(scenario, { conventions: [aggregate(1)], maxRemovals: 0 })
        expect(partial.record.status).toBe("succeeded")
        expect(partial.record.output).toMatchObject({ stopped: true, wouldArchive: ["CS00000002", "CS00000003"] })
        expect(ofTag(partial.events, "StepSkipped")).toMatchObject([
          { path: "sync", reason: "the diff would archive 2 contracts (CS00000002, CS00000003)" }
        ])
        expect(yield* sandbox.requests.count({ method: "POST", path: "/api/sync/v2/contrats" })).toBe(syncsBefore)
        expect(codes((yield* sandbox.state).active)).toEqual(["CS00000001", "CS00000002", "CS00000003"])

        // the two conventions really ended: allowed, they are archived
        const allowed = yield* runFlow(scenario, { conventions: [aggregate(1)], maxRemovals: 2 })
        expect(allowed.record.output).toMatchObject({ stopped: false, archived: ["CS00000002", "CS00000003"] })
        state = yield* sandbox.state
        expect(codes(state.active)).toEqual(["CS00000001"])
        expect(codes(state.archived)).toEqual(["CS00000002", "CS00000003"])
        expect(codes(state.integrated as ReadonlyArray<{ codeContrat: string }>)).toEqual(["CS00000001"])
      })))
})

// -----------------------------------------------------------------------------
// Secrets
// -----------------------------------------------------------------------------

describe("the token", () => {
  const token = "cs-tok-SECRET-9d2f7c41"

  it.scopedLive("never reaches the run store (records, events) nor error messages", () =>
    withSandbox({ tokens: [token] }, () =>
      Effect.gen(function*() {
        // a careless workflow copies the token into its input and into a step's input
        const careless = Workflow.make({
          name: "careless",
          input: Schema.Struct({ note: Schema.String }),
          output: Schema.Unknown,
          run: ({ note }) =>
            Effect.gen(function*() {
              yield* Workflow.step(Steps.testToken, {})
              return yield* Workflow.step(Steps.listTransmitted, { codes: [note] })
            })
        })
        const { events, record } = yield* runFlow(careless, { note: `token=${token}` })
        expect(record.status).toBe("succeeded")
        const stored = JSON.stringify({ record, events })
        expect(stored).not.toContain(token)
        expect(stored).toContain("token=[redacted]")
        const store = yield* RunStore.RunStore
        expect(JSON.stringify(yield* store.list())).not.toContain(token)
      })))

  it.scopedLive("a refused token is masked too, and absent from the error", () =>
    withSandbox({}, () =>
      Effect.gen(function*() {
        const { events, record } = yield* runFlow(scenario, { conventions: [aggregate(1)], maxRemovals: 0 })
        expect(record.status).toBe("failed")
        expect(record.failure?.error._tag).toBe("Unauthorized")
        expect(record.failure!.error.message).toContain("Check the configured token")
        expect(JSON.stringify({ record, events })).not.toContain(token)
        const redactor = yield* Redactor.Redactor
        expect(redactor.redactText(`Bearer ${token}`)).toBe("Bearer [redacted]")
      }), { token }))

  it.scopedLive("the plugin's layer, from a decoded section, registers the token", () =>
    Effect.gen(function*() {
      const sandbox = yield* CampusSkillsSandbox.make({ tokens: [token] })
      const plugin = CampusSkillsPlugin.make()
      const config = Either.getOrThrow(PluginConfig.decode(plugin.config!, { url: sandbox.url, token }))
      const layer = CampusSkillsPlugin.layer(config).pipe(
        Layer.provide(NodeHttpClient.layerUndici),
        Layer.provideMerge(Redactor.layer)
      )
      const [name, masked] = yield* Effect.gen(function*() {
        const client = yield* CampusSkillsClient.CampusSkillsClient
        const redactor = yield* Redactor.Redactor
        return [(yield* client.test).name, redactor.redact({ header: `Bearer ${token}` })] as const
      }).pipe(Effect.provide(layer))
      expect(name).toBe(CampusSkillsSandbox.defaultSchoolName)
      expect(masked).toEqual({ header: "Bearer [redacted]" })
      expect(plugin.endpoint!(config)).toBe(sandbox.url)
    }))
})

// -----------------------------------------------------------------------------
// The sandbox, through the plugin contract
// -----------------------------------------------------------------------------

/** The engine, a redactor and the plugin's own layer over a configuration. */
const pluginServices = (plugin: Plugin.Plugin, config: unknown) =>
  Layer.mergeAll(plugin.layer!(config), Engine.layerMemory()).pipe(
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.provideMerge(Redactor.layer)
  )

const fast = RetryPolicy.constant({ maxAttempts: 3, initialDelay: 20 })

describe("the sandbox, through the plugin contract", () => {
  it.scopedLive("starts through sandbox(); a step runs against it through layer(running.config)", () =>
    Effect.gen(function*() {
      const plugin = CampusSkillsPlugin.make()
      const sandbox = yield* Effect.promise(() => plugin.sandbox!())
      const running = yield* sandbox.start({ faults: [], settings: {} })
      expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(running.summary).toBeUndefined()
      expect(plugin.endpoint!(running.config)).toBe(running.url)
      // the configuration points at the sandbox, as the schema would decode it
      expect(Schema.is(Schema.typeSchema(CampusSkillsConfig.Options))(running.config)).toBe(true)
      expect(running.config.sandbox).toBe(true)
      const { record } = yield* runFlow(
        Workflow.make({
          name: "against the plugin's sandbox",
          input: Schema.Struct({}),
          output: Schema.Unknown,
          run: () =>
            Effect.gen(function*() {
              const { name } = yield* Workflow.step(Steps.testToken, {})
              // allowed: the sandbox's configuration says it is one
              const reset = yield* Workflow.step(Steps.resetSync, {})
              return { name, reset }
            })
        }),
        {}
      ).pipe(Effect.provide(pluginServices(plugin, running.config)))
      expect(record.status).toBe("succeeded")
      expect(record.output).toEqual({ name: CampusSkillsSandbox.defaultSchoolName, reset: { reset: true } })
    }))

  it.scopedLive("the integration setting: canonical values, and never leaves contracts transmitted", () =>
    Effect.gen(function*() {
      const sandbox = yield* Effect.promise(() => CampusSkillsPlugin.make().sandbox!())
      const setting = sandbox.settings!.find((s) => s.name === "integration")!
      expect(setting.default).toBe("immediate")
      expect(setting.parse("30000ms")).toEqual(Either.right("30s"))
      expect(setting.parse("30 seconds")).toEqual(Either.right("30s"))
      expect(setting.parse(" NEVER ")).toEqual(Either.right("never"))
      expect(setting.parse(setting.default)).toEqual(Either.right("immediate"))
      const refused = setting.parse("soon")
      expect(Either.isLeft(refused) && refused.left).toContain("is not one of immediate, never, or a delay")

      const never = yield* sandbox.start({ faults: [], settings: { integration: "never" } })
      expect(never.summary).toBe("integration: never")
      const [transmitted, integrated] = yield* Effect.gen(function*() {
        const client = yield* CampusSkillsClient.CampusSkillsClient
        yield* client.syncV2([contract(1)])
        return [(yield* client.listTransmitted()).total, (yield* client.listIntegrated()).total] as const
      }).pipe(Effect.provide(pluginServices(CampusSkillsPlugin.make(), never.config)))
      expect([transmitted, integrated]).toEqual([1, 0])

      const bad = yield* Effect.flip(sandbox.start({ faults: [], settings: { integration: "soon" } }))
      expect(bad._tag).toBe("SandboxOptionsError")
      expect(bad.message).toContain("integration \"soon\"")
    }))

  it.scopedLive("fault rules apply from the start: a 503 is retried by the step's policy", () =>
    Effect.gen(function*() {
      const plugin = CampusSkillsPlugin.make()
      const sandbox = yield* Effect.promise(() => plugin.sandbox!())
      expect(sandbox.faultExample).toBeDefined()
      const running = yield* sandbox.start({ faults: ["GET /api/sync/v1/test 503 x1"], settings: {} })
      const { events, record } = yield* runStep(Steps.testToken, {}, { retry: fast }).pipe(
        Effect.provide(pluginServices(plugin, running.config))
      )
      expect(record.status).toBe("succeeded")
      expect(ofTag(events, "AttemptFailed").map((e) => e.error)).toMatchObject([{ _tag: "Unavailable", status: 503 }])
    }))
})

// -----------------------------------------------------------------------------
// Registry and schemas
// -----------------------------------------------------------------------------

describe("the plugin", () => {
  it.effect("registers every step under campus-skills/, documented, with JSON Schemas for YAML", () =>
    Effect.gen(function*() {
      const registry = yield* Plugin.makeRegistry([CampusSkillsPlugin.make()])
      expect(registry.steps.map((s) => s.name)).toEqual([
        "campus-skills/diff",
        "campus-skills/list-integrated",
        "campus-skills/list-transmitted",
        "campus-skills/map-convention",
        "campus-skills/map-conventions",
        "campus-skills/reset-sync",
        "campus-skills/send-changes",
        "campus-skills/sync-snapshot",
        "campus-skills/test-token",
        "campus-skills/wait-integrated"
      ])
      for (const info of registry.steps) {
        expect(info.description.length).toBeGreaterThan(20)
        const schemas = Step.jsonSchemas(info.step)
        expect(Object.keys(schemas.input).length).toBeGreaterThan(0)
        expect(Object.keys(schemas.output).length).toBeGreaterThan(0)
      }
      expect(registry.find("campus-skills/sync-snapshot")!.compensation).toBeDefined()
      expect(registry.find("campus-skills/send-changes")!.compensation).toBeDefined()
      const custom = CampusSkillsPlugin.make({ waitIntegrated: { pollInterval: "10 seconds", deadline: "10 minutes" } })
      expect(custom.steps.find((s) => s.name === "campus-skills/wait-integrated")!.retry.maxAttempts).toBe(61)
    }))

  it.effect("step inputs decode from the JSON a YAML author writes", () =>
    Effect.gen(function*() {
      const input = yield* Step.decodeInput(Steps.syncSnapshot, "sync", {
        contrats: [toWire(contract(1))],
        allowRemovals: ["C9"],
        version: "v1"
      })
      expect(input.contrats[0]).toBeInstanceOf(Contract.Contract)
      const bad = yield* Effect.flip(Step.decodeInput(Steps.syncSnapshot, "sync", {
        contrats: [{ ...toWire(contract(1)), dateFin: "31/02/2026" }],
        allowRemovals: -1
      }))
      expect(bad.message).toContain("contrats[0].dateFin")
      expect(bad.message).toContain("allowRemovals")
    }))
})
