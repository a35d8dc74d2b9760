/**
 * How runs end and what they report, on both engines (memory and SQLite): a batch whose items
 * failed is `succeeded_with_failures` with the failed items in its record (not `succeeded`),
 * also after a resume; a compensation that finds nothing to undo, or undoes only part of what
 * its description says, is recorded as such (not as "undone").
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Layer, Schema, Scope } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Engine, Redactor, RetryPolicy, Run, RunStore, Step, Workflow } from "../src/index.js"

class Refused extends Schema.TaggedError<Refused>()("Refused", { message: Schema.String }) {}

/** What the fake remote system holds, by name. */
const held = new Set<string>()
let gate: Deferred.Deferred<void> | undefined

const Row = Schema.Struct({ name: Schema.String, bad: Schema.Boolean })

/** Creates `name`; fails for bad rows (after nothing was created); waits on `gate` for "wait". */
const create = Step.make({
  name: "test/create",
  description: "create a record",
  input: Row,
  output: Schema.Struct({ name: Schema.String }),
  retry: RetryPolicy.none,
  run: ({ bad, name }) =>
    Effect.gen(function*() {
      if (name === "wait" && gate) yield* Deferred.await(gate)
      if (bad) return yield* new Refused({ message: `${name} is refused` })
      held.add(name)
      return { name }
    }),
  compensate: {
    description: "delete the record",
    run: (_input, { name }) => Effect.sync(() => void held.delete(name))
  }
})

/** A batch over rows, isolating failed items. */
const batch = (onItemFailure: "continue" | "compensate-item") =>
  Workflow.make({
    name: `batch-${onItemFailure}`,
    input: Schema.Struct({ rows: Schema.Array(Row) }),
    output: Schema.Struct({ ok: Schema.Number }),
    run: ({ rows }) =>
      Effect.map(
        Workflow.forEach("rows", rows, (row) => Workflow.step(create, row, { id: "create" }), {
          concurrency: 2,
          onItemFailure
        }),
        (outcomes) => ({ ok: outcomes.filter((o) => o._tag === "Succeeded").length })
      )
  })

/** Finds or creates a record: its compensation says when there was nothing to undo. */
const findOrCreate = Step.make({
  name: "test/find-or-create",
  description: "delete the record and its tag, if this step created them",
  input: Schema.Struct({ name: Schema.String }),
  output: Schema.Struct({ name: Schema.String, created: Schema.Boolean, tagCreated: Schema.Boolean }),
  retry: RetryPolicy.none,
  run: ({ name }) =>
    Effect.sync(() => {
      const created = !held.has(name)
      const tagCreated = !held.has(`${name}#tag`)
      held.add(name)
      held.add(`${name}#tag`)
      return { name, created, tagCreated }
    }),
  compensate: {
    description: "delete the record and its tag, if this step created them",
    run: (_input, { created, name, tagCreated }) =>
      Effect.sync(() => {
        if (!created && !tagCreated) return Step.nothingToUndo(`${name} existed before the run`)
        if (created) held.delete(name)
        if (tagCreated) held.delete(`${name}#tag`)
        return created && tagCreated ? undefined : Step.undid(`deleted ${created ? name : "the tag"}; the other existed before the run`)
      })
  }
})

const fail = Step.make({
  name: "test/fail",
  description: "always fails",
  input: Schema.Struct({}),
  output: Schema.Struct({}),
  retry: RetryPolicy.none,
  run: () => Effect.fail(new Refused({ message: "stop" }))
})

const undoing = Workflow.make({
  name: "undoing",
  input: Schema.Struct({ names: Schema.Array(Schema.String) }),
  output: Schema.Unknown,
  run: ({ names }) =>
    Effect.gen(function*() {
      for (const name of names) yield* Workflow.step(findOrCreate, { name }, { id: name })
      yield* Workflow.step(fail, {}, { id: "boom" })
    })
})

const workflows = [batch("continue"), batch("compensate-item"), undoing]

const tmpDb = () => Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-batch-")), "relais.db")

const engines: ReadonlyArray<readonly [string, () => Layer.Layer<Engine.Engine | RunStore.RunStore, unknown>]> = [
  ["memory", () => Engine.layerMemory({ workflows }).pipe(Layer.provide(Redactor.layer))],
  [
    "SQLite",
    () =>
      Engine.layerSqlite({ filename: tmpDb(), workflows, pollInterval: "100 millis" }).pipe(Layer.provide(Redactor.layer))
  ]
]

const rows = (...names: ReadonlyArray<string>) => names.map((n) => ({ name: n.replace("!", ""), bad: n.endsWith("!") }))

const eventsOf = (runId: string) => Effect.flatMap(RunStore.RunStore, (store) => store.events(runId))

