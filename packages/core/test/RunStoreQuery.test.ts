/**
 * `RunStore.browse` as the runs page uses it: status (with `interrupted` as `get` shows it),
 * workflow, trigger, search and time filters answered with a LIMIT, keyset pages (`next` /
 * `after`), on the memory store and on SQLite; a store made before the derived columns is
 * migrated (or, opened read-only, scanned); the listing's queries use the indexes.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Schema } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Engine, Redactor, Run, RunStore } from "../src/index.js"

const tmpDb = () => Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-query-")), "relais.db")

const record = (id: string, fields: Partial<Run.RunRecord> = {}) =>
  new Run.RunRecord({
    id: Run.RunId.make(id),
    workflow: "wf",
    status: "succeeded",
    input: {},
    createdAt: 1000,
    updatedAt: 1000,
    executions: 1,
    ...fields
  })

const statuses = ["succeeded", "failed", "compensated"] as const
const triggers = [undefined, { kind: "api", by: "ops" }, { kind: "schedule", slot: "2026-11-29T10:00" }] as const

/** 60 runs, r00 (oldest) to r59: status, workflow and trigger cycle; r29 and r30 share a millisecond. */
const seed = (store: RunStore.Service) =>
  Effect.forEach(Array.from({ length: 60 }, (_, i) => i), (i) => {
    const trigger = triggers[i % 3]
    return store.create(record(`r${String(i).padStart(2, "0")}`, {
      status: statuses[i % 3]!,
      workflow: i % 2 === 0 ? "even" : "odd",
      createdAt: i === 29 ? 1000 + 30 : 1000 + i,
      input: {
        email: `Learner${i}@Example.org`,
        ...(trigger !== undefined ? { $trigger: trigger } : {}),
        ...(i === 7 ? { note: "100% sure_thing" } : {}),
        ...(i === 8 ? { note: "1000 sure thing" } : {})
      },
      ...(i % 10 === 5 ? { output: { convention: { codes: [`CONV-${i}`, { deep: i * 1000 }] } } } : {})
    }))
  }, { discard: true })

const ids = (listing: RunStore.Listing) => listing.runs.map((r) => r.id)

const sqliteLayer = (filename: string) => RunStore.layerSql.pipe(Layer.provide(Engine.layerSqliteClient({ filename })))

const stores: ReadonlyArray<readonly [string, () => Layer.Layer<RunStore.RunStore, unknown, Redactor.Redactor>]> = [
  ["memory", () => RunStore.layerMemory],
  ["sqlite", () => sqliteLayer(tmpDb())]
]

for (const [name, makeLayer] of stores) {
  describe(`RunStore.browse (${name})`, () => {
    const provide = <A, E>(effect: Effect.Effect<A, E, RunStore.RunStore | Redactor.Redactor>) =>
      effect.pipe(Effect.provide(makeLayer()), Effect.provide(Redactor.layer))

    it.scoped("a status filter gives a full page of the newest matching runs, and the position of the next", () =>
      provide(Effect.gen(function*() {
        const store = yield* RunStore.RunStore
        yield* seed(store)
        const first = yield* store.browse({ status: ["failed"], limit: 4 })
        expect(ids(first)).toEqual(["r58", "r55", "r52", "r49"])
        expect(first.next).toEqual({ createdAt: 1049, id: "r49" })
        const second = yield* store.browse({ status: ["failed"], limit: 4, after: first.next })
        expect(ids(second)).toEqual(["r46", "r43", "r40", "r37"])
        // Two statuses, paged to the end: every run once, newest first (r30 then r29, created in the same
        // millisecond, on either side of a page's end).
        const all: Array<string> = []
        let after: RunStore.Position | undefined
        do {
          const page: RunStore.Listing = yield* store.browse({ status: ["succeeded", "compensated"], limit: 5, after })
          all.push(...ids(page))
          after = page.next
        } while (after !== undefined)
        expect(all).toEqual(Array.from({ length: 60 }, (_, i) => 59 - i).filter((i) => i % 3 !== 1).map((i) => `r${String(i).padStart(2, "0")}`))
        expect((yield* store.browse({ status: ["failed"], limit: 20 })).next).toBeUndefined()
      })))

    it.scoped("filters by trigger (manual when the input has none), workflow and time, combined", () =>
      provide(Effect.gen(function*() {
        const store = yield* RunStore.RunStore
        yield* seed(store)
        expect(ids(yield* store.browse({ trigger: "api", limit: 3 }))).toEqual(["r58", "r55", "r52"])
        expect(ids(yield* store.browse({ trigger: "manual", limit: 3 }))).toEqual(["r57", "r54", "r51"])
        expect(ids(yield* store.browse({ trigger: "schedule", workflow: "even", status: ["compensated"], limit: 3 }))).toEqual(["r56", "r50", "r44"])
        expect(ids(yield* store.browse({ trigger: "api", since: 1010, until: 1020 }))).toEqual(["r19", "r16", "r13", "r10"])
        expect(ids(yield* store.browse({ trigger: "aimaira" }))).toEqual([])
      })))

    it.scoped("searches input and output values, nested, in any case; % and _ are literal", () =>
      provide(Effect.gen(function*() {
        const store = yield* RunStore.RunStore
        yield* seed(store)
        expect(ids(yield* store.browse({ search: "learner42@EXAMPLE" }))).toEqual(["r42"])
        expect(ids(yield* store.browse({ search: "conv-2" }))).toEqual(["r25"])
        expect(ids(yield* store.browse({ search: "45000" }))).toEqual(["r45"])
        expect(ids(yield* store.browse({ search: "100%" }))).toEqual(["r07"])
        expect(ids(yield* store.browse({ search: "e_t" }))).toEqual(["r07"])
        expect(ids(yield* store.browse({ search: "%" }))).toEqual(["r07"])
        // Keys and the trigger are not searched.
        expect(ids(yield* store.browse({ search: "email" }))).toEqual([])
        expect(ids(yield* store.browse({ search: "ops" }))).toEqual([])
        const page = yield* store.browse({ search: "learner1", status: ["succeeded", "failed"], limit: 3 })
        expect(ids(page)).toEqual(["r19", "r18", "r16"])
        expect(ids(yield* store.browse({ search: "learner1", status: ["succeeded", "failed"], limit: 3, after: page.next }))).toEqual(["r15", "r13", "r12"])
      })))
  })
}

