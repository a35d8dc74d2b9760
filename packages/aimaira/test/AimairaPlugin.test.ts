/**
 * The plugin: its catalogue (names, policies, compensations, reconciliations, JSON Schemas),
 * policy overrides, credentials (registered with the redactor, never in an error message nor
 * in the run store, with a clear non-retryable error for bad ones), and its sandbox started
 * through the plugin contract.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it, layer } from "@effect/vitest"
import { Engine, Plugin, Redactor, RetryPolicy, RunStore, Step, Workflow } from "@relais/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { Buffer } from "node:buffer"
import { AimairaClient, AimairaConfig, AimairaPlugin, ConventionSteps, Entities, Ids } from "../src/index.js"
import { AimairaSandbox } from "../src/sandbox/index.js"
import { journaled, runFlow, stepsLayer } from "./stepSupport.js"

const creates = [
  "aimaira/attach-organisme-financeur",
  "aimaira/create-convention",
  "aimaira/create-entreprise",
  "aimaira/create-inscription",
  "aimaira/create-professionnel",
  "aimaira/create-remuneration",
  "aimaira/find-or-create-learner"
]

describe("AimairaPlugin", () => {
  it.effect("registers every step under aimaira/, creates with a reconciliation and a compensation", () =>
    Effect.gen(function*() {
      const registry = yield* Plugin.makeRegistry([AimairaPlugin.make()])
      expect(registry.steps.map((s) => s.name)).toEqual([
        "aimaira/attach-organisme-financeur",
        "aimaira/create-convention",
        "aimaira/create-entreprise",
        "aimaira/create-inscription",
        "aimaira/create-professionnel",
        "aimaira/create-remuneration",
        "aimaira/enrol-parcours",
        "aimaira/find-or-create-learner",
        "aimaira/get-convention-aggregate",
        "aimaira/get-object",
        "aimaira/list-billing-clients",
        "aimaira/list-conventions",
        "aimaira/list-eligible-sequences",
        "aimaira/list-enseignants",
        "aimaira/list-etats-convention",
        "aimaira/list-inscriptions",
        "aimaira/list-organismes-financeurs",
        "aimaira/list-types-convention",
        "aimaira/set-convention-etat",
        "aimaira/synchronisation-affaire",
        "aimaira/update-convention"
      ])
      for (const info of registry.steps) {
        const isCreate = creates.includes(info.name)
        expect([info.name, info.reconciles]).toEqual([info.name, isCreate])
        expect([info.name, info.compensation !== undefined]).toEqual([
          info.name,
          isCreate || ["aimaira/update-convention", "aimaira/set-convention-etat", "aimaira/enrol-parcours"].includes(info.name)
        ])
        expect([info.name, info.idempotent]).toEqual([info.name, !isCreate])
        expect(info.description.length).toBeGreaterThan(10)
        // Inputs and outputs render as JSON Schemas (docs, editors, `relais steps`).
        const schemas = Step.jsonSchemas(info.step)
        expect(schemas.input).toMatchObject({ type: "object" })
        expect(Object.keys(schemas.output).length).toBeGreaterThan(0)
      }
      const reads = registry.steps.filter((s) => s.name.startsWith("aimaira/list-") || s.name.startsWith("aimaira/get-"))
      expect(new Set(reads.map((s) => s.step.retry.maxAttempts))).toEqual(new Set([5]))
      expect(registry.find("aimaira/enrol-parcours")!.retry).toMatchObject({ maxAttempts: 4, backoff: "exponential" })
      expect(registry.find("aimaira/create-convention")!.retry).toMatchObject({ maxAttempts: 4, backoff: "exponential", jitter: true })
    }))

  it.effect("options replace the policies and the timeout of every step", () =>
    Effect.gen(function*() {
      const readRetry = RetryPolicy.constant({ maxAttempts: 2, initialDelay: 10 })
      const writeRetry = RetryPolicy.none
      const registry = yield* Plugin.makeRegistry([AimairaPlugin.make({ readRetry, writeRetry, timeout: "5 seconds" })])
      expect(registry.find("aimaira/list-inscriptions")!.retry).toBe(readRetry)
      expect(registry.find("aimaira/get-convention-aggregate")!.retry).toBe(readRetry)
      expect(registry.find("aimaira/list-enseignants")!.retry).toBe(readRetry)
      expect(registry.find("aimaira/create-professionnel")!.retry).toBe(writeRetry)
      expect(registry.find("aimaira/enrol-parcours")!.retry).toBe(writeRetry)
      expect(registry.find("aimaira/update-convention")!.retry).toBe(writeRetry)
      expect(new Set(registry.steps.map((s) => Duration.toMillis(s.step.timeout)))).toEqual(new Set([5000]))
    }))

  it("the outputs are AIMAIRA's wire shape, with dates in the Paris offset form", () => {
    const schema = Step.jsonSchemas(ConventionSteps.createConvention).output as { properties: Record<string, unknown> }
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(["Id", "Code", "Nom", "ApprenantId", "EtatConventionId"]))
    expect(Object.keys(schema.properties)).not.toContain("extra")
  })

  it("knows the wire forms of the credentials", () => {
    const basic = AimairaConfig.secretsOf(AimairaConfig.basic("user", "p4ssword")).map(Redacted.value)
    expect(basic).toEqual(["p4ssword", "user:p4ssword", Buffer.from("user:p4ssword").toString("base64")])
    expect(AimairaConfig.secretsOf(AimairaConfig.apiKey("k3y-value")).map(Redacted.value)).toEqual(["k3y-value"])
  })
})

/** The whole run as stored: record and events, as JSON. */
const stored = (runId: string) =>
  Effect.gen(function*() {
    const store = yield* RunStore.RunStore
    const record = yield* store.get(runId)
    const events = yield* store.events(runId)
    return JSON.stringify({ record, events })
  })

