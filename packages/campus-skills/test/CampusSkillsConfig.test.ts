import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { CampusSkillsConfig } from "../src/index.js"

describe("CampusSkillsConfig", () => {
  it("requires HTTPS except on loopback hosts", () => {
    expect(CampusSkillsConfig.validateUrl("https://app.campus-skills.com/")).toEqual(
      Either.right("https://app.campus-skills.com")
    )
    for (const url of ["http://127.0.0.1:8080", "http://localhost:1234", "http://[::1]:99"]) {
      expect(Either.isRight(CampusSkillsConfig.validateUrl(url)), url).toBe(true)
    }
    const insecure = CampusSkillsConfig.validateUrl("http://app.campus-skills.com")
    expect(Either.isLeft(insecure) && insecure.left.message).toContain("HTTPS is required")
    const relative = CampusSkillsConfig.validateUrl("app.campus-skills.com")
    expect(Either.isLeft(relative) && relative.left.message).toContain("not an absolute URL")
    const withCredentials = CampusSkillsConfig.validateUrl("https://user:pw@x.fr")
    expect(Either.isLeft(withCredentials) && withCredentials.left.message).toContain("credentials")
    expect(Either.isLeft(CampusSkillsConfig.validateUrl("https://x.fr?a=1"))).toBe(true)
  })

  it.effect("reads CAMPUS_SKILLS_URL, CAMPUS_SKILLS_TOKEN (redacted) and CAMPUS_SKILLS_TIMEOUT", () =>
    Effect.gen(function*() {
      const options = yield* CampusSkillsConfig.config.pipe(
        Effect.withConfigProvider(
          ConfigProvider.fromMap(
            new Map([
              ["CAMPUS_SKILLS_URL", "https://cfa.example.fr"],
              ["CAMPUS_SKILLS_TOKEN", "s3cr3t"],
              ["CAMPUS_SKILLS_TIMEOUT", "5 seconds"],
              ["CAMPUS_SKILLS_MAX_RESPONSE_BYTES", "1048576"]
            ]),
            { pathDelim: "_" } // as the environment provider reads it
          )
        )
      )
      expect(options.url).toBe("https://cfa.example.fr")
      expect(Redacted.isRedacted(options.token)).toBe(true)
      expect(String(options.token)).not.toContain("s3cr3t")
      expect(Redacted.value(options.token)).toBe("s3cr3t")
      expect(Duration.toMillis(options.timeout!)).toBe(5000)
      expect(options.maxResponseBytes).toBe(1048576)
      const missing = yield* Effect.flip(
        CampusSkillsConfig.config.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(), { pathDelim: "_" })))
      )
      expect(String(missing)).toContain("CAMPUS_SKILLS_URL")
    }))

  it.effect("refuses an empty token", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        CampusSkillsConfig.validate({ url: "https://x.fr", token: Redacted.make(" ") })
      )
      expect(error.message).toBe("Invalid Campus Skills configuration (token): the token is empty")
    }))
})
