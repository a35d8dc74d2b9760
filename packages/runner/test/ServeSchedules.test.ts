/**
 * Schedules end to end: `relais serve` child processes whose scheduler runs on a fast test clock
 * (`RELAIS_TEST_CLOCK=<instant>@<speed>x`), the runs they start read back over the API.
 *
 * - SQLite, Paris spring forward (2027-03-28 02:00 -> 03:00): every slot once, in order; a slot
 *   in the gap fires at 03:00 local, and once only when 03:00 is a slot too (Cron.ts); a yearly
 *   slot in the gap agrees with what `relais schedules` prints.
 * - SQLite, Paris fall back (2027-10-31 03:00 -> 02:00): a fixed hour fires once, "every hour"
 *   fires in both 02:xx.
 * - Restarts on the same store, the clock moved past missed slots: `missed: skip` starts none,
 *   `missed: once` the latest missed one, once; a restart with nothing missed starts nothing.
 * - PostgreSQL (embedded), two `relais serve` processes with the same fast clock: every slot
 *   starts exactly one run, executed once, none missing.
 *
 * The waits are on log lines and API answers (generous limits), never on sleeps.
 */
import { Postgres } from "@relais/testing"
import { afterAll, describe, expect, it } from "vitest"
import { child, stackTrace, tmpDir, writeFile } from "./harness/Cli.js"
import { call, kill, type Served, serve } from "./harness/Serve.js"

const LIMIT = 300_000

/** A workflow that says which slot started it (its output) and with what trigger. */
const workflow = (name: string, schedule: string, extra = "") => `version: 1
name: ${name}
description: Started by its schedule
triggers:
  - schedule:
${schedule.split("\n").map((line) => `      ${line}`).join("\n")}
steps:${extra}
  - id: note
    uses: core/set
    with:
      kind: \${{ trigger.kind }}
      slot: \${{ trigger.slot }}
      cron: \${{ trigger.cron }}
      timezone: \${{ trigger.timezone }}
outputs:
  note: \${{ steps.note.output }}
`

interface RunInfo {
  readonly id: string
  readonly status: string
  readonly slot: string
  readonly trigger: Record<string, unknown>
  readonly output: Record<string, unknown> | undefined
  readonly events: ReadonlyArray<{ readonly event: { readonly _tag: string } }>
}

/** The runs of a workflow as the listing gives them (all pages): id and status. */
const listed = async (url: string, name: string): Promise<Array<{ readonly id: string; readonly status: string }>> => {
  const runs: Array<{ readonly id: string; readonly status: string }> = []
  let cursor: string | undefined
  do {
    const page = await call(`${url}/api/v1/runs?workflow=${name}&limit=500${cursor !== undefined ? `&cursor=${encodeURIComponent(cursor)}` : ""}`)
    expect(page.status).toBe(200)
    runs.push(...page.json.runs)
    cursor = page.json.next
  } while (cursor !== undefined)
  return runs
}

/** Every run of a workflow, each with its detail, sorted by slot. */
const runsOf = async (url: string, name: string): Promise<Array<RunInfo>> => {
  const runs = await Promise.all((await listed(url, name)).map(async ({ id }) => {
    const detail = (await call(`${url}/api/v1/runs/${id}`)).json
    return {
      id,
      status: detail.status,
      slot: detail.trigger?.slot,
      trigger: detail.trigger,
      output: detail.output,
      events: detail.events
    } satisfies RunInfo
  }))
  return runs.sort((a, b) => a.slot < b.slot ? -1 : a.slot > b.slot ? 1 : 0)
}

/** The run id of a slot (Scheduler.runIdOf): `sched.<workflow>.<trigger>.<yyyymmddThhmmZ>`. */
const runIdOf = (workflow: string, trigger: string | number, slot: string) =>
  `sched.${workflow}.${trigger}.${slot.replace(/[-:]/g, "").replace(/00Z$/, "Z")}`

/** Wait until the run of that slot is listed as succeeded. */
const finished = (url: string, workflow: string, trigger: string | number, slot: string) =>
  until(`the run of ${workflow}'s slot ${slot}`, () => listed(url, workflow), (runs) =>
    runs.some((r) => r.id === runIdOf(workflow, trigger, slot) && r.status === "succeeded"))

