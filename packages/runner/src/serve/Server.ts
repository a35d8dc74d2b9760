/**
 * The HTTP server of `relais serve`: the implementation of `Api.ts` over the engine, the store
 * and the catalog of workflows, behind a guard that turns every error into a problem
 * (`application/problem+json`): unknown routes (404), bodies over the size cap (413), bodies
 * that are not JSON (415) or not well-formed (400), a request the API cannot decode (400), and
 * anything unexpected (500, with no detail: the cause goes to the server's log in one line).
 *
 * Runs are started only through the server's `Start` function (`serve/Start.ts`), which the
 * scheduler and webhook triggers use too.
 *
 * @since 0.1.0
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as SqlClient from "@effect/sql/SqlClient"
import { Engine, Redactor, Run, RunStore } from "@relais/core"
import { Cause, Clock, DateTime, Duration, Effect, Either, Layer, Option, Random, Redacted, Schema, Stream } from "effect"
import * as Config from "../Config.js"
import * as Targets from "../Targets.js"
import * as Check from "../yaml/Check.js"
import * as Graph from "../yaml/Graph.js"
import type * as Report from "../Report.js"
import * as Api from "./Api.js"
import * as Auth from "./Auth.js"
import * as Hooks from "./Hooks.js"
import * as Start from "./Start.js"
import * as Ui from "./Ui.js"
import * as Workflows from "./Workflows.js"

/**
 * The default cap on a request body: 1 MiB.
 *
 * @since 0.1.0
 */
export const defaultBodyLimit = 1024 * 1024

/**
 * What the server works with, built once by `relais serve`.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly catalog: Workflows.Catalog
  /** The one way runs are started (see `Start.make`); none: this server starts no run (`idle`). */
  readonly start?: Start.Start | undefined
  /**
   * The engine that executes, resumes and restarts runs; none: this server executes nothing
   * (`relais ui` on SQLite), and `idle` says why to those who ask.
   */
  readonly engine: Engine.Service | undefined
  /** Why this server starts, resumes and restarts no run, when it has no engine. */
  readonly idle?: string | undefined
  /** The caller of an API with no token configured: everything (`relais serve`) unless said. */
  readonly openCaller?: Auth.Caller | undefined
  readonly store: RunStore.Service
  readonly sql: SqlClient.SqlClient
  /** The configured tokens; none: the API is open (loopback only, checked at start-up). */
  readonly tokens: ReadonlyArray<Config.TokenSpec>
  readonly bodyLimit: number
  /** The target this server executes runs on (a resumed run must have started on the same); none: not checked here. */
  readonly target?: Report.TargetInfo | undefined
  /** relais's version, in the OpenAPI document. */
  readonly version: string
  /** Ready to take work: the engine is up and the server is not stopping. */
  readonly accepting: () => boolean
  /** Resume a run in the background (the server's scope): the route answers at once. */
  readonly resumeInBackground?: ((runId: string) => Effect.Effect<void>) | undefined
  /** A line of the server's log. */
  readonly log: (text: string) => Effect.Effect<void>
  /** The webhooks received (`serve.webhooks`); none: their routes answer 404. */
  readonly hooks?: Hooks.Intake | undefined
}

// -----------------------------------------------------------------------------
// Problems
// -----------------------------------------------------------------------------

const problemResponse = (problem: Api.Problem, headers: Record<string, string> = {}) =>
  HttpServerResponse.unsafeJson(problem, { status: problem.status, contentType: "application/problem+json", headers })

const startProblem = (error: Start.StartError): Api.Problem<404 | 409 | 422 | 503> => {
  switch (error.reason) {
    case "UnknownWorkflow":
      return Api.problem(404, error.detail)
    case "InvalidInputs":
      return Api.problem(422, error.detail, error.issues)
    case "RunIdTaken":
      return Api.problem(409, error.detail)
    case "Store":
      return Api.problem(503, error.detail)
  }
}

