import { Duration, Effect, Either, Redacted, Schema, TestClock } from "effect"
import { describe, expect, it } from "@effect/vitest"
import { Buffer } from "node:buffer"
import { Temporal } from "temporal-polyfill"
import { PluginConfig, ProviderKit } from "../src/index.js"

const aimaira: ProviderKit.BaseUrlOptions = { service: "AIMAIRA", example: "https://myapi.aimaira.net/GraphV1", defaultPath: "/GraphV1" }
const plain: ProviderKit.BaseUrlOptions = { service: "E-sign" }

describe("ProviderKit.checkBaseUrl", () => {
  it("accepts HTTPS, and plain http on loopback hosts only; answers the normal form", () => {
    expect(ProviderKit.checkBaseUrl("https://sign.example/api/", plain)).toEqual(Either.right("https://sign.example/api"))
    expect(ProviderKit.checkBaseUrl(" https://SIGN.example ", plain)).toEqual(Either.right("https://sign.example"))
    expect(ProviderKit.checkBaseUrl("https://myapi.aimaira.net", aimaira)).toEqual(Either.right("https://myapi.aimaira.net/GraphV1"))
    expect(ProviderKit.checkBaseUrl("https://myapi.aimaira.net/Other/", aimaira)).toEqual(Either.right("https://myapi.aimaira.net/Other"))
    for (const url of ["http://127.0.0.1:8080", "http://localhost:1/x", "http://[::1]:9", "http://LOCALHOST:2"]) {
      expect(Either.isRight(ProviderKit.checkBaseUrl(url, plain)), url).toBe(true)
    }
  })

  it("refuses, saying why, without quoting credentials", () => {
    const refused = (url: string, options = plain) => Either.flip(ProviderKit.checkBaseUrl(url, options)).pipe(Either.getOrThrow)
    expect(refused("http://myapi.aimaira.net/GraphV1", aimaira)).toBe(
      "AIMAIRA requires HTTPS, got http://myapi.aimaira.net/GraphV1; plain http is only allowed for loopback hosts (127.0.0.1, localhost, ::1)"
    )
    expect(refused("http://127.0.0.2:80")).toContain("E-sign requires HTTPS")
    expect(refused("sign.example")).toBe("\"sign.example\" is not an absolute URL (e.g. https://api.example.com)")
    expect(refused("not a url", aimaira)).toContain("(e.g. https://myapi.aimaira.net/GraphV1)")
    const credentials = refused("https://user:s3cret-pw@sign.example")
    expect(credentials).toBe("the URL must not contain credentials: give them in their own settings")
    expect(refused("https://sign.example/api?token=abc")).toBe("the URL https://sign.example/api must not have a query string or fragment")
    expect(refused("https://sign.example/#top")).toContain("must not have a query string or fragment")
    expect(refused("ftp://127.0.0.1/x")).toBe("unsupported protocol ftp: in ftp://127.0.0.1/x: use https://")
  })

  it("is a Schema: decodes to the normal form, fails with the same message, and checks the type side", () => {
    const schema = ProviderKit.BaseUrl(aimaira)
    expect(Schema.decodeUnknownSync(schema)("https://myapi.aimaira.net/")).toBe("https://myapi.aimaira.net/GraphV1")
    const error = Either.flip(Schema.decodeUnknownEither(schema)("http://myapi.aimaira.net")).pipe(Either.getOrThrow)
    expect(error.message).toContain("AIMAIRA requires HTTPS, got http://myapi.aimaira.net/")
    expect(Schema.is(Schema.typeSchema(schema))("http://remote.example")).toBe(false)
    expect(Schema.is(Schema.String.pipe(ProviderKit.isBaseUrl(plain)))("https://ok.example")).toBe(true)
  })
})

describe("ProviderKit.parseRetryAfter", () => {
  const now = Date.parse("2026-01-15T10:00:00Z")

  it("reads seconds and HTTP dates", () => {
    expect(ProviderKit.parseRetryAfter("2", now)).toBe(2000)
    expect(ProviderKit.parseRetryAfter(" 0 ", now)).toBe(0)
    expect(ProviderKit.parseRetryAfter("1.5", now)).toBe(1500)
    expect(ProviderKit.parseRetryAfter("Thu, 15 Jan 2026 10:00:05 GMT", now)).toBe(5000)
    expect(ProviderKit.parseRetryAfter("Thu, 15 Jan 2026 09:00:00 GMT", now)).toBe(0)
  })

  it("ignores what it cannot read", () => {
    for (const header of [undefined, "", "soon", "-5", "1e3", "12abc"]) {
      expect(ProviderKit.parseRetryAfter(header, now), String(header)).toBeUndefined()
    }
  })

  it.effect("reads dates against the Clock", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(now)
      expect(yield* ProviderKit.retryAfter("Thu, 15 Jan 2026 10:01:00 GMT")).toBe(60_000)
      expect(yield* ProviderKit.retryAfter("3")).toBe(3000)
      expect(yield* ProviderKit.retryAfter(undefined)).toBeUndefined()
    }))
})

