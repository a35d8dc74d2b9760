/**
 * `relais ui --store`: the dashboard and the API's reading routes over a store, from a process
 * that executes nothing. Without tokens it reads only (every action refused, with the reason);
 * with tokens, on SQLite, a cancellation asked here is carried out by the process that executes
 * the run (a `relais serve` on the same store), and resuming or restarting is refused with the
 * command that does it. The exposure rules are those of `relais serve`. Child processes, real
 * HTTP, waits on lines and answers only.
 */
import * as Crypto from "node:crypto"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { child, stackTrace, tmpDir, writeFile } from "./harness/Cli.js"
import { call, isProblem, kill, type Served, serve } from "./harness/Serve.js"
import { greet, naps } from "./harness/Workflows.js"

const LIMIT = 240_000

const sha256 = (text: string) => Crypto.createHash("sha256").update(text, "utf8").digest("hex")
const runToken = `relais_ui-runner-${Crypto.randomBytes(16).toString("hex")}`
const readToken = `relais_ui-reader-${Crypto.randomBytes(16).toString("hex")}`
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

let dir: string
let store: string
let reader: Served | undefined
let actor: Served | undefined
let executor: Served | undefined
const outputs: Array<string> = []

beforeAll(async () => {
  dir = tmpDir("relais-ui-")
  store = Path.join(dir, "store.db")
  writeFile(dir, "workflows/greet.yaml", greet)
  writeFile(dir, "workflows/naps.yaml", naps(30))
  writeFile(
    dir,
    "tokens.yaml",
    `serve:
  tokens:
    - { name: reader, hash: "sha256:${sha256(readToken)}", scopes: [read] }
    - { name: operator, hash: "sha256:${sha256(runToken)}", scopes: [read, run] }
`
  )
  const ran = await child(["run", Path.join(dir, "workflows/greet.yaml"), "--store", store, "--input", "who=Lea"], { cwd: dir })
  expect(ran.code).toBe(0)
  reader = await serve(["--store", store, "--listen", "127.0.0.1:0"], { cwd: dir, command: "ui" })
}, LIMIT)

afterAll(async () => {
  for (const served of [reader, actor, executor]) {
    if (served !== undefined) outputs.push(served.stderr(), served.stdout())
    await kill(served)
  }
  for (const text of outputs) {
    expect(text).not.toMatch(stackTrace)
    expect(text).not.toContain(runToken)
    expect(text).not.toContain(readToken)
  }
})

describe("relais ui without tokens", () => {
  it("says where it listens, on what store, read-only; serves the page and the runs", async () => {
    expect(reader!.stderr()).toMatch(/relais ui listening on http:\/\/127\.0\.0\.1:\d+ \(dashboard .*store: .*store\.db; read-only/)
    const page = await call(`${reader!.url}/ui/`)
    expect(page.status).toBe(200)
    expect(page.contentType).toMatch(/^text\/html/)
    const runs = await call(`${reader!.url}/api/v1/runs`)
    expect(runs.status).toBe(200)
    expect(runs.json.runs).toHaveLength(1)
    expect(runs.json.runs[0]).toMatchObject({ workflow: "greet", status: "succeeded" })
    const detail = await call(`${reader!.url}/api/v1/runs/${runs.json.runs[0].id}`)
    expect(detail.json.input).toEqual({ who: "Lea" })
    expect(detail.json.events.at(-1).event._tag).toBe("RunFinished")
    const workflows = await call(`${reader!.url}/api/v1/workflows`)
    expect(workflows.json.workflows).toEqual([])
  })

  it("refuses every action, saying why", async () => {
    const runs = await call(`${reader!.url}/api/v1/runs`)
    const id = runs.json.runs[0].id
    for (const [path, body] of [[`runs/${id}/cancel`, undefined], [`runs/${id}/resume`, undefined], [`runs/${id}/restart`, { from: "hello" }], ["workflows/greet/runs", {}]] as const) {
      const answer = await call(`${reader!.url}/api/v1/${path}`, { method: "POST", ...(body !== undefined ? { body } : {}) })
      expect(isProblem(answer, 403), `${path}: ${answer.text}`).toBe(true)
      expect(answer.json.detail).toMatch(/read-only.*needs run/)
    }
  })

  it("a new run in the store shows at once", async () => {
    const ran = await child(["run", Path.join(dir, "workflows/greet.yaml"), "--store", store, "--input", "who=Noe"], { cwd: dir })
    expect(ran.code).toBe(0)
    const runs = await call(`${reader!.url}/api/v1/runs`)
    expect(runs.json.runs.map((r: { status: string }) => r.status)).toEqual(["succeeded", "succeeded"])
  })

  it("is refused off loopback without tokens, and without a store", async () => {
    const exposed = await child(["ui", "--store", store, "--listen", "0.0.0.0:0"], { cwd: dir })
    expect(exposed.code).toBe(2)
    expect(exposed.stderr).toMatch(/relais ui on 0\.0\.0\.0:0 would be reachable from the network with no token/)
    const missing = await child(["ui", "--store", Path.join(dir, "nothing.db"), "--listen", "127.0.0.1:0"], { cwd: dir })
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/there is no store at .*nothing\.db/)
    for (const text of [exposed.stderr, missing.stderr]) expect(text).not.toMatch(stackTrace)
  })
})

