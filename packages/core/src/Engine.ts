/**
 * The engine port: start, await and resume runs, and watch their events. Two implementations:
 *
 * - `layerMemory`: everything in memory, for unit tests and one-off runs. Nothing survives
 *   the process.
 * - `layerSqlite`: the durable default. Runs are `@effect/workflow` executions on an
 *   `@effect/cluster` single runner whose message storage is a SQLite file, next to the run
 *   history. Starting it resumes the runs a previous process left unfinished.
 * - `layerPostgres`: several workers on one PostgreSQL database. Runs are the same executions on
 *   an `@effect/cluster` cluster: SQL message storage, shards locked with advisory locks, runners
 *   reaching each other over sockets. A worker that dies leaves its shards, and the runs in them,
 *   to the others.
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
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as ShardId from "@effect/cluster/ShardId"
import * as SocketRunner from "@effect/cluster/SocketRunner"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import type * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Activity from "@effect/workflow/Activity"
import * as EWorkflow from "@effect/workflow/Workflow"
import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import { Cause, Context, Duration, Effect, FiberRef, Layer, Option, Redacted, Schedule, Schema, Scope } from "effect"
import { type CannotRestart, type RunEnded, type RunNotFound, StoreError, type WorkflowInputError, type WorkflowNotFound } from "./Errors.js"
import { exitJsonOf, firstExecution } from "./internal/activity.js"
import * as internal from "./internal/engine.js"
import { currentOwner } from "./internal/owner.js"
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
 * The id of a run's restart (`restart`): a run is restarted once, under this id, so that a
 * second restart cannot do again what the first did; its restart may be restarted in turn.
 *
 * @since 0.1.0
 */
