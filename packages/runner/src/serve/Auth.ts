/**
 * Who may call `relais serve`: API tokens, their scopes, and the rules that keep a server from
 * being opened to a network by mistake.
 *
 * - A token is a random value given to a caller once (`relais token create`); the configuration
 *   keeps only its SHA-256 (`serve.tokens[].hash`). A plain hash is enough here, unlike for a
 *   password: the value is 256 random bits, so there is nothing to guess from the hash and no
 *   dictionary to slow down (a slow hash such as scrypt would only add latency to every
 *   request). The hash of what a request presents is compared with each configured hash in
 *   constant time (`crypto.timingSafeEqual`), every one of them, so that the time taken says
 *   nothing about which bytes, or which token, matched.
 * - Scopes: `read` allows the GET routes, `run` starting and resuming runs, `admin` everything.
 * - With no token configured the API is open, which is only allowed on a loopback address (the
 *   server says so in a banner). Off loopback, tokens are required, and HTTPS (`serve.tls`)
 *   unless `serve.trustProxy: true` says that a TLS proxy stands in front.
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import * as Crypto from "node:crypto"
import type * as Config from "../Config.js"
import { UsageError } from "../Errors.js"

/**
 * A caller the server recognised: the token's name and scopes (`open` when no token is
 * configured).
 *
 * @since 0.1.0
 */
export interface Caller {
  readonly name: string
  readonly scopes: ReadonlyArray<Config.TokenScope>
}

/**
 * The caller of an open API (no token configured, loopback only).
 *
 * @since 0.1.0
 */
export const openCaller: Caller = { name: "open", scopes: ["admin"] }

/**
 * The SHA-256 of a token's value, in hex: what the configuration keeps.
 *
 * @since 0.1.0
 */
export const hashToken = (token: string): string => Crypto.createHash("sha256").update(token, "utf8").digest("hex")

/**
 * A fresh token: `relais_` and 256 random bits in base64url.
 *
 * @since 0.1.0
 */
export const freshToken = (): string => `relais_${Crypto.randomBytes(32).toString("base64url")}`

/**
 * The configured token a presented value is, if any: every configured hash is compared, in
 * constant time.
 *
 * @since 0.1.0
 */
export const authenticate = (tokens: ReadonlyArray<Config.TokenSpec>, presented: string): Caller | undefined => {
  const digest = Buffer.from(hashToken(presented), "hex")
  let found: Config.TokenSpec | undefined
  for (const token of tokens) {
    const equal = Crypto.timingSafeEqual(digest, Buffer.from(token.sha256, "hex"))
    if (equal && found === undefined) found = token
  }
  return found === undefined ? undefined : { name: found.name, scopes: found.scopes }
}

/**
 * The scope a request needs: `read` for GET and HEAD, `run` for POST (start, resume), `admin`
 * for anything else.
 *
 * @since 0.1.0
 */
export const scopeFor = (method: string): Config.TokenScope =>
  method === "GET" || method === "HEAD" ? "read" : method === "POST" ? "run" : "admin"

/**
 * Whether a caller's scopes allow what `needed` names (`admin` allows everything).
 *
 * @since 0.1.0
 */
export const allows = (caller: Caller, needed: Config.TokenScope): boolean =>
  caller.scopes.includes("admin") || caller.scopes.includes(needed)

/**
 * Whether a host name or address is a loopback one (reachable from this machine only).
 *
 * @since 0.1.0
 */
export const isLoopback = (host: string): boolean =>
  host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host)

/**
 * The exposure rules, checked at start-up: off loopback, tokens are required, and HTTPS unless
 * `trustProxy`. `Right` tells whether the API is open (no token: loopback only).
 *
 * @since 0.1.0
 */
export const checkExposure = (options: {
  /** The command that would listen (`relais serve`, `relais ui`), for the messages. */
  readonly command: string
  readonly host: string
  readonly port: number
  readonly tokens: number
  readonly tls: boolean
  readonly trustProxy: boolean
}): Either.Either<{ readonly open: boolean }, UsageError> => {
  const where = `${options.host.includes(":") ? `[${options.host}]` : options.host}:${options.port}`
  if (isLoopback(options.host)) return Either.right({ open: options.tokens === 0 })
  if (options.tokens === 0) {
    return Either.left(
      new UsageError({
        reason: `${options.command} on ${where} would be reachable from the network with no token: add serve.tokens to the configuration (relais token create --name <caller> --scopes read,run prints one), or listen on 127.0.0.1`
      })
    )
  }
  if (!options.tls && !options.trustProxy) {
    return Either.left(
      new UsageError({
        reason: `${options.command} on ${where} would carry tokens over plain HTTP: set serve.tls (cert and key files), or serve.trustProxy: true when a TLS proxy stands in front, or listen on 127.0.0.1`
      })
    )
  }
  return Either.right({ open: false })
}
