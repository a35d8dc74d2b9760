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
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import { Context, Duration, Effect, Layer, Option } from "effect"
import { type RunNotFound, StoreError, type WorkflowInputError, type WorkflowNotFound } from "./Errors.js"
import * as internal from "./internal/engine.js"
import * as ProcessLock from "./internal/processLock.js"
import * as Store from "./internal/store.js"
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
 * The cluster's message storage on the `SqlClient` in context, watched: every storage failure is
 * reported to the store's health, so that a full disk or a damaged file ends the waits of every
 * run at once with a `StoreError` (the cluster itself retries such failures, or dies).
 */
const layerMessageStorage: Layer.Layer<
  MessageStorage.MessageStorage,
  StoreError,
  SqlClient.SqlClient | ShardingConfig.ShardingConfig
> = Layer.effect(
  MessageStorage.MessageStorage,
  Effect.gen(function*() {
    const inner = yield* MessageStorage.MessageStorage
    const health = Option.getOrElse(yield* Effect.serviceOption(Store.StoreHealth), () => Store.healthy)
    const path = Option.getOrUndefined(yield* Effect.serviceOption(Store.StoreFile))?.filename
    const watched: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(inner)) {
      watched[name] = typeof value !== "function" ? value : (...args: Array<unknown>) => {
        const result = (value as (...args: Array<unknown>) => unknown)(...args)
        return Effect.isEffect(result)
          ? Effect.tapError(result, (error) =>
            (error as { readonly _tag?: unknown })._tag === "PersistenceError"
              ? health.report(StoreError.fromCause("write the journal", error, path))
              : Effect.void)
          : result
      }
    }
    return watched as unknown as MessageStorage.MessageStorage["Type"]
  })
).pipe(
  Layer.provide(
    // The storage creates its tables while it is built, and dies if it cannot.
    Layer.unwrapEffect(Effect.map(Effect.serviceOption(Store.StoreFile), (file) =>
      SqlMessageStorage.layer.pipe(
        Layer.catchAllCause((cause) =>
          Layer.fail(StoreError.fromCause("create the journal tables", cause, Option.getOrUndefined(file)?.filename))
        )
      )))
  )
)

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
  StoreError,
  SqlClient.SqlClient
> =>
  ClusterWorkflowEngine.layer.pipe(
    Layer.provideMerge(Sharding.layer),
    Layer.provideMerge(Runners.layerNoop),
    Layer.provideMerge(layerMessageStorage),
    Layer.provide([RunnerStorage.layerMemory, RunnerHealth.layerNoop]),
    Layer.provide(ShardingConfig.layer(shardingConfig(pollInterval)))
  )

/**
 * A SQLite client on a file, with the pragmas the engine relies on (WAL, a busy timeout so a
 * reader does not see "database is locked", the chosen durability).
 *
 * Everything that can go wrong while opening (the path is a directory, the file is not a
 * database or is damaged, read-only, a full disk) is a `StoreError` with its `reason`. With
 * `readonly`, nothing is written to the file (its journal mode is kept): for commands that only
 * show the history.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerSqliteClient = (options: {
  readonly filename: string
  readonly synchronous?: "full" | "normal" | undefined
  readonly readonly?: boolean | undefined
}): Layer.Layer<SqlClient.SqlClient | SqliteClient.SqliteClient, StoreError> =>
  Store.layerSqlite({
    filename: options.filename,
    readonly: options.readonly === true,
    synchronous: options.synchronous
  })

/**
 * Who executes a run (a record's `owner`), for a person: `process 1234 on host`.
 *
 * @since 0.1.0
 */
export const describeOwner = (owner: string): string => ProcessLock.describeOwner(owner)

/**
 * The path of the lock file of a SQLite store (see `layerSqlite`).
 *
 * @since 0.1.0
 */
export const lockFile = (filename: string): string => ProcessLock.lockFileOf(filename)

/**
 * The durable engine on SQLite, with the run store in the same file.
 *
 * One process at a time runs an engine on a given file. The engine holds an exclusive SQLite
 * lock on `<file>.lock` for its whole life; the operating system releases it when the process
 * ends, however it ends (a killed process frees the store at once, across PID namespaces and
 * host names). A second engine fails at once with a `StoreError` of reason `locked` naming the
 * holder. Commands that only read the history (`RunStore.layerSqlReadonly`) are not affected.
 * Use PostgreSQL for several runners.
 *
 * A storage failure during a run (a full disk, a file made read-only) ends every wait on the
 * engine with a `StoreError`; the run is left as it was journaled, to be resumed.
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
  const lock = Layer.scopedDiscard(filename === ":memory:" ? Effect.void : Effect.asVoid(ProcessLock.acquire(filename)))
  return engine.pipe(
    Layer.provideMerge(RunStore.layerSql),
    Layer.provide(layerCluster(pollInterval)),
    Layer.provide(lock),
    Layer.provideMerge(layerSqliteClient({ filename, synchronous: options.synchronous })),
    Layer.provide(Store.layerHealth)
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
