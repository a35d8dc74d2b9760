/**
 * Test helpers: raw HTTP calls against a running sandbox (the client has its own tests).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { AimairaSandbox } from "../src/sandbox/index.js"

export type Auth = "basic" | "apikey" | "none" | { readonly header: string; readonly value: string }

export interface CallOptions {
  readonly query?: Record<string, string>
  readonly body?: unknown
  readonly rawBody?: string
  readonly auth?: Auth
}

export interface Reply {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly text: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any
}

/** One HTTP call to the sandbox's API (`path` is relative to `/GraphV1`); transport errors fail. */
export const attempt = (method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", path: string, options: CallOptions = {}) =>
  Effect.gen(function*() {
    const sandbox = yield* AimairaSandbox.AimairaSandbox
    const client = yield* HttpClient.HttpClient
    const search = options.query === undefined ? "" : `?${new URLSearchParams(options.query).toString()}`
    let request = HttpClientRequest.make(method)(`${path.startsWith("http") ? path : sandbox.apiUrl + path}${search}`)
    const auth = options.auth ?? "basic"
    if (auth === "basic") {
      request = HttpClientRequest.basicAuth(request, sandbox.credentials.username, Redacted.value(sandbox.credentials.password))
    } else if (auth === "apikey") {
      request = HttpClientRequest.setHeader(request, "X-ApiKey", Redacted.value(sandbox.credentials.apiKey))
    } else if (auth !== "none") {
      request = HttpClientRequest.setHeader(request, auth.header, auth.value)
    }
    if (options.body !== undefined) request = HttpClientRequest.bodyUnsafeJson(request, options.body)
    if (options.rawBody !== undefined) request = HttpClientRequest.bodyText(request, options.rawBody, "application/json")
    const response = yield* client.execute(request)
    const text = yield* response.text
    let json: unknown = undefined
    try {
      json = text === "" ? undefined : JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: response.status, headers: response.headers, text, json } as Reply
  })

/** One HTTP call to the sandbox's API (`path` is relative to `/GraphV1`). */
export const call = (method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", path: string, options: CallOptions = {}) =>
  Effect.orDie(attempt(method, path, options))

/** A sandbox and a Node HTTP client. */
export const sandboxLayer = (options: AimairaSandbox.Options = {}) =>
  Layer.mergeAll(AimairaSandbox.layer(options), NodeHttpClient.layer).pipe(Layer.orDie)

/** The sandbox state. */
export const state = Effect.flatMap(AimairaSandbox.AimairaSandbox, (sandbox) => sandbox.state)

/** Rows of one collection in the sandbox state. */
export const rows = (collection: string) =>
  Effect.map(state, (snapshot) => snapshot.collections[collection] ?? [])
