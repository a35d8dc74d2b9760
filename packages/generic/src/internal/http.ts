import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { HttpBody, PluginConfig, ProviderKit, Redactor, Suggest } from "@relais/core"
import { Clock, Duration, Effect, Either, Redacted } from "effect"
import type * as HttpConfig from "../HttpConfig.js"
import { defaultMaxResponseBytes, defaultTimeout } from "../HttpConfig.js"
import type * as HttpConnections from "../HttpConnections.js"
import * as HttpErrors from "../HttpErrors.js"
import * as HttpPath from "../HttpPath.js"
import * as JsonSchemaFragment from "../JsonSchemaFragment.js"

export const idempotentMethods: ReadonlySet<HttpConnections.Method> = new Set(["GET", "HEAD", "PUT", "DELETE"])

export const outputHeaders: ReadonlySet<string> = new Set([
  "content-type",
  "content-length",
  "content-language",
  "content-range",
  "date",
  "etag",
  "last-modified",
  "location",
  "link",
  "retry-after",
  "cache-control",
  "expires",
  "request-id",
  "x-request-id",
  "x-correlation-id",
  "x-total-count",
  "x-ratelimit-limit",
  "x-ratelimit-remaining",
  "x-ratelimit-reset",
  "ratelimit-limit",
  "ratelimit-remaining",
  "ratelimit-reset"
])

interface Resolved {
  readonly name: string
  readonly baseUrl: string
  /** The credential header, if the connection has one. */
  readonly auth: { readonly header: string; readonly value: Redacted.Redacted<string> } | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly timeout: Duration.Duration
  readonly maxBytes: number
}

const resolve = (name: string, connection: HttpConfig.Connection): Resolved => ({
  name,
  // Checked by the schema; only the trailing slashes go.
  baseUrl: new URL(connection.url).toString().replace(/\/+$/, ""),
  auth: connection.auth === undefined
    ? undefined
    : "bearer" in connection.auth
    ? { header: "authorization", value: Redacted.make(`Bearer ${Redacted.value(connection.auth.bearer)}`) }
    : "basic" in connection.auth
    ? {
      header: "authorization",
      value: Redacted.make(`Basic ${basicCredential(connection.auth.basic)}`)
    }
    : { header: connection.auth.apiKey.header.toLowerCase(), value: connection.auth.apiKey.value },
  headers: connection.headers ?? {},
  timeout: connection.timeout ?? defaultTimeout,
  maxBytes: connection.maxResponseBytes ?? defaultMaxResponseBytes
})

const basicCredential = (basic: { readonly username: string; readonly password: Redacted.Redacted<string> }) =>
  Buffer.from(`${basic.username}:${Redacted.value(basic.password)}`, "utf8").toString("base64")

/** The secrets of a configuration and their derived forms, for the `Redactor`. */
const secretForms = (config: HttpConfig.Config): ReadonlyArray<Redacted.Redacted<string> | string> => {
  const out: Array<Redacted.Redacted<string> | string> = []
  for (const secret of PluginConfig.secretsOf(config)) out.push(secret as Redacted.Redacted<string>)
  for (const connection of Object.values(config.connections)) {
    if (connection.auth !== undefined && "basic" in connection.auth) {
      // What travels on the wire is base64("user:password"); its text form too (a server
      // echoing the decoded credential).
      out.push(basicCredential(connection.auth.basic))
      out.push(`${connection.auth.basic.username}:${Redacted.value(connection.auth.basic.password)}`)
    }
  }
  return out
}

const classOf = (status: number) => `${Math.floor(status / 100)}xx`

const expects = (expect: ReadonlyArray<number | HttpConnections.StatusClass>, status: number) =>
  expect.some((e) => (typeof e === "number" ? e === status : e === classOf(status)))

const describeExpect = (expect: ReadonlyArray<number | HttpConnections.StatusClass>) => expect.map(String).join(", ")

/** Error codes and messages along a cause chain. */
const causeChain = (cause: unknown): { readonly codes: ReadonlyArray<string>; readonly text: string } => {
  const codes: Array<string> = []
  const parts: Array<string> = []
  let current: unknown = cause
  for (let depth = 0; depth < 5 && current !== null && typeof current === "object"; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === "string") codes.push(code)
    const message = (current as { message?: unknown }).message
    if (typeof message === "string" && message !== "") parts.push(typeof code === "string" ? `${message} (${code})` : message)
    current = (current as { cause?: unknown }).cause
  }
  return { codes, text: parts.length === 0 ? String(cause) : parts.join(": ") }
}