export const restartIdOf = (runId: string): RunId => internal.restartIdOf(runId)

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
      const sql = yield* SqlClient.SqlClient
      return yield* internal.make({ ...options, kick: sharding.pollStorage, copySteps: copyStepsWith(sql) })
    })
  )
  const lock = Layer.scopedDiscard(filename === ":memory:" ? Effect.void : Effect.asVoid(ProcessLock.acquire(filename)))
  return engine.pipe(
    Layer.provide(layerStepJournal),
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
 * Cancel a run wherever it executes: no step of it starts any more, what it completed is undone
 * (or left as it is with `compensate: false`), and it ends `cancelled`.
 *
 * @since 0.1.0
 */
export const cancel = (
  runId: string,
  options?: { readonly compensate?: boolean | undefined }
): Effect.Effect<RunRecord, RunNotFound | RunEnded | WorkflowNotFound | StoreError, Engine> =>
  Effect.flatMap(Engine, (engine) => engine.cancel(runId, options))

/**
 * Start a new run from a step of an ended one, reusing the recorded outcomes of the steps before
 * it (see `Service.restart`).
 *
 * @since 0.1.0
 */
export const restart = (
  runId: string,
  options: Parameters<Service["restart"]>[1]
): Effect.Effect<RunId, RunNotFound | CannotRestart | WorkflowNotFound | StoreError, Engine> =>
  Effect.flatMap(Engine, (engine) => engine.restart(runId, options))

/**
 * Wait for a run's end.
 *
 * @since 0.1.0
 */
export const awaitRun = (runId: string): Effect.Effect<RunRecord, RunNotFound | StoreError, Engine> =>
  Effect.flatMap(Engine, (engine) => engine.await(runId))

// -----------------------------------------------------------------------------
// PostgreSQL: several workers
// -----------------------------------------------------------------------------

/**
 * How the workers of a cluster watch each other and move work, and how fast. The defaults move
 * the runs of a worker that died (killed, its machine lost) to the others in about 5 to 8
 * seconds, and let a stopping worker's steps in flight finish first.
 *
 * @since 0.1.0
 */
export interface ClusterSettings {
  /**
   * A worker whose heartbeat is older than this is gone: its shards are given to the others.
   * Default 6 s. Shorter moves work sooner and risks moving it away from a worker that is only
   * slow (an overloaded machine); advisory locks still keep a shard on one worker at a time.
   */
  readonly shardLockExpiration: Duration.DurationInput
  /**
   * How often a worker records its heartbeat and refreshes its shard locks. Default 2 s; it is
   * also how long a lock operation may take (at most a third of the expiration).
   */
  readonly shardLockRefreshInterval: Duration.DurationInput
  /** How often a worker recomputes which shards it should hold. Default 1 s. */
  readonly refreshAssignmentsInterval: Duration.DurationInput
  /** How often the workers ping each other (a dead peer is marked unhealthy). Default 2 s. */
  readonly runnerHealthCheckInterval: Duration.DurationInput
  /** How often a worker reads the storage for work it was not told about. Default 1 s. */
  readonly entityMessagePollInterval: Duration.DurationInput
  /**
   * How long the runs of a shard that leaves a worker may go on before they are interrupted
   * (they continue on the shard's next worker). Default 5 s. A step still in flight then is
   * interrupted too, and reconciled and executed again by the next worker. A worker that has
   * drained (`Service.drain`) does not wait at all: its runs are already waiting between two
   * steps.
   */
  readonly entityTerminationTimeout: Duration.DurationInput
}

/**
 * @since 0.1.0
 */
export const clusterDefaults: ClusterSettings = {
  // The cluster gives each lock operation min(refresh, expiration / 3) to answer before it
  // deems the lock storage unhealthy and lets its shards go: 2 s leaves a busy database (or
  // machine) some room, and a dead worker's shards still move within about 7 s.
  shardLockExpiration: Duration.seconds(6),
  shardLockRefreshInterval: Duration.seconds(2),
  refreshAssignmentsInterval: Duration.seconds(1),
  runnerHealthCheckInterval: Duration.seconds(2),
  entityMessagePollInterval: Duration.seconds(1),
  entityTerminationTimeout: Duration.seconds(5)
}

/**
 * Shards on PostgreSQL. Part of a database's format (stored messages carry their shard): every
 * worker on a database uses this value. 48 divides evenly among 1, 2, 3, 4, 6 and 8 workers.
 *
 * @since 0.1.0
 */
export const postgresShards = 48

/**
 * Where a worker listens for its peers, and the address they reach it at.
 *
 * @since 0.1.0
 */
export interface WorkerAddress {
  /** The host name or IP the other workers reach this one at. */
  readonly host: string
  readonly port: number
  /** The interface to listen on; default `host`. */
  readonly listenHost?: string | undefined
}

/**
 * Options of the PostgreSQL engine.
 *
 * @since 0.1.0
 */
export interface PostgresOptions<R> extends Options<R> {
  /** `postgres://user:password@host:port/database`. */
  readonly url: Redacted.Redacted<string>
  /**
   * Join the cluster as a worker that executes runs, at this address. Without it, this process
   * only starts runs and follows them (the CLI): the workers execute them.
   */
  readonly worker?: WorkerAddress | undefined
  readonly cluster?: Partial<ClusterSettings> | undefined
  /** How often a run executing on a worker is read from the store when followed. Default 250 ms. */
  readonly pollInterval?: Duration.DurationInput | undefined
  /** Connections in the pool. Default 10. */
  readonly maxConnections?: number | undefined
  /** `application_name` of the connections (seen in `pg_stat_activity`). Default `relais`. */
  readonly applicationName?: string | undefined
}

/**
 * A worker of the cluster as the database knows it.
 *
 * @since 0.1.0
 */
export interface WorkerInfo {
  readonly address: string
  readonly healthy: boolean
}

/**
 * What a process on the PostgreSQL engine knows of its cluster.
 *
 * @since 0.1.0
 */
export interface ClusterService {
  /** This worker's address (`host:port`), or none for a process that only starts runs. */
  readonly address: Option.Option<string>
  readonly settings: ClusterSettings
  /** The workers whose heartbeat is recent. */
  readonly workers: Effect.Effect<ReadonlyArray<WorkerInfo>, StoreError>
  /** The shards this worker holds now (numbers from 1). */
  readonly shards: Effect.Effect<ReadonlyArray<number>>
  /** Where the database is, for people: `postgres://user@host:port/db`, without the password. */
  readonly location: string
}

/**
 * @since 0.1.0
 * @category Tags
 */
export class Cluster extends Context.Tag("@relais/core/Engine/Cluster")<Cluster, ClusterService>() {}

/**
 * A PostgreSQL URL for people: the password left out.
 *
 * @since 0.1.0
 */
export const describePostgresUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    const user = parsed.username !== "" ? `${decodeURIComponent(parsed.username)}@` : ""
    return `${parsed.protocol}//${user}${parsed.host}${parsed.pathname}`
  } catch {
    return "postgres://(an unreadable URL)"
  }
}

