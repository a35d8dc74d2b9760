/**
 * Cancelling a run (`Engine.cancel`): no step starts after the request, a step that may have
 * written something finishes, a waiting one (between two attempts, or an attempt of a step with
 * nothing to undo: a read, a poll, a sleep) is stopped at once, what the run completed is undone
 * (or left as it is, and listed), and the run ends `cancelled`; a request written to the store by
 * another process is seen by the executing one.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Logger, Schedule, Schema } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Engine, Errors, Redactor, RetryPolicy, RunStore, Step, Workflow } from "../src/index.js"

const calls: Array<string> = []
let started: Deferred.Deferred<void> | undefined
let release: Deferred.Deferred<void> | undefined

const book = Step.make({
  name: "test/book",
  description: "books something, undone by its compensation; `wait` holds until released",
  input: Schema.Struct({ name: Schema.String }),
  output: Schema.Struct({ name: Schema.String }),
  retry: RetryPolicy.none,
  run: ({ name }) =>
    Effect.gen(function*() {
      calls.push(`book ${name}`)
      if (name === "wait") {
        if (started) yield* Deferred.succeed(started, undefined)
        if (release) yield* Deferred.await(release)
      }
      return { name }
    }),
  compensate: { description: "unbook", run: ({ name }) => Effect.sync(() => calls.push(`unbook ${name}`)) }
})

const threeSteps = Workflow.make({
  name: "three-steps",
  input: Schema.Struct({}),
  output: Schema.Struct({}),
  run: () =>
    Effect.gen(function*() {
      yield* Workflow.step(book, { name: "first" }, { id: "first" })
      yield* Workflow.step(book, { name: "wait" }, { id: "wait" })
      yield* Workflow.step(book, { name: "third" }, { id: "third" })
      return {}
    })
})

/** What the waiting steps did: each attempt, and whether one was stopped in the middle. */
const waits: Array<string> = []
let waiting: Deferred.Deferred<void> | undefined

/** Waits for ever: a poll or a sleep, with nothing to undo (idempotent, no compensation). */
const watch = Step.make({
  name: "test/watch",
  description: "waits for something that does not come",
  input: Schema.Struct({}),
  output: Schema.Struct({}),
  retry: RetryPolicy.none,
  idempotent: true,
  run: () =>
    Effect.gen(function*() {
      waits.push("watch")
      if (waiting) yield* Deferred.succeed(waiting, undefined)
      return yield* Effect.never
    }).pipe(Effect.onInterrupt(() => Effect.sync(() => waits.push("watch stopped"))))
})

/** Fails with a 503 and waits an hour before trying again: a create with its compensation. */
class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", { status: Schema.Number }) {}
const retryLater = Step.make({
  name: "test/retry-later",
  description: "a create the server refuses for now",
  input: Schema.Struct({}),
  output: Schema.Struct({}),
  retry: RetryPolicy.constant({ maxAttempts: 5, initialDelay: "1 hour", maxDelay: "1 hour" }),
  run: () =>
    Effect.gen(function*() {
      waits.push("retry-later")
      if (waiting) yield* Deferred.succeed(waiting, undefined)
      return yield* new Unavailable({ status: 503 })
    }),
  compensate: { description: "delete it", run: () => Effect.sync(() => waits.push("undo retry-later")) }
})

const waitingWorkflow = (name: string, step: Step.Any) =>
  Workflow.make({
    name,
    input: Schema.Struct({}),
    output: Schema.Struct({}),
    run: () =>
      Effect.gen(function*() {
        yield* Workflow.step(book, { name: "first" }, { id: "first" })
        yield* Workflow.step(step as typeof watch, {}, { id: "waiting" })
        yield* Workflow.step(book, { name: "third" }, { id: "third" })
        return {}
      })
  })