const storeProblem = (error: { readonly message: string }) => Api.problem(503, `the run store failed: ${error.message}`)

/** This server starts, resumes and restarts no run (`relais ui` on SQLite): why, and where to. */
const idleProblem = (options: Pick<Options, "idle">) =>
  Api.problem(409, options.idle ?? "this server executes no run")

const runNotFound = (runId: string) => Api.problem(404, `no run ${runId} in this server's store`)

/** A run of the store, or the problem that says why not (404, 503). */
const runOf = (options: Pick<Options, "store">, runId: string) =>
  options.store.get(runId).pipe(
    Effect.catchTags({
      RunNotFound: () => Effect.fail(runNotFound(runId)),
      StoreError: (error) => Effect.fail(storeProblem(error))
    })
  )

// -----------------------------------------------------------------------------
// Runs as the API shows them
// -----------------------------------------------------------------------------

const iso = (millis: number) => new Date(millis).toISOString()

const encodeRecord = Schema.encodeSync(Run.RunRecord)

const summary = (record: Run.RunRecord): Api.RunSummary => ({
  id: record.id,
  workflow: record.workflow,
  status: record.status,
  createdAt: iso(record.createdAt),
  updatedAt: iso(record.updatedAt),
  ...(record.finishedAt !== undefined ? { finishedAt: iso(record.finishedAt) } : {}),
  executions: record.executions,
  // The input is kept in its JSON form: nothing to encode.
  trigger: RunStore.triggerOf(record.input),
  ...(record.restartOf !== undefined ? { restartOf: { runId: record.restartOf.runId, from: record.restartOf.from } } : {})
})

/** A definition's structure, read once per definition (by hash): the last 64 read are kept. */
const graphs = (): (definition: Run.Definition) => Graph.WorkflowGraph | undefined => {
  const cache = new Map<string, Graph.WorkflowGraph | undefined>()
  return (definition) => {
    if (cache.has(definition.hash)) return cache.get(definition.hash)
    const graph = Graph.graphOfText(definition.text)
    cache.set(definition.hash, graph)
    if (cache.size > 64) cache.delete(cache.keys().next().value!)
    return graph
  }
}

const detail = (
  record: Run.RunRecord,
  events: ReadonlyArray<Run.StoredEvent>,
  graphOf: (definition: Run.Definition) => Graph.WorkflowGraph | undefined
): Api.RunDetail => {
  // The JSON form of the record's outcome.
  const { compensated, failedItems, failure, input, output, remaining } = encodeRecord(record)
  // What started the run is kept in its input (`Check.triggerInput`): shown apart.
  const { [Check.triggerInput]: trigger, ...inputs } = input !== null && typeof input === "object" && !Array.isArray(input)
    ? input as Record<string, unknown>
    : { [Check.triggerInput]: undefined }
  // The summary's trigger (its kind) and restartOf (without the steps reused) are shown whole.
  const { restartOf: _restartOf, trigger: _kind, ...base } = summary(record)
  return {
    ...base,
    input: inputs,
    ...(trigger !== undefined ? { trigger } : {}),
    ...(output !== undefined ? { output } : {}),
    ...(failure !== undefined ? { failure } : {}),
    ...(compensated !== undefined ? { compensated } : {}),
    ...(remaining !== undefined ? { remaining } : {}),
    ...(failedItems !== undefined ? { failedItems } : {}),
    ...(record.definition !== undefined ? { definition: definitionOf(record.definition, graphOf) } : {}),
    ...(record.restartOf !== undefined ? { restartOf: record.restartOf } : {}),
    events
  }
}

const definitionOf = (definition: Run.Definition, graphOf: (definition: Run.Definition) => Graph.WorkflowGraph | undefined) => {
  const graph = graphOf(definition)
  return {
    hash: definition.hash,
    ...(definition.source !== undefined ? { source: definition.source } : {}),
    // A secret written in the file itself (not one the redactor knows) is not shown either.
    text: Redactor.maskKeyedValues(definition.text),
    ...(graph !== undefined ? { graph } : {})
  }
}

