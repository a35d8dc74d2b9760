/**
 * A scripted HTTP server on 127.0.0.1 for the http plugin's tests: each request is recorded
 * (method, URL, headers, body, arrival time) and answered by the test's handler, which can
 * answer anything, hang, or destroy the connection.
 */
import { Effect, type Scope } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

export interface Received {
  readonly method: string
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
  readonly at: number
}

export type Handler = (request: Received, response: Http.ServerResponse, count: number) => void

export interface Server {
  readonly url: string
  readonly received: Array<Received>
  /** Replace the handler (each test scripts its own answers). */
  readonly handle: (handler: Handler) => void
  /** Requests received for a path (query included). */
  readonly count: (url: string) => number
}

export const json = (response: Http.ServerResponse, status: number, body: unknown, headers: Http.OutgoingHttpHeaders = {}) => {
  const text = JSON.stringify(body)
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers })
  response.end(text)
}

/** A server for the scope; closed (with its open connections) when the scope closes. */
export const start: Effect.Effect<Server, never, Scope.Scope> = Effect.gen(function*() {
  const received: Array<Received> = []
  let handler: Handler = (_, response) => json(response, 404, { error: "no handler" })
  const server = yield* Effect.acquireRelease(
    Effect.async<Http.Server>((resume) => {
      const server = Http.createServer((request, response) => {
        const chunks: Array<Buffer> = []
        request.on("data", (chunk: Buffer) => chunks.push(chunk))
        request.on("end", () => {
          const entry: Received = {
            method: request.method ?? "",
            url: request.url ?? "",
            headers: request.headers,
            body: Buffer.concat(chunks).toString("utf8"),
            at: Date.now()
          }
          received.push(entry)
          handler(entry, response, received.filter((r) => r.url === entry.url).length)
        })
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    handle: (next) => {
      handler = next
    },
    count: (url) => received.filter((r) => r.url === url).length
  }
})
