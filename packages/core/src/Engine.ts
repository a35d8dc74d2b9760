/**
 * The engine port: start, await and resume runs, and watch their events. Two implementations:
 *
 * - `layerMemory`: everything in memory, for unit tests and one-off runs. Nothing survives
 *   the process.
 * - `layerSqlite`: the durable default. Runs are `@effect/workflow` executions on an
 *   `@effect/cluster` single runner whose message storage is a SQLite file, next to the run
 *   history. Starting it resumes the runs a previous process left unfinished.
 *
 * Everything Effect-specific about durability lives behind this port.
 *
 * @since 0.1.0
 */
import * as MessageStorage from "@effect/cluster/MessageStorage"
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as Runners from "@effect/cluster/Runners"
import * as RunnerStorage from "@effect/cluster/RunnerStorage"
import * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as ClusterWorkflowEngine from "@effect/cluster/ClusterWorkflowEngine"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import { Context, Duration, Effect, Layer } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { type RunNotFound, StoreError, type WorkflowInputError, type WorkflowNotFound } from "./Errors.js"
import * as internal from "./internal/engine.js"
import { acquireProcessLock } from "./internal/processLock.js"
import type * as Redactor from "./Redactor.js"
import type { RunId, RunRecord } from "./Run.js"
import * as RunStore from "./RunStore.js"
import * as Workflow from "./Workflow.js"

/**
 * @since 0.1.0
 */
export type Service = internal.EngineService

/**
 * @since 0.1.0
 */
export type StartOptions = internal.StartOptions

/**
 * @since 0.1.0
 */
export type Options<R> = Omit<internal.EngineOptions<R>, "kick">

/**
 * @since 0.1.0
 * @category Tags
 */
export class Engine extends Context.Tag("@relais/core/Engine")<Engine, Service>() {}

/**
 * An engine in memory, with an in-memory run store.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerMemory = <R = never>(
  options: Options<R> = {}
): Layer.Layer<Engine | RunStore.RunStore, never, R | Redactor.Redactor> =>
  Layer.scoped(Engine, internal.make(options)).pipe(
    Layer.provideMerge(RunStore.layerMemory),
    Layer.provide(WorkflowEngine.layerMemory)
  )

/**
 * Options of the SQLite engine.
 *
 * @since 0.1.0
 */
export interface SqliteOptions<R> extends Options<R> {
  /** The database file; its directory is created. Default `.relais/relais.db`. */
  readonly filename?: string | undefined
  /**
   * `full` fsyncs every commit (survives power loss); `normal` (the default) syncs at WAL
   * checkpoints: committed work survives a killed process, and a power cut may lose the last
   * commits (whose steps are then reconciled or run again).
   */
  readonly synchronous?: "full" | "normal" | undefined
  /**
   * How often storage is polled for work that was not announced in-process (e.g. runs left by
   * a stopped process). Default 500 ms.
   */
  readonly pollInterval?: Duration.DurationInput | undefined
}

/**
 * The default database file.
 *
 * @since 0.1.0
 */
export const defaultFilename = ".relais/relais.db"

/**
 * Shards of the single runner. Part of the storage format: stored messages carry their shard,
 * so every process sharing a database must use the same value.
 *
 * @since 0.1.0
 */
export const shardsPerGroup = 16

/**
 * The cluster settings the durable engine runs with (a single runner, in-process delivery).
 *
 * @since 0.1.0
 */
export const shardingConfig = (pollInterval: Duration.DurationInput): Partial<ShardingConfig.ShardingConfig["Type"]> => ({
  shardsPerGroup,
  entityMessagePollInterval: pollInterval,
  entityReplyPollInterval: Duration.millis(50),
  // Everything stays in this process: no need to rehearse the wire format.
  simulateRemoteSerialization: false,
  entityMailboxCapacity: "unbounded",
  entityMaxIdleTime: Duration.minutes(5),
  // On shutdown (Ctrl-C), steps in flight are interrupted after this long; the run is left
  // interrupted and its unfinished steps are reconciled or run again when it resumes.
  entityTerminationTimeout: Duration.seconds(2),
  refreshAssignmentsInterval: Duration.seconds(10)
})