const accepted = (started: Start.Started): Api.RunAccepted => ({
  runId: started.runId,
  workflow: started.workflow,
  status: started.status,
  replayed: started.replayed,
  links: { run: `${Api.prefix}/runs/${started.runId}`, events: `${Api.prefix}/runs/${started.runId}/events` }
})

const freshRunId = Effect.gen(function*() {
  const now = yield* Clock.currentTimeMillis
  const randoms = yield* Effect.replicateEffect(Random.next, 6)
  return Run.makeRunId(now, randoms)
})

/** A page's cursor: the created time and id of its last row, in base64url. */
const Cursor = Schema.compose(Schema.StringFromBase64Url, Schema.parseJson(Schema.Tuple(Schema.Number, Schema.String)))

/**
 * A page of runs, newest first: the store's `browse`, whose filters are indexed columns read
 * with a LIMIT (`RunStore.Query`), and which shows a run's status as `get` does (`interrupted`
 * when its process is gone). Rows that cannot be read are left out (the cursor still goes past
 * them).
 */
const listRuns = (store: RunStore.Service, query: typeof Api.RunQuery.Type) =>
  Effect.gen(function*() {
    let after: RunStore.Position | undefined
    if (query.cursor !== undefined) {
      const cursor = Schema.decodeUnknownEither(Cursor)(query.cursor)
      if (Either.isLeft(cursor)) return yield* Effect.fail(Api.problem(400, "the cursor is not one this API gave (use the next of the previous page)", [{ at: "cursor", message: "unknown cursor" }]))
      after = { createdAt: cursor.right[0], id: cursor.right[1] }
    }
    const listing = yield* store.browse({
      limit: query.limit ?? 50,
      ...(query.status !== undefined && query.status.length > 0 ? { status: query.status } : {}),
      ...(query.workflow !== undefined ? { workflow: query.workflow } : {}),
      ...(query.trigger !== undefined ? { trigger: query.trigger } : {}),
      ...(query.q !== undefined ? { search: query.q } : {}),
      ...(query.since !== undefined ? { since: DateTime.toEpochMillis(query.since) } : {}),
      ...(query.until !== undefined ? { until: DateTime.toEpochMillis(query.until) } : {}),
      ...(after !== undefined ? { after } : {})
    }).pipe(Effect.mapError(storeProblem))
    const next = listing.next !== undefined ? Schema.encodeSync(Cursor)([listing.next.createdAt, listing.next.id]) : undefined
    return { runs: listing.runs.map(summary), ...(next !== undefined ? { next } : {}) }
  })

// -----------------------------------------------------------------------------
// Server-sent events
// -----------------------------------------------------------------------------

const encodeEvent = Schema.encodeSync(Run.RunEvent)

/**
 * The events of a run as the store records them, after `after` (a `seq`), until the run
 * finishes or stops, whichever process executes it: `RunStore.follow`, which keeps each event's
 * `seq` (an event stream's ids, `Last-Event-ID`; `Engine.watch` gives the events alone).
 */
const storedEvents = (store: RunStore.Service, runId: string, after: number) =>
  RunStore.follow(store, runId, { after, pollMillis: 250 })

const sseMessage = (event: Run.StoredEvent) =>
  `id: ${event.seq}\nevent: ${event.event._tag}\ndata: ${JSON.stringify(encodeEvent(event.event))}\n\n`

// -----------------------------------------------------------------------------
// The handlers
// -----------------------------------------------------------------------------

