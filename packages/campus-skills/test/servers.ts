/**
 * Misbehaving HTTP servers on 127.0.0.1 for the tests (node:http, real sockets): a proxy that
 * garbles the answers of some requests after the server behind it handled them, and a server
 * that streams a body bigger than any client should read.
 */
import * as Effect from "effect/Effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

export interface TestServer {
  readonly url: string
  /** Requests this server garbled or answered, by `METHOD path`. */
  readonly hits: Array<string>
}

const listen = (handler: http.RequestListener, hits: Array<string>) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: http.Server; readonly url: string }, Error>((resume) => {
      const server = http.createServer(handler)
      server.once("error", (error) => resume(Effect.fail(error)))
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ server, url: `http://127.0.0.1:${port}` }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ url }): TestServer => ({ url, hits })))

/**
 * A proxy in front of `target`: every request is forwarded and handled; when `garble` picks it,
 * the real answer is thrown away and a `200` goes back instead (what a broken gateway does after
 * the server committed): a body that is not JSON, or with `hugeBytes`, a body that size.
 */
export const garblingProxy = (
  target: string,
  garble: (method: string, path: string) => boolean,
  options: { readonly hugeBytes?: number } = {}
) => {
  const hits: Array<string> = []
  return listen((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      const upstream = http.request(`${target}${request.url ?? "/"}`, {
        method: request.method,
        headers: { ...request.headers, host: new URL(target).host }
      }, (answer) => {
        const body: Array<Buffer> = []
        answer.on("data", (chunk: Buffer) => body.push(chunk))
        answer.on("end", () => {
          const path = (request.url ?? "/").split("?")[0]!
          if (garble(request.method ?? "GET", path)) {
            hits.push(`${request.method} ${path}`)
            if (options.hugeBytes === undefined) {
              response.writeHead(200, { "content-type": "text/html" })
              response.end("<html><body>upstream answered, then the gateway mangled it</body></html>")
            } else {
              response.writeHead(200, { "content-type": "application/json" })
              const chunk = Buffer.alloc(64 * 1024, " ")
              let left = Math.ceil(options.hugeBytes / chunk.length)
              let closed = false
              response.on("close", () => {
                closed = true
              })
              const pump = () => {
                while (!closed && left > 0) {
                  left--
                  if (!response.write(chunk)) return void response.once("drain", pump)
                }
                if (!closed) response.end("{}")
              }
              pump()
            }
          } else {
            response.writeHead(answer.statusCode ?? 502, answer.headers)
            response.end(Buffer.concat(body))
          }
        })
      })
      upstream.on("error", () => response.destroy())
      upstream.end(Buffer.concat(chunks))
    })
  }, hits)
}

/**
 * A server that answers every request (`200` by default) with a JSON-looking body of about
 * `totalBytes` bytes, streamed in 64 KiB chunks as fast as the client reads (it stops when the
 * client goes away). `announce` sends a matching `Content-Length` first. `sentBytes` tells how
 * much actually went out.
 */
export const hugeBodyServer = (
  totalBytes: number,
  options: { readonly status?: number; readonly announce?: boolean } = {}
) => {
  const hits: Array<string> = []
  let sentBytes = 0
  return Effect.map(listen((request, response) => {
    hits.push(`${request.method} ${(request.url ?? "/").split("?")[0]}`)
    const prefix = "{\"contrats\": [\""
    const suffix = "\"]}"
    const chunkSize = 64 * 1024
    const chunks = Math.ceil(totalBytes / chunkSize)
    response.writeHead(options.status ?? 200, {
      "content-type": "application/json",
      ...(options.announce === true
        ? { "content-length": String(prefix.length + chunks * chunkSize + suffix.length) }
        : {})
    })
    const chunk = Buffer.alloc(chunkSize, "x")
    let sent = 0
    let closed = false
    response.write(prefix)
    const pump = () => {
      while (!closed && sent < chunks) {
        sent++
        sentBytes += chunk.length
        if (!response.write(chunk)) {
          response.once("drain", pump)
          return
        }
      }
      if (!closed) response.end(suffix)
    }
    response.on("close", () => {
      closed = true
    })
    response.on("error", () => {
      closed = true
    })
    pump()
  }, hits), (server) => ({ ...server, sentBytes: () => sentBytes }))
}