const forms = (...secrets: ReadonlyArray<string>) =>
  secrets.flatMap((secret) => [secret, Buffer.from(secret).toString("base64").replace(/=+$/, "")])

layer(stepsLayer(), { excludeTestServices: true })("AimairaPlugin with good credentials", (it) => {
  it.effect("registers them: a value equal to the password is masked in the run store", () =>
    Effect.gen(function*() {
      const sandbox = yield* AimairaSandbox.AimairaSandbox
      const password = Redacted.value(sandbox.credentials.password)
      const { events, record } = yield* runFlow(Workflow.step(ConventionSteps.createEntreprise, { Nom: password }))
      expect(record.status).toBe("succeeded")
      expect(journaled(events, "aimaira/create-entreprise").Nom).toBe("[redacted]")
      const text = yield* stored(record.id)
      for (const secret of forms(password, `${sandbox.credentials.username}:${password}`)) expect(text).not.toContain(secret)
    }))
})

const wrongPassword = "not-the-password-42"

layer(
  stepsLayer({}, (sandbox) => AimairaConfig.basic(sandbox.credentials.username, wrongPassword)),
  { excludeTestServices: true }
)("AimairaPlugin with a wrong password", (it) => {
  it.effect("fails at once with a clear error; neither the message nor the run store holds a secret", () =>
    Effect.gen(function*() {
      const sandbox = yield* AimairaSandbox.AimairaSandbox
      const { events, record } = yield* runFlow(Workflow.step(ConventionSteps.listTypesConvention, {}))
      expect(record.status).toBe("failed")
      expect(record.failure).toMatchObject({ reason: "non_retryable", error: { _tag: "Unauthorized", status: 401 } })
      expect(events.filter((e) => e._tag === "AttemptFailed")).toHaveLength(1)
      expect(record.failure!.error.message).toMatch(
        /^AIMAIRA refused the user name and password \(401 on GET \/GraphV1\/TypeConvention\).*check AIMAIRA_USERNAME \/ AIMAIRA_PASSWORD/
      )
      const text = yield* stored(record.id)
      const secrets = forms(wrongPassword, `${sandbox.credentials.username}:${wrongPassword}`, Redacted.value(sandbox.credentials.password))
      for (const secret of secrets) expect(text).not.toContain(secret)
    }))
})

const wrongKey = "wrong-api-key-0042"

