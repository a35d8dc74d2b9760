/**
 * Store trouble with real files: a directory, random bytes, a damaged header, a truncated file, a
 * read-only file, an empty file, one damaged row, and a disk that fills up before or during a run
 * (SQLite's page limit everywhere; a real full tmpfs when this process may mount one). Each ends
 * in a `StoreError` with its `reason` and the store's path, never in a defect or a hang; a run
 * stopped by a full disk is resumed once there is space again, without running its done steps
 * twice. The same for the step states: a state that cannot be saved stops the run with the
 * store's error (the step is not retried, nothing is undone); a clean-up of the states that fails
 * when the run has ended is a warning.
 */
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { Cause, Effect, Exit, Layer, Logger, Option, Schema, Stream } from "effect"
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Engine, Errors, Redactor, RetryPolicy, Run, RunStore, Step, Workflow } from "../src/index.js"

const tmpDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-faults-"))
const isRoot = process.getuid?.() === 0

const calls: Array<string> = []
/** Runs before step "b" does its work: where a test fills the disk. */
let beforeB: Effect.Effect<void> = Effect.void

const record = Step.make({
  name: "test/record",
  description: "records a call and returns a large output",
  input: Schema.Struct({ name: Schema.String, size: Schema.Number }),
  output: Schema.Struct({ name: Schema.String, padding: Schema.String }),
  retry: RetryPolicy.none,
  run: ({ name, size }) =>
    Effect.gen(function*() {
      if (name === "b") yield* beforeB
      calls.push(name)
      return { name, padding: "x".repeat(size) }
    })
})

const threeSteps = Workflow.make({
  name: "three-steps",
  input: Schema.Struct({ size: Schema.Number }),
  output: Schema.Struct({ names: Schema.Array(Schema.String) }),
  run: ({ size }) =>
    Effect.gen(function*() {
      const names: Array<string> = []
      for (const name of ["a", "b", "c"]) names.push((yield* Workflow.step(record, { name, size }, { id: name })).name)
      return { names }
    })
})

const engineOn = (filename: string, workflows: ReadonlyArray<Workflow.Workflow<any, any, never>> = [threeSteps]) =>
  Engine.layerSqlite({ filename, workflows, pollInterval: "100 millis" }).pipe(Layer.provide(Redactor.layer))

const readerOn = (filename: string) =>
  RunStore.layerSqlReadonly.pipe(
    Layer.provide(Engine.layerSqliteClient({ filename, readonly: true })),
    Layer.provide(Redactor.layer)
  )

/** A store with three finished runs, closed (its WAL checkpointed into the file). */
const storeWithRuns = (db: string) =>
  Effect.gen(function*() {
    const store = yield* RunStore.RunStore
    for (const [id, createdAt] of [["run-a", 1], ["run-b", 2], ["run-c", 3]] as const) {
      yield* store.create(
        new Run.RunRecord({
          id: Run.RunId.make(id),
          workflow: "wf",
          status: "succeeded",
          input: { note: `NOTE-OF-${id}` },
          createdAt,
          updatedAt: createdAt,
          executions: 1
        })
      )
    }
    for (const [execution, workflow] of ["EVENT-ONE", "EVENT-TWO", "EVENT-THREE"].entries()) {
      yield* store.append({ _tag: "RunStarted", runId: Run.RunId.make("run-a"), at: 10 + execution, workflow, execution })
    }
    yield* store.flush
  }).pipe(
    Effect.provide(RunStore.layerSql.pipe(Layer.provide(Engine.layerSqliteClient({ filename: db })), Layer.provide(Redactor.layer)))
  )

/**
 * On the engine's connection, `event` (INSERT or DELETE) on `table` fails as on a full disk
 * (SQLITE_FULL): a trigger makes it also write 1 MiB into a temporary table held to 8 pages.
 * Every other write goes on. Only that connection has the trigger: a new engine (the resume)
 * finds a store with space again.
 */
