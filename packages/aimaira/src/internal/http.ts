/**
 * Turning HTTP outcomes into the package's errors: OData error bodies, `Retry-After`, transport
 * failures, decode failures with the property at fault, and scrubbing of secrets.
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import { ProviderKit } from "@relais/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as AimairaConfig from "../AimairaConfig.js"
import * as Errors from "../Errors.js"

export interface Context {
  readonly method: string
  readonly path: string
  readonly entitySet?: string | undefined
  readonly key?: number | undefined
}

/** Removes every form of the configured credentials from a text before it goes in an error. */
export const makeScrubber = (auth: AimairaConfig.Auth) => ProviderKit.scrubber(AimairaConfig.secretsOf(auth))

/** An OData error body: `{"error": {"code", "message", "target", "details": [{"target"}]}}`. */
const ODataErrorBody = Schema.parseJson(Schema.Struct({
  error: Schema.Struct({
    code: Schema.optional(Schema.Unknown),
    message: Schema.optional(Schema.Unknown),
    target: Schema.optional(Schema.Unknown),
    details: Schema.optional(Schema.Unknown)
  })
}))
const decodeODataErrorBody = Schema.decodeUnknownOption(ODataErrorBody)

interface ODataError {
  readonly code?: string
  readonly message?: string
  readonly target?: string
}

const readODataError = (text: string): ODataError | undefined =>
  Option.match(decodeODataErrorBody(text), {
    onNone: () => undefined,
    onSome: ({ error }) => {
      const details = Array.isArray(error.details) ? (error.details[0] as { target?: unknown } | undefined) : undefined
      const target = typeof error.target === "string" ? error.target : typeof details?.target === "string" ? details.target : undefined
      return {
        ...(typeof error.code === "string" && error.code !== "" ? { code: error.code } : {}),
        ...(typeof error.message === "string" ? { message: error.message } : {}),
        ...(target === undefined ? {} : { target })
      }
    }
  })

/** The property an error message names, when it talks about a property. */
const fieldFromMessage = (message: string): string | undefined => {
  if (!/property|field|propriété|champ/i.test(message)) return undefined
  return /'([A-Za-z_][A-Za-z0-9_]*)'/.exec(message)?.[1]
}

/** The error for a non-2xx response. */
export const fromResponse = (
  ctx: Context,
  status: number,
  headers: Readonly<Record<string, string | undefined>>,
  text: string,
  auth: AimairaConfig.Auth,
  scrub: (text: string) => string
): Effect.Effect<Errors.AimairaError> =>
  Effect.gen(function*() {
    const odata = readODataError(text)
    const raw = odata?.message ?? (text.trim() === "" ? `HTTP ${status}` : text.trim().slice(0, 300))
    const detail = scrub(raw)
    const field = odata?.target ?? fieldFromMessage(raw)
    const base = { status, method: ctx.method, path: ctx.path, detail }
    const withField = field === undefined ? {} : { field }
    if (status === 401 || status === 403) return new Errors.Unauthorized({ ...base, auth: auth._tag })
    if (status === 404) {
      return new Errors.NotFound({
        ...base,
        ...(ctx.entitySet === undefined ? {} : { entitySet: ctx.entitySet }),
        ...(ctx.key === undefined ? {} : { key: ctx.key })
      })
    }
    if (status === 409) return new Errors.Conflict({ ...base, ...withField })
    if (status === 429 || status === 408 || status >= 500) {
      const retryAfter = yield* ProviderKit.retryAfter(headers["retry-after"])
      const wait = retryAfter === undefined ? {} : { retryAfterMillis: retryAfter }
      return status === 429 ? new Errors.RateLimited({ ...base, ...wait }) : new Errors.Unavailable({ ...base, ...wait })
    }
    return new Errors.Validation({ ...base, ...withField, ...(odata?.code === undefined ? {} : { code: odata.code }) })
  })

/** A request that got no usable response. The platform error is described, never kept. */
export const transport = (
  ctx: Context,
  error: HttpClientError.HttpClientError,
  scrub: (text: string) => string,
  status?: number
): Errors.Transport => {
  const reason = error.cause instanceof Error ? ProviderKit.causeText(error.cause) : error.description ?? error.reason
  return new Errors.Transport({
    method: ctx.method,
    path: ctx.path,
    reason: scrub(`${error.reason}: ${reason}`),
    ...(status === undefined ? {} : { status })
  })
}

/** A decode failure, naming the first property at fault. */
export const decodeError = (ctx: Context, status: number, error: ParseResult.ParseError | string, prefix: ReadonlyArray<PropertyKey> = []): Errors.Decode => {
  if (typeof error === "string") {
    return new Errors.Decode({
      status,
      method: ctx.method,
      path: ctx.path,
      ...(ctx.entitySet === undefined ? {} : { entitySet: ctx.entitySet }),
      detail: error
    })
  }
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  const path = [...prefix, ...(issue?.path ?? [])].map(String).join(".")
  return new Errors.Decode({
    status,
    method: ctx.method,
    path: ctx.path,
    ...(ctx.entitySet === undefined ? {} : { entitySet: ctx.entitySet }),
    ...(path === "" ? {} : { field: path }),
    detail: issue?.message ?? "invalid response"
  })
}
