/**
 * The journaled scratch state of step invocations (`Step.StepState`): shared by the attempts,
 * `reconcile` and the compensation of one invocation and no other, kept across an engine
 * restart on the same SQLite file, size-capped, typed through a schema, redacted, and removed
 * when the run ends.
 */
import { describe, expect, it } from "@effect/vitest"
import { Data, Deferred, Effect, Exit, Layer, Option, Schema, Scope } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Engine, Redactor, RetryPolicy, type Run, RunStore, Step, Workflow } from "../src/index.js"

const tmpDb = () => Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-state-")), "relais.db")

class NotYet extends Data.TaggedError("NotYet")<{}> {}

const retryNotYet = RetryPolicy.constant({ maxAttempts: 3, initialDelay: 1, retryOn: ["NotYet"] })

const Seen = Schema.Struct({ firstAttempt: Schema.Number, label: Schema.String })

/**
 * Saves what its first attempt saw, fails once, and answers with what the state holds on its
 * second attempt: so the output shows what was kept between attempts.
 */
const remembers = Step.make({
  name: "test/remembers",
  description: "keeps its first attempt in its state",
  input: Schema.Struct({ label: Schema.String }),
  output: Seen,
  retry: retryNotYet,
  run: ({ label }) =>
    Effect.gen(function*() {
      const context = yield* Step.StepContext
      const seen = yield* Step.rememberState(Seen, Effect.succeed({ firstAttempt: context.attempt, label }))
      if (context.attempt === 1) return yield* new NotYet()
      return seen
    })
})

const memory = Engine.layerMemory().pipe(Layer.provideMerge(Redactor.layer))

const flow = <O, R>(name: string, run: () => Effect.Effect<O, unknown, R>) =>
  Workflow.make({ name, input: Schema.Struct({}), output: Schema.Unknown, run })

const stateOf = (runId: string, path: string) =>
  Effect.flatMap(RunStore.RunStore, (store) => store.loadState(runId, path))

const eventsOf = (runId: string) => Effect.flatMap(RunStore.RunStore, (store) => store.events(runId))

const failureOf = (record: Run.RunRecord) => record.failure?.error