const fullAt = (event: "INSERT" | "DELETE", table: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.all([
      sql.unsafe("CREATE TEMP TABLE IF NOT EXISTS relais_test_filler (data BLOB)"),
      sql.unsafe("PRAGMA temp.max_page_count = 8"),
      sql.unsafe(`CREATE TEMP TRIGGER IF NOT EXISTS relais_test_full_${event.toLowerCase()}_${table} BEFORE ${event} ON main.${table}
        BEGIN INSERT INTO relais_test_filler VALUES (zeroblob(1048576)); END`)
    ], { discard: true })).pipe(Effect.orDie)

/** Limits that only end a hang: what they wait for comes within a second or two. */
const unlessHung = <A, E, R>(what: string) => (effect: Effect.Effect<A, E, R>) =>
  Effect.timeoutFail(effect, { duration: "60 seconds", onTimeout: () => new Error(`${what} hung`) })

/** The error an effect failed with (it must fail with a `StoreError`). */
const storeErrorOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.exit(effect), (exit) => {
    if (Exit.isSuccess(exit)) return Effect.dieMessage("expected a StoreError, got a success")
    const error = Option.getOrUndefined(Cause.failureOption(exit.cause))
    return error instanceof Errors.StoreError
      ? Effect.succeed(error)
      : Effect.dieMessage(`expected a StoreError, got ${String(exit.cause)}`)
  })

const openEngine = (db: string) => Effect.scoped(Layer.build(engineOn(db)))
const listRuns = (db: string) => Effect.flatMap(RunStore.RunStore, (s) => s.list()).pipe(Effect.provide(readerOn(db)))

const tmpfs = (() => {
  if (!isRoot) return "skipped: mounting a tmpfs needs root"
  const dir = tmpDir()
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", dir], { stdio: "pipe" })
    execFileSync("umount", [dir], { stdio: "pipe" })
    return undefined
  } catch (error) {
    return `skipped: cannot mount a tmpfs here (${String(error).split("\n")[0]})`
  }
})()
if (tmpfs !== undefined) console.log(`store faults on a real full disk ${tmpfs}`)

/** A fresh tmpfs of `size`, unmounted after `use`. */
const withTmpfs = <A, E, R>(size: string, use: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const dir = tmpDir()
      execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir])
      return dir
    }),
    use,
    (dir) => Effect.sync(() => execFileSync("umount", ["-l", dir]))
  )

