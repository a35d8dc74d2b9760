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
import type { Fragment } from "@effect/sql/Statement"
import type { SqlError } from "@effect/sql/SqlError"
import { Cause, Chunk, Clock, Context, Duration, Effect, Either, Layer, Option, Queue, Schedule, Schema, type Scope, Stream } from "effect"
import { RunNotFound, StoreError } from "./Errors.js"
import { type LockState, state as lockState } from "./internal/processLock.js"
import { healthy, isFatal, StoreFile, StoreHealth } from "./internal/store.js"
import * as Redactor from "./Redactor.js"
import { isFinal, RunEvent, RunRecord, type RunStatus, type StoredEvent } from "./Run.js"

/**
 * A query over runs.
 *
 * @since 0.1.0
 */
export interface Query {
  /** Runs with one of these statuses, as `get` shows them (`interrupted` included). */
  readonly status?: ReadonlyArray<RunStatus> | undefined
  readonly workflow?: string | undefined
  /** What started the run (`triggerOf`): `manual`, `api`, `schedule` or a plugin's name. */
  readonly trigger?: string | undefined
  /**
   * A case-insensitive substring of a scalar value of the run's input or output, as stored
   * (redacted values are not searchable): see `searchTextOf`. `%`, `_` and `\` are literal.
   */
  readonly search?: string | undefined
  /** Runs created at or after this time (epoch milliseconds). */
  readonly since?: number | undefined
  /** Runs created before this time (epoch milliseconds). */
  readonly until?: number | undefined
  /** Keyset paging: the runs after this one in the order (the `next` of the previous page). */
  readonly after?: Position | undefined
  /** Newest first; default 50. */
  readonly limit?: number | undefined
}

/**
 * A run's place in a listing (newest first, then by id): where the next page begins.
 *
 * @since 0.1.0
 */
export interface Position {
  readonly createdAt: number
  readonly id: string
}

/**
 * A run whose stored record cannot be read (a damaged row).
 *
 * @since 0.1.0
 */
export interface UnreadableRun {
  readonly id: string
  readonly problem: string
}

/**
 * What `browse` finds: the runs it could read, and the rows it could not.
 *
 * @since 0.1.0
 */
export interface Listing {
  readonly runs: ReadonlyArray<RunRecord>
  readonly unreadable: ReadonlyArray<UnreadableRun>
  /**
   * When more runs match than the page holds: the position of the page's last row (read or
   * not), to pass as `after` for the next page.
   */
  readonly next?: Position | undefined
}

/**
 * @since 0.1.0
 */
export interface Service {
  readonly create: (record: RunRecord) => Effect.Effect<void, StoreError>
  /** A run, with `interrupted` shown for a run whose process is gone. */
  readonly get: (id: string) => Effect.Effect<RunRecord, RunNotFound | StoreError>
  /** The runs a query selects; rows that cannot be read are left out (`browse` lists them). */
  readonly list: (query?: Query) => Effect.Effect<ReadonlyArray<RunRecord>, StoreError>
  /** The runs a query selects, and the selected rows that cannot be read: one damaged row does not hide the others. */
  readonly browse: (query?: Query) => Effect.Effect<Listing, StoreError>
  /** A run as it is stored (without the `interrupted` view of `get`): what `update` changes. */
  readonly read: (id: string) => Effect.Effect<RunRecord, RunNotFound | StoreError>
  /**
   * Read, change and write a run record (the change is applied to the stored status). With
   * `from`, the record as this process read (`read`) or wrote it last, the change is applied to
   * it and written without reading the store first: for the one process that executes the run.
   */
  readonly update: (
    id: string,
    f: (record: RunRecord) => RunRecord,
    from?: RunRecord | undefined
  ) => Effect.Effect<RunRecord, RunNotFound | StoreError>
  /** Buffer an event; it is written with the next batch. */
  readonly append: (event: RunEvent) => Effect.Effect<void>
  /** Wait until every event appended so far is written. */
  readonly flush: Effect.Effect<void, StoreError>
  /** The events of a run, in order; rows that cannot be read are left out (`timeline` lists them). */
  readonly events: (
    id: string,
    options?: { readonly after?: number | undefined }
  ) => Effect.Effect<ReadonlyArray<StoredEvent>, StoreError>
  /** The events of a run that could be read, and the event rows that could not. */
  readonly timeline: (
    id: string,
    options?: { readonly after?: number | undefined }
  ) => Effect.Effect<Timeline, StoreError>
  /**
   * The state a step invocation saved (`Step.StepState`): the run and the invocation's path
   * name it. None when nothing was saved.
   */
  readonly loadState: (runId: string, path: string) => Effect.Effect<Option.Option<unknown>, StoreError>
  /**
   * Save (replace) an invocation's state, a JSON value, redacted like everything stored; it is
   * written (committed) when this returns. Sizes are checked by the engine, not here.
   */
  readonly saveState: (runId: string, path: string, value: unknown) => Effect.Effect<void, StoreError>
  /** Forget the state of one invocation, or without `path` of every invocation of a run. */
  readonly clearState: (runId: string, path?: string | undefined) => Effect.Effect<void, StoreError>
  /**
   * Ask that a run be cancelled (`Engine.cancel`): written before this returns, read by
   * whichever process executes the run (`cancellations`), forgotten when the run ends.
   */
  readonly requestCancel: (runId: string, compensate: boolean) => Effect.Effect<void, StoreError>
  /** The cancellations asked for, by run id: whether to undo what the run completed. */
  readonly cancellations: Effect.Effect<ReadonlyMap<string, { readonly compensate: boolean }>, StoreError>
  /** Forget a run's cancellation (it has ended). */
  readonly forgetCancel: (runId: string) => Effect.Effect<void, StoreError>
}

