/**
 * The scheduler with a controlled clock (TestClock): which slots fire across DST changes, once
 * each; what a restart fires (`missed: skip | once`) on SQLite and on a real PostgreSQL; two
 * schedulers on one database asking for the same run ids; a failing start retried.
 */
import { SqliteClient } from "@effect/sql-sqlite-node"
import type * as SqlClient from "@effect/sql/SqlClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Engine } from "@relais/core"
import { Postgres } from "@relais/testing"
import { Effect, Fiber, Layer, Redacted, TestClock } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Either } from "effect"
import * as Cron from "../src/schedule/Cron.js"
import * as Scheduler from "../src/schedule/Scheduler.js"

const schedule = (cron: string, overrides: Partial<Scheduler.Schedule> = {}): Scheduler.Schedule => ({
  workflow: "nightly",
  trigger: 0,
  cron: Either.getOrThrow(Cron.parse(cron)),
  timezone: "Europe/Paris",
  inputs: { n: 1 },
  missed: "skip",
  ...overrides
})

/** A `start` that records each request. */
const recorder = () => {
  const calls: Array<Scheduler.StartRequest> = []
  return { calls, start: (request: Scheduler.StartRequest) => Effect.sync(() => void calls.push(request)) }
}

const live = (millis: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, millis)))

/** Wait (in real time) until `n` fibers sleep on the test clock: the schedulers are idle again. */
const settle = (n: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 2000; i++) {
      if ((yield* TestClock.sleeps()).length >= n) return
      yield* live(5)
    }
    throw new Error(`the schedulers did not settle (${n} expected asleep)`)
  })

/** Move the test clock minute by minute up to `iso`, letting `n` schedulers catch up each time. */
const advanceTo = (iso: string, n = 1) =>
  Effect.gen(function*() {
    const target = Date.parse(iso)
    while ((yield* TestClock.currentTimeMillis) < target) {
      const now = yield* TestClock.currentTimeMillis
      yield* TestClock.adjust(Math.min(60_000, target - now))
      yield* settle(n)
    }
  })

const sqliteMemory = SqliteClient.layer({ filename: ":memory:" })

const slotsOf = (calls: ReadonlyArray<Scheduler.StartRequest>) => calls.map((c) => c.trigger.slot)

describe("Scheduler.runIdOf", () => {
  it("is deterministic, short and made of allowed characters", () => {
    const slot = Date.parse("2027-03-28T01:00:00Z")
    expect(Scheduler.runIdOf({ workflow: "nightly", trigger: 0 }, slot)).toBe("sched.nightly.0.20270328T0100Z")
    expect(Scheduler.runIdOf({ workflow: "nightly", trigger: "weekly" }, slot)).toBe("sched.nightly.weekly.20270328T0100Z")
    const long = Scheduler.runIdOf({ workflow: "w".repeat(120), trigger: "t" }, slot)
    expect(long.length).toBeLessThanOrEqual(100)
    expect(long).toMatch(/^[A-Za-z0-9._:-]+$/)
    expect(long.endsWith(".t.20270328T0100Z")).toBe(true)
    expect(Scheduler.runIdOf({ workflow: "w".repeat(120), trigger: "t" }, slot)).toBe(long)
    expect(Scheduler.runIdOf({ workflow: `${"w".repeat(119)}x`, trigger: "t" }, slot)).not.toBe(long)
  })
})

