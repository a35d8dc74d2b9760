/**
 * `relais serve`: one process that serves the HTTP API of `serve/Api.ts` and executes runs.
 *
 * - The workflows are the YAML files of `--workflows` (or `serve.workflows`), checked at
 *   start-up; a file with a problem is reported on stderr and not served.
 * - On SQLite this process is the engine (as `relais run` is); on PostgreSQL it joins the
 *   workers exactly as `relais worker` does (`Workers.ts`), and any worker executes the runs it
 *   starts.
 * - Exposure: with no token the API is open, on loopback only (a banner says so); off loopback
 *   tokens are required, and HTTPS (`serve.tls`) unless `serve.trustProxy` (`serve/Auth.ts`).
 * - SIGTERM or Ctrl-C: the server stops accepting connections, the engine drains (steps in
 *   flight finish within `--grace`), and the process exits 0.
 *
 * Runs start only through the `Start` function built here (`serve/Start.ts`): the API's route
 * uses it, and so will the scheduler and the webhook triggers (forked where `start` is built).
 *
 * @since 0.1.0
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as SqlClient from "@effect/sql/SqlClient"
import { Engine, Plugin, ProviderKit, Redactor, RunStore } from "@relais/core"
import { Context, Deferred, Duration, Effect, Either, Layer, Option, ParseResult, Redacted, Schema, type Scope } from "effect"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Https from "node:https"
import * as Config from "../Config.js"
import { UsageError } from "../Errors.js"
import * as Output from "../Output.js"
import * as Providers from "../Providers.js"
import * as Report from "../Report.js"
import * as Store from "../Store.js"
import * as Targets from "../Targets.js"
import * as Workers from "../Workers.js"
import * as Api from "../serve/Api.js"
import * as Auth from "../serve/Auth.js"
import * as Hooks from "../serve/Hooks.js"
import * as Scheduler from "../schedule/Scheduler.js"
import * as Server from "../serve/Server.js"
import * as Start from "../serve/Start.js"
import * as Workflows from "../serve/Workflows.js"
import { version } from "../cli/Commands.js"
import * as Common from "./Common.js"

/**
 * The flags of `relais serve`.
 *
 * @since 0.1.0
 */
export interface Flags {
  readonly workflows: Option.Option<string>
  readonly listen: Option.Option<string>
  readonly store: Option.Option<string>
  readonly grace: Option.Option<string>
  readonly workerListen: Option.Option<string>
  readonly workerAdvertise: Option.Option<string>
  readonly profile: Option.Option<string>
  readonly config: Option.Option<string>
}

/**
 * Where the API listens when neither `--listen` nor `serve.listen` says.
 *
 * @since 0.1.0
 */
export const defaultListen = { host: "127.0.0.1", port: 8080 }

const readPem = (file: string, what: string) =>
  Effect.try({
    try: () => Fs.readFileSync(file),
    catch: (error) =>
      new UsageError({ reason: `serve.tls.${what}: cannot read ${file} (${String((error as { readonly code?: unknown }).code ?? error)})` })
  })

/**
 * The `serve:` section of the configuration file (`relais serve`, `relais ui`), one setting at
 * a time; undefined when the file or the setting is absent.
 *
 * @since 0.1.0
 */
export const serveSettings = (configFile: Option.Option<Config.ConfigFile>) => {
  const settings = Option.flatMap(configFile, (c) => Option.fromNullable(c.serve))
  return <K extends keyof Config.ServeSpec>(key: K): Config.ServeSpec[K] | undefined =>
    Option.isSome(settings) ? settings.value[key] : undefined
}

/**
 * The API's resume: the run is resumed in the background (in `scope`), its end or failure said
 * in the server's log, and the route answers at once.
 *
 * @since 0.1.0
 */
export const resumeInBackground = (
  engine: Engine.Service,
  scope: Scope.Scope,
  say: (text: string) => Effect.Effect<void>
) =>
(runId: string): Effect.Effect<void> =>
  engine.resume(runId).pipe(
    Effect.flatMap((record) => say(`run ${runId} resumed: ${record.status}`)),
    Effect.catchAll((error) => say(`run ${runId} could not be resumed: ${error.message}`)),
    Effect.forkIn(scope),
    Effect.asVoid
  )

/**
 * The certificate and key of `serve.tls`, read now (a missing file is refused before anything
 * is opened).
 *
 * @since 0.1.0
 */
export const readTls = (tls: { readonly cert: string; readonly key: string }) =>
  Effect.all({ cert: readPem(tls.cert, "cert"), key: readPem(tls.key, "key") })

/**
 * Serve the API and the dashboard (`Server.layerServe`) on `listen`, over HTTPS when a
 * certificate is given, in the scope: the Node server (to stop it) and its URL.
 *
 * @since 0.1.0
 */
