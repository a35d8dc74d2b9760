/**
 * The scheduler: starts a workflow at each slot of its schedules (`triggers: - schedule:`).
 *
 * Every worker runs it (`relais serve`, one process or several on PostgreSQL). A slot fires
 * exactly once whatever the number of workers and restarts because the slot IS the run's
 * idempotency key: the run id of a slot is deterministic ({@link runIdOf}:
 * `sched.<workflow>.<trigger>.<yyyymmddThhmmZ>`), every worker asks the engine to start that same
 * id, and the engine starts a given id once (starting it again only returns it).
 *
 * Slots missed while nothing was running follow the schedule's `missed:` policy, read from a
 * small table, `relais_schedules`: when each schedule was first seen, and the last slot fired.
 * At start, `skip` fires nothing missed; `once` fires the latest slot missed since the last one
 * fired (never a slot from before the schedule was first seen). While running, a scheduler that
 * falls behind (a start that keeps failing for longer than the interval between slots) fires the
 * latest due slot, once, not every slot it fell behind by.
 *
 * A failing `start` is logged and tried again after a pause (doubling up to a minute) until it
 * succeeds: a slot is not lost to a database that was away, and the other schedules go on.
 *
 * Time is Effect's `Clock`, so that tests move it (`TestClock`), and a child process can be given
 * a clock that starts at a chosen instant and runs faster ({@link testClockFromEnv}, for tests
 * only).
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { RunStore } from "@relais/core"
import { Cause, Clock, Duration, Effect, Layer, Option, Schema } from "effect"
import * as Crypto from "node:crypto"
import { Temporal } from "temporal-polyfill"
import type * as Format from "../yaml/Format.js"
import type * as Load from "../yaml/Load.js"
import * as Cron from "./Cron.js"

/**
 * A schedule to fire: which workflow, which of its triggers, when, with what.
 *
 * @since 0.1.0
 */
export interface Schedule {
  /** The workflow's name. */
  readonly workflow: string
  /** The trigger's `name`, else its index in `triggers:` (part of the run ids: name it to keep them when the list changes). */
  readonly trigger: string | number
  readonly cron: Cron.Cron
  readonly timezone: string
  readonly inputs: Readonly<Record<string, unknown>>
  readonly missed: Format.MissedPolicy
}

/**
 * What a slot asks the host to start.
 *
 * @since 0.1.0
 */
export interface StartRequest {
  readonly workflow: string
  readonly inputs: Readonly<Record<string, unknown>>
  /** Deterministic: the same for the same slot in every worker. */
  readonly runId: string
  readonly trigger: {
    readonly kind: "schedule"
    /** The slot, an ISO instant (`2027-03-28T01:00:00Z`). */
    readonly slot: string
    readonly cron: string
    readonly timezone: string
  }
}

/**
 * How the scheduler runs.
 *
 * @since 0.1.0
 */
export interface Options<E> {
  readonly schedules: ReadonlyArray<Schedule>
  /** Start the run (the host passes `runId` to `Engine.startUnknown`); a failure is retried. */
  readonly start: (request: StartRequest) => Effect.Effect<unknown, E>
  /** The first pause before a failed start is tried again (default 1 s; it doubles up to a minute). */
  readonly retryDelay?: Duration.DurationInput | undefined
  /**
   * Where the scheduler says what it does (its first slot, each slot started, a missed slot made
   * up). Default `Effect.logInfo`, which a CLI's logger may drop: `relais serve` passes its log.
   */
  readonly log?: ((text: string) => Effect.Effect<void>) | undefined
}

/**
 * The scheduler cannot keep its table (created at start).
 *
 * @since 0.1.0
 */
export class SchedulerError extends Schema.TaggedError<SchedulerError>("@relais/runner/SchedulerError")("SchedulerError", {
  message: Schema.String
}) {}

/**
 * The schedules of loaded workflows (their `triggers:` of kind schedule).
 *
 * @since 0.1.0
 */