const authorizationLayer = (options: Options) =>
  Layer.succeed(
    Api.Authorization,
    Api.Authorization.of({
      bearer: (presented) =>
        Effect.gen(function*() {
          const request = yield* HttpServerRequest.HttpServerRequest
          const needed = Auth.scopeFor(request.method)
          if (options.tokens.length === 0) {
            const open = options.openCaller ?? Auth.openCaller
            if (!Auth.allows(open, needed)) {
              return yield* Effect.fail(
                Api.problem(403, `this server is read-only without tokens (${open.name}); ${request.method} ${new URL(request.url, "http://x").pathname} needs ${needed}: add serve.tokens to its configuration`)
              )
            }
            return open
          }
          const header = request.headers.authorization ?? ""
          if (!/^Bearer\s+\S/i.test(header)) {
            return yield* Effect.fail(Api.problem(401, "this server needs an API token: Authorization: Bearer <token>"))
          }
          const caller = Auth.authenticate(options.tokens, Redacted.value(presented).trim())
          if (caller === undefined) return yield* Effect.fail(Api.problem(401, "the token is not one of this server's tokens"))
          if (!Auth.allows(caller, needed)) {
            return yield* Effect.fail(
              Api.problem(403, `the token "${caller.name}" has the scopes ${caller.scopes.join(", ")}; ${request.method} ${new URL(request.url, "http://x").pathname} needs ${needed}`)
            )
          }
          return caller
        })
    })
  )

const workflowsLayer = (options: Options) =>
  HttpApiBuilder.group(Api.Api, "workflows", (handlers) =>
    handlers
      .handle("list", () =>
        Effect.succeed({ workflows: [...options.catalog.workflows.values()].map(Workflows.info) }))
      .handle("get", ({ path }) => {
        const loaded = options.catalog.workflows.get(path.name)
        return loaded === undefined
          ? Effect.fail(Api.problem(404, `no workflow "${path.name}" is served here`))
          : Effect.succeed(Workflows.info(loaded))
      })
      .handle("start", ({ headers, path, payload }) =>
        Effect.gen(function*() {
          const caller = yield* Api.CurrentCaller
          if (!options.accepting()) return yield* Effect.fail(Api.problem(503, "this server is stopping: no run starts here now"))
          const start = options.start
          if (start === undefined) return yield* Effect.fail(idleProblem(options))
          const key = headers["idempotency-key"]
          const runId = key !== undefined ? Start.idempotentRunId(caller.name, key) : yield* freshRunId
          const started = yield* start({
            workflow: path.name,
            inputs: payload.inputs ?? {},
            runId,
            trigger: { kind: "api", by: caller.name }
          }).pipe(Effect.mapError(startProblem))
          return accepted(started)
        })))

