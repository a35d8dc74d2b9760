/**
 * The run history: every run with its input, definition, status and outcome, and the events of
 * each run (attempts with their errors and delays, durations, outputs, compensations). The CLI
 * (`relais runs list|show`) and a future dashboard read it; the engine writes it.
 *
 * Everything is redacted before it is stored, with the `Redactor` in context.
 *
 * Events are appended through a buffer and written in batches (one transaction per batch) so
 * that a step does not pay a commit per event; `flush` waits until everything appended so far
 * is written. Run records are written synchronously.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Clock, Context, Effect, Layer, Option, Queue, Schema, type Scope } from "effect"
import { RunNotFound, StoreError } from "./Errors.js"
import { isOwnerAlive } from "./internal/owner.js"
import * as Redactor from "./Redactor.js"
import { RunEvent, RunRecord, type RunStatus, type StoredEvent } from "./Run.js"

/**
 * A query over runs.
 *
 * @since 0.1.0
 */
export interface Query {
  readonly status?: ReadonlyArray<RunStatus> | undefined
  readonly workflow?: string | undefined
  /** Newest first; default 50. */
  readonly limit?: number | undefined
}

/**
 * @since 0.1.0
 */
export interface Service {
  readonly create: (record: RunRecord) => Effect.Effect<void, StoreError>
  /** A run, with `interrupted` shown for a run whose process is gone. */
  readonly get: (id: string) => Effect.Effect<RunRecord, RunNotFound | StoreError>
  readonly list: (query?: Query) => Effect.Effect<ReadonlyArray<RunRecord>, StoreError>
  /** Read, change and write a run record (the change is applied to the stored status). */
  readonly update: (
    id: string,
    f: (record: RunRecord) => RunRecord
  ) => Effect.Effect<RunRecord, RunNotFound | StoreError>
  /** Buffer an event; it is written with the next batch. */
  readonly append: (event: RunEvent) => Effect.Effect<void>
  /** Wait until every event appended so far is written. */
  readonly flush: Effect.Effect<void, StoreError>
  readonly events: (
    id: string,
    options?: { readonly after?: number | undefined }
  ) => Effect.Effect<ReadonlyArray<StoredEvent>, StoreError>
}

/**
 * @since 0.1.0
 * @category Tags
 */
export class RunStore extends Context.Tag("@relais/core/RunStore")<RunStore, Service>() {}

const encodeRecord = Schema.encodeSync(RunRecord)
const decodeRecord = Schema.decodeUnknown(RunRecord)
const encodeEvent = Schema.encodeSync(RunEvent)
const decodeEvent = Schema.decodeUnknown(RunEvent)

/**
 * What a reader sees: a run still marked running whose owner process is gone is interrupted.
 *
 * @since 0.1.0
 */
export const withLiveness = (record: RunRecord): RunRecord =>
  (record.status === "running" || record.status === "compensating") && record.owner !== undefined &&
    !isOwnerAlive(record.owner)
    ? new RunRecord({ ...record, status: "interrupted" })
    : record

const storeError = (operation: string) => (cause: SqlError | { readonly message: string }) =>
  new StoreError({ operation, detail: cause.message })

// -----------------------------------------------------------------------------
// In memory
// -----------------------------------------------------------------------------

/**
 * A store in memory, for tests and one-off runs.
 *
 * @since 0.1.0
 */
export const makeMemory: Effect.Effect<Service, never, Redactor.Redactor> = Effect.gen(function*() {
  const redactor = yield* Redactor.Redactor
  const runs = new Map<string, unknown>()
  const events: Array<{ readonly seq: number; readonly runId: string; readonly data: unknown }> = []
  const decode = (id: string, encoded: unknown) =>
    decodeRecord(encoded).pipe(Effect.mapError(storeError(`decode run ${id}`)), Effect.map(withLiveness))
  return {
    create: (record) =>
      Effect.sync(() => {
        runs.set(record.id, redactor.redact(encodeRecord(record)))
      }),
    get: (id) => {
      const encoded = runs.get(id)
      return encoded === undefined ? Effect.fail(new RunNotFound({ runId: id })) : decode(id, encoded)
    },
    list: (query) =>
      Effect.forEach([...runs.entries()], ([id, encoded]) => decode(id, encoded)).pipe(
        Effect.map((records) => filterRecords(records, query))
      ),
    update: (id, f) => {
      const encoded = runs.get(id)
      if (encoded === undefined) return Effect.fail(new RunNotFound({ runId: id }))
      return decodeRecord(encoded).pipe(
        Effect.mapError(storeError(`decode run ${id}`)),
        Effect.flatMap((record) =>
          Effect.sync(() => {
            const next = f(record)
            runs.set(id, redactor.redact(encodeRecord(next)))
            return next
          })
        )
      )
    },
    append: (event) =>
      Effect.sync(() => {
        events.push({ seq: events.length + 1, runId: event.runId, data: redactor.redact(encodeEvent(event)) })
      }),
    flush: Effect.void,
    events: (id, options) =>
      Effect.forEach(
        events.filter((e) => e.runId === id && e.seq > (options?.after ?? 0)),
        (e) =>
          decodeEvent(e.data).pipe(
            Effect.map((event): StoredEvent => ({ seq: e.seq, event })),
            Effect.mapError(storeError(`decode event ${e.seq}`))
          )
      )
  }
})

