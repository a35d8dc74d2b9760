/**
 * Serves a sandbox's HTTP app on a loopback port, with fault injection, a request log and the
 * shared admin routes under `/__sandbox/`.
 *
 * @since 0.1.0
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Faults from "./Faults.js"
import * as internal from "./internal/server.js"
import * as RequestLog from "./RequestLog.js"

/**
 * The prefix of admin routes: never subject to faults, never logged, never authenticated.
 *
 * @since 0.1.0
 */
export const adminPrefix = internal.ADMIN_PREFIX

/**
 * What `make` needs.
 *
 * @since 0.1.0
 */
export interface Options<E, R, EA = never, RA = never> {
  /** The API the sandbox simulates. Faults and the request log apply to it. */
  readonly app: HttpApp.Default<E, R>
  /**
   * The sandbox's own admin routes (full paths under `/__sandbox/`, e.g. `GET /__sandbox/state`,
   * `POST /__sandbox/reset`), added to the kit's.
   */
  readonly admin?: HttpRouter.HttpRouter<EA, RA> | undefined
  /** Interface to listen on; `127.0.0.1` by default. */
  readonly host?: string | undefined
  /** Port; `0` (the default) picks a free one. */
  readonly port?: number | undefined
  /** Rules active from the start. */
  readonly faults?: ReadonlyArray<Faults.FaultRule> | undefined
  /**
   * The response of a `status` or `rate-limit` fault (the kit adds `Retry-After` to 429s).
   * Defaults to `{"error": "<reason phrase>", "sandboxFault": "<rule id>"}`; a sandbox can
   * answer in its API's error shape instead.
   */
  readonly faultResponse?:
    | ((rule: Faults.FaultRule, status: number) => HttpServerResponse.HttpServerResponse)
    | undefined
  /**
   * Runs after every request to the `app` whose method may change data (anything but GET, HEAD
   * and OPTIONS), once the app has handled it (whatever its answer, and also when a
   * `drop-after-commit` fault then drops the connection) and before the answer leaves: where a
   * sandbox saves its state (see `StateFile`), so that a client never sees a write the saved
   * state does not hold.
   */
  readonly onWrite?: Effect.Effect<void> | undefined
}

const readOnlyMethods = new Set(["GET", "HEAD", "OPTIONS"])

/** The app, followed by `onWrite` for the requests that may change data. */
const afterWrites = <E, R>(app: HttpApp.Default<E, R>, onWrite: Effect.Effect<void>) =>
  Effect.flatMap(
    HttpServerRequest.HttpServerRequest,
    (request) => readOnlyMethods.has(request.method.toUpperCase()) ? app : Effect.ensuring(app, onWrite)
  )

/**
 * A running sandbox server.
 *
 * @since 0.1.0
 */
export interface SandboxServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:53124`. */
  readonly url: string
  readonly host: string
  readonly port: number
  /** This server's fault rules. */
  readonly faults: Faults.Service
  /** This server's request log. */
  readonly requests: RequestLog.Service
}

/**
 * The server could not listen (port taken, address not available).
 *
 * @since 0.1.0
 */
export class ServerStartError extends Schema.TaggedError<ServerStartError>()("ServerStartError", {
  host: Schema.String,
  port: Schema.Number,
  cause: Schema.Defect
}) {
  override get message(): string {
    const cause = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `Could not start the sandbox server on ${this.host}:${this.port}: ${cause}`
  }
}

/**
 * Starts a sandbox server for the lifetime of the scope. Closing the scope closes every
 * connection, hanging requests included. The server runs on the live clock (a `TestClock` in
 * the caller does not slow or freeze it).
 *
 * Routes: the sandbox's `app`, plus `GET|POST|DELETE /__sandbox/faults`,
 * `DELETE /__sandbox/faults/:id`, `GET|DELETE /__sandbox/requests` and the sandbox's own `admin`
 * routes.
 *
 * @since 0.1.0
 */
export const make = <E, R, EA = never, RA = never>(
  options: Options<E, R, EA, RA>
): Effect.Effect<
  SandboxServer,
  ServerStartError,
  Scope.Scope | Exclude<R, HttpServerRequest.HttpServerRequest> | Exclude<Exclude<RA, HttpRouter.RouteContext>, HttpServerRequest.HttpServerRequest>
> =>
  Effect.gen(function*() {
    const faults = yield* Faults.make(options.faults ?? [])
    const requests = yield* RequestLog.make
    const host = options.host ?? "127.0.0.1"
    const port = options.port ?? 0
    const admin = internal.adminRouter(faults, requests).pipe(
      HttpRouter.concat(options.admin ?? HttpRouter.empty)
    )
    const api = internal.withFaults(options.onWrite === undefined ? options.app : afterWrites(options.app, options.onWrite), {
      faults,
      requests,
      faultResponse: options.faultResponse ?? internal.defaultFaultResponse
    })
    // A real server keeps real time: latency faults and log timestamps use the live clock even
    // when the caller runs under a TestClock.
    const app = Effect.withClock(internal.dispatch(admin, api), Clock.make())
    const address = yield* internal.listen(app, { host, port }).pipe(
      Effect.mapError((error) => new ServerStartError({ host, port, cause: error.cause }))
    )
    return { ...address, faults, requests }
  })
