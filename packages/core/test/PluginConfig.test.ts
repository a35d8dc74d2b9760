import { Effect, Either, Option, Redacted, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Errors, Plugin, PluginConfig, Step } from "../src/index.js"

const Url = Schema.String.pipe(Schema.filter((s) => s.startsWith("https://") || "expected an https:// URL"))

const Section = Schema.Struct({
  url: Url,
  token: Schema.Redacted(Schema.String),
  timeout: Schema.optional(Schema.DurationFromMillis),
  verbose: Schema.optional(Schema.Boolean),
  rateLimit: Schema.optional(Schema.Struct({ perSecond: Schema.Number })),
  headers: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
})

const plugin = Plugin.make({
  name: "e-sign",
  description: "test",
  steps: [],
  config: Section
})

describe("PluginConfig", () => {
  it("derives the profile key and environment variable names from the plugin's name", () => {
    expect(PluginConfig.profileKey("campus-skills")).toBe("campusSkills")
    expect(PluginConfig.envPrefix("campus-skills")).toBe("CAMPUS_SKILLS")
    expect(PluginConfig.envName("aimaira", ["apiKey"])).toBe("AIMAIRA_API_KEY")
    expect(PluginConfig.envName("e-sign", ["rateLimit", "perSecond"])).toBe("E_SIGN_RATE_LIMIT_PER_SECOND")
  })

  it("lists the fields with their kind, whether they are secret and optional", () => {
    expect(PluginConfig.fields(Section)).toEqual([
      { path: ["url"], secret: false, kind: "string", optional: false, description: undefined },
      { path: ["token"], secret: true, kind: "string", optional: false, description: undefined },
      { path: ["timeout"], secret: false, kind: "number", optional: true, description: undefined },
      { path: ["verbose"], secret: false, kind: "boolean", optional: true, description: undefined },
      { path: ["rateLimit", "perSecond"], secret: false, kind: "number", optional: true, description: undefined },
      { path: ["headers"], secret: false, kind: "json", optional: true, description: undefined }
    ])
  })

  it("reads the environment by field kind, and decodes it with the same schema as a profile", () => {
    const env = {
      E_SIGN_URL: "https://sign.example",
      E_SIGN_TOKEN: "tok-secret-1",
      E_SIGN_TIMEOUT: "1500",
      E_SIGN_RATE_LIMIT_PER_SECOND: "5",
      E_SIGN_HEADERS: "{\"x-school\":\"cfa\"}",
      OTHER: "x"
    }
    const read = Option.getOrThrow(PluginConfig.fromEnv(plugin, env))
    expect(read.issues).toEqual([])
    expect(read.sources).toEqual({
      url: "env E_SIGN_URL",
      token: "env E_SIGN_TOKEN",
      timeout: "env E_SIGN_TIMEOUT",
      "rateLimit.perSecond": "env E_SIGN_RATE_LIMIT_PER_SECOND",
      headers: "env E_SIGN_HEADERS"
    })
    const decoded = Either.getOrThrow(PluginConfig.decode(Section, read.input))
    expect(Redacted.value(decoded.token)).toBe("tok-secret-1")
    expect(decoded.rateLimit).toEqual({ perSecond: 5 })
    expect(decoded.headers).toEqual({ "x-school": "cfa" })
    expect(PluginConfig.secretsOf(decoded).map(Redacted.value)).toEqual(["tok-secret-1"])
  })

  it("no variable of the plugin set: nothing read; a bad number: an issue naming the variable", () => {
    expect(Option.isNone(PluginConfig.fromEnv(plugin, { OTHER: "1" }))).toBe(true)
    const read = Option.getOrThrow(PluginConfig.fromEnv(plugin, { E_SIGN_TIMEOUT: "soon" }))
    expect(read.issues).toEqual([{ path: ["timeout"], message: "E_SIGN_TIMEOUT: expected a number, got \"soon\"" }])
  })

  it("reports every problem at its path, unknown keys included, without quoting a secret", () => {
    const result = PluginConfig.decode(Section, { url: "http://x", token: 42, extra: 1 })
    expect(Either.isLeft(result)).toBe(true)
    const issues = Either.getLeft(result).pipe(Option.getOrThrow)
    expect(issues).toContainEqual({ path: ["url"], message: "expected an https:// URL" })
    expect(issues).toContainEqual({ path: ["token"], message: "is not a valid value (not shown: it is a secret)" })
    expect(issues.some((i) => i.path[0] === "extra")).toBe(true)
    expect(JSON.stringify(issues)).not.toContain("42")
  })

  it("never quotes a secret that sits in a record or a union member, whatever the message", () => {
    const Connections = Schema.Struct({
      connections: Schema.Record({
        key: Schema.String,
        value: Schema.Struct({
          url: Schema.String,
          auth: Schema.optional(Schema.Union(
            Schema.Struct({ bearer: Schema.Redacted(Schema.String) }),
            Schema.Struct({ basic: Schema.Struct({ username: Schema.String, password: Schema.Redacted(Schema.String) }) })
          ))
        })
      })
    })
    const result = PluginConfig.decode(Connections, {
      connections: { crm: { url: 1, auth: { bearer: "canary-token-1", extra: "x" } }, erp: { url: "u", auth: { basic: { password: "canary-pass-2" } } } }
    })
    const text = JSON.stringify(Either.getLeft(result))
    expect(text).toContain("crm")
    expect(text).not.toContain("canary-token-1")
    expect(text).not.toContain("canary-pass-2")
  })

  it("describes the section as JSON Schema where a string may be a reference", () => {
    const schema = PluginConfig.jsonSchema(Section) as any
    expect(schema.required).toEqual(["url", "token"])
    expect(schema.properties.token.anyOf[1].oneOf[0].required).toEqual(["env"])
  })
})

describe("Plugin registry", () => {
  const step = (name: string) =>
    Step.make({ name, description: "", input: Schema.Struct({}), output: Schema.Struct({}), run: () => Effect.succeed({}) })

  it("stamps the API version and looks plugins up by name and by step", async () => {
    const registry = await Effect.runPromise(Plugin.makeRegistry([Plugin.make({ name: "e-sign", label: "E-signature", description: "", steps: [step("e-sign/send")] })]))
    expect(registry.plugins[0]!.apiVersion).toBe(Plugin.apiVersion)
    expect(registry.pluginOf("e-sign/send")?.label).toBe("E-signature")
    expect(registry.plugin("nope")).toBeUndefined()
  })

  it("refuses a taken name, a bad name and another major API version", async () => {
    const fail = (plugins: ReadonlyArray<Plugin.Plugin>) => Effect.runPromise(Effect.flip(Plugin.makeRegistry(plugins)))
    const taken = await fail([{ name: "x", description: "", steps: [] }, { name: "x", description: "", steps: [] }])
    expect(taken).toBeInstanceOf(Errors.InvalidPlugin)
    expect(taken.message).toBe("plugin \"x\": the name \"x\" is already taken by another plugin")
    expect((await fail([{ name: "Bad Name", description: "", steps: [] }])).message).toContain("lower case")
    expect((await fail([{ name: "old", apiVersion: 2, description: "", steps: [] }])).message).toContain("version 2 of the plugin API")
  })
})