/**
 * What `timeline` finds: the events it could read, and the rows it could not.
 *
 * @since 0.1.0
 */
export interface Timeline {
  readonly events: ReadonlyArray<StoredEvent>
  readonly unreadable: ReadonlyArray<{ readonly seq: number; readonly problem: string }>
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

/** The view of a record read and checked already: not checked again. */
const trusted = true

/**
 * What a reader sees: a run marked running is running only while its owner holds the store's
 * lock; otherwise its process is gone and the run is interrupted.
 */
const withLiveness = (record: RunRecord, lock: LockState): RunRecord => {
  if (record.status !== "running" && record.status !== "compensating") return record
  const alive = lock._tag === "Unknown" ||
    lock._tag === "Held" && (lock.owner === undefined || lock.owner === record.owner)
  return alive ? record : new RunRecord({ ...record, status: "interrupted" }, trusted)
}

const storeError = (operation: string, path?: string | undefined) => (cause: unknown) =>
  StoreError.fromCause(operation, cause, path)

// -----------------------------------------------------------------------------
// What a listing filters and searches on
// -----------------------------------------------------------------------------

/**
 * The input that holds what started a run (`{ kind: "manual" | "api" | "schedule" | <plugin>,
 * ... }`), as the runner writes it (its `Check.triggerInput`).
 *
 * @since 0.1.0
 */
export const triggerInput = "$trigger"

/**
 * What started a run, from its (encoded) input: `input.$trigger.kind`, `manual` when absent.
 *
 * @since 0.1.0
 */
export const triggerOf = (input: unknown): string => {
  const trigger = isObject(input) ? input[triggerInput] : undefined
  const kind = isObject(trigger) ? trigger.kind : undefined
  return typeof kind === "string" && kind !== "" ? kind : "manual"
}

/** Search text kept per run at most (about 32 KB): values past it are not searchable. */
const searchTextLimit = 32_768

/** How a search and the text it looks into are put in one form: lower case, composed accents. */
const searchForm = (text: string) => text.normalize("NFC").toLowerCase()

/**
 * The text a search looks into: every scalar value (string, number) of a run's input and
 * output as stored (encoded, redacted), nested ones included, keys and `$trigger` left out,
 * in lower case, one per line, each once. A redacted value (`Redactor.mask`) is left out: what
 * was a secret is not searchable. Cut at about 32 KB.
 *
 * @since 0.1.0
 */
export const searchTextOf = (input: unknown, output: unknown): string => {
  const values = new Set<string>()
  let size = 0
  const visit = (value: unknown, top: boolean): void => {
    if (size > searchTextLimit) return
    if (typeof value === "string" || (typeof value === "number" && Number.isFinite(value))) {
      if (value === Redactor.mask) return
      const text = searchForm(String(value))
      if (text !== "" && !values.has(text)) {
        values.add(text)
        size += text.length + 1
      }
    } else if (Array.isArray(value)) {
      for (const item of value) visit(item, false)
    } else if (isObject(value)) {
      for (const [key, item] of Object.entries(value)) if (!(top && key === triggerInput)) visit(item, false)
    }
  }
  visit(input, true)
  visit(output, false)
  return [...values].join("\n").slice(0, searchTextLimit)
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value)

/** A `LIKE` pattern for a substring, its wildcards taken literally (with `ESCAPE '\\'`). */
const likeSubstring = (text: string) => `%${searchForm(text).replace(/[\\%_]/g, (c) => `\\${c}`)}%`

/** Whether a run comes after a position in a listing's order (newest first, then id descending). */
const isAfter = (record: { readonly createdAt: number; readonly id: string }, position: Position) =>
  record.createdAt < position.createdAt || (record.createdAt === position.createdAt && record.id < position.id)

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
  // Step states as JSON text (a copy, as a SQL store gives back), by run then path.
  const states = new Map<string, Map<string, string>>()
  const cancels = new Map<string, { readonly compensate: boolean }>()
  const decode = (id: string, encoded: unknown) => decodeRecord(encoded).pipe(Effect.mapError(storeError(`decode run ${id}`)))
  const getOne = (id: string) => {
    const encoded = runs.get(id)
    return encoded === undefined ? Effect.fail(new RunNotFound({ runId: id })) : decode(id, encoded)
  }
  const browse = (query: Query | undefined) =>
    Effect.forEach([...runs.entries()], ([id, encoded]) => decode(id, encoded)).pipe(
      Effect.map((records): Listing => ({ ...filterRecords(records, query), unreadable: [] }))
    )
  const timeline = (id: string, options: { readonly after?: number | undefined } | undefined) =>
    Effect.forEach(
      events.filter((e) => e.runId === id && e.seq > (options?.after ?? 0)),
      (e) =>
        decodeEvent(e.data).pipe(
          Effect.map((event): StoredEvent => ({ seq: e.seq, event })),
          Effect.mapError(storeError(`decode event ${e.seq}`))
        )
    ).pipe(Effect.map((events): Timeline => ({ events, unreadable: [] })))
  return {
    create: (record) =>
      Effect.sync(() => {
        runs.set(record.id, redactor.redact(encodeRecord(record)))
      }),
    get: (id) => getOne(id),
    // In memory, a record has no process lock to show: `read` is `get`.
    read: (id) => getOne(id),
    list: (query) => Effect.map(browse(query), (listing) => listing.runs),
    browse,
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
    events: (id, options) => Effect.map(timeline(id, options), (t) => t.events),
    timeline,
    loadState: (runId, path) =>
      Effect.sync(() => {
        const text = states.get(runId)?.get(path)
        return text === undefined ? Option.none() : Option.some(JSON.parse(text) as unknown)
      }),
    saveState: (runId, path, value) =>
      Effect.sync(() => {
        let byPath = states.get(runId)
        if (byPath === undefined) {
          byPath = new Map()
          states.set(runId, byPath)
        }
        byPath.set(path, JSON.stringify(redactor.redact(value)))
      }),
    clearState: (runId, path) =>
      Effect.sync(() => {
        if (path === undefined) states.delete(runId)
        else states.get(runId)?.delete(path)
      }),
    requestCancel: (runId, compensate) => Effect.sync(() => void cancels.set(runId, { compensate })),
    cancellations: Effect.sync(() => new Map(cancels)),
    forgetCancel: (runId) => Effect.sync(() => void cancels.delete(runId))
  }
})

