import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpBody from "@relais/core/HttpBody"
import * as ProviderKit from "@relais/core/ProviderKit"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { flow } from "effect/Function"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Api from "../Api.js"
import * as Errors from "../Errors.js"
import * as EsignConfig from "../EsignConfig.js"

export interface Service {
  readonly createEnvelope: (request: Api.CreateEnvelope) => Effect.Effect<Api.Envelope, Errors.EsignError>
  readonly getEnvelope: (id: Api.EnvelopeId) => Effect.Effect<Api.Envelope, Errors.EsignError>
  readonly listEnvelopes: (
    query?: { readonly externalReference?: string | undefined; readonly limit?: number | undefined }
  ) => Effect.Effect<Api.EnvelopeList, Errors.EsignError>
  readonly cancelEnvelope: (id: Api.EnvelopeId, reason?: string) => Effect.Effect<Api.Envelope, Errors.EsignError>
}

interface Where {
  readonly method: string
  readonly path: string
}

const decodeErrorBody = Schema.decodeUnknownOption(Api.ErrorBody)

const pathOf = (request: HttpClientRequest.HttpClientRequest, base: string) => {
  const path = request.url.startsWith(base) ? request.url.slice(base.length) : request.url
  const params = new URLSearchParams(request.urlParams as unknown as Array<[string, string]>).toString()
  return params === "" ? path : `${path}?${params}`
}

const { causeText, transportReason } = ProviderKit

const validate = ProviderKit.validateConfig(EsignConfig.EsignConfig)

export const make = (config: EsignConfig.EsignConfig) =>
  Effect.gen(function*() {
    // A section decoded from a profile has passed these checks; a configuration built in code
    // has not, and gets the same rules and messages.
    const checked = validate(config)
    if (checked._tag === "Left") return yield* new Errors.InvalidConfiguration(checked.left)
    const base = config.url.replace(/\/+$/, "")
    const timeout = config.timeout ?? EsignConfig.defaultTimeout
    const maxBytes = config.maxResponseBytes ?? HttpBody.defaultMaxBytes
    // Whatever a server puts in a body (an echoed header...) goes through this before it can
    // reach an error message: the client holds the token, so it masks it itself.
    const scrub = ProviderKit.scrubber([config.token])

    const http = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest(flow(
        HttpClientRequest.prependUrl(base),
        HttpClientRequest.bearerToken(config.token),
        HttpClientRequest.acceptJson
      )),
      HttpClient.filterStatusOk
    )

    /** A body through core's capped reader: never more than `maxBytes` in memory. */
    const readJson = (response: HttpClientResponse.HttpClientResponse, where: Where) =>
      HttpBody.text(response, { maxBytes }).pipe(
        Effect.mapError((error): Errors.ResponseTooLarge | Errors.Transport =>
          error._tag === "ResponseTooLarge"
            ? new Errors.ResponseTooLarge({
              responseStatus: response.status,
              ...where,
              limit: error.limit,
              received: error.received,
              announced: error.announced
            })
            : new Errors.Transport({
              ...where,
              reason: "reset",
              detail: scrub(`the answer (HTTP ${response.status}) was cut off: ${causeText(error.cause ?? error.description)}`)
            })
        ),
        Effect.map((text) => {
          try {
            return { text, json: text === "" ? undefined : JSON.parse(text) as unknown }
          } catch {
            return { text, json: undefined }
          }
        })
      )

    /** A refused status as one of the client's errors. */
    const fromStatus = (response: HttpClientResponse.HttpClientResponse, where: Where) =>
      Effect.gen(function*() {
        const status = response.status
        const retryAfterMillis = yield* ProviderKit.retryAfter(response.headers["retry-after"])
        const retry = retryAfterMillis === undefined ? {} : { retryAfterMillis }
        const read = yield* Effect.either(readJson(response, where))
        if (Either.isLeft(read) && read.left._tag === "ResponseTooLarge") return read.left
        const { json, text } = Either.isRight(read) ? read.right : { json: undefined, text: "" }
        const body = Option.getOrUndefined(decodeErrorBody(json))
        const detail = body?.message === undefined ? {} : { detail: scrub(body.message) }
        if (status === 401 || status === 403) return new Errors.Unauthorized({ status, ...where })
        if (status === 400 || status === 422) {
          return new Errors.InvalidRequest({
            status,
            ...where,
            code: body?.error ?? "invalid_request",
            ...detail,
            ...(body?.details === undefined
              ? {}
              : { fields: body.details.map((d) => ({ field: d.field, message: scrub(d.message) })) })
          })
        }
        if (status === 404) return new Errors.NotFound({ status, ...where, ...detail })
        if (status === 409) {
          return new Errors.Conflict({
            status,
            ...where,
            code: body?.error ?? "conflict",
            ...detail,
            ...(body?.envelopeStatus === undefined ? {} : { envelopeStatus: body.envelopeStatus })
          })
        }
        if (status === 429) return new Errors.RateLimited({ status, ...where, ...retry })
        if (status >= 500 && status <= 599) return new Errors.Unavailable({ status, ...where, ...retry })
        return new Errors.UnexpectedStatus({
          status,
          ...where,
          ...(text === "" ? {} : { body: scrub(text.slice(0, 300)) })
        })
      })

    /** One call: send, map a refused status, decode the body. No retries: the step's policy decides. */
    const call = <A, I>(
      request: HttpClientRequest.HttpClientRequest,
      schema: Schema.Schema<A, I>
    ): Effect.Effect<A, Errors.EsignError> => {
      const where: Where = { method: request.method, path: pathOf(request, base) }
      return http.execute(request).pipe(
        Effect.flatMap((response) =>
          Effect.flatMap(readJson(response, where), ({ json, text }) =>
            json === undefined
              ? Effect.fail(
                new Errors.Decode({ status: response.status, ...where, detail: `not JSON: ${JSON.stringify(scrub(text.slice(0, 120)))}` })
              )
              : Schema.decodeUnknown(schema)(json).pipe(
                Effect.mapError((error) =>
                  new Errors.Decode({
                    status: response.status,
                    ...where,
                    detail: scrub(ParseResult.TreeFormatter.formatErrorSync(error))
                  })
                )
              ))
        ),
        Effect.catchTags({
          RequestError: (error: HttpClientError.RequestError) => {
            const detail = scrub(causeText(error.cause ?? error.description ?? error.reason))
            return Effect.fail(new Errors.Transport({ ...where, reason: transportReason(detail), detail }))
          },
          ResponseError: (error: HttpClientError.ResponseError) =>
            error.reason === "StatusCode"
              ? Effect.flip(fromStatus(error.response, where))
              : Effect.fail(
                new Errors.Decode({ status: error.response.status, ...where, detail: scrub(causeText(error.cause ?? error.description)) })
              )
        }),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => new Errors.Transport({ ...where, reason: "timeout", detail: `no answer within ${Duration.format(timeout)}` })
        })
      )
    }

    /** A request with a JSON body encoded by `bodySchema`; a body that does not encode is sent nowhere. */
    const withBody = <B, J, A, I>(
      request: HttpClientRequest.HttpClientRequest,
      bodySchema: Schema.Schema<B, J>,
      body: B,
      schema: Schema.Schema<A, I>
    ): Effect.Effect<A, Errors.EsignError> =>
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

    const envelopePath = (id: Api.EnvelopeId) => `/api/v1/envelopes/${encodeURIComponent(id)}`

    const service: Service = {
      createEnvelope: (request) =>
        withBody(HttpClientRequest.post("/api/v1/envelopes"), Api.CreateEnvelope, request, Api.Envelope),
      getEnvelope: (id) => call(HttpClientRequest.get(envelopePath(id)), Api.Envelope),
      listEnvelopes: (query = {}) =>
        call(
          HttpClientRequest.get("/api/v1/envelopes").pipe(
            HttpClientRequest.setUrlParams({
              ...(query.externalReference === undefined ? {} : { externalReference: query.externalReference }),
              ...(query.limit === undefined ? {} : { limit: String(query.limit) })
            })
          ),
          Api.EnvelopeList
        ),
      cancelEnvelope: (id, reason) =>
        withBody(
          HttpClientRequest.post(`${envelopePath(id)}/cancel`),
          Api.CancelEnvelope,
          reason === undefined ? {} : { reason },
          Api.Envelope
        )
    }
    return service
  })
