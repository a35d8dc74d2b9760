/**
 * Cancelling a run (`Engine.cancel`): no step starts after the request, the steps in flight
 * finish, what the run completed is undone (or left as it is, and listed), and the run ends
 * `cancelled`; a request written to the store by another process is seen by the executing one.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Logger, Schema } from "effect"
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

const memory = Engine.layerMemory({ workflows: [threeSteps] }).pipe(Layer.provide(Redactor.layer))

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
          if (String(message).includes("cancelled; it stops before its next step")) Deferred.unsafeDone(seen, Exit.void)
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
