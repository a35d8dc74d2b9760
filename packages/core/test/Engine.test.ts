/**
 * The durable engine on SQLite, in one process: what survives an engine, the single-owner
 * lock, resuming an interrupted run, definitions and resolvers, secrets on disk.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Layer, Option, Schema, Scope } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Engine, Errors, Redactor, RetryPolicy, Run, RunStore, Step, Workflow } from "../src/index.js"

const tmpDb = () => Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-engine-")), "relais.db")

const calls: Array<string> = []
let gate: Deferred.Deferred<void> | undefined

const record = Step.make({
  name: "test/record",
  description: "records a call",
  input: Schema.Struct({ name: Schema.String }),
  output: Schema.Struct({ name: Schema.String }),
  retry: RetryPolicy.none,
  run: ({ name }) =>
    Effect.gen(function*() {
      calls.push(name)
      if (name === "wait" && gate) yield* Deferred.await(gate)
      return { name }
    })
})

const twoSteps = Workflow.make({
  name: "two-steps",
  input: Schema.Struct({ second: Schema.String }),
  output: Schema.Struct({ names: Schema.Array(Schema.String) }),
  run: ({ second }) =>
    Effect.gen(function*() {
      const a = yield* Workflow.step(record, { name: "first" }, { id: "first" })
      const b = yield* Workflow.step(record, { name: second }, { id: "second" })
      return { names: [a.name, b.name] }
    })
})

const engineOn = (filename: string, options: Partial<Engine.SqliteOptions<never>> = {}) =>
  Engine.layerSqlite({ filename, workflows: [twoSteps], pollInterval: "100 millis", ...options }).pipe(
    Layer.provide(Redactor.layer)
  )

/**
 * Start `twoSteps` on an engine over `db`, and stop that engine while the second step waits on
 * `gate`: the run is left interrupted. Open the gate to let a later engine finish it.
 */
const interruptedAtWait = (
  db: string,
  options: Partial<Engine.SqliteOptions<never>> = {},
  start: Engine.StartOptions = {}
) =>
  Effect.gen(function*() {
    calls.length = 0
    gate = yield* Deferred.make<void>()
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(engineOn(db, options), scope)
    const runId = yield* Engine.start(twoSteps, { second: "wait" }, start).pipe(Effect.provide(context))
    while (!calls.includes("wait")) yield* Effect.sleep(5)
    yield* Scope.close(scope, Exit.void)
    return runId
  })

