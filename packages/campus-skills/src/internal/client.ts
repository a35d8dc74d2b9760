import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { HttpBody, ProviderKit } from "@relais/core"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { flow } from "effect/Function"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as CampusSkillsConfig from "../CampusSkillsConfig.js"
import type { Service } from "../CampusSkillsClient.js"
import * as Contract from "../Contract.js"
import * as Errors from "../Errors.js"

const ErrorBody = Schema.parseJson(Schema.Struct({
  error: Schema.optional(Schema.String),
  reason: Schema.optional(Schema.String),
  invalidContrats: Schema.optional(Schema.Array(Contract.InvalidContract))
}))
const decodeErrorBody = Schema.decodeUnknownOption(ErrorBody)

interface Where {
  readonly method: string
  readonly path: string
}

const pathOf = (request: HttpClientRequest.HttpClientRequest) => {
  const params = new URLSearchParams(request.urlParams as unknown as Array<[string, string]>).toString()
  return params === "" ? request.url : `${request.url}?${params}`
}

const tooLarge = (error: HttpBody.ResponseTooLarge, status: number, where: Where) =>
  new Errors.ResponseTooLarge({
    responseStatus: status,
    ...where,
    limit: error.limit,
    received: error.received,
    announced: error.announced
  })

/** A body that stopped arriving midway: the connection failed, whatever the status said. */
const cutOff = (error: HttpClientError.ResponseError, where: Where) => {
  const detail = `the answer (HTTP ${error.response.status}) was cut off: ${
    ProviderKit.causeText(error.cause ?? error.description)
  }`
  return new Errors.Transport({ ...where, reason: ProviderKit.transportReason(detail), detail })
}

/**
 * A 2xx body, read through core's `HttpBody` (never more than `maxBytes`: a runaway answer
 * fails with `ResponseTooLarge` at the limit and the connection is closed) and decoded with
 * `schema`.
 */
const decodeBody = <A, I>(
  response: HttpClientResponse.HttpClientResponse,
  schema: Schema.Schema<A, I>,
  where: Where,
  maxBytes: number
): Effect.Effect<A, Errors.CampusSkillsError> =>
  HttpBody.schemaBodyJson(schema, { maxBytes })(response).pipe(
    Effect.catchTags({
      ResponseTooLarge: (error) => Effect.fail(tooLarge(error, response.status, where)),
      ResponseError: (error) =>
        Effect.fail(
          error.cause instanceof SyntaxError
            ? new Errors.Decode({ status: response.status, ...where, detail: `not JSON: ${error.cause.message}` })
            : cutOff(error, where)
        ),
      ParseError: (error) =>
        Effect.fail(
          new Errors.Decode({ status: response.status, ...where, detail: ParseResult.TreeFormatter.formatErrorSync(error) })
        )
    })
  )

/** A refused status (`filterStatusOk`), as one of the package's errors. */
const fromStatus = (response: HttpClientResponse.HttpClientResponse, where: Where, maxBytes: number) =>
  Effect.gen(function*() {
    const status = response.status
    const retryAfterMillis = yield* ProviderKit.retryAfter(response.headers["retry-after"])
    const retry = retryAfterMillis === undefined ? {} : { retryAfterMillis }
    const read = yield* Effect.either(HttpBody.text(response, { maxBytes }))
    // a runaway error body is reported as such; one cut off midway still has its status
    if (read._tag === "Left" && read.left._tag === "ResponseTooLarge") return tooLarge(read.left, status, where)
    const text = read._tag === "Right" ? read.right : ""
    const body = Option.getOrUndefined(decodeErrorBody(text))
    if (status === 401 || status === 403) {
      return new Errors.Unauthorized({ status, ...where, ...(body?.reason === undefined ? {} : { reason: body.reason }) })
    }
    if (status === 400 || status === 422) {
      return new Errors.InvalidRequest({
        status,
        ...where,
        ...(body?.error === undefined ? {} : { error: body.error }),
        ...(body?.reason === undefined ? {} : { reason: body.reason }),
        ...(body?.invalidContrats === undefined ? {} : { invalidContrats: body.invalidContrats })
      })
    }
    if (status === 404) return new Errors.NotFound({ status, ...where })
    if (status === 429) return new Errors.RateLimited({ status, ...where, ...retry })
    if (status >= 500 && status <= 599) return new Errors.Unavailable({ status, ...where, ...retry })
    return new Errors.UnexpectedStatus({ status, ...where, ...(text === "" ? {} : { body: text.slice(0, 300) }) })
  })

const fromRequestError = (error: HttpClientError.RequestError, where: Where): Errors.Transport => {
  const detail = ProviderKit.causeText(error.cause ?? error.description ?? error.reason)
  return new Errors.Transport({ ...where, reason: ProviderKit.transportReason(detail), detail })
}

