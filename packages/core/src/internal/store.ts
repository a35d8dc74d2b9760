/**
 * What the SQLite store's pieces share: the file they work on, and the store's health (the
 * first storage failure that stops everything, so that every waiter is told at once instead of
 * waiting for a write that will never happen).
 *
 * The SQLite connection reports every failed statement to the health itself: the cluster writes
 * parts of the journal (a step's result, as the reply to its activity) on fibers of its own,
 * retries them a few times and then gives up without telling anyone, so a disk that filled up at
 * that write left the run waiting forever for a result that was never recorded.
 *
 * @internal
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqlClient from "@effect/sql/SqlClient"
import type { Connection } from "@effect/sql/SqlConnection"
import type { SqlError } from "@effect/sql/SqlError"
import * as Statement from "@effect/sql/Statement"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { Cause, Context, Deferred, Effect, FiberRef, Layer, Option, Scope } from "effect"
import { globalValue } from "effect/GlobalValue"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { StoreError } from "../Errors.js"

/** The SQLite file of the store in context (absent for PostgreSQL and in-memory stores). */
export class StoreFile extends Context.Tag("@relais/core/internal/StoreFile")<StoreFile, {
  readonly filename: string
  readonly readonly: boolean
}>() {}

export interface StoreHealthService {
  /** Fails with the first fatal storage error; never succeeds. */
  readonly failed: Effect.Effect<never, StoreError>
  /** The first fatal storage error so far. */
  readonly current: Effect.Effect<Option.Option<StoreError>>
  /** Report a failed storage call; a fatal one fails `failed`. */
  readonly report: (error: StoreError) => Effect.Effect<void>
}

/** The health of the store in context (the durable engine provides it). */
export class StoreHealth extends Context.Tag("@relais/core/internal/StoreHealth")<StoreHealth, StoreHealthService>() {}

/**
 * Failures after which the store will not take writes until someone acts: a full disk, a
 * read-only or damaged file. Busy stores and unknown errors are left to the caller's retries.
 */
export const isFatal = (error: StoreError): boolean =>
  error.reason === "no-space" || error.reason === "read-only" || error.reason === "corrupt" ||
  error.reason === "not-a-database" || error.reason === "not-a-file" || error.reason === "permission" ||
  error.reason === "io"

/** False inside `unreported`. */
const reporting = globalValue(
  Symbol.for("@relais/core/internal/store/reporting"),
  () => FiberRef.unsafeMake(true)
)

/**
 * Run `effect` without reporting its storage failures to the store's health: for writes whose
 * failure the caller judges itself and that must not stop the runs (the clean-up after a run
 * has ended, a warning). Its failures still reach the caller.
 */
export const unreported = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.locally(effect, reporting, false)

export const makeHealth: Effect.Effect<StoreHealthService> = Effect.map(
  Deferred.make<never, StoreError>(),
  (deferred) => ({
    failed: Deferred.await(deferred),
    current: Effect.flatMap(Deferred.poll(deferred), (done) =>
      Option.isNone(done) ? Effect.succeedNone : Effect.map(Effect.flip(done.value), Option.some)),
    report: (error) =>
      isFatal(error)
        ? Effect.flatMap(FiberRef.get(reporting), (on) =>
          on
            ? Effect.zipRight(Effect.logDebug(`run store: ${error.message}`), Deferred.fail(deferred, error))
            : Effect.void).pipe(Effect.asVoid)
        : Effect.void
  })
)

/** A store health that never fails, for stores without one. */
export const healthy: StoreHealthService = {
  failed: Effect.never,
  current: Effect.succeedNone,
  report: () => Effect.void
}

export const layerHealth: Layer.Layer<StoreHealth> = Layer.effect(StoreHealth, makeHealth)

/**
 * Open a SQLite file as a `SqlClient`, turning everything that can go wrong on the way (a
 * directory, a missing parent, not a database, damaged, read-only, a full disk) into a
 * `StoreError` instead of the defects `better-sqlite3` throws.
 */
export const openSqlite = (options: {
  readonly filename: string
  readonly readonly: boolean
  readonly synchronous?: "full" | "normal" | undefined
}): Effect.Effect<SqliteClient.SqliteClient, StoreError, Scope.Scope> =>
  Effect.gen(function*() {
    const { filename } = options
    const fail = (operation: string) => (cause: unknown) =>
      (codeOf(cause) === "SQLITE_CANTOPEN" ? cannotOpen(filename, options.readonly) : undefined) ??
        StoreError.fromCause(operation, cause, filename)
    if (filename !== ":memory:") {
      yield* Effect.try({
        try: () => {
          const stat = Fs.statSync(filename, { throwIfNoEntry: false })
          if (stat !== undefined && !stat.isFile()) {
            throw Object.assign(new Error(stat.isDirectory() ? "it is a directory" : "it is not a regular file"), {
              code: "EISDIR"
            })
          }
          if (stat === undefined && !options.readonly) Fs.mkdirSync(Path.dirname(Path.resolve(filename)), { recursive: true })
        },
        catch: fail("open it")
      })
    }
    const base = yield* SqliteClient.make({
      filename,
      readonly: options.readonly,
      // A reader keeps the file's journal mode (WAL once a writer has set it) and writes nothing.
      disableWAL: options.readonly
    }).pipe(
      Effect.provideServiceEffect(Reactivity.Reactivity, Reactivity.make),
      // better-sqlite3 throws from its constructor and from the WAL pragma: defects there.
      Effect.catchAllDefect((defect) => Effect.fail(fail("open it")(defect)))
    )
    const health = Option.getOrElse(yield* Effect.serviceOption(StoreHealth), () => healthy)
    const client = yield* keepRollbackErrors(base, (cause) =>
      Cause.isInterruptedOnly(cause) ? Effect.void : health.report(StoreError.fromCause("record the runs", cause, filename)))
    const exec = (statement: string) => Effect.mapError(client.unsafe(statement), fail("open it"))
    yield* exec("PRAGMA busy_timeout = 5000")
    // Reads the header and the schema: a file that is not a database, or is damaged where the
    // schema lives, says so now rather than in the middle of a run.
    yield* exec("SELECT count(*) FROM sqlite_master")
    if (!options.readonly) {
      yield* exec(`PRAGMA synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`)
    }
    return client
  })

