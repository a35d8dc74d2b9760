import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { Temporal } from "temporal-polyfill"
import { ParisDate } from "../src/index.js"

const decodeDate = Schema.decodeUnknownEither(ParisDate.ParisDate)
const encodeDate = Schema.encodeSync(ParisDate.ParisDate)
const decodeDateTime = Schema.decodeUnknownEither(ParisDate.ParisDateTime)
const encodeDateTime = Schema.encodeSync(ParisDate.ParisDateTime)

describe("ParisDate", () => {
  it("decodes Paris midnights to calendar dates and writes them back with the right offset", () => {
    expect(Either.getOrThrow(decodeDate("2023-09-01T00:00:00+02:00")).toString()).toBe("2023-09-01")
    expect(Either.getOrThrow(decodeDate("2022-11-14T00:00:00+01:00")).toString()).toBe("2022-11-14")
    expect(encodeDate(Temporal.PlainDate.from("2023-09-01"))).toBe("2023-09-01T00:00:00+02:00")
    expect(encodeDate(Temporal.PlainDate.from("2024-01-15"))).toBe("2024-01-15T00:00:00+01:00")
    // The DST switch days.
    expect(encodeDate(Temporal.PlainDate.from("2025-03-30"))).toBe("2025-03-30T00:00:00+01:00")
    expect(encodeDate(Temporal.PlainDate.from("2025-10-26"))).toBe("2025-10-26T00:00:00+02:00")
  })

  it("refuses a date that is not a Paris midnight instead of dropping its time", () => {
    expect(Either.isLeft(decodeDate("2023-09-01T00:00:00Z"))).toBe(true)
    expect(Either.isLeft(decodeDate("2023-09-01T10:00:00+02:00"))).toBe(true)
    expect(Either.isLeft(decodeDate("01/09/2023"))).toBe(true)
  })

  it("decodes date-times from any offset into Paris time", () => {
    const value = Either.getOrThrow(decodeDateTime("2023-11-20T12:00:00.000Z"))
    expect(value.timeZoneId).toBe("Europe/Paris")
    expect(encodeDateTime(value)).toBe("2023-11-20T13:00:00+01:00")
    expect(encodeDateTime(Either.getOrThrow(decodeDateTime("2023-07-01T08:30:00+02:00")))).toBe("2023-07-01T08:30:00+02:00")
    expect(Either.isLeft(decodeDateTime("2023-07-01T08:30:00"))).toBe(true)
  })
})