/** Poll the API until `holds` (a run's end is an event in the store; no fixed sleep). */
const until = async <A>(what: string, read: () => Promise<A>, holds: (a: A) => boolean, timeoutMs = 180_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (holds(value)) return value
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last: ${JSON.stringify(value).slice(0, 2000)}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/** The slots a served process logged as started, for one schedule key (`<workflow>.<trigger>`). */
const loggedSlots = (stderr: string, key: string): Array<string> =>
  [...stderr.matchAll(new RegExp(`schedule ${key.replace(/\./g, "\\.")} \\([^)]*\\): slot (\\S+) started`, "g"))].map((m) => m[1]!)

const servers: Array<Served> = []
const started = async (args: ReadonlyArray<string>, options: Parameters<typeof serve>[1]) => {
  const server = await serve(args, options)
  servers.push(server)
  return server
}

afterAll(async () => {
  for (const server of servers) await kill(server)
}, LIMIT)

describe("schedules under relais serve on SQLite", () => {
  it("across the Paris spring forward: each slot once, in order; the gap's slot at 03:00, once with a 03:00 slot", async () => {
    const dir = tmpDir("relais-sched-spring-")
    writeFile(dir, "workflows/half.yaml", workflow("half", `cron: "30 * * * *"`))
    writeFile(dir, "workflows/hourly.yaml", workflow("hourly", `name: top\ncron: "0 * * * *"\ntimezone: Europe/Paris`))
    writeFile(dir, "workflows/yearly.yaml", workflow("yearly", `cron: "30 2 28 3 *"`))
    // 01:10 Paris (CET); 5 simulated minutes a second: the change (01:00Z) comes after ~10 s.
    const server = await started(["--workflows", "workflows", "--listen", "127.0.0.1:0", "--store", "store.db"], {
      cwd: dir,
      env: { RELAIS_TEST_CLOCK: "2027-03-28T00:10:00Z@300x" }
    })
    await server.waitForStderr(/schedules: .*half \(30 \* \* \* \*, Europe\/Paris, missed: skip\)/)
    // Until 04:30 Paris (02:30Z) has fired and its run finished.
    await finished(server.url, "half", 0, "2027-03-28T02:30:00Z")
    const half = await runsOf(server.url, "half")
    const upTo = (runs: ReadonlyArray<RunInfo>, last: string) => runs.filter((r) => r.slot <= last)
    // 01:30 CET, 02:30 (in the gap: 03:00 CEST), 03:30 CEST, 04:30 CEST.
    expect(upTo(half, "2027-03-28T02:30:00Z").map((r) => r.slot)).toEqual([
      "2027-03-28T00:30:00Z",
      "2027-03-28T01:00:00Z",
      "2027-03-28T01:30:00Z",
      "2027-03-28T02:30:00Z"
    ])
    for (const run of upTo(half, "2027-03-28T02:30:00Z")) {
      expect(run.status).toBe("succeeded")
      expect(run.trigger).toEqual({ kind: "schedule", slot: run.slot, cron: "30 * * * *", timezone: "Europe/Paris" })
      expect(run.output).toMatchObject({ note: { kind: "schedule", slot: run.slot, cron: "30 * * * *", timezone: "Europe/Paris" } })
      expect(run.id).toBe(runIdOf("half", 0, run.slot))
      expect(run.events.filter((e) => e.event._tag === "RunStarted")).toHaveLength(1)
    }
    // Started once each, in order, by the scheduler.
    const logged = loggedSlots(server.stderr(), "half.0")
    expect(logged.slice(0, 4)).toEqual(upTo(half, "2027-03-28T02:30:00Z").map((r) => r.slot))
    expect(new Set(logged).size).toBe(logged.length)
    // 02:00 falls in the gap: it fires at 03:00 CEST, the same instant as the 03:00 slot: once.
    const hourly = upTo(await runsOf(server.url, "hourly"), "2027-03-28T02:00:00Z")
    expect(hourly.map((r) => r.slot)).toEqual(["2027-03-28T01:00:00Z", "2027-03-28T02:00:00Z"])
    expect(hourly[0]!.id).toBe("sched.hourly.top.20270328T0100Z")
    // 02:30 on the 28th of March, in the gap this year: once, at 03:00 CEST.
    const yearly = await runsOf(server.url, "yearly")
    expect(yearly.map((r) => r.slot)).toEqual(["2027-03-28T01:00:00Z"])
    // relais schedules (the real clock: from 2026) agrees on when that slot falls.
    const listed = await child(["schedules", "--workflows", "workflows", "--json", "--count", "2"], { cwd: dir })
    expect(listed.code).toBe(0)
    const rows = listed.stdout.trim().split("\n").map((line) => JSON.parse(line))
    const yearlyRow = rows.find((r) => r.workflow === "yearly")
    expect(yearlyRow.next[0]).toMatch(/^2027-03-28T03:00\+02:00/)
    expect(Date.parse(yearlyRow.next[0].replace(/\[.*$/, ""))).toBe(Date.parse(yearly[0]!.slot))

    expect(await server.stop("SIGTERM")).toBe(0)
    expect(server.stderr()).not.toMatch(stackTrace)
  }, LIMIT)

  it("across the Paris fall back: a fixed hour fires once, every hour fires in both 02:30s", async () => {
    const dir = tmpDir("relais-sched-autumn-")
    writeFile(dir, "workflows/fixed.yaml", workflow("fixed", `cron: "30 2 * * *"`))
    writeFile(dir, "workflows/every.yaml", workflow("every", `cron: "30 * * * *"`))
    // 01:50 Paris (CEST); 10 simulated minutes a second: the change (01:00Z) comes after ~7 s.
    const server = await started(["--workflows", "workflows", "--listen", "127.0.0.1:0", "--store", "store.db"], {
      cwd: dir,
      env: { RELAIS_TEST_CLOCK: "2027-10-30T23:50:00Z@600x" }
    })
    // Until 03:30 CET (02:30Z), an hour after the second 02:30, has fired.
    await finished(server.url, "every", 0, "2027-10-31T02:30:00Z")
    const every = (await runsOf(server.url, "every")).filter((r) => r.slot <= "2027-10-31T02:30:00Z")
    // 02:30 CEST, 02:30 CET, 03:30 CET.
    expect(every.map((r) => r.slot)).toEqual(["2027-10-31T00:30:00Z", "2027-10-31T01:30:00Z", "2027-10-31T02:30:00Z"])
    // 02:30 once: the earlier one (CEST).
    const fixed = await runsOf(server.url, "fixed")
    expect(fixed.map((r) => [r.slot, r.status])).toEqual([["2027-10-31T00:30:00Z", "succeeded"]])
    expect(fixed[0]!.output).toMatchObject({ note: { kind: "schedule", slot: "2027-10-31T00:30:00Z", cron: "30 2 * * *" } })
    expect(loggedSlots(server.stderr(), "fixed.0")).toEqual(["2027-10-31T00:30:00Z"])
    expect(await server.stop("SIGTERM")).toBe(0)
    expect(server.stderr()).not.toMatch(stackTrace)
  }, LIMIT)

  it("restarts on the same store: missed: skip starts nothing missed, missed: once the latest missed slot, once", async () => {
    const dir = tmpDir("relais-sched-restart-")
    writeFile(dir, "workflows/skipper.yaml", workflow("skipper", `cron: "0 * * * *"\ntimezone: UTC\nmissed: skip`))
    writeFile(dir, "workflows/catcher.yaml", workflow("catcher", `cron: "0 * * * *"\ntimezone: UTC\nmissed: once`))
    const args = ["--workflows", "workflows", "--listen", "127.0.0.1:0", "--store", "store.db"]
    const slots = async (url: string, name: string) => (await runsOf(url, name)).map((r) => r.slot)
    /** Serve with the clock at `clock` (real speed: no slot comes while the test looks) until both schedules have started. */
    const restart = async (clock: string) => {
      const server = await started(args, { cwd: dir, env: { RELAIS_TEST_CLOCK: clock } })
      await server.waitUntil("both schedules' next slot", (stderr) => /schedule skipper\.0 .*next slot/.test(stderr) && /schedule catcher\.0 .*next slot/.test(stderr))
      return server
    }

    // First life: 10:00 fires for both.
    const first = await started(args, { cwd: dir, env: { RELAIS_TEST_CLOCK: "2027-01-10T09:55:00Z@120x" } })
    await finished(first.url, "skipper", 0, "2027-01-10T10:00:00Z")
    await finished(first.url, "catcher", 0, "2027-01-10T10:00:00Z")
    expect(await first.stop("SIGTERM")).toBe(0)

    // Back at 13:20: 11:00, 12:00 and 13:00 were missed.
    const second = await restart("2027-01-10T13:20:00Z")
    await finished(second.url, "catcher", 0, "2027-01-10T13:00:00Z")
    expect(second.stderr()).toMatch(/schedule catcher\.0 \(0 \* \* \* \*, UTC\): slot 2027-01-10T13:00:00Z was missed; it runs now \(missed: once\)/)
    expect(second.stderr()).toMatch(/schedule skipper\.0 \(0 \* \* \* \*, UTC\): next slot 2027-01-10T14:00:00Z/)
    expect(second.stderr()).not.toMatch(/schedule skipper\.0 .*(was missed|started)/)
    expect(await slots(second.url, "catcher")).toEqual(["2027-01-10T10:00:00Z", "2027-01-10T13:00:00Z"])
    expect(await slots(second.url, "skipper")).toEqual(["2027-01-10T10:00:00Z"])
    expect(await second.stop("SIGTERM")).toBe(0)

    // Back at 13:40: nothing missed since 13:00 fired; nothing starts.
    const third = await restart("2027-01-10T13:40:00Z")
    expect(third.stderr()).not.toMatch(/was missed|slot \S+ started/)
    expect(await slots(third.url, "catcher")).toEqual(["2027-01-10T10:00:00Z", "2027-01-10T13:00:00Z"])
    expect(await slots(third.url, "skipper")).toEqual(["2027-01-10T10:00:00Z"])
    expect(await third.stop("SIGTERM")).toBe(0)

    // Back two days later: dozens of slots missed, the latest runs, once.
    const fourth = await restart("2027-01-12T08:10:00Z")
    await finished(fourth.url, "catcher", 0, "2027-01-12T08:00:00Z")
    expect(loggedSlots(fourth.stderr(), "catcher.0")).toEqual(["2027-01-12T08:00:00Z"])
    expect(await slots(fourth.url, "catcher")).toEqual(["2027-01-10T10:00:00Z", "2027-01-10T13:00:00Z", "2027-01-12T08:00:00Z"])
    expect(await slots(fourth.url, "skipper")).toEqual(["2027-01-10T10:00:00Z"])
    expect(await fourth.stop("SIGTERM")).toBe(0)
    for (const server of [first, second, third, fourth]) expect(server.stderr()).not.toMatch(stackTrace)
  }, LIMIT)
})

describe("schedules under two relais serve processes on one PostgreSQL store", () => {
  let pg: Postgres.Server | undefined
  afterAll(async () => {
    for (const server of servers) await kill(server)
    await pg?.stop()
  }, LIMIT)

  it("both fire every slot; each slot starts exactly one run, executed once, none missing", async () => {
    pg = await Postgres.start()
    const store = await pg.database()
    const dir = tmpDir("relais-sched-pg-")
    writeFile(dir, "workflows/tick.yaml", workflow("tick", `name: five\ncron: "*/5 * * * *"\ntimezone: UTC`))
    // A slot every 5 real seconds; both processes' clocks start at 09:58 when they start.
    const env = { RELAIS_TEST_CLOCK: "2027-01-10T09:58:00Z@60x" }
    const [a, b] = await Promise.all([Postgres.freePort(), Postgres.freePort()].map(async (port) =>
      started(["--workflows", "workflows", "--listen", "127.0.0.1:0", "--store", store, "--worker-listen", `127.0.0.1:${await port}`], { cwd: dir, env })
    ))
    const expected = ["10:00", "10:05", "10:10", "10:15", "10:20"].map((t) => `2027-01-10T${t}:00Z`)
    // Both schedulers reach the last slot (each logs a slot once its start returned: started or found).
    for (const server of [a!, b!]) {
      await server.waitUntil("the 10:20 slot", (stderr) => loggedSlots(stderr, "tick.five").includes(expected.at(-1)!), 180_000)
    }
    await finished(a!.url, "tick", "five", expected.at(-1)!)
    const runs = (await runsOf(a!.url, "tick")).filter((r) => r.slot <= expected.at(-1)!)
    expect(runs.map((r) => r.id)).toEqual(expected.map((slot) => runIdOf("tick", "five", slot)))
    for (const run of runs) {
      expect(run.status).toBe("succeeded")
      expect(run.trigger).toEqual({ kind: "schedule", slot: run.slot, cron: "*/5 * * * *", timezone: "UTC" })
      // Executed once: one start, one step, one end.
      expect(run.events.map((e) => e.event._tag).filter((t) => t === "RunStarted" || t === "RunFinished")).toEqual(["RunStarted", "RunFinished"])
    }
    // Each process fired each slot (the other found the run), and none twice.
    for (const server of [a!, b!]) {
      const logged = loggedSlots(server.stderr(), "tick.five").filter((slot) => slot <= expected.at(-1)!)
      expect(logged).toEqual(expected)
    }
    // The other process lists the same runs.
    expect((await listed(b!.url, "tick")).map((r) => r.id).filter((id) => runs.some((r) => r.id === id)).sort()).toEqual(runs.map((r) => r.id))
    expect(await a!.stop("SIGTERM")).toBe(0)
    expect(await b!.stop("SIGTERM")).toBe(0)
    for (const server of [a!, b!]) expect(server.stderr()).not.toMatch(stackTrace)
  }, LIMIT)
})
