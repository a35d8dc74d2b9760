/**
 * What a long-running process that executes runs needs, shared by `relais worker` and `relais
 * serve`: the plugins it can serve (those its target configures), the resolver that turns a
 * stored run back into a workflow, the PostgreSQL engine that joins the workers, the log line
 * format, the stop signals and the drain.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Engine, Errors, Plugin, type Run, type Workflow } from "@relais/core"
import { Clock, type Context, Deferred, Duration, Effect, Either, Exit, Layer, Option, type Scope } from "effect"
import * as Config from "./Config.js"
import { UsageError } from "./Errors.js"
import * as Output from "./Output.js"
import * as Providers from "./Providers.js"
import * as Report from "./Report.js"
import type * as Store from "./Store.js"
import * as Targets from "./Targets.js"
import * as Load from "./yaml/Load.js"

/**
 * The default port a worker listens on for its peers.
 *
 * @since 0.1.0
 */
export const defaultPort = 34431

/**
 * `host:port`, `host` or `:port`.
 *
 * @since 0.1.0
 */
export const parseAddress = (
  text: string,
  flag: string,
  defaults: { readonly host: string; readonly port: number },
  /** Port 0 allowed: the system picks a free port (the caller says which it got). */
  options: { readonly anyPort?: boolean } = {}
): Either.Either<{ readonly host: string; readonly port: number }, UsageError> => {
  const match = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(text.trim())
  const port = match?.[2] === undefined ? defaults.port : Number(match[2])
  if (match === null || !Number.isInteger(port) || port < (options.anyPort === true ? 0 : 1) || port > 65535) {
    return Either.left(new UsageError({ reason: `${flag} ${JSON.stringify(text)}: expected host:port, e.g. 127.0.0.1:${defaults.port}` }))
  }
  const host = match[1] === "" ? defaults.host : match[1]!.replace(/^\[|\]$/g, "")
  return Either.right({ host, port })
}

