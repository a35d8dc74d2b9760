/**
 * Reading HTTP response bodies with a size cap. `HttpClientResponse.text`/`json` buffer the
 * whole body whatever its size: a 600 MB answer from a misbehaving server crashes the process
 * (`RangeError: Invalid string length`) and a 50 MB one triples peak memory. Providers read
 * every body through this module instead: it refuses a body whose `Content-Length` is over the
 * limit without reading it, and otherwise reads the stream chunk by chunk and stops (closing
 * the connection) as soon as more than the limit has arrived, so it never holds more than the
 * limit plus one chunk.
 *
 * @since 0.1.0
 */
import type { HttpClientResponse } from "@effect/platform"
import { HttpClientError } from "@effect/platform"
import { Effect, Option, Schema, Stream } from "effect"
import type { ParseResult } from "effect"

/**
 * The default cap: 16 MiB, far above any answer the vendor APIs document (a page of OData
 * entities, a contract list) and far below what would hurt the process.
 *
 * @since 0.1.0
 */
export const defaultMaxBytes = 16 * 1024 * 1024

/**
 * How much of a body a reader accepts. A client usually takes this from its own options
 * (e.g. `maxResponseBytes`) and passes it on every read.
 *
 * @since 0.1.0
 */
export interface Options {
  /** The largest body accepted, in bytes; {@link defaultMaxBytes} when left out. */
  readonly maxBytes?: number | undefined
}

/**
 * A response body was larger than the cap, so relais stopped reading it. The server is
 * misbehaving (or the URL points at something that is not the API): nothing in the answer can
 * be trusted, and the connection was closed.
 *
 * @since 0.1.0
 * @category Errors
 */
export class ResponseTooLarge extends Schema.TaggedError<ResponseTooLarge>("@relais/core/ResponseTooLarge")(
  "ResponseTooLarge",
  {
    /** The request's method, e.g. `GET`. */
    method: Schema.optional(Schema.String),
    /** The request's URL (without its query parameters). */
    url: Schema.optional(Schema.String),
    /** The cap, in bytes. */
    limit: Schema.Number,
    /**
     * How many bytes the answer has at least: what the `Content-Length` header announced, or
     * how many bytes had arrived when relais stopped reading.
     */
    received: Schema.Number,
    /** Whether `received` comes from the `Content-Length` header (nothing was read). */
    announced: Schema.Boolean
  }
) {
  override get message(): string {
    const what = this.method !== undefined && this.url !== undefined
      ? `the answer to ${this.method} ${this.url}`
      : "an HTTP answer"
    const seen = this.announced
      ? `its Content-Length announces ${formatBytes(this.received)}, so relais did not read it`
      : `relais stops reading at ${formatBytes(this.limit)} (${formatBytes(this.received)} received)`
    return `${what} is larger than ${formatBytes(this.limit)}; ${seen}. ` +
      "The server is misbehaving or the URL does not point at the API: check the base URL and the server, " +
      "or raise the client's response size limit if such answers are expected."
  }
}

/**
 * `1536` → `1.5 KiB`, `16777216` → `16 MiB`.
 *
 * @since 0.1.0
 */
export const formatBytes = (bytes: number): string => {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"] as const
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  if (unit === 0) return `${bytes} ${bytes === 1 ? "byte" : "bytes"}`
  const rounded = Math.round(value * 10) / 10
  return `${Number.isInteger(rounded) ? rounded.toFixed(0) : rounded.toFixed(1)} ${units[unit]}`
}

const limitOf = (options: Options | undefined): number => {
  const max = options?.maxBytes
  return max !== undefined && Number.isFinite(max) && max >= 0 ? Math.floor(max) : defaultMaxBytes
}

const tooLarge = (
  response: HttpClientResponse.HttpClientResponse,
  limit: number,
  received: number,
  announced: boolean
) =>
  new ResponseTooLarge({
    method: response.request.method,
    url: response.request.url,
    limit,
    received,
    announced
  })

const contentLength = (response: HttpClientResponse.HttpClientResponse): Option.Option<number> => {
  const header = response.headers["content-length"]
  if (header === undefined) return Option.none()
  const trimmed = header.trim()
  return /^\d+$/.test(trimmed) ? Option.some(Number(trimmed)) : Option.none()
}

/**
 * The body as bytes, at most `maxBytes` of them; fails with {@link ResponseTooLarge} as soon
 * as the answer is known to be larger (from its `Content-Length`, or when the bytes that have
 * arrived pass the cap), and interrupts the body's stream so the connection is closed.
 *
 * @since 0.1.0
 */
export const bytes = (
  response: HttpClientResponse.HttpClientResponse,
  options?: Options
): Effect.Effect<Uint8Array, ResponseTooLarge | HttpClientError.ResponseError> => {
  const limit = limitOf(options)
  const announced = contentLength(response)
  if (Option.isSome(announced) && announced.value > limit) {
    // Consuming nothing leaves the socket to the client's scope; the answer is never read.
    return Effect.fail(tooLarge(response, limit, announced.value, true))
  }
  return response.stream.pipe(
    Stream.runFoldEffect(
      { chunks: [] as Array<Uint8Array>, size: 0 },
      (state, chunk) => {
        const size = state.size + chunk.length
        if (size > limit) return Effect.fail(tooLarge(response, limit, size, false))
        state.chunks.push(chunk)
        return Effect.succeed({ chunks: state.chunks, size })
      }
    ),
    Effect.map(({ chunks, size }) => {
      if (chunks.length === 1) return chunks[0]!
      const out = new Uint8Array(size)
      let offset = 0
      for (const chunk of chunks) {
        out.set(chunk, offset)
        offset += chunk.length
      }
      return out
    })
  )
}

/**
 * The body as UTF-8 text, capped as {@link bytes} is.
 *
 * @since 0.1.0
 */
export const text = (
  response: HttpClientResponse.HttpClientResponse,
  options?: Options
): Effect.Effect<string, ResponseTooLarge | HttpClientError.ResponseError> =>
  Effect.map(bytes(response, options), (body) => new TextDecoder().decode(body))

/**
 * The body parsed as JSON (an empty body is `null`, as `HttpClientResponse.json` has it),
 * capped as {@link bytes} is. Text that is not JSON fails with a `ResponseError` of reason
 * `Decode`, like the platform's own reader.
 *
 * @since 0.1.0
 */
export const json = (
  response: HttpClientResponse.HttpClientResponse,
  options?: Options
): Effect.Effect<unknown, ResponseTooLarge | HttpClientError.ResponseError> =>
  Effect.flatMap(text(response, options), (body) =>
    Effect.try({
      try: () => (body === "" ? null : JSON.parse(body)) as unknown,
      catch: (cause) =>
        new HttpClientError.ResponseError({
          request: response.request,
          response,
          reason: "Decode",
          cause,
          description: "the body is not valid JSON"
        })
    }))

/**
 * The JSON body decoded with `schema`, capped as {@link bytes} is: the capped counterpart of
 * `HttpClientResponse.schemaBodyJson`.
 *
 * @since 0.1.0
 */
export const schemaBodyJson = <A, I, R>(schema: Schema.Schema<A, I, R>, options?: Options) => {
  const decode = Schema.decodeUnknown(schema)
  return (
    response: HttpClientResponse.HttpClientResponse
  ): Effect.Effect<A, ResponseTooLarge | HttpClientError.ResponseError | ParseResult.ParseError, R> =>
    Effect.flatMap(json(response, options), (body) => decode(body))
}

/**
 * Another name for {@link schemaBodyJson}.
 *
 * @since 0.1.0
 */
export const schemaJson = schemaBodyJson