/**
 * The runs a query selects among records (as `get` shows them), in the listing's order, with
 * the position after the page when more match. The memory store's listing, and the rule the SQL
 * store's queries follow.
 */
const filterRecords = (records: ReadonlyArray<RunRecord>, query: Query | undefined): { readonly runs: ReadonlyArray<RunRecord>; readonly next?: Position } => {
  const search = query?.search !== undefined ? searchForm(query.search) : undefined
  const matching = records
    .filter((r) => query?.status === undefined || query.status.includes(r.status))
    .filter((r) => query?.workflow === undefined || r.workflow === query.workflow)
    // A record's input and output are kept in their JSON form: what the columns are made of.
    .filter((r) => query?.trigger === undefined || triggerOf(r.input) === query.trigger)
    .filter((r) => search === undefined || searchTextOf(r.input, r.output).includes(search))
    .filter((r) => query?.since === undefined || r.createdAt >= query.since)
    .filter((r) => query?.until === undefined || r.createdAt < query.until)
    .filter((r) => query?.after === undefined || isAfter(r, query.after))
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
  const limit = query?.limit ?? 50
  const runs = matching.slice(0, limit)
  const last = runs.at(-1)
  return matching.length > limit && last !== undefined ? { runs, next: { createdAt: last.createdAt, id: last.id } } : { runs }
}

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
export const migrate: Effect.Effect<void, StoreError, SqlClient.SqlClient> = Effect.suspend(() => migrateAt(undefined))

/**
 * Run table creations one process at a time. On PostgreSQL, `CREATE TABLE IF NOT EXISTS` is not
 * safe against itself: two workers starting together on a fresh database can both decide to
 * create a table, and one fails on a duplicate catalogue key. A transaction-scoped advisory lock
 * makes them take turns (the second finds the tables). SQLite needs nothing: one writer at a time.
 *
 * @since 0.1.0
 */
export const withSchemaLock = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError, R | SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.onDialectOrElse({
      // The key: "relais" in ASCII, the same in every process and version.
      pg: () => sql.withTransaction(Effect.zipRight(sql`SELECT pg_advisory_xact_lock(${0x72656c616973})`, effect)),
      orElse: () => effect
    }))

