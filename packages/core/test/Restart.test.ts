/**
 * Restarting a run from a step (`Engine.restart`): a new run, linked to the original, reuses the
 * recorded outcomes of the steps before the chosen one (they are not executed again) and executes
 * from there; refused while the original has not ended, for a step it never reached, when the
 * steps to reuse were undone, and on an engine that keeps no journal of steps.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Engine, Errors, Redactor, RetryPolicy, RunStore, Step, Workflow } from "../src/index.js"

const calls: Array<string> = []
let fixed = false

const create = Step.make({
  name: "test/create",
  description: "creates something; `undoable` ones have a compensation",
  input: Schema.Struct({ name: Schema.String }),
  output: Schema.Struct({ id: Schema.String }),
  retry: RetryPolicy.none,
  run: ({ name }) => Effect.sync(() => (calls.push(`create ${name}`), { id: `${name}-1` }))
})

const undoable = Step.make({
  name: "test/undoable",
  description: "creates something its compensation deletes",
  input: Schema.Struct({ name: Schema.String }),
  output: Schema.Struct({ id: Schema.String }),
  retry: RetryPolicy.none,
  run: ({ name }) => Effect.sync(() => (calls.push(`create ${name}`), { id: `${name}-1` })),
  compensate: { description: "delete it", run: ({ name }) => Effect.sync(() => calls.push(`delete ${name}`)) }
})

const publish = Step.make({
  name: "test/publish",
  description: "fails until the fault is fixed",
  input: Schema.Struct({ id: Schema.String }),
  output: Schema.Struct({ published: Schema.String }),
  retry: RetryPolicy.none,
  run: ({ id }) =>
    Effect.suspend(() => {
      calls.push(`publish ${id}`)
      return fixed ? Effect.succeed({ published: id }) : Effect.fail(new Error("the server refused it"))
    })
})

const flow = (first: Step.Any) =>
  Workflow.make({
    name: first === create ? "create-then-publish" : "undoable-then-publish",
    input: Schema.Struct({ name: Schema.String }),
    output: Schema.Struct({ published: Schema.String }),
    run: ({ name }) =>
      Effect.gen(function*() {
        const made = (yield* Workflow.step(first as typeof create, { name }, { id: "create" })) as { id: string }
        const done = yield* Workflow.step(publish, { id: made.id }, { id: "publish" })
        return { published: done.published }
      })
  })
const plain = flow(create)
const withUndo = flow(undoable)

const sqlite = () =>
  Engine.layerSqlite({
    filename: Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-restart-")), "relais.db"),
    workflows: [plain, withUndo],
    pollInterval: "100 millis"
  }).pipe(Layer.provide(Redactor.layer))

describe("Engine.restart", () => {
  it.live("reuses the steps before the chosen one and executes from there: nothing is created twice", () =>
    Effect.gen(function*() {
      calls.length = 0
      fixed = false
      const engine = yield* Engine.Engine
      const failed = yield* Effect.flatMap(engine.start(plain, { name: "lea" }), engine.await)
      expect(failed.status).toBe("failed")
      expect(calls).toEqual(["create lea", "publish lea-1"])
      // The fault is fixed; the run starts again from its failed step.
      fixed = true
      const restarted = yield* engine.restart(failed.id, { from: "publish" })
      const record = yield* engine.await(restarted)
      expect(record.status).toBe("succeeded")
      expect(record.output).toEqual({ published: "lea-1" })
      expect(calls).toEqual(["create lea", "publish lea-1", "publish lea-1"])
      expect(record.restartOf).toEqual({ runId: failed.id, from: "publish", reused: ["create"] })
      expect(record.input).toEqual(failed.input)
      const events = (yield* Effect.flatMap(RunStore.RunStore, (s) => s.events(restarted))).map((e) => e.event)
      expect(events.filter((e) => e._tag === "StepReplayed").map((e) => (e as { path: string }).path)).toEqual(["create"])
      expect(events.filter((e) => e._tag === "StepStarted").map((e) => (e as { path: string }).path)).toEqual(["publish"])
    }).pipe(Effect.provide(sqlite())), 60_000)

  it.live("restarts a run once: the same restart asked again answers the same run, another is refused and points at the restart, which can be restarted in turn", () =>
    Effect.gen(function*() {
      calls.length = 0
      fixed = false
      const engine = yield* Engine.Engine
      const failed = yield* Effect.flatMap(engine.start(plain, { name: "ines" }), engine.await)
      expect(failed.status).toBe("failed")
      // Still broken: the restart fails at the same step.
      const first = yield* engine.restart(failed.id, { from: "publish" })
      expect(first).toBe(`${failed.id}.restart`)
      expect((yield* engine.await(first)).status).toBe("failed")
      // A double click: the same run, nothing executed again.
      const before = calls.length
      expect(yield* engine.restart(failed.id, { from: "publish" })).toBe(first)
      expect(calls.length).toBe(before)
      const other = yield* Effect.flip(engine.restart(failed.id, { from: "create" }))
      expect(other).toBeInstanceOf(Errors.CannotRestart)
      expect(other.message).toBe(
        `run ${failed.id} cannot be restarted from create: it was restarted already, as ${first} (from publish): restart that run instead, so that nothing is done twice`
      )
      // Fixed: the restart is restarted, reusing what the original's create did.
      fixed = true
      const second = yield* engine.restart(first, { from: "publish" })
      expect(second).toBe(`${first}.restart`)
      const record = yield* engine.await(second)
      expect(record.status).toBe("succeeded")
      expect(calls.filter((c) => c === "create ines")).toHaveLength(1)
      // Two restarts asked at once: one run.
      const again = yield* Effect.flatMap(engine.start(plain, { name: "raph" }), engine.await)
      const both = yield* Effect.all([engine.restart(again.id, { from: "publish" }), engine.restart(again.id, { from: "publish" })], { concurrency: 2 })
      expect(both[0]).toBe(both[1])
      yield* engine.await(both[0])
      expect(calls.filter((c) => c === "publish raph-1")).toHaveLength(2)
    }).pipe(Effect.provide(sqlite())), 60_000)

  it.live("refuses when the steps to reuse were undone, for a step never reached, and for an unknown run", () =>
    Effect.gen(function*() {
      calls.length = 0
      fixed = false
      const engine = yield* Engine.Engine
      const compensated = yield* Effect.flatMap(engine.start(withUndo, { name: "max" }), engine.await)
      expect(compensated.status).toBe("compensated")
      const undone = yield* Effect.flip(engine.restart(compensated.id, { from: "publish" }))
      expect(undone).toBeInstanceOf(Errors.CannotRestart)
      expect(undone.message).toBe(
        `run ${compensated.id} cannot be restarted from publish: what create did was undone when the run ended: there is nothing to reuse; start a new run`
      )
      const never = yield* Effect.flip(engine.restart(compensated.id, { from: "notify" }))
      expect(never.message).toMatch(/cannot be restarted from notify: the run never reached it; it reached create, publish$/)
      const unknown = yield* Effect.flip(engine.restart("no-such-run", { from: "publish" }))
      expect(unknown._tag).toBe("RunNotFound")
      // Nothing was started by the refusals.
      expect((yield* Effect.flatMap(RunStore.RunStore, (s) => s.list())).length).toBe(1)
    }).pipe(Effect.provide(sqlite())), 60_000)

  it.live("the in-memory engine keeps no journal of steps: refused, saying so", () =>
    Effect.gen(function*() {
      fixed = false
      const engine = yield* Engine.Engine
      const failed = yield* Effect.flatMap(engine.start(plain, { name: "zoe" }), engine.await)
      const refused = yield* Effect.flip(engine.restart(failed.id, { from: "publish" }))
      expect(refused.message).toMatch(/keeps no journal of steps/)
    }).pipe(Effect.provide(Engine.layerMemory({ workflows: [plain] }).pipe(Layer.provide(Redactor.layer)))))
})