/**
 * A single cluster runner on the `SqlClient` in context, with the workflow engine on top.
 * Shard ownership is kept in memory: one process at a time owns a database, which the engine
 * enforces with its own lock (see `layerSqlite`).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerCluster = (
  pollInterval: Duration.DurationInput
): Layer.Layer<
  WorkflowEngine.WorkflowEngine | Sharding.Sharding | MessageStorage.MessageStorage,
  never,
  SqlClient.SqlClient
> =>
  ClusterWorkflowEngine.layer.pipe(
    Layer.provideMerge(Sharding.layer),
    Layer.provideMerge(Runners.layerNoop),
    Layer.provideMerge(Layer.orDie(SqlMessageStorage.layer)),
    Layer.provide([RunnerStorage.layerMemory, RunnerHealth.layerNoop]),
    Layer.provide(ShardingConfig.layer(shardingConfig(pollInterval)))
  )

/**
 * A SQLite client on a file, with the pragmas the engine relies on (WAL, a busy timeout so a
 * reader does not see "database is locked", the chosen durability).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerSqliteClient = (options: {
  readonly filename: string
  readonly synchronous?: "full" | "normal" | undefined
}): Layer.Layer<SqlClient.SqlClient | SqliteClient.SqliteClient, StoreError> => {
  const client = Layer.unwrapEffect(
    Effect.try({
      try: () => {
        if (options.filename !== ":memory:") {
          Fs.mkdirSync(Path.dirname(Path.resolve(options.filename)), { recursive: true })
        }
        return SqliteClient.layer({ filename: options.filename }).pipe(
          Layer.mapError((error) => new StoreError({ operation: `open ${options.filename}`, detail: error.message }))
        )
      },
      catch: (cause) =>
        new StoreError({ operation: `open ${options.filename}`, detail: String(cause) })
    })
  )
  const pragmas = Layer.effectDiscard(
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe("PRAGMA busy_timeout = 5000")
      yield* sql.unsafe(`PRAGMA synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`)
    }).pipe(
      Effect.mapError((error) => new StoreError({ operation: `open ${options.filename}`, detail: error.message }))
    )
  )
  return Layer.provideMerge(pragmas, client)
}

/**
 * The durable engine on SQLite, with the run store in the same file.
 *
 * One process at a time runs an engine on a given file: a second one fails with a clear
 * `StoreError` naming the owner (a process that died does not hold the file). Commands that
 * only read the history (`RunStore.layerSql`) are not affected. Use PostgreSQL for several
 * runners.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerSqlite = <R = never>(
  options: SqliteOptions<R> = {}
): Layer.Layer<Engine | RunStore.RunStore | SqlClient.SqlClient, StoreError, R | Redactor.Redactor> => {
  const filename = options.filename ?? defaultFilename
  const pollInterval = options.pollInterval ?? Duration.millis(500)
  const engine = Layer.scoped(
    Engine,
    Effect.gen(function*() {
      const sharding = yield* Sharding.Sharding
      return yield* internal.make({ ...options, kick: sharding.pollStorage })
    })
  )
  const lock = Layer.scopedDiscard(acquireProcessLock(filename))
  return engine.pipe(
    Layer.provideMerge(RunStore.layerSql),
    Layer.provide(layerCluster(pollInterval)),
    Layer.provide(lock),
    Layer.provideMerge(layerSqliteClient({ filename, synchronous: options.synchronous }))
  )
}

// -----------------------------------------------------------------------------
// Accessors
// -----------------------------------------------------------------------------

/**
 * Start a run of a workflow, with the services its steps need taken from the caller's context.
 *
 * @since 0.1.0
 */
export const start = <I, O, R>(
  workflow: Workflow.Workflow<I, O, R>,
  input: I,
  options?: StartOptions
): Effect.Effect<RunId, WorkflowInputError | StoreError, Engine | R> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<R>()
    const engine = yield* Engine
    return yield* engine.start(Workflow.provideContext(workflow, context), input, options)
  })

/**
 * Run a workflow to its end and return the final run record.
 *
 * @since 0.1.0
 */
export const run = <I, O, R>(
  workflow: Workflow.Workflow<I, O, R>,
  input: I,
  options?: StartOptions
): Effect.Effect<RunRecord, WorkflowInputError | StoreError | RunNotFound, Engine | R> =>
  Effect.flatMap(start(workflow, input, options), (runId) => Effect.flatMap(Engine, (engine) => engine.await(runId)))

/**
 * Resume an interrupted run and wait for its end.
 *
 * @since 0.1.0
 */
export const resume = (
  runId: string
): Effect.Effect<RunRecord, RunNotFound | WorkflowNotFound | StoreError, Engine> =>
  Effect.flatMap(Engine, (engine) => engine.resume(runId))

/**
 * Wait for a run's end.
 *
 * @since 0.1.0
 */
export const awaitRun = (runId: string): Effect.Effect<RunRecord, RunNotFound | StoreError, Engine> =>
  Effect.flatMap(Engine, (engine) => engine.await(runId))