/**
 * A PostgreSQL client, checked: a server that cannot be reached, a wrong password or a missing
 * database is a `StoreError` at once, naming the server without the password.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerPostgresClient = (options: {
  readonly url: Redacted.Redacted<string>
  readonly maxConnections?: number | undefined
  readonly applicationName?: string | undefined
}): Layer.Layer<SqlClient.SqlClient | PgClient.PgClient, StoreError> => {
  const where = describePostgresUrl(Redacted.value(options.url))
  const secret = (() => {
    try {
      return decodeURIComponent(new URL(Redacted.value(options.url)).password)
    } catch {
      return ""
    }
  })()
  // A driver's message may quote what it was given: never the password.
  const scrub = (error: StoreError): StoreError =>
    secret === "" || !error.detail.includes(secret)
      ? error
      : new StoreError({ ...error, detail: error.detail.split(secret).join("***") })
  const failed = (operation: string) => (cause: unknown) => scrub(StoreError.fromCause(operation, cause, where))
  const client = PgClient.layer({
    url: options.url,
    maxConnections: options.maxConnections ?? 10,
    applicationName: options.applicationName ?? "relais",
    connectTimeout: Duration.seconds(10)
  }).pipe(Layer.catchAllCause((cause) => Layer.fail(failed("connect to PostgreSQL")(Cause.squash(cause)))))
  const check = Layer.effectDiscard(
    Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1`).pipe(
      Effect.catchAllCause((cause) => Effect.fail(failed("connect to PostgreSQL")(Cause.squash(cause))))
    )
  )
  return Layer.provideMerge(check, client)
}

/**
 * The outcome of each step (each `@effect/workflow` activity) journaled in one row of
 * `relais_activities`, by the worker that executes the run, instead of going through the
 * cluster as a message of its own.
 *
 * `ClusterWorkflowEngine` executes an activity as a persisted message to the run's own entity:
 * a message row, a storage poll, a reply row and a processed mark per step, and the cluster's
 * machinery around them. That was most of a step's cost (`bench:pg`: about 5 ms of CPU per no-op
 * step against DBOS's 0.7; on SQLite 9.4 ms per step against 2.6 with this journal). The run's own
 * message still goes through the cluster, which routes it to the worker holding its shard and
 * moves it when that worker dies; only the steps inside the run are journaled here, which the
 * run's worker does alone (on PostgreSQL, a worker that gets a run from one still alive waits
 * for it to let the run go: see the engine's `handover`). Both durable engines use it.
 *
 * - Replay: a step whose row exists is not executed again; its journaled outcome is returned.
 *   A run's first execution skips the look-up (nothing of it is journaled yet).
 * - First writer wins (`ON CONFLICT DO NOTHING`): if two processes ever executed the same step
 *   (a worker cut from the database while its step ran, and the one that took the run over once
 *   its heartbeat expired), the outcome written first stands and both go on with it. The step's
 *   `reconcile` hook, run before the step executes again on a resumed run, keeps the second
 *   execution from creating anything twice.
 * - A step in flight when the run's execution is interrupted is interrupted with it (see below):
 *   its next executor reconciles it and executes it again.
 * - A failed journal write is a storage defect of the run (`SqlError`): on a shared store the
 *   run goes on from its journal a moment later (see the engine's `restartLater`).
 */
