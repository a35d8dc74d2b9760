/**
 * Configuration of the Campus Skills client, read through `Config` (environment by default):
 *
 * - `CAMPUS_SKILLS_URL`: base URL of the application, e.g. `https://app.campus-skills.com` or
 *   a white-label URL. Required: nothing defaults silently to production. HTTPS, except on
 *   loopback hosts (127.0.0.1, localhost, ::1) for the sandbox.
 * - `CAMPUS_SKILLS_TOKEN`: the bearer token (secret, kept `Redacted`).
 * - `CAMPUS_SKILLS_TIMEOUT` (optional): per-request timeout, e.g. `30 seconds` (default 30 s).
 * - `CAMPUS_SKILLS_MAX_RESPONSE_BYTES` (optional): the largest answer the client reads, in bytes
 *   (default 16 MiB, `HttpBody.defaultMaxBytes` of `@relais/core`).
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { InvalidConfiguration } from "./Errors.js"

/**
 * What the client needs.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly url: string | URL
  readonly token: Redacted.Redacted<string>
  /** Per-request timeout, covering the connection and the body (default 30 seconds). */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * The largest answer the client reads, in bytes (default 16 MiB): a larger one fails with
   * `ResponseTooLarge` as soon as it passes the limit, instead of filling the memory.
   */
  readonly maxResponseBytes?: number | undefined
}

/**
 * The default per-request timeout.
 *
 * @since 0.1.0
 */
export const defaultTimeout: Duration.Duration = Duration.seconds(30)

/**
 * `CAMPUS_SKILLS_URL`, `CAMPUS_SKILLS_TOKEN`, `CAMPUS_SKILLS_TIMEOUT`, `CAMPUS_SKILLS_MAX_RESPONSE_BYTES`.
 *
 * @since 0.1.0
 */
export const config: Config.Config<Options> = Config.all({
  url: Config.string("URL"),
  token: Config.redacted("TOKEN"),
  timeout: Config.option(Config.duration("TIMEOUT")),
  maxResponseBytes: Config.option(Config.integer("MAX_RESPONSE_BYTES"))
}).pipe(
  Config.map(({ maxResponseBytes, timeout, token, url }): Options => ({
    url,
    token,
    ...(Option.isSome(timeout) ? { timeout: timeout.value } : {}),
    ...(Option.isSome(maxResponseBytes) ? { maxResponseBytes: maxResponseBytes.value } : {})
  })),
  Config.nested("CAMPUS_SKILLS")
)

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"])

/**
 * Checks a base URL: absolute, `https:` (or `http:` on a loopback host), no credentials, no
 * query. Returns it without a trailing slash.
 *
 * @since 0.1.0
 */
export const validateUrl = (input: string | URL): Either.Either<string, InvalidConfiguration> => {
  const fail = (reason: string) => Either.left(new InvalidConfiguration({ field: "url", reason }))
  let url: URL
  try {
    url = new URL(String(input))
  } catch {
    return fail(`"${String(input)}" is not an absolute URL (e.g. https://app.campus-skills.com)`)
  }
  if (url.username !== "" || url.password !== "") return fail("the URL must not contain credentials")
  if (url.search !== "" || url.hash !== "") return fail("the URL must not have a query or a fragment")
  const loopback = LOOPBACK.has(url.hostname)
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    return fail(
      `HTTPS is required (the token travels in every request); got ${url.protocol}//${url.host}. ` +
        "Plain HTTP is only accepted on 127.0.0.1, localhost and ::1 (the sandbox)."
    )
  }
  return Either.right(url.toString().replace(/\/+$/, ""))
}

/**
 * Checks options before a client is built.
 *
 * @since 0.1.0
 */
export const validate = (options: Options): Effect.Effect<Options & { readonly url: string }, InvalidConfiguration> =>
  Effect.gen(function*() {
    const url = yield* validateUrl(options.url)
    if (Redacted.value(options.token).trim().length === 0) {
      return yield* new InvalidConfiguration({ field: "token", reason: "the token is empty" })
    }
    const max = options.maxResponseBytes
    if (max !== undefined && (!Number.isSafeInteger(max) || max <= 0)) {
      return yield* new InvalidConfiguration({
        field: "maxResponseBytes",
        reason: `the response size limit must be a positive number of bytes, got ${max}`
      })
    }
    return { ...options, url }
  })