const filterRecords = (records: ReadonlyArray<RunRecord>, query: Query | undefined): ReadonlyArray<RunRecord> =>
  records
    .filter((r) => query?.status === undefined || query.status.includes(r.status))
    .filter((r) => query?.workflow === undefined || r.workflow === query.workflow)
    .sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id))
    .slice(0, query?.limit ?? 50)

/**
 * @since 0.1.0
 * @category Layers
 */
export const layerMemory: Layer.Layer<RunStore, never, Redactor.Redactor> = Layer.effect(RunStore, makeMemory)

// -----------------------------------------------------------------------------
// SQL (SQLite and PostgreSQL)
// -----------------------------------------------------------------------------

/**
 * Create the tables if they do not exist.
 *
 * @since 0.1.0
 */
export const migrate: Effect.Effect<void, StoreError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE IF NOT EXISTS relais_runs (
    id TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    status TEXT NOT NULL,
    record TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  )`
  yield* sql`CREATE INDEX IF NOT EXISTS relais_runs_status ON relais_runs (status, created_at)`
  yield* sql.onDialectOrElse({
    pg: () =>
      sql`CREATE TABLE IF NOT EXISTS relais_events (
        seq BIGSERIAL PRIMARY KEY,
        run_id TEXT NOT NULL,
        at BIGINT NOT NULL,
        type TEXT NOT NULL,
        data TEXT NOT NULL
      )`,
    orElse: () =>
      sql`CREATE TABLE IF NOT EXISTS relais_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL,
        at BIGINT NOT NULL,
        type TEXT NOT NULL,
        data TEXT NOT NULL
      )`
  })
  yield* sql`CREATE INDEX IF NOT EXISTS relais_events_run ON relais_events (run_id, seq)`
}).pipe(Effect.mapError(storeError("create tables")))

/** How long the event writer waits to gather a batch. */
const lingerMillis = 2
const liveClock = Clock.make()

interface RunRow {
  readonly id: string
  readonly record: string
}

interface EventRow {
  readonly seq: number | string | bigint
  readonly data: string
}

/**
 * A store on the `SqlClient` in context (SQLite or PostgreSQL). Creates its tables.
 *
 * @since 0.1.0
 */
export const makeSql: Effect.Effect<
  Service,
  StoreError,
  SqlClient.SqlClient | Redactor.Redactor | Scope.Scope
> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const redactor = yield* Redactor.Redactor
  yield* migrate

  const toJson = (value: unknown) => JSON.stringify(redactor.redact(value))
  const decodeRow = (row: RunRow) =>
    Effect.try({
      try: () => JSON.parse(row.record) as unknown,
      catch: (cause) => new StoreError({ operation: `read run ${row.id}`, detail: String(cause) })
    }).pipe(
      Effect.flatMap((json) => decodeRecord(json).pipe(Effect.mapError(storeError(`decode run ${row.id}`)))),
      Effect.map(withLiveness)
    )

  const getRaw = (id: string): Effect.Effect<RunRecord, RunNotFound | StoreError> =>
    Effect.gen(function*() {
      const rows = yield* sql<RunRow>`SELECT id, record FROM relais_runs WHERE id = ${id}`.pipe(
        Effect.mapError(storeError(`read run ${id}`))
      )
      const row = rows[0]
      if (row === undefined) return yield* new RunNotFound({ runId: id })
      const json = yield* Effect.try({
        try: () => JSON.parse(row.record) as unknown,
        catch: (cause) => new StoreError({ operation: `read run ${id}`, detail: String(cause) })
      })
      return yield* decodeRecord(json).pipe(Effect.mapError(storeError(`decode run ${id}`)))
    })

  const write = (record: RunRecord, insert: boolean) => {
    const json = toJson(encodeRecord(record))
    return (insert
      ? sql`INSERT INTO relais_runs (id, workflow, status, record, created_at, updated_at)
          VALUES (${record.id}, ${record.workflow}, ${record.status}, ${json}, ${record.createdAt}, ${record.updatedAt})`
      : sql`UPDATE relais_runs SET status = ${record.status}, record = ${json}, updated_at = ${record.updatedAt}
          WHERE id = ${record.id}`).pipe(Effect.mapError(storeError(`write run ${record.id}`)))
  }

  // Event writer: one transaction per batch of whatever has been appended meanwhile.
  type Item =
    | { readonly _tag: "event"; readonly event: RunEvent }
    | { readonly _tag: "flush"; readonly done: (error: StoreError | undefined) => void }
  const queue = yield* Queue.unbounded<Item>()
  const flushRequested = yield* Effect.makeLatch(false)
  let lastError: StoreError | undefined
  const writeBatch = (items: ReadonlyArray<Item>) => {
    const events = items.flatMap((item) => item._tag === "event" ? [item.event] : [])
    const insert = events.length === 0 ? Effect.void : sql.withTransaction(
      Effect.forEach(events, (event) =>
        sql`INSERT INTO relais_events (run_id, at, type, data)
            VALUES (${event.runId}, ${event.at}, ${event._tag}, ${toJson(encodeEvent(event))})`, { discard: true })
    ).pipe(Effect.mapError(storeError("append events")))
    return insert.pipe(
      Effect.match({
        onFailure: (error) => {
          lastError = error
        },
        onSuccess: () => undefined
      }),
      Effect.tap(() =>
        Effect.sync(() => {
          flushRequested.unsafeClose()
          for (const item of items) if (item._tag === "flush") item.done(lastError)
          lastError = undefined
        })
      )
    )
  }
  yield* Queue.take(queue).pipe(
    // Linger a moment so that a batch gathers the events of several steps: one commit for
    // them all. On the real clock even under a test clock, so that tests never stall here.
    // A flush cuts the wait short.
    Effect.zipLeft(Effect.raceFirst(Effect.withClock(Effect.sleep(lingerMillis), liveClock), flushRequested.await)),
    Effect.flatMap((first) => Effect.map(Queue.takeAll(queue), (rest) => [first, ...rest])),
    Effect.flatMap(writeBatch),
    Effect.forever,
    Effect.forkScoped
  )
  // Write what is left when the store closes.
  yield* Effect.addFinalizer(() =>
    Queue.takeAll(queue).pipe(Effect.flatMap((items) => writeBatch([...items])), Effect.ignore)
  )

  const service: Service = {
    create: (record) => write(record, true),
    get: (id) => Effect.map(getRaw(id), withLiveness),
    list: (query) =>
      Effect.gen(function*() {
        const limit = query?.limit ?? 50
        const statuses = query?.status
        const rows = yield* (statuses !== undefined && statuses.length > 0
          ? query?.workflow !== undefined
            ? sql<RunRow>`SELECT id, record FROM relais_runs WHERE workflow = ${query.workflow}
                AND ${sql.in("status", statuses.includes("interrupted") ? [...statuses, "running", "compensating"] : statuses)}
                ORDER BY created_at DESC, id DESC`
            : sql<RunRow>`SELECT id, record FROM relais_runs
                WHERE ${sql.in("status", statuses.includes("interrupted") ? [...statuses, "running", "compensating"] : statuses)}
                ORDER BY created_at DESC, id DESC`
          : query?.workflow !== undefined
          ? sql<RunRow>`SELECT id, record FROM relais_runs WHERE workflow = ${query.workflow}
              ORDER BY created_at DESC, id DESC LIMIT ${limit}`
          : sql<RunRow>`SELECT id, record FROM relais_runs ORDER BY created_at DESC, id DESC LIMIT ${limit}`).pipe(
            Effect.mapError(storeError("list runs"))
          )
        const records = yield* Effect.forEach(rows, decodeRow)
        return filterRecords(records, query)
      }),
    update: (id, f) =>
      sql.withTransaction(
        getRaw(id).pipe(
          Effect.map(f),
          Effect.tap((next) => write(next, false))
        )
      ).pipe(
        Effect.catchTag("SqlError", (e) => Effect.fail(storeError(`update run ${id}`)(e)))
      ) as Effect.Effect<RunRecord, RunNotFound | StoreError>,
    append: (event) => Effect.asVoid(Queue.offer(queue, { _tag: "event", event })),
    flush: Effect.async<void, StoreError>((resume) => {
      Queue.unsafeOffer(queue, {
        _tag: "flush",
        done: (error) => resume(error ? Effect.fail(error) : Effect.void)
      })
      flushRequested.unsafeOpen()
    }),
    events: (id, options) =>
      sql<EventRow>`SELECT seq, data FROM relais_events WHERE run_id = ${id} AND seq > ${options?.after ?? 0}
        ORDER BY seq`.pipe(
        Effect.mapError(storeError(`read events of ${id}`)),
        Effect.flatMap((rows) =>
          Effect.forEach(rows, (row) =>
            Effect.try({
              try: () => JSON.parse(row.data) as unknown,
              catch: (cause) => new StoreError({ operation: `read event ${row.seq}`, detail: String(cause) })
            }).pipe(
              Effect.flatMap((json) => decodeEvent(json).pipe(Effect.mapError(storeError(`decode event ${row.seq}`)))),
              Effect.map((event): StoredEvent => ({ seq: Number(row.seq), event }))
            ))
        )
      )
  }
  return service
})

/**
 * A store on the `SqlClient` in context.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerSql: Layer.Layer<RunStore, StoreError, SqlClient.SqlClient | Redactor.Redactor> = Layer.scoped(
  RunStore,
  makeSql
)

/**
 * Find a run without failing when it does not exist.
 *
 * @since 0.1.0
 */
export const find = (id: string): Effect.Effect<Option.Option<RunRecord>, StoreError, RunStore> =>
  Effect.flatMap(RunStore, (store) =>
    store.get(id).pipe(
      Effect.map(Option.some),
      Effect.catchTag("RunNotFound", () => Effect.succeedNone)
    ))
