import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Engine, Errors, Redactor, Run, RunStore } from "../src/index.js"

const tmpDb = () => Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-store-")), "relais.db")

const record = (id: string, fields: Partial<Run.RunRecord> = {}) =>
  new Run.RunRecord({
    id: Run.RunId.make(id),
    workflow: "wf",
    status: "running",
    input: { apprenantId: 1 },
    createdAt: 1000,
    updatedAt: 1000,
    executions: 1,
    ...fields
  })

const stores: ReadonlyArray<readonly [string, () => Layer.Layer<RunStore.RunStore, unknown, Redactor.Redactor>]> = [
  ["memory", () => RunStore.layerMemory],
  [
    "sqlite",
    () => RunStore.layerSql.pipe(Layer.provide(Engine.layerSqliteClient({ filename: tmpDb() })))
  ]
]

for (const [name, makeLayer] of stores) {
  describe(`RunStore (${name})`, () => {
    const provide = <A, E>(effect: Effect.Effect<A, E, RunStore.RunStore | Redactor.Redactor>) =>
      effect.pipe(Effect.provide(makeLayer()), Effect.provide(Redactor.layer))

    it.scoped("creates, reads, updates and lists runs (newest first, by status and workflow)", () =>
      provide(Effect.gen(function*() {
        const store = yield* RunStore.RunStore
        yield* store.create(record("r1", { createdAt: 1 }))
        yield* store.create(record("r2", { createdAt: 2, workflow: "other" }))
        yield* store.create(record("r3", { createdAt: 3, status: "succeeded" }))
        expect((yield* store.get("r1")).input).toEqual({ apprenantId: 1 })
        const updated = yield* store.update("r1", (r) => new Run.RunRecord({ ...r, status: "failed", updatedAt: 9 }))
        expect(updated.status).toBe("failed")
        expect((yield* store.get("r1")).status).toBe("failed")
        expect((yield* store.list()).map((r) => r.id)).toEqual(["r3", "r2", "r1"])
        expect((yield* store.list({ status: ["failed", "succeeded"] })).map((r) => r.id)).toEqual(["r3", "r1"])
        expect((yield* store.list({ workflow: "other" })).map((r) => r.id)).toEqual(["r2"])
        expect((yield* store.list({ limit: 1 })).map((r) => r.id)).toEqual(["r3"])
      })))

    it.scoped("an unknown run is RunNotFound", () =>
      provide(Effect.gen(function*() {
        const store = yield* RunStore.RunStore
        const error = yield* Effect.flip(store.get("nope"))
        expect(error).toBeInstanceOf(Errors.RunNotFound)
        const updateError = yield* Effect.flip(store.update("nope", (r) => r))
        expect(updateError._tag).toBe("RunNotFound")
      })))

    it.scoped("keeps events in order and pages them", () =>
      provide(Effect.gen(function*() {
        const store = yield* RunStore.RunStore
        yield* store.create(record("r1"))
        const runId = Run.RunId.make("r1")
        for (let i = 0; i < 5; i++) {
          yield* store.append({ _tag: "StepStarted", runId, at: i, path: `s${i}`, step: "x/y" })
        }
        yield* store.flush
        const events = yield* store.events("r1")
        expect(events.map((e) => (e.event as { path: string }).path)).toEqual(["s0", "s1", "s2", "s3", "s4"])
        const later = yield* store.events("r1", { after: events[2]!.seq })
        expect(later.map((e) => (e.event as { path: string }).path)).toEqual(["s3", "s4"])
      })))

    it.scoped("redacts secrets before storing them", () =>
      provide(Effect.gen(function*() {
        yield* Redactor.register("CANARY-pw-8c1f")
        const store = yield* RunStore.RunStore
        yield* store.create(record("r1", { input: { note: "pw is CANARY-pw-8c1f", password: "anything" } }))
        yield* store.append({
          _tag: "AttemptFailed",
          runId: Run.RunId.make("r1"),
          at: 1,
          path: "p",
          step: "x/y",
          attempt: 1,
          durationMillis: 3,
          retryable: false,
          error: new Errors.ErrorInfo({ _tag: "Unauthorized", message: "bad credentials CANARY-pw-8c1f" })
        })
        yield* store.flush
        const stored = yield* store.get("r1")
        const events = yield* store.events("r1")
        const text = JSON.stringify([stored, events])
        expect(text).not.toContain("CANARY-pw-8c1f")
        expect(stored.input).toEqual({ note: "pw is [redacted]", password: "[redacted]" })
      })))

  })
}

describe("RunStore liveness", () => {
  it.scoped("in memory, runs belong to this process: their status is kept", () =>
    Effect.gen(function*() {
      const store = yield* RunStore.RunStore
      yield* store.create(record("r", { owner: "elsewhere:1:00000000" }))
      expect((yield* store.get("r")).status).toBe("running")
    }).pipe(Effect.provide(RunStore.layerMemory), Effect.provide(Redactor.layer)))

  it.live("on SQLite, a run marked running is running only while its owner holds the store's lock", () =>
    Effect.gen(function*() {
      const db = tmpDb()
      const reader = RunStore.layerSqlReadonly.pipe(
        Layer.provide(Engine.layerSqliteClient({ filename: db, readonly: true })),
        Layer.provide(Redactor.layer)
      )
      const statuses = Effect.flatMap(RunStore.RunStore, (store) =>
        Effect.all([store.get("mine"), store.get("gone")]).pipe(Effect.map((rs) => rs.map((r) => r.status))))
      yield* Effect.scoped(Effect.gen(function*() {
        const engine = yield* Layer.build(Engine.layerSqlite({ filename: db }).pipe(Layer.provide(Redactor.layer)))
        const { SqlClient } = yield* Effect.promise(() => import("@effect/sql"))
        const [holder] = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql<{ readonly owner: string }>`SELECT owner FROM relais_engine_lock`).pipe(Effect.provide(engine))
        const store = Context.get(engine, RunStore.RunStore)
        yield* store.create(record("mine", { owner: holder!.owner }))
        // Same host name, same pid: only the lock says it is gone.
        yield* store.create(record("gone", { owner: holder!.owner.replace(/:[0-9a-f]+$/, ":00000000") }))
        expect(yield* Effect.provide(statuses, engine)).toEqual(["running", "interrupted"])
        // A reader in the same process sees the same.
        expect(yield* Effect.provide(statuses, reader)).toEqual(["running", "interrupted"])
        const listed = yield* Effect.flatMap(RunStore.RunStore, (s) => s.list({ status: ["interrupted"] })).pipe(
          Effect.provide(reader)
        )
        expect(listed.map((r) => r.id)).toEqual(["gone"])
      }))
      // The engine stopped without finishing "mine": its owner no longer holds the lock.
      expect(yield* Effect.provide(statuses, reader)).toEqual(["interrupted", "interrupted"])
    }))
})
