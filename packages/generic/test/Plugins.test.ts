/**
 * The two plugins on the public contract: accepted by core's registry, stamped with the API
 * version, labelled, and the http plugin's configuration and endpoint.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import { Plugin, PluginConfig, Redactor } from "@relais/core"
import { Effect, Layer, Schema } from "effect"
import { CorePlugin, HttpConnections, HttpPlugin } from "../src/index.js"

describe("CorePlugin and HttpPlugin", () => {
  it.effect("register their steps under their namespaces, with the contract's API version", () =>
    Effect.gen(function*() {
      const registry = yield* Plugin.makeRegistry([CorePlugin.make(), HttpPlugin.make()])
      expect(registry.steps.map((s) => s.name)).toEqual(["core/fail", "core/set", "core/sleep", "http/request"])
      expect(registry.pluginOf("core/sleep")?.name).toBe("core")
      expect(registry.plugins.map((p) => [Plugin.label(p), p.apiVersion])).toEqual([["relais", Plugin.apiVersion], ["HTTP", Plugin.apiVersion]])
      const info = registry.steps.find((s) => s.name === "http/request")!
      expect(info.idempotent).toBe(false)
      expect(info.retry).toContain("up to 4 attempts")
    }))

  it("the http plugin's section: profile key http, env HTTP_CONNECTIONS, JSON Schema with env/file references", () => {
    const plugin = HttpPlugin.make()
    expect(PluginConfig.profileKey(plugin.name)).toBe("http")
    expect(PluginConfig.envName(plugin.name, ["connections"])).toBe("HTTP_CONNECTIONS")
    const schema = JSON.stringify(PluginConfig.jsonSchema(plugin.config!))
    expect(schema).toContain("\"bearer\"")
    expect(schema).toContain("\"env\"")
  })

  it.effect("its layer builds the connections and registers the credentials; its endpoint names them, never a secret", () =>
    Effect.gen(function*() {
      const plugin = HttpPlugin.make()
      const config = Schema.decodeUnknownSync(plugin.config!)({
        connections: {
          crm: { url: "https://crm.example.org/api", auth: { bearer: "canary-ep-1234" } },
          hr: { url: "https://hr.example.org" }
        }
      })
      expect(plugin.endpoint!(config)).toBe("crm: https://crm.example.org/api, hr: https://hr.example.org")
      const redactor = Redactor.make()
      const connections = yield* HttpConnections.HttpConnections.pipe(
        Effect.provide(plugin.layer!(config).pipe(Layer.provide(NodeHttpClient.layerUndici), Layer.provide(Layer.succeed(Redactor.Redactor, redactor))))
      )
      expect(connections.names).toEqual(["crm", "hr"])
      expect(redactor.redactText("Bearer canary-ep-1234")).toBe(`Bearer ${Redactor.mask}`)
      expect(plugin.endpoint!({ connections: {} })).toBeUndefined()
    }))
})
