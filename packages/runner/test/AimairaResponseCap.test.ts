/**
 * The AIMAIRA response size cap where a user meets it: `relais run` through the binary, with
 * AIMAIRA_URL pointing at a real misbehaving server on the loopback (node:http) that answers
 * with a body that never ends. The run fails quickly with a message saying what happened and
 * what to check, exit 1, no stack trace, no password; the process does not crash or fill its
 * memory, and the server sees the connection closed.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Path from "node:path"
import { collect, spawnChild, tmpDir, writeFile } from "./harness/Cli.js"

const garbageServer = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly stats: { sent: number; closed: boolean }; readonly server: Http.Server }>(
    (resume) => {
      const stats = { sent: 0, closed: false }
      const chunk = Buffer.alloc(64 * 1024, "x")
      const server = Http.createServer((_request, response) => {
        response.writeHead(200, { "content-type": "application/json" })
        response.on("close", () => {
          stats.closed = true
        })
        response.write("{\"value\":[")
        const pump = () => {
          // Stops at 4 GiB at the latest: far beyond the cap, and beyond what a string can hold.
          while (!response.destroyed && stats.sent < 4 * 1024 * 1024 * 1024) {
            stats.sent += chunk.length
            if (!response.write(chunk)) {
              response.once("drain", pump)
              return
            }
          }
        }
        pump()
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}/GraphV1`, stats, server }))
      })
    }
  ),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

const workflow = `version: 1
name: types
steps:
  - id: types
    uses: aimaira/list-types-convention
    with: { Code: APP }
`

describe("AIMAIRA answers larger than the cap, through the binary", { timeout: 180_000 }, () => {
  it.scopedLive("an endless answer fails the run with a clear message, exit 1, no crash", () =>
    Effect.gen(function*() {
      const garbage = yield* garbageServer
      const dir = tmpDir("relais-cap-")
      const file = writeFile(dir, "types.yaml", workflow)
      const env = {
        AIMAIRA_URL: garbage.url,
        AIMAIRA_USERNAME: "api",
        AIMAIRA_PASSWORD: "cap-test-Passw0rd",
        RELAIS_STORE: Path.join(dir, "relais.db")
      }
      const result = yield* Effect.promise(() => collect(spawnChild(["run", file], { env }), 150_000))
      expect(result.code).toBe(1)
      expect(result.stderr).toContain("the answer to GET /GraphV1/TypeConvention (200) is larger than 16 MiB")
      expect(result.stderr).toContain("relais stops reading at 16 MiB")
      expect(result.stderr).not.toMatch(/\n\s+at /)
      expect(result.stderr).not.toContain("RangeError")
      expect(`${result.stdout}${result.stderr}`).not.toContain("cap-test-Passw0rd")
      // Not retried: one request, and the server saw the client go away long before 4 GiB.
      yield* Effect.promise(() =>
        new Promise<void>((resolve) => {
          const wait = () => (garbage.stats.closed ? resolve() : setTimeout(wait, 20))
          wait()
        })
      )
      expect(garbage.stats.sent).toBeLessThan(1024 * 1024 * 1024)
    }))
})