const runsLayer = (options: Options) => {
  const graphOf = graphs()
  return HttpApiBuilder.group(Api.Api, "runs", (handlers) =>
    handlers
      .handle("list", ({ urlParams }) => listRuns(options.store, urlParams))
      .handle("get", ({ path }) =>
        Effect.gen(function*() {
          const record = yield* runOf(options, path.id)
          const events = yield* options.store.events(path.id).pipe(Effect.mapError(storeProblem))
          const restart = Engine.restartIdOf(record.id)
          const restarted = yield* options.store.read(restart).pipe(
            Effect.as(true),
            Effect.catchTag("RunNotFound", () => Effect.succeed(false)),
            Effect.mapError(storeProblem)
          )
          return { ...detail(record, events, graphOf), ...(restarted ? { restartedAs: restart } : {}) }
        }))
      .handleRaw("events", ({ headers, path }) =>
        Effect.gen(function*() {
          const raw = headers["last-event-id"]
          const after = raw === undefined || raw.trim() === "" ? 0 : Number(raw)
          if (!Number.isSafeInteger(after) || after < 0) {
            return problemResponse(Api.problem(400, "Last-Event-ID must be the id of an event of this stream (a whole number)", [{ at: "Last-Event-ID", message: "not a whole number" }]))
          }
          const found = yield* Effect.either(options.store.get(path.id))
          if (Either.isLeft(found)) {
            return problemResponse(found.left._tag === "RunNotFound" ? runNotFound(path.id) : storeProblem(found.left))
          }
          const events = storedEvents(options.store, path.id, after).pipe(
            Stream.map(sseMessage),
            // A comment now and then keeps proxies from closing a quiet stream.
            Stream.merge(Stream.repeatEffect(Effect.as(Effect.sleep(Duration.seconds(15)), ": keep-alive\n\n")), { haltStrategy: "left" }),
            Stream.catchAll((error) =>
              Stream.succeed(`event: error\ndata: ${JSON.stringify(storeProblem(error))}\n\n`)
            )
          )
          const body = Stream.concat(Stream.succeed(`: run ${path.id}\n\n`), events).pipe(Stream.encodeText)
          return HttpServerResponse.stream(body, {
            contentType: "text/event-stream",
            headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
          })
        }))
      .handle("resume", ({ path }) =>
        Effect.gen(function*() {
          if (!options.accepting()) return yield* Effect.fail(Api.problem(503, "this server is stopping: no run resumes here now"))
          const resumeInBackground = options.resumeInBackground
          if (resumeInBackground === undefined) return yield* Effect.fail(idleProblem(options))
          const record = yield* runOf(options, path.id)
          if (record.status !== "interrupted") {
            return yield* Effect.fail(
              Api.problem(409, Run.isFinal(record.status) ? `run ${record.id} has finished (${record.status}): there is nothing to resume` : `run ${record.id} is ${record.status}: it is executing, not interrupted`)
            )
          }
          const started = yield* Targets.find(record.id).pipe(
            Effect.provideService(SqlClient.SqlClient, options.sql),
            Effect.mapError(storeProblem)
          )
          if (Option.isSome(started) && options.target !== undefined) {
            const mismatch = Targets.compare(started.value, options.target)
            if (Option.isSome(mismatch)) {
              return yield* Effect.fail(Api.problem(409, `run ${record.id} started on another target than this server's: ${mismatch.value}`))
            }
          }
          yield* resumeInBackground(record.id)
          return accepted({ runId: record.id, workflow: record.workflow, status: "running", replayed: false })
        }))
      .handle("restart", ({ path, payload }) =>
        Effect.gen(function*() {
          if (!options.accepting()) return yield* Effect.fail(Api.problem(503, "this server is stopping: no run starts here now"))
          const engine = options.engine
          if (engine === undefined) return yield* Effect.fail(idleProblem(options))
          const record = yield* runOf(options, path.id)
          const served = payload.definition === "served" ? options.catalog.workflows.get(record.workflow) : undefined
          if (payload.definition === "served" && served === undefined) {
            return yield* Effect.fail(Api.problem(409, `workflow ${record.workflow} is not served here: restart it with its original definition`))
          }
          const runId = yield* engine.restart(record.id, {
            from: payload.from,
            ...(served !== undefined ? { workflow: served.workflow as never, definition: served.definition } : {})
          }).pipe(
            Effect.catchTags({
              CannotRestart: (error) => Effect.fail(Api.problem(409, error.message)),
              RunNotFound: () => Effect.fail(runNotFound(path.id)),
              WorkflowNotFound: (error) => Effect.fail(Api.problem(409, error.message)),
              StoreError: (error) => Effect.fail(storeProblem(error))
            })
          )
          yield* options.log(`run ${runId} (${record.workflow}) started by restart of ${record.id} from ${payload.from}`)
          return accepted({ runId, workflow: record.workflow, status: "running", replayed: false })
        }))
      .handle("cancel", ({ path, urlParams }) =>
        Effect.gen(function*() {
          const record = yield* runOf(options, path.id)
          if (Run.isFinal(record.status)) {
            return yield* Effect.fail(Api.problem(409, `run ${record.id} has ended (${record.status}): there is nothing to cancel`))
          }
          const engine = options.engine
          if (engine === undefined && record.status === "interrupted") {
            // Nobody executes it, and this server cannot: it would wait for ever.
            return yield* Effect.fail(Api.problem(409, `run ${record.id} is interrupted: no process executes it to stop it; relais cancel ${record.id} continues it to cancel it`))
          }
          // Asked at once (written to the store); the run stops (at once if it waits), wherever
          // it executes, and its undoing goes on in the background.
          yield* options.store.requestCancel(record.id, urlParams.compensate !== "false").pipe(Effect.mapError(storeProblem))
          // Without an engine the process that executes the run reads the request and stops it.
          if (engine !== undefined) {
            yield* engine.cancel(record.id, { compensate: urlParams.compensate !== "false" }).pipe(
              Effect.flatMap((final) => options.log(`run ${record.id} cancelled: ${final.status}`)),
              Effect.catchAll((error) => options.log(`run ${record.id} could not be cancelled: ${error.message}`)),
              Effect.forkDaemon
            )
          } else {
            yield* options.log(`run ${record.id}: cancellation asked; the process that executes it stops it`)
          }
          return accepted({ runId: record.id, workflow: record.workflow, status: record.status, replayed: false })
        })))
}