describe("store faults: files", () => {
  it.live("a directory as the store", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      for (const error of [yield* storeErrorOf(openEngine(dir)), yield* storeErrorOf(listRuns(dir))]) {
        expect(error).toMatchObject({ reason: "not-a-file", path: dir })
        expect(error.message).toBe(
          `store ${dir} is not a file (it is a directory): give the path of a database file, e.g. ${dir}/relais.db`
        )
      }
    }))

  it.live("random bytes, and a store whose header was overwritten", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      const random = Path.join(dir, "random.db")
      Fs.writeFileSync(random, Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 7919 + 13) % 251)))
      const header = Path.join(dir, "header.db")
      yield* storeWithRuns(header)
      const fd = Fs.openSync(header, "r+")
      Fs.writeSync(fd, Buffer.from("NOT SQLITE AT AL"), 0, 16, 0)
      Fs.closeSync(fd)
      for (const db of [random, header]) {
        for (const error of [yield* storeErrorOf(openEngine(db)), yield* storeErrorOf(listRuns(db))]) {
          expect(error).toMatchObject({ reason: "not-a-database", path: db })
          expect(error.message).toBe(
            `${db} is not a relais run store (file is not a database): check the store path, or move the file away`
          )
        }
      }
    }))

  it.live("a truncated store", () =>
    Effect.gen(function*() {
      const db = Path.join(tmpDir(), "relais.db")
      // A real store (the engine's tables too), cut to a third of its size.
      yield* Engine.run(threeSteps, { size: 10 }).pipe(Effect.provide(engineOn(db)))
      Fs.truncateSync(db, Math.floor(Fs.statSync(db).size / 3))
      for (const error of [yield* storeErrorOf(openEngine(db)), yield* storeErrorOf(listRuns(db))]) {
        expect(error).toMatchObject({ reason: "corrupt", path: db })
        expect(error.message).toMatch(new RegExp(`^store ${db} is damaged \\(database disk image is malformed\\): move it away`))
      }
    }))

  it.live("a read-only store: the history can be read, a run is refused before anything is called", () =>
    Effect.gen(function*() {
      const db = Path.join(tmpDir(), "relais.db")
      yield* storeWithRuns(db)
      Fs.chmodSync(db, 0o444)
      // root ignores permissions: make the file immutable as well.
      if (isRoot) execFileSync("chattr", ["+i", db])
      try {
        expect((yield* listRuns(db)).map((r) => r.id)).toEqual(["run-c", "run-b", "run-a"])
        calls.length = 0
        const error = yield* storeErrorOf(Engine.run(threeSteps, { size: 1 }).pipe(Effect.provide(engineOn(db))))
        expect(error).toMatchObject({ reason: "read-only", path: db })
        expect(error.message).toMatch(new RegExp(`^store ${db} is read-only \\(attempt to write a readonly database\\)`))
        expect(calls).toEqual([])
      } finally {
        if (isRoot) execFileSync("chattr", ["-i", db])
      }
    }))

  it.live.skipIf(tmpfs !== undefined)("a store on a read-only file system: reading says why it cannot, a run is refused", () =>
    withTmpfs("4m", (dir) =>
      Effect.gen(function*() {
        const db = Path.join(dir, "relais.db")
        yield* storeWithRuns(db)
        execFileSync("mount", ["-o", "remount,ro", dir])
        const reading = yield* storeErrorOf(listRuns(db))
        expect(reading).toMatchObject({ reason: "read-only", path: db })
        expect(reading.message).toBe(
          `store ${db} is read-only (read-only file system: SQLite must create relais.db-shm beside it to read it), and relais must write to it to read it: make the file and its directory writable, or copy the store to a writable place or use another store`
        )
        const running = yield* storeErrorOf(openEngine(db))
        expect(running).toMatchObject({ reason: "read-only", path: db })
      })))

  it.live("an empty file: an empty history for readers (left untouched), a new history for an engine", () =>
    Effect.gen(function*() {
      const db = Path.join(tmpDir(), "relais.db")
      Fs.writeFileSync(db, "")
      expect(yield* listRuns(db)).toEqual([])
      expect(Fs.statSync(db).size).toBe(0)
      const result = yield* Engine.run(threeSteps, { size: 1 }).pipe(Effect.provide(engineOn(db)))
      expect(result.status).toBe("succeeded")
    }))

  it.live("one damaged row does not hide the others (runs, events)", () =>
    Effect.gen(function*() {
      const db = Path.join(tmpDir(), "relais.db")
      yield* storeWithRuns(db)
      // Control characters in the middle of run-b's stored JSON, as random bytes in a row page do.
      const bytes = Fs.readFileSync(db)
      for (const marker of ["NOTE-OF-run-b", "EVENT-TWO"]) {
        const at = bytes.indexOf(marker)
        expect(at).toBeGreaterThan(0)
        bytes.set([0x01, 0x02, 0x1b], at)
      }
      Fs.writeFileSync(db, bytes)

      const { listing, missing, timeline } = yield* Effect.gen(function*() {
        const store = yield* RunStore.RunStore
        return {
          listing: yield* store.browse(),
          missing: yield* Effect.flip(store.get("run-b")),
          timeline: yield* store.timeline("run-a")
        }
      }).pipe(Effect.provide(readerOn(db)))
      expect(listing.runs.map((r) => r.id)).toEqual(["run-c", "run-a"])
      expect(listing.unreadable).toHaveLength(1)
      expect(listing.unreadable[0]!.id).toBe("run-b")
      expect(listing.unreadable[0]!.problem).toMatch(/^the record of run run-b is damaged: Bad control character/)
      expect(missing).toMatchObject({ _tag: "StoreError", reason: "corrupt", path: db })
      expect(missing.message).toMatch(new RegExp(`^store ${db} is damaged \\(the record of run run-b is damaged: Bad control character`))
      expect((yield* listRuns(db)).map((r) => r.id)).toEqual(["run-c", "run-a"])
      // The same for the events of a run.
      expect(timeline.events.map((e) => e.event._tag === "RunStarted" && e.event.workflow)).toEqual(["EVENT-ONE", "EVENT-THREE"])
      expect(timeline.unreadable).toEqual([{ seq: 2, problem: expect.stringMatching(/^event 2 of run run-a is damaged: Bad control character/) }])
    }))
})

