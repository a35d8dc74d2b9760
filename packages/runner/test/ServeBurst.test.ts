/**
 * A burst of start requests against `relais serve` on SQLite: 500 requests, 50 at a time, start
 * 500 runs, each once, none lost; 100 requests carrying 10 distinct Idempotency-Keys, 50 at a
 * time, start 10 runs. Waits are on the server's log lines (each run's end), not on time.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { tmpDir, writeFile } from "./harness/Cli.js"
import { call, kill, pool, type Served, serve } from "./harness/Serve.js"

const LIMIT = 400_000

const workflow = `version: 1
name: tick
description: One quick step
inputs:
  n: { type: integer }
steps:
  - id: echo
    uses: core/set
    with:
      n: \${{ inputs.n }}
`

let server: Served | undefined

beforeAll(async () => {
  const dir = tmpDir("relais-serve-burst-")
  writeFile(dir, "workflows/tick.yaml", workflow)
  server = await serve(["--workflows", "workflows", "--listen", "127.0.0.1:0", "--store", "store.db"], { cwd: dir })
}, LIMIT)

afterAll(async () => {
  await kill(server)
})

const finished = (stderr: string) => stderr.match(/ run \S+ succeeded$/gm)?.length ?? 0

/** Every run of the store, through the API's pages. */
const allRuns = async (api: string) => {
  const runs: Array<{ id: string; status: string }> = []
  let cursor: string | undefined
  do {
    const page = await call(`${api}/runs?limit=500${cursor !== undefined ? `&cursor=${cursor}` : ""}`)
    runs.push(...page.json.runs)
    cursor = page.json.next
  } while (cursor !== undefined)
  return runs
}

describe("a burst of start requests", () => {
  it("500 requests, 50 at a time: 500 runs, each started once and finished", async () => {
    const api = `${server!.url}/api/v1`
    expect(server!.stderr()).toMatch(/workflows: tick;/)
    const answers = await pool(
      Array.from({ length: 500 }, (_, n) => () => call(`${api}/workflows/tick/runs`, { body: { inputs: { n } } })),
      50
    )
    expect(answers.filter((a) => a.status !== 202).map((a) => a.text)).toEqual([])
    const ids = new Set(answers.map((a) => a.json.runId as string))
    expect(ids.size).toBe(500)
    await server!.waitUntil("500 runs succeeded", (stderr) => finished(stderr) >= 500, LIMIT)
    const runs = await allRuns(api)
    expect(runs).toHaveLength(500)
    expect(new Set(runs.map((r) => r.id))).toEqual(ids)
    expect(runs.every((r) => r.status === "succeeded")).toBe(true)
    // Each started once: one "started" line and one first execution per run.
    for (const id of ids) {
      expect(server!.stderr().split(`run ${id} (tick) started by api`).length - 1).toBe(1)
    }
    const inputs = await pool([...ids].slice(0, 25).map((id) => () => call(`${api}/runs/${id}`)), 10)
    for (const run of inputs) {
      expect(run.json.events.filter((e: { event: { _tag: string } }) => e.event._tag === "RunStarted")).toHaveLength(1)
    }
  })

  it("100 requests with 10 distinct Idempotency-Keys, 50 at a time: 10 runs", async () => {
    const api = `${server!.url}/api/v1`
    const before = finished(server!.stderr())
    const answers = await pool(
      Array.from({ length: 100 }, (_, i) => () =>
        call(`${api}/workflows/tick/runs`, { body: { inputs: { n: i % 10 } }, headers: { "idempotency-key": `burst-${i % 10}` } })),
      50
    )
    expect(answers.filter((a) => a.status !== 202).map((a) => a.text)).toEqual([])
    const byKey = new Map<number, Set<string>>()
    answers.forEach((a, i) => byKey.set(i % 10, (byKey.get(i % 10) ?? new Set()).add(a.json.runId)))
    expect([...byKey.values()].map((s) => s.size)).toEqual(Array(10).fill(1))
    const ids = new Set(answers.map((a) => a.json.runId as string))
    expect(ids.size).toBe(10)
    expect(answers.filter((a) => a.json.replayed === false)).toHaveLength(10)
    await server!.waitUntil("10 more runs succeeded", (stderr) => finished(stderr) >= before + 10, LIMIT)
    const runs = (await allRuns(api)).filter((r) => r.id.startsWith("api."))
    expect(new Set(runs.map((r) => r.id))).toEqual(ids)
    expect(await server!.stop()).toBe(0)
  })
}, LIMIT)