const systemLayer = (options: Options) =>
  HttpApiBuilder.group(Api.Api, "system", (handlers) =>
    handlers
      .handle("health", () => Effect.succeed({ status: "up" as const }))
      .handle("ready", () =>
        Effect.gen(function*() {
          if (!options.accepting()) return yield* Effect.fail(Api.problem(503, "not ready: the engine is starting, or the server is stopping"))
          yield* options.sql`SELECT 1`.pipe(
            Effect.timeoutFail({ duration: Duration.seconds(5), onTimeout: () => Api.problem(503, "not ready: the run store did not answer within 5 s") }),
            Effect.mapError((error) => "status" in error ? error : Api.problem(503, `not ready: the run store is not reachable (${error.message})`))
          )
          return { status: "ready" as const, workflows: options.catalog.workflows.size }
        })))

const answered = (answer: Hooks.Answer) =>
  HttpServerResponse.unsafeJson(answer.body, {
    status: answer.status,
    ...(answer.headers?.["content-type"] !== undefined ? { contentType: answer.headers["content-type"] } : {}),
    headers: Object.fromEntries(Object.entries(answer.headers ?? {}).filter(([name]) => name !== "content-type"))
  })

const hooksLayer = (options: Options) =>
  HttpApiBuilder.group(Api.Api, "hooks", (handlers) => {
    const intake = options.hooks
    const none = (plugin: string) =>
      Effect.succeed(problemResponse(Api.problem(404, `no webhook "${plugin}" here: this server receives none (serve.webhooks)`)))
    // Raw: the plugin reads the body as it was sent (a signature covers its text).
    const read = (request: HttpServerRequest.HttpServerRequest) =>
      Effect.map(Effect.orElseSucceed(request.text, () => ""), (body) => ({
        ...(request.headers.authorization !== undefined ? { authorization: request.headers.authorization } : {}),
        body
      }))
    return handlers
      .handleRaw("token", ({ path, request }) =>
        intake === undefined ? none(path.plugin) : Effect.map(Effect.flatMap(read(request), (r) => intake.token(path.plugin, r)), answered))
      .handleRaw("receive", ({ path, request }) =>
        intake === undefined ? none(path.plugin) : Effect.map(Effect.flatMap(read(request), (r) => intake.receive(path.plugin, r)), answered))
  })

const webhooksLayer = (options: Options) =>
  HttpApiBuilder.group(Api.Api, "webhooks", (handlers) =>
    handlers
      .handle("messages", ({ urlParams }) =>
        (options.hooks === undefined ? Effect.succeed([]) : Hooks.messages(urlParams.limit ?? 100)).pipe(
          Effect.provideService(SqlClient.SqlClient, options.sql),
          Effect.map((messages) => ({
            messages: messages.map((m) => ({
              id: m.id,
              plugin: m.plugin,
              subject: m.subject,
              receivedAt: iso(m.receivedAt),
              status: m.status,
              duplicates: m.duplicates,
              runs: m.runs,
              event: m.event,
              ...(m.detail !== undefined ? { detail: m.detail } : {})
            }))
          })),
          Effect.mapError(storeProblem)
        ))
      .handle("rejections", ({ urlParams }) =>
        (options.hooks === undefined ? Effect.succeed([]) : Hooks.rejections(urlParams.limit ?? 100)).pipe(
          Effect.provideService(SqlClient.SqlClient, options.sql),
          Effect.map((rejections) => ({
            rejections: rejections.map((r) => ({ plugin: r.plugin, receivedAt: iso(r.receivedAt), status: r.status, reason: r.reason }))
          })),
          Effect.mapError(storeProblem)
        )))