const layerStepJournal: Layer.Layer<
  WorkflowEngine.WorkflowEngine,
  StoreError,
  WorkflowEngine.WorkflowEngine | SqlClient.SqlClient
> = Layer.effect(
  WorkflowEngine.WorkflowEngine,
  Effect.gen(function*() {
    const inner = yield* WorkflowEngine.WorkflowEngine
    const sql = yield* SqlClient.SqlClient
    yield* RunStore.withSchemaLock(sql`CREATE TABLE IF NOT EXISTS relais_activities (
      execution_id TEXT NOT NULL,
      name TEXT NOT NULL,
      attempt INTEGER NOT NULL,
      exit TEXT NOT NULL,
      PRIMARY KEY (execution_id, name, attempt)
    )`).pipe(Effect.mapError((error) => StoreError.fromCause("create the step journal", error)))
    const read = (executionId: string, name: string, attempt: number) =>
      sql<{ readonly exit: string }>`SELECT exit FROM relais_activities
        WHERE execution_id = ${executionId} AND name = ${name} AND attempt = ${attempt}`.pipe(
        Effect.map((rows) => Option.fromNullable(rows[0]?.exit)),
        Effect.orDie
      )
    const fromJournal = (schema: Schema.Schema<any, any>, text: string) =>
      Effect.map(Effect.orDie(Schema.decodeUnknown(schema)(JSON.parse(text))), (exit) => new EWorkflow.Complete({ exit }))
    const activityExecute = (activity: Activity.Any, attempt: number) =>
      Effect.gen(function*() {
        const instance = yield* WorkflowEngine.WorkflowInstance
        const schema = exitJsonOf(activity.successSchema, activity.errorSchema)
        // A run's first execution has nothing journaled yet: no look-up.
        const done = (yield* FiberRef.get(firstExecution)) ? Option.none() : yield* read(instance.executionId, activity.name, attempt)
        if (Option.isSome(done)) return yield* fromJournal(schema, done.value)
        // The step's own instance, as the cluster gives it: a suspension inside the step (a
        // store failure under its state) ends the step as Suspended, and the run sees it.
        // Built here rather than with `WorkflowInstance.initial`, which makes its scope with a
        // `runSync` (a fiber of its own) on every call: a step's largest single cost after its SQL.
        const own = WorkflowEngine.WorkflowInstance.of({
          executionId: instance.executionId,
          workflow: instance.workflow,
          scope: yield* Scope.make(),
          suspended: false,
          interrupted: false,
          cause: undefined,
          activityState: { count: 0, latch: Effect.unsafeMakeLatch() }
        })
        const executed = Effect.gen(function*() {
          const result = yield* activity.execute.pipe(
            EWorkflow.intoResult,
            Effect.provideService(Activity.CurrentAttempt, attempt),
            Effect.provideService(WorkflowEngine.WorkflowInstance, own)
          )
          if (result._tag === "Suspended") return result
          const encoded = yield* Effect.orDie(Schema.encode(schema)(result.exit))
          const written = yield* sql`INSERT INTO relais_activities (execution_id, name, attempt, exit)
            VALUES (${instance.executionId}, ${activity.name}, ${attempt}, ${JSON.stringify(encoded)})
            ON CONFLICT (execution_id, name, attempt) DO NOTHING RETURNING attempt`.pipe(Effect.orDie)
          if (written.length > 0) return result
          // Another process journaled this step first: its outcome stands.
          const first = yield* read(instance.executionId, activity.name, attempt)
          return Option.isSome(first) ? yield* fromJournal(schema, first.value) : result
        })
        // Executed in the run's own fiber. Interrupting the run (its shard moving to a worker
        // that joined, after `entityTerminationTimeout`; a worker stopping) interrupts a step in
        // flight too, waiting for its finalizers: nothing is journaled for it, and the run's next
        // executor reconciles it and runs it again. (This was a fork joined uninterruptibly, meant
        // to let the step run to its end; but a fiber's interruption reaches its children, so the
        // step was interrupted all the same, and the fork cost a fiber per step.)
        return yield* executed
      })
    return { ...inner, activityExecute } as WorkflowEngine.WorkflowEngine["Type"]
  })
)


