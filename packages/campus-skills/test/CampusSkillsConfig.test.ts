/**
 * The configuration schema: the variable names derived from it, a profile and the environment
 * decoding the same way, located messages that never quote the token, and the checks of
 * options built in code.
 */
import { describe, expect, it } from "@effect/vitest"
import { PluginConfig } from "@relais/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { CampusSkillsConfig, CampusSkillsPlugin } from "../src/index.js"

const plugin = CampusSkillsPlugin.make()
const schema = CampusSkillsConfig.Options

/** A section read from variables, then decoded: what the host does without a profile. */
const fromEnv = (env: Record<string, string>) => {
  const read = Option.getOrThrow(PluginConfig.fromEnv(plugin, env))
  expect(read.issues).toEqual([])
  return PluginConfig.decode(schema, read.input)
}

const issues = <A>(result: Either.Either<A, ReadonlyArray<PluginConfig.Issue>>) =>
  Either.isLeft(result) ? result.left.map((issue) => ({ path: issue.path.join("."), message: issue.message })) : []

describe("CampusSkillsConfig", () => {
  it("keeps the variable names of the section: CAMPUS_SKILLS_URL, _TOKEN, _TIMEOUT, _MAX_RESPONSE_BYTES", () => {
    const fields = PluginConfig.fields(schema)
    expect(fields.map((field) => PluginConfig.envName(plugin.name, field.path))).toEqual([
      "CAMPUS_SKILLS_URL",
      "CAMPUS_SKILLS_TOKEN",
      "CAMPUS_SKILLS_TIMEOUT",
      "CAMPUS_SKILLS_MAX_RESPONSE_BYTES",
      "CAMPUS_SKILLS_SANDBOX"
    ])
    expect(fields.filter((field) => field.secret).map((field) => field.path)).toEqual([["token"]])
    expect(fields.filter((field) => !field.optional).map((field) => field.path)).toEqual([["url"], ["token"]])
    expect(PluginConfig.profileKey(plugin.name)).toBe("campusSkills")
  })

  it("decodes a profile's section and the same values from the environment alike", () => {
    const profile = Either.getOrThrow(PluginConfig.decode(schema, {
      url: "https://cfa.example.fr/",
      token: "s3cr3t-token",
      timeout: "30s",
      maxResponseBytes: 1048576
    }))
    const env = Either.getOrThrow(fromEnv({
      CAMPUS_SKILLS_URL: "https://cfa.example.fr/",
      CAMPUS_SKILLS_TOKEN: "s3cr3t-token",
      CAMPUS_SKILLS_TIMEOUT: "30s",
      CAMPUS_SKILLS_MAX_RESPONSE_BYTES: "1048576"
    }))
    for (const config of [profile, env]) {
      expect(config.url).toBe("https://cfa.example.fr")
      expect(Redacted.isRedacted(config.token)).toBe(true)
      expect(Redacted.value(config.token)).toBe("s3cr3t-token")
      expect(String(config.token)).not.toContain("s3cr3t")
      expect(Duration.toMillis(config.timeout!)).toBe(30_000)
      expect(config.maxResponseBytes).toBe(1048576)
    }
    // "30 seconds" (Effect's own form) and "30000ms" are the same duration
    expect(Duration.toMillis(Either.getOrThrow(fromEnv({
      CAMPUS_SKILLS_URL: "https://x.fr",
      CAMPUS_SKILLS_TOKEN: "t0k3n",
      CAMPUS_SKILLS_TIMEOUT: "30000ms"
    })).timeout!)).toBe(30_000)
  })

  it("a bad timeout fails the same check, with the same message, from a profile or the environment", () => {
    const profile = issues(PluginConfig.decode(schema, { url: "https://x.fr", token: "t0k3n", timeout: "30 secs please" }))
    const env = issues(fromEnv({ CAMPUS_SKILLS_URL: "https://x.fr", CAMPUS_SKILLS_TOKEN: "t0k3n", CAMPUS_SKILLS_TIMEOUT: "30 secs please" }))
    expect(profile).toEqual([{ path: "timeout", message: "\"30 secs please\" is not a duration (e.g. 30s, 2m, 500ms)" }])
    expect(env).toEqual(profile)
  })

  it("reports every problem at its path, never quoting the token", () => {
    const secret = "tok-3e4f-not-in-messages"
    const result = issues(PluginConfig.decode(schema, {
      url: "http://cfa.example.fr",
      token: 42,
      maxResponseBytes: 0,
      extra: secret
    }))
    expect(result).toEqual([
      { path: "extra", message: "is unexpected, expected: \"url\" | \"token\" | \"timeout\" | \"maxResponseBytes\" | \"sandbox\"" },
      {
        path: "url",
        message: "Campus Skills requires HTTPS, got http://cfa.example.fr/; plain http is only allowed for loopback hosts " +
          "(127.0.0.1, localhost, ::1)"
      },
      { path: "token", message: "is not a valid value (not shown: it is a secret)" },
      { path: "maxResponseBytes", message: "expected a positive number of bytes, got 0" }
    ])
    expect(JSON.stringify(result)).not.toContain(secret)
    expect(issues(PluginConfig.decode(schema, {}))).toEqual([
      { path: "url", message: "missing url (e.g. https://app.campus-skills.com)" },
      { path: "token", message: "is missing" }
    ])
    const blank = issues(PluginConfig.decode(schema, { url: "https://x.fr", token: "   " }))
    expect(blank).toEqual([{ path: "token", message: "is not a valid value (not shown: it is a secret)" }])
    const credentials = issues(PluginConfig.decode(schema, { url: `https://user:${secret}@x.fr`, token: "t0k3n" }))
    expect(credentials).toEqual([{ path: "url", message: "the URL must not contain credentials: give them in their own settings" }])
    expect(JSON.stringify(credentials)).not.toContain(secret)
  })

  it("checks URLs: HTTPS except on loopback hosts, no credentials, no query", () => {
    expect(CampusSkillsConfig.checkUrl("https://app.campus-skills.com/")).toEqual(Either.right("https://app.campus-skills.com"))
    for (const url of ["http://127.0.0.1:8080", "http://localhost:1234", "http://[::1]:99"]) {
      expect(Either.isRight(CampusSkillsConfig.checkUrl(url)), url).toBe(true)
    }
    const insecure = CampusSkillsConfig.checkUrl("http://app.campus-skills.com")
    expect(Either.isLeft(insecure) && insecure.left).toMatchObject({ _tag: "InvalidConfiguration", field: "url" })
    expect(Either.isLeft(insecure) && insecure.left.message).toContain("Campus Skills requires HTTPS")
    const relative = CampusSkillsConfig.checkUrl("app.campus-skills.com")
    expect(Either.isLeft(relative) && relative.left.reason).toBe(
      "\"app.campus-skills.com\" is not an absolute URL (e.g. https://app.campus-skills.com)"
    )
    expect(Either.isLeft(CampusSkillsConfig.checkUrl("https://x.fr?a=1"))).toBe(true)
  })

  it.effect("checks options built in code with the same rules", () =>
    Effect.gen(function*() {
      const blank = yield* Effect.flip(CampusSkillsConfig.validate({ url: "https://x.fr", token: Redacted.make(" ") }))
      expect(blank.message).toBe("Invalid Campus Skills configuration (token): must not be empty")
      const ok = yield* CampusSkillsConfig.validate({ url: "https://x.fr/", token: Redacted.make("t") })
      expect(ok.url).toBe("https://x.fr")
    }))

  it("encodes a decoded section back to what a profile holds (the duration in its canonical form)", () => {
    const decoded = Either.getOrThrow(PluginConfig.decode(schema, { url: "https://x.fr", token: "t0k3n", timeout: "2 minutes" }))
    expect(PluginConfig.secretsOf(decoded).map(Redacted.value)).toEqual(["t0k3n"])
    expect(Schema.encodeSync(schema)(decoded)).toEqual({ url: "https://x.fr", token: "t0k3n", timeout: "2m" })
  })
})