const migrateAt = (path: string | undefined): Effect.Effect<void, StoreError, SqlClient.SqlClient> =>
  withSchemaLock(Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE IF NOT EXISTS relais_runs (
    id TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    status TEXT NOT NULL,
    record TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    trigger_kind TEXT,
    search_text TEXT
  )`
  // Stores made before listings filtered by trigger and searched (issue 12) lack two columns.
  yield* addDerivedColumns
  // A listing reads newest first (then by id), alone or after one equality: each index walks
  // it in that order and stops at the page's LIMIT. (status, created_at) became
  // (status, created_at, id), so that runs created in the same millisecond need no sort.
  yield* sql`DROP INDEX IF EXISTS relais_runs_status`
  yield* sql`CREATE INDEX IF NOT EXISTS relais_runs_created ON relais_runs (created_at, id)`
  yield* sql`CREATE INDEX IF NOT EXISTS relais_runs_by_status ON relais_runs (status, created_at, id)`
  yield* sql`CREATE INDEX IF NOT EXISTS relais_runs_by_workflow ON relais_runs (workflow, created_at, id)`
  yield* sql`CREATE INDEX IF NOT EXISTS relais_runs_by_trigger ON relais_runs (trigger_kind, created_at, id)`
  yield* backfillDerived
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
  // The scratch state of step invocations (Step.StepState): one row per invocation, replaced
  // on each save, deleted when the run ends. Plain SQL that PostgreSQL runs as it is.
  yield* sql`CREATE TABLE IF NOT EXISTS relais_step_state (
    run_id TEXT NOT NULL,
    path TEXT NOT NULL,
    data TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (run_id, path)
  )`
  // Cancellations asked for runs not ended yet (Engine.cancel), read by the executing process.
  yield* sql`CREATE TABLE IF NOT EXISTS relais_cancellations (
    run_id TEXT PRIMARY KEY,
    compensate INTEGER NOT NULL,
    requested_at BIGINT NOT NULL
  )`
})).pipe(Effect.mapError(storeError("create its tables", path)))

/** The derived columns of `relais_runs` (see `searchTextOf`, `triggerOf`). */
const derivedColumns = ["trigger_kind", "search_text"] as const

/** The columns `relais_runs` has. */
const runColumns: Effect.Effect<ReadonlySet<string>, SqlError, SqlClient.SqlClient> = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql.onDialectOrElse({
    pg: () =>
      sql<{ readonly name: string }>`SELECT column_name AS name FROM information_schema.columns
        WHERE table_name = 'relais_runs' AND table_schema = current_schema()`,
    orElse: () => sql<{ readonly name: string }>`SELECT name FROM pragma_table_info('relais_runs')`
  }).pipe(Effect.map((rows) => new Set(rows.map((row) => String(row.name))))))

/**
 * Add the derived columns to a store made before them. Looked up first, so that an up-to-date
 * store takes no table lock (PostgreSQL's `ALTER TABLE` takes one even when there is nothing
 * to add). On PostgreSQL the schema lock already serialises this; on SQLite a process that
 * added a column between the look-up and its own `ALTER` is not an error (`duplicate column`).
 */
const addDerivedColumns: Effect.Effect<void, SqlError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const present = yield* runColumns
  for (const column of derivedColumns) {
    if (present.has(column)) continue
    yield* sql`ALTER TABLE relais_runs ADD COLUMN ${sql(column)} TEXT`.pipe(
      Effect.catchIf((error) => /duplicate column/i.test(String(error.cause ?? error.message)), () => Effect.void)
    )
  }
})

/** Rows filled in per statement batch by `backfillDerived`. */
const backfillBatch = 500

/**
 * Fill the derived columns of rows written before them, or since by an older relais (a row
 * without `trigger_kind`), from their stored record: done when the store is opened to write,
 * in batches (one transaction each), each batch found through the trigger index, so that an
 * up-to-date store pays one indexed look-up. A record that is not JSON any more gets `manual`
 * and no search text (it is listed as unreadable anyway). Idempotent: two processes doing it at
 * once write the same values.
 */
const backfillDerived: Effect.Effect<void, SqlError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  while (true) {
    const rows = yield* sql<RunRow>`SELECT id, record FROM relais_runs WHERE trigger_kind IS NULL LIMIT ${backfillBatch}`
    if (rows.length === 0) return
    yield* sql.withTransaction(Effect.forEach(rows, (row) => {
      const derived = derivedOfJson(row.record)
      return sql`UPDATE relais_runs SET trigger_kind = ${derived.trigger}, search_text = ${derived.search} WHERE id = ${row.id}`
    }, { discard: true }))
    if (rows.length < backfillBatch) return
  }
})

/** The derived values of a stored record's JSON text. */
const derivedOfJson = (json: string): { readonly trigger: string; readonly search: string } => {
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch {
    return { trigger: "manual", search: "" }
  }
  return derivedOf(isObject(parsed) ? parsed : {})
}

/** The derived columns of a run, from its input and output as stored (JSON form, redacted). */
const derivedOf = (record: { readonly input?: unknown; readonly output?: unknown }) => ({
  trigger: triggerOf(record.input),
  search: searchTextOf(record.input, record.output)
})

/** Events in one INSERT statement (4 parameters each: well under SQLite's and PostgreSQL's limits). */
const eventsPerStatement = 500

/** How long the event writer waits to gather a batch. */
const lingerMillis = 2

/** A batch of events whose write failed for a passing reason: tried again for about 12 s. */
const eventRetry = Schedule.exponential(200, 2).pipe(Schedule.intersect(Schedule.recurs(6)))
const liveClock = Clock.make()

interface RunRow {
  readonly id: string
  readonly record: string
}

interface ListedRow extends RunRow {
  readonly created_at: number | string | bigint
}

interface StateRow {
  readonly data: string
}

interface EventRow {
  readonly seq: number | string | bigint
  readonly data: string
}

/**
 * Options of a SQL store.
 *
 * @since 0.1.0
 */
export interface SqlOptions {
  /**
   * Only read: no table is created (a store without tables is an empty history) and nothing is
   * written. For commands that show the history, which must work on a read-only store and while
   * another process runs on it.
   */
  readonly readonly?: boolean | undefined
}

/**
 * A store on the `SqlClient` in context (SQLite or PostgreSQL). Creates its tables unless it
 * only reads.
 *
 * Storage failures are `StoreError`s with a `reason` (`no-space`, `read-only`, `corrupt`...)
 * and, on SQLite, the file's path. A run marked running shows as `interrupted` when its owner
 * no longer holds the store's lock (on SQLite; see `Engine.layerSqlite`).
 *
 * @since 0.1.0
 */
export const makeSqlWith = (
  options: SqlOptions = {}
): Effect.Effect<Service, StoreError, SqlClient.SqlClient | Redactor.Redactor | Scope.Scope> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const redactor = yield* Redactor.Redactor
    const file = Option.getOrUndefined(yield* Effect.serviceOption(StoreFile))
    const health = Option.getOrElse(yield* Effect.serviceOption(StoreHealth), () => healthy)
    const path = file?.filename
    const fail = (operation: string) => storeError(operation, path)
    /**
     * Failures and defects (a failed `COMMIT` dies in `@effect/sql`) of a storage call, as a
     * `StoreError`; interruptions go on.
     */
    const failing = (operation: string) => <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, StoreError> =>
      Effect.catchAllCause(effect, (cause) =>
        Cause.isInterruptedOnly(cause) ? Effect.failCause(cause as Cause.Cause<never>) : Effect.fail(fail(operation)(cause)))
    // Every failure of a write is reported, so that a full disk stops every waiter at once.
    const reported = <A, E extends StoreError>(effect: Effect.Effect<A, E>) =>
      Effect.tapError(effect, (error) => health.report(error))
    const readonly = options.readonly === true
    const hasTables = readonly
      ? yield* sql<{ readonly name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'relais_runs'`
        .pipe(
          Effect.map((rows) => rows.length > 0),
          Effect.catchAll(() =>
            // Not SQLite: PostgreSQL's catalogue.
            sql<{ readonly name: string }>`SELECT table_name AS name FROM information_schema.tables WHERE table_name = 'relais_runs'`
              .pipe(Effect.map((rows) => rows.length > 0))
          ),
          Effect.mapError(fail("read the tables"))
        )
      : yield* Effect.as(migrateAt(path), true)
    // A store opened only to read is not migrated: one made before the derived columns is
    // filtered by trigger and searched by reading its rows (`scan`), as it is older.
    const hasDerived = !readonly || (hasTables && (yield* runColumns.pipe(
      Effect.map((columns) => derivedColumns.every((column) => columns.has(column))),
      Effect.mapError(fail("read the columns"))
    )))

    // Liveness: who holds the store now. Only SQLite stores have the lock.
    const liveness: Effect.Effect<LockState> = file === undefined || file.filename === ":memory:"
      ? Effect.succeed({ _tag: "Unknown" })
      : lockState(file.filename).pipe(Effect.provideService(SqlClient.SqlClient, sql))

    const toJson = (value: unknown) => JSON.stringify(redactor.redact(value))
    const parseRecord = (row: RunRow): Effect.Effect<RunRecord, StoreError> =>
      Effect.try({
        try: () => JSON.parse(row.record) as unknown,
        catch: (cause) =>
          new StoreError({
            operation: `read run ${row.id}`,
            reason: "corrupt",
            detail: `the record of run ${row.id} is damaged: ${cause instanceof Error ? cause.message : String(cause)}`,
            ...(path !== undefined ? { path } : {})
          })
      }).pipe(
        Effect.flatMap((json) =>
          decodeRecord(json).pipe(
            Effect.mapError((error) =>
              new StoreError({
                operation: `read run ${row.id}`,
                reason: "corrupt",
                detail: `the record of run ${row.id} does not match what relais stores: ${error.message.split("\n")[0]}`,
                ...(path !== undefined ? { path } : {})
              })
            )
          )
        )
      )

    const getRaw = (id: string): Effect.Effect<RunRecord, RunNotFound | StoreError> =>
      Effect.gen(function*() {
        if (!hasTables) return yield* new RunNotFound({ runId: id })
        const rows = yield* sql<RunRow>`SELECT id, record FROM relais_runs WHERE id = ${id}`.pipe(
          Effect.mapError(fail(`read run ${id}`))
        )
        const row = rows[0]
        if (row === undefined) return yield* new RunNotFound({ runId: id })
        return yield* parseRecord(row)
      })

    const write = (record: RunRecord, insert: boolean) => {
      // What is stored, redacted: the search text is made of it, so a secret is never in it.
      const stored = redactor.redact(encodeRecord(record)) as { readonly input: unknown; readonly output?: unknown }
      const json = JSON.stringify(stored)
      const { search, trigger } = derivedOf(stored)
      return (insert
        ? sql`INSERT INTO relais_runs (id, workflow, status, record, created_at, updated_at, trigger_kind, search_text)
            VALUES (${record.id}, ${record.workflow}, ${record.status}, ${json}, ${record.createdAt}, ${record.updatedAt}, ${trigger}, ${search})`
        : sql`UPDATE relais_runs SET status = ${record.status}, record = ${json}, updated_at = ${record.updatedAt},
            trigger_kind = ${trigger}, search_text = ${search}
            WHERE id = ${record.id}`).pipe(Effect.mapError(fail(`record run ${record.id}`)))
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
      // One multi-row INSERT per chunk: a single statement is atomic on its own, so a batch that
      // fits in one chunk (nearly all of them) costs one round trip and no BEGIN/COMMIT (on
      // PostgreSQL, three round trips fewer per batch; bench/postgres.ts).
      const rows = events.map((event) => ({
        run_id: event.runId,
        at: event.at,
        type: event._tag,
        data: toJson(encodeEvent(event))
      }))
      const chunks: Array<typeof rows> = []
      for (let i = 0; i < rows.length; i += eventsPerStatement) chunks.push(rows.slice(i, i + eventsPerStatement))
      const statements = Effect.forEach(chunks, (chunk) => sql`INSERT INTO relais_events ${sql.insert(chunk)}`, { discard: true })
      const insert = (chunks.length === 0 ? Effect.void : chunks.length === 1 ? statements : sql.withTransaction(statements)).pipe(
        failing("record the events of the runs"),
        // A failure that passes (a connection cut, a busy file) is tried again rather than
        // leaving a gap in the runs' histories; a full or damaged disk is reported at once.
        Effect.retry({ schedule: eventRetry, while: (error) => !isFatal(error) }),
        reported
      )
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
    if (!readonly) {
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
    }

    const readOnly = (operation: string) =>
      Effect.fail(
        new StoreError({
          operation,
          reason: "read-only",
          detail: "this store was opened to read the history only",
          ...(path !== undefined ? { path } : {})
        })
      )

    /**
     * The condition on the stored status and owner that selects the runs whose status, as `get`
     * shows it (`withLiveness`), is one of `statuses`, given who holds the store's lock: so that
     * a status filter is a `WHERE` with a `LIMIT`, not a read of every matching row filtered
     * after. `None` when no run can match (running runs while nobody holds the lock).
     */
    const statusCondition = (statuses: ReadonlyArray<RunStatus>, lock: LockState): Option.Option<Fragment> => {
      const live = ["running", "compensating"] as const
      const isLive = (status: RunStatus) => status === "running" || status === "compensating"
      // Nobody to ask, or a holder that names no owner: every run is shown as stored.
      if (lock._tag === "Unknown" || (lock._tag === "Held" && lock.owner === undefined)) return Option.some(sql.in("status", statuses))
      const plain = statuses.filter((status) => !isLive(status))
      const interrupted = statuses.includes("interrupted")
      if (lock._tag === "Free") {
        const stored = interrupted ? [...plain, ...live] : plain
        return stored.length === 0 ? Option.none() : Option.some(sql.in("status", stored))
      }
      // Held by `owner` (SQLite only: the owner is read from the record's JSON, a damaged one
      // giving NULL, as a record without owner: not the holder's, so interrupted).
      const owner = sql`(CASE WHEN json_valid(record) THEN json_extract(record, '$.owner') END)`
      const alive = statuses.filter(isLive)
      const parts: Array<Fragment> = []
      if (plain.length > 0) parts.push(sql.in("status", plain))
      if (alive.length > 0) parts.push(sql`(${sql.in("status", alive)} AND ${owner} = ${lock.owner})`)
      if (interrupted) parts.push(sql`(${sql.in("status", live)} AND (${owner} IS NULL OR ${owner} <> ${lock.owner}))`)
      return Option.some(sql`(${sql.or(parts)})`)
    }

    /** The conditions of a query, but for trigger and search when the store lacks their columns. */
    const conditions = (query: Query | undefined, lock: LockState): Option.Option<Array<Fragment>> => {
      const where: Array<Fragment> = []
      if (query?.status !== undefined && query.status.length > 0) {
        const status = statusCondition(query.status, lock)
        if (Option.isNone(status)) return Option.none()
        where.push(status.value)
      }
      if (query?.workflow !== undefined) where.push(sql`workflow = ${query.workflow}`)
      if (hasDerived && query?.trigger !== undefined) where.push(sql`trigger_kind = ${query.trigger}`)
      if (hasDerived && query?.search !== undefined) where.push(sql`search_text LIKE ${likeSubstring(query.search)} ESCAPE '\\'`)
      if (query?.since !== undefined) where.push(sql`created_at >= ${query.since}`)
      if (query?.until !== undefined) where.push(sql`created_at < ${query.until}`)
      if (query?.after !== undefined) {
        const { createdAt, id } = query.after
        where.push(sql`(created_at < ${createdAt} OR (created_at = ${createdAt} AND id < ${id}))`)
      }
      return Option.some(where)
    }

    const rowsWhere = (where: ReadonlyArray<Fragment>, limit: number) =>
      sql<ListedRow>`SELECT id, record, created_at FROM relais_runs ${where.length > 0 ? sql`WHERE ${sql.and(where)}` : sql``}
        ORDER BY created_at DESC, id DESC LIMIT ${limit}`

    const browse = (query: Query | undefined): Effect.Effect<Listing, StoreError> =>
      Effect.gen(function*() {
        if (!hasTables) return { runs: [], unreadable: [] }
        const limit = query?.limit ?? 50
        const lock = yield* liveness
        const where = conditions(query, lock)
        if (Option.isNone(where)) return { runs: [], unreadable: [] }
        // One row more than the page: whether a next page exists.
        const rows = yield* (!hasDerived && (query?.trigger !== undefined || query?.search !== undefined)
          ? scan(where.value, query, limit + 1)
          : rowsWhere(where.value, limit + 1)).pipe(Effect.mapError(fail("list runs")))
        const page = rows.slice(0, limit)
        const runs: Array<RunRecord> = []
        const unreadable: Array<UnreadableRun> = []
        for (const row of page) {
          const parsed = yield* Effect.either(parseRecord(row))
          if (Either.isRight(parsed)) runs.push(withLiveness(parsed.right, lock))
          else unreadable.push({ id: String(row.id), problem: parsed.left.detail })
        }
        const last = page.at(-1)
        return {
          runs,
          unreadable,
          ...(rows.length > limit && last !== undefined ? { next: { createdAt: Number(last.created_at), id: String(last.id) } } : {})
        }
      })

    /**
     * The rows of a store without the derived columns (opened read-only, made by an older
     * relais) that match a trigger or a search: read in pages, newest first, and tested with
     * the same functions that fill those columns, until `wanted` rows are found.
     */
    const scan = (where: ReadonlyArray<Fragment>, query: Query | undefined, wanted: number) =>
      Effect.gen(function*() {
        const found: Array<ListedRow> = []
        const search = query?.search !== undefined ? searchForm(query.search) : undefined
        let after: Position | undefined
        while (found.length < wanted) {
          const page: ReadonlyArray<ListedRow> = yield* rowsWhere(
            after === undefined ? where : [...where, sql`(created_at < ${after.createdAt} OR (created_at = ${after.createdAt} AND id < ${after.id}))`],
            backfillBatch
          )
          for (const row of page) {
            const derived = derivedOfJson(row.record)
            if ((query?.trigger === undefined || derived.trigger === query.trigger) && (search === undefined || derived.search.includes(search))) {
              found.push(row)
            }
          }
          const last = page.at(-1)
          if (page.length < backfillBatch || last === undefined) break
          after = { createdAt: Number(last.created_at), id: String(last.id) }
        }
        return found.slice(0, wanted)
      })

    const timeline = (id: string, options: { readonly after?: number | undefined } | undefined) =>
      Effect.gen(function*() {
        if (!hasTables) return { events: [], unreadable: [] }
        const rows = yield* sql<EventRow>`SELECT seq, data FROM relais_events WHERE run_id = ${id} AND seq > ${options?.after ?? 0}
          ORDER BY seq`.pipe(Effect.mapError(fail(`read events of ${id}`)))
        const events: Array<StoredEvent> = []
        const unreadable: Array<{ readonly seq: number; readonly problem: string }> = []
        for (const row of rows) {
          const decoded = yield* Effect.try({ try: () => JSON.parse(row.data) as unknown, catch: (cause) => cause }).pipe(
            Effect.flatMap((json) => decodeEvent(json)),
            Effect.either
          )
          if (Either.isRight(decoded)) {
            events.push({ seq: Number(row.seq), event: decoded.right })
          } else {
            const cause = decoded.left
            unreadable.push({
              seq: Number(row.seq),
              problem: `event ${row.seq} of run ${id} is damaged: ${
                cause instanceof Error ? cause.message.split("\n")[0] : String(cause)
              }`
            })
          }
        }
        return { events, unreadable }
      })

    const service: Service = {
      create: (record) => readonly ? readOnly(`create run ${record.id}`) : reported(write(record, true)),
      get: (id) => Effect.zipWith(getRaw(id), liveness, withLiveness),
      list: (query) => Effect.map(browse(query), (listing) => listing.runs),
      browse,
      read: getRaw,
      update: (id, f, from) =>
        readonly ? readOnly(`update run ${id}`) : (from !== undefined
          // The executing process's own copy: one statement (bench/postgres.ts: four round
          // trips fewer than a transaction that reads first).
          ? Effect.suspend(() => {
            const next = f(from)
            return Effect.as(write(next, false), next)
          })
          : sql.withTransaction(
            getRaw(id).pipe(
              Effect.map(f),
              Effect.tap((next) => write(next, false))
            )
          )).pipe(
          Effect.catchAllCause((cause): Effect.Effect<never, RunNotFound | StoreError> => {
            const failure = Cause.failureOption(cause)
            if (Option.isSome(failure) && failure.value._tag === "RunNotFound") return Effect.fail(failure.value)
            return Cause.isInterruptedOnly(cause)
              ? Effect.failCause(cause as Cause.Cause<never>)
              : Effect.fail(fail(`update run ${id}`)(cause))
          }),
          Effect.tapError((error) => error._tag === "StoreError" ? health.report(error) : Effect.void)
        ),
      append: (event) => readonly ? Effect.void : Effect.asVoid(Queue.offer(queue, { _tag: "event", event })),
      flush: readonly ? Effect.void : Effect.async<void, StoreError>((resume) => {
        Queue.unsafeOffer(queue, {
          _tag: "flush",
          done: (error) => resume(error ? Effect.fail(error) : Effect.void)
        })
        flushRequested.unsafeOpen()
      }),
      events: (id, options) => Effect.map(timeline(id, options), (t) => t.events),
      timeline,
      loadState: (runId, step) =>
        Effect.gen(function*() {
          if (!hasTables) return Option.none()
          const rows = yield* sql<StateRow>`SELECT data FROM relais_step_state WHERE run_id = ${runId} AND path = ${step}`
            .pipe(failing(`read the state of step ${step} of run ${runId}`))
          const row = rows[0]
          if (row === undefined) return Option.none()
          return Option.some(
            yield* Effect.try({
              try: () => JSON.parse(row.data) as unknown,
              catch: (cause) =>
                new StoreError({
                  operation: `read the state of step ${step} of run ${runId}`,
                  reason: "corrupt",
                  detail: `the state of step ${step} of run ${runId} is damaged: ${
                    cause instanceof Error ? cause.message : String(cause)
                  }`,
                  ...(path !== undefined ? { path } : {})
                })
            })
          )
        }),
      saveState: (runId, step, value) =>
        readonly ? readOnly(`save the state of step ${step}`) : Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const json = toJson(value)
          yield* sql`INSERT INTO relais_step_state (run_id, path, data, updated_at)
            VALUES (${runId}, ${step}, ${json}, ${now})
            ON CONFLICT (run_id, path) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`
        }).pipe(failing(`save the state of step ${step} of run ${runId}`), reported),
      clearState: (runId, step) =>
        readonly ? readOnly(`clear the states of run ${runId}`) : (step === undefined
          ? sql`DELETE FROM relais_step_state WHERE run_id = ${runId}`
          : sql`DELETE FROM relais_step_state WHERE run_id = ${runId} AND path = ${step}`).pipe(
            failing(`clear the state of run ${runId}`),
            reported,
            Effect.asVoid
          ),
      requestCancel: (runId, compensate) =>
        readonly ? readOnly(`cancel run ${runId}`) : Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          yield* sql`INSERT INTO relais_cancellations (run_id, compensate, requested_at) VALUES (${runId}, ${compensate ? 1 : 0}, ${now})
            ON CONFLICT (run_id) DO UPDATE SET compensate = excluded.compensate`
        }).pipe(failing(`cancel run ${runId}`), reported),
      cancellations: !hasTables ? Effect.succeed(new Map()) : sql<{ readonly run_id: string; readonly compensate: number | boolean | string }>`
        SELECT run_id, compensate FROM relais_cancellations`.pipe(
          Effect.map((rows) => new Map(rows.map((row) => [String(row.run_id), { compensate: Number(row.compensate) === 1 }]))),
          failing("read the cancellations")
        ),
      forgetCancel: (runId) =>
        readonly ? Effect.void : sql`DELETE FROM relais_cancellations WHERE run_id = ${runId}`.pipe(
          failing(`forget the cancellation of run ${runId}`),
          Effect.asVoid
        )
    }
    return service
  })