describe("Scheduler with a test clock", () => {
  it.scoped("Paris spring forward: every quarter of an hour, the gap fires once at 03:00; a fixed 02:30 fires once at 03:00", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2027-03-28T00:20:00Z"))
      const quarter = recorder()
      const fixed = recorder()
      yield* Effect.forkScoped(Scheduler.run({ schedules: [schedule("*/15 * * * *")], start: quarter.start }))
      yield* Effect.forkScoped(Scheduler.run({ schedules: [schedule("30 2 * * *", { trigger: 1 })], start: fixed.start }))
      yield* settle(2)
      yield* advanceTo("2027-03-28T01:31:00Z", 2)
      // 01:30+01 = 00:30Z, 01:45+01 = 00:45Z, then 02:00-02:45 local do not exist: one slot at
      // 03:00+02 = 01:00Z, then 03:15, 03:30.
      expect(slotsOf(quarter.calls)).toEqual([
        "2027-03-28T00:30:00Z",
        "2027-03-28T00:45:00Z",
        "2027-03-28T01:00:00Z",
        "2027-03-28T01:15:00Z",
        "2027-03-28T01:30:00Z"
      ])
      expect(quarter.calls.map((c) => c.runId)).toEqual([
        "sched.nightly.0.20270328T0030Z",
        "sched.nightly.0.20270328T0045Z",
        "sched.nightly.0.20270328T0100Z",
        "sched.nightly.0.20270328T0115Z",
        "sched.nightly.0.20270328T0130Z"
      ])
      expect(quarter.calls[0]).toEqual({
        workflow: "nightly",
        inputs: { n: 1 },
        runId: "sched.nightly.0.20270328T0030Z",
        trigger: { kind: "schedule", slot: "2027-03-28T00:30:00Z", cron: "*/15 * * * *", timezone: "Europe/Paris" }
      })
      expect(slotsOf(fixed.calls)).toEqual(["2027-03-28T01:00:00Z"])
    }).pipe(Effect.provide(sqliteMemory)), 60_000)

  it.scoped("log: the next slot at start, a missed slot made up, each slot started (what relais serve shows)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2027-01-10T10:20:00Z"))
      const lines: Array<string> = []
      const log = (text: string) => Effect.sync(() => void lines.push(text))
      const first = yield* Effect.forkScoped(Scheduler.run({ schedules: [schedule("0 * * * *", { timezone: "UTC", missed: "once" })], start: recorder().start, log }))
      yield* settle(1)
      expect(lines).toEqual(["schedule nightly.0 (0 * * * *, UTC): next slot 2027-01-10T11:00:00Z"])
      yield* advanceTo("2027-01-10T11:00:00Z")
      expect(lines.slice(1)).toEqual(["schedule nightly.0 (0 * * * *, UTC): slot 2027-01-10T11:00:00Z started sched.nightly.0.20270110T1100Z"])
      // Stopped, back at 13:30: 12:00 and 13:00 were missed; 13:00 runs.
      yield* Fiber.interrupt(first)
      lines.length = 0
      yield* TestClock.setTime(Date.parse("2027-01-10T13:30:00Z"))
      yield* Effect.forkScoped(Scheduler.run({ schedules: [schedule("0 * * * *", { timezone: "UTC", missed: "once" })], start: recorder().start, log }))
      yield* settle(1)
      expect(lines).toEqual([
        "schedule nightly.0 (0 * * * *, UTC): slot 2027-01-10T13:00:00Z was missed; it runs now (missed: once)",
        "schedule nightly.0 (0 * * * *, UTC): slot 2027-01-10T13:00:00Z started sched.nightly.0.20270110T1300Z",
        "schedule nightly.0 (0 * * * *, UTC): next slot 2027-01-10T14:00:00Z"
      ])
    }).pipe(Effect.provide(sqliteMemory)), 60_000)

  it.scoped("Paris fall back: every hour fires in both 02:30s, a fixed 02:30 once", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2027-10-30T23:00:00Z"))
      const hourly = recorder()
      const fixed = recorder()
      yield* Effect.forkScoped(Scheduler.run({ schedules: [schedule("30 * * * *")], start: hourly.start }))
      yield* Effect.forkScoped(Scheduler.run({ schedules: [schedule("30 2 * * *", { trigger: 1 })], start: fixed.start }))
      yield* settle(2)
      yield* advanceTo("2027-10-31T03:00:00Z", 2)
      expect(slotsOf(hourly.calls)).toEqual([
        "2027-10-30T23:30:00Z", // 01:30+02
        "2027-10-31T00:30:00Z", // 02:30+02
        "2027-10-31T01:30:00Z", // 02:30+01
        "2027-10-31T02:30:00Z" // 03:30+01
      ])
      expect(slotsOf(fixed.calls)).toEqual(["2027-10-31T00:30:00Z"])
    }).pipe(Effect.provide(sqliteMemory)), 60_000)

  it.scoped("a failing start is logged and tried again, and the slot is not lost", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2027-06-01T09:59:00Z"))
      const calls: Array<string> = []
      let failures = 2
      const start = (request: Scheduler.StartRequest) =>
        Effect.suspend(() => {
          calls.push(request.runId)
          return failures-- > 0 ? Effect.fail(new Error("the database is away")) : Effect.void
        })
      yield* Effect.forkScoped(Scheduler.run({ schedules: [schedule("0 * * * *", { timezone: "UTC" })], start }))
      yield* settle(1)
      yield* advanceTo("2027-06-01T10:05:00Z")
      expect(calls).toEqual(["sched.nightly.0.20270601T1000Z", "sched.nightly.0.20270601T1000Z", "sched.nightly.0.20270601T1000Z"])
      yield* advanceTo("2027-06-01T11:00:00Z")
      expect(calls.slice(3)).toEqual(["sched.nightly.0.20270601T1100Z"])
    }).pipe(Effect.provide(sqliteMemory)), 60_000)
})

