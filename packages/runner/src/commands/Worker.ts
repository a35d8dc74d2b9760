/**
 * `relais worker`: a long-running process that joins the cluster of a PostgreSQL store and
 * executes runs. Any run started from a workflow file is executed from its stored definition,
 * with this worker's plugins and configuration (`--profile`, else the environment).
 *
 * It logs (on stderr) where it listens, which shards it holds, and each run it picks up. On
 * SIGTERM (or Ctrl-C) it drains: no new step starts here, the steps in flight finish (within
 * `--grace`), then it leaves the cluster and its shards go to the other workers at once; the
 * runs that were waiting here continue there. A second signal, or the end of the grace, stops
 * at once: an interrupted step is reconciled (or run again) by the worker that continues its run.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Engine, Errors, Plugin, ProviderKit, type Run, type Workflow } from "@relais/core"
import { Clock, Deferred, Duration, Effect, Either, Exit, Layer, Option, Schedule } from "effect"
import * as Config from "../Config.js"
import { UsageError } from "../Errors.js"
import * as Output from "../Output.js"
import * as Providers from "../Providers.js"
import * as Report from "../Report.js"
import * as Store from "../Store.js"
import * as Targets from "../Targets.js"
import * as Common from "./Common.js"
import * as Load from "../yaml/Load.js"

/**
 * The flags of `relais worker`.
 *
 * @since 0.1.0
 */
export interface Flags {
  readonly store: Option.Option<string>
  readonly listen: Option.Option<string>
  readonly advertise: Option.Option<string>
  readonly grace: Option.Option<string>
  readonly profile: Option.Option<string>
  readonly config: Option.Option<string>
}

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
  defaults: { readonly host: string; readonly port: number }
): Either.Either<{ readonly host: string; readonly port: number }, UsageError> => {
  const match = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(text.trim())
  const port = match?.[2] === undefined ? defaults.port : Number(match[2])
  if (match === null || !Number.isInteger(port) || port < 1 || port > 65535) {
    return Either.left(new UsageError({ reason: `${flag} ${JSON.stringify(text)}: expected host:port, e.g. 127.0.0.1:${defaultPort}` }))
  }
  const host = match[1] === "" ? defaults.host : match[1]!.replace(/^\[|\]$/g, "")
  return Either.right({ host, port })
}

const timestamp = Effect.map(Clock.currentTimeMillis, (now) => new Date(now).toISOString())


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

/**
 * The handler of `relais worker`.
 *
 * @since 0.1.0
 */
