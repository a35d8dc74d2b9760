/**
 * The `core` steps through the engine: core/set names values, core/fail fails the run at once
 * and compensates, core/sleep is a durable timer (its wake-up time journaled once, not cut by
 * an attempt timeout, not lengthened by a retry, kept across an engine restart on SQLite).
 */
import { describe, expect, it } from "@effect/vitest"
import { Engine, Redactor, RetryPolicy, type Run, RunStore, Step, Workflow } from "@relais/core"
import { Chunk, Duration, Effect, Exit, Fiber, Layer, Option, Schema, Scope, TestClock } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { CoreSteps } from "../src/index.js"

const TestEngine = Engine.layerMemory().pipe(Layer.provideMerge(Redactor.layer))

const flow = <O>(name: string, run: () => Effect.Effect<O, unknown, Workflow.RunContext>) =>
  Workflow.make({ name, input: Schema.Struct({}), output: Schema.Unknown, run })

/**
 * Let forked fibers run until one of them sleeps on the test clock, or the fiber is done.
 */
const settle = (fiber: Fiber.Fiber<unknown, unknown>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 10_000; i++) {
      if (Option.isSome(yield* Fiber.poll(fiber))) return
      if (Chunk.isNonEmpty(yield* TestClock.sleeps())) return
      yield* Effect.yieldNow()
    }
    return yield* Effect.dieMessage("nothing progressed")
  })

/** Run a workflow to its end on the test clock, moving it to each wait as soon as it is scheduled. */
const runToEnd = <O>(workflow: Workflow.Workflow<{}, O, never>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Engine.run(workflow, {}))
    while (Option.isNone(yield* Fiber.poll(fiber))) {
      yield* settle(fiber)
      const sleeps = Chunk.toReadonlyArray(yield* TestClock.sleeps())
      if (sleeps.length > 0) yield* TestClock.setTime(Math.min(...sleeps))
    }
    const record = yield* Fiber.join(fiber)
    const events = (yield* Effect.flatMap(RunStore.RunStore, (store) => store.events(record.id))).map((e) => e.event)
    return { record, events }
  })

const ofTag = <T extends Run.RunEvent["_tag"]>(events: ReadonlyArray<Run.RunEvent>, tag: T) =>
  events.filter((e): e is Extract<Run.RunEvent, { _tag: T }> => e._tag === tag)

const inputIssues = (step: Step.Any, value: unknown) =>
  Effect.flip(Step.decodeInput(step, "s", value)).pipe(Effect.map((e) => e.issues.map((i) => `${i.location}: ${i.message}`)))

const undone: Array<string> = []
const create = Step.make({
  name: "test/create",
  description: "creates something that can be undone",
  input: Schema.Struct({ name: Schema.String }),
  output: Schema.Struct({ id: Schema.String }),
  run: ({ name }) => Effect.succeed({ id: `${name}-1` }),
  compensate: {
    description: "delete it",
    run: (_input, output) => Effect.sync(() => undone.push(output.id))
  }
})

describe("core/set", () => {
  it.scoped("its output is its with, any object, to be read by later steps", () =>
    Effect.gen(function*() {
      const values = { learner: 42, label: "CFA-42", nested: { list: [1, "two", null] } }
      const { record } = yield* runToEnd(flow("set", () =>
        Effect.gen(function*() {
          const named = yield* Workflow.step(CoreSteps.set, values, { id: "names" })
          return named.label
        })))
      expect(record.status).toBe("succeeded")
      expect(record.output).toBe("CFA-42")
    }).pipe(Effect.provide(TestEngine)))

  it.effect("accepts any object and nothing else", () =>
    Effect.gen(function*() {
      expect(yield* Step.decodeInput(CoreSteps.set, "s", {})).toEqual({})
      expect(yield* Step.decodeInput(CoreSteps.set, "s", { a: { b: [1] } })).toEqual({ a: { b: [1] } })
      expect((yield* inputIssues(CoreSteps.set, [1, 2])).join("\n")).toMatch(/Expected/)
    }))
})

