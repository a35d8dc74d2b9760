/**
 * `relais serve` on SQLite, as a child process with real HTTP requests: every route, every bad
 * input answered with a problem (and nothing started), idempotency, cursor paging, the live
 * event stream until the run finishes (and resumed with Last-Event-ID), resume of an
 * interrupted run, readiness, the OpenAPI document, and a graceful stop.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { child, collect, spawnChild, stackTrace, tmpDir, writeFile } from "./harness/Cli.js"
import { call, isProblem, kill, readEvents, type Served, serve } from "./harness/Serve.js"

const LIMIT = 240_000

const hello = `version: 1
name: hello
description: Greet someone
inputs:
  who: { type: string, description: "whom to greet" }
  times: { type: integer, default: 1 }
  tone: { type: string, enum: [warm, dry], default: warm }
steps:
  - id: greet
    uses: core/set
    with:
      text: hello \${{ inputs.who }}
`

const nap = `version: 1
name: nap
description: Sleep a little, then say so
steps:
  - id: sleep
    uses: core/sleep
    with: { for: 3s }
  - id: done
    uses: core/set
    with: { woke: true }
`

const broken = `version: 1
name: broken
description: Uses a step that does not exist
steps:
  - id: x
    uses: core/nope
`

let dir: string
let server: Served | undefined
let api: string

beforeAll(async () => {
  dir = tmpDir("relais-serve-")
  writeFile(dir, "workflows/hello.yaml", hello)
  writeFile(dir, "workflows/nap.yaml", nap)
  writeFile(dir, "workflows/broken.yaml", broken)
  writeFile(dir, "workflows/notes.txt", "not a workflow")
  writeFile(dir, "relais.config.yaml", "serve:\n  bodyLimit: 4KiB\n")
  server = await serve(["--workflows", "workflows", "--listen", "127.0.0.1:0", "--store", "store.db"], { cwd: dir })
  api = `${server.url}/api/v1`
}, LIMIT)

afterAll(async () => {
  await kill(server)
})

describe("relais serve on SQLite", () => {
  it("checks the workflow files at start-up: a file with a problem is reported (located) and not served", () => {
    expect(server!.stderr()).toMatch(/workflows\/broken\.yaml:6:11: unknown step "core\/nope"/)
    expect(server!.stderr()).toMatch(/broken\.yaml is not served/)
    expect(server!.stderr()).toMatch(/the API is open/)
    expect(server!.stderr()).toMatch(/workflows: hello, nap/)
  })

  it("health, readiness and the OpenAPI document listing every route", async () => {
    expect((await call(`${server!.url}/health`)).json).toEqual({ status: "up" })
    expect((await call(`${server!.url}/ready`)).json).toEqual({ status: "ready", workflows: 2 })
    const doc = await call(`${server!.url}/openapi.json`)
    expect(doc.status).toBe(200)
    expect(doc.json.openapi).toBe("3.1.0")
    expect(Object.keys(doc.json.paths).sort()).toEqual([
      "/api/v1/runs",
      "/api/v1/runs/{id}",
      "/api/v1/runs/{id}/cancel",
      "/api/v1/runs/{id}/events",
      "/api/v1/runs/{id}/restart",
      "/api/v1/runs/{id}/resume",
      "/api/v1/webhooks/messages",
      "/api/v1/webhooks/rejections",
      "/api/v1/workflows",
      "/api/v1/workflows/{name}",
      "/api/v1/workflows/{name}/runs",
      "/health",
      "/hooks/{plugin}",
      "/hooks/{plugin}/token",
      "/openapi.json",
      "/ready"
    ])
    expect(Object.keys(doc.json.paths["/api/v1/workflows/{name}/runs"].post.responses)).toEqual(expect.arrayContaining(["202", "404", "409", "422", "413", "415", "400"]))
    expect(doc.json.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" })
  })

  it("lists the workflows with their inputs, and one workflow; an unknown one is a 404 problem", async () => {
    const list = await call(`${api}/workflows`)
    expect(list.json.workflows.map((w: { name: string }) => w.name)).toEqual(["hello", "nap"])
    const one = await call(`${api}/workflows/hello`)
    expect(one.json).toMatchObject({
      name: "hello",
      file: "workflows/hello.yaml",
      triggers: [],
      inputs: [
        { name: "who", type: "string", required: true, description: "whom to greet" },
        { name: "times", type: "integer", required: false, default: 1 },
        { name: "tone", type: "string", required: false, default: "warm", enum: ["warm", "dry"] }
      ]
    })
    expect(isProblem(await call(`${api}/workflows/broken`), 404)).toBe(true)
  })

  it("starts a run, follows it live as server-sent events to its end, and shows it with its events", async () => {
    const started = await call(`${api}/workflows/hello/runs`, { body: { inputs: { who: "Ada" } } })
    expect(started.status).toBe(202)
    expect(started.json).toMatchObject({ workflow: "hello", status: "running", replayed: false })
    const runId: string = started.json.runId
    expect(started.json.links.events).toBe(`/api/v1/runs/${runId}/events`)
    const stream = await readEvents(`${server!.url}${started.json.links.events}`)
    expect(stream.status).toBe(200)
    expect(stream.contentType).toMatch(/^text\/event-stream/)
    const tags = stream.events.map((e) => e.event)
    expect(tags[0]).toBe("RunStarted")
    expect(tags.at(-1)).toBe("RunFinished")
    expect(stream.events.at(-1)!.data.status).toBe("succeeded")
    const ids = stream.events.map((e) => e.id)
    expect([...ids].sort((a, b) => a - b)).toEqual(ids)
    // Last-Event-ID: only what came after.
    const again = await readEvents(`${server!.url}${started.json.links.events}`, { "last-event-id": String(ids[1]) })
    expect(again.events.map((e) => e.id)).toEqual(ids.slice(2))
    const bad = await call(`${api}/runs/${runId}/events`, { headers: { "last-event-id": "soon" } })
    expect(isProblem(bad, 400)).toBe(true)

    const run = await call(`${api}/runs/${runId}`)
    expect(run.json).toMatchObject({ id: runId, workflow: "hello", status: "succeeded", input: { who: "Ada", times: 1, tone: "warm" } })
    expect(run.json.events.map((e: { event: { _tag: string } }) => e.event._tag)).toEqual(tags)
    expect(isProblem(await call(`${api}/runs/run_nosuchrun`), 404)).toBe(true)
    expect(isProblem(await call(`${api}/runs/run_nosuchrun/events`), 404)).toBe(true)
  })

  it("a live stream sees events as they happen, for a run that takes a while", async () => {
    const started = await call(`${api}/workflows/nap/runs`, { body: {} })
    expect(started.status).toBe(202)
    const stream = await readEvents(`${api}/runs/${started.json.runId}/events`)
    const tags = stream.events.map((e) => e.event)
    expect(tags).toContain("StepStarted")
    expect(tags.at(-1)).toBe("RunFinished")
    expect(stream.events.at(-1)!.data.status).toBe("succeeded")
  })

  it("cancel: the sleep under way is stopped, the step after it never starts, the run ends cancelled; an ended run is a conflict, an unknown one a 404", async () => {
    const started = await call(`${api}/workflows/nap/runs`, { body: {} })
    const runId: string = started.json.runId
    const until = async <A>(what: string, check: () => Promise<A | undefined>): Promise<A> => {
      for (let i = 0; i < 1200; i++) {
        const found = await check()
        if (found !== undefined) return found
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      throw new Error(`waited 120 s for ${what}`)
    }
    await until("the nap to start", async () => {
      const run = await call(`${api}/runs/${runId}`)
      return run.json.events.some((e: { event: { _tag: string; path?: string } }) => e.event._tag === "StepStarted" && e.event.path === "sleep") ? true : undefined
    })
    const cancelled = await call(`${api}/runs/${runId}/cancel`, { method: "POST" })
    expect(cancelled.status).toBe(202)
    expect(cancelled.json).toMatchObject({ runId, workflow: "nap" })
    const final = await until("the run to end", async () => {
      const run = await call(`${api}/runs/${runId}`)
      return ["running", "compensating"].includes(run.json.status) ? undefined : run.json
    })
    expect(final.status).toBe("cancelled")
    const seen = final.events.map((e: { event: { _tag: string; path?: string; reason?: string } }) => `${e.event._tag}${e.event.path ? ` ${e.event.path}` : ""}${e.event.reason ? ` (${e.event.reason})` : ""}`)
    // The sleep was stopped where it was (or, had the request come after it, the next step skipped).
    expect(seen.includes("StepFailed sleep (cancelled)") || seen.includes("StepSkipped done (the run was cancelled)"), seen.join(", ")).toBe(true)
    expect(seen).not.toContain("StepStarted done")
    const again = await call(`${api}/runs/${runId}/cancel`, { method: "POST" })
    expect(isProblem(again, 409)).toBe(true)
    expect(again.json.detail).toMatch(/has ended \(cancelled\)/)
    expect(isProblem(await call(`${api}/runs/run_nosuchrun/cancel`, { method: "POST" }), 404)).toBe(true)
  })

  it("restart from a step: a new run reuses the steps before it (replayed, not executed) and runs from there; refusals are conflicts", async () => {
    const started = await call(`${api}/workflows/nap/runs`, { body: {} })
    const original: string = started.json.runId
    const ended = await readEvents(`${api}/runs/${original}/events`)
    expect(ended.events.at(-1)!.data.status).toBe("succeeded")
    const restarted = await call(`${api}/runs/${original}/restart`, { body: { from: "done" } })
    expect(restarted.status).toBe(202)
    const runId: string = restarted.json.runId
    expect(runId).not.toBe(original)
    const stream = await readEvents(`${api}/runs/${runId}/events`)
    expect(stream.events.at(-1)!.data.status).toBe("succeeded")
    const tags = stream.events.map((e) => `${e.event}${e.data.path ? ` ${e.data.path}` : ""}`)
    expect(tags).toContain("StepReplayed sleep")
    expect(tags).not.toContain("StepStarted sleep")
    expect(tags).toContain("StepStarted done")
    const record = await call(`${api}/runs/${runId}`)
    expect(record.json.restartOf).toEqual({ runId: original, from: "done", reused: ["sleep"] })
    const never = await call(`${api}/runs/${original}/restart`, { body: { from: "wake" } })
    expect(isProblem(never, 409)).toBe(true)
    expect(never.json.detail).toMatch(/cannot be restarted from wake: the run never reached it/)
    expect(isProblem(await call(`${api}/runs/run_nosuchrun/restart`, { body: { from: "done" } }), 404)).toBe(true)
    expect(isProblem(await call(`${api}/runs/${original}/restart`, { body: {} }), 400)).toBe(true)
  })

  it("bad input gets a problem and starts nothing", async () => {
    const before = (await call(`${api}/runs?limit=500`)).json.runs.length
    const cases: ReadonlyArray<readonly [number, Parameters<typeof call>[1] & {}, string]> = [
      [404, { body: { inputs: { who: "x" } } }, "/workflows/nope/runs"],
      [422, { body: { inputs: { who: 3, times: "two" } } }, "/workflows/hello/runs"],
      [422, { body: { inputs: {} } }, "/workflows/hello/runs"],
      [422, { body: { inputs: { who: "x", whom: "y" } } }, "/workflows/hello/runs"],
      [422, { body: { inputs: { who: "x", tone: "loud" } } }, "/workflows/hello/runs"],
      [400, { raw: "{\"inputs\": {", headers: { "content-type": "application/json" } }, "/workflows/hello/runs"],
      [400, { body: { inputs: "who=x" } }, "/workflows/hello/runs"],
      [413, { body: { inputs: { who: "x".repeat(5000) } } }, "/workflows/hello/runs"],
      [415, { raw: "who=x", headers: { "content-type": "application/x-www-form-urlencoded" } }, "/workflows/hello/runs"]
    ]
    for (const [status, init, path] of cases) {
      const answer = await call(`${api}${path}`, init)
      expect({ path, status: answer.status, problem: isProblem(answer, status) }).toEqual({ path, status, problem: true })
    }
    const typed = await call(`${api}/workflows/hello/runs`, { body: { inputs: { who: 3, times: "two" } } })
    expect(typed.json.issues).toEqual([
      { at: "who", message: "expects a string, not 3" },
      { at: "times", message: "expects an integer, not \"two\"" }
    ])
    const missing = await call(`${api}/workflows/hello/runs`, { body: {} })
    expect(missing.json.issues).toEqual([{ at: "who", message: "is required (string: whom to greet)" }])
    expect(isProblem(await call(`${server!.url}/no/such/route`), 404)).toBe(true)
    expect(isProblem(await call(`${api}/runs?limit=0`), 400)).toBe(true)
    expect(isProblem(await call(`${api}/runs?cursor=garbage`), 400)).toBe(true)
    expect(isProblem(await call(`${api}/runs?since=yesterday`), 400)).toBe(true)
    expect((await call(`${api}/runs?limit=500`)).json.runs.length).toBe(before)
  })

  it("an Idempotency-Key returns the same run to a retried request; the same key with another body is a conflict", async () => {
    const first = await call(`${api}/workflows/hello/runs`, { body: { inputs: { who: "Grace" } }, headers: { "idempotency-key": "order-42" } })
    const second = await call(`${api}/workflows/hello/runs`, { body: { inputs: { who: "Grace", times: 1 } }, headers: { "idempotency-key": "order-42" } })
    expect(first.status).toBe(202)
    expect(second.status).toBe(202)
    expect(first.json.runId).toMatch(/^api\.[0-9a-f]{20}$/)
    expect(second.json.runId).toBe(first.json.runId)
    expect([first.json.replayed, second.json.replayed]).toEqual([false, true])
    const other = await call(`${api}/workflows/hello/runs`, { body: { inputs: { who: "Alan" } }, headers: { "idempotency-key": "order-42" } })
    expect(isProblem(other, 409)).toBe(true)
    const runs = (await call(`${api}/runs?limit=500`)).json.runs.filter((r: { id: string }) => r.id === first.json.runId)
    expect(runs).toHaveLength(1)
  })

  it("lists runs newest first, filtered by workflow, status and time, paged with a cursor", async () => {
    const from = new Date().toISOString()
    const ids: Array<string> = []
    for (const who of ["a", "b", "c", "d", "e"]) {
      const started = await call(`${api}/workflows/hello/runs`, { body: { inputs: { who } } })
      ids.push(started.json.runId)
      await readEvents(`${api}/runs/${started.json.runId}/events`)
    }
    const seen: Array<string> = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = await call(`${api}/runs?workflow=hello&since=${encodeURIComponent(from)}&limit=2${cursor !== undefined ? `&cursor=${cursor}` : ""}`)
      expect(page.status).toBe(200)
      seen.push(...page.json.runs.map((r: { id: string }) => r.id))
      cursor = page.json.next
      pages += 1
    } while (cursor !== undefined)
    expect(pages).toBe(3)
    expect(seen).toEqual([...ids].reverse())
    const succeeded = await call(`${api}/runs?status=succeeded&status=failed&since=${encodeURIComponent(from)}`)
    expect(succeeded.json.runs).toHaveLength(5)
    expect((await call(`${api}/runs?status=failed&since=${encodeURIComponent(from)}`)).json.runs).toHaveLength(0)
    expect((await call(`${api}/runs?until=${encodeURIComponent(from)}&workflow=nap`)).json.runs.length).toBeGreaterThan(0)
    expect((await call(`${api}/runs?workflow=nap&since=${encodeURIComponent(from)}`)).json.runs).toHaveLength(0)
  })

  it("resume: a finished run is a conflict, an unknown one a 404", async () => {
    const runs = (await call(`${api}/runs?status=succeeded&limit=1`)).json.runs
    expect(isProblem(await call(`${api}/runs/${runs[0].id}/resume`, { method: "POST" }), 409)).toBe(true)
    expect(isProblem(await call(`${api}/runs/run_nosuchrun/resume`, { method: "POST" }), 404)).toBe(true)
  })

  it("no answer holds a stack trace", () => {
    expect(server!.stderr()).not.toMatch(stackTrace)
    expect(server!.stdout()).not.toMatch(stackTrace)
  })

  it("SIGTERM: stops accepting, drains, exits 0", async () => {
    const code = await server!.stop("SIGTERM")
    expect(code).toBe(0)
    expect(server!.stderr()).toMatch(/SIGTERM: stopping/)
    expect(server!.stderr()).toMatch(/drained; stopped/)
  })
}, LIMIT)

describe("relais serve on a store with an interrupted run", () => {
  it("continues a run interrupted by Ctrl-C in relais run (as the engine does on start-up); resume of a run that is not interrupted is a conflict", async () => {
    const work = tmpDir("relais-serve-resume-")
    writeFile(work, "workflows/nap.yaml", nap)
    const store = Path.join(work, "store.db")
    const run = spawnChild(["run", "workflows/nap.yaml", "--store", store, "--run-id", "nap-1"], { cwd: work })
    const result = collect(run, LIMIT)
    await new Promise<void>((resolve, reject) => {
      let seen = ""
      run.stderr?.on("data", (chunk: Buffer) => {
        seen += chunk.toString("utf8")
        if (/run nap-1: nap/.test(seen)) resolve()
      })
      run.on("close", () => reject(new Error(`relais run ended first:\n${seen}`)))
    })
    run.kill("SIGINT")
    expect((await result).code).toBe(130)

    const served = await serve(["--workflows", "workflows", "--listen", "127.0.0.1:0", "--store", store], { cwd: work })
    try {
      const url = `${served.url}/api/v1`
      await served.waitForStderr(/run nap-1 \(nap\) continues, execution 2/)
      await served.waitForStderr(/run nap-1 succeeded/)
      const stream = await readEvents(`${url}/runs/nap-1/events`)
      expect(stream.events.at(-1)).toMatchObject({ event: "RunFinished", data: { status: "succeeded" } })
      expect(stream.events.filter((e) => e.event === "RunStarted").map((e) => e.data.execution)).toEqual([1, 2])
      const record = (await call(`${url}/runs/nap-1`)).json
      expect(record).toMatchObject({ status: "succeeded", executions: 2 })
      const resumed = await call(`${url}/runs/nap-1/resume`, { method: "POST" })
      expect(isProblem(resumed, 409)).toBe(true)
      expect(resumed.json.detail).toMatch(/has finished \(succeeded\)/)
      expect(await served.stop("SIGINT")).toBe(0)
    } finally {
      await kill(served)
      Fs.rmSync(work, { recursive: true, force: true })
    }
  })

  it("refuses to start without workflows, and names a directory that does not exist", async () => {
    const work = tmpDir("relais-serve-none-")
    const none = await child(["serve", "--listen", "127.0.0.1:0"], { cwd: work })
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/--workflows <dir>, or serve\.workflows/)
    const missing = await child(["serve", "--workflows", "nowhere", "--listen", "127.0.0.1:0"], { cwd: work })
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/the workflows directory nowhere does not exist/)
    expect(missing.stderr).not.toMatch(stackTrace)
  })
}, LIMIT)
