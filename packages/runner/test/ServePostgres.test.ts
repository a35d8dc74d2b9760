/**
 * `relais serve` on a PostgreSQL store (the embedded server of `@relais/testing`), beside a
 * separate `relais worker`: both execute runs; the runs the API starts finish whichever worker
 * executes them, their event streams (read from the store) follow them to their end, and an
 * Idempotency-Key gives one run. `relais ui` with a token on the same store hands cancel, restart
 * and resume to the workers. Both processes stop on SIGTERM with exit 0.
 */
import { Postgres } from "@relais/testing"
import { type ChildProcess } from "node:child_process"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { spawnChild, stackTrace, tmpDir, writeFile } from "./harness/Cli.js"
import * as Crypto from "node:crypto"
import { call, isProblem, kill, pool, readEvents, type Served, serve } from "./harness/Serve.js"
import { naps } from "./harness/Workflows.js"

const LIMIT = 400_000

const workflow = `version: 1
name: nap
description: Two steps with a short sleep between
inputs:
  n: { type: integer }
steps:
  - id: sleep
    uses: core/sleep
    with: { for: 200ms }
  - id: done
    uses: core/set
    with:
      n: \${{ inputs.n }}
`

let pg: Postgres.Server
let worker: ChildProcess | undefined
let workerLog = ""
let server: Served | undefined
let ui: Served | undefined
let store: string
let dir: string
const operator = `relais_pg-operator-${Crypto.randomBytes(16).toString("hex")}`

beforeAll(async () => {
  pg = await Postgres.start()
  store = await pg.database()
  dir = tmpDir("relais-serve-pg-")
  writeFile(dir, "workflows/nap.yaml", workflow)
  writeFile(dir, "workflows/naps.yaml", naps(20))
  writeFile(
    dir,
    "tokens.yaml",
    `serve:\n  tokens:\n    - { name: operator, hash: "sha256:${Crypto.createHash("sha256").update(operator).digest("hex")}", scopes: [read, run] }\n`
  )
  const [workerPort, servePort] = [await Postgres.freePort(), await Postgres.freePort()]
  worker = spawnChild(["worker", "--store", store, "--listen", `127.0.0.1:${workerPort}`], { cwd: dir })
  await new Promise<void>((resolve, reject) => {
    worker!.stderr?.on("data", (chunk: Buffer) => {
      workerLog += chunk.toString("utf8")
      if (/joined/.test(workerLog)) resolve()
    })
    worker!.on("close", () => reject(new Error(`relais worker exited:\n${workerLog}`)))
  })
  server = await serve(["--workflows", "workflows", "--listen", "127.0.0.1:0", "--store", store, "--worker-listen", `127.0.0.1:${servePort}`], {
    cwd: dir
  })
}, LIMIT)

afterAll(async () => {
  await kill(ui)
  await kill(server)
  if (worker !== undefined && worker.exitCode === null && worker.signalCode === null) worker.kill("SIGKILL")
  await pg?.stop()
}, LIMIT)

