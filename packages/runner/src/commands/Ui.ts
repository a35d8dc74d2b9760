/**
 * `relais ui --store <path|url>`: the dashboard and the API's reading routes over a store, for
 * whoever wants to look at the runs without serving workflows (an operator's machine, a
 * manager's browser).
 *
 * - It serves no workflow and executes nothing: no engine runs here, no schedule fires, no
 *   webhook is received.
 * - With no token (`serve.tokens` of the configuration) it is read-only, on a loopback address
 *   only: every action (cancel, resume, restart) is refused with the reason. With tokens, each
 *   caller may do what its scopes allow:
 *   - on PostgreSQL the actions go to the workers (this process is a client of the cluster, as
 *     `relais run` is), so cancel, resume and restart all work;
 *   - on SQLite the runs execute in the process that holds the store (`relais serve`,
 *     `relais run`): a running run's cancellation is written to the store, and that process
 *     stops it; resuming and restarting are refused with the command that does them.
 * - The exposure rules are those of `relais serve` (`serve/Auth.ts`): off loopback, tokens and
 *   HTTPS are required.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Engine, Plugin, RunStore } from "@relais/core"
import { Context, Deferred, Effect, Layer, Option } from "effect"
import * as Config from "../Config.js"
import { UsageError } from "../Errors.js"
import * as Output from "../Output.js"
import * as Store from "../Store.js"
import * as Workers from "../Workers.js"
import * as Api from "../serve/Api.js"
import * as Auth from "../serve/Auth.js"
import type * as Server from "../serve/Server.js"
import { version } from "../cli/Commands.js"
import * as Cluster from "./Cluster.js"
import * as Common from "./Common.js"
import { storeExists } from "./Runs.js"
import * as Serve from "./Serve.js"

/**
 * The flags of `relais ui`.
 *
 * @since 0.1.0
 */
export interface Flags {
  readonly store: Option.Option<string>
  readonly listen: Option.Option<string>
  readonly config: Option.Option<string>
}

/**
 * Where the dashboard listens when `--listen` does not say (beside `relais serve`'s 8080).
 *
 * @since 0.1.0
 */
export const defaultListen = { host: "127.0.0.1", port: 8090 }

/**
 * The caller of a `relais ui` with no token: it may read, and nothing else.
 *
 * @since 0.1.0
 */
export const readingCaller: Auth.Caller = { name: "open (relais ui: read-only)", scopes: ["read"] }

/**
 * The handler of `relais ui`.
 *
 * @since 0.1.0
 */
export const handler = (flags: Flags) =>
  Effect.gen(function*() {
    const output = yield* Output.Output
    const log = Workers.log
    const configFile = yield* Config.load(flags.config)
    const setting = Serve.serveSettings(configFile)

    const listen = yield* Workers.parseAddress(
      Option.getOrElse(flags.listen, () => `${defaultListen.host}:${defaultListen.port}`),
      "--listen",
      defaultListen,
      { anyPort: true }
    )
    const tokens = setting("tokens") ?? []
    const tls = setting("tls")
    yield* Auth.checkExposure({
      command: "relais ui",
      host: listen.host,
      port: listen.port,
      tokens: tokens.length,
      tls: tls !== undefined,
      trustProxy: setting("trustProxy") ?? false
    })
    const pem = tls === undefined ? undefined : yield* Serve.readTls(tls)
    const location = yield* Store.locate(flags.store, flags.config)
    const acting = tokens.length > 0

    // The store: a client of the workers on PostgreSQL; on SQLite the store alone (the process
    // that executes its runs may hold it), written only to ask for a cancellation.
    const registry = yield* Plugin.PluginRegistry
    const opened = location.kind === "postgres"
      ? yield* Effect.map(Layer.build(Cluster.layerClient(location, "relais ui", registry)), (context) => ({
        store: Context.get(context, RunStore.RunStore),
        sql: Context.get(context, SqlClient.SqlClient),
        engine: Context.get(context, Engine.Engine) as Engine.Service | undefined,
        idle: undefined
      }))
      : yield* Effect.gen(function*() {
        if (!(yield* storeExists(location.file))) {
          return yield* new UsageError({ reason: `there is no store at ${location.file} (--store, or store: in the configuration)` })
        }
        const context = yield* Layer.build(
          acting
            ? RunStore.layerSql.pipe(Layer.provideMerge(Engine.layerSqliteClient({ filename: location.file })))
            : RunStore.layerSqlReadonly.pipe(Layer.provideMerge(Engine.layerSqliteClient({ filename: location.file, readonly: true })))
        )
        return {
          store: Context.get(context, RunStore.RunStore),
          sql: Context.get(context, SqlClient.SqlClient),
          engine: undefined,
          idle: `relais ui does not execute runs: on a SQLite store they execute in the process that holds it (relais serve, relais run); resume or restart there, or with relais resume and relais restart`
        }
      })

    const say = (text: string) => Effect.provideService(log(text), Output.Output, output)
    const options: Server.Options = {
      catalog: { directory: "", workflows: new Map(), rejected: [] },
      engine: opened.engine,
      // On PostgreSQL a resumed run is executed by the workers; this process follows it.
      resumeInBackground: opened.engine === undefined ? undefined : Serve.resumeInBackground(opened.engine, yield* Effect.scope, say),
      idle: opened.idle,
      openCaller: readingCaller,
      store: opened.store,
      sql: opened.sql,
      tokens,
      bodyLimit: setting("bodyLimit") ?? 64 * 1024,
      version,
      accepting: () => true,
      log: say
    }
    const { url } = yield* Serve.listenApi(options, listen, pem)
    yield* log(
      `relais ui listening on ${url} (dashboard ${url}/ui, API ${Api.prefix}); store: ${Store.describe(location)}; ${
        acting
          ? `tokens: ${tokens.length}, each may do what its scopes allow${opened.idle !== undefined ? " (on SQLite: cancel only)" : ""}`
          : "read-only (no token in serve.tokens)"
      }`
    )
    const stop = yield* Workers.stopSignals
    const signal = yield* Deferred.await(stop)
    yield* log(`${signal}: stopped`)
  }).pipe(
    Effect.scoped,
    Common.provideRegistry({ sandbox: false, configFile: flags.config })
  )