/** What a restart fires, on a database given by `client`. */
const restarts = (client: () => Layer.Layer<SqlClient.SqlClient, unknown>) => {
  const runFor = (s: Scheduler.Schedule, from: string, to: string) =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse(from))
      const r = recorder()
      const fiber = yield* Effect.fork(Scheduler.run({ schedules: [s], start: r.start }))
      yield* settle(1)
      yield* advanceTo(to)
      yield* Fiber.interrupt(fiber)
      return slotsOf(r.calls)
    })

  it.scoped("missed: skip fires nothing missed; once fires the latest missed slot, once", () =>
    Effect.gen(function*() {
      const skip = schedule("0 * * * *", { trigger: "skip", timezone: "UTC", missed: "skip" })
      const once = schedule("0 * * * *", { trigger: "once", timezone: "UTC", missed: "once" })
      // First life: 10:30 to 12:10, slots 11:00 and 12:00.
      expect(yield* runFor(skip, "2027-06-01T10:30:00Z", "2027-06-01T12:10:00Z")).toEqual(["2027-06-01T11:00:00Z", "2027-06-01T12:00:00Z"])
      expect(yield* runFor(once, "2027-06-01T10:30:00Z", "2027-06-01T12:10:00Z")).toEqual(["2027-06-01T11:00:00Z", "2027-06-01T12:00:00Z"])
      // Down from 12:10 to 17:30 (13:00 to 17:00 missed), then up until 18:05.
      expect(yield* runFor(skip, "2027-06-01T17:30:00Z", "2027-06-01T18:05:00Z")).toEqual(["2027-06-01T18:00:00Z"])
      expect(yield* runFor(once, "2027-06-01T17:30:00Z", "2027-06-01T18:05:00Z")).toEqual(["2027-06-01T17:00:00Z", "2027-06-01T18:00:00Z"])
      // A restart with nothing missed since the last slot fires nothing more.
      expect(yield* runFor(once, "2027-06-01T18:20:00Z", "2027-06-01T18:30:00Z")).toEqual([])
    }).pipe(Effect.provide(client())), 120_000)

  it.scoped("once never fires a slot from before the schedule was first seen", () =>
    Effect.gen(function*() {
      const daily = schedule("0 10 * * *", { trigger: "first-seen", timezone: "UTC", missed: "once" })
      expect(yield* runFor(daily, "2027-06-01T10:30:00Z", "2027-06-01T10:31:00Z")).toEqual([])
      // 10:00 of that day was before it was first seen; the next day's is missed and fires.
      expect(yield* runFor(daily, "2027-06-01T10:45:00Z", "2027-06-01T10:46:00Z")).toEqual([])
      expect(yield* runFor(daily, "2027-06-03T09:00:00Z", "2027-06-03T09:01:00Z")).toEqual(["2027-06-02T10:00:00Z"])
    }).pipe(Effect.provide(client())), 120_000)

  it.scoped("two schedulers on one database ask for each slot with the same run id", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2027-10-30T23:50:00Z"))
      const a = recorder()
      const b = recorder()
      const s = schedule("*/30 * * * *", { trigger: "pair" })
      yield* Effect.forkScoped(Scheduler.run({ schedules: [s], start: a.start }))
      yield* Effect.forkScoped(Scheduler.run({ schedules: [s], start: b.start }))
      yield* settle(2)
      yield* advanceTo("2027-10-31T02:10:00Z", 2)
      const ids = a.calls.map((c) => c.runId)
      expect(ids).toEqual([
        "sched.nightly.pair.20271031T0000Z",
        "sched.nightly.pair.20271031T0030Z",
        "sched.nightly.pair.20271031T0100Z",
        "sched.nightly.pair.20271031T0130Z",
        "sched.nightly.pair.20271031T0200Z"
      ])
      expect(b.calls.map((c) => c.runId)).toEqual(ids)
    }).pipe(Effect.provide(client())), 120_000)
}

