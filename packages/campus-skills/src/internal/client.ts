import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpBody from "@relais/core/HttpBody"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { flow } from "effect/Function"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as CampusSkillsConfig from "../CampusSkillsConfig.js"
import * as Contract from "../Contract.js"
import * as Errors from "../Errors.js"

export interface Service {
  readonly test: Effect.Effect<Contract.TestResponse, Errors.CampusSkillsError>
  readonly syncV1: (contrats: ReadonlyArray<Contract.Contract>) => Effect.Effect<Contract.SyncV1Response, Errors.CampusSkillsError>
  readonly syncV2: (contrats: ReadonlyArray<Contract.Contract>) => Effect.Effect<Contract.SyncV2Response, Errors.CampusSkillsError>
  readonly syncChanges: (changes: Contract.Changes) => Effect.Effect<Contract.SyncV2Response, Errors.CampusSkillsError>
  readonly diff: (contrats: ReadonlyArray<Contract.Contract>) => Effect.Effect<Contract.DiffResponse, Errors.CampusSkillsError>
  readonly listIntegrated: (query?: Contract.PageQuery) => Effect.Effect<Contract.ContractPage, Errors.CampusSkillsError>
  readonly listTransmitted: (query?: Contract.PageQuery) => Effect.Effect<Contract.ContractPage, Errors.CampusSkillsError>
  readonly integrated: (options?: { readonly pageSize?: number | undefined }) => Stream.Stream<Contract.TransmittedContract, Errors.CampusSkillsError>
  readonly transmitted: (options?: { readonly pageSize?: number | undefined }) => Stream.Stream<Contract.TransmittedContract, Errors.CampusSkillsError>
  readonly resetSync: Effect.Effect<void, Errors.CampusSkillsError>
}

const ErrorBody = Schema.Struct({
  error: Schema.optional(Schema.String),
  reason: Schema.optional(Schema.String),
  invalidContrats: Schema.optional(Schema.Array(Contract.InvalidContract))
})
const decodeErrorBody = Schema.decodeUnknownOption(ErrorBody)

interface Where {
  readonly method: string
  readonly path: string
}

const pathOf = (request: HttpClientRequest.HttpClientRequest) => {
  const params = new URLSearchParams(request.urlParams as unknown as Array<[string, string]>).toString()
  return params === "" ? request.url : `${request.url}?${params}`
}

/**
 * Reads a body through core's `HttpBody`, never more than `maxBytes`: a runaway answer fails
 * with `ResponseTooLarge` at the limit (the connection is closed) instead of filling the
 * memory. A body cut off midway is a `Transport` failure.
 */
const readJson = (response: HttpClientResponse.HttpClientResponse, where: Where, maxBytes: number) =>
  HttpBody.text(response, { maxBytes }).pipe(
    Effect.mapError((error): Errors.ResponseTooLarge | Errors.Transport => {
      if (error._tag === "ResponseTooLarge") {
        return new Errors.ResponseTooLarge({
          responseStatus: response.status,
          ...where,
          limit: error.limit,
          received: error.received,
          announced: error.announced
        })
      }
      const detail = `the answer (HTTP ${response.status}) was cut off: ${causeText(error.cause ?? error.description)}`
      return new Errors.Transport({ ...where, reason: transportReason(detail), detail })
    }),
    Effect.map((text) => {
      try {
        return { text, json: JSON.parse(text) as unknown }
      } catch {
        return { text, json: undefined }
      }
    })
  )

/** A non-2xx response, as one of the package's errors. */
const fromStatus = (response: HttpClientResponse.HttpClientResponse, where: Where, maxBytes: number) =>
  Effect.gen(function*() {
    const status = response.status
    const now = yield* Clock.currentTimeMillis
    const retryAfterMillis = Errors.parseRetryAfter(response.headers["retry-after"], now)
    const retry = retryAfterMillis === undefined ? {} : { retryAfterMillis }
    const read = yield* Effect.either(readJson(response, where, maxBytes))
    // a runaway error body is reported as such; one cut off midway still has its status
    if (Either.isLeft(read) && read.left._tag === "ResponseTooLarge") return read.left
    const { json, text } = Either.isRight(read) ? read.right : { json: undefined, text: "" }
    const body = Option.getOrUndefined(decodeErrorBody(json))
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

const causeText = (cause: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = cause
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code
    parts.push(typeof code === "string" ? `${current.message} (${code})` : current.message)
    current = current.cause
  }
  return parts.length === 0 ? String(cause) : parts.join(": ")
}

const transportReason = (detail: string): Errors.Transport["reason"] => {
  if (/ECONNREFUSED/.test(detail)) return "refused"
  if (/ECONNRESET|UND_ERR_SOCKET|other side closed|socket hang up|EPIPE|terminated/i.test(detail)) return "reset"
  if (/TIMEOUT|timed out/i.test(detail)) return "timeout"
  return "other"
}

const fromRequestError = (error: HttpClientError.RequestError, where: Where): Errors.Transport => {
  const detail = causeText(error.cause ?? error.description ?? error.reason)
  return new Errors.Transport({ ...where, reason: transportReason(detail), detail })
}

export const make = (options: CampusSkillsConfig.Options) =>
  Effect.gen(function*() {
    const { token, url } = yield* CampusSkillsConfig.validate(options)
    const timeout = Duration.decode(options.timeout ?? CampusSkillsConfig.defaultTimeout)
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
        Effect.flatMap((response) =>
          Effect.flatMap(readJson(response, where, maxBytes), ({ json, text }) =>
            json === undefined
              ? Effect.fail(
                new Errors.Decode({
                  status: response.status,
                  ...where,
                  detail: `not JSON: ${JSON.stringify(text.slice(0, 120))}`
                })
              )
              : Schema.decodeUnknown(schema)(json).pipe(
                Effect.mapError((error) =>
                  new Errors.Decode({
                    status: response.status,
                    ...where,
                    detail: ParseResult.TreeFormatter.formatErrorSync(error)
                  })
                )
              ))
        ),
        Effect.catchTags({
          RequestError: (error) => Effect.fail(fromRequestError(error, where)),
          ResponseError: (error) =>
            error.reason === "StatusCode"
              ? Effect.flip(fromStatus(error.response, where, maxBytes))
              : Effect.fail(
                new Errors.Decode({ status: error.response.status, ...where, detail: causeText(error.cause ?? error.description) })
              )
        }),
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

