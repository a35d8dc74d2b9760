/**
 * The sandbox's webhooks, configured like AIMAIRA's (Code, Nom, Url, the legacy names of the
 * entity types watched, OAuth client credentials): for every entity of a watched type created,
 * changed or deleted through the API, each active webhook POSTs a message
 * `{ CustomerName, Date, Hash, ObjectId, ObjectType, TriggerName }` with a correct hash.
 *
 * Delivery happens in the background, in order per webhook, and never holds up or fails the
 * API call that caused it. With `AuthType` 2 (OAuth client credentials, RFC 6749 §4.4) a token
 * is asked for at `AuthTokenEndpoint` (form `grant_type=client_credentials`, client id and
 * secret in HTTP Basic), reused until its `expires_in` or a 401, and sent as `Bearer`. A
 * non-2xx answer, a failed token request or a connection error is tried again later with an
 * exponential backoff, up to `maxAttempts`; then the message is given up (and logged).
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as ParseResult from "effect/ParseResult"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { Buffer } from "node:buffer"
import { Temporal } from "temporal-polyfill"
import { timeZone } from "../../ParisDate.js"
import * as Webhook from "../../Webhook.js"
import { type CollectionName, collectionNames } from "./model.js"
import type { Change } from "./store.js"

// ---------------------------------------------------------------------------------------------
// Configuration

/** The legacy name the sandbox sends for each of its collections. */
export const legacyNameOf = (collection: CollectionName): string => Webhook.legacyNameOf(collection) ?? `sandbox.T_${collection.toUpperCase()}`

const sandboxNames = collectionNames.map(legacyNameOf)

const EntityName = Schema.String.pipe(
  Schema.filter((name) => {
    if (sandboxNames.includes(name)) return true
    const why = Webhook.checkObjectType(name)
    if (why !== undefined) return why
    return `the sandbox has no entity type ${JSON.stringify(name)}; it sends messages for ${sandboxNames.join(", ")}`
  })
)

const Url = Schema.String.pipe(
  Schema.filter((text) => {
    try {
      const url = new URL(text)
      return url.protocol === "http:" || url.protocol === "https:" || `expected an http(s) URL, got ${JSON.stringify(text)}`
    } catch {
      return `expected an http(s) URL, got ${JSON.stringify(text)}`
    }
  })
)

const ConfigurationText = Schema.String.pipe(
  Schema.filter((text) => {
    try {
      const parsed = JSON.parse(text) as { Entites?: unknown }
      return Array.isArray(parsed?.Entites) || `expected { "Entites": [ ... ] }`
    } catch {
      return `expected JSON text { "Entites": [ ... ] }`
    }
  })
)

/** One webhook as a sandbox configuration gives it (the documented fields, plus the secret). */
export const WebhookInput = Schema.Struct({
  Id: Schema.optionalWith(Schema.Int, { exact: true }),
  Code: Schema.String,
  Nom: Schema.String,
  Actif: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  Url,
  /** The entity types watched, as the documentation's `Configuration` holds them (JSON text)... */
  Configuration: Schema.optionalWith(ConfigurationText, { exact: true }),
  /** ...or as a list. */
  Entites: Schema.optionalWith(Schema.Array(Schema.Unknown), { exact: true }),
  AuthType: Schema.optionalWith(
    Schema.Number.pipe(
      Schema.filter((n): n is 0 | 2 => n === 0 || n === 2, {
        message: (issue) =>
          `expected 0 (no authentication) or 2 (OAuth client credentials), got ${String(issue.actual)}${
            issue.actual === 1 ? ": 1 (Basic) is not simulated" : ""
          }`
      })
    ),
    { default: () => 0 as const }
  ),
  AuthClientId: Schema.optionalWith(Schema.String, { default: () => "" }),
  AuthClientSecret: Schema.optionalWith(Schema.Union(Schema.String, Schema.RedactedFromSelf(Schema.String)), { exact: true }),
  AuthTokenEndpoint: Schema.optionalWith(Schema.String, { default: () => "" }),
  /** The name messages carry (`TriggerName`); default: `Nom`. */
  TriggerName: Schema.optionalWith(Schema.String, { exact: true })
})

/** How deliveries are retried. */
export const RetryInput = Schema.Struct({
  maxAttempts: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 100)), { default: () => 8 }),
  initialDelayMs: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 3_600_000)), { default: () => 1000 }),
  maxDelayMs: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 3_600_000)), { default: () => 60_000 }),
  /** The time one request (token or message) may take. */
  timeoutMs: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 600_000)), { default: () => 10_000 })
})

/**
 * The sandbox's webhook configuration: a JSON document (file, `PUT /__sandbox/webhooks`, or the
 * `webhooks` option), or just the list of webhooks.
 */