export const listenApi = (
  options: Server.Options,
  listen: { readonly host: string; readonly port: number },
  pem: { readonly cert: Buffer; readonly key: Buffer } | undefined
) =>
  Effect.gen(function*() {
    const server: Http.Server = pem === undefined
      ? Http.createServer()
      : Https.createServer({ cert: pem.cert, key: pem.key }) as unknown as Http.Server
    // Keep idle connections longer than clients do (Node's fetch keeps them 4 s past their last
    // use): a server closing one as a client reuses it resets that request (ECONNRESET, seen
    // in a burst of webhooks on a busy machine). Headers get a little longer still.
    server.keepAliveTimeout = 65_000
    server.headersTimeout = 66_000
    yield* Layer.build(
      Server.layerServe(options).pipe(Layer.provide(NodeHttpServer.layer(() => server, { host: listen.host, port: listen.port })))
    ).pipe(
      Effect.catchAllCause((cause) =>
        Effect.fail(new UsageError({ reason: `cannot listen on ${listen.host}:${listen.port}: ${String(cause).split("\n")[0]}` }))
      )
    )
    const address = server.address()
    const port = address !== null && typeof address === "object" ? address.port : listen.port
    const url = `${pem === undefined ? "http" : "https"}://${listen.host.includes(":") ? `[${listen.host}]` : listen.host}:${port}`
    return { server, url }
  })

/**
 * The handler of `relais serve`.
 *
 * @since 0.1.0
 */