describe("core/fail", () => {
  it.scoped("fails the run with its message and code, at once (not retried), and compensates what was done", () =>
    Effect.gen(function*() {
      undone.length = 0
      const { events, record } = yield* runToEnd(flow("fail", () =>
        Effect.gen(function*() {
          yield* Workflow.step(create, { name: "convention" }, { id: "convention" })
          // Even under a policy that retries everything thrice.
          yield* Workflow.step(CoreSteps.fail, { message: "no eligible sequence", code: "NO_SEQUENCE" }, {
            id: "stop",
            retry: RetryPolicy.constant({ maxAttempts: 3, initialDelay: 10 })
          })
        })))
      expect(record.status).toBe("compensated")
      expect(record.failure?.path).toBe("stop")
      expect(record.failure?.reason).toBe("non_retryable")
      expect(record.failure?.error).toMatchObject({ _tag: "Failed", message: "no eligible sequence", details: { code: "NO_SEQUENCE" } })
      expect(ofTag(events, "AttemptFailed")).toHaveLength(1)
      expect(undone).toEqual(["convention-1"])
      expect(record.compensated?.map((c) => c.path)).toEqual(["convention"])
    }).pipe(Effect.provide(TestEngine)))

  it.effect("needs a message", () =>
    Effect.gen(function*() {
      expect((yield* inputIssues(CoreSteps.fail, {})).join("\n")).toMatch(/message: is missing/)
      expect((yield* inputIssues(CoreSteps.fail, { message: "  " })).join("\n")).toMatch(/message/)
      expect((yield* inputIssues(CoreSteps.fail, { message: "x", code: "has space" })).join("\n")).toMatch(/code/)
    }))
})

describe("core/sleep: input", () => {
  it.effect("takes exactly one of for (a duration) and until (a date-time with its offset)", () =>
    Effect.gen(function*() {
      const oneOf = /exactly one of for/
      expect((yield* inputIssues(CoreSteps.sleep, {})).join("\n")).toMatch(oneOf)
      expect((yield* inputIssues(CoreSteps.sleep, { for: "1h", until: "2030-01-01T00:00:00Z" })).join("\n")).toMatch(oneOf)
      expect((yield* inputIssues(CoreSteps.sleep, { for: "1 hour" })).join("\n")).toMatch(/like 500ms, 30s, 2m, 1h or 3d/)
      expect((yield* inputIssues(CoreSteps.sleep, { for: "400d" })).join("\n")).toMatch(/at most 366 days/)
      expect((yield* inputIssues(CoreSteps.sleep, { until: "2030-01-01T08:00:00" })).join("\n")).toMatch(/with its offset/)
      expect((yield* inputIssues(CoreSteps.sleep, { until: "2030-02-31T08:00:00Z" })).join("\n")).toMatch(/with its offset/)
      const ok = yield* Step.decodeInput(CoreSteps.sleep, "s", { for: "1.5h" })
      expect(Duration.toMillis(ok.for!)).toBe(5_400_000)
      expect(yield* Step.decodeInput(CoreSteps.sleep, "s", { until: "2030-01-01T08:00:00+01:00" })).toEqual({
        until: "2030-01-01T08:00:00+01:00"
      })
      // The rule is declared, so hosts can list and check it.
      expect(Step.inputRules(CoreSteps.sleep.input).map((r) => r.fields)).toEqual([["for", "until"]])
    }))

  it("has no attempt timeout and no retry of its own", () => {
    expect(Duration.isFinite(CoreSteps.sleep.timeout)).toBe(false)
    expect(CoreSteps.sleep.retry.maxAttempts).toBe(1)
  })
})

describe("core/sleep: on the clock", () => {
  it.scoped("sleeps an hour in one attempt (the default 30 s attempt timeout does not apply)", () =>
    Effect.gen(function*() {
      const start = yield* TestClock.currentTimeMillis
      const { events, record } = yield* runToEnd(flow("nap", () => Workflow.step(CoreSteps.sleep, { for: Duration.hours(1) }, { id: "nap" })))
      expect(record.status).toBe("succeeded")
      expect(record.output).toEqual({ until: new Date(start + 3_600_000).toISOString() })
      expect(ofTag(events, "StepSucceeded")[0]).toMatchObject({ attempts: 1 })
      expect(record.finishedAt! - start).toBeGreaterThanOrEqual(3_600_000)
    }).pipe(Effect.provide(TestEngine)))

  it.scoped("a retry sleeps what remains, not a new hour", () =>
    Effect.gen(function*() {
      const start = yield* TestClock.currentTimeMillis
      // As if a host had cut its attempts at 40 minutes: the second attempt reads the journaled
      // wake-up time and ends at the hour, within its own 40 minutes.
      const { events, record } = yield* runToEnd(flow("cut", () =>
        Workflow.step(CoreSteps.sleep, { for: Duration.hours(1) }, {
          id: "nap",
          timeout: Duration.minutes(40),
          retry: RetryPolicy.constant({ maxAttempts: 2, initialDelay: 100 })
        })))
      expect(ofTag(events, "AttemptFailed").map((e) => e.error._tag)).toEqual(["StepTimeout"])
      expect(record.status).toBe("succeeded")
      expect(record.output).toEqual({ until: new Date(start + 3_600_000).toISOString() })
      expect(record.finishedAt! - start).toBeLessThan(3_600_000 + 60_000)
    }).pipe(Effect.provide(TestEngine)))

  it.effect("sleeps past the 24.8-day limit of JavaScript timers, and not less", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(CoreSteps.sleep.run({ for: Duration.days(30) }))
      yield* TestClock.adjust(Duration.days(29))
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust(Duration.days(1))
      const woke = yield* Fiber.join(fiber)
      expect(woke.until).toBe(new Date(Duration.toMillis(Duration.days(30))).toISOString())
    }))

  it.effect("until a time already passed: goes on at once", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2030-01-01T00:00:00Z"))
      const woke = yield* CoreSteps.sleep.run({ until: "2029-12-31T23:00:00Z" })
      expect(woke).toEqual({ until: "2029-12-31T23:00:00.000Z" })
    }))
})