/** A restarted run's journal begins with the reused steps' rows of the original (`Engine.restart`). */
const copyStepsWith = (sql: SqlClient.SqlClient) => (from: string, to: string, paths: ReadonlyArray<string>) =>
  paths.length === 0 ? Effect.void : sql`INSERT INTO relais_activities (execution_id, name, attempt, exit)
    SELECT ${to}, name, attempt, exit FROM relais_activities WHERE execution_id = ${from} AND ${sql.in("name", paths)}`.pipe(
    Effect.asVoid,
    Effect.mapError((error) => StoreError.fromCause(`copy the steps of run ${from}`, error))
  )

/**
 * The durable engine on PostgreSQL, for several workers (see `PostgresOptions.worker`), with the
 * run store in the same database.
 *
 * Any worker executes any run: a run is resolved from its stored record (`resolve`: a YAML run
 * from its definition), so every worker needs the plugins of the workflows it may execute.
 * `await` and `watch` read the store, so a process follows a run whichever worker executes it.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerPostgres = <R = never>(
  options: PostgresOptions<R>
): Layer.Layer<Engine | RunStore.RunStore | SqlClient.SqlClient | Cluster, StoreError, R | Redactor.Redactor> => {
  const settings: ClusterSettings = { ...clusterDefaults, ...options.cluster }
  const worker = options.worker
  const address = worker === undefined ? Option.none() : Option.some(`${worker.host}:${worker.port}`)
  const where = describePostgresUrl(Redacted.value(options.url))
  const shardingConfig: ShardingConfig.ShardingConfig["Type"] = {
    ...ShardingConfig.defaults,
    shardsPerGroup: postgresShards,
    runnerAddress: worker === undefined
      ? Option.none()
      : Option.some(RunnerAddress.make(worker.host, worker.port)),
    runnerListenAddress: worker?.listenHost === undefined
      ? Option.none()
      : Option.some(RunnerAddress.make(worker.listenHost, worker.port)),
    ...settings,
    entityMailboxCapacity: "unbounded",
    entityMaxIdleTime: Duration.minutes(5),
    entityReplyPollInterval: Duration.millis(200),
    // Messages go between processes: rehearse the wire format in-process too.
    simulateRemoteSerialization: true,
    // A stopping worker releases its shards as soon as its entities stop.
    preemptiveShutdown: true
  }
  // A copy per build: a drained worker changes it (see `drained` below).
  const config = Layer.sync(ShardingConfig.ShardingConfig, () => ({ ...shardingConfig }))
  const transport = worker === undefined
    ? SocketRunner.layerClientOnly
    : SocketRunner.layer.pipe(
      Layer.provide(NodeClusterSocket.layerSocketServer),
      Layer.provide(RunnerHealth.layerPing.pipe(
        Layer.provide(Runners.layerRpc),
        Layer.provide(NodeClusterSocket.layerClientProtocol)
      ))
    )
  // Effect's cluster storages create their tables with `CREATE TABLE IF NOT EXISTS`, which is
  // not safe against itself on PostgreSQL: workers started together on a fresh database race,
  // and the loser fails on a duplicate catalogue key (seen in ClusterFailover.test.ts). It tries
  // again, and finds the tables the winner made.
  const tablesRace = Schedule.exponential(Duration.millis(100)).pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(5)))
  const runnerStorage = SqlRunnerStorage.layer.pipe(
    Layer.retry(tablesRace),
    Layer.catchAllCause((cause) => Layer.fail(StoreError.fromCause("create the cluster tables", Cause.squash(cause), where)))
  )
  const cluster = ClusterWorkflowEngine.layer.pipe(
    Layer.provideMerge(transport.pipe(Layer.catchAllCause((cause) =>
      Layer.fail(
        new StoreError({
          operation: worker === undefined ? "join the cluster" : `listen for the other workers on ${worker.listenHost ?? worker.host}:${worker.port}`,
          detail: String(Cause.squash(cause) instanceof Error ? (Cause.squash(cause) as Error).message : Cause.pretty(cause)).split("\n")[0]!
        })
      )
    ))),
    Layer.provide(NodeClusterSocket.layerClientProtocol),
    Layer.provideMerge(Layer.retry(layerMessageStorage, tablesRace)),
    Layer.provide(runnerStorage),
    Layer.provide(RpcSerialization.layerMsgPack),
    Layer.provideMerge(config)
  )
  const engine = Layer.scoped(
    Engine,
    Effect.gen(function*() {
      const sharding = yield* Sharding.Sharding
      const clusterConfig = yield* ShardingConfig.ShardingConfig
      const sql = yield* SqlClient.SqlClient
      const expiration = Duration.toSeconds(Duration.decode(settings.shardLockExpiration))
      /**
       * Once a worker has drained (or its caller stopped waiting: the grace is over), it waits
       * no more when it stops. When a shard leaves a worker, the cluster lets each run on it go
       * on for `entityTerminationTimeout` before interrupting it; a drained worker's runs all
       * wait between two steps, so that wait would only delay the next worker by as much (5 s
       * per worker in a rolling restart). The cluster reads the setting from this object when an
       * entity stops.
       */
      const drained = Effect.sync(() => {
        ;(clusterConfig as { entityTerminationTimeout: Duration.DurationInput }).entityTerminationTimeout = Duration.zero
      })
      const service = yield* internal.make({
        ...options,
        kick: sharding.pollStorage,
        copySteps: copyStepsWith(sql),
        shared: {
          owner: Option.getOrElse(address, () => `client ${currentOwner()}`),
          pollInterval: options.pollInterval ?? Duration.millis(250),
          // A moved run's previous worker interrupts it within entityTerminationTimeout; three
          // heartbeat expirations more cover a busy machine's slow finalizers and write.
          handoverLimit: Duration.sum(
            Duration.decode(settings.entityTerminationTimeout),
            Duration.times(Duration.decode(settings.shardLockExpiration), 3)
          ),
          // A worker is alive while its heartbeat is fresh; a failed look-up counts as alive
          // (the run waits and asks again rather than risk executing a step twice at once).
          isAlive: (worker) =>
            sql<{ readonly alive: number }>`SELECT 1 AS alive FROM cluster_runners WHERE address = ${worker}
              AND last_heartbeat > NOW() - make_interval(secs => ${expiration})`.pipe(
              Effect.map((rows) => rows.length > 0),
              Effect.orElseSucceed(() => true)
            )
        }
      })
      return { ...service, drain: Effect.ensuring(service.drain, drained) } satisfies Service
    })
  )
  const info = Layer.effect(
    Cluster,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const sharding = yield* Sharding.Sharding
      const expiration = Math.ceil(Duration.toSeconds(Duration.decode(settings.shardLockExpiration)))
      const ids = Array.from({ length: postgresShards }, (_, i) => ShardId.make("default", i + 1))
      return {
        address,
        settings,
        location: where,
        workers: sql<{ readonly address: string; readonly healthy: boolean }>`SELECT address, healthy FROM cluster_runners
          WHERE last_heartbeat > NOW() - make_interval(secs => ${expiration}) ORDER BY address`.pipe(
          Effect.map((rows) => rows.map((row) => ({ address: String(row.address), healthy: Boolean(row.healthy) }))),
          Effect.mapError((error) => StoreError.fromCause("list the workers", error, where))
        ),
        shards: Effect.sync(() => ids.filter((id) => sharding.hasShardId(id)).map((id) => id.id))
      } satisfies ClusterService
    })
  )
  return Layer.mergeAll(engine.pipe(Layer.provide(layerStepJournal)), info).pipe(
    Layer.provideMerge(RunStore.layerSql),
    Layer.provideMerge(cluster),
    Layer.provideMerge(layerPostgresClient(options)),
    Layer.provide(Store.layerHealth)
  ) as unknown as Layer.Layer<Engine | RunStore.RunStore | SqlClient.SqlClient | Cluster, StoreError, R | Redactor.Redactor>
}