describe("Step.StepState", () => {
  it.live("what the first attempt saved, the next attempt reads; each invocation has its own", () =>
    Effect.gen(function*() {
      const record = yield* Engine.run(
        flow("two invocations", () =>
          Effect.all([
            Workflow.step(remembers, { label: "a" }, { id: "a" }),
            Workflow.step(remembers, { label: "b" }, { id: "b" })
          ])),
        {}
      )
      expect(record.status).toBe("succeeded")
      // Attempt 2 of each returns attempt 1's value: kept, and not mixed up between a and b.
      expect(record.output).toEqual([{ firstAttempt: 1, label: "a" }, { firstAttempt: 1, label: "b" }])
    }).pipe(Effect.provide(memory)))

  it.effect("get, set and clear through the context; none before the first set and after clear", () =>
    Effect.gen(function*() {
      const step = Step.make({
        name: "test/raw-state",
        description: "uses the untyped state",
        input: Schema.Struct({}),
        output: Schema.Array(Schema.Unknown),
        run: () =>
          Effect.gen(function*() {
            const { state } = yield* Step.StepContext
            const get = Effect.map(state.get, Option.match({ onNone: () => "none", onSome: (value) => ({ some: value }) }))
            const before = yield* get
            yield* state.set({ n: 1, list: ["x"], dropped: undefined })
            const after = yield* get
            yield* state.set([2])
            const replaced = yield* get
            yield* state.clear
            const cleared = yield* get
            return [before, after, replaced, cleared]
          })
      })
      const record = yield* Engine.run(flow("raw", () => Workflow.step(step, {})), {})
      expect(record.output).toEqual([
        "none",
        // As JSON reads it back: the undefined field is gone.
        { some: { n: 1, list: ["x"] } },
        { some: [2] },
        "none"
      ])
    }).pipe(Effect.provide(memory)))

  it.effect("another run never sees a state saved under the same path", () =>
    Effect.gen(function*() {
      const peek = Step.make({
        name: "test/peek",
        description: "saves once, reports what it found",
        input: Schema.Struct({ value: Schema.String }),
        output: Schema.Struct({ found: Schema.NullOr(Schema.Unknown) }),
        run: ({ value }) =>
          Effect.gen(function*() {
            const { state } = yield* Step.StepContext
            const found = yield* state.get
            yield* state.set(value)
            return { found: Option.getOrNull(found) }
          })
      })
      const workflow = (value: string) => flow("peek", () => Workflow.step(peek, { value }, { id: "same" }))
      const first = yield* Engine.run(workflow("one"), {})
      const second = yield* Engine.run(workflow("two"), {})
      expect(first.output).toEqual({ found: null })
      expect(second.output).toEqual({ found: null })
    }).pipe(Effect.provide(memory)))

  it.live("reconcile and the compensation read the state of their invocation", () =>
    Effect.gen(function*() {
      const Plan = Schema.Struct({ wrote: Schema.String })
      const writes = Step.make({
        name: "test/writes",
        description: "saves a plan before writing, loses the answer once",
        input: Schema.Struct({}),
        output: Schema.Struct({ id: Schema.String, reconciledFrom: Schema.optional(Schema.String) }),
        retry: RetryPolicy.constant({ maxAttempts: 2, initialDelay: 1, retryOn: ["NotYet"] }),
        run: () =>
          Effect.gen(function*() {
            yield* Step.saveState(Plan, { wrote: "record-7" })
            return yield* new NotYet()
          }),
        reconcile: () =>
          Effect.map(Step.loadState(Plan), Option.map((plan) => ({ id: plan.wrote, reconciledFrom: "state" }))),
        compensate: {
          description: "undo the write",
          run: () =>
            Effect.map(Step.loadState(Plan), (plan) => Step.undid(`deleted ${Option.getOrThrow(plan).wrote}`))
        }
      })
      const boom = Step.make({
        name: "test/boom",
        description: "fails",
        input: Schema.Struct({}),
        output: Schema.Struct({}),
        retry: RetryPolicy.none,
        run: () => Effect.fail(new NotYet())
      })
      const record = yield* Engine.run(
        flow("write then fail", () =>
          Effect.gen(function*() {
            yield* Workflow.step(writes, {})
            yield* Workflow.step(boom, {})
          })),
        {}
      )
      expect(record.status).toBe("compensated")
      const events = yield* eventsOf(record.id)
      expect(events.find((e) => e.event._tag === "StepSucceeded")?.event).toMatchObject({
        path: "test/writes",
        output: { id: "record-7", reconciledFrom: "state" }
      })
      expect(record.compensated).toMatchObject([{ path: "test/writes", detail: "deleted record-7" }])
    }).pipe(Effect.provide(memory)))

  it.effect("a value over the cap, or without a JSON form, fails the step with a clear error", () =>
    Effect.gen(function*() {
      const saves = Step.make({
        name: "test/saves",
        description: "saves what it is given",
        input: Schema.Struct({ kind: Schema.Literal("big", "bigint", "just-fits") }),
        output: Schema.Struct({ kept: Schema.Boolean }),
        run: ({ kind }) =>
          Effect.gen(function*() {
            const { state } = yield* Step.StepContext
            // The JSON text of a string is the string and its two quotes.
            const value = kind === "big"
              ? "x".repeat(Step.maxStateBytes - 1)
              : kind === "just-fits"
              ? "é".repeat((Step.maxStateBytes - 2) / 2)
              : { n: BigInt(1) }
            yield* state.set(value)
            return { kept: Option.isSome(yield* state.get) }
          })
      })
      const run = (kind: "big" | "bigint" | "just-fits") =>
        Engine.run(flow(`saves ${kind}`, () => Workflow.step(saves, { kind }, { id: "s" })), {})

      const fits = yield* run("just-fits")
      expect(fits.output).toEqual({ kept: true })

      const big = yield* run("big")
      expect(big.status).toBe("failed")
      expect(big.failure?.reason).toBe("non_retryable")
      expect(failureOf(big)).toMatchObject({ _tag: "StepStateError" })
      expect(failureOf(big)?.message).toBe(
        `cannot save the state of step s: it would hold ${Step.maxStateBytes + 1} bytes of JSON, more than the ` +
          `${Step.maxStateBytes} a step state may hold (keep what a retry, a resume or the compensation needs: ids, ` +
          "a deadline, a plan)"
      )
      // Only one attempt: a state that is too large stays too large.
      expect((yield* eventsOf(big.id)).filter((e) => e.event._tag === "AttemptFailed")).toHaveLength(1)

      const bigint = yield* run("bigint")
      expect(failureOf(bigint)?.message).toMatch(/^cannot save the state of step s: the value has no JSON form \(.*BigInt/)
    }).pipe(Effect.provide(memory)))

  it.effect("loadState decodes with the schema; a saved value that does not match fails, naming the field", () =>
    Effect.gen(function*() {
      const reads = Step.make({
        name: "test/reads",
        description: "saves one shape, reads another",
        input: Schema.Struct({}),
        output: Schema.Struct({}),
        run: () =>
          Effect.gen(function*() {
            yield* Step.saveState(Schema.Struct({ deadline: Schema.String }), { deadline: "soon" })
            yield* Step.loadState(Schema.Struct({ deadline: Schema.Number }))
            return {}
          })
      })
      const record = yield* Engine.run(flow("reads", () => Workflow.step(reads, {}, { id: "r" })), {})
      expect(record.status).toBe("failed")
      expect(failureOf(record)?.message).toMatch(
        /^cannot read the state of step r: what was saved does not match what the step reads: [\s\S]*\["deadline"\][\s\S]*Expected number, actual "soon"/
      )
    }).pipe(Effect.provide(memory)))

  it.effect("the Redactor applies: a registered secret comes back masked", () =>
    Effect.gen(function*() {
      yield* Redactor.register("s3cr3t-value")
      const keeps = Step.make({
        name: "test/keeps",
        description: "saves a text",
        input: Schema.Struct({}),
        output: Schema.Struct({ back: Schema.Unknown }),
        run: () =>
          Effect.gen(function*() {
            const { state } = yield* Step.StepContext
            yield* state.set({ note: "id 3 s3cr3t-value" })
            return { back: Option.getOrNull(yield* state.get) }
          })
      })
      const record = yield* Engine.run(flow("keeps", () => Workflow.step(keeps, {})), {})
      expect(record.output).toEqual({ back: { note: `id 3 ${Redactor.mask}` } })
    }).pipe(Effect.provide(memory)))

  it.live("removed when the run ends", () =>
    Effect.gen(function*() {
      const observed: Array<Option.Option<unknown>> = []
      const look = Effect.flatMap(Step.StepContext, (context) =>
        Effect.tap(stateOf(context.runId, "test/remembers"), (found) => Effect.sync(() => observed.push(found))))
      const record = yield* Engine.run(
        flow("ends", () =>
          Effect.gen(function*() {
            yield* Workflow.step(remembers, { label: "kept" })
            // A later step sees the earlier invocation's state in the store while the run goes on.
            yield* Workflow.step(
              Step.make({
                name: "test/look",
                description: "reads the store",
                input: Schema.Struct({}),
                output: Schema.Struct({}),
                run: () => Effect.as(look, {})
              }),
              {}
            )
          })),
        {}
      )
      expect(record.status).toBe("succeeded")
      expect(observed).toEqual([Option.some({ firstAttempt: 1, label: "kept" })])
      expect(yield* stateOf(record.id, "test/remembers")).toEqual(Option.none())
    }).pipe(Effect.provide(memory)))
})

// -----------------------------------------------------------------------------
// On SQLite, across engines
// -----------------------------------------------------------------------------

let entered: Deferred.Deferred<void> | undefined
let release: Deferred.Deferred<void> | undefined

/**
 * Records its deadline on its first attempt ever and waits; a later execution (after the
 * engine stopped) finds the recorded deadline instead of making a new one.
 */
const Deadline = Schema.Struct({ deadlineAt: Schema.Number, execution: Schema.String })
const waits = Step.make({
  name: "test/waits",
  description: "records a deadline, then waits",
  input: Schema.Struct({ execution: Schema.String }),
  output: Deadline,
  retry: RetryPolicy.none,
  run: ({ execution }) =>
    Effect.gen(function*() {
      const kept = yield* Step.rememberState(Deadline, Effect.succeed({ deadlineAt: 1_000 + execution.length, execution }))
      if (entered !== undefined) yield* Deferred.succeed(entered, void 0)
      if (release !== undefined) yield* Deferred.await(release)
      return kept
    })
})

let currentExecution = "first"

const waitsFlow = Workflow.make({
  name: "waits",
  input: Schema.Struct({}),
  output: Deadline,
  run: () => Workflow.step(waits, { execution: currentExecution }, { id: "wait" })
})

const engineOn = (filename: string) =>
  Engine.layerSqlite({ filename, workflows: [waitsFlow], pollInterval: "100 millis" }).pipe(
    Layer.provide(Redactor.layer)
  )

describe("Step.StepState on SQLite", () => {
  it.live("survives an engine restart on the same file: the resumed invocation reads what the first saved", () =>
    Effect.gen(function*() {
      const db = tmpDb()
      currentExecution = "first"
      entered = yield* Deferred.make<void>()
      release = yield* Deferred.make<void>()
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(engineOn(db), scope)
      const runId = yield* Engine.start(waitsFlow, {}).pipe(Effect.provide(context))
      yield* Deferred.await(entered)
      // The state is in the file before the engine goes away.
      expect(yield* stateOf(runId, "wait").pipe(Effect.provide(context))).toEqual(
        Option.some({ deadlineAt: 1_005, execution: "first" })
      )
      yield* Scope.close(scope, Exit.void)

      // A new engine on the same file: the step runs again (its activity never completed) and
      // finds the first execution's state, not a new one.
      currentExecution = "second execution"
      entered = undefined
      release = undefined
      const resumed = yield* Effect.gen(function*() {
        const record = yield* Engine.resume(runId)
        const left = yield* stateOf(runId, "wait")
        return { record, left }
      }).pipe(Effect.provide(engineOn(db)))
      expect(resumed.record.status).toBe("succeeded")
      expect(resumed.record.executions).toBe(2)
      expect(resumed.record.output).toEqual({ deadlineAt: 1_005, execution: "first" })
      // Removed with the end of the run.
      expect(resumed.left).toEqual(Option.none())
    }))

  it.live("the SQL store keeps states per run and path, replaces them, and clears a run's at once", () =>
    Effect.gen(function*() {
      const store = yield* RunStore.RunStore
      yield* store.saveState("run_a", "x", { v: 1 })
      yield* store.saveState("run_a", "x", { v: 2 })
      yield* store.saveState("run_a", "loop[1]/y", ["y"])
      yield* store.saveState("run_b", "x", "b")
      expect(yield* store.loadState("run_a", "x")).toEqual(Option.some({ v: 2 }))
      expect(yield* store.loadState("run_a", "loop[1]/y")).toEqual(Option.some(["y"]))
      expect(yield* store.loadState("run_b", "x")).toEqual(Option.some("b"))
      expect(yield* store.loadState("run_a", "z")).toEqual(Option.none())
      yield* store.clearState("run_a", "x")
      expect(yield* store.loadState("run_a", "x")).toEqual(Option.none())
      expect(yield* store.loadState("run_a", "loop[1]/y")).toEqual(Option.some(["y"]))
      yield* store.clearState("run_a")
      expect(yield* store.loadState("run_a", "loop[1]/y")).toEqual(Option.none())
      expect(yield* store.loadState("run_b", "x")).toEqual(Option.some("b"))
    }).pipe(
      Effect.provide(
        RunStore.layerSql.pipe(Layer.provide(Engine.layerSqliteClient({ filename: tmpDb() })), Layer.provide(Redactor.layer))
      )
    ))
})