describe("Engine (SQLite)", () => {
  it.live("keeps runs and their events after the engine stops", () =>
    Effect.gen(function*() {
      const db = tmpDb()
      const first = yield* Engine.run(twoSteps, { second: "b" }).pipe(Effect.provide(engineOn(db)))
      expect(first.status).toBe("succeeded")
      expect(first.output).toEqual({ names: ["first", "b"] })
      const { events, stored } = yield* Effect.gen(function*() {
        const store = yield* RunStore.RunStore
        return { stored: yield* store.get(first.id), events: yield* store.events(first.id) }
      }).pipe(Effect.provide(engineOn(db)))
      expect(stored.status).toBe("succeeded")
      expect(stored.finishedAt).toBeGreaterThanOrEqual(stored.createdAt)
      expect(events.map((e) => e.event._tag)).toEqual([
        "RunStarted",
        "StepStarted",
        "StepSucceeded",
        "StepStarted",
        "StepSucceeded",
        "RunFinished"
      ])
    }))

  it.live("refuses a second engine on the same store at once, naming the holder", () =>
    Effect.gen(function*() {
      const db = tmpDb()
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(engineOn(db), scope)
      const second = yield* Effect.flip(Layer.build(engineOn(db)).pipe(Effect.scoped))
      expect(second).toBeInstanceOf(Errors.StoreError)
      expect(second).toMatchObject({ reason: "locked", path: db })
      expect(second.message).toContain(`store ${db} is in use by another relais process (process ${process.pid} on ${Os.hostname()})`)
      yield* Scope.close(scope, Exit.void)
      // Released with the scope: the next engine takes the store at once.
      const result = yield* Engine.run(twoSteps, { second: "x" }).pipe(Effect.provide(engineOn(db)))
      expect(result.status).toBe("succeeded")
    }))

  it.live("an engine that stops mid-run leaves it interrupted; a new engine resumes it without replaying done steps", () =>
    Effect.gen(function*() {
      const db = tmpDb()
      const runId = yield* interruptedAtWait(db)
      const stopped = yield* Effect.flatMap(RunStore.RunStore, (s) => s.get(runId)).pipe(
        Effect.provide(RunStore.layerSql.pipe(Layer.provide(Engine.layerSqliteClient({ filename: db })))),
        Effect.provide(Redactor.layer)
      )
      expect(stopped.status).toBe("interrupted")
      yield* Deferred.succeed(gate!, void 0)
      const resumed = yield* Engine.resume(runId).pipe(Effect.provide(engineOn(db)))
      expect(resumed.status).toBe("succeeded")
      expect(resumed.executions).toBe(2)
      expect(calls).toEqual(["first", "wait", "wait"])
    }))

  it.live("a new engine resumes interrupted runs of the workflows it knows, without being asked", () =>
    Effect.gen(function*() {
      const db = tmpDb()
      const runId = yield* interruptedAtWait(db)
      yield* Deferred.succeed(gate!, void 0)
      // Only build the engine: no resume call. It finds the run in storage and finishes it. Wait
      // for that event however long a loaded machine takes (the test's own limit ends a hang).
      const final = yield* Effect.gen(function*() {
        const store = yield* RunStore.RunStore
        for (;;) {
          const record = yield* store.get(runId)
          if (Run.isFinal(record.status)) return record
          yield* Effect.sleep(25)
        }
      }).pipe(Effect.provide(engineOn(db)))
      expect(final.status).toBe("succeeded")
      expect(final.executions).toBe(2)
      expect(calls).toEqual(["first", "wait", "wait"])
    }))

  it.live("resumes a run from its stored definition through the resolver, and refuses an unknown one", () =>
    Effect.gen(function*() {
      const db = tmpDb()
      const definition = new Run.Definition({ hash: "abc", text: "steps: [...]", source: "flow.yaml" })
      const runId = yield* interruptedAtWait(db, { workflows: [] }, { definition })
      yield* Deferred.succeed(gate!, void 0)

      const unknown = yield* Effect.flip(Engine.resume(runId).pipe(Effect.provide(engineOn(db, { workflows: [] }))))
      expect(unknown._tag).toBe("WorkflowNotFound")
      expect(unknown.message).toContain("flow.yaml")

      const seen: Array<Run.Definition | undefined> = []
      const resolving = engineOn(db, {
        workflows: [],
        resolve: (stored) => Effect.sync(() => (seen.push(stored.definition), Option.some(twoSteps)))
      })
      const resumed = yield* Engine.resume(runId).pipe(Effect.provide(resolving))
      expect(resumed.status).toBe("succeeded")
      expect(seen[0]?.hash).toBe("abc")
      expect(resumed.definition?.source).toBe("flow.yaml")
    }))

  it.live("never writes a registered secret to the database files", () =>
    Effect.gen(function*() {
      const db = tmpDb()
      const canary = "CANARY-7f3a-not-for-disk"
      class Denied extends Schema.TaggedError<Denied>()("Denied", { status: Schema.Number, message: Schema.String }) {}
      const leaky = Step.make({
        name: "test/leaky",
        description: "fails with a secret in its message",
        input: Schema.Struct({ token: Schema.String }),
        output: Schema.Void,
        retry: RetryPolicy.none,
        run: ({ token }) => Effect.fail(new Denied({ status: 401, message: `token ${token} refused` }))
      })
      const flow = Workflow.make({
        name: "leaky",
        input: Schema.Struct({ token: Schema.String }),
        output: Schema.Void,
        run: ({ token }) => Workflow.step(leaky, { token })
      })
      const result = yield* Effect.gen(function*() {
        yield* Redactor.register(canary)
        return yield* Engine.run(flow, { token: canary })
      }).pipe(
        Effect.provide(Engine.layerSqlite({ filename: db }).pipe(Layer.provideMerge(Redactor.layer)))
      )
      expect(result.status).toBe("failed")
      expect(result.failure?.error.message).toBe("token [redacted] refused")
      const bytes = [db, `${db}-wal`].filter(Fs.existsSync).map((f) => Fs.readFileSync(f).toString("latin1")).join("")
      expect(bytes).toContain("[redacted]")
      expect(bytes).not.toContain(canary)
    }))
})