// -----------------------------------------------------------------------------
// Across an engine restart on SQLite
// -----------------------------------------------------------------------------

const tmpDb = () => Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-generic-")), "relais.db")

const napFlow = Workflow.make({
  name: "nap",
  input: Schema.Struct({}),
  output: CoreSteps.SleepOutput,
  run: () => Workflow.step(CoreSteps.sleep, { for: Duration.hours(1) }, { id: "nap" })
})

const engineOn = (filename: string) =>
  Engine.layerSqlite({ filename, workflows: [napFlow], pollInterval: "100 millis" }).pipe(Layer.provideMerge(Redactor.layer))

const storeOn = (filename: string) =>
  RunStore.layerSql.pipe(Layer.provide(Engine.layerSqliteClient({ filename })), Layer.provide(Redactor.layer))

const saved = (runId: string) =>
  Effect.flatMap(RunStore.RunStore, (store) => store.loadState(runId, "nap")).pipe(
    Effect.map(Option.map((value) => Schema.decodeUnknownSync(CoreSteps.SleepState)(value).wakeAt))
  )

/** The wake-up time once the step has journaled it: polled, the step gives no other sign. */
const journaled = (runId: string) =>
  Effect.gen(function*() {
    for (;;) {
      const wakeAt = yield* saved(runId)
      if (Option.isSome(wakeAt)) return wakeAt.value
      yield* Effect.sleep("50 millis")
    }
  })

describe("core/sleep across an engine restart", () => {
  it.live("resumed, a run sleeps only what remains of its journaled wake-up time, or goes on at once", () =>
    Effect.gen(function*() {
      const db = tmpDb()
      const before = Date.now()
      const scope = yield* Scope.make()
      const first = yield* Layer.buildWithScope(engineOn(db), scope)
      const [remains, passed] = yield* Effect.all([Engine.start(napFlow, {}), Engine.start(napFlow, {})]).pipe(
        Effect.provide(first)
      )
      const wakeAts = yield* Effect.all([journaled(remains), journaled(passed)]).pipe(Effect.provide(first))
      const after = Date.now()
      for (const wakeAt of wakeAts) {
        expect(wakeAt).toBeGreaterThanOrEqual(before + 3_600_000)
        expect(wakeAt).toBeLessThanOrEqual(after + 3_600_000)
      }
      // The engine stops mid-sleep: both runs are left unfinished.
      yield* Scope.close(scope, Exit.void)
      const left = yield* Effect.flatMap(RunStore.RunStore, (store) => store.get(remains)).pipe(Effect.provide(storeOn(db)))
      expect(left.status).not.toBe("succeeded")

      // Time passes while nothing runs: 59 minutes for one run, more than the hour for the other.
      // (Written in the journal, as an hour of waiting would leave it.)
      const soon = Date.now() + 1_500
      const past = Date.now() - 60_000
      yield* Effect.gen(function*() {
        const store = yield* RunStore.RunStore
        yield* store.saveState(remains, "nap", { wakeAt: soon })
        yield* store.saveState(passed, "nap", { wakeAt: past })
      }).pipe(Effect.provide(storeOn(db)))

      // A new engine on the same file. Had the step computed its wake-up time again, these runs
      // would sleep another hour (and this test would time out).
      const [a, b] = yield* Effect.all([Engine.resume(remains), Engine.resume(passed)], { concurrency: 2 }).pipe(
        Effect.provide(engineOn(db))
      )
      expect(a.status).toBe("succeeded")
      expect(a.output).toEqual({ until: new Date(soon).toISOString() })
      expect(a.finishedAt!).toBeGreaterThanOrEqual(soon)
      expect(b.status).toBe("succeeded")
      expect(b.output).toEqual({ until: new Date(past).toISOString() })
      expect(a.executions).toBe(2)
    }), 60_000)

})