describe("RunStore (SQLite)", () => {
  it.scoped("a value stored redacted is not searchable, and the search text is updated with the record", () =>
    Effect.gen(function*() {
      const store = yield* RunStore.RunStore
      yield* store.create(record("r1", { status: "running", input: { password: "hunter2-canary", who: "Ada" } }))
      expect(ids(yield* store.browse({ search: "hunter2" }))).toEqual([])
      expect(ids(yield* store.browse({ search: "redacted" }))).toEqual([])
      expect(ids(yield* store.browse({ search: "ada" }))).toEqual(["r1"])
      yield* store.update("r1", (r) => new Run.RunRecord({ ...r, status: "succeeded", output: { code: "ZX-81" } }))
      expect(ids(yield* store.browse({ search: "zx-8" }))).toEqual(["r1"])
    }).pipe(Effect.provide(sqliteLayer(tmpDb())), Effect.provide(Redactor.layer)))

  it.scoped("the listing's queries walk an index in order (no sort of every row)", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const plan = (where: string) =>
        sql.unsafe<{ readonly detail: string }>(`EXPLAIN QUERY PLAN SELECT id, record FROM relais_runs ${where} ORDER BY created_at DESC, id DESC LIMIT 51`)
          .pipe(Effect.map((rows) => rows.map((r) => r.detail).join("; ")))
      expect(yield* plan("")).toMatch(/relais_runs_created/)
      expect(yield* plan("WHERE status = 'failed'")).toMatch(/relais_runs_by_status/)
      expect(yield* plan("WHERE workflow = 'x'")).toMatch(/relais_runs_by_workflow/)
      expect(yield* plan("WHERE trigger_kind = 'api'")).toMatch(/relais_runs_by_trigger/)
      for (const where of ["", "WHERE status = 'failed'", "WHERE workflow = 'x'", "WHERE trigger_kind = 'api'"]) {
        expect(yield* plan(where)).not.toMatch(/TEMP B-TREE/)
      }
    }).pipe(Effect.provide(RunStore.layerSql.pipe(Layer.provideMerge(Engine.layerSqliteClient({ filename: tmpDb() })))), Effect.provide(Redactor.layer)))

  it.live("a status filter with a LIMIT shows interrupted as get does: by who holds the store's lock", () =>
    Effect.gen(function*() {
      const db = tmpDb()
      const reader = RunStore.layerSqlReadonly.pipe(
        Layer.provide(Engine.layerSqliteClient({ filename: db, readonly: true })),
        Layer.provide(Redactor.layer)
      )
      const browse = (query: RunStore.Query) => Effect.flatMap(RunStore.RunStore, (s) => s.browse(query)).pipe(Effect.map(ids))
      yield* Effect.scoped(Effect.gen(function*() {
        const engine = yield* Layer.build(Engine.layerSqlite({ filename: db }).pipe(Layer.provide(Redactor.layer)))
        const [holder] = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ readonly owner: string }>`SELECT owner FROM relais_engine_lock`)
          .pipe(Effect.provide(engine))
        const store = Context.get(engine, RunStore.RunStore)
        const gone = holder!.owner.replace(/:[0-9a-f]+$/, ":00000000")
        // r00..r19: running here (even), running in a process gone (odd); then 20 succeeded, newer.
        for (let i = 0; i < 20; i++) {
          yield* store.create(record(`r${String(i).padStart(2, "0")}`, { status: "running", createdAt: 1000 + i, owner: i % 2 === 0 ? holder!.owner : gone }))
        }
        yield* store.create(record("s0", { status: "interrupted", createdAt: 1005 }))
        for (let i = 20; i < 40; i++) yield* store.create(record(`r${i}`, { createdAt: 1000 + i }))
        // The engine's own store, and a reader (as `relais runs list` while the engine runs).
        for (const other of [store, Context.get(yield* Layer.build(reader), RunStore.RunStore)]) {
          const listed = (query: RunStore.Query) => Effect.map(other.browse(query), ids)
          expect(yield* listed({ status: ["interrupted"], limit: 4 })).toEqual(["r19", "r17", "r15", "r13"])
          expect(yield* listed({ status: ["running"], limit: 3 })).toEqual(["r18", "r16", "r14"])
          expect(yield* listed({ status: ["interrupted"], limit: 50, since: 1004, until: 1008 })).toEqual(["r07", "s0", "r05"])
          const page = yield* other.browse({ status: ["interrupted"], limit: 4 })
          expect(page.runs.every((r) => r.status === "interrupted")).toBe(true)
        }
      }))
      // Nobody holds the lock: every running run is interrupted, none is running.
      expect(yield* Effect.provide(browse({ status: ["running"], limit: 4 }), reader)).toEqual([])
      expect(yield* Effect.provide(browse({ status: ["interrupted"], limit: 4 }), reader)).toEqual(["r19", "r18", "r17", "r16"])
      expect(yield* Effect.provide(browse({ status: ["succeeded", "interrupted"], limit: 3 }), reader)).toEqual(["r39", "r38", "r37"])
    }))

  it.live("a store made before the derived columns: searched by scanning when read-only, migrated (and backfilled) when opened to write", () =>
    Effect.gen(function*() {
      const db = tmpDb()
      // The table as the previous version made it, with its rows.
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE relais_runs (id TEXT PRIMARY KEY, workflow TEXT NOT NULL, status TEXT NOT NULL, record TEXT NOT NULL,
          created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)`
        yield* sql`CREATE INDEX relais_runs_status ON relais_runs (status, created_at)`
        for (let i = 0; i < 1200; i++) {
          const r = Schema_encode(record(`r${String(i).padStart(4, "0")}`, {
            createdAt: 1000 + i,
            input: { code: `C${i}`, ...(i % 4 === 0 ? { $trigger: { kind: "aimaira", subject: "s" } } : {}) }
          }))
          yield* sql`INSERT INTO relais_runs (id, workflow, status, record, created_at, updated_at)
            VALUES (${r.id}, ${r.workflow}, ${r.status}, ${JSON.stringify(r)}, ${r.createdAt}, ${r.updatedAt})`
        }
        yield* sql`INSERT INTO relais_runs (id, workflow, status, record, created_at, updated_at) VALUES ('zz', 'wf', 'failed', '{not json', 5000, 5000)`
      }).pipe(Effect.provide(Engine.layerSqliteClient({ filename: db })), Effect.scoped)
      const query = Effect.flatMap(RunStore.RunStore, (s) =>
        Effect.all([
          s.browse({ trigger: "aimaira", limit: 2 }),
          s.browse({ search: "c111", limit: 5 }),
          s.browse({ trigger: "manual", search: "c11", limit: 3 })
        ]))
      const expected = [["r1196", "r1192"], ["r1119", "r1118", "r1117", "r1116", "r1115"], ["r1199", "r1198", "r1197"]]
      const readOnly = yield* query.pipe(
        Effect.provide(RunStore.layerSqlReadonly.pipe(Layer.provide(Engine.layerSqliteClient({ filename: db, readonly: true })))),
        Effect.provide(Redactor.layer),
        Effect.scoped
      )
      expect(readOnly.map(ids)).toEqual(expected)
      expect(readOnly[0]!.next).toEqual({ createdAt: 2192, id: "r1192" })
      // Opened to write (twice, as two processes starting would): columns added once, rows filled.
      const writable = RunStore.layerSql.pipe(Layer.provideMerge(Engine.layerSqliteClient({ filename: db })), Layer.provide(Redactor.layer))
      yield* Effect.scoped(Layer.build(writable))
      const [migrated, columns, unfilled] = yield* Effect.all([
        query,
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ readonly name: string }>`SELECT name FROM pragma_table_info('relais_runs')`),
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ readonly n: number }>`SELECT count(*) AS n FROM relais_runs WHERE trigger_kind IS NULL`)
      ]).pipe(Effect.provide(writable), Effect.scoped)
      expect(migrated.map(ids)).toEqual(expected)
      expect(columns.map((c) => c.name)).toEqual(expect.arrayContaining(["trigger_kind", "search_text"]))
      expect(unfilled[0]!.n).toBe(0)
      const listing = yield* Effect.flatMap(RunStore.RunStore, (s) => s.browse({ limit: 2 })).pipe(Effect.provide(writable), Effect.scoped)
      expect(listing.unreadable.map((u) => u.id)).toEqual(["zz"])
    }))
})

const Schema_encode = Schema.encodeSync(Run.RunRecord)
