import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect, type Scope } from "effect"
import { StoreError } from "../Errors.js"
import { currentOwner, isOwnerAlive } from "./owner.js"

interface OwnerRow {
  readonly owner: string
}

/**
 * Make this process the only one running an engine on the database: the cluster single runner
 * keeps shard ownership in memory, so two processes on one file would both execute the same
 * runs. A lock held by a process that died is taken over at once (no lease to wait for), which
 * keeps resuming after a crash fast. Released when the scope closes.
 */
export const acquireProcessLock = (
  filename: string
): Effect.Effect<void, StoreError, SqlClient.SqlClient | Scope.Scope> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const me = currentOwner()
    const fail = (detail: string) => new StoreError({ operation: `lock ${filename}`, detail })
    yield* sql`CREATE TABLE IF NOT EXISTS relais_engine_lock (
      id INTEGER PRIMARY KEY,
      owner TEXT NOT NULL,
      acquired_at BIGINT NOT NULL
    )`.pipe(Effect.mapError((e) => fail(e.message)))
    const now = yield* Clock.currentTimeMillis
    yield* sql`INSERT INTO relais_engine_lock (id, owner, acquired_at) VALUES (1, ${me}, ${now})
      ON CONFLICT (id) DO NOTHING`.pipe(Effect.mapError((e) => fail(e.message)))
    const rows = yield* sql<OwnerRow>`SELECT owner FROM relais_engine_lock WHERE id = 1`.pipe(
      Effect.mapError((e) => fail(e.message))
    )
    const holder = rows[0]?.owner
    if (holder !== undefined && holder !== me) {
      if (isOwnerAlive(holder)) {
        return yield* fail(
          `another relais process (${holder}) is running an engine on this database; wait for it to finish, or use another database file`
        )
      }
      // Compare-and-swap, so that of two processes taking over a dead owner only one wins.
      yield* sql`UPDATE relais_engine_lock SET owner = ${me}, acquired_at = ${now} WHERE id = 1 AND owner = ${holder}`
        .pipe(Effect.mapError((e) => fail(e.message)))
      const after = yield* sql<OwnerRow>`SELECT owner FROM relais_engine_lock WHERE id = 1`.pipe(
        Effect.mapError((e) => fail(e.message))
      )
      if (after[0]?.owner !== me) {
        return yield* fail(`another relais process (${after[0]?.owner ?? "unknown"}) took this database first`)
      }
    }
    yield* Effect.addFinalizer(() =>
      sql`DELETE FROM relais_engine_lock WHERE id = 1 AND owner = ${me}`.pipe(Effect.ignore)
    )
  })
