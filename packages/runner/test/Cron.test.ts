import { describe, expect, it } from "@effect/vitest"
import { Either, Option } from "effect"
import { Temporal } from "temporal-polyfill"
import * as Cron from "../src/schedule/Cron.js"

const cron = (text: string): Cron.Cron => Either.getOrThrow(Cron.parse(text))

const problem = (text: string) => {
  const parsed = Cron.parse(text)
  if (Either.isRight(parsed)) throw new Error(`expected a problem with ${text}`)
  return { message: parsed.left.message, offset: parsed.left.offset }
}

/** The next `n` slots after `from` (an ISO instant), as ISO local times with offsets. */
const slots = (text: string, from: string, zone: string, n: number) =>
  Cron.upcoming(cron(text), Temporal.Instant.from(from), zone, n).map((z) => z.toString({ timeZoneName: "never" }))

describe("Cron.parse", () => {
  it("reads stars, lists, ranges, steps, names, 7 as Sunday and macros", () => {
    const c = cron("*/15 1-5/2 1,15 jan-mar mon-fri")
    expect(c.minute.values).toEqual([0, 15, 30, 45])
    expect(c.hour.values).toEqual([1, 3, 5])
    expect(c.dayOfMonth.values).toEqual([1, 15])
    expect(c.month.values).toEqual([1, 2, 3])
    expect(c.dayOfWeek.values).toEqual([1, 2, 3, 4, 5])
    expect(c.minute.star && !c.hour.star).toBe(true)
    expect(cron("0 0 * * 7").dayOfWeek.values).toEqual([0])
    expect(cron("0 0 * * 5-7").dayOfWeek.values).toEqual([0, 5, 6])
    expect(cron("10/20 * * * *").minute.values).toEqual([10, 30, 50])
    expect(cron("0 0 * * SUN,Sat").dayOfWeek.values).toEqual([0, 6])
    expect(cron("@daily")).toMatchObject({ text: "@daily", hour: { values: [0] }, minute: { values: [0] } })
    expect(cron("@hourly").hour.star).toBe(true)
    expect(cron("@weekly").dayOfWeek.values).toEqual([0])
    expect(cron("@monthly").dayOfMonth.values).toEqual([1])
    expect(cron("@yearly").month.values).toEqual([1])
    expect(cron("  0 2 * * *  ").text).toBe("0 2 * * *")
  })

  it("names the field, the bad part and where it is", () => {
    expect(problem("0 25 * * *")).toEqual({ message: "hour: 25 is out of range 0-23", offset: 2 })
    expect(problem("0 2 * * 8")).toEqual({ message: "day-of-week: 8 is out of range 0-6 (or 7 for Sunday)", offset: 8 })
    expect(problem("0 1,2,99 * * *")).toEqual({ message: "hour: 99 is out of range 0-23", offset: 6 })
    expect(problem("0 0 * jna *")).toEqual({ message: "month: \"jna\" is not a month (did you mean \"jan\"?)", offset: 6 })
    expect(problem("0 0 * * mon-fir").offset).toBe(12)
    expect(problem("*/0 * * * *")).toEqual({ message: "minute: the step after / must be at least 1", offset: 2 })
    expect(problem("0 5-2 * * *").message).toBe("hour: the range 5-2 goes backwards (write 2-5 or a list)")
    expect(problem("0 1,,2 * * *")).toEqual({ message: "hour: an empty item in the list", offset: 4 })
    expect(problem("0 x * * *").message).toBe("hour: \"x\" is not a number")
    expect(problem("0 0 * * *  *")).toMatchObject({ offset: 11 })
    expect(problem("0 0 * * * *").message).toContain("not 6 (relais does not take seconds)")
    expect(problem("0 0 *").message).toContain("5 fields")
    expect(problem("@dayly").message).toBe("\"@dayly\" is not a cron macro (did you mean \"@daily\"?)")
    expect(problem("0 0 ? * *").message).toContain("not part of the 5-field cron syntax")
    expect(problem("0 0 30 feb *")).toEqual({
      message: "day-of-month: 30 never occurs in feb: this schedule would never fire",
      offset: 4
    })
    expect(problem("").message).toContain("empty")
    // Leading blanks count in the offset.
    expect(problem("  0 24 * * *").offset).toBe(4)
    expect(Either.getLeft(Cron.parse("0 24 * * *")).pipe(Option.map((p) => p.column))).toEqual(Option.some(3))
  })
})

describe("Cron.timeZone", () => {
  it("accepts IANA names, UTC and offsets, and suggests for a near miss", () => {
    expect(Cron.timeZone("europe/paris")).toEqual(Either.right("Europe/Paris"))
    expect(Cron.timeZone("UTC")).toEqual(Either.right("UTC"))
    expect(Cron.timeZone("+01:00")).toEqual(Either.right("+01:00"))
    expect(Cron.timeZone("Europe/Pari")).toEqual(Either.left("unknown time zone \"Europe/Pari\" (did you mean \"Europe/Paris\"?)"))
    expect(Either.getLeft(Cron.timeZone("Nowhere"))).toEqual(Option.some(
      "unknown time zone \"Nowhere\"; use an IANA name such as Europe/Paris, America/New_York or UTC"
    ))
  })
})

