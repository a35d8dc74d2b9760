/**
 * The http plugin's configuration section: base URLs, credentials, headers, limits; decode
 * errors that are located and never quote a secret; the section from HTTP_CONNECTIONS.
 */
import { describe, expect, it } from "@effect/vitest"
import { PluginConfig } from "@relais/core"
import { Duration, Either, Option, Redacted } from "effect"
import { HttpConfig } from "../src/index.js"

const SECRET = "canary-cfg-5d1e"

const issues = (input: unknown) => {
  const result = PluginConfig.decode(HttpConfig.Config, input)
  if (Either.isRight(result)) throw new Error("expected the configuration to be refused")
  return result.left.map((i) => `${i.path.join(".")}: ${i.message}`)
}

const one = (connection: Record<string, unknown>) => ({ connections: { crm: { url: "https://crm.example.org/api", ...connection } } })

describe("HttpConfig", () => {
  it("decodes connections with each kind of auth, and defaults to none", () => {
    const config = PluginConfig.decode(HttpConfig.Config, {
      connections: {
        crm: { url: "https://crm.example.org/api/", auth: { bearer: SECRET }, timeout: "20s", headers: { "X-Tenant": "a" } },
        payroll: { url: "https://payroll.example.org", auth: { basic: { username: "relais", password: SECRET } } },
        local: { url: "http://127.0.0.1:8080", auth: { apiKey: { header: "X-Api-Key", value: SECRET } }, maxResponseBytes: 4096 }
      }
    }).pipe(Either.getOrThrow)
    expect(Duration.toMillis(config.connections.crm!.timeout!)).toBe(20_000)
    const auth = config.connections.crm!.auth!
    expect("bearer" in auth && Redacted.value(auth.bearer)).toBe(SECRET)
    expect(PluginConfig.secretsOf(config)).toHaveLength(3)
    expect(PluginConfig.decode(HttpConfig.Config, {}).pipe(Either.getOrThrow)).toEqual({ connections: {} })
  })

  it("checks base URLs: HTTPS, or HTTP on loopback only; no credentials, query or fragment", () => {
    expect(issues(one({ url: "http://crm.example.org" })).join("\n")).toContain("HTTPS is required")
    expect(issues(one({ url: "crm.example.org" })).join("\n")).toContain("is not an absolute URL")
    expect(issues(one({ url: "https://crm.example.org/api?x=1" })).join("\n")).toContain("must not have a query")
    const withCredentials = issues(one({ url: `https://relais:${SECRET}@crm.example.org` }))
    expect(withCredentials.join("\n")).toContain("connections.crm.url: the URL must not contain credentials")
    expect(withCredentials.join("\n")).not.toContain(SECRET)
    expect(Either.getOrThrow(HttpConfig.checkBaseUrl("http://localhost:3000/api/"))).toBe("http://localhost:3000/api")
  })

  it("refuses a wrong auth without quoting it, whatever its shape", () => {
    for (const auth of [SECRET, { bearer: SECRET, extra: 1 }, { token: SECRET }, { basic: { username: "u", password: "" } }, { bearer: 12345 }]) {
      const found = issues(one({ auth }))
      expect(found.join("\n")).toContain("connections.crm.auth: expected one of { bearer: <secret> }")
      expect(found.join("\n")).not.toContain(SECRET)
      expect(found.join("\n")).not.toContain("12345")
    }
  })

  it("refuses headers that carry credentials or framing, the API key's header, bad names and limits", () => {
    expect(issues(one({ headers: { Authorization: "x" } })).join("\n")).toContain(
      "connections.crm.headers.Authorization: Authorization cannot be set here: credentials come from the connection's auth"
    )
    expect(issues(one({ headers: { "Content-Length": "1" } })).join("\n")).toContain("the HTTP client sets it")
    expect(issues(one({ headers: { "bad name": "1" } })).join("\n")).toContain("is not a header name")
    expect(issues(one({ headers: { "X-A": "a\r\nInjected: 1" } })).join("\n")).toContain("line breaks")
    expect(issues(one({ auth: { apiKey: { header: "X-Key", value: SECRET } }, headers: { "x-key": "v" } })).join("\n"))
      .toContain("carries the API key")
    expect(issues(one({ timeout: "10m" })).join("\n")).toContain("at most 5m")
    expect(issues(one({ maxResponseBytes: 0 })).join("\n")).toContain("maxResponseBytes")
    expect(issues({ connections: { "1crm": { url: "https://a.example" } } }).join("\n")).toContain("is not a connection name")
  })

  it("is one JSON variable, HTTP_CONNECTIONS, in the environment", () => {
    expect(PluginConfig.fields(HttpConfig.Config).map((f) => [f.path.join("."), f.kind])).toEqual([["connections", "json"]])
    const read = Option.getOrThrow(PluginConfig.fromEnv({ name: "http", config: HttpConfig.Config }, {
      HTTP_CONNECTIONS: JSON.stringify({ crm: { url: "https://crm.example.org", auth: { bearer: SECRET } } })
    }))
    expect(read.sources).toEqual({ connections: "env HTTP_CONNECTIONS" })
    const config = PluginConfig.decode(HttpConfig.Config, read.input).pipe(Either.getOrThrow)
    expect(Object.keys(config.connections)).toEqual(["crm"])
  })
})