describe.each(engines)("how a run ends (%s engine)", (_name, layer) => {
  it.live("a batch whose items failed (continue) ends succeeded_with_failures, listing them", () =>
    Effect.gen(function*() {
      held.clear()
      const record = yield* Engine.run(batch("continue"), { rows: rows("a", "b!", "c", "d!") })
      expect(record.status).toBe("succeeded_with_failures")
      expect(Run.isFinal(record.status)).toBe(true)
      expect(record.output).toEqual({ ok: 2 })
      expect(record.failedItems?.map((i) => [i.path, i.loop, i.index, i.items, i.completedSteps])).toEqual([
        ["rows[1]", "rows", 1, 4, "kept"],
        ["rows[3]", "rows", 3, 4, "kept"]
      ])
      expect(record.failedItems![0]!.failure).toMatchObject({
        step: "test/create",
        path: "rows[1]/create",
        reason: "non_retryable",
        error: { _tag: "Refused", message: "b is refused" }
      })
      expect([...held].sort()).toEqual(["a", "c"])
      const finished = (yield* eventsOf(record.id)).map((e) => e.event).filter((e) => e._tag === "RunFinished")
      expect(finished).toMatchObject([{ status: "succeeded_with_failures" }])
      // What the store gives back to `runs list` and `runs show`.
      const stored = yield* Effect.flatMap(RunStore.RunStore, (store) => store.get(record.id))
      expect(stored.status).toBe("succeeded_with_failures")
      expect(stored.failedItems).toHaveLength(2)
      const listed = yield* Effect.flatMap(RunStore.RunStore, (store) => store.list({ status: ["succeeded_with_failures"] }))
      expect(listed.map((r) => r.id)).toContain(record.id)
    }).pipe(Effect.provide(layer())))

  it.live("compensate-item: the failed items' steps are undone, and the run still says items failed", () =>
    Effect.gen(function*() {
      held.clear()
      const record = yield* Engine.run(batch("compensate-item"), { rows: rows("a!", "b") })
      expect(record.status).toBe("succeeded_with_failures")
      expect(record.failedItems).toMatchObject([{ path: "rows[0]", index: 0, items: 2, completedSteps: "undone" }])
      expect(record.remaining).toBeUndefined()
    }).pipe(Effect.provide(layer())))

  it.live("a batch with no failed item is plain succeeded", () =>
    Effect.gen(function*() {
      held.clear()
      const record = yield* Engine.run(batch("continue"), { rows: rows("a", "b") })
      expect(record.status).toBe("succeeded")
      expect(record.failedItems).toBeUndefined()
    }).pipe(Effect.provide(layer())))

  it.live("a compensation that found nothing to undo, or undid part, says so", () =>
    Effect.gen(function*() {
      held.clear()
      held.add("old")
      held.add("old#tag")
      held.add("half#tag")
      const record = yield* Engine.run(undoing, { names: ["new", "old", "half"] })
      expect(record.status).toBe("compensated")
      const byPath = Object.fromEntries((record.compensated ?? []).map((c) => [c.path, c]))
      expect(byPath.old).toMatchObject({ nothingToUndo: true, detail: "old existed before the run" })
      expect(byPath.half).toMatchObject({ detail: "deleted half; the other existed before the run" })
      expect(byPath.half!.nothingToUndo).toBeUndefined()
      expect(byPath.new!.detail).toBeUndefined()
      expect(byPath.new!.nothingToUndo).toBeUndefined()
      expect([...held].sort()).toEqual(["half#tag", "old", "old#tag"])
      const events = (yield* eventsOf(record.id)).map((e) => e.event)
      expect(events.filter((e) => e._tag === "CompensationSkipped")).toMatchObject([
        { path: "old", reason: "old existed before the run" }
      ])
      expect(events.filter((e) => e._tag === "CompensationSucceeded").map((e) => [e.path, e.detail])).toEqual([
        ["half", "deleted half; the other existed before the run"],
        ["new", undefined]
      ])
    }).pipe(Effect.provide(layer())))
})

describe("how a resumed run ends (SQLite engine)", () => {
  it.live("a batch interrupted after an item failed, resumed, still reports the failed item", () =>
    Effect.gen(function*() {
      held.clear()
      const db = tmpDb()
      const engineOn = () =>
        Engine.layerSqlite({ filename: db, workflows, pollInterval: "100 millis" }).pipe(Layer.provide(Redactor.layer))
      gate = yield* Deferred.make<void>()
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(engineOn(), scope)
      const runId = yield* Engine.start(batch("continue"), { rows: rows("a!", "wait") }).pipe(Effect.provide(context))
      // Wait until the first item's failure is journaled, then stop the engine mid-batch (however
      // long a loaded machine takes: the test's own limit ends a hang).
      const store = Layer.succeedContext(context)
      for (;;) {
        const events = yield* eventsOf(runId).pipe(Effect.provide(store))
        if (events.some((e) => e.event._tag === "ItemFailed")) break
        yield* Effect.sleep(50)
      }
      yield* Scope.close(scope, Exit.void)
      yield* Deferred.succeed(gate, void 0)
      const resumed = yield* Engine.resume(runId).pipe(Effect.provide(engineOn()))
      expect(resumed.executions).toBe(2)
      expect(resumed.status).toBe("succeeded_with_failures")
      expect(resumed.failedItems).toMatchObject([{ path: "rows[0]", items: 2, completedSteps: "kept" }])
      gate = undefined
    }))
})