const transportFrom = (cause: unknown): Pick<HttpErrors.Transport, "reason" | "detail" | "sent"> => {
  const { codes, text } = causeChain(cause)
  const has = (pattern: RegExp) => codes.some((c) => pattern.test(c)) || pattern.test(text)
  if (has(/ECONNREFUSED/)) return { reason: "refused", detail: `the connection was refused (${text})`, sent: false }
  if (has(/ENOTFOUND|EAI_AGAIN|EAI_NONAME/)) return { reason: "dns", detail: `the host name does not resolve (${text})`, sent: false }
  if (has(/CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY/)) {
    return { reason: "tls", detail: `the TLS handshake failed (${text})`, sent: false }
  }
  if (has(/ECONNRESET|EPIPE|UND_ERR_SOCKET|other side closed|socket hang up|terminated/i)) {
    return { reason: "reset", detail: `the connection was closed before the answer (${text})`, sent: true }
  }
  if (has(/TIMEOUT|timed out/i)) return { reason: "timeout", detail: text, sent: true }
  return { reason: "other", detail: text, sent: true }
}

/** One line of text, control characters replaced, secrets masked, at most `maxExcerpt` long. */
const excerptOf = (redactor: Redactor.Service, text: string): string | undefined => {
  const line = redactor.redactText(text.replace(/[\u0000-\u001f\u007f]+/g, " ").replace(/\s+/g, " ").trim())
  if (line === "") return undefined
  return line.length > HttpErrors.maxExcerpt ? `${line.slice(0, HttpErrors.maxExcerpt)}...` : line
}

/** An error body is read only to quote its start: never more than this. */
const excerptReadBytes = 64 * 1024

const isJsonType = (contentType: string) => /^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType.trim())

const isTextType = (contentType: string) =>
  /^(text\/|application\/(xml|javascript|x-www-form-urlencoded)\b|application\/[\w.+-]+\+xml\b)/i.test(contentType.trim())