export const make = (options: CampusSkillsConfig.Options) =>
  Effect.gen(function*() {
    const { token, url } = yield* CampusSkillsConfig.validate(options)
    const timeout = options.timeout ?? CampusSkillsConfig.defaultTimeout
    const maxBytes = options.maxResponseBytes ?? HttpBody.defaultMaxBytes
    const http = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest(flow(
        HttpClientRequest.prependUrl(url),
        HttpClientRequest.bearerToken(token),
        HttpClientRequest.acceptJson
      )),
      HttpClient.filterStatusOk
    )

    /** One call: send, map a refused status, decode the body; no retries here. */
    const call = <A, I>(
      request: HttpClientRequest.HttpClientRequest,
      schema: Schema.Schema<A, I>
    ): Effect.Effect<A, Errors.CampusSkillsError> => {
      const where: Where = { method: request.method, path: pathOf(request) }
      return http.execute(request).pipe(
        Effect.catchTags({
          RequestError: (error) => Effect.fail(fromRequestError(error, where)),
          ResponseError: (error) =>
            error.reason === "StatusCode"
              ? Effect.flip(fromStatus(error.response, where, maxBytes))
              : Effect.fail(
                new Errors.Decode({
                  status: error.response.status,
                  ...where,
                  detail: ProviderKit.causeText(error.cause ?? error.description)
                })
              )
        }),
        Effect.flatMap((response) => decodeBody(response, schema, where, maxBytes)),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () =>
            new Errors.Transport({ ...where, reason: "timeout", detail: `no answer within ${Duration.format(timeout)}` })
        })
      )
    }

    const withBody = <A, I, B, J>(
      request: HttpClientRequest.HttpClientRequest,
      bodySchema: Schema.Schema<B, J>,
      body: B,
      schema: Schema.Schema<A, I>
    ): Effect.Effect<A, Errors.CampusSkillsError> =>
      Schema.encode(bodySchema)(body).pipe(
        Effect.mapError((error) =>
          new Errors.InvalidInput({
            method: request.method,
            path: request.url,
            detail: ParseResult.TreeFormatter.formatErrorSync(error)
          })
        ),
        Effect.flatMap((encoded) => call(HttpClientRequest.bodyUnsafeJson(request, encoded), schema))
      )

    const page = (path: string) => (query: Contract.PageQuery = {}) =>
      call(
        HttpClientRequest.get(path).pipe(
          HttpClientRequest.setUrlParams({
            ...(query.page === undefined ? {} : { page: String(query.page) }),
            ...(query.limit === undefined ? {} : { limit: String(query.limit) })
          })
        ),
        Contract.ContractPage
      )

    const stream = (list: ReturnType<typeof page>) => (options: { readonly pageSize?: number | undefined } = {}) => {
      const limit = options.pageSize ?? 100
      return Stream.paginateChunkEffect(1, (n: number) =>
        Effect.map(list({ page: n, limit }), (result) =>
          [
            Chunk.fromIterable(result.contrats),
            result.contrats.length > 0 && n * limit < result.total ? Option.some(n + 1) : Option.none()
          ] as const))
    }

    const SyncBody = Contract.SyncRequest
    const listIntegrated = page("/api/sync/v1/contrats")
    const listTransmitted = page("/api/sync/v1/contrats-get-all")

    const service: Service = {
      sandbox: options.sandbox === true,
      test: call(HttpClientRequest.get("/api/sync/v1/test"), Contract.TestResponse),
      syncV1: (contrats) =>
        withBody(HttpClientRequest.post("/api/sync/v1/contrats"), SyncBody, { contrats }, Contract.SyncV1Response),
      syncV2: (contrats) =>
        withBody(HttpClientRequest.post("/api/sync/v2/contrats"), SyncBody, { contrats }, Contract.SyncV2Response),
      syncChanges: (changes) =>
        withBody(
          HttpClientRequest.post("/api/sync/v2/contrats/changes"),
          Contract.ChangesRequest,
          { changes },
          Contract.SyncV2Response
        ),
      diff: (contrats) =>
        withBody(HttpClientRequest.post("/api/sync/v1/contrats-diff"), SyncBody, { contrats }, Contract.DiffResponse),
      listIntegrated,
      listTransmitted,
      integrated: stream(listIntegrated),
      transmitted: stream(listTransmitted),
      // the vendor documents no body for this answer ("{ // Response }"): anything JSON is fine
      resetSync: Effect.asVoid(call(HttpClientRequest.del("/api/sync/v1/contrats"), Schema.Unknown))
    }
    return service
  })