export const fromWorkflows = (workflows: ReadonlyArray<Pick<Load.LoadedWorkflow, "name" | "triggers">>): ReadonlyArray<Schedule> =>
  workflows.flatMap((w) =>
    w.triggers.flatMap((t): ReadonlyArray<Schedule> =>
      t._tag !== "Schedule" ? [] : [{
        workflow: w.name,
        trigger: t.name ?? t.index,
        cron: t.cron,
        timezone: t.timezone,
        inputs: t.inputs,
        missed: t.missed
      }]
    )
  )

// -----------------------------------------------------------------------------
// Run ids
// -----------------------------------------------------------------------------

const maxRunId = 100

/** The key of a schedule in `relais_schedules`. */
export const keyOf = (schedule: Pick<Schedule, "workflow" | "trigger">): string => `${schedule.workflow}.${schedule.trigger}`

const compact = (millis: number) => {
  const d = new Date(millis)
  const two = (n: number) => String(n).padStart(2, "0")
  return `${d.getUTCFullYear()}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}T${two(d.getUTCHours())}${two(d.getUTCMinutes())}Z`
}

/**
 * The run id of a slot: `sched.<workflow>.<trigger>.<yyyymmddThhmmZ>` (UTC), at most 100
 * characters of `[A-Za-z0-9._:-]` (a long workflow name is cut and given a short hash).
 *
 * @since 0.1.0
 */
export const runIdOf = (schedule: Pick<Schedule, "workflow" | "trigger">, slotMillis: number): string => {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._:-]/g, "_")
  const tail = `.${safe(String(schedule.trigger))}.${compact(slotMillis)}`
  const workflow = safe(schedule.workflow)
  const room = maxRunId - "sched.".length - tail.length
  if (workflow.length <= room) return `sched.${workflow}${tail}`
  const hash = Crypto.createHash("sha256").update(schedule.workflow).digest("hex").slice(0, 8)
  return `sched.${workflow.slice(0, Math.max(1, room - 9))}-${hash}${tail}`.slice(0, maxRunId)
}

// -----------------------------------------------------------------------------
// Slots
// -----------------------------------------------------------------------------

const nextSlot = (schedule: Schedule, afterMillis: number): number | undefined =>
  Option.getOrUndefined(
    Option.map(Cron.next(schedule.cron, Temporal.Instant.fromEpochMilliseconds(afterMillis), schedule.timezone), (z) => z.epochMilliseconds)
  )

/**
 * The latest slot in `(from, to]`, if any: looked for in windows growing back from `to`, so that
 * a schedule every minute down for a year costs no more than one every day.
 *
 * @since 0.1.0
 */
export const latestSlot = (schedule: Schedule, from: number, to: number): number | undefined => {
  for (let window = 3_600_000; ; window *= 8) {
    const start = Math.max(from, to - window)
    let latest: number | undefined
    for (let slot = nextSlot(schedule, start); slot !== undefined && slot <= to; slot = nextSlot(schedule, slot)) latest = slot
    if (latest !== undefined || start === from) return latest
  }
}

// -----------------------------------------------------------------------------
// The table
// -----------------------------------------------------------------------------

/**
 * Create `relais_schedules` if it does not exist (plain SQL for SQLite and PostgreSQL, under the
 * schema lock of the run store).
 *
 * @since 0.1.0
 */
export const migrate: Effect.Effect<void, SqlError, SqlClient.SqlClient> = RunStore.withSchemaLock(
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`CREATE TABLE IF NOT EXISTS relais_schedules (
      schedule_key TEXT PRIMARY KEY,
      first_seen BIGINT NOT NULL,
      last_slot BIGINT
    )`)
)

interface Row {
  readonly first_seen: number | string
  readonly last_slot: number | string | null
}

/** When the schedule was first seen (recorded now if never), and the last slot fired. */
const seen = (sql: SqlClient.SqlClient, key: string, now: number) =>
  Effect.gen(function*() {
    yield* sql`INSERT INTO relais_schedules (schedule_key, first_seen, last_slot) VALUES (${key}, ${now}, NULL)
      ON CONFLICT (schedule_key) DO NOTHING`
    const rows = yield* sql<Row>`SELECT first_seen, last_slot FROM relais_schedules WHERE schedule_key = ${key}`
    const row = rows[0]!
    return { firstSeen: Number(row.first_seen), lastSlot: row.last_slot === null ? undefined : Number(row.last_slot) }
  })