const watching = waitingWorkflow("watching", watch)
/** A batch whose items go on when one fails: a cancellation still stops the run, not the item. */
const batch = Workflow.make({
  name: "batch",
  input: Schema.Struct({}),
  output: Schema.Unknown,
  run: () =>
    Workflow.forEach("items", ["a", "b", "c"], (name) =>
      Effect.gen(function*() {
        yield* Workflow.step(book, { name }, { id: "book" })
        yield* Workflow.step(watch, {}, { id: "watch" })
      }), { onItemFailure: "continue" })
})
const retrying = waitingWorkflow("retrying", retryLater)

const memory = Engine.layerMemory({ workflows: [threeSteps, watching, retrying, batch] }).pipe(Layer.provide(Redactor.layer))

/** Start `workflow` and return once its waiting step has made its first attempt. */
const startWaiting = (workflow: typeof watching) =>
  Effect.gen(function*() {
    calls.length = 0
    waits.length = 0
    started = undefined
    release = undefined
    waiting = yield* Deferred.make<void>()
    const engine = yield* Engine.Engine
    const runId = yield* engine.start(workflow, {})
    yield* Deferred.await(waiting)
    return runId
  })

/** Start the workflow and return once its second step is in flight. */
const startHeld = Effect.gen(function*() {
  calls.length = 0
  started = yield* Deferred.make<void>()
  release = yield* Deferred.make<void>()
  const engine = yield* Engine.Engine
  const runId = yield* engine.start(threeSteps, {})
  yield* Deferred.await(started)
  return runId
})