/** `1-16, 20, 33-40`. */
export const ranges = (numbers: ReadonlyArray<number>): string => {
  const sorted = [...numbers].sort((a, b) => a - b)
  const parts: Array<string> = []
  for (let i = 0; i < sorted.length;) {
    let j = i
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`)
    i = j + 1
  }
  return parts.join(", ")
}

const timestamp = Effect.map(Clock.currentTimeMillis, (now) => new Date(now).toISOString())

/**
 * A line of a long-running process's log, on stderr, after its time.
 *
 * @since 0.1.0
 */
export const log = (text: string): Effect.Effect<void, never, Output.Output> =>
  Effect.flatMap(Output.Output, (output) =>
    Effect.flatMap(timestamp, (at) => output.writeErr(`${output.styleErr.dim(at)} ${text}\n`)))

/**
 * The plugins a process can serve (those its target configures), the services they need, and
 * how its target is described.
 *
 * @since 0.1.0
 */
export interface Prepared {
  readonly target: Config.Target
  readonly ready: ReadonlyArray<Plugin.Plugin>
  readonly missing: ReadonlyArray<{ readonly plugin: Plugin.Plugin; readonly why: string }>
  readonly info: Report.TargetInfo
  /** The services of the ready plugins, built once. */
  readonly services: Context.Context<never>
}

/**
 * Resolve the target (`--profile`, else the environment), sort the plugins of the registry into
 * configured and not, and build the services of the configured ones (in the scope).
 *
 * @since 0.1.0
 */
export const prepare = (options: { readonly profile: Option.Option<string>; readonly configFile: Option.Option<string> }) =>
  Effect.gen(function*() {
    const registry = yield* Plugin.PluginRegistry
    const { target, warnings } = yield* Config.resolve({ profile: options.profile, configFile: options.configFile })
    for (const warning of warnings) yield* Output.warn(warning.toString())
    const ready: Array<Plugin.Plugin> = []
    const missing: Array<{ readonly plugin: Plugin.Plugin; readonly why: string }> = []
    for (const plugin of registry.plugins) {
      const config = yield* Effect.either(Providers.configOf(target, plugin))
      if (Either.isRight(config)) ready.push(plugin)
      else missing.push({ plugin, why: config.left.message })
    }
    const endpoints = Providers.endpoints(target, ready)
    const info: Report.TargetInfo = {
      kind: target.kind,
      ...(target.profile !== undefined ? { profile: target.profile } : {}),
      production: target.production,
      endpoints,
      labels: Providers.labels(ready.filter((p) => endpoints[p.name] !== undefined))
    }
    const services = (yield* Layer.build(Providers.layerTarget(target, ready))) as Context.Context<never>
    const prepared: Prepared = { target, ready, missing, info, services }
    return prepared
  })

/**
 * The engine's `resolve`: a stored run's definition compiled again, refused when it uses a
 * plugin this process has no configuration for (another process that has it takes the run).
 *
 * @since 0.1.0
 */
export const resolver = (registry: Plugin.Registry, prepared: Prepared) => {
  const readyNames = new Set(prepared.ready.map((p) => p.name))
  return (record: Run.RunRecord) =>
    Effect.gen(function*() {
      const loaded = yield* Load.resolveRun(record).pipe(
        Effect.mapError((error) => new Errors.WorkflowNotFound({ name: record.workflow, reason: error.message }))
      )
      const unusable = Providers.pluginsUsed(registry, record.definition?.text ?? "").filter((p) => !readyNames.has(p.name))
      if (unusable.length > 0) {
        return yield* new Errors.WorkflowNotFound({
          name: record.workflow,
          reason: `this worker has no configuration for ${unusable.map((p) => p.name).join(", ")} (${Providers.sourceOf(prepared.target)})`
        })
      }
      return Option.some(loaded.workflow as unknown as Workflow.Workflow<any, any, never>)
    }).pipe(Effect.provideService(Plugin.PluginRegistry, registry))
}

/**
 * The engine of a process that joins the workers of a PostgreSQL store: it executes runs, logs
 * each run it picks up, ends or leaves, and records the target each run picked up here goes to.
 *
 * @since 0.1.0
 */
export const layerPostgresEngine = (options: {
  readonly location: Store.Location & { readonly kind: "postgres" }
  readonly listen: { readonly host: string; readonly port: number }
  readonly advertised: { readonly host: string; readonly port: number }
  /** Who connects (`relais worker`, `relais serve`), for the database's activity view. */
  readonly role: string
  readonly registry: Plugin.Registry
  readonly prepared: Prepared
  readonly output: Output.Service
}) => {
  const { advertised, prepared } = options
  const address = `${advertised.host}:${advertised.port}`
  const logHere = (text: string) => Effect.provideService(log(text), Output.Output, options.output)
  // The store's client, once the engine is up: to record where each run picked up here goes.
  let store: SqlClient.SqlClient | undefined
  const recordTarget = (runId: string) =>
    store === undefined ? Effect.void : Targets.record(runId, prepared.info).pipe(
      Effect.provideService(SqlClient.SqlClient, store),
      Effect.catchAll((error) => logHere(`run ${runId}: its target could not be recorded: ${error.message}`))
    )
  const engine = Engine.layerPostgres({
    url: options.location.url,
    worker: { host: advertised.host, port: advertised.port, listenHost: options.listen.host },
    applicationName: `${options.role} ${address}`.slice(0, 63),
    resolve: resolver(options.registry, prepared),
    onExecution: (event) => {
      switch (event._tag) {
        case "Started":
          return Effect.zipRight(
            recordTarget(event.runId),
            logHere(`run ${event.runId} (${event.workflow}) picked up${event.execution > 1 ? `, execution ${event.execution}` : ""}`)
          )
        case "Finished":
          return logHere(`run ${event.runId} ${event.status}`)
        case "Left":
          return logHere(`run ${event.runId} left this worker; another one continues it`)
      }
    }
  }).pipe(Layer.provide(Layer.succeedContext(prepared.services)))
  const keepClient = Layer.effectDiscard(Effect.map(SqlClient.SqlClient, (client) => {
    store = client
  }))
  return Layer.provideMerge(keepClient, engine)
}

/**
 * Answer SIGTERM and SIGINT in this process: the first completes the deferred returned (the
 * caller stops gracefully), a second exits at once with 143. The runtime's own handlers would
 * interrupt at once: a service manager's normal stop must drain first.
 *
 * @since 0.1.0
 */
export const stopSignals: Effect.Effect<Deferred.Deferred<string>> = Effect.gen(function*() {
  const stop = yield* Deferred.make<string>()
  yield* Effect.sync(() => {
    let signals = 0
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1
      if (signals === 1) return Deferred.unsafeDone(stop, Exit.succeed(signal))
      process.stderr.write("second signal: stopping now; the steps in flight are reconciled where their runs continue\n")
      process.exit(143)
    }
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      process.removeAllListeners(signal)
      process.on(signal, onSignal)
    }
  })
  return stop
})

/**
 * Drain the engine (no new step starts here; the steps in flight finish) within the grace; past
 * it, exit 143 at once: a started step runs to its end (the journal needs its outcome), so the
 * grace is a hard limit only by ending the process. Where the runs continue (another worker, or
 * this store's next engine) the steps that were in flight are reconciled.
 *
 * @since 0.1.0
 */
export const drain = (
  engine: Engine.Service,
  signal: string,
  grace: Duration.Duration
): Effect.Effect<void, never, Output.Output | Scope.Scope> =>
  Effect.gen(function*() {
    const inFlight = yield* engine.stepsInFlight
    yield* log(
      `${signal}: stopping; no new step starts here; ${inFlight} step${inFlight === 1 ? "" : "s"} in flight, given up to ${Duration.format(grace)} to finish`
    )
    const drained = yield* engine.drain.pipe(Effect.timeoutOption(grace))
    if (Option.isNone(drained)) {
      const left = yield* engine.stepsInFlight
      yield* log(`grace over: exiting with ${left} step${left === 1 ? "" : "s"} in flight (reconciled where their runs continue)`)
      return yield* Effect.sync(() => process.exit(143))
    }
  })