export const handler = (flags: Flags) =>
  Effect.gen(function*() {
    const output = yield* Output.Output
    const log = Workers.log
    const configFile = yield* Config.load(flags.config)
    const setting = serveSettings(configFile)

    // Where, and for whom: refused before anything is opened.
    const listenText = Option.getOrElse(flags.listen, () => setting("listen") ?? `${defaultListen.host}:${defaultListen.port}`)
    const listen = yield* Workers.parseAddress(listenText, "--listen", defaultListen, { anyPort: true })
    const tokens = setting("tokens") ?? []
    const tls = setting("tls")
    const { open } = yield* Auth.checkExposure({
      command: "relais serve",
      host: listen.host,
      port: listen.port,
      tokens: tokens.length,
      tls: tls !== undefined,
      trustProxy: setting("trustProxy") ?? false
    })
    const directory = Option.isSome(flags.workflows) ? flags.workflows.value : setting("workflows")
    if (directory === undefined) {
      return yield* new UsageError({ reason: "relais serve needs the workflows to serve: --workflows <dir>, or serve.workflows in the configuration" })
    }
    const grace = yield* Option.match(flags.grace, {
      onNone: () => Either.right(Duration.seconds(30)),
      onSome: (text) =>
        Either.mapLeft(ProviderKit.parseDuration(text), (reason) => new UsageError({ reason: `--grace ${JSON.stringify(text)}: ${reason}` }))
    })
    const pem = tls === undefined ? undefined : yield* readTls(tls)
    const location = yield* Store.locate(flags.store, flags.config)
    if (location.kind === "sqlite" && (Option.isSome(flags.workerListen) || Option.isSome(flags.workerAdvertise))) {
      return yield* new UsageError({ reason: "--worker-listen and --worker-advertise join the workers of a PostgreSQL store; on SQLite this process executes every run itself" })
    }

    // The plugins it can serve, and the workflows.
    const registry = yield* Plugin.PluginRegistry
    const prepared = yield* Workers.prepare({ profile: flags.profile, configFile: flags.config })
    const loaded = yield* Workflows.loadDirectory(directory)
    const catalog = yield* refuseUnconfigured(loaded, registry, prepared, location.kind === "sqlite")
    for (const rejected of catalog.rejected) {
      yield* output.writeErr(`${rejected.problems.map((p) => `${output.styleErr.red("error:")} ${p}`).join("\n")}\n`)
      yield* Output.warn(`${rejected.file} is not served`)
    }
    if (catalog.workflows.size === 0) yield* Output.warn(`no workflow is served: ${directory} holds no valid workflow file`)

    const stop = yield* Workers.stopSignals
    const redactor = yield* Redactor.Redactor
    const scope = yield* Effect.scope

    // The engine: this process on SQLite, one of the workers on PostgreSQL.
    let sqlForTargets: SqlClient.SqlClient | undefined
    const engineLayer = location.kind === "postgres"
      ? yield* Effect.gen(function*() {
        const workerListen = yield* Workers.parseAddress(
          Option.getOrElse(flags.workerListen, () => `127.0.0.1:${Workers.defaultPort}`),
          "--worker-listen",
          { host: "127.0.0.1", port: Workers.defaultPort }
        )
        const advertised = Option.isSome(flags.workerAdvertise)
          ? yield* Workers.parseAddress(flags.workerAdvertise.value, "--worker-advertise", workerListen)
          : workerListen
        if (Option.isNone(flags.workerAdvertise) && (workerListen.host === "0.0.0.0" || workerListen.host === "::")) {
          return yield* new UsageError({
            reason: `--worker-listen ${workerListen.host}:${workerListen.port} listens on every interface: say with --worker-advertise <host>:<port> where the other workers reach this one`
          })
        }
        return Workers.layerPostgresEngine({ location, listen: workerListen, advertised, role: "relais serve", registry, prepared, output })
      })
      : Engine.layerSqlite({
        filename: location.file,
        resolve: Workers.resolver(registry, prepared),
        onExecution: (event) => {
          const say = (text: string) => Effect.provideService(log(text), Output.Output, output)
          switch (event._tag) {
            case "Started":
              return Effect.zipRight(
                sqlForTargets === undefined ? Effect.void : Targets.record(event.runId, prepared.info).pipe(
                  Effect.provideService(SqlClient.SqlClient, sqlForTargets),
                  Effect.catchAll((error) => say(`run ${event.runId}: its target could not be recorded: ${error.message}`))
                ),
                event.execution > 1 ? say(`run ${event.runId} (${event.workflow}) continues, execution ${event.execution}`) : Effect.void
              )
            case "Finished":
              return say(`run ${event.runId} ${event.status}`)
            case "Left":
              return Effect.void
          }
        }
      }).pipe(Layer.provide(Layer.succeedContext(prepared.services)))
    const context = yield* Layer.build(engineLayer)
    const engine = Context.get(context, Engine.Engine)
    const store = Context.get(context, RunStore.RunStore)
    const sql = Context.get(context, SqlClient.SqlClient)
    sqlForTargets = sql

    const say = (text: string) => Effect.provideService(log(text), Output.Output, output)
    const start = yield* Start.make({
      catalog,
      engine,
      store,
      redactor,
      onStarted: (request) =>
        say(`run ${request.runId} (${request.workflow}) started by ${request.trigger.kind}${request.trigger.by !== undefined ? ` (${request.trigger.by})` : ""}`)
    })
    // The schedules of the workflows served: every worker fires them, a slot's run id is the
    // same everywhere, so each slot starts one run (schedule/Scheduler.ts).
    const schedules = Scheduler.fromWorkflows([...catalog.workflows.values()])
    const testClock = process.env[Scheduler.testClockVariable]
    if (testClock !== undefined && testClock !== "") {
      const parsed = Scheduler.parseTestClock(testClock)
      if ("error" in parsed) return yield* new UsageError({ reason: `${Scheduler.testClockVariable}: ${parsed.error}` })
    }
    yield* Scheduler.run({
      schedules,
      // Its lines in the server's log (Effect.logInfo is below what the CLI shows).
      log: say,
      start: (request) =>
        start({
          workflow: request.workflow,
          inputs: request.inputs,
          runId: request.runId,
          trigger: { kind: "schedule", by: request.trigger.slot, data: { slot: request.trigger.slot, cron: request.trigger.cron, timezone: request.trigger.timezone } }
        }).pipe(Effect.tapError((error) => say(`schedule of ${request.workflow}, slot ${request.trigger.slot}: ${error.message}`)))
    }).pipe(
      Effect.provideService(SqlClient.SqlClient, sql),
      // FOR TESTS ONLY: RELAIS_TEST_CLOCK gives the scheduler a clock of its own (unset: the real one).
      Effect.provide(Scheduler.testClockFromEnv()),
      Effect.catchAll((error) => say(`the schedules cannot run: ${error.message}`)),
      Effect.forkIn(scope)
    )

    // The webhooks (serve.webhooks): recorded, then dispatched to the matching workflows.
    const hooks = yield* hooksOf(Option.getOrUndefined(configFile), setting("webhooks") ?? [], registry, redactor)
    const intake = hooks.length === 0 ? undefined : yield* Hooks.make({ hooks, catalog, start, log: say }).pipe(
      Effect.provideService(SqlClient.SqlClient, sql),
      Effect.mapError((error) => new UsageError({ reason: `the webhooks cannot be recorded in the store: ${error.message}` }))
    )
    if (intake !== undefined) {
      yield* Hooks.dispatchLoop(intake, { interval: Duration.millis(250), log: say }).pipe(
        Effect.provideService(SqlClient.SqlClient, sql),
        Effect.forkIn(scope)
      )
    }

    // The API.
    let accepting = false
    const bodyLimit = setting("bodyLimit") ?? Server.defaultBodyLimit
    const options: Server.Options = {
      catalog,
      start,
      engine,
      store,
      sql,
      tokens,
      bodyLimit,
      target: prepared.info,
      version,
      accepting: () => accepting,
      resumeInBackground: resumeInBackground(engine, scope, say),
      log: say,
      hooks: intake
    }
    const { server, url } = yield* listenApi(options, listen, pem)
    accepting = true
    if (open) {
      yield* Output.warn(
        `the API is open: no token is configured (serve.tokens), so anyone on this machine can start runs; add tokens (relais token create) before exposing it`
      )
    }
    yield* log(
      `relais serve listening on ${url} (API ${Api.prefix}, OpenAPI /openapi.json); workflows: ${
        [...catalog.workflows.keys()].join(", ") || "none"
      }; store: ${Store.describe(location)}; target: ${Report.targetText(prepared.info)}`
    )
    if (schedules.length > 0) {
      yield* log(`schedules: ${schedules.map((s) => `${s.workflow} (${s.cron.text}, ${s.timezone}, missed: ${s.missed})`).join("; ")}`)
    }
    if (intake !== undefined) {
      yield* log(`webhooks: ${intake.plugins.map((p) => `POST /hooks/${p} (token: POST /hooks/${p}/token)`).join("; ")}`)
    }

    // Stop: no new connection, drain, then the scope closes the engine and the server.
    const signal = yield* Deferred.await(stop)
    accepting = false
    yield* Effect.sync(() => {
      server.close()
      server.closeIdleConnections()
    })
    yield* Workers.drain(engine, signal, grace)
    yield* Effect.sync(() => server.closeAllConnections())
    yield* log("drained; stopped")
  }).pipe(Effect.scoped, Common.provideRegistry({ sandbox: false, configFile: flags.config }))

