/**
 * `http/request`: one HTTP call to a connection declared in the configuration, with JSON in and
 * out, expected statuses, an optional check of the answer against an inline JSON Schema
 * fragment, a response size cap, and retries on 429, 5xx, timeouts and lost connections that
 * honour `Retry-After`.
 *
 * A POST or PATCH is not idempotent: sent twice, it may do the work twice. Before sending one,
 * the step journals that it is about to (in its step state); when the answer is lost (a reset, a
 * timeout, relais stopped or killed mid-request, an attempt cut by its timeout), the step fails
 * with `OutcomeUnknown` instead of sending it again, now or after a resume. An answer, whatever
 * its status, clears the mark: the service said what it did (a 503 or 429 is retried as usual).
 * With `idempotencyKey`, the request carries a key that is the same for every attempt of the
 * invocation (and after a resume), the service deduplicates, and the step retries like a GET.
 *
 * @since 0.1.0
 */
import { RetryPolicy, Step } from "@relais/core"
import { Duration, Effect, Option, Schema } from "effect"
import { HeaderValue, headerNameProblem, Headers } from "./HttpConfig.js"
import * as HttpConnections from "./HttpConnections.js"
import * as HttpErrors from "./HttpErrors.js"
import * as HttpPath from "./HttpPath.js"
import * as JsonSchemaFragment from "./JsonSchemaFragment.js"

/**
 * @since 0.1.0
 */
export const Method = Schema.Literal("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")

const Scalar = Schema.Union(Schema.String, Schema.Number, Schema.Boolean)

/**
 * A status (`404`) or a class of statuses (`"2xx"`).
 *
 * @since 0.1.0
 */
export const ExpectedStatus = Schema.Union(
  Schema.Int.pipe(Schema.between(100, 599)),
  Schema.Literal("1xx", "2xx", "3xx", "4xx", "5xx")
)

/**
 * The path, relative to the connection's base URL, checked by {@link HttpPath.problem}.
 *
 * @since 0.1.0
 */
export const Path = Schema.String.pipe(
  Schema.filter((path) => {
    const problem = HttpPath.problem(path)
    return problem === undefined ? undefined : `the path ${problem}`
  })
).annotations({
  description: "the path under the connection's base URL, e.g. /learners/{id} (values from expressions go in params)"
})

/**
 * The default header of an idempotency key.
 *
 * @since 0.1.0
 */
export const defaultIdempotencyHeader = "Idempotency-Key"

/**
 * The `with` of `http/request`.
 *
 * @since 0.1.0
 */
export const RequestInput = Schema.Struct({
  connection: Schema.String.pipe(Schema.minLength(1)).annotations({
    description: "the name of a connection of the profile's http section (http.connections.<name>)"
  }),
  method: Schema.optionalWith(Method, { default: () => "GET" as const, exact: true }).annotations({
    description: "GET (default), HEAD, POST, PUT, PATCH or DELETE"
  }),
  path: Schema.optionalWith(Path, { default: () => "", exact: true }),
  params: Schema.optionalWith(
    Schema.Record({ key: Schema.String, value: Scalar }).annotations({
      description: "values of the path's {name} placeholders, each percent-encoded as one segment"
    }),
    { exact: true }
  ),
  query: Schema.optionalWith(
    Schema.Record({ key: Schema.String, value: Schema.Union(Scalar, Schema.Null, Schema.Array(Scalar)) }).annotations({
      description: "query parameters; a list repeats the parameter, null leaves it out"
    }),
    { exact: true }
  ),
  headers: Schema.optionalWith(
    Headers.annotations({ description: "request headers (never the credentials' header: it comes from the connection)" }),
    { exact: true }
  ),
  body: Schema.optionalWith(Schema.Unknown.annotations({ description: "a JSON body (not with GET or HEAD)" }), {
    exact: true
  }),
  expect: Schema.optionalWith(
    Schema.NonEmptyArray(ExpectedStatus).annotations({
      description: "the statuses that count as success: numbers and classes like 2xx (default [2xx])"
    }),
    { default: () => ["2xx"] as const, exact: true }
  ),
  // Described on the field: a description on the (recursive, suspended) fragment itself would
  // make it anonymous to the JSON Schema generator.
  response: Schema.optionalWith(JsonSchemaFragment.Fragment, { exact: true }).annotations({
    description: "check the JSON answer against this JSON Schema fragment (type, properties, required, items, enum)"
  }),
  idempotencyKey: Schema.optionalWith(
    Schema.Union(
      Schema.Boolean,
      Schema.String.pipe(Schema.filter((name) => headerNameProblem(name)))
    ).annotations({
      description: `send a key stable across attempts and resumes (true: in ${defaultIdempotencyHeader}; or the header's name), ` +
        "so a POST can be retried safely by a service that deduplicates"
    }),
    { exact: true }
  )
}).pipe(
  Schema.filter(
    (input) => {
      const method = input.method ?? "GET"
      return input.body === undefined || (method !== "GET" && method !== "HEAD") ||
        { path: ["body"], message: `a ${method} request carries no body (use POST, PUT, PATCH or DELETE)` }
    },
    Step.inputRule({ fields: ["method", "body"], description: "no body with GET or HEAD" })
  ),
  Schema.filter(
    (input) => {
      const names = HttpPath.placeholders(input.path ?? "")
      const given = Object.keys(input.params ?? {})
      const missing = names.filter((n) => !given.includes(n))
      const unused = given.filter((n) => !names.includes(n))
      if (missing.length > 0) {
        return { path: ["params"], message: `the path uses ${missing.map((n) => `{${n}}`).join(", ")}: give ${missing.join(", ")} in params` }
      }
      if (unused.length > 0) return { path: ["params", unused[0]!], message: `the path has no {${unused[0]}} placeholder` }
      return undefined
    },
    Step.inputRule({ fields: ["path", "params"], description: "every {name} of the path has a value in params, and only those" })
  )
)

