/**
 * The plugin: its catalogue (names, policies, compensations, reconciliations, JSON Schemas),
 * policy overrides, and credentials: registered with the redactor, never in an error message
 * nor in the run store, with a clear non-retryable error for bad ones.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Plugin, RetryPolicy, RunStore, Step, Workflow } from "@relais/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { Buffer } from "node:buffer"
import { AimairaConfig, AimairaPlugin, ConventionSteps } from "../src/index.js"
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
    const basic = AimairaPlugin.secretsOf(AimairaConfig.basic("user", "p4ssword")).map(Redacted.value)
    expect(basic).toEqual(["p4ssword", Buffer.from("user:p4ssword").toString("base64").replace(/=+$/, "")])
    expect(AimairaPlugin.secretsOf(AimairaConfig.apiKey("k3y-value")).map(Redacted.value)).toEqual(["k3y-value"])
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