/**
 * A store on the `SqlClient` in context (SQLite or PostgreSQL). Creates its tables.
 *
 * @since 0.1.0
 */
export const makeSql: Effect.Effect<
  Service,
  StoreError,
  SqlClient.SqlClient | Redactor.Redactor | Scope.Scope
> = makeSqlWith()

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
 * A store that only reads the history on the `SqlClient` in context (see `SqlOptions.readonly`).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerSqlReadonly: Layer.Layer<RunStore, StoreError, SqlClient.SqlClient | Redactor.Redactor> = Layer
  .scoped(RunStore, makeSqlWith({ readonly: true }))

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

/**
 * A run's events as the store records them, after `after` (a stored event's `seq`), read every
 * `pollMillis` until the run ends or stops: whichever process executes it (`Engine.watch`, the
 * API's event stream). The record is read before the events, so the events written before it
 * turned final are all read; an earlier execution's `RunInterrupted` does not end it (a resumed
 * run goes on).
 *
 * @since 0.1.0
 */
export const follow = (
  store: Service,
  runId: string,
  options: { readonly after?: number | undefined; readonly pollMillis: number }
): Stream.Stream<StoredEvent, StoreError> =>
  Stream.paginateChunkEffect({ after: options.after ?? 0, first: true }, (cursor) =>
    Effect.gen(function*() {
      if (!cursor.first) yield* Effect.sleep(Duration.millis(options.pollMillis))
      const record = yield* Effect.either(store.get(runId))
      const events = yield* store.events(runId, { after: cursor.after })
      const last = events.length > 0 ? events[events.length - 1]!.seq : cursor.after
      const latest = events.at(-1)?.event._tag
      const finished = Either.isRight(record) &&
        (isFinal(record.right.status) || (record.right.status === "interrupted" && (latest === undefined || latest === "RunInterrupted")))
      return [Chunk.fromIterable(events), finished ? Option.none() : Option.some({ after: last, first: false })] as const
    }))