const documentLayer = (options: Options) =>
  HttpApiBuilder.group(Api.Api, "document", (handlers) => handlers.handle("openapi", () => Effect.succeed(Api.openApi(options.version))))

/**
 * The API's implementation.
 *
 * @since 0.1.0
 */
export const layerApi = (options: Options) =>
  HttpApiBuilder.api(Api.Api).pipe(
    Layer.provide([workflowsLayer(options), runsLayer(options), systemLayer(options), webhooksLayer(options), hooksLayer(options), documentLayer(options)]),
    Layer.provide(authorizationLayer(options))
  )

/**
 * Serve the API on the `HttpServer` of the context, behind the guard (outermost: it sees the
 * API's answers, errors encoded, and what the API could not answer, such as an unknown route),
 * with the dashboard's files under `/ui` (`serve/Ui.ts`) answered before the API.
 *
 * @since 0.1.0
 */
export const layerServe = (options: Options) =>
  Layer.unwrapEffect(
    Effect.map(HttpApiBuilder.httpApp, (app) =>
      HttpServer.serve(guard({
        bodyLimit: options.bodyLimit,
        log: options.log,
        ...(options.hooks !== undefined ? { onHookRefused: options.hooks.refused } : {})
      })(Ui.serve(Ui.locate())(app))))
  ).pipe(
    Layer.provide([HttpApiBuilder.Router.Live, HttpApiBuilder.Middleware.layer]),
    Layer.provide(layerApi(options))
  )

// -----------------------------------------------------------------------------
// The guard: body limits, content types, problems everywhere
// -----------------------------------------------------------------------------

const JSON_TYPE = /^application\/(?:[\w.+-]*\+)?json\s*(?:;|$)/i

const decodeErrorBody = Schema.decodeUnknownOption(Schema.parseJson(Schema.Struct({
  _tag: Schema.Literal("HttpApiDecodeError"),
  message: Schema.String,
  issues: Schema.Array(Schema.Struct({ path: Schema.Array(Schema.Unknown), message: Schema.String }))
})))

/** A response of the API that is an error but not a problem yet (its request decoding failed). */
const asProblem = (response: HttpServerResponse.HttpServerResponse): HttpServerResponse.HttpServerResponse => {
  if (response.status < 400) return response
  const contentType = response.headers["content-type"] ?? (response.body._tag === "Uint8Array" ? response.body.contentType : "")
  if (contentType.startsWith("application/problem+json")) {
    return response.status === 401 ? HttpServerResponse.setHeader(response, "www-authenticate", `Bearer realm="relais"`) : response
  }
  const text = response.body._tag === "Uint8Array" ? new TextDecoder().decode(response.body.body) : ""
  const decoded = decodeErrorBody(text)
  if (Option.isSome(decoded)) {
    return problemResponse(Api.problem(
      400,
      "the request does not match this route (see /openapi.json)",
      decoded.value.issues.map((issue) => ({
        ...(issue.path.length > 0 ? { at: issue.path.map(String).join(".") } : {}),
        message: issue.message
      }))
    ))
  }
  const status = ([400, 401, 403, 404, 409, 413, 415, 422, 503] as const).find((s) => s === response.status) ?? 500
  return problemResponse(Api.problem(status, status === 500 ? "the server failed to answer; see its log" : "the request was refused"))
}

/**
 * Wrap the API's `HttpApp`: bodies checked before any route reads them, and every answer that
 * is an error made a problem. Routes outside `/api/` (webhooks) keep their own content types;
 * the size cap applies to every route.
 *
 * @since 0.1.0
 */
