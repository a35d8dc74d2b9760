/**
 * The plugin as relais' host sees it: the factory's object, the registry accepting it, the
 * configuration section read from a profile or from ESIGN_* variables through the one schema
 * (located problems, a secret never quoted), the JSON Schema of the section, and the layer
 * built from a decoded section with the token registered with the redactor.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import { Plugin, PluginConfig, Redactor } from "@relais/core"
import { Effect, Either, Layer, Option, Redacted } from "effect"
import esign, * as Esign from "../src/index.js"
import * as Sandbox from "../src/Sandbox.js"
import { envelopeRequest } from "./support.js"

const canary = "canary-esign-token-9c4e2a10"

describe("the esign plugin", () => {
  it("is a plain object from a factory, stamped with the plugin API version", () => {
    const plugin = esign()
    expect(plugin.name).toBe("esign")
    expect(Plugin.label(plugin)).toBe("E-signature")
    expect(plugin.apiVersion).toBe(Plugin.apiVersion)
    expect(plugin.steps.map((s) => s.name)).toEqual(["esign/send-for-signature", "esign/wait-signed", "esign/get-envelope"])
    expect(Esign.default).toBe(esign)
  })

  it.effect("registers in relais' registry beside other plugins, with what the catalogue shows", () =>
    Effect.gen(function*() {
      const registry = yield* Plugin.makeRegistry([esign()])
      const send = registry.steps.find((s) => s.name === "esign/send-for-signature")!
      expect(send).toMatchObject({ plugin: "esign", reconciles: true, compensation: "cancel the envelope", idempotent: false })
      const wait = registry.steps.find((s) => s.name === "esign/wait-signed")!
      expect(wait.step.polls).toBe(true)
      expect(registry.pluginOf("esign/wait-signed")?.name).toBe("esign")
      // taken twice: refused by name
      const twice = yield* Effect.flip(Plugin.makeRegistry([esign(), esign()]))
      expect(twice.message).toContain("esign")
    }))

  it("the wait-signed options of the factory reach the step, as code or as a config file's text", () => {
    const plugin = esign({ waitSigned: { pollInterval: "1 minute", deadline: "90 minutes" } })
    const wait = plugin.steps.find((s) => s.name === "esign/wait-signed")!
    expect(wait.retry.maxAttempts).toBe(91)
    expect(wait.description).toContain("5400 s")
    const fromYaml = esign({ waitSigned: { pollInterval: "5s", deadline: "5m" } }).steps.find((s) => s.name === "esign/wait-signed")!
    expect(fromYaml.retry.maxAttempts).toBe(61)
    expect(() => esign({ waitSigned: { pollInterval: "often" } })).toThrow("pollInterval must be a positive duration (30s, 5m), got \"often\"")
  })

  describe("the configuration section", () => {
    const schema = esign().config!

    it("is the esign: key of a profile and the ESIGN_* variables; the token is the secret", () => {
      expect(PluginConfig.profileKey("esign")).toBe("esign")
      expect(PluginConfig.fields(schema).map((f) => [PluginConfig.envName("esign", f.path), f.kind, f.secret, f.optional])).toEqual([
        ["ESIGN_URL", "string", false, false],
        ["ESIGN_TOKEN", "string", true, false],
        ["ESIGN_TIMEOUT", "string", false, true],
        ["ESIGN_MAX_RESPONSE_BYTES", "number", false, true]
      ])
    })

    it("from variables: decoded by the same schema, the token redacted", () => {
      const read = Option.getOrThrow(PluginConfig.fromEnv(esign(), {
        ESIGN_URL: "https://api.esign.example/",
        ESIGN_TOKEN: canary,
        ESIGN_TIMEOUT: "45s",
        ESIGN_MAX_RESPONSE_BYTES: "1048576"
      }))
      expect(read.issues).toEqual([])
      const config = Either.getOrThrow(PluginConfig.decode(schema, read.input))
      expect(config.url).toBe("https://api.esign.example")
      expect(Redacted.value(config.token)).toBe(canary)
      expect(String(config.token)).not.toContain(canary)
      expect(config.maxResponseBytes).toBe(1048576)
      expect(PluginConfig.secretsOf(config)).toHaveLength(1)
    })

    it("every problem at its path; a bad token is never quoted", () => {
      const issues = Either.getLeft(PluginConfig.decode(schema, {
        url: "http://api.esign.example",
        token: "",
        timeout: "soon",
        color: "blue"
      })).pipe(Option.getOrThrow)
      const byPath = Object.fromEntries(issues.map((i) => [i.path.join("."), i.message]))
      expect(byPath.url).toContain("the e-signature service requires HTTPS")
      expect(byPath.token).toBe("is not a valid value (not shown: it is a secret)")
      expect(byPath.timeout).toContain("\"soon\" is not a duration")
      expect(byPath.color).toBeDefined()
      const missing = Either.getLeft(PluginConfig.decode(schema, { url: "https://api.esign.example" })).pipe(Option.getOrThrow)
      expect(missing).toEqual([{ path: ["token"], message: "is missing" }])
    })

    it("has a JSON Schema for the configuration file, where the token may be { env } or { file }", () => {
      const json = PluginConfig.jsonSchema(schema) as { properties: Record<string, { anyOf?: Array<unknown> }>; required: Array<string> }
      expect(json.required).toEqual(["url", "token"])
      expect(JSON.stringify(json.properties.token)).toContain("\"env\"")
    })
  })

  it.scopedLive("the layer from a decoded section: the client works, the token is registered with the redactor", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.make({ tokens: [canary] })
      const plugin = esign()
      const config = Either.getOrThrow(PluginConfig.decode(plugin.config!, { url: sandbox.url, token: canary }))
      const context = yield* Layer.build(
        plugin.layer!(config).pipe(Layer.provideMerge(Layer.mergeAll(Redactor.layer, NodeHttpClient.layerUndici)))
      )
      const client = yield* Effect.provide(Esign.Client.EsignClient, context)
      const created = yield* client.createEnvelope(envelopeRequest)
      expect(created.status).toBe("sent")
      const redactor = yield* Effect.provide(Redactor.Redactor, context)
      expect(redactor.redactText(`Authorization: Bearer ${canary}`)).toBe("Authorization: Bearer [redacted]")
    }))

  it.effect("a configuration built by hand that cannot work fails the layer with a message", () =>
    Effect.gen(function*() {
      const layer = esign().layer!({ url: "ftp://files.example", token: Redacted.make("x") })
      const error = yield* Effect.flip(Layer.build(layer).pipe(
        Effect.provide(Layer.mergeAll(Redactor.layer, NodeHttpClient.layerUndici)),
        Effect.scoped
      ))
      expect(error.message).toContain("esign.url")
    }))
})