describe("relais serve on PostgreSQL with another worker", () => {
  it("runs started over the API finish whichever worker executes them; their streams follow them to the end", async () => {
    const api = `${server!.url}/api/v1`
    const started = await pool(Array.from({ length: 20 }, (_, n) => () => call(`${api}/workflows/nap/runs`, { body: { inputs: { n } } })), 10)
    expect(started.map((a) => a.status)).toEqual(Array(20).fill(202))
    const streams = await pool(started.map((a) => () => readEvents(`${api}/runs/${a.json.runId}/events`)), 10)
    for (const stream of streams) {
      expect(stream.events.at(-1)).toMatchObject({ event: "RunFinished", data: { status: "succeeded" } })
    }
    const ids = started.map((a) => a.json.runId as string)
    const pickedBy = (log: string) => ids.filter((id) => log.includes(`run ${id} (nap) picked up`))
    const byWorker = pickedBy(workerLog)
    const byServe = pickedBy(server!.stderr())
    expect(new Set([...byWorker, ...byServe])).toEqual(new Set(ids))
    expect(byWorker.length).toBeGreaterThan(0)
    const page = await call(`${api}/runs?workflow=nap&status=succeeded&limit=100`)
    expect(new Set(page.json.runs.map((r: { id: string }) => r.id))).toEqual(new Set(ids))
  })

  it("an Idempotency-Key gives one run on a shared store", async () => {
    const api = `${server!.url}/api/v1`
    const answers = await pool(
      Array.from({ length: 10 }, () => () => call(`${api}/workflows/nap/runs`, { body: { inputs: { n: 7 } }, headers: { "idempotency-key": "pg-once" } })),
      10
    )
    expect(new Set(answers.map((a) => a.json.runId)).size).toBe(1)
    expect(answers.filter((a) => a.json.replayed === false)).toHaveLength(1)
    const stream = await readEvents(`${api}/runs/${answers[0]!.json.runId}/events`)
    expect(stream.events.filter((e) => e.event === "RunStarted")).toHaveLength(1)
    expect((await call(`${server!.url}/ready`)).json.status).toBe("ready")
  })

  it("relais ui with a token on the same store: cancel, restart and resume go to the workers", async () => {
    ui = await serve(["--store", store, "--listen", "127.0.0.1:0", "--config", "tokens.yaml"], { cwd: dir, command: "ui" })
    const auth = { authorization: `Bearer ${operator}` }
    const api = `${server!.url}/api/v1`
    const here = `${ui.url}/api/v1`
    // A long run, cancelled from relais ui: the worker executing it stops it.
    const napping = (await call(`${api}/workflows/naps/runs`, { body: {} })).json.runId as string
    const seen = await call(`${here}/runs/${napping}`, { headers: auth })
    expect(seen.status).toBe(200)
    // A run executing is not interrupted: resume reaches the engine's rule, not a refusal of relais ui.
    const resumed = await call(`${here}/runs/${napping}/resume`, { method: "POST", headers: auth })
    expect(isProblem(resumed, 409)).toBe(true)
    expect(resumed.json.detail).toMatch(/is running: it is executing, not interrupted/)
    expect((await call(`${here}/runs/${napping}/cancel`, { method: "POST", headers: auth })).status).toBe(202)
    const stream = await readEvents(`${api}/runs/${napping}/events`)
    expect(stream.events.at(-1)).toMatchObject({ event: "RunFinished", data: { status: "cancelled" } })
    // A finished run restarted from its last step: the workers execute the new run.
    const first = (await call(`${api}/workflows/nap/runs`, { body: { inputs: { n: 41 } } })).json.runId as string
    await readEvents(`${api}/runs/${first}/events`)
    const restarted = await call(`${here}/runs/${first}/restart`, { body: { from: "done" }, headers: auth })
    expect(restarted.status).toBe(202)
    const again = await readEvents(`${api}/runs/${restarted.json.runId}/events`)
    expect(again.events.at(-1)).toMatchObject({ event: "RunFinished", data: { status: "succeeded" } })
    expect(again.events.filter((e) => e.event === "StepReplayed").map((e) => e.data.path)).toEqual(["sleep"])
    expect(ui.stderr()).not.toMatch(stackTrace)
    expect(ui.stderr()).not.toContain(operator)
  })

  it("SIGTERM: serve and the worker drain and exit 0", async () => {
    expect(await server!.stop("SIGTERM")).toBe(0)
    const exited = new Promise<number | null>((resolve) => worker!.once("close", (code) => resolve(code)))
    worker!.kill("SIGTERM")
    expect(await exited).toBe(0)
    expect(server!.stderr()).not.toMatch(stackTrace)
    expect(workerLog).not.toMatch(stackTrace)
  })
}, LIMIT)