export const guard = (options: {
  readonly bodyLimit: number
  readonly log: (text: string) => Effect.Effect<void>
  /** A webhook's request refused here (a body over the cap): recorded for the operator. */
  readonly onHookRefused?: ((plugin: string, status: number, reason: string) => Effect.Effect<void>) | undefined
}) =>
<E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<never, R> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const pathname = new URL(request.url, "http://x").pathname
    const hook = /^\/hooks\/([^/]+)(?:\/token)?$/.exec(pathname)
    const rejected = yield* checkBody(request, options.bodyLimit)
    if (Option.isSome(rejected)) {
      if (hook !== null && options.onHookRefused !== undefined) {
        yield* options.onHookRefused(decodeURIComponent(hook[1]!), rejected.value.status, rejected.value.detail)
      }
      return problemResponse(rejected.value)
    }
    const response = yield* app.pipe(
      Effect.catchAllCause((cause) => {
        const failure = Cause.failureOption(cause)
        if (Option.isSome(failure) && (failure.value as { readonly _tag?: unknown })._tag === "RouteNotFound") {
          return Effect.succeed(problemResponse(Api.problem(404, `no route ${request.method} ${new URL(request.url, "http://x").pathname} (see /openapi.json)`)))
        }
        if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
        const error = Cause.squash(cause)
        return Effect.as(
          options.log(`${request.method} ${new URL(request.url, "http://x").pathname}: internal error: ${oneLine(error)}`),
          problemResponse(Api.problem(500, "the server failed to answer; see its log"))
        )
      })
    )
    // A token request is answered as OAuth 2 says (RFC 6749 5.2: JSON with `error`), not a problem.
    const contentType = response.headers["content-type"] ?? (response.body._tag === "Uint8Array" ? response.body.contentType : "")
    if (hook !== null && pathname.endsWith("/token") && response.status < 500 && contentType.startsWith("application/json")) {
      return response
    }
    return asProblem(response)
  })

const oneLine = (error: unknown): string =>
  (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).replace(/\s+/g, " ").slice(0, 300)

/**
 * A request body over the cap (413), of a type the API does not read (415), or not well-formed
 * JSON (400). The body is read here (and kept: the route reads the same text).
 */
const checkBody = (
  request: HttpServerRequest.HttpServerRequest,
  limit: number
): Effect.Effect<Option.Option<Api.Problem>> =>
  Effect.gen(function*() {
    const length = request.headers["content-length"]
    const chunked = request.headers["transfer-encoding"] !== undefined
    if ((length === undefined || Number(length) === 0) && !chunked) return Option.none()
    if (length !== undefined && Number(length) > limit) {
      return Option.some(Api.problem(413, `the request body is ${Number(length)} bytes; this server takes at most ${limit} (serve.bodyLimit)`))
    }
    const api = new URL(request.url, "http://x").pathname.startsWith(`${Api.prefix}/`)
    const contentType = request.headers["content-type"] ?? ""
    if (api && !JSON_TYPE.test(contentType)) {
      return Option.some(Api.problem(415, `the body must be JSON (Content-Type: application/json), not ${contentType === "" ? "untyped" : contentType}`))
    }
    const text = yield* request.text.pipe(HttpIncomingMessage.withMaxBodySize(Option.some(limit)), Effect.either)
    if (Either.isLeft(text)) {
      return Option.some(
        length === undefined
          ? Api.problem(413, `the request body is over ${limit} bytes, the most this server takes (serve.bodyLimit)`)
          : Api.problem(400, "the request body could not be read")
      )
    }
    if (api && text.right.trim() !== "") {
      try {
        JSON.parse(text.right)
      } catch (error) {
        return Option.some(Api.problem(400, `the body is not well-formed JSON: ${error instanceof Error ? error.message : String(error)}`))
      }
    }
    return Option.none()
  })
