import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { AimairaConfig } from "../src/index.js"

const fromEnv = (env: Record<string, string>) => ConfigProvider.fromMap(new Map(Object.entries(env)), { pathDelim: "_" })

describe("AimairaConfig", () => {
  it("requires HTTPS except on loopback hosts", () => {
    expect(AimairaConfig.normalizeUrl("https://myapi.aimaira.net/GraphV1/")).toEqual(Either.right("https://myapi.aimaira.net/GraphV1"))
    expect(AimairaConfig.normalizeUrl("https://myapi.aimaira.net")).toEqual(Either.right("https://myapi.aimaira.net/GraphV1"))
    for (const url of ["http://127.0.0.1:8080/GraphV1", "http://localhost:1/GraphV1", "http://[::1]:9/GraphV1"]) {
      expect(Either.isRight(AimairaConfig.normalizeUrl(url)), url).toBe(true)
    }
    const remote = AimairaConfig.normalizeUrl("http://myapi.aimaira.net/GraphV1")
    expect(Either.isLeft(remote) && remote.left.message).toMatch(/requires HTTPS, got http:\/\/myapi\.aimaira\.net\/GraphV1.*loopback/)
    const withCredentials = AimairaConfig.normalizeUrl("https://user:s3cret@myapi.aimaira.net/GraphV1")
    expect(Either.isLeft(withCredentials) && withCredentials.left.message).toMatch(/must not contain credentials/)
    expect(Either.isLeft(withCredentials) && withCredentials.left.message).not.toContain("s3cret")
    expect(Either.isLeft(AimairaConfig.normalizeUrl("not a url"))).toBe(true)
    expect(Either.isLeft(AimairaConfig.normalizeUrl("ftp://127.0.0.1/GraphV1"))).toBe(true)
  })

  it.effect("reads AIMAIRA_ variables, secrets redacted, API key first", () =>
    Effect.gen(function*() {
      const basic = yield* Effect.withConfigProvider(
        AimairaConfig.config(),
        fromEnv({ AIMAIRA_URL: "https://x.aimaira.net/GraphV1", AIMAIRA_USERNAME: "api", AIMAIRA_PASSWORD: "pw-123" })
      )
      expect(basic.url).toBe("https://x.aimaira.net/GraphV1")
      expect(basic.auth._tag).toBe("Basic")
      expect(basic.auth._tag === "Basic" && Redacted.value(basic.auth.password)).toBe("pw-123")
      expect(String(basic.auth._tag === "Basic" ? basic.auth.password : "")).not.toContain("pw-123")
      const key = yield* Effect.withConfigProvider(
        AimairaConfig.config("AIMAIRA_PREPROD"),
        fromEnv({ AIMAIRA_PREPROD_URL: "https://p.aimaira.net", AIMAIRA_PREPROD_API_KEY: "k-1", AIMAIRA_PREPROD_USERNAME: "u" })
      )
      expect(key.auth._tag).toBe("ApiKey")
      const missing = yield* Effect.either(
        Effect.withConfigProvider(AimairaConfig.config(), fromEnv({ AIMAIRA_URL: "https://x", AIMAIRA_USERNAME: "u" }))
      )
      expect(Either.isLeft(missing) && String(missing.left)).toMatch(/AIMAIRA_API_KEY, or AIMAIRA_USERNAME and AIMAIRA_PASSWORD/)
      expect(basic.maxResponseBytes).toBeUndefined()
      const capped = yield* Effect.withConfigProvider(
        AimairaConfig.config(),
        fromEnv({ AIMAIRA_URL: "https://x.aimaira.net", AIMAIRA_API_KEY: "k", AIMAIRA_MAX_RESPONSE_BYTES: "1048576" })
      )
      expect(capped.maxResponseBytes).toBe(1048576)
      const zero = yield* Effect.either(Effect.withConfigProvider(
        AimairaConfig.config(),
        fromEnv({ AIMAIRA_URL: "https://x.aimaira.net", AIMAIRA_API_KEY: "k", AIMAIRA_MAX_RESPONSE_BYTES: "0" })
      ))
      expect(Either.isLeft(zero) && String(zero.left)).toMatch(/expected a positive number of bytes/)
    }))
})
