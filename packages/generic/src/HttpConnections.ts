/**
 * The service behind `http/request`: the connections of the configuration, each with its base
 * URL, credentials, headers, timeout and response size cap, on the `HttpClient` the host
 * provides. Built once from the plugin's configuration by {@link layer}, which also registers
 * the credentials (and their derived forms: a Basic credential) with the `Redactor`.
 *
 * It sends one request per call and never retries: retries belong to the step's policy, which
 * reads `status` and `retryAfterMillis` on the errors.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type { Redactor } from "@relais/core"
import type { Duration, Effect } from "effect"
import { Context, Layer } from "effect"
import type * as HttpConfig from "./HttpConfig.js"
import type * as HttpErrors from "./HttpErrors.js"
import * as internal from "./internal/http.js"
import type * as JsonSchemaFragment from "./JsonSchemaFragment.js"

/**
 * The HTTP methods `http/request` sends.
 *
 * @since 0.1.0
 */
export type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE"

/**
 * Methods whose repetition has no further effect (RFC 9110 section 9.2.2): a lost answer to one of
 * them can be asked again. POST and PATCH are not.
 *
 * @since 0.1.0
 */
export const idempotentMethods: ReadonlySet<Method> = internal.idempotentMethods

/**
 * What a request says, once the step's `with` is decoded.
 *
 * @since 0.1.0
 */
export interface Request {
  readonly connection: string
  readonly method: Method
  /** Relative to the connection's base URL, with `{name}` placeholders filled from `params`. */
  readonly path: string
  readonly params?: Readonly<Record<string, string | number | boolean>> | undefined
  readonly query?: Readonly<Record<string, QueryValue>> | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** A JSON body. */
  readonly body?: unknown
  /** Statuses (`200`) and classes (`"2xx"`) that count as success. */
  readonly expect: ReadonlyArray<number | StatusClass>
  /** The answer's JSON must match this fragment. */
  readonly response?: JsonSchemaFragment.Fragment | undefined
  /** The header and value of an idempotency key to send, if any. */
  readonly idempotencyKey?: { readonly header: string; readonly value: string } | undefined
}

/**
 * A query parameter's value: a list repeats the parameter; `null` leaves it out.
 *
 * @since 0.1.0
 */
export type QueryValue = string | number | boolean | null | ReadonlyArray<string | number | boolean>

/**
 * A class of statuses.
 *
 * @since 0.1.0
 */
export type StatusClass = "1xx" | "2xx" | "3xx" | "4xx" | "5xx"

/**
 * What `http/request` answers.
 *
 * @since 0.1.0
 */
export interface Response {
  readonly status: number
  /** A safe subset of the answer's headers ({@link outputHeaders}), names in lower case. */
  readonly headers: Readonly<Record<string, string>>
  /**
   * The body: parsed JSON for a JSON answer, text for a text answer, `null` for an empty answer
   * (and for a binary one, which a flow cannot use).
   */
  readonly body: unknown
}

/**
 * The answer headers a step's output keeps: what a flow may need (where a created resource is,
 * its version, paging and rate-limit hints), never cookies or authentication challenges.
 *
 * @since 0.1.0
 */
export const outputHeaders: ReadonlySet<string> = internal.outputHeaders

/**
 * A request checked against its connection, ready to send.
 *
 * @since 0.1.0
 */
export interface Prepared {
  readonly connection: string
  readonly method: Method
  /** The path shown in errors and logs (relative, no query). */
  readonly path: string
  /** Whether sending it twice has no further effect (an idempotent method, or a key). */
  readonly idempotent: boolean
  readonly request: HttpClientRequest.HttpClientRequest
  readonly expect: ReadonlyArray<number | StatusClass>
  readonly response: JsonSchemaFragment.Fragment | undefined
  readonly timeout: Duration.Duration
  readonly maxBytes: number
}

/**
 * @since 0.1.0
 */
export interface Service {
  /** The declared connections' names. */
  readonly names: ReadonlyArray<string>
  /** The base URL of a connection (for messages), if it is declared. */
  readonly baseUrl: (connection: string) => string | undefined
  /**
   * Check a request against its connection (declared, headers that do not touch the
   * credentials, a path that stays under the base URL); nothing is sent.
   */
  readonly prepare: (
    request: Request
  ) => Effect.Effect<Prepared, HttpErrors.UnknownConnection | HttpErrors.InvalidRequest>
  /** Send a prepared request once and read its answer. */
  readonly execute: (
    prepared: Prepared
  ) => Effect.Effect<
    Response,
    HttpErrors.UnexpectedStatus | HttpErrors.Transport | HttpErrors.InvalidResponse | HttpErrors.ResponseTooLarge
  >
}

/**
 * @since 0.1.0
 * @category Tags
 */
export class HttpConnections extends Context.Tag("@relais/generic/HttpConnections")<HttpConnections, Service>() {}

/**
 * The service on the `HttpClient` in context; registers every credential, and the Basic
 * credential of each `basic` connection, with the `Redactor` in context.
 *
 * @since 0.1.0
 */
export const make: (
  config: HttpConfig.Config
) => Effect.Effect<Service, never, HttpClient.HttpClient | Redactor.Redactor> = internal.make

/**
 * The service as a layer: what the plugin's `layer` is.
 *
 * @since 0.1.0
 */
export const layer = (
  config: HttpConfig.Config
): Layer.Layer<HttpConnections, never, HttpClient.HttpClient | Redactor.Redactor> =>
  Layer.effect(HttpConnections, make(config))