describe("Cron.next", () => {
  it("gives the next slots strictly after an instant", () => {
    expect(slots("0 2 * * *", "2027-05-31T23:00:00Z", "Europe/Paris", 2)).toEqual([
      "2027-06-01T02:00:00+02:00",
      "2027-06-02T02:00:00+02:00"
    ])
    // Strictly after: a slot at the instant itself is not the next one.
    expect(slots("0 2 * * *", "2027-06-01T00:00:00Z", "UTC", 1)).toEqual(["2027-06-01T02:00:00+00:00"])
    expect(slots("0 2 * * *", "2027-06-01T02:00:00Z", "UTC", 1)).toEqual(["2027-06-02T02:00:00+00:00"])
    expect(slots("@yearly", "2027-06-01T00:00:00Z", "UTC", 1)).toEqual(["2028-01-01T00:00:00+00:00"])
    expect(slots("0 0 29 2 *", "2097-01-01T00:00:00Z", "UTC", 1)).toEqual(["2104-02-29T00:00:00+00:00"])
  })

  it("reads both restricted day fields as either (Vixie), and a star one as both", () => {
    // 2027-06-01 is a Tuesday.
    expect(slots("0 0 1 * mon", "2027-05-31T12:00:00Z", "UTC", 3)).toEqual([
      "2027-06-01T00:00:00+00:00",
      "2027-06-07T00:00:00+00:00",
      "2027-06-14T00:00:00+00:00"
    ])
    expect(slots("0 0 */10 * mon", "2027-06-01T12:00:00Z", "UTC", 2)).toEqual([
      "2027-06-21T00:00:00+00:00",
      "2027-10-11T00:00:00+00:00"
    ])
  })

  describe("Europe/Paris spring forward, 2027-03-28 02:00 -> 03:00", () => {
    it("a fixed time in the gap fires once, at the first instant after it", () => {
      expect(slots("30 2 * * *", "2027-03-27T00:00:00Z", "Europe/Paris", 3)).toEqual([
        "2027-03-27T02:30:00+01:00",
        "2027-03-28T03:00:00+02:00",
        "2027-03-29T02:30:00+02:00"
      ])
    })

    it("every quarter of an hour: the slots of the gap become one, at 03:00", () => {
      expect(slots("*/15 * * * *", "2027-03-28T00:30:00Z", "Europe/Paris", 5)).toEqual([
        "2027-03-28T01:45:00+01:00",
        "2027-03-28T03:00:00+02:00",
        "2027-03-28T03:15:00+02:00",
        "2027-03-28T03:30:00+02:00",
        "2027-03-28T03:45:00+02:00"
      ])
    })
  })

  describe("Europe/Paris fall back, 2027-10-31 03:00 -> 02:00", () => {
    it("a fixed hour fires once, at the earlier occurrence", () => {
      expect(slots("30 2 * * *", "2027-10-30T12:00:00Z", "Europe/Paris", 2)).toEqual([
        "2027-10-31T02:30:00+02:00",
        "2027-11-01T02:30:00+01:00"
      ])
    })

    it("every hour fires in both occurrences of the repeated hour", () => {
      expect(slots("30 * * * *", "2027-10-30T23:00:00Z", "Europe/Paris", 4)).toEqual([
        "2027-10-31T01:30:00+02:00",
        "2027-10-31T02:30:00+02:00",
        "2027-10-31T02:30:00+01:00",
        "2027-10-31T03:30:00+01:00"
      ])
      const quarter = Cron.upcoming(cron("*/15 * * * *"), Temporal.Instant.from("2027-10-30T23:50:00Z"), "Europe/Paris", 12)
      const instants = quarter.map((z) => z.epochMilliseconds)
      // Every quarter of an hour of real time, none twice.
      expect(instants.slice(1).map((t, i) => t - instants[i]!)).toEqual(Array(11).fill(15 * 60_000))
    })
  })

  describe("America/New_York, 2027-03-14 and 2027-11-07", () => {
    it("the gap and the repeated hour", () => {
      expect(slots("30 2 * * *", "2027-03-13T12:00:00Z", "America/New_York", 2)).toEqual([
        "2027-03-14T03:00:00-04:00",
        "2027-03-15T02:30:00-04:00"
      ])
      expect(slots("30 1 * * *", "2027-11-06T12:00:00Z", "America/New_York", 2)).toEqual([
        "2027-11-07T01:30:00-04:00",
        "2027-11-08T01:30:00-05:00"
      ])
      expect(slots("0 * * * *", "2027-11-07T04:30:00Z", "America/New_York", 3)).toEqual([
        "2027-11-07T01:00:00-04:00",
        "2027-11-07T01:00:00-05:00",
        "2027-11-07T02:00:00-05:00"
      ])
    })
  })

  it("a zone whose clock goes back at 00:30 keeps the slots in order across midnight", () => {
    // Lord Howe Island goes back 30 minutes, 02:00 -> 01:30, on 2027-04-04: not at midnight, but
    // a half-hour shift; every slot stays strictly increasing.
    const list = Cron.upcoming(cron("*/10 * * * *"), Temporal.Instant.from("2027-04-03T14:00:00Z"), "Australia/Lord_Howe", 30)
    const instants = list.map((z) => z.epochMilliseconds)
    expect(instants.every((t, i) => i === 0 || t > instants[i - 1]!)).toBe(true)
    expect(new Set(instants).size).toBe(30)
  })
})