describe("Engine.cancel", () => {
  it.live("stops a run before its next step and undoes what it completed, the step in flight included", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const runId = yield* startHeld
      const cancelling = yield* Effect.fork(engine.cancel(runId))
      // The step in flight finishes; the next one never starts.
      yield* Deferred.succeed(release!, undefined)
      const record = yield* Fiber.join(cancelling)
      expect(record.status).toBe("cancelled")
      expect(calls).toEqual(["book first", "book wait", "unbook wait", "unbook first"])
      expect(record.compensated?.map((c) => c.path)).toEqual(["wait", "first"])
      expect(record.remaining ?? []).toEqual([])
      expect(record.failure).toMatchObject({ step: "test/book", path: "third", reason: "cancelled" })
      const events = (yield* Effect.flatMap(RunStore.RunStore, (s) => s.events(runId))).map((e) => e.event)
      expect(events.find((e) => e._tag === "StepSkipped")).toMatchObject({ path: "third", reason: "the run was cancelled" })
      expect(events.at(-1)).toMatchObject({ _tag: "RunFinished", status: "cancelled" })
    }).pipe(Effect.provide(memory)))

  it.live("with compensate: false, leaves what it completed as it is, and lists it", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const runId = yield* startHeld
      const cancelling = yield* Effect.fork(engine.cancel(runId, { compensate: false }))
      yield* Deferred.succeed(release!, undefined)
      const record = yield* Fiber.join(cancelling)
      expect(record.status).toBe("cancelled")
      expect(calls).toEqual(["book first", "book wait"])
      expect(record.compensated ?? []).toEqual([])
      expect(record.remaining?.map((r) => [r.path, r.error.message])).toEqual([
        ["first", "not undone: the run was cancelled without compensation"],
        ["wait", "not undone: the run was cancelled without compensation"]
      ])
    }).pipe(Effect.provide(memory)))

  it.live("stops a step that waits with nothing to undo (a poll, a sleep) at once, and undoes the rest", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const runId = yield* startWaiting(watching)
      // The step never ends by itself: the cancellation must stop it.
      const record = yield* engine.cancel(runId)
      expect(record.status).toBe("cancelled")
      expect(waits).toEqual(["watch", "watch stopped"])
      expect(calls).toEqual(["book first", "unbook first"])
      expect(record.failure).toMatchObject({ step: "test/watch", path: "waiting", reason: "cancelled" })
      expect(record.failure?.error.message).toBe("the run was cancelled during this step, which has nothing to undo: it was stopped at once")
      expect(record.compensated?.map((c) => c.path)).toEqual(["first"])
      const events = (yield* Effect.flatMap(RunStore.RunStore, (s) => s.events(runId))).map((e) => e.event)
      expect(events.find((e) => e._tag === "StepFailed")).toMatchObject({ path: "waiting", reason: "cancelled", attempts: 1 })
      expect(events.some((e) => e._tag === "StepStarted" && e.path === "third")).toBe(false)
    }).pipe(Effect.provide(memory)))

  it.live("ends a step's wait before its next attempt: no further attempt, what it did not create is not undone", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const runId = yield* startWaiting(retrying)
      // Wait until the first attempt has failed and the hour's delay is scheduled.
      yield* Effect.flatMap(RunStore.RunStore, (s) => s.events(runId)).pipe(
        Effect.repeat({ until: (events) => events.some((e) => e.event._tag === "RetryScheduled"), schedule: Schedule.spaced("20 millis") })
      )
      const record = yield* engine.cancel(runId)
      expect(record.status).toBe("cancelled")
      expect(waits).toEqual(["retry-later"])
      expect(calls).toEqual(["book first", "unbook first"])
      expect(record.failure).toMatchObject({ path: "waiting", reason: "cancelled" })
      expect(record.failure?.error.message).toBe("the run was cancelled while this step waited to try again: no further attempt was made")
      const events = (yield* Effect.flatMap(RunStore.RunStore, (s) => s.events(runId))).map((e) => e.event)
      expect(events.filter((e) => e._tag === "AttemptFailed")).toHaveLength(1)
      expect(events.some((e) => e._tag === "AttemptStarted")).toBe(false)
    }).pipe(Effect.provide(memory)))

  it.live("lets a create in flight end when it fails, then makes no further attempt", () =>
    Effect.gen(function*() {
      calls.length = 0
      waits.length = 0
      // The create is held in flight while the cancellation comes: it is not cut.
      started = yield* Deferred.make<void>()
      release = yield* Deferred.make<void>()
      waiting = undefined
      const held = Step.make({ ...retryLater, name: "test/held-create", run: () =>
        Effect.gen(function*() {
          waits.push("held")
          yield* Deferred.succeed(started!, undefined)
          yield* Deferred.await(release!)
          return yield* new Unavailable({ status: 503 })
        }) })
      const workflow = waitingWorkflow("held-create", held)
      const layer = Engine.layerMemory({ workflows: [workflow] }).pipe(Layer.provide(Redactor.layer))
      yield* Effect.gen(function*() {
        const engine = yield* Engine.Engine
        const runId = yield* engine.start(workflow, {})
        yield* Deferred.await(started!)
        const cancelling = yield* Effect.fork(engine.cancel(runId))
        yield* Effect.yieldNow()
        expect(waits).toEqual(["held"])
        yield* Deferred.succeed(release!, undefined)
        const record = yield* Fiber.join(cancelling)
        expect(record.status).toBe("cancelled")
        expect(waits).toEqual(["held"])
        expect(record.failure).toMatchObject({ path: "waiting", reason: "cancelled" })
        const events = (yield* Effect.flatMap(RunStore.RunStore, (s) => s.events(runId))).map((e) => e.event)
        // The attempt was reported as it ended (the server's refusal), and no other was made.
        expect(events.filter((e) => e._tag === "AttemptFailed")).toMatchObject([{ attempt: 1, error: { _tag: "Unavailable", status: 503 } }])
        expect(events.find((e) => e._tag === "StepFailed")).toMatchObject({ path: "waiting", reason: "cancelled", attempts: 1 })
      }).pipe(Effect.provide(layer))
    }))

  it.live("in a batch whose items go on after a failure, stops the run, not only the item: no later item starts", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const runId = yield* startWaiting(batch as unknown as typeof watching)
      const record = yield* engine.cancel(runId)
      expect(record.status).toBe("cancelled")
      expect(waits).toEqual(["watch", "watch stopped"])
      expect(calls).toEqual(["book a", "unbook a"])
      expect(record.failure).toMatchObject({ path: "items[0]/watch", reason: "cancelled" })
    }).pipe(Effect.provide(memory)))

  it.live("in parallel branches, stops the one that waits and lets the create in flight end, then undoes it", () =>
    Effect.gen(function*() {
      calls.length = 0
      waits.length = 0
      started = yield* Deferred.make<void>()
      release = yield* Deferred.make<void>()
      waiting = yield* Deferred.make<void>()
      const both = Workflow.make({
        name: "both",
        input: Schema.Struct({}),
        output: Schema.Unknown,
        run: () =>
          Workflow.parallel({
            create: Workflow.step(book, { name: "wait" }, { id: "book" }),
            poll: Workflow.step(watch, {}, { id: "watch" })
          })
      })
      const layer = Engine.layerMemory({ workflows: [both] }).pipe(Layer.provide(Redactor.layer))
      yield* Effect.gen(function*() {
        const engine = yield* Engine.Engine
        const runId = yield* engine.start(both, {})
        // The create is in flight (held), the poll waits.
        yield* Deferred.await(started!)
        yield* Deferred.await(waiting!)
        const cancelling = yield* Effect.fork(engine.cancel(runId))
        // The poll is stopped at once; the create goes on until it ends by itself.
        while (!waits.includes("watch stopped")) yield* Effect.sleep(10)
        expect(calls).toEqual(["book wait"])
        yield* Deferred.succeed(release!, undefined)
        const record = yield* Fiber.join(cancelling)
        expect(record.status).toBe("cancelled")
        expect(calls).toEqual(["book wait", "unbook wait"])
        expect(record.compensated?.map((c) => c.path)).toEqual(["create/book"])
      }).pipe(Effect.provide(layer))
    }))

  it.live("refuses a run that has ended, and an unknown one", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      calls.length = 0
      started = undefined
      release = undefined
      const runId = yield* engine.start(threeSteps, {})
      const done = yield* engine.await(runId)
      expect(done.status).toBe("succeeded")
      const ended = yield* Effect.flip(engine.cancel(runId))
      expect(ended).toBeInstanceOf(Errors.RunEnded)
      expect(ended.message).toBe(`run ${runId} has ended (succeeded): there is nothing to cancel`)
      const unknown = yield* Effect.flip(engine.cancel("no-such-run"))
      expect(unknown._tag).toBe("RunNotFound")
    }).pipe(Effect.provide(memory)))

  it.live("on SQLite, a request written to the store by another process is seen by the executing one", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-cancel-"))
      const layer = Engine.layerSqlite({ filename: Path.join(dir, "relais.db"), workflows: [threeSteps], pollInterval: "100 millis" }).pipe(
        Layer.provide(Redactor.layer)
      )
      // The engine says when it has seen the request: the test waits for that line.
      const seen = yield* Deferred.make<void>()
      const logger = Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ message }) => {
          if (String(message).includes("cancelled; it stops")) Deferred.unsafeDone(seen, Exit.void)
        })
      )
      yield* Effect.gen(function*() {
        const engine = yield* Engine.Engine
        const runId = yield* startHeld
        // What `relais cancel` does beside a server that holds the store: only the request.
        yield* Effect.flatMap(RunStore.RunStore, (store) => store.requestCancel(runId, true))
        // The executing engine reads requests while it runs; the step in flight ends after that.
        yield* Deferred.await(seen)
        yield* Deferred.succeed(release!, undefined)
        const record = yield* engine.await(runId)
        expect(record.status).toBe("cancelled")
        expect(calls).toEqual(["book first", "book wait", "unbook wait", "unbook first"])
        // The request is forgotten once the run has ended.
        expect((yield* Effect.flatMap(RunStore.RunStore, (s) => s.cancellations)).has(runId)).toBe(false)
      }).pipe(Effect.provide(layer), Effect.provide(logger))
    }), 60_000)
})
