/**
 * The store lock: one process at a time runs an engine on a SQLite store, because the cluster's
 * single runner keeps shard ownership in memory (two processes would both execute the same runs).
 *
 * The lock is a SQLite lock the operating system releases when the process dies, whatever its
 * PID namespace or host name: the engine holds an exclusive transaction on `<store>.lock`, a
 * small SQLite file beside the store, for its whole life (SQLite takes POSIX `fcntl` locks,
 * which belong to the open file and vanish with the process). Nothing is trusted from host names
 * or pids. The store itself is not locked that way, so that readers (`runs list`, `runs show`)
 * keep working in WAL mode while a run goes on.
 *
 * Who holds the lock is written into the store (`relais_engine_lock`), for messages and for
 * liveness: a run marked running is running only if its owner holds the lock now.
 *
 * @internal
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { Clock, Effect, Either, type Scope } from "effect"
import { globalValue } from "effect/GlobalValue"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { StoreError } from "../Errors.js"
import { currentOwner, describeOwner } from "./owner.js"

export { describeOwner }

/** The lock file of a store. */
export const lockFileOf = (filename: string): string => `${filename}.lock`

/** Stores whose lock this process holds, by real path, with the owner string it wrote. */
const held = globalValue(Symbol.for("@relais/core/internal/processLock/held"), () => new Map<string, string>())

const keyOf = (filename: string): string => {
  try {
    return Fs.realpathSync(filename)
  } catch {
    return Path.resolve(filename)
  }
}

/** A connection on a lock file (rollback journal kept in memory: holding writes nothing). */
const openLockFile = (
  file: string,
  readonly: boolean
): Effect.Effect<SqliteClient.SqliteClient, StoreError, Scope.Scope> =>
  SqliteClient.make({ filename: file, readonly, disableWAL: true, prepareCacheSize: 4 }).pipe(
    Effect.provideServiceEffect(Reactivity.Reactivity, Reactivity.make),
    // better-sqlite3 throws from its constructor (a directory, no permission): a defect there.
    Effect.catchAllDefect((defect) => Effect.fail(StoreError.fromCause("open the lock file", defect, file)))
  )

/** What a look at the lock says. */
export type LockState =
  | { readonly _tag: "Free" }
  | { readonly _tag: "Held"; readonly owner: string | undefined }
  /** The lock file could not be read: nothing can be said about liveness. */
  | { readonly _tag: "Unknown" }

interface OwnerRow {
  readonly owner: string
}

/** The owner the holder wrote into the store, if any. */
const recordedOwner: Effect.Effect<string | undefined, never, SqlClient.SqlClient> = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) =>
    sql<OwnerRow>`SELECT owner FROM relais_engine_lock WHERE id = 1`.pipe(
      Effect.map((rows) => rows[0]?.owner),
      Effect.orElseSucceed(() => undefined)
    )
)

const isBusy = (error: StoreError) => error.reason === "busy"

/**
 * Take the lock of the store `filename` (whose `SqlClient` is in context) for the scope, or fail
 * at once with a `StoreError` of reason `locked` naming the process that holds it. Returns the
 * owner string written into the store.
 */
export const acquire = (filename: string): Effect.Effect<string, StoreError, SqlClient.SqlClient | Scope.Scope> =>
  Effect.gen(function*() {
    const key = keyOf(filename)
    const lockFile = lockFileOf(filename)
    const me = currentOwner()
    const inUse = (owner: string | undefined) =>
      new StoreError({
        operation: "lock the store",
        reason: "locked",
        path: filename,
        detail: owner === undefined ? "" : describeOwner(owner)
      })
    if (held.has(key)) return yield* inUse(me)
    const lock = yield* openLockFile(lockFile, false)
    const exec = (statement: string) =>
      lock.unsafe(statement).pipe(Effect.mapError((error) => StoreError.fromCause("lock the store", error, lockFile)))
    yield* Effect.gen(function*() {
      // A quick look first: a held lock answers "busy" at once.
      yield* exec("PRAGMA busy_timeout = 0")
      yield* exec("SELECT count(*) FROM sqlite_master")
      // Holding writes nothing: no journal file is left behind by a killed holder.
      yield* exec("PRAGMA journal_mode = MEMORY")
      // Readers that look at the lock hold a shared lock for an instant: wait them out.
      yield* exec("PRAGMA busy_timeout = 1000")
      yield* exec("BEGIN EXCLUSIVE")
    }).pipe(
      Effect.catchIf(isBusy, () => Effect.flatMap(recordedOwner, (owner) => Effect.fail(inUse(owner))))
    )
    held.set(key, me)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => held.delete(key)).pipe(Effect.zipRight(Effect.ignore(lock.unsafe("ROLLBACK"))))
    )
    const sql = yield* SqlClient.SqlClient
    const now = yield* Clock.currentTimeMillis
    yield* sql`CREATE TABLE IF NOT EXISTS relais_engine_lock (
      id INTEGER PRIMARY KEY,
      owner TEXT NOT NULL,
      acquired_at BIGINT NOT NULL
    )`.pipe(
      Effect.zipRight(sql`INSERT INTO relais_engine_lock (id, owner, acquired_at) VALUES (1, ${me}, ${now})
        ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, acquired_at = excluded.acquired_at`),
      Effect.mapError((error) => StoreError.fromCause("write the store", error, filename))
    )
    return me
  })

/**
 * Whether the lock of the store `filename` (whose `SqlClient` is in context) is held now, and by
 * whom. Never fails: what cannot be read is `Unknown`.
 */
export const state = (filename: string): Effect.Effect<LockState, never, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const mine = held.get(keyOf(filename))
    if (mine !== undefined) return { _tag: "Held", owner: mine } as const
    const lockFile = lockFileOf(filename)
    if (!Fs.existsSync(lockFile)) return { _tag: "Free" } as const
    const look = yield* Effect.scoped(Effect.gen(function*() {
      const lock = yield* openLockFile(lockFile, true)
      yield* lock.unsafe("PRAGMA busy_timeout = 0")
      yield* lock.unsafe("SELECT count(*) FROM sqlite_master")
    })).pipe(Effect.mapError((error) => StoreError.fromCause("look at the lock", error, lockFile)), Effect.either)
    if (Either.isRight(look)) return { _tag: "Free" } as const
    if (isBusy(look.left)) return { _tag: "Held", owner: yield* recordedOwner } as const
    return { _tag: "Unknown" } as const
  })
