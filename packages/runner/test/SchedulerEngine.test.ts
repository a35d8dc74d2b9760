/**
 * What the scheduler relies on: the engine starts a given run id once, even when every worker
 * asks for the same slot at the same moment. Two `Engine.layerPostgres` workers on one real
 * PostgreSQL start the same ids concurrently; a SQLite engine is asked twice at once.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Engine, Redactor, RetryPolicy, RunStore, Step, Workflow } from "@relais/core"
import { Postgres } from "@relais/testing"
import { Effect, Exit, Layer, Redacted, Schema, Scope } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const executions = new Map<string, number>()

const count = Step.make({
  name: "test/count",
  description: "counts its executions per run",
  input: Schema.Struct({ run: Schema.String }),
  output: Schema.Struct({ n: Schema.Number }),
  retry: RetryPolicy.none,
  run: ({ run }) =>
    Effect.sync(() => {
      const n = (executions.get(run) ?? 0) + 1
      executions.set(run, n)
      return { n }
    })
})

const nightly = Workflow.make({
  name: "sched-dedupe",
  input: Schema.Struct({ run: Schema.String }),
  output: Schema.Struct({ n: Schema.Number }),
  run: (input) => Workflow.step(count, input, { id: "count" })
})

const slotIds = ["sched.sched-dedupe.0.20271031T0000Z", "sched.sched-dedupe.0.20271031T0030Z", "sched.sched-dedupe.0.20271031T0100Z"]

interface Built<A> {
  readonly context: import("effect").Context.Context<A>
  readonly close: Effect.Effect<void>
}

const build = <A, E>(layer: Layer.Layer<A, E>): Effect.Effect<Built<A>, E> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context: import("effect").Context.Context<A> = yield* Layer.buildWithScope(layer, scope)
    return { context, close: Scope.close(scope, Exit.void) }
  })

/** Ask `engine` to start `runId` (as a scheduler does): the id it answers, or the failure. */
const startAt = (context: import("effect").Context.Context<Engine.Engine>, runId: string) =>
  Effect.flatMap(Engine.Engine, (engine) => engine.startUnknown(nightly, { run: runId }, { runId })).pipe(
    Effect.provide(context),
    Effect.either
  )

describe("the same run id started concurrently", () => {
  let server: Postgres.Server
  beforeAll(async () => {
    server = await Postgres.start()
  }, 240_000)
  afterAll(() => server?.stop())

  it.live("by two Engine.layerPostgres workers: one run per id, executed once", () =>
    Effect.gen(function*() {
      const url = yield* Effect.promise(() => server.database())
      const workers: Array<Built<Engine.Engine | RunStore.RunStore>> = []
      for (let i = 0; i < 2; i++) {
        const port = yield* Effect.promise(() => Postgres.freePort())
        workers.push(
          yield* build(
            Engine.layerPostgres({ url: Redacted.make(url), workflows: [nightly], worker: { host: "127.0.0.1", port } }).pipe(
              Layer.provide(Redactor.layer)
            )
          )
        )
      }
      const answers = yield* Effect.forEach(
        slotIds,
        (runId) => Effect.all(workers.map((w) => startAt(w.context, runId)), { concurrency: "unbounded" }),
        { concurrency: "unbounded" }
      )
      // Both workers' starts answer the id: the one whose insert lost the race finds the run.
      expect(answers.flat().map((a) => (a._tag === "Right" ? a.right : `failed: ${a.left.message}`))).toEqual(
        slotIds.flatMap((id) => [id, id])
      )
      const records = yield* Effect.forEach(slotIds, (id) =>
        Effect.flatMap(Engine.Engine, (engine) => engine.await(id)).pipe(Effect.provide(workers[0]!.context)))
      expect(records.map((r) => r.status)).toEqual(slotIds.map(() => "succeeded"))
      const listed = yield* Effect.flatMap(RunStore.RunStore, (store) => store.list()).pipe(Effect.provide(workers[0]!.context))
      expect(listed.filter((r) => slotIds.includes(r.id)).map((r) => r.id).sort()).toEqual([...slotIds].sort())
      expect(slotIds.map((id) => executions.get(id))).toEqual([1, 1, 1])
      for (const w of workers) yield* w.close
    }), 300_000)

  it.live("by one Engine.layerSqlite asked twice at once: one run per id, executed once", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-dedupe-"))
      const ids = slotIds.map((id) => `${id}.sqlite`)
      const engine = yield* build(
        Engine.layerSqlite({ filename: Path.join(dir, "relais.db"), workflows: [nightly] }).pipe(Layer.provide(Redactor.layer))
      )
      const answers = yield* Effect.forEach(
        ids,
        (runId) => Effect.all([startAt(engine.context, runId), startAt(engine.context, runId)], { concurrency: "unbounded" }),
        { concurrency: "unbounded" }
      )
      expect(answers.flat().map((a) => (a._tag === "Right" ? a.right : `failed: ${a.left.message}`))).toEqual(
        ids.flatMap((id) => [id, id])
      )
      const records = yield* Effect.forEach(ids, (id) =>
        Effect.flatMap(Engine.Engine, (e) => e.await(id)).pipe(Effect.provide(engine.context)))
      expect(records.map((r) => r.status)).toEqual(ids.map(() => "succeeded"))
      const listed = yield* Effect.flatMap(RunStore.RunStore, (store) => store.list()).pipe(Effect.provide(engine.context))
      expect(listed.map((r) => r.id).sort()).toEqual([...ids].sort())
      expect(ids.map((id) => executions.get(id))).toEqual([1, 1, 1])
      yield* engine.close
      Fs.rmSync(dir, { recursive: true, force: true })
    }), 120_000)
})