describe("ProviderKit durations", () => {
  it("reads a number and a unit", () => {
    const millis = (text: string) => Duration.toMillis(Either.getOrThrow(ProviderKit.parseDuration(text)))
    expect(millis("500ms")).toBe(500)
    expect(millis("30s")).toBe(30_000)
    expect(millis("30 seconds")).toBe(30_000)
    expect(millis("1.5s")).toBe(1500)
    expect(millis("2m")).toBe(120_000)
    expect(millis("2 Minutes")).toBe(120_000)
    expect(millis("1h")).toBe(3_600_000)
    for (const text of ["", "30", "s", "-1s", "30 sec please", "1d"]) {
      expect(ProviderKit.parseDuration(text)).toEqual(Either.left(`${JSON.stringify(text)} is not a duration (e.g. 30s, 2m, 500ms)`))
    }
  })

  it("writes the canonical form: the largest whole unit", () => {
    expect(ProviderKit.formatDuration(Duration.millis(30_000))).toBe("30s")
    expect(ProviderKit.formatDuration(Duration.seconds(90))).toBe("90s")
    expect(ProviderKit.formatDuration(Duration.minutes(2))).toBe("2m")
    expect(ProviderKit.formatDuration(Duration.hours(3))).toBe("3h")
    expect(ProviderKit.formatDuration(Duration.millis(1500))).toBe("1500ms")
    expect(ProviderKit.formatDuration(Duration.zero)).toBe("0s")
  })

  it("DurationText decodes text to a Duration and encodes the canonical form", () => {
    const decoded = Schema.decodeUnknownSync(ProviderKit.DurationText)("30000ms")
    expect(Duration.toMillis(decoded)).toBe(30_000)
    expect(Schema.encodeSync(ProviderKit.DurationText)(decoded)).toBe("30s")
    const error = Either.flip(Schema.decodeUnknownEither(ProviderKit.DurationText)("soon")).pipe(Either.getOrThrow)
    expect(error.message).toContain("\"soon\" is not a duration (e.g. 30s, 2m, 500ms)")
  })
})

describe("ProviderKit secrets", () => {
  it("Secret decodes a non-empty string as Redacted, and is a secret field for the host", () => {
    const section = Schema.Struct({ token: ProviderKit.Secret, user: ProviderKit.NonEmptyText })
    const decoded = Schema.decodeUnknownSync(section)({ token: "t0k3n", user: "api" })
    expect(Redacted.isRedacted(decoded.token)).toBe(true)
    expect(Redacted.value(decoded.token)).toBe("t0k3n")
    expect(PluginConfig.fields(section).map((f) => [f.path.join("."), f.secret])).toEqual([["token", true], ["user", false]])
    expect(Either.isLeft(Schema.decodeUnknownEither(section)({ token: "  ", user: "api" }))).toBe(true)
    const blank = Either.flip(Schema.decodeUnknownEither(ProviderKit.NonEmptyText)(" ")).pipe(Either.getOrThrow)
    expect(blank.message).toContain("must not be empty")
  })

  it("knows the wire forms of a Basic credential", () => {
    const secrets = ProviderKit.basicCredentialSecrets("user", Redacted.make("p4ssword")).map(Redacted.value)
    expect(secrets).toEqual(["p4ssword", "user:p4ssword", Buffer.from("user:p4ssword").toString("base64")])
  })

  it("scrubs every form of a secret from a text", () => {
    const scrub = ProviderKit.scrubber([Redacted.make("p@ss word"), "key-123", ""])
    const base64 = Buffer.from("p@ss word").toString("base64")
    expect(scrub(`a p@ss word b ${base64} c ${base64.replace(/=+$/, "")} d p%40ss%20word e key-123`)).toBe(
      "a [redacted] b [redacted] c [redacted] d [redacted] e [redacted]"
    )
    expect(scrub("nothing to hide")).toBe("nothing to hide")
  })
})

describe("ProviderKit.MaxResponseBytes", () => {
  it("takes a positive whole number of bytes", () => {
    expect(ProviderKit.checkMaxResponseBytes(1024)).toEqual(Either.right(1024))
    for (const bytes of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(ProviderKit.checkMaxResponseBytes(bytes)).toEqual(Either.left(`expected a positive number of bytes, got ${bytes}`))
    }
    expect(Schema.decodeUnknownSync(ProviderKit.MaxResponseBytes)(2048)).toBe(2048)
    expect(Either.isLeft(Schema.decodeUnknownEither(ProviderKit.MaxResponseBytes)(0))).toBe(true)
  })
})