/**
 * A run whose step "b" fills the disk (`fill`) before returning a large output: the run must stop
 * with a `StoreError` of reason `no-space` (not hang, not compensate), and finish when resumed
 * once there is space again (`free`), without running "a" again.
 */
const fullDuringRun = (db: string, fill: Effect.Effect<void, never, SqlClient.SqlClient>, free: () => void) =>
  Effect.gen(function*() {
    calls.length = 0
    const runId = yield* Effect.scoped(Effect.gen(function*() {
      const engine = yield* Layer.build(engineOn(db))
      beforeB = Effect.provide(fill, engine)
      const runId = yield* Engine.start(threeSteps, { size: 64 * 1024 }).pipe(Effect.provide(engine))
      const error = yield* storeErrorOf(Engine.awaitRun(runId).pipe(
        Effect.provide(engine),
        unlessHung("the wait for the run (the store's failure was not reported)")
      ))
      expect(error).toMatchObject({ reason: "no-space", path: db })
      expect(error.message).toMatch(new RegExp(`^no space left on ${Path.dirname(db)} \\(writing the run store ${db}: `))
      return runId
    }))
    beforeB = Effect.void
    expect(calls).toEqual(["a", "b"])
    free()
    const stopped = yield* Effect.flatMap(RunStore.RunStore, (s) => s.get(runId)).pipe(Effect.provide(readerOn(db)))
    expect(stopped.status).toBe("interrupted")
    expect(stopped.compensated).toBeUndefined()
    const resumed = yield* Engine.resume(runId).pipe(Effect.provide(engineOn(db)))
    expect(resumed.status).toBe("succeeded")
    expect(resumed.output).toEqual({ names: ["a", "b", "c"] })
    expect(calls.filter((c) => c === "a")).toEqual(["a"])
  })

describe("store faults: a full disk", () => {
  it.live("SQLite's page limit reached during a run: no-space, the run resumes once it is lifted", () =>
    Effect.gen(function*() {
      const db = Path.join(tmpDir(), "relais.db")
      // The limit is a setting of the engine's connection; a new engine (the resume) has none.
      const fill = Effect.flatMap(SqlClient.SqlClient, (sql) =>
        Effect.flatMap(sql<{ readonly page_count: number }>`PRAGMA page_count`, ([row]) =>
          sql.unsafe(`PRAGMA max_page_count = ${row!.page_count}`))).pipe(Effect.orDie)
      yield* fullDuringRun(db, fill, () => {})
    }), 120_000)

  it.live("the disk fills up exactly when the journal records a step's result: no-space at once, not a hang; resumed once freed", () =>
    Effect.gen(function*() {
      const db = Path.join(tmpDir(), "relais.db")
      // Only the journal's write of step b's result meets a full disk (the step journal's row;
      // before it, the cluster's reply to the step's activity, written on a fiber of its own,
      // retried a few times and given up without telling anyone: a real disk filled up there
      // under `relais run` and the run waited forever for a result never recorded).
      yield* fullDuringRun(db, fullAt("INSERT", "relais_activities"), () => {})
    }), 120_000)

  /** Fill the file system of `dir` up to the last few KiB. */
  const fillUp = (dir: string) => {
    const filler = Path.join(dir, "filler")
    const fd = Fs.openSync(filler, "a")
    const chunk = Buffer.alloc(4096, 1)
    try {
      for (;;) Fs.writeSync(fd, chunk)
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOSPC") throw error
    } finally {
      Fs.closeSync(fd)
    }
    return filler
  }

  it.live.skipIf(tmpfs !== undefined)("a tmpfs that fills up during a run: no-space naming the disk, resumed once freed", () =>
    withTmpfs("8m", (dir) =>
      Effect.gen(function*() {
        const db = Path.join(dir, "relais.db")
        let filler = ""
        yield* fullDuringRun(db, Effect.sync(() => void (filler = fillUp(dir))), () => Fs.rmSync(filler))
      })), 120_000)

  it.live.skipIf(tmpfs !== undefined)("a tmpfs that is full before the engine starts: no-space naming the disk", () =>
    withTmpfs("1m", (dir) =>
      Effect.gen(function*() {
        const db = Path.join(dir, "relais.db")
        fillUp(dir)
        const error = yield* storeErrorOf(openEngine(db))
        expect(error).toMatchObject({ reason: "no-space", path: db })
        expect(error.message).toMatch(new RegExp(`^no space left on ${dir} \\(writing the run store ${db}: `))
      })), 120_000)
})