describe("relais ui with tokens, beside the relais serve that executes the runs", () => {
  it("a cancellation asked here is carried out by the executing process; resume and restart are refused with the way to do them", async () => {
    executor = await serve(["--store", store, "--listen", "127.0.0.1:0", "--workflows", "workflows"], { cwd: dir })
    actor = await serve(["--store", store, "--listen", "127.0.0.1:0", "--config", "tokens.yaml"], { cwd: dir, command: "ui" })
    expect(actor.stderr()).toMatch(/tokens: 2, each may do what its scopes allow \(on SQLite: cancel only\)/)
    const started = await call(`${executor.url}/api/v1/workflows/naps/runs`, { body: {} })
    expect(started.status).toBe(202)
    const id = started.json.runId
    await executor.waitForStderr(new RegExp(`run ${id} \\(naps\\) started`))

    // Without a token: 401; a reader: 403.
    expect(isProblem(await call(`${actor.url}/api/v1/runs/${id}/cancel`, { method: "POST" }), 401)).toBe(true)
    expect(isProblem(await call(`${actor.url}/api/v1/runs/${id}/cancel`, { method: "POST", headers: bearer(readToken) }), 403)).toBe(true)

    const resumed = await call(`${actor.url}/api/v1/runs/${id}/resume`, { method: "POST", headers: bearer(runToken) })
    expect(isProblem(resumed, 409)).toBe(true)
    expect(resumed.json.detail).toMatch(/relais ui does not execute runs/)
    const restarted = await call(`${actor.url}/api/v1/runs/${id}/restart`, { body: { from: "nap2" }, headers: bearer(runToken) })
    expect(isProblem(restarted, 409)).toBe(true)
    expect(restarted.json.detail).toMatch(/relais restart/)

    const cancelled = await call(`${actor.url}/api/v1/runs/${id}/cancel`, { method: "POST", headers: bearer(runToken) })
    expect(cancelled.status).toBe(202)
    await executor.waitForStderr(new RegExp(`run ${id} cancelled`))
    const detail = await call(`${actor.url}/api/v1/runs/${id}`, { headers: bearer(readToken) })
    expect(detail.json.status).toBe("cancelled")
    // It stopped long before its thirtieth nap.
    const naps = detail.json.events.filter((e: { event: { _tag: string } }) => e.event._tag === "StepSucceeded").length
    expect(naps).toBeLessThan(30)
    const again = await call(`${actor.url}/api/v1/runs/${id}/cancel`, { method: "POST", headers: bearer(runToken) })
    expect(isProblem(again, 409)).toBe(true)
  })
})
