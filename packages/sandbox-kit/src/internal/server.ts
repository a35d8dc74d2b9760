import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import * as Faults from "../Faults.js"
import * as RequestLog from "../RequestLog.js"

export const ADMIN_PREFIX = "/__sandbox"

export const pathOf = (url: string): string => {
  const q = url.indexOf("?")
  return q === -1 ? url : url.slice(0, q)
}

const isAdminPath = (path: string) => path === ADMIN_PREFIX || path.startsWith(`${ADMIN_PREFIX}/`)

const REASONS: Record<number, string> = {
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout"
}

export const defaultFaultResponse = (rule: Faults.FaultRule, status: number): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson(
    { error: REASONS[status] ?? "Sandbox fault", sandboxFault: rule.id ?? null },
    { status }
  )

/** Destroys the connection under a request, and marks the response ended so nothing is written. */
const destroyConnection = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.sync(() => {
    const incoming = NodeHttpServerRequest.toIncomingMessage(request)
    const response = NodeHttpServerRequest.toServerResponse(request)
    incoming.socket.destroy()
    // The platform skips writing a response that has ended; ending it on a destroyed socket
    // sends nothing, so the client only sees the reset.
    try {
      response.end()
    } catch {
      // already torn down: nothing to write either way
    }
  })

const statusOfExit = <E>(exit: Exit.Exit<HttpServerResponse.HttpServerResponse, E>) =>
  Exit.isSuccess(exit)
    ? Effect.succeed(exit.value.status)
    : Effect.map(HttpServerError.causeResponse(exit.cause), ([response]) => response.status)

export interface FaultAppOptions {
  readonly faults: Faults.Service
  readonly requests: RequestLog.Service
  readonly faultResponse: (rule: Faults.FaultRule, status: number) => HttpServerResponse.HttpServerResponse
}

/** Wraps an API app with the request log and the fault rules. */
export const withFaults = <E, R>(
  app: HttpApp.Default<E, R>,
  { faultResponse, faults, requests }: FaultAppOptions
): HttpApp.Default<E, R | HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const seq = yield* requests.begin({ method: request.method, url: request.url })
    const aborted = requests.complete(seq, { outcome: "aborted" })
    const rule = yield* faults.take(request.method, pathOf(request.url))
    const tag = Option.match(rule, {
      onNone: () => ({}),
      onSome: (r) => ({ fault: r.kind, faultId: r.id })
    })
    const respond = (response: HttpServerResponse.HttpServerResponse) =>
      Effect.as(requests.complete(seq, { outcome: "responded", status: response.status, ...tag }), response)
    const runApp = Effect.gen(function*() {
      const exit = yield* Effect.exit(app)
      const status = yield* statusOfExit(exit)
      yield* requests.complete(seq, { outcome: "responded", status, ...tag })
      return yield* exit
    })

    if (Option.isNone(rule)) return yield* runApp
    const r = rule.value
    switch (r.kind) {
      case "latency":
        yield* Effect.interruptible(Effect.sleep(r.delayMs ?? 0)).pipe(Effect.onInterrupt(() => aborted))
        return yield* runApp
      case "status":
        return yield* respond(faultResponse(r, r.effectiveStatus))
      case "rate-limit": {
        const response = faultResponse(r, 429).pipe(
          HttpServerResponse.setHeader("retry-after", String(r.effectiveRetryAfterSeconds))
        )
        return yield* respond(response)
      }
      case "hang":
        yield* requests.complete(seq, { outcome: "pending", ...tag })
        return yield* Effect.interruptible(Effect.never).pipe(Effect.onInterrupt(() => aborted))
      case "drop":
        yield* requests.complete(seq, { outcome: "dropped", ...tag })
        yield* destroyConnection(request)
        return HttpServerResponse.empty({ status: 499 })
      case "drop-after-commit": {
        const exit = yield* Effect.exit(app)
        const status = yield* statusOfExit(exit)
        yield* requests.complete(seq, { outcome: "dropped", status, ...tag })
        yield* destroyConnection(request)
        return HttpServerResponse.empty({ status: 499 })
      }
    }
  })

const errorBody = (error: string, reason: string, status = 400) =>
  HttpServerResponse.unsafeJson({ error, reason }, { status })

const encodeEntries = Schema.encodeSync(Schema.Array(Faults.FaultEntry))
const encodeRecords = Schema.encodeSync(Schema.Array(RequestLog.RequestRecord))

const RequestsQuery = Schema.Struct({
  method: Schema.optional(Schema.String),
  path: Schema.optional(Schema.String),
  outcome: Schema.optional(RequestLog.Outcome)
})

