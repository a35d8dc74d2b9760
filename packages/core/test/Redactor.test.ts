import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { Redactor } from "../src/index.js"

describe("Redactor", () => {
  it("masks registered secrets anywhere, and their wire forms", () => {
    const redactor = Redactor.make([Redacted.make("s3cr3t-Passw0rd"), "tok_ABCDEF123"])
    const basic = Buffer.from("s3cr3t-Passw0rd").toString("base64")
    const value = {
      message: "401 for user:s3cr3t-Passw0rd",
      nested: [{ header: `Basic ${basic}` }, "Bearer tok_ABCDEF123"],
      url: `https://x/?p=${encodeURIComponent("s3cr3t-Passw0rd")}`,
      count: 3
    }
    const out = redactor.redact(value)
    expect(JSON.stringify(out)).not.toContain("s3cr3t")
    expect(JSON.stringify(out)).not.toContain("tok_ABCDEF123")
    expect(JSON.stringify(out)).not.toContain(basic.replace(/=+$/, ""))
    expect(out.count).toBe(3)
    expect(out.message).toBe("401 for user:[redacted]")
    expect(value.message).toContain("s3cr3t") // the input is not mutated
  })

  it("masks a secret registered after earlier redactions, the longer of two nested ones whole", () =>
    Effect.gen(function*() {
      const redactor = Redactor.make(["token-1234"])
      expect(redactor.redactText("a token-1234 and a token-1234-extra")).toBe("a [redacted] and a [redacted]-extra")
      yield* redactor.register("token-1234-extra")
      expect(redactor.redactText("a token-1234 and a token-1234-extra")).toBe("a [redacted] and a [redacted]")
    }).pipe(Effect.runSync))

  it("masks values under secret-named keys even when unregistered", () => {
    const out = Redactor.make().redact({ password: "hunter2", apiKey: "k", token: 12, name: "Dupont", Authorization: "Basic x" })
    expect(out).toEqual({ password: "[redacted]", apiKey: "[redacted]", token: "[redacted]", name: "Dupont", Authorization: "[redacted]" })
  })

  it("masks Redacted values and survives cycles", () => {
    const cyclic: Record<string, unknown> = { secret: Redacted.make("x"), keep: "ok" }
    cyclic.self = cyclic
    const out = Redactor.make().redact(cyclic) as Record<string, unknown>
    expect(out.secret).toBe("[redacted]")
    expect(out.keep).toBe("ok")
  })

  it("does not mask very short secrets inside text", () => {
    const out = Redactor.make(["ab"]).redactText("a cab")
    expect(out).toBe("a cab")
  })

  it("masks the values written after secret-named keys in a definition's text, not expressions", () => {
    const text = [
      "steps:",
      "  - id: login",
      "    uses: http/request",
      "    with:",
      "      password: hunter2-canary",
      "      apiKey: 'quoted-canary'",
      "      other: { client_secret: \"inline-canary\", name: kept }",
      "      token: ${{ inputs.token }}",
      "      note: a password is not a key here"
    ].join("\n")
    const masked = Redactor.maskKeyedValues(text)
    for (const canary of ["hunter2-canary", "quoted-canary", "inline-canary"]) expect(masked).not.toContain(canary)
    expect(masked).toContain(`password: "${Redactor.mask}"`)
    expect(masked).toContain("token: ${{ inputs.token }}")
    expect(masked).toContain("name: kept")
    expect(masked).toContain("note: a password is not a key here")
  })
})