describe("ProviderKit transport failures", () => {
  it("describes an error and its causes, and tells their kind", () => {
    const inner = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" })
    const text = ProviderKit.causeText(new Error("fetch failed", { cause: inner }))
    expect(text).toBe("fetch failed: connect ECONNREFUSED 127.0.0.1:1 (ECONNREFUSED)")
    expect(ProviderKit.transportReason(text)).toBe("refused")
    expect(ProviderKit.transportReason("other side closed")).toBe("reset")
    expect(ProviderKit.transportReason("UND_ERR_HEADERS_TIMEOUT")).toBe("timeout")
    expect(ProviderKit.transportReason("getaddrinfo ENOTFOUND x")).toBe("other")
    expect(ProviderKit.causeText("plain text")).toBe("plain text")
  })
})

describe("ProviderKit.validateConfig", () => {
  it("checks a configuration built in code against the type side of its schema", () => {
    const schema = Schema.Struct({ url: ProviderKit.BaseUrl(plain), token: ProviderKit.Secret, auth: Schema.Struct({ user: ProviderKit.NonEmptyText }) })
    const validate = ProviderKit.validateConfig(schema)
    const good = { url: "https://sign.example", token: Redacted.make("t"), auth: { user: "u" } }
    expect(validate(good)).toEqual(Either.right(good))
    expect(validate({ ...good, auth: { user: " " } })).toEqual(Either.left({ field: "auth.user", reason: "must not be empty" }))
    const remote = Either.flip(validate({ ...good, url: "http://remote.example" })).pipe(Either.getOrThrow)
    expect(remote.field).toBe("url")
    expect(remote.reason).toContain("E-sign requires HTTPS")
  })
})

describe("ProviderKit dates in a time zone", () => {
  const paris = "Europe/Paris"

  it("OffsetDateTime reads any offset into the zone and writes the zone's offset", () => {
    const schema = ProviderKit.OffsetDateTime(paris)
    const value = Schema.decodeUnknownSync(schema)("2023-11-20T12:00:00.000Z")
    expect(value.timeZoneId).toBe(paris)
    expect(Schema.encodeSync(schema)(value)).toBe("2023-11-20T13:00:00+01:00")
    const local = Either.flip(Schema.decodeUnknownEither(schema)("2023-07-01T08:30:00")).pipe(Either.getOrThrow)
    expect(local.message).toContain("Expected a date with an offset such as 2023-09-01T00:00:00+02:00, got \"2023-07-01T08:30:00\"")
    expect(ProviderKit.formatOffsetDateTime(value, "America/New_York")).toBe("2023-11-20T07:00:00-05:00")
  })

  it("MidnightDate reads midnights in the zone as calendar dates, across DST, and refuses other times", () => {
    const schema = ProviderKit.MidnightDate(paris)
    expect(Schema.decodeUnknownSync(schema)("2023-09-01T00:00:00+02:00").toString()).toBe("2023-09-01")
    expect(Schema.encodeSync(schema)(Temporal.PlainDate.from("2025-03-30"))).toBe("2025-03-30T00:00:00+01:00")
    expect(Schema.encodeSync(schema)(Temporal.PlainDate.from("2025-10-26"))).toBe("2025-10-26T00:00:00+02:00")
    const utc = Either.flip(Schema.decodeUnknownEither(schema)("2023-09-01T00:00:00Z")).pipe(Either.getOrThrow)
    expect(utc.message).toContain("Expected a date at midnight in Europe/Paris time, got \"2023-09-01T00:00:00Z\"")
    expect(Schema.is(ProviderKit.PlainDateFromSelf)(Temporal.PlainDate.from("2024-02-29"))).toBe(true)
    expect(Schema.is(ProviderKit.ZonedDateTimeFromSelf)("2024-02-29")).toBe(false)
  })

  it("calendarDay: a plain date, or the day in the zone of an instant", () => {
    expect(Either.getOrThrow(ProviderKit.calendarDay("2023-09-01", paris)).toString()).toBe("2023-09-01")
    expect(Either.getOrThrow(ProviderKit.calendarDay("2023-08-31T22:00:00Z", paris)).toString()).toBe("2023-09-01")
    expect(Either.getOrThrow(ProviderKit.calendarDay(" 2023-09-01T00:00:00+02:00 ", paris)).toString()).toBe("2023-09-01")
    expect(ProviderKit.calendarDay("2023-02-30", paris)).toEqual(
      Either.left("\"2023-02-30\" is not a date such as 2023-09-01T00:00:00+02:00 (a date-time with its offset) or 2023-09-01")
    )
    expect(Either.isLeft(ProviderKit.calendarDay("31/08/2027", paris))).toBe(true)
  })
})