const fired = (sql: SqlClient.SqlClient, key: string, slot: number) =>
  sql`UPDATE relais_schedules SET last_slot = ${slot}
    WHERE schedule_key = ${key} AND (last_slot IS NULL OR last_slot < ${slot})`

// -----------------------------------------------------------------------------
// Running
// -----------------------------------------------------------------------------

const oneLine = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause) as { readonly message?: unknown }
  const text = typeof error?.message === "string" && error.message !== "" ? error.message : String(error)
  return text.split("\n")[0]!
}

/** Try `effect` until it succeeds, logging each failure, pausing longer each time (up to a minute). */
const untilDone = <A, E>(effect: Effect.Effect<A, E>, what: string, first: Duration.Duration): Effect.Effect<A> => {
  const attempt = (delay: Duration.Duration): Effect.Effect<A> =>
    effect.pipe(
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.failCause(cause as Cause.Cause<never>)
          : Effect.logWarning(`${what} failed: ${oneLine(cause)}; trying again in ${Duration.format(delay)}`).pipe(
            Effect.zipRight(Effect.sleep(delay)),
            Effect.zipRight(Effect.suspend(() => attempt(Duration.min(Duration.times(delay, 2), Duration.minutes(1)))))
          )
      )
    )
  return attempt(first)
}

const longestSleep = 3_600_000

/** A slot as the runs show it: `2027-03-28T01:00:00Z`. */
const isoOf = (slot: number): string => new Date(slot).toISOString().replace(/\.000Z$/, "Z")

const runOne = <E>(schedule: Schedule, options: Options<E>, sql: SqlClient.SqlClient): Effect.Effect<never> =>
  Effect.gen(function*() {
    const key = keyOf(schedule)
    const retryDelay = Duration.decode(options.retryDelay ?? "1 second")
    const log = options.log ?? ((text: string) => Effect.logInfo(text))
    const where = `schedule ${key} (${schedule.cron.text}, ${schedule.timezone})`

    const fire = (slot: number) =>
      Effect.gen(function*() {
        const iso = isoOf(slot)
        const request: StartRequest = {
          workflow: schedule.workflow,
          inputs: schedule.inputs,
          runId: runIdOf(schedule, slot),
          trigger: { kind: "schedule", slot: iso, cron: schedule.cron.text, timezone: schedule.timezone }
        }
        yield* untilDone(options.start(request), `${where}: starting ${request.runId}`, retryDelay)
        yield* log(`${where}: slot ${iso} started ${request.runId}`)
        yield* untilDone(fired(sql, key, slot), `${where}: recording slot ${iso}`, retryDelay)
      })

    const start = yield* Clock.currentTimeMillis
    const state = yield* untilDone(seen(sql, key, start), `${where}: reading its last slot`, retryDelay)
    if (schedule.missed === "once") {
      const from = Math.max(state.firstSeen, state.lastSlot ?? Number.NEGATIVE_INFINITY)
      const missed = latestSlot(schedule, from, start)
      if (missed !== undefined) {
        yield* log(`${where}: slot ${isoOf(missed)} was missed; it runs now (missed: once)`)
        yield* fire(missed)
      }
    }

    const first = nextSlot(schedule, start)
    if (first !== undefined) yield* log(`${where}: next slot ${isoOf(first)}`)

    let cursor = start
    while (true) {
      const now = yield* Clock.currentTimeMillis
      const slot = nextSlot(schedule, cursor)
      if (slot === undefined) {
        yield* Effect.logWarning(`${where}: no slot in the next twelve years; it will not fire`)
        return yield* Effect.never
      }
      if (slot > now) {
        // At most an hour at a time: a timer cannot wait more than 24.8 days (a monthly slot is
        // further away), and the clock is read again after a machine's sleep.
        yield* Effect.sleep(Duration.millis(Math.min(slot - now, longestSleep)))
        continue
      }
      // Due (or late: the latest due slot, once).
      const due = latestSlot(schedule, cursor, now) ?? slot
      yield* fire(due)
      cursor = due
    }
  }) as Effect.Effect<never>