describe("Scheduler restarts on SQLite", () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-scheduler-"))
  afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))
  let n = 0
  restarts(() => Engine.layerSqliteClient({ filename: Path.join(dir, `s${n++}.db`) }))
})

describe("Scheduler restarts on PostgreSQL", () => {
  let server: Postgres.Server
  const urls: Array<string> = []
  beforeAll(async () => {
    server = await Postgres.start()
    for (let i = 0; i < 3; i++) urls.push(await server.database())
  }, 240_000)
  afterAll(() => server?.stop())
  let n = 0
  restarts(() => Layer.suspend(() => Engine.layerPostgresClient({ url: Redacted.make(urls[n++]!) })))
})

describe("Scheduler: far slots and the test clock of child processes", () => {
  it.scoped("a monthly slot more than 24.8 days away (a timer's limit) is waited for an hour at a time, and fires", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2027-01-01T00:30:00Z"))
      const r = recorder()
      yield* Effect.forkScoped(Scheduler.run({ schedules: [schedule("0 0 1 * *", { timezone: "UTC" })], start: r.start }))
      yield* settle(1)
      // It waits an hour at a time, never for the whole month (a timer that long never fires).
      const [wake] = yield* TestClock.sleeps()
      expect(Number(wake) - (yield* TestClock.currentTimeMillis)).toBe(3_600_000)
      for (let day = 0; day < 32; day++) {
        yield* TestClock.adjust("1 day")
        yield* settle(1)
      }
      expect(slotsOf(r.calls)).toEqual(["2027-02-01T00:00:00Z"])
    }).pipe(Effect.provide(sqliteMemory)), 60_000)

  it("RELAIS_TEST_CLOCK is read as an instant and an optional speed", () => {
    expect(Scheduler.parseTestClock("2027-03-28T00:58:00Z")).toEqual({ start: Date.parse("2027-03-28T00:58:00Z"), speed: 1 })
    expect(Scheduler.parseTestClock("2027-03-28T00:58:00Z@60x")).toEqual({ start: Date.parse("2027-03-28T00:58:00Z"), speed: 60 })
    expect(Scheduler.parseTestClock("tomorrow@60x")).toHaveProperty("error")
    expect(Scheduler.parseTestClock("2027-03-28T00:58:00Z@0x")).toHaveProperty("error")
  })

  it.live("a process given RELAIS_TEST_CLOCK crosses the Paris spring-forward gap in seconds", () =>
    Effect.gen(function*() {
      const r = recorder()
      const startedAt = Date.now()
      const fiber = yield* Effect.fork(Scheduler.run({ schedules: [schedule("*/30 * * * *")], start: r.start }))
      // 00:58Z is 01:58 in Paris; at 600x, a minute passes every 100 ms.
      while (r.calls.length < 3) yield* live(20)
      yield* Fiber.interrupt(fiber)
      expect(slotsOf(r.calls)).toEqual(["2027-03-28T01:00:00Z", "2027-03-28T01:30:00Z", "2027-03-28T02:00:00Z"])
      // 62 minutes of the test clock took about 6 s of real time, not an hour.
      expect(Date.now() - startedAt).toBeLessThan(60_000)
    }).pipe(
      Effect.provide(sqliteMemory),
      Effect.provide(Scheduler.testClockFromEnv({ RELAIS_TEST_CLOCK: "2027-03-28T00:58:00Z@600x" }))
    ), 120_000)
})
