/**
 * Where each run went (profile, production or not, the address of each plugin it used, by
 * plugin name, with their labels), kept by the runner in its own table next to the run history.
 * `resume` uses it to refuse to continue a run against another instance than the one it started
 * on (a pre-production run resumed in production would create half of its records in each);
 * `runs show` displays it. No secret is stored: addresses only (`Plugin.endpoint` never returns
 * one).
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Errors, RunStore } from "@relais/core"
import { PluginConfig } from "@relais/core"
import { Effect, Option, Schema } from "effect"
import { labelIn, type TargetInfo } from "./Report.js"

const Info = Schema.Struct({
  kind: Schema.Literal("profile", "environment", "sandbox"),
  profile: Schema.optional(Schema.String),
  production: Schema.Boolean,
  endpoints: Schema.Record({ key: Schema.String, value: Schema.String }),
  labels: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
})

const decode = Schema.decodeUnknownOption(Schema.parseJson(Info))

const storeError = (operation: string) => (error: unknown) => Errors.StoreError.fromCause(operation, error)

const migrate = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  RunStore.withSchemaLock(sql`CREATE TABLE IF NOT EXISTS relais_runner_targets (
    run_id TEXT PRIMARY KEY,
    target TEXT NOT NULL
  )`).pipe(Effect.mapError(storeError("create the runner's table"))))

/**
 * Remember where a run goes (the first target recorded for a run is kept).
 *
 * @since 0.1.0
 */
export const record = (runId: string, info: TargetInfo): Effect.Effect<void, Errors.StoreError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    yield* migrate
    const sql = yield* SqlClient.SqlClient
    const json = JSON.stringify({
      kind: info.kind,
      ...(info.profile !== undefined ? { profile: info.profile } : {}),
      production: info.production,
      endpoints: info.endpoints,
      ...(info.labels !== undefined ? { labels: info.labels } : {})
    })
    yield* sql`INSERT INTO relais_runner_targets (run_id, target) VALUES (${runId}, ${json})
      ON CONFLICT (run_id) DO NOTHING`.pipe(Effect.mapError(storeError(`record the target of ${runId}`)))
  })

/**
 * Where a run went, if the runner recorded it.
 *
 * @since 0.1.0
 */
export const find = (runId: string): Effect.Effect<Option.Option<TargetInfo>, Errors.StoreError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // Readers open the store read-only: a store without the table knows no target.
    const rows = yield* sql<{ readonly target: string }>`SELECT target FROM relais_runner_targets WHERE run_id = ${runId}`.pipe(
      Effect.catchIf((e) => /no such table|does not exist/.test(String((e.cause as { message?: unknown } | undefined)?.message)), () => Effect.succeed([])),
      Effect.mapError(storeError(`read the target of ${runId}`))
    )
    const row = rows[0]
    return row === undefined ? Option.none() : decode(row.target)
  })

/**
 * Whether resuming on `requested` continues where `started` went; otherwise the reason.
 *
 * @since 0.1.0
 */
export const compare = (started: TargetInfo, requested: TargetInfo): Option.Option<string> => {
  if (started.kind !== requested.kind) {
    return Option.some(
      started.kind === "sandbox"
        ? "resume it with --sandbox"
        : started.kind === "profile"
        ? `resume it with --profile ${started.profile}`
        : "resume it without a profile, with the same environment variables"
    )
  }
  if (started.kind === "profile" && started.profile !== requested.profile) {
    return Option.some(`resume it with --profile ${started.profile}`)
  }
  if (started.kind === "sandbox") return Option.none()
  for (const [plugin, url] of Object.entries(started.endpoints)) {
    // Runs recorded before the plugin contract keyed a plugin by its profile section
    // (`someName` for `some-name`): the same key in that form.
    const key = Object.keys(requested.endpoints).find((k) => k === plugin || PluginConfig.profileKey(k) === PluginConfig.profileKey(plugin))
    const now = key === undefined ? undefined : requested.endpoints[key]
    if (now !== undefined && now !== url) {
      const label = started.labels?.[plugin] ?? (key !== undefined ? labelIn(requested, key) : plugin)
      return Option.some(`its ${label} URL was ${url} and is now ${now}; restore the configuration it started with`)
    }
  }
  return Option.none()
}