/**
 * Fire the schedules until interrupted: the table is created first (a failure there is the
 * error), then each schedule runs on its own fiber, forever.
 *
 * @since 0.1.0
 */
export const run = <E>(options: Options<E>): Effect.Effect<never, SchedulerError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* migrate.pipe(Effect.mapError((error) => new SchedulerError({ message: `cannot create relais_schedules: ${error.message}` })))
    if (options.schedules.length === 0) return yield* Effect.never
    return yield* Effect.forEach(options.schedules, (schedule) => runOne(schedule, options, sql), {
      concurrency: "unbounded",
      discard: true
    }).pipe(Effect.zipRight(Effect.never))
  })

/**
 * The scheduler as a layer: it runs in the background for the life of the layer's scope.
 *
 * @since 0.1.0
 */
export const layer = <E>(options: Options<E>): Layer.Layer<never, SchedulerError, SqlClient.SqlClient> =>
  Layer.scopedDiscard(
    Effect.gen(function*() {
      yield* migrate.pipe(Effect.mapError((error) => new SchedulerError({ message: `cannot create relais_schedules: ${error.message}` })))
      yield* Effect.forkScoped(run(options))
    })
  )

// -----------------------------------------------------------------------------
// A clock for tests of child processes
// -----------------------------------------------------------------------------

/**
 * FOR TESTS ONLY. The environment variable that gives a process a clock starting at a chosen
 * instant, optionally running faster: `RELAIS_TEST_CLOCK=2027-03-28T00:58:00Z` or
 * `RELAIS_TEST_CLOCK=2027-03-28T00:58:00Z@60x` (a minute passes every second), so that an
 * end-to-end test crosses a DST change in seconds.
 *
 * @since 0.1.0
 */
export const testClockVariable = "RELAIS_TEST_CLOCK"

/**
 * FOR TESTS ONLY. Read a {@link testClockVariable} value: the starting instant (epoch
 * milliseconds) and the speed, or why it is refused.
 *
 * @since 0.1.0
 */
export const parseTestClock = (text: string): { readonly start: number; readonly speed: number } | { readonly error: string } => {
  const match = /^([^@]+?)(?:@(\d+(?:\.\d+)?)x)?$/.exec(text.trim())
  const start = match === null ? Number.NaN : Date.parse(match[1]!)
  const speed = match?.[2] === undefined ? 1 : Number(match[2])
  if (match === null || Number.isNaN(start) || !(speed > 0)) {
    return { error: `${testClockVariable}=${text}: expected an ISO instant, optionally followed by @<speed>x (2027-03-28T00:58:00Z@60x)` }
  }
  return { start, speed }
}

/**
 * FOR TESTS ONLY. A clock that reads `start` when created and runs `speed` times faster than
 * real time; sleeps are shortened by the same factor.
 *
 * @since 0.1.0
 */
export const makeTestClock = (start: number, speed: number): Clock.Clock => {
  const origin = Date.now()
  const millis = () => start + (Date.now() - origin) * speed
  const real = Clock.make()
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: millis,
    unsafeCurrentTimeNanos: () => BigInt(Math.round(millis() * 1_000_000)),
    currentTimeMillis: Effect.sync(millis),
    currentTimeNanos: Effect.sync(() => BigInt(Math.round(millis() * 1_000_000))),
    sleep: (duration) => real.sleep(Duration.millis(Math.ceil(Duration.toMillis(duration) / speed)))
  }
}

/**
 * FOR TESTS ONLY. The clock of {@link testClockVariable} when it is set (a layer setting the
 * default clock), nothing otherwise; a malformed value is a defect (only tests set it).
 *
 * @since 0.1.0
 */
export const testClockFromEnv = (env: Readonly<Record<string, string | undefined>> = process.env): Layer.Layer<never> => {
  const text = env[testClockVariable]
  if (text === undefined || text === "") return Layer.empty
  const parsed = parseTestClock(text)
  if ("error" in parsed) return Layer.die(new Error(parsed.error))
  return Layer.setClock(makeTestClock(parsed.start, parsed.speed))
}