layer(stepsLayer({}, () => AimairaConfig.apiKey(wrongKey)), { excludeTestServices: true })("AimairaPlugin with a wrong API key", (it) => {
  it.effect("fails at once with a clear error; the key is nowhere in the run store", () =>
    Effect.gen(function*() {
      const sandbox = yield* AimairaSandbox.AimairaSandbox
      const { record } = yield* runFlow(Workflow.step(ConventionSteps.listTypesConvention, {}))
      expect(record.failure).toMatchObject({ reason: "non_retryable", error: { _tag: "Unauthorized", status: 401 } })
      expect(record.failure!.error.message).toContain("AIMAIRA refused the API key")
      const text = yield* stored(record.id)
      for (const secret of forms(wrongKey, Redacted.value(sandbox.credentials.apiKey))) expect(text).not.toContain(secret)
    }))
})

// -----------------------------------------------------------------------------
// The sandbox, through the plugin contract
// -----------------------------------------------------------------------------

/** The engine, a redactor and the plugin's own layer over a configuration. */
const pluginServices = (plugin: Plugin.Plugin, config: unknown) =>
  Layer.mergeAll(plugin.layer!(config), Engine.layerMemory()).pipe(
    Layer.provide(NodeHttpClient.layer),
    Layer.provideMerge(Redactor.layer)
  )

describe("AimairaPlugin's sandbox, through the plugin contract", () => {
  it.scopedLive("starts through sandbox(); a step runs against it through layer(running.config)", () =>
    Effect.gen(function*() {
      const plugin = AimairaPlugin.make()
      expect(plugin.label).toBe("AIMAIRA")
      const sandbox = yield* Effect.promise(() => plugin.sandbox!())
      const running = yield* sandbox.start({ faults: [], settings: {} })
      expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(running.summary).toBeUndefined()
      expect(plugin.endpoint!(running.config)).toBe(`${running.url}/GraphV1`)
      expect(Schema.is(Schema.typeSchema(AimairaConfig.Options))(running.config)).toBe(true)
      const { output, record } = yield* runFlow(Workflow.step(ConventionSteps.listTypesConvention, {})).pipe(
        Effect.provide(pluginServices(plugin, running.config))
      )
      expect(record.status).toBe("succeeded")
      expect((output as ReadonlyArray<{ Code: string }>).map((t) => t.Code)).toContain("APP")
    }))

  it.scopedLive("the deletes setting: its values, and refused deletes answer 405", () =>
    Effect.gen(function*() {
      const plugin = AimairaPlugin.make()
      const sandbox = yield* Effect.promise(() => plugin.sandbox!())
      const setting = sandbox.settings!.find((s) => s.name === "deletes")!
      expect(setting.default).toBe("allowed")
      expect(setting.parse(" Refused ")).toEqual(Either.right("refused"))
      expect(setting.parse(setting.default)).toEqual(Either.right("allowed"))
      expect(setting.parse("sometimes")).toEqual(Either.left("deletes \"sometimes\" is not one of allowed, refused"))
      const running = yield* sandbox.start({ faults: [], settings: { deletes: "refused" } })
      expect(running.summary).toBe("deletes: refused")
      const refused = yield* Effect.flatMap(AimairaClient.AimairaClient, (client) =>
        Effect.flip(client.delete(Entities.Civilite, Ids.CiviliteId.make(1)))).pipe(
          Effect.provide(pluginServices(plugin, running.config))
        )
      expect(refused).toMatchObject({ status: 405 })
      const bad = yield* Effect.flip(sandbox.start({ faults: [], settings: { deletes: "sometimes" } }))
      expect(bad.message).toBe("Invalid AIMAIRA sandbox setting: deletes \"sometimes\" is not one of allowed, refused")
    }))

  it.scopedLive("fault rules apply from the start: a 503 is retried by the step's policy", () =>
    Effect.gen(function*() {
      const plugin = AimairaPlugin.make({ readRetry: RetryPolicy.constant({ maxAttempts: 3, initialDelay: 20 }) })
      const sandbox = yield* Effect.promise(() => plugin.sandbox!())
      const running = yield* sandbox.start({ faults: ["GET /GraphV1/TypeConvention 503 x1"], settings: {} })
      const registry = yield* Plugin.makeRegistry([plugin])
      const { events, record } = yield* runFlow(Workflow.step(registry.find("aimaira/list-types-convention")!, {})).pipe(
        Effect.provide(pluginServices(plugin, running.config))
      )
      expect(record.status).toBe("succeeded")
      expect(events.filter((e) => e._tag === "AttemptFailed").map((e) => (e as { error: unknown }).error)).toMatchObject([
        { _tag: "Unavailable", status: 503 }
      ])
    }))
})