/**
 * The webhooks of `serve.webhooks`, each checked against its plugin: one that declares a
 * webhook, settings its schema accepts, the client secret read (and registered with the
 * redactor: it never appears in output).
 */
const hooksOf = (
  configFile: Config.ConfigFile | undefined,
  specs: ReadonlyArray<Config.WebhookSpec>,
  registry: Plugin.Registry,
  redactor: Redactor.Service
) =>
  Effect.forEach(specs, (spec) =>
    Effect.gen(function*() {
      const where = `${configFile?.file ?? "the configuration"}:${spec.at.line ?? 0}:${spec.at.column ?? 0} serve.webhooks.${spec.plugin}`
      const plugin = registry.plugin(spec.plugin)
      const webhook = plugin?.trigger?.webhook
      if (plugin === undefined || webhook === undefined) {
        const receivers = registry.plugins.filter((p) => p.trigger?.webhook !== undefined).map((p) => p.name)
        return yield* new UsageError({
          reason: `${where}: ${plugin === undefined ? `no plugin "${spec.plugin}"` : `the plugin "${spec.plugin}" receives no webhook`}${
            receivers.length > 0 ? `; the plugins with webhooks are ${receivers.join(", ")}` : ""
          }`
        })
      }
      const secret = yield* Config.webhookSecretOf(configFile!, spec)
      yield* redactor.register(secret)
      const settings = webhook.settings === undefined
        ? spec.settings
        : yield* Schema.decodeUnknown(webhook.settings, { errors: "all", onExcessProperty: "error" })(spec.settings ?? {}).pipe(
          Effect.mapError((error) =>
            new UsageError({ reason: `${where}.settings: ${ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => `${i.path.join(".") || "settings"}: ${i.message}`).join("; ")}` })
          )
        )
      return {
        plugin,
        webhook,
        clientId: spec.clientId,
        clientSecret: Redacted.make(secret),
        settings,
        debounce: Duration.millis(spec.debounceMillis),
        tokenLifetime: Duration.millis(spec.tokenLifetimeMillis)
      } satisfies Hooks.Hook
    }))

/**
 * On SQLite, a workflow that uses a plugin this process has no configuration for cannot run
 * (no other process would take its runs): it is refused like a file with a problem. On
 * PostgreSQL another worker may have that configuration: it is served.
 */
const refuseUnconfigured = (
  catalog: Workflows.Catalog,
  registry: Plugin.Registry,
  prepared: Workers.Prepared,
  alone: boolean
) =>
  Effect.gen(function*() {
    if (!alone) return catalog
    const ready = new Set(prepared.ready.map((p) => p.name))
    const workflows = new Map(catalog.workflows)
    const rejected = [...catalog.rejected]
    for (const [name, loaded] of catalog.workflows) {
      const missing = Providers.pluginsUsed(registry, loaded.definition.text).filter((p) => !ready.has(p.name))
      if (missing.length === 0) continue
      workflows.delete(name)
      rejected.push({
        file: loaded.file,
        problems: missing.map((plugin) =>
          `${loaded.file}: it uses ${Plugin.label(plugin)}, which has no configuration here (${Providers.sourceOf(prepared.target)}): ${
            prepared.missing.find((m) => m.plugin.name === plugin.name)?.why ?? "not configured"
          }`
        )
      })
    }
    return { ...catalog, workflows, rejected }
  })