/** The kit's admin routes: faults and the request log. */
export const adminRouter = (faults: Faults.Service, requests: RequestLog.Service) =>
  HttpRouter.empty.pipe(
    HttpRouter.get(
      `${ADMIN_PREFIX}/faults`,
      Effect.map(faults.list, (entries) => HttpServerResponse.unsafeJson(encodeEntries(entries)))
    ),
    HttpRouter.post(
      `${ADMIN_PREFIX}/faults`,
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const body = yield* request.text
        const contentType = request.headers["content-type"] ?? ""
        const looksJson = contentType.includes("json") || /^\s*[[{]/.test(body)
        let parsed: Either.Either<ReadonlyArray<Faults.FaultRule>, Faults.FaultSyntaxError>
        if (looksJson) {
          let json: unknown
          try {
            json = JSON.parse(body)
          } catch (cause) {
            return errorBody("Invalid fault", `body is not valid JSON: ${String(cause)}`)
          }
          parsed = Faults.decodeJson(json)
        } else {
          parsed = Faults.parse(body)
        }
        if (Either.isLeft(parsed)) return errorBody("Invalid fault", parsed.left.message)
        const added = yield* faults.add(parsed.right)
        return HttpServerResponse.unsafeJson(encodeEntries(added), { status: 201 })
      })
    ),
    HttpRouter.del(
      `${ADMIN_PREFIX}/faults`,
      Effect.gen(function*() {
        const before = yield* faults.list
        yield* faults.clear
        return HttpServerResponse.unsafeJson({ cleared: before.length })
      })
    ),
    HttpRouter.del(
      `${ADMIN_PREFIX}/faults/:id`,
      Effect.gen(function*() {
        const { id } = yield* HttpRouter.params
        const removed = id === undefined ? false : yield* faults.remove(id)
        return removed
          ? HttpServerResponse.unsafeJson({ cleared: 1 })
          : errorBody("Not found", `no fault rule with id "${id}"`, 404)
      })
    ),
    HttpRouter.get(
      `${ADMIN_PREFIX}/requests`,
      Effect.gen(function*() {
        const query = yield* Effect.either(HttpServerRequest.schemaSearchParams(RequestsQuery))
        if (Either.isLeft(query)) return errorBody("Invalid request", query.left.message)
        const records = yield* requests.list(query.right)
        return HttpServerResponse.unsafeJson(encodeRecords(records))
      })
    ),
    HttpRouter.del(
      `${ADMIN_PREFIX}/requests`,
      Effect.gen(function*() {
        const cleared = yield* requests.count()
        yield* requests.clear
        return HttpServerResponse.unsafeJson({ cleared })
      })
    )
  )

export interface ListenOptions {
  readonly host: string
  readonly port: number
}

export const formatUrl = (host: string, port: number) =>
  host.includes(":") ? `http://[${host}]:${port}` : `http://${host}:${port}`

/** Listens, serves `app`, and tears every connection down (hanging ones included) on close. */
export const listen = <E, R>(
  app: HttpApp.Default<E, R>,
  { host, port }: ListenOptions
): Effect.Effect<
  { readonly host: string; readonly port: number; readonly url: string },
  HttpServerError.ServeError,
  Scope.Scope | Exclude<R, HttpServerRequest.HttpServerRequest>
> =>
  Effect.gen(function*() {
    const nodeServer = Http.createServer()
    const server = yield* NodeHttpServer.make(() => nodeServer, { host, port })
    // Registered after the listener, so it runs before `server.close()`, which would otherwise
    // wait forever for a hanging request.
    yield* Effect.addFinalizer(() => Effect.sync(() => nodeServer.closeAllConnections()))
    // `serveEffect` needs the app's requirements (minus the request) and an `HttpServer`; the
    // latter is provided here, and an app never legitimately requires its own server.
    const serve = HttpServer.serveEffect(app) as Effect.Effect<
      void,
      never,
      Scope.Scope | HttpServer.HttpServer | Exclude<R, HttpServerRequest.HttpServerRequest>
    >
    yield* serve.pipe(Effect.provideService(HttpServer.HttpServer, server))
    const address = server.address
    const actualPort = address._tag === "TcpAddress" ? address.port : port
    return { host, port: actualPort, url: formatUrl(host, actualPort) }
  })

export const dispatch = <E1, R1, E2, R2>(
  admin: HttpApp.Default<E1, R1>,
  api: HttpApp.Default<E2, R2>
): HttpApp.Default<E1 | E2, R1 | R2 | HttpServerRequest.HttpServerRequest> =>
  Effect.flatMap(
    HttpServerRequest.HttpServerRequest,
    (request): HttpApp.Default<E1 | E2, R1 | R2> => isAdminPath(pathOf(request.url)) ? admin : api
  )