export const DocumentInput = Schema.Struct({
  customerName: Schema.optionalWith(Schema.String.pipe(Schema.minLength(1)), { exact: true }),
  retry: Schema.optionalWith(RetryInput, { exact: true }),
  webhooks: Schema.Array(WebhookInput)
})

export const ConfigInput = Schema.Union(DocumentInput, Schema.Array(WebhookInput))

export type ConfigInput = typeof ConfigInput.Encoded | typeof ConfigInput.Type

export type Retry = typeof RetryInput.Type

export const defaultRetry: Retry = Schema.decodeSync(RetryInput)({})

/** A webhook, checked. */
export interface WebhookDef {
  readonly Id: number
  readonly Code: string
  readonly Nom: string
  readonly Actif: boolean
  readonly Url: string
  readonly Entites: ReadonlyArray<string>
  readonly AuthType: 0 | 2
  readonly AuthClientId: string
  readonly AuthClientSecret: Redacted.Redacted<string>
  readonly AuthTokenEndpoint: string
  readonly TriggerName: string
}

export interface Config {
  readonly customerName: string | undefined
  readonly retry: Retry | undefined
  readonly webhooks: ReadonlyArray<WebhookDef>
}

const decodeDocument = Schema.decodeUnknownEither(DocumentInput, { errors: "all", onExcessProperty: "error" })
const decodeList = Schema.decodeUnknownEither(Schema.Array(WebhookInput), { errors: "all", onExcessProperty: "error" })
const decodeEntites = Schema.decodeUnknownEither(Schema.Array(EntityName), { errors: "all" })

const describe = (error: ParseResult.ParseError, prefix: ReadonlyArray<string> = []): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    // An optional field's schema is a union with `undefined`: its member says nothing useful.
    .filter((issue) => !issue.message.startsWith("Expected undefined,"))
    .map((issue) => {
      const path = [...prefix, ...issue.path.map(String)]
      return `${path.length === 0 ? "" : `${path.join(".")}: `}${issue._tag === "Missing" ? "is missing" : issue.message}`
    })
    .filter((line, index, all) => all.indexOf(line) === index)
    .join("; ")

/**
 * Reads a configuration (already parsed JSON, or values given in code), or says what is wrong
 * (never repeating a secret).
 */
export const readConfig = (input: unknown): Either.Either<Config, string> => {
  const decoded: Either.Either<typeof DocumentInput.Type, ParseResult.ParseError> = Array.isArray(input)
    ? Either.map(decodeList(input), (webhooks) => ({ webhooks }))
    : decodeDocument(input)
  if (Either.isLeft(decoded)) return Either.left(describe(decoded.left, Array.isArray(input) ? ["webhooks"] : []))
  const document = decoded.right
  const { customerName, retry } = document
  const webhooks: Array<WebhookDef> = []
  const codes = new Set<string>()
  for (const [index, input] of document.webhooks.entries()) {
    const at = `webhooks.${index}`
    if (codes.has(input.Code)) return Either.left(`${at}.Code: ${JSON.stringify(input.Code)} is already the code of another webhook`)
    codes.add(input.Code)
    if ((input.Configuration === undefined) === (input.Entites === undefined)) {
      return Either.left(`${at}: give the entity types watched in Configuration ("{ \\"Entites\\": [...] }") or in Entites, once`)
    }
    const entites = input.Entites ?? (JSON.parse(input.Configuration!) as { Entites: Array<unknown> }).Entites
    const names = decodeEntites(entites)
    if (Either.isLeft(names)) return Either.left(`${at}.Entites: ${describe(names.left)}`)
    const secret = input.AuthClientSecret === undefined
      ? Redacted.make("")
      : typeof input.AuthClientSecret === "string"
      ? Redacted.make(input.AuthClientSecret)
      : input.AuthClientSecret
    if (input.AuthType === 2) {
      const endpoint = Schema.decodeUnknownEither(Url)(input.AuthTokenEndpoint)
      if (Either.isLeft(endpoint)) return Either.left(`${at}.AuthTokenEndpoint: ${describe(endpoint.left)} (AuthType 2 needs it)`)
      if (input.AuthClientId === "") return Either.left(`${at}.AuthClientId: AuthType 2 needs the client id`)
      if (Redacted.value(secret) === "") return Either.left(`${at}.AuthClientSecret: AuthType 2 needs the client secret`)
    }
    webhooks.push({
      Id: input.Id ?? index + 1,
      Code: input.Code,
      Nom: input.Nom,
      Actif: input.Actif,
      Url: input.Url,
      Entites: names.right,
      AuthType: input.AuthType,
      AuthClientId: input.AuthClientId,
      AuthClientSecret: secret,
      AuthTokenEndpoint: input.AuthTokenEndpoint,
      TriggerName: input.TriggerName ?? input.Nom
    })
  }
  return Either.right({ customerName, retry, webhooks })
}

/** A webhook as `GET /GraphV1/Webhook` lists it (the documented fields; never the secret). */
export const view = (webhook: WebhookDef) => ({
  Id: webhook.Id,
  Code: webhook.Code,
  Nom: webhook.Nom,
  Actif: webhook.Actif,
  Url: webhook.Url,
  Configuration: JSON.stringify({ Entites: webhook.Entites }),
  AuthType: webhook.AuthType,
  AuthClientId: webhook.AuthClientId,
  AuthTokenEndpoint: webhook.AuthTokenEndpoint
})

// ---------------------------------------------------------------------------------------------
// Delivery

/** A message and what became of it. */
export interface Delivery {
  readonly webhook: string
  readonly message: Webhook.Message
  attempts: number
  outcome: "pending" | "delivered" | "failed"
  /** The last failure: `HTTP 500 from the webhook URL`, `token endpoint: HTTP 401`... */
  lastError?: string
}

/** A Paris local time with its offset and seven fractional digits, as AIMAIRA (.NET) writes it. */
export const messageDate = (epochMillis: number): string =>
  Temporal.Instant.fromEpochMilliseconds(epochMillis).toZonedDateTimeISO(timeZone).toString({
    fractionalSecondDigits: 7,
    timeZoneName: "never"
  })

class Failed extends Data.TaggedError("Failed")<{ readonly reason: string }> {}

interface Token {
  readonly value: string
  readonly expiresAt: number | undefined
}

/** RFC 6749 §2.3.1: the client id and secret are form-encoded before Basic encoding. */
const formEncode = (text: string) => encodeURIComponent(text).replace(/%20/g, "+")

const MAX_LOG = 1000

export interface Webhooks {
  readonly configure: (config: Config) => Effect.Effect<void>
  readonly webhooks: () => ReadonlyArray<WebhookDef>
  readonly customerName: () => string
  readonly retry: () => Retry
  /** Called synchronously with the changes of one API request. */
  readonly notify: (changes: ReadonlyArray<Change>, epochMillis: number) => void
  readonly deliveries: () => ReadonlyArray<Delivery>
}

/** The webhook machinery, its workers living in the scope. */
export const make = (initial: {
  readonly customerName: string
  readonly retry: Retry
  readonly config: Config
}): Effect.Effect<Webhooks, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const client = yield* Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer)
    let current: Config = { customerName: undefined, retry: undefined, webhooks: [] }
    let workers: Array<{ readonly webhook: WebhookDef; readonly queue: Queue.Queue<Delivery>; readonly fiber: Fiber.RuntimeFiber<void> }> = []
    const log: Array<Delivery> = []
    const customerName = () => current.customerName ?? initial.customerName
    const retry = () => current.retry ?? initial.retry

    const timeout = <A, E, R>(effect: Effect.Effect<A, E, R>, what: string) =>
      Effect.timeoutFail(effect, { duration: Duration.millis(retry().timeoutMs), onTimeout: () => new Failed({ reason: `${what}: no answer in ${retry().timeoutMs} ms` }) })

    const transport = (what: string) => (error: { readonly message: string }) => new Failed({ reason: `${what}: ${error.message}` })

    const requestToken = (webhook: WebhookDef) =>
      Effect.gen(function*() {
        const basic = Buffer.from(`${formEncode(webhook.AuthClientId)}:${formEncode(Redacted.value(webhook.AuthClientSecret))}`).toString("base64")
        const request = HttpClientRequest.post(webhook.AuthTokenEndpoint).pipe(
          HttpClientRequest.setHeader("Authorization", `Basic ${basic}`),
          HttpClientRequest.acceptJson,
          HttpClientRequest.setBody(HttpBody.text("grant_type=client_credentials", "application/x-www-form-urlencoded"))
        )
        const response = yield* timeout(Effect.mapError(client.execute(request), transport("token endpoint")), "token endpoint")
        const text = yield* Effect.orElseSucceed(response.text, () => "")
        if (response.status < 200 || response.status >= 300) return yield* new Failed({ reason: `token endpoint: HTTP ${response.status}` })
        let json: { access_token?: unknown; expires_in?: unknown } | undefined
        try {
          json = JSON.parse(text)
        } catch {
          json = undefined
        }
        if (typeof json?.access_token !== "string" || json.access_token === "") {
          return yield* new Failed({ reason: "token endpoint: the answer has no access_token" })
        }
        // RFC 6749 §5.1 says a number; some servers send it as a string.
        const seconds = typeof json.expires_in === "string" ? Number(json.expires_in) : json.expires_in
        const expiresIn = typeof seconds === "number" && Number.isFinite(seconds) && seconds > 0 ? seconds : undefined
        // Renewed a little before it expires, so that it does not expire on the way.
        return {
          value: json.access_token,
          expiresAt: expiresIn === undefined ? undefined : Date.now() + Math.max(0, expiresIn * 1000 - 5000)
        } satisfies Token
      })

    const post = (webhook: WebhookDef, body: string, token: Token | undefined) => {
      let request = HttpClientRequest.post(webhook.Url).pipe(
        HttpClientRequest.setBody(HttpBody.text(body, "application/json; charset=utf-8"))
      )
      if (token !== undefined) request = HttpClientRequest.bearerToken(request, token.value)
      return timeout(
        Effect.flatMap(Effect.mapError(client.execute(request), transport("webhook URL")), (response) =>
          Effect.as(Effect.ignore(response.text), response.status)),
        "webhook URL"
      )
    }

    /** One attempt: a token if needed (a 401 with a reused token asks for a new one, once), the POST. */
    const attempt = (webhook: WebhookDef, body: string, tokens: { current: Token | undefined }) =>
      Effect.gen(function*() {
        if (webhook.AuthType !== 2) {
          const status = yield* post(webhook, body, undefined)
          if (status < 200 || status >= 300) return yield* new Failed({ reason: `webhook URL: HTTP ${status}` })
          return
        }
        const cached = tokens.current !== undefined && (tokens.current.expiresAt === undefined || tokens.current.expiresAt > Date.now())
        if (!cached) tokens.current = yield* requestToken(webhook)
        let status = yield* post(webhook, body, tokens.current)
        if (status === 401 && cached) {
          tokens.current = yield* requestToken(webhook)
          status = yield* post(webhook, body, tokens.current)
        }
        if (status === 401) tokens.current = undefined
        if (status < 200 || status >= 300) return yield* new Failed({ reason: `webhook URL: HTTP ${status}` })
      })

    const worker = (webhook: WebhookDef, queue: Queue.Queue<Delivery>) =>
      Effect.gen(function*() {
        const tokens: { current: Token | undefined } = { current: undefined }
        while (true) {
          const delivery = yield* Queue.take(queue)
          const body = JSON.stringify(delivery.message)
          while (delivery.outcome === "pending") {
            delivery.attempts++
            const result = yield* Effect.either(attempt(webhook, body, tokens))
            if (Either.isRight(result)) {
              delivery.outcome = "delivered"
              delete delivery.lastError
              break
            }
            delivery.lastError = result.left.reason
            const policy = retry()
            if (delivery.attempts >= policy.maxAttempts) {
              delivery.outcome = "failed"
              break
            }
            const delay = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (delivery.attempts - 1))
            yield* Effect.sleep(Duration.millis(delay))
          }
        }
      })

    const configure = (config: Config) =>
      Effect.gen(function*() {
        const previous = workers
        workers = []
        yield* Effect.forEach(previous, ({ fiber }) => Fiber.interrupt(fiber), { discard: true })
        for (const entry of log) if (entry.outcome === "pending") entry.outcome = "failed"
        current = config
        for (const webhook of config.webhooks) {
          const queue = yield* Queue.unbounded<Delivery>()
          const fiber = yield* Effect.forkIn(worker(webhook, queue), scope)
          workers.push({ webhook, queue, fiber })
        }
      })

    const notify = (changes: ReadonlyArray<Change>, epochMillis: number) => {
      if (changes.length === 0 || workers.length === 0) return
      const date = messageDate(epochMillis)
      for (const { queue, webhook } of workers) {
        if (!webhook.Actif) continue
        for (const change of changes) {
          const objectType = legacyNameOf(change.collection)
          if (!webhook.Entites.includes(objectType)) continue
          const delivery: Delivery = {
            webhook: webhook.Code,
            message: Webhook.sign({
              CustomerName: customerName(),
              Date: date,
              ObjectId: change.id,
              ObjectType: objectType,
              TriggerName: webhook.TriggerName
            }),
            attempts: 0,
            outcome: "pending"
          }
          log.push(delivery)
          if (log.length > MAX_LOG) log.splice(0, log.length - MAX_LOG)
          Queue.unsafeOffer(queue, delivery)
        }
      }
    }

    yield* configure(initial.config)
    return {
      configure,
      webhooks: () => current.webhooks,
      customerName,
      retry,
      notify,
      deliveries: () => log.map((entry) => ({ ...entry }))
    }
  })
