/**
 * The configuration schema: the variable names derived from it, a profile and the environment
 * decoding the same way, exactly one credential form with the messages of the configuration
 * file, secrets never quoted, and the checks of options built in code.
 */
import { describe, expect, it } from "@effect/vitest"
import { PluginConfig } from "@relais/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { AimairaConfig, AimairaPlugin } from "../src/index.js"

const plugin = AimairaPlugin.make()
const schema = AimairaConfig.Options

const fromEnv = (env: Record<string, string>) => {
  const read = Option.getOrThrow(PluginConfig.fromEnv(plugin, env))
  expect(read.issues).toEqual([])
  return PluginConfig.decode(schema, read.input)
}

const issues = <A>(result: Either.Either<A, ReadonlyArray<PluginConfig.Issue>>) =>
  Either.isLeft(result) ? result.left.map((issue) => ({ path: issue.path.join("."), message: issue.message })) : []

describe("AimairaConfig", () => {
  it("keeps the variable names: AIMAIRA_URL, _USERNAME, _PASSWORD, _API_KEY, _MAX_RESPONSE_BYTES", () => {
    const fields = PluginConfig.fields(schema)
    expect(fields.map((field) => PluginConfig.envName(plugin.name, field.path))).toEqual([
      "AIMAIRA_URL",
      "AIMAIRA_USERNAME",
      "AIMAIRA_PASSWORD",
      "AIMAIRA_API_KEY",
      "AIMAIRA_MAX_RESPONSE_BYTES"
    ])
    expect(fields.filter((field) => field.secret).map((field) => field.path.join("."))).toEqual(["password", "apiKey"])
    expect(fields.map((field) => field.kind)).toEqual(["string", "string", "string", "string", "number"])
    expect(PluginConfig.profileKey(plugin.name)).toBe("aimaira")
  })

  it("decodes a profile's section and the same values from the environment alike", () => {
    const profile = Either.getOrThrow(PluginConfig.decode(schema, {
      url: "https://x.aimaira.net",
      username: "api",
      password: "pw-123",
      maxResponseBytes: 1048576
    }))
    const env = Either.getOrThrow(fromEnv({
      AIMAIRA_URL: "https://x.aimaira.net",
      AIMAIRA_USERNAME: "api",
      AIMAIRA_PASSWORD: "pw-123",
      AIMAIRA_MAX_RESPONSE_BYTES: "1048576"
    }))
    for (const config of [profile, env]) {
      expect(config.url).toBe("https://x.aimaira.net/GraphV1")
      expect(config.auth._tag).toBe("Basic")
      expect(config.auth._tag === "Basic" && config.auth.username).toBe("api")
      expect(config.auth._tag === "Basic" && Redacted.value(config.auth.password)).toBe("pw-123")
      expect(String(config.auth._tag === "Basic" ? config.auth.password : "")).not.toContain("pw-123")
      expect(config.maxResponseBytes).toBe(1048576)
    }
    const key = Either.getOrThrow(fromEnv({ AIMAIRA_URL: "https://p.aimaira.net/GraphV1/", AIMAIRA_API_KEY: "k-1" }))
    expect(key).toMatchObject({ url: "https://p.aimaira.net/GraphV1", auth: { _tag: "ApiKey" } })
    expect(key.maxResponseBytes).toBeUndefined()
    expect(PluginConfig.secretsOf(key).map(Redacted.value)).toEqual(["k-1"])
  })

  it("wants exactly one credential form, with the messages of the configuration file", () => {
    const at = (section: Record<string, unknown>) => issues(PluginConfig.decode(schema, { url: "https://x.aimaira.net", ...section }))
    expect(at({})).toEqual([{ path: "", message: "missing credentials: apiKey, or username and password" }])
    expect(at({ username: "api" })).toEqual([{ path: "", message: "missing password (or use apiKey)" }])
    expect(at({ password: "pw" })).toEqual([{ path: "", message: "missing username" }])
    expect(at({ apiKey: "k", username: "api" })).toEqual([{ path: "", message: "give either apiKey, or username and password, not both" }])
    // the environment meets the same check
    expect(issues(fromEnv({ AIMAIRA_URL: "https://x.aimaira.net", AIMAIRA_USERNAME: "api" }))).toEqual([
      { path: "", message: "missing password (or use apiKey)" }
    ])
  })

  it("reports problems at their path, never quoting a secret", () => {
    const secret = "s3cret-pw-8841"
    const result = issues(PluginConfig.decode(schema, { url: "http://myapi.aimaira.net/GraphV1", username: "api", password: secret }))
    expect(result).toEqual([{
      path: "url",
      message: "AIMAIRA requires HTTPS, got http://myapi.aimaira.net/GraphV1; plain http is only allowed for loopback hosts " +
        "(127.0.0.1, localhost, ::1)"
    }])
    const inUrl = issues(PluginConfig.decode(schema, { url: `https://api:${secret}@myapi.aimaira.net`, apiKey: "k" }))
    expect(inUrl).toEqual([{ path: "url", message: "the URL must not contain credentials: give them in their own settings" }])
    const blank = issues(PluginConfig.decode(schema, { url: "https://x.aimaira.net", username: "api", password: "" }))
    expect(blank).toEqual([{ path: "password", message: "is not a valid value (not shown: it is a secret)" }])
    expect(issues(PluginConfig.decode(schema, { apiKey: "k", maxResponseBytes: 0 }))).toEqual([
      { path: "url", message: "missing url (the API root, e.g. https://myapi.aimaira.net/GraphV1)" },
      { path: "maxResponseBytes", message: "expected a positive number of bytes, got 0" }
    ])
    expect(JSON.stringify([result, inUrl, blank])).not.toContain(secret)
  })

  it("checks the API root: HTTPS except on loopback hosts, /GraphV1 for a bare origin", () => {
    expect(AimairaConfig.checkUrl("https://myapi.aimaira.net/GraphV1/")).toEqual(Either.right("https://myapi.aimaira.net/GraphV1"))
    expect(AimairaConfig.checkUrl("https://myapi.aimaira.net")).toEqual(Either.right("https://myapi.aimaira.net/GraphV1"))
    for (const url of ["http://127.0.0.1:8080/GraphV1", "http://localhost:1/GraphV1", "http://[::1]:9/GraphV1"]) {
      expect(Either.isRight(AimairaConfig.checkUrl(url)), url).toBe(true)
    }
    const remote = AimairaConfig.checkUrl("http://myapi.aimaira.net/GraphV1")
    expect(Either.isLeft(remote) && remote.left.message).toMatch(/requires HTTPS, got http:\/\/myapi\.aimaira\.net\/GraphV1.*loopback/)
    const withCredentials = AimairaConfig.checkUrl("https://user:s3cret@myapi.aimaira.net/GraphV1")
    expect(Either.isLeft(withCredentials) && withCredentials.left.message).toMatch(/must not contain credentials/)
    expect(Either.isLeft(withCredentials) && withCredentials.left.message).not.toContain("s3cret")
    expect(Either.isLeft(AimairaConfig.checkUrl("not a url"))).toBe(true)
    expect(Either.isLeft(AimairaConfig.checkUrl("ftp://127.0.0.1/GraphV1"))).toBe(true)
  })

  it.effect("checks options built in code with the same rules", () =>
    Effect.gen(function*() {
      const empty = yield* Effect.flip(AimairaConfig.validate({ url: "https://x.aimaira.net", auth: AimairaConfig.apiKey("") }))
      expect(empty.message).toBe("Invalid AIMAIRA configuration (auth.apiKey): must not be empty")
      const ok = yield* AimairaConfig.validate({ url: "https://x.aimaira.net", auth: AimairaConfig.basic("u", "p") })
      expect(ok.url).toBe("https://x.aimaira.net/GraphV1")
    }))

  it("encodes a decoded section back to what a profile holds", () => {
    const section = { url: "https://x.aimaira.net/GraphV1", username: "api", password: "pw-123" }
    expect(Schema.encodeSync(schema)(Either.getOrThrow(PluginConfig.decode(schema, section)))).toEqual(section)
  })
})
