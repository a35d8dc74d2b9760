/**
 * A real webhook receiver for the tests, on 127.0.0.1: an OAuth token endpoint (client
 * credentials, RFC 6749 §4.4) and a webhook URL that checks the bearer token. Every request is
 * recorded and offered to a queue, so that tests wait on requests, not on time.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import { Buffer } from "node:buffer"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

export interface Received {
  readonly path: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
  /** The status the receiver answered. */
  readonly status: number
}

export interface Receiver {
  readonly url: string
  readonly hookUrl: string
  readonly tokenUrl: string
  readonly clientId: string
  readonly clientSecret: string
  /** Webhook requests (`POST /hooks`), in arrival order. */
  readonly hooks: Queue.Queue<Received>
  /** Token requests (`POST /token`). */
  readonly tokens: Queue.Queue<Received>
  /** The tokens issued so far. */
  readonly issued: Array<string>
  /** Statuses to answer the next webhook requests with (then 200). */
  readonly script: Array<number>
  /** Tokens the webhook URL refuses (401) from now on. */
  readonly revoked: Set<string>
  /** While set, webhook requests wait for it before being answered. */
  hold: Deferred.Deferred<void> | undefined
}

const readBody = (request: Http.IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    request.on("error", reject)
  })

/** Starts a receiver for the scope. */
export const start = (options: { readonly clientId?: string; readonly clientSecret?: string; readonly expiresIn?: number } = {}) =>
  Effect.gen(function*() {
    const hooks = yield* Queue.unbounded<Received>()
    const tokens = yield* Queue.unbounded<Received>()
    const clientId = options.clientId ?? "aimaira-client"
    const clientSecret = options.clientSecret ?? "canary-secret-9f3a"
    const receiver: Omit<Receiver, "url" | "hookUrl" | "tokenUrl"> = {
      clientId,
      clientSecret,
      hooks,
      tokens,
      issued: [],
      script: [],
      revoked: new Set(),
      hold: undefined
    }
    const handle = async (request: Http.IncomingMessage, response: Http.ServerResponse) => {
      const body = await readBody(request)
      const path = request.url ?? "/"
      const answer = (status: number, json?: unknown) => {
        response.writeHead(status, json === undefined ? {} : { "content-type": "application/json" })
        response.end(json === undefined ? "" : JSON.stringify(json))
        return { path, headers: request.headers, body, status }
      }
      if (request.method === "POST" && path === "/token") {
        const expected = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`
        const form = new URLSearchParams(body)
        const ok = request.headers.authorization === expected && form.get("grant_type") === "client_credentials" &&
          (request.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")
        if (!ok) return Queue.unsafeOffer(tokens, answer(401, { error: "invalid_client" }))
        const token = `token-${receiver.issued.length + 1}`
        receiver.issued.push(token)
        const json = { access_token: token, token_type: "Bearer", ...(options.expiresIn === undefined ? {} : { expires_in: options.expiresIn }) }
        return Queue.unsafeOffer(tokens, answer(200, json))
      }
      if (request.method === "POST" && path === "/hooks") {
        const hold = receiver.hold
        if (hold !== undefined) await Effect.runPromise(Deferred.await(hold))
        const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1]
        const valid = bearer !== undefined && receiver.issued.includes(bearer) && !receiver.revoked.has(bearer)
        const status = valid ? receiver.script.shift() ?? 200 : 401
        return Queue.unsafeOffer(hooks, answer(status))
      }
      answer(404)
    }
    const server = Http.createServer((request, response) => {
      handle(request, response).catch(() => {
        response.writeHead(500)
        response.end()
      })
    })
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.void))
      }),
      () =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    return Object.assign(receiver, { url, hookUrl: `${url}/hooks`, tokenUrl: `${url}/token` }) as Receiver
  })

/** The next request of a queue; fails the test (rather than hanging) after a generous time. */
export const next = (queue: Queue.Queue<Received>, what = "a webhook request") =>
  Queue.take(queue).pipe(
    Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error(`no ${what} arrived in 60 s`) }),
    Effect.orDie
  )