export const make = (config: HttpConfig.Config) =>
  Effect.gen(function*() {
    const redactor = yield* Redactor.Redactor
    yield* redactor.register(...secretForms(config))
    const client = yield* HttpClient.HttpClient
    const connections = new Map(Object.entries(config.connections).map(([name, c]) => [name, resolve(name, c)] as const))
    const names = [...connections.keys()].sort()

    const prepare = (request: HttpConnections.Request) =>
      Effect.gen(function*() {
        const connection = connections.get(request.connection)
        if (connection === undefined) {
          return yield* new HttpErrors.UnknownConnection({
            connection: request.connection,
            known: names,
            suggestions: Suggest.closest(request.connection, names)
          })
        }
        const invalid = (reason: HttpErrors.InvalidRequest["reason"], detail: string, path = request.path) =>
          new HttpErrors.InvalidRequest({ connection: connection.name, method: request.method, path, reason, detail })
        const pathProblem = HttpPath.problem(request.path)
        if (pathProblem !== undefined) return yield* invalid("path", `the path ${pathProblem}`)
        const filled = HttpPath.fill(request.path, request.params)
        if ("problem" in filled) return yield* invalid("param", filled.problem)
        const joined = HttpPath.join(connection.baseUrl, filled.path)
        if ("problem" in joined) return yield* invalid("path", `the path ${joined.problem}`, filled.path)

        // Headers: the connection's, then the step's; the credential's header is neither's.
        const headers: Record<string, string> = {}
        for (const [name, value] of Object.entries(connection.headers)) headers[name.toLowerCase()] = value
        for (const [name, value] of Object.entries(request.headers ?? {})) {
          const lower = name.toLowerCase()
          if (connection.auth !== undefined && lower === connection.auth.header) {
            return yield* invalid("header", `${name} carries the connection's credentials and cannot be set by a step`, filled.path)
          }
          headers[lower] = value
        }
        if (request.idempotencyKey !== undefined) headers[request.idempotencyKey.header.toLowerCase()] = request.idempotencyKey.value
        headers["accept"] ??= "application/json"
        const contentType = headers["content-type"] ?? "application/json"
        delete headers["content-type"]

        let httpRequest = HttpClientRequest.make(request.method)(joined.url).pipe(HttpClientRequest.setHeaders(headers))
        for (const [name, value] of Object.entries(request.query ?? {})) {
          if (value === null) continue
          for (const item of Array.isArray(value) ? value : [value]) {
            httpRequest = HttpClientRequest.appendUrlParam(httpRequest, name, String(item))
          }
        }
        if (request.body !== undefined) {
          if (request.method === "GET" || request.method === "HEAD") {
            return yield* invalid("body", `a ${request.method} request carries no body`, filled.path)
          }
          const text = JSON.stringify(request.body)
          if (text === undefined) return yield* invalid("body", "the body has no JSON form", filled.path)
          httpRequest = HttpClientRequest.bodyText(httpRequest, text, contentType)
        }
        if (connection.auth !== undefined) {
          httpRequest = HttpClientRequest.setHeader(httpRequest, connection.auth.header, Redacted.value(connection.auth.value))
        }
        const prepared: HttpConnections.Prepared = {
          connection: connection.name,
          method: request.method,
          path: filled.path,
          idempotent: request.idempotencyKey !== undefined || idempotentMethods.has(request.method),
          request: httpRequest,
          expect: request.expect,
          response: request.response,
          timeout: connection.timeout,
          maxBytes: connection.maxBytes
        }
        return prepared
      })

    const execute = (prepared: HttpConnections.Prepared) => {
      const where = { connection: prepared.connection, method: prepared.method, path: prepared.path }
      const excerpt = (response: HttpClientResponse.HttpClientResponse) =>
        HttpBody.text(response, { maxBytes: Math.min(prepared.maxBytes, excerptReadBytes) }).pipe(
          Effect.map((text) => excerptOf(redactor, text)),
          Effect.orElseSucceed(() => undefined)
        )
      const readBody = (response: HttpClientResponse.HttpClientResponse) =>
        HttpBody.bytes(response, { maxBytes: prepared.maxBytes }).pipe(
          Effect.mapError((error) =>
            error._tag === "ResponseTooLarge"
              ? new HttpErrors.ResponseTooLarge({
                ...where,
                responseStatus: response.status,
                limit: error.limit,
                received: error.received,
                announced: error.announced
              })
              : new HttpErrors.Transport({
                ...where,
                reason: "reset",
                detail: `the answer (HTTP ${response.status}) was cut off: ${causeChain(error.cause ?? error.description).text}`,
                sent: true
              })
          )
        )
      const decodeBody = (response: HttpClientResponse.HttpClientResponse, bytes: Uint8Array) => {
        if (prepared.method === "HEAD" || bytes.length === 0) return Either.right<unknown>(null)
        const contentType = response.headers["content-type"] ?? ""
        const text = new TextDecoder().decode(bytes)
        const parse = () => {
          try {
            return Either.right<unknown>(JSON.parse(text))
          } catch (error) {
            return Either.left(error instanceof Error ? error.message : String(error))
          }
        }
        if (isJsonType(contentType) || prepared.response !== undefined) {
          return Either.mapLeft(parse(), (reason) =>
            new HttpErrors.InvalidResponse({
              ...where,
              responseStatus: response.status,
              reason: "not-json",
              detail: `is not valid JSON (${contentType === "" ? "no Content-Type" : `Content-Type ${contentType}`}; ${reason})`,
              ...optional("excerpt", excerptOf(redactor, text.slice(0, excerptReadBytes)))
            }))
        }
        if (contentType === "") return Either.right<unknown>(Either.getOrElse(parse(), () => text))
        return Either.right<unknown>(isTextType(contentType) ? text : null)
      }

      return client.execute(prepared.request).pipe(
        Effect.mapError((error: HttpClientError.HttpClientError) =>
          new HttpErrors.Transport({ ...where, ...transportFrom(error.cause ?? error.description ?? error.reason) })
        ),
        Effect.flatMap((response) =>
          Effect.gen(function*() {
            if (!expects(prepared.expect, response.status)) {
              const now = yield* Clock.currentTimeMillis
              const retryAfterMillis = ProviderKit.parseRetryAfter(response.headers["retry-after"], now)
              return yield* new HttpErrors.UnexpectedStatus({
                ...where,
                status: response.status,
                expected: describeExpect(prepared.expect),
                ...optional("retryAfterMillis", retryAfterMillis),
                ...optional("excerpt", yield* excerpt(response))
              })
            }
            const bytes = yield* readBody(response)
            const body = yield* decodeBody(response, bytes)
            if (prepared.response !== undefined) {
              const mismatches = JsonSchemaFragment.validate(prepared.response, body)
              if (mismatches.length > 0) {
                return yield* new HttpErrors.InvalidResponse({
                  ...where,
                  responseStatus: response.status,
                  reason: "schema",
                  detail: `does not match the step's response schema: ${
                    mismatches.map((m) => `${JsonSchemaFragment.formatPath(m.path)}: ${m.message}`).join("; ")
                  }`
                })
              }
            }
            const headers: Record<string, string> = {}
            for (const [name, value] of Object.entries(response.headers)) {
              if (outputHeaders.has(name.toLowerCase())) headers[name.toLowerCase()] = redactor.redactText(value)
            }
            return { status: response.status, headers, body: redactor.redact(body) } satisfies HttpConnections.Response
          })
        ),
        Effect.timeoutFail({
          duration: prepared.timeout,
          onTimeout: () =>
            new HttpErrors.Transport({
              ...where,
              reason: "timeout",
              detail: `no complete answer within ${Duration.format(prepared.timeout)} (the connection's timeout)`,
              sent: true
            })
        })
      )
    }

    return {
      names,
      baseUrl: (name: string) => connections.get(name)?.baseUrl,
      prepare,
      execute
    } satisfies HttpConnections.Service
  })

const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }
