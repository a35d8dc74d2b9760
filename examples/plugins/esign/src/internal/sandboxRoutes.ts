/**
 * The sandbox's HTTP routes: the API of `Api.ts` (bearer auth, JSON, the documented error
 * bodies) and its own admin routes under `/__sandbox/` (the state, a reset, a signer answering
 * by hand).
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Api from "../Api.js"
import { type Outcome, type Store, toWire } from "./sandboxStore.js"

const json = (body: unknown, status = 200) => HttpServerResponse.unsafeJson(body, { status })

export const errorBody = (
  status: number,
  error: string,
  message: string,
  extra: { readonly details?: ReadonlyArray<{ readonly field: string; readonly message: string }>; readonly envelopeStatus?: string } = {}
) => json({ error, message, ...extra }, status)

const invalid = (message: string, details?: ReadonlyArray<{ readonly field: string; readonly message: string }>) =>
  errorBody(400, "invalid_request", message, details === undefined ? {} : { details })

export const notFound = (what: string) => errorBody(404, "not_found", what)

/** The JSON body, or a 400 answer saying why there is none. */
const readBody = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const text = yield* Effect.orElseSucceed(request.text, () => "")
  if (text.trim() === "") return Either.right<unknown>({})
  try {
    return Either.right<unknown>(JSON.parse(text))
  } catch {
    return Either.left(invalid("the body is not valid JSON"))
  }
})

const decodeCreate = Schema.decodeUnknownEither(Api.CreateEnvelope, { errors: "all", onExcessProperty: "error" })
const decodeCancel = Schema.decodeUnknownEither(Api.CancelEnvelope, { errors: "all", onExcessProperty: "error" })

const detailsOf = (error: ParseResult.ParseError) =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    field: issue.path.length === 0 ? "(body)" : issue.path.map(String).join("."),
    message: issue.message
  }))

const answer = (outcome: Outcome<Parameters<typeof toWire>[0]>, what: string, conflict: string) => {
  switch (outcome._tag) {
    case "ok":
      return json(toWire(outcome.value))
    case "not-found":
      return notFound(`no ${what}`)
    case "conflict":
      return errorBody(409, conflict, outcome.reason, { envelopeStatus: outcome.status })
  }
}

export interface RouteConfig {
  readonly store: Store
  /** The live clock: signing delays are real time. */
  readonly clock: Clock.Clock
}

export const apiRouter = ({ clock, store }: RouteConfig) => {
  const now = clock.currentTimeMillis
  /** Every route first lets the simulated signers answer what is due. */
  const advance = Effect.flatMap(now, (t) => Effect.sync(() => store.advance(t)))

  return HttpRouter.empty.pipe(
    HttpRouter.post(
      "/api/v1/envelopes",
      Effect.gen(function*() {
        const body = yield* readBody
        if (Either.isLeft(body)) return body.left
        const decoded = decodeCreate(body.right)
        if (Either.isLeft(decoded)) return invalid("the envelope is not valid", detailsOf(decoded.left))
        const emails = new Set<string>()
        for (const [i, signer] of decoded.right.signers.entries()) {
          const email = signer.email.toLowerCase()
          if (emails.has(email)) {
            return invalid("the envelope is not valid", [{ field: `signers.${i}.email`, message: `${signer.email} is given twice` }])
          }
          emails.add(email)
        }
        yield* advance
        return json(toWire(store.create(decoded.right, yield* now)), 201)
      })
    ),

    HttpRouter.get(
      "/api/v1/envelopes",
      Effect.gen(function*() {
        const params = yield* HttpServerRequest.ParsedSearchParams
        const reference = params.externalReference
        const rawLimit = params.limit
        if (Array.isArray(reference) || Array.isArray(rawLimit)) return invalid("give each query parameter once")
        let limit = 20
        if (rawLimit !== undefined && rawLimit !== "") {
          if (!/^\d+$/.test(rawLimit) || Number(rawLimit) < 1 || Number(rawLimit) > 100) {
            return invalid("limit must be a whole number from 1 to 100", [{ field: "limit", message: `got ${JSON.stringify(rawLimit)}` }])
          }
          limit = Number(rawLimit)
        }
        yield* advance
        const all = store.list({ externalReference: reference === "" ? undefined : reference })
        return json({ data: all.slice(0, limit).map(toWire), hasMore: all.length > limit })
      })
    ),

    HttpRouter.get(
      "/api/v1/envelopes/:id",
      Effect.gen(function*() {
        const { id } = yield* HttpRouter.params
        yield* advance
        const envelope = id === undefined ? undefined : store.get(id)
        return envelope === undefined ? notFound(`no envelope ${id}`) : json(toWire(envelope))
      })
    ),

    HttpRouter.post(
      "/api/v1/envelopes/:id/cancel",
      Effect.gen(function*() {
        const { id } = yield* HttpRouter.params
        const body = yield* readBody
        if (Either.isLeft(body)) return body.left
        const decoded = decodeCancel(body.right)
        if (Either.isLeft(decoded)) return invalid("the cancellation is not valid", detailsOf(decoded.left))
        yield* advance
        return answer(store.cancel(id ?? "", decoded.right.reason, yield* now), `envelope ${id}`, "envelope_not_cancellable")
      })
    )
  )
}

/** Bearer auth in front of the API. */
export const withAuth = <E, R>(
  tokens: ReadonlySet<string>,
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const match = /^Bearer\s+(.+)$/i.exec((request.headers.authorization ?? "").trim())
    const token = match?.[1]?.trim()
    return token === undefined || !tokens.has(token)
      ? Effect.succeed(errorBody(401, "unauthorized", "missing or invalid bearer token"))
      : app
  })

const AnswerBody = Schema.Struct({ reason: Schema.optional(Schema.String) })

/**
 * The sandbox's own admin routes: `GET /__sandbox/state`, `POST /__sandbox/reset`, and a signer
 * answering by hand: `POST /__sandbox/envelopes/:id/signers/:signer/sign` and `.../decline`
 * (`{ "reason"?: "..." }`), where `:signer` is the signer's id or e-mail address.
 */
export const adminRouter = (options: {
  readonly store: Store
  readonly clock: Clock.Clock
  readonly reset: Effect.Effect<void>
  readonly save: Effect.Effect<void>
}) => {
  const { clock, store } = options
  const byHand = (action: "sign" | "decline") =>
    Effect.gen(function*() {
      const { id, signer } = yield* HttpRouter.params
      const body = yield* readBody
      if (Either.isLeft(body)) return body.left
      const decoded = Schema.decodeUnknownEither(AnswerBody)(body.right)
      if (Either.isLeft(decoded)) return invalid("expected { \"reason\"?: string }")
      const now = yield* clock.currentTimeMillis
      store.advance(now)
      const outcome = store.answer(id ?? "", signer ?? "", action, decoded.right.reason, now)
      yield* options.save
      return answer(outcome, `signer ${signer} in envelope ${id}`, "signer_cannot_answer")
    })
  return HttpRouter.empty.pipe(
    HttpRouter.get(
      "/__sandbox/state",
      Effect.gen(function*() {
        store.advance(yield* clock.currentTimeMillis)
        return json({ envelopes: store.list({}).map(toWire) })
      })
    ),
    HttpRouter.post("/__sandbox/reset", Effect.as(options.reset, json({ reset: true }))),
    HttpRouter.post("/__sandbox/envelopes/:id/signers/:signer/sign", byHand("sign")),
    HttpRouter.post("/__sandbox/envelopes/:id/signers/:signer/decline", byHand("decline"))
  )
}
