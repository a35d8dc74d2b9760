/**
 * How the AIMAIRA client connects: the API root URL and the credentials, from options or from
 * `Config` (environment variables `AIMAIRA_URL`, `AIMAIRA_USERNAME` + `AIMAIRA_PASSWORD`, or
 * `AIMAIRA_API_KEY`; another namespace per profile, e.g. `AIMAIRA_PREPROD_URL`).
 *
 * AIMAIRA only accepts HTTPS; plain HTTP is allowed for loopback hosts only (the sandbox).
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { AimairaConfigError } from "./Errors.js"

/**
 * HTTP Basic: user name and password (`Authorization: Basic …`).
 *
 * @since 0.1.0
 */
export interface BasicAuth {
  readonly _tag: "Basic"
  readonly username: string
  readonly password: Redacted.Redacted<string>
}

/**
 * An API key sent in the `X-ApiKey` header.
 *
 * @since 0.1.0
 */
export interface ApiKeyAuth {
  readonly _tag: "ApiKey"
  readonly apiKey: Redacted.Redacted<string>
}

/** @since 0.1.0 */
export type Auth = BasicAuth | ApiKeyAuth

const redacted = (value: string | Redacted.Redacted<string>): Redacted.Redacted<string> =>
  Redacted.isRedacted(value) ? value : Redacted.make(value)

/** @since 0.1.0 */
export const basic = (username: string, password: string | Redacted.Redacted<string>): Auth => ({
  _tag: "Basic",
  username,
  password: redacted(password)
})

/** @since 0.1.0 */
export const apiKey = (key: string | Redacted.Redacted<string>): Auth => ({ _tag: "ApiKey", apiKey: redacted(key) })

/**
 * @since 0.1.0
 */
export interface Options {
  /**
   * The API root, e.g. `https://myapi.aimaira.net/GraphV1` (a bare origin gets `/GraphV1`).
   */
  readonly url: string
  readonly auth: Auth
  /**
   * The largest response body the client reads, in bytes (default 16 MiB,
   * `HttpBody.defaultMaxBytes` of `@relais/core`): a larger answer fails with
   * `ResponseTooLarge` as soon as the limit is passed, instead of filling the memory.
   */
  readonly maxResponseBytes?: number | undefined
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"])

/**
 * Checks and normalizes the API root: HTTPS (or HTTP on a loopback host), no credentials or query
 * in the URL, no trailing slash, `/GraphV1` added to a bare origin.
 *
 * @since 0.1.0
 */
export const normalizeUrl = (input: string): Either.Either<string, AimairaConfigError> => {
  let url: URL
  try {
    url = new URL(input)
  } catch {
    return Either.left(new AimairaConfigError({ reason: `the URL ${JSON.stringify(input)} is not a valid absolute URL` }))
  }
  if (url.username !== "" || url.password !== "") {
    return Either.left(
      new AimairaConfigError({ reason: "the URL must not contain credentials; use the username/password or API key settings" })
    )
  }
  const shown = `${url.protocol}//${url.host}${url.pathname}`
  if (url.search !== "" || url.hash !== "") {
    return Either.left(new AimairaConfigError({ reason: `the URL ${shown} must not have a query string or fragment` }))
  }
  if (url.protocol === "http:" && !LOOPBACK.has(url.hostname)) {
    return Either.left(
      new AimairaConfigError({
        reason: `AIMAIRA requires HTTPS, got ${shown}; plain http is only allowed for loopback hosts (127.0.0.1, localhost, ::1)`
      })
    )
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return Either.left(new AimairaConfigError({ reason: `unsupported protocol ${url.protocol} in ${shown}` }))
  }
  const path = url.pathname.replace(/\/+$/, "")
  return Either.right(`${url.protocol}//${url.host}${path === "" ? "/GraphV1" : path}`)
}

/**
 * The client configuration from `Config`, under a namespace (`AIMAIRA` by default):
 * `<NS>_URL`, and either `<NS>_API_KEY` or `<NS>_USERNAME` + `<NS>_PASSWORD`. Secrets are read
 * with `Config.redacted`. `<NS>_MAX_RESPONSE_BYTES` (optional, a positive integer) sets
 * `maxResponseBytes`.
 *
 * @since 0.1.0
 */
export const config = (namespace = "AIMAIRA"): Config.Config<Options> =>
  Config.nested(
    Config.all({
      url: Config.string("URL"),
      username: Config.option(Config.string("USERNAME")),
      password: Config.option(Config.redacted("PASSWORD")),
      apiKey: Config.option(Config.redacted("API_KEY")),
      maxResponseBytes: Config.option(
        Config.integer("MAX_RESPONSE_BYTES").pipe(
          Config.validate({ message: "expected a positive number of bytes", validation: (n) => n > 0 })
        )
      )
    }),
    namespace
  ).pipe(
    Config.mapOrFail(({ apiKey: key, maxResponseBytes, password, url, username }) => {
      const limit = Option.isSome(maxResponseBytes) ? { maxResponseBytes: maxResponseBytes.value } : {}
      if (Option.isSome(key)) return Either.right({ url, auth: apiKey(key.value), ...limit })
      if (Option.isSome(username) && Option.isSome(password)) {
        return Either.right({ url, auth: basic(username.value, password.value), ...limit })
      }
      return Either.left(
        ConfigError.MissingData(
          [namespace],
          `AIMAIRA credentials are missing: set ${namespace}_API_KEY, or ${namespace}_USERNAME and ${namespace}_PASSWORD`
        )
      )
    })
  )