export const handler = (flags: Flags) =>
  Effect.gen(function*() {
    const output = yield* Output.Output
    /** A line of the worker's log, on stderr. */
    const log = (text: string) => Effect.flatMap(timestamp, (at) => output.writeErr(`${output.styleErr.dim(at)} ${text}\n`))
    const location = yield* Store.locate(flags.store, flags.config)
    if (location.kind !== "postgres") {
      return yield* new UsageError({
        reason: `relais worker joins the workers of a PostgreSQL store (--store postgres://user@host:port/db, or RELAIS_STORE); ${
          location.explicit ? `${location.file} is a SQLite file` : "no store was given"
        }: on SQLite, relais run executes its run itself`
      })
    }
    const listen = yield* parseAddress(Option.getOrElse(flags.listen, () => `127.0.0.1:${defaultPort}`), "--listen", {
      host: "127.0.0.1",
      port: defaultPort
    })
    const advertised = Option.isSome(flags.advertise)
      ? yield* parseAddress(flags.advertise.value, "--advertise", listen)
      : listen
    if (Option.isNone(flags.advertise) && (listen.host === "0.0.0.0" || listen.host === "::")) {
      return yield* new UsageError({
        reason: `--listen ${listen.host}:${listen.port} listens on every interface: say with --advertise <host>:<port> where the other workers reach this one`
      })
    }
    const grace = yield* Option.match(flags.grace, {
      onNone: () => Either.right(Duration.seconds(30)),
      onSome: (text) =>
        Either.mapLeft(ProviderKit.parseDuration(text), (reason) => new UsageError({ reason: `--grace ${JSON.stringify(text)}: ${reason}` }))
    })

    // The plugins this worker can serve: those configured in its target.
    const registry = yield* Plugin.PluginRegistry
    const { target, warnings } = yield* Config.resolve({ profile: flags.profile, configFile: flags.config })
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
    const services = yield* Layer.build(Providers.layerTarget(target, ready))
    // SIGTERM or Ctrl-C: drain, leave the cluster, exit 0 (a service manager's normal stop).
    // The runtime's own handlers would interrupt at once: this command answers the signals
    // itself. A second signal stops at once.
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
    const readyNames = new Set(ready.map((p) => p.name))

    const resolve = (record: Run.RunRecord) =>
      Effect.gen(function*() {
        const loaded = yield* Load.resolveRun(record).pipe(
          Effect.mapError((error) => new Errors.WorkflowNotFound({ name: record.workflow, reason: error.message }))
        )
        const unusable = Providers.pluginsUsed(registry, record.definition?.text ?? "").filter((p) => !readyNames.has(p.name))
        if (unusable.length > 0) {
          return yield* new Errors.WorkflowNotFound({
            name: record.workflow,
            reason: `this worker has no configuration for ${unusable.map((p) => p.name).join(", ")} (${Providers.sourceOf(target)})`
          })
        }
        return Option.some(loaded.workflow as unknown as Workflow.Workflow<any, any, never>)
      }).pipe(Effect.provideService(Plugin.PluginRegistry, registry))

    const address = `${advertised.host}:${advertised.port}`
    // The store's client, once the engine is up: to record where each run picked up here goes.
    let store: SqlClient.SqlClient | undefined
    const recordTarget = (runId: string) =>
      store === undefined ? Effect.void : Targets.record(runId, info).pipe(
        Effect.provideService(SqlClient.SqlClient, store),
        Effect.catchAll((error) => log(`run ${runId}: its target could not be recorded: ${error.message}`))
      )
    const engineLayer = Engine.layerPostgres({
      url: location.url,
      worker: { host: advertised.host, port: advertised.port, listenHost: listen.host },
      applicationName: `relais worker ${address}`.slice(0, 63),
      resolve,
      onExecution: (event) => {
        switch (event._tag) {
          case "Started":
            return Effect.zipRight(
              recordTarget(event.runId),
              log(`run ${event.runId} (${event.workflow}) picked up${event.execution > 1 ? `, execution ${event.execution}` : ""}`)
            )
          case "Finished":
            return log(`run ${event.runId} ${event.status}`)
          case "Left":
            return log(`run ${event.runId} left this worker; another one continues it`)
        }
      }
    }).pipe(Layer.provide(Layer.succeedContext(services)))

    yield* Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const cluster = yield* Engine.Cluster
      store = yield* SqlClient.SqlClient
      yield* log(
        `worker ${address} joined ${location.display}${listen.host !== advertised.host || listen.port !== advertised.port ? ` (listening on ${listen.host}:${listen.port})` : ""}; target: ${Report.targetText(info)}`
      )
      yield* log(
        `plugins: ${ready.map((p) => p.name).join(", ") || "none"}${
          missing.length > 0 ? `; not configured here: ${missing.map((m) => m.plugin.name).join(", ")} (runs that use them wait for a worker that has them)` : ""
        }`
      )
      // The shards held, whenever they change.
      let last = ""
      yield* cluster.shards.pipe(
        Effect.flatMap((shards) => {
          const text = shards.length === 0 ? "none" : `${shards.length} of ${Engine.postgresShards} (${ranges(shards)})`
          if (text === last) return Effect.void
          last = text
          return log(`shards held: ${text}`)
        }),
        Effect.repeat(Schedule.spaced(Duration.millis(500))),
        Effect.forkScoped
      )
      // Stop: drain (steps in flight finish, within the grace), then leave the cluster.
      const signal = yield* Deferred.await(stop)
      const inFlight = yield* engine.stepsInFlight
      yield* log(
        `${signal}: stopping; no new step starts here; ${inFlight} step${inFlight === 1 ? "" : "s"} in flight, given up to ${Duration.format(grace)} to finish`
      )
      const drained = yield* engine.drain.pipe(Effect.timeoutOption(grace))
      if (Option.isNone(drained)) {
        // A step runs to its end once started (the journal needs its outcome): the grace is a
        // hard limit only by ending the process. The other workers take the shards once its
        // heartbeat expires, and reconcile the steps that were in flight.
        const left = yield* engine.stepsInFlight
        yield* log(`grace over: exiting with ${left} step${left === 1 ? "" : "s"} in flight (reconciled where their runs continue)`)
        return yield* Effect.sync(() => process.exit(143))
      }
      yield* log("drained; leaving the cluster: the shards go to the other workers")
    }).pipe(
      Effect.scoped,
      Effect.provide(engineLayer),
      Effect.ensuring(log("stopped"))
    )
  }).pipe(Effect.scoped, Common.provideRegistry({ sandbox: false, configFile: flags.config }))