/**
 * @since 0.1.0
 */
export type RequestInput = typeof RequestInput.Type

/**
 * What `http/request` answers.
 *
 * @since 0.1.0
 */
export const RequestOutput = Schema.Struct({
  status: Schema.Int.annotations({ description: "the HTTP status" }),
  headers: Schema.Record({ key: Schema.String, value: HeaderValue }).annotations({
    description: "a safe subset of the answer's headers (content-type, etag, location, link...), names in lower case"
  }),
  body: Schema.Unknown.annotations({
    description: "the JSON answer parsed; text for a text answer; null when empty or binary"
  })
})

/**
 * @since 0.1.0
 */
export type RequestOutput = typeof RequestOutput.Type

/**
 * What the step journals before sending a non-idempotent request: the attempt that sends it.
 * Cleared when an answer arrives.
 *
 * @since 0.1.0
 */
export const Sending = Schema.Struct({ attempt: Schema.Number })

/**
 * The retry policy of `http/request`: 4 attempts, exponential from 500 ms to 30 s, jittered,
 * on core's default failures (408, 429, 500, 502, 503, 504, `Transport`, timeouts), never
 * sooner than a `Retry-After`.
 *
 * @since 0.1.0
 */
export const defaultRetry: RetryPolicy.RetryPolicy = RetryPolicy.exponential({
  maxAttempts: 4,
  initialDelay: "500 millis",
  maxDelay: "30 seconds",
  jitter: true
})

/**
 * The attempt timeout of `http/request`: 10 minutes, a backstop above any connection's request
 * timeout (at most 5 minutes), which is what normally ends a slow request.
 *
 * @since 0.1.0
 */
export const attemptTimeout: Duration.Duration = Duration.minutes(10)

/** Send once; for a non-idempotent request, journal the sending and refuse to send again blind. */
const send = (connections: HttpConnections.Service, prepared: HttpConnections.Prepared) =>
  Effect.gen(function*() {
    const context = yield* Effect.serviceOption(Step.StepContext)
    if (prepared.idempotent || Option.isNone(context)) return yield* connections.execute(prepared)
    const where = { connection: prepared.connection, method: prepared.method, path: prepared.path }
    const withContext = <A, E>(effect: Effect.Effect<A, E, Step.StepContext>) =>
      Effect.provideService(effect, Step.StepContext, context.value)
    const sending = yield* withContext(Step.loadState(Sending))
    if (Option.isSome(sending)) {
      return yield* new HttpErrors.OutcomeUnknown({
        ...where,
        detail: `an earlier attempt (attempt ${sending.value.attempt}, possibly before relais stopped) sent it ` +
          "and was interrupted before its answer arrived"
      })
    }
    yield* withContext(Step.saveState(Sending, { attempt: context.value.attempt }))
    const result = yield* Effect.either(connections.execute(prepared))
    if (result._tag === "Left" && result.left._tag === "Transport" && result.left.sent) {
      return yield* new HttpErrors.OutcomeUnknown({ ...where, detail: result.left.detail })
    }
    // An answer (or a request that never left): the service said what it did.
    yield* withContext(Step.clearState)
    return yield* result
  })

/**
 * `http/request`.
 *
 * @example
 * ```yaml
 * - id: learner
 *   uses: http/request
 *   with:
 *     connection: crm
 *     path: /learners/{id}
 *     params: { id: ${{ inputs.learnerId }} }
 *     expect: [200, 404]
 *     response:
 *       type: object
 *       properties: { id: { type: integer }, email: { type: string } }
 *       required: [id]
 * ```
 *
 * @since 0.1.0
 */
export const request = Step.make({
  name: "http/request",
  description: "Call a connection declared in the profile's http section: method, path under its base URL, query, " +
    "headers, JSON body; expected statuses; JSON answer, optionally checked against an inline JSON Schema. " +
    "Retries 429, 5xx and timeouts (honouring Retry-After); a POST or PATCH whose answer was lost is not sent again.",
  input: RequestInput,
  output: RequestOutput,
  retry: defaultRetry,
  timeout: attemptTimeout,
  // Not for every input: a POST is not. GET, HEAD, PUT, DELETE and keyed requests are retried as
  // idempotent; a POST or PATCH is guarded by its journaled mark (see the module's comment).
  idempotent: false,
  run: (input) =>
    Effect.gen(function*() {
      const connections = yield* HttpConnections.HttpConnections
      const context = yield* Effect.serviceOption(Step.StepContext)
      const idempotencyKey = input.idempotencyKey === undefined || input.idempotencyKey === false || Option.isNone(context)
        ? undefined
        : {
          header: input.idempotencyKey === true ? defaultIdempotencyHeader : input.idempotencyKey,
          value: `relais-${context.value.key}`
        }
      const prepared = yield* connections.prepare({
        connection: input.connection,
        method: input.method,
        path: input.path,
        params: input.params,
        query: input.query,
        headers: input.headers,
        ...(input.body === undefined ? {} : { body: input.body }),
        expect: input.expect,
        response: input.response,
        idempotencyKey
      })
      return yield* send(connections, prepared)
    })
})