/**
 * Why SQLite cannot open a file that exists: it needs to create files beside it (the WAL's
 * `-shm` and `-wal`, even to read), and the directory is not writable.
 */
const cannotOpen = (filename: string, readonly: boolean): StoreError | undefined => {
  const dir = Path.dirname(Path.resolve(filename))
  const needs = readonly
    ? `SQLite must create ${Path.basename(filename)}-shm beside it to read it`
    : "SQLite must create its journal files beside it"
  try {
    Fs.accessSync(dir, Fs.constants.W_OK)
    return undefined
  } catch (error) {
    const code = (error as { readonly code?: unknown }).code
    const operation = readonly ? "read it" : "open it"
    if (code === "EROFS") {
      return new StoreError({ operation, reason: "read-only", path: filename, detail: `read-only file system: ${needs}` })
    }
    if (code === "EACCES" || code === "EPERM") {
      return new StoreError({ operation, reason: "permission", path: filename, detail: `${dir} is not writable: ${needs}` })
    }
    return undefined
  }
}

/** The first `code` in a chain of causes. */
const codeOf = (cause: unknown): unknown => {
  let current = cause
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const c = current as { readonly code?: unknown; readonly cause?: unknown }
    if (typeof c.code === "string") return c.code
    current = c.cause
  }
  return undefined
}

const isNoTransaction = (error: SqlError) =>
  /no transaction is active/.test(String((error.cause as { readonly message?: unknown } | undefined)?.message))

/**
 * The same client, whose transactions keep the error that made them fail, and whose failed
 * statements are given to `failed` (the store's health: whoever wrote, the run store or the
 * cluster's journal, a full disk or a read-only file stops the runs at once).
 *
 * On a full disk (and on I/O errors) SQLite rolls a transaction back by itself; the `ROLLBACK`
 * that `@effect/sql` sends then fails with "no transaction is active", and that failure (a
 * defect) replaces the one that mattered: "database or disk is full" would never reach the
 * user. Here such a `ROLLBACK` succeeds (the transaction is rolled back, which is what it asks
 * for), so the transaction fails with its own error.
 */
const keepRollbackErrors = (
  base: SqliteClient.SqliteClient,
  failed: (cause: Cause.Cause<unknown>) => Effect.Effect<void>
): Effect.Effect<SqliteClient.SqliteClient, never, Scope.Scope> =>
  Effect.gen(function*() {
    // The one connection of the client (`reserve` hands it out under the client's permit).
    const connection = yield* Effect.scoped(base.reserve).pipe(Effect.orDie)
    const watched = <A>(run: Effect.Effect<A, SqlError>) => Effect.tapErrorCause(run, failed)
    const wrapped: Connection = {
      ...connection,
      execute: (sql, params, transformRows) => watched(connection.execute(sql, params, transformRows)),
      executeRaw: (sql, params) => watched(connection.executeRaw(sql, params)),
      executeValues: (sql, params) => watched(connection.executeValues(sql, params)),
      executeUnprepared: (sql, params, transformRows) => {
        const run = connection.executeUnprepared(sql, params, transformRows)
        return watched(sql === "ROLLBACK" ? Effect.catchIf(run, isNoTransaction, () => Effect.succeed([])) : run)
      }
    }
    const semaphore = yield* Effect.makeSemaphore(1)
    const acquirer = semaphore.withPermits(1)(Effect.succeed(wrapped))
    const transactionAcquirer = Effect.uninterruptibleMask((restore) =>
      Effect.as(
        Effect.zipRight(
          restore(semaphore.take(1)),
          Effect.tap(Effect.scope, (scope) => Scope.addFinalizer(scope, semaphore.release(1)))
        ),
        wrapped
      )
    )
    const client = yield* SqlClient.make({
      acquirer,
      transactionAcquirer,
      compiler: Statement.makeCompilerSqlite(),
      spanAttributes: [["db.system.name", "sqlite"]]
    }).pipe(Effect.provideServiceEffect(Reactivity.Reactivity, Reactivity.make))
    return Object.assign(client, {
      [SqliteClient.TypeId]: SqliteClient.TypeId,
      config: base.config,
      export: base.export,
      backup: base.backup,
      loadExtension: base.loadExtension
    }) as unknown as SqliteClient.SqliteClient
  })

/** `openSqlite` as the `SqlClient` layer, with the `StoreFile` it works on. */
export const layerSqlite = (options: {
  readonly filename: string
  readonly readonly: boolean
  readonly synchronous?: "full" | "normal" | undefined
}): Layer.Layer<SqlClient.SqlClient | SqliteClient.SqliteClient | StoreFile, StoreError> =>
  Layer.scopedContext(
    Effect.map(openSqlite(options), (client) =>
      Context.make(SqliteClient.SqliteClient, client).pipe(
        Context.add(SqlClient.SqlClient, client),
        Context.add(StoreFile, { filename: options.filename, readonly: options.readonly })
      ))
  )