describe("store faults: step states", () => {
  const Plan = Schema.Struct({ plan: Schema.String })
  const books = Step.make({
    name: "test/books",
    description: "books something, undone by its compensation",
    input: Schema.Struct({}),
    output: Schema.Struct({ booked: Schema.Boolean }),
    retry: RetryPolicy.none,
    run: () => Effect.sync(() => (calls.push("books"), { booked: true })),
    compensate: { description: "unbook", run: () => Effect.sync(() => calls.push("unbooks")) }
  })
  const keeps = Step.make({
    name: "test/keeps",
    description: "saves a plan in its state, then answers",
    input: Schema.Struct({}),
    output: Plan,
    // A policy that names the state's error: a store failure is still not retried.
    retry: RetryPolicy.constant({ maxAttempts: 5, initialDelay: 1, retryOn: ["StepStateError"] }),
    run: () =>
      Effect.gen(function*() {
        calls.push("keeps")
        yield* Step.saveState(Plan, { plan: "the plan" })
        return { plan: "the plan" }
      }),
    reconcile: () => Effect.sync(() => (calls.push("reconciles"), Option.none()))
  })
  const keeping = Workflow.make({
    name: "keeping",
    input: Schema.Struct({}),
    output: Plan,
    run: () => Effect.zipRight(Workflow.step(books, {}), Workflow.step(keeps, {}))
  })
  const stateOf = (runId: string) => Effect.flatMap(RunStore.RunStore, (store) => store.loadState(runId, "test/keeps"))

  /**
   * How the store refuses the state's write: a full disk (fatal: it stops every run), or a
   * write refused for another reason (a trigger's abort: only this run stops).
   */
  const refusals = [
    {
      name: "the disk is full",
      refuse: fullAt("INSERT", "relais_step_state"),
      expected: (db: string) => ({
        reason: "no-space",
        message: `no space left on ${Path.dirname(db)} (writing the run store ${db}: database or disk is full)`
      })
    },
    {
      name: "the store refuses the write",
      refuse: Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql.unsafe(`CREATE TEMP TRIGGER relais_test_refuse BEFORE INSERT ON main.relais_step_state
          BEGIN SELECT RAISE(ABORT, 'the test refuses this write'); END`)).pipe(Effect.orDie),
      expected: (db: string) => ({ reason: "other", message: `run store ${db}: save the state of step test/keeps of run` })
    }
  ] as const

  for (const { expected, name, refuse } of refusals) {
    it.live(`a state that cannot be saved (${name}): the run's wait ends with the store's error, the step is not retried nor failed, nothing is undone; resumed once fixed`, () =>
      Effect.gen(function*() {
        const db = Path.join(tmpDir(), "relais.db")
        calls.length = 0
        const runId = yield* Effect.scoped(Effect.gen(function*() {
          const engine = yield* Layer.build(engineOn(db, [keeping]))
          yield* Effect.provide(refuse, engine)
          const events = yield* Effect.flatMap(Engine.Engine, (e) => e.subscribe).pipe(Effect.provide(engine))
          const runId = yield* Engine.start(keeping, {}).pipe(Effect.provide(engine))
          const error = yield* storeErrorOf(Engine.awaitRun(runId).pipe(Effect.provide(engine), unlessHung("the wait for the run")))
          expect(error).toMatchObject({ reason: expected(db).reason, path: db })
          expect(error.message).toContain(expected(db).message)
          // The step's attempt failed and is not retried.
          const attempt = yield* events.pipe(
            Stream.filter((event) => event.runId === runId && event._tag === "AttemptFailed"),
            Stream.runHead,
            unlessHung("the step's attempt")
          )
          expect(Option.getOrThrow(attempt)).toMatchObject({
            path: "test/keeps",
            attempt: 1,
            retryable: false,
            error: { _tag: "StepStateError" }
          })
          return runId
        }))
        // What the run did before the engine closed, as its history has it.
        const stopped = yield* Effect.gen(function*() {
          const store = yield* RunStore.RunStore
          return { record: yield* store.get(runId), events: (yield* store.events(runId)).map((e) => e.event) }
        }).pipe(Effect.provide(readerOn(db)))
        expect(stopped.record.status).toBe("interrupted")
        expect(stopped.record.compensated).toBeUndefined()
        expect(stopped.events.filter((e) => e._tag === "AttemptFailed")).toHaveLength(1)
        expect(stopped.events.filter((e) => ["RetryScheduled", "StepFailed", "CompensationStarted"].includes(e._tag))).toEqual([])
        expect(calls).toEqual(["books", "keeps"])

        // The step's failure was not journaled: the resumed run checks it (reconcile) and runs it again.
        const resumed = yield* Effect.gen(function*() {
          const record = yield* Engine.resume(runId)
          return { record, left: yield* stateOf(runId) }
        }).pipe(Effect.provide(engineOn(db, [keeping])))
        expect(resumed.record.status).toBe("succeeded")
        expect(resumed.record.output).toEqual({ plan: "the plan" })
        expect(resumed.left).toEqual(Option.none())
        // Booked once, never undone.
        expect(calls).toEqual(["books", "keeps", "reconciles", "keeps"])
      }), 120_000)
  }

  it.live("the clean-up of the states fails when the run has ended (the disk is full): a warning, the outcome stands, the store takes the next run", () => {
    const warnings: Array<string> = []
    const capture = Logger.make(({ logLevel, message }) => {
      if (logLevel._tag === "Warning") warnings.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
    })
    return Effect.gen(function*() {
      const db = Path.join(tmpDir(), "relais.db")
      calls.length = 0
      yield* Effect.scoped(Effect.gen(function*() {
        const engine = yield* Layer.build(engineOn(db, [keeping]))
        yield* Effect.provide(fullAt("DELETE", "relais_step_state"), engine)
        for (const _ of ["first", "second"]) {
          const record = yield* Engine.start(keeping, {}).pipe(
            Effect.flatMap(Engine.awaitRun),
            Effect.provide(engine),
            unlessHung("the wait for the run")
          )
          expect(record.status).toBe("succeeded")
          expect(record.output).toEqual({ plan: "the plan" })
          expect(warnings.at(-1)).toMatch(new RegExp(
            `^run ${record.id}: its step states are left in the store: no space left on ${Path.dirname(db)} \\(writing the run store ${db}: database or disk is full\\)`
          ))
          expect(yield* stateOf(record.id).pipe(Effect.provide(engine))).toEqual(Option.some({ plan: "the plan" }))
        }
      }))
      expect(warnings).toHaveLength(2)
      expect(calls).toEqual(["books", "keeps", "books", "keeps"])
    }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
  }, 120_000)
})
