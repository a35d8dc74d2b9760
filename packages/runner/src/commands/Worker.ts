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
import { Engine, Plugin, ProviderKit } from "@relais/core"
import { Deferred, Duration, Effect, Either, Option, Schedule } from "effect"
import { UsageError } from "../Errors.js"
import * as Output from "../Output.js"
import * as Report from "../Report.js"
import * as Store from "../Store.js"
import * as Workers from "../Workers.js"
import * as Common from "./Common.js"

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
export const defaultPort = Workers.defaultPort

/**
 * `host:port`, `host` or `:port`.
 *
 * @since 0.1.0
 */
export const parseAddress = Workers.parseAddress

/** `1-16, 20, 33-40`. */
export const ranges = Workers.ranges

/**
 * The handler of `relais worker`.
 *
 * @since 0.1.0
 */
export const handler = (flags: Flags) =>
  Effect.gen(function*() {
    const output = yield* Output.Output
    const log = Workers.log
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
    const prepared = yield* Workers.prepare({ profile: flags.profile, configFile: flags.config })
    // SIGTERM or Ctrl-C: drain, leave the cluster, exit 0 (a service manager's normal stop).
    const stop = yield* Workers.stopSignals
    const address = `${advertised.host}:${advertised.port}`
    const engineLayer = Workers.layerPostgresEngine({ location, listen, advertised, role: "relais worker", registry, prepared, output })

    yield* Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const cluster = yield* Engine.Cluster
      yield* log(
        `worker ${address} joined ${location.display}${listen.host !== advertised.host || listen.port !== advertised.port ? ` (listening on ${listen.host}:${listen.port})` : ""}; target: ${Report.targetText(prepared.info)}`
      )
      yield* log(
        `plugins: ${prepared.ready.map((p) => p.name).join(", ") || "none"}${
          prepared.missing.length > 0 ? `; not configured here: ${prepared.missing.map((m) => m.plugin.name).join(", ")} (runs that use them wait for a worker that has them)` : ""
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
      yield* Workers.drain(engine, signal, grace)
      yield* log("drained; leaving the cluster: the shards go to the other workers")
    }).pipe(
      Effect.scoped,
      Effect.provide(engineLayer),
      Effect.ensuring(log("stopped"))
    )
  }).pipe(Effect.scoped, Common.provideRegistry({ sandbox: false, configFile: flags.config }))
