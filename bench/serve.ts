/**
 * `relais serve` benchmark (figures, not a test): the built binary (`packages/runner/dist/bin.js`,
 * after `pnpm build`) serving on 127.0.0.1, on SQLite (default) or, with `--pg`, on the embedded
 * PostgreSQL of `@relais/testing` (fsync on). It prints:
 *
 * 1. **Webhook intake**: N AIMAIRA webhook messages (default 1,000, all distinct, each with its
 *    right hash and a token from the server's token route) posted C at a time (default 50);
 *    the figure is messages per second from the first request to the last 2xx answer (an
 *    answer comes only once the message is recorded in the store), then the messages the API
 *    lists are counted. Their type is one no served workflow watches: intake alone, no runs.
 * 2. **API start latency**: starts of a one-step no-op workflow (`POST /api/v1/workflows/noop/runs`),
 *    one at a time: request to the 202 (the run is recorded and started), p50/p99; then request
 *    to the run finished, read by polling `GET /api/v1/runs/<id>` every 5 ms (the figure includes
 *    up to that interval).
 *
 * run: npx -y pnpm@10.34.8 bench:serve [--pg] [--messages N] [--concurrency C] [--starts N] [--finished N]
 */
import { Postgres } from "@relais/testing"
import { type ChildProcess, spawn } from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Args from "./args.js"

const root = Path.resolve(import.meta.dirname, "..")
const onPg = Args.flag("pg")
const messages = Args.count("messages", 1000)
const concurrency = Args.count("concurrency", 50)
const starts = Args.count("starts", 300)
const finishedRuns = Args.count("finished", 100)
const bin = Path.join(root, "packages/runner/dist/bin.js")
if (!Fs.existsSync(bin)) {
  console.error(`${bin} does not exist: run pnpm build first`)
  process.exit(2)
}

const SECRET = Crypto.randomBytes(18).toString("base64url")
const CUSTOMER = "BENCH"

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-bench-serve-"))
Fs.mkdirSync(Path.join(dir, "workflows"))
Fs.writeFileSync(
  Path.join(dir, "workflows/noop.yaml"),
  `version: 1
name: noop
description: One no-op step
inputs:
  n: { type: integer }
steps:
  - id: done
    uses: core/set
    with:
      n: \${{ inputs.n }}
`
)
Fs.writeFileSync(
  Path.join(dir, "relais.config.yaml"),
  `serve:
  webhooks:
    aimaira:
      clientId: bench
      clientSecret: { env: RELAIS_BENCH_HOOK_SECRET }
      settings: { customerName: ${CUSTOMER} }
      debounce: 1s
`
)

// ---------------------------------------------------------------------------------------------
// Helpers

const fmt = (n: number, digits = 1) => n.toFixed(digits)
const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}
const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

const pool = async <A>(tasks: ReadonlyArray<() => Promise<A>>, width: number): Promise<Array<A>> => {
  const results: Array<A> = new Array(tasks.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(width, tasks.length) }, async () => {
    while (next < tasks.length) {
      const index = next++
      results[index] = await tasks[index]!()
    }
  }))
  return results
}

/**
 * An AIMAIRA webhook message with its `Hash`, as the vendor documentation gives it:
 * Base64(MD5(ASCII(TriggerName + ObjectId + ObjectType + Date + TriggerName + CustomerName)))
 * (the texts here are ASCII). The same as `Webhook.sign` of `@relais/aimaira`.
 */
const signed = (objectId: number) => {
  const fields = { CustomerName: CUSTOMER, Date: "2026-03-02T10:15:00.1234567+01:00", ObjectId: objectId, ObjectType: "recrutement.T_DOSSIER", TriggerName: "bench" }
  const text = `${fields.TriggerName}${fields.ObjectId}${fields.ObjectType}${fields.Date}${fields.TriggerName}${fields.CustomerName}`
  return JSON.stringify({ ...fields, Hash: Crypto.createHash("md5").update(text, "ascii").digest("base64") })
}

/** `relais serve` in a child process, once it says where it listens. */
const serve = (args: ReadonlyArray<string>): Promise<{ readonly child: ChildProcess; readonly url: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "serve", ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, RELAIS_BENCH_HOOK_SECRET: SECRET },
      stdio: ["ignore", "ignore", "pipe"]
    })
    let stderr = ""
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
      const match = /listening on (http:\/\/\S+)/.exec(stderr)
      if (match !== null && /webhooks: POST/.test(stderr)) {
        if (!/workflows: noop/.test(stderr)) reject(new Error(`the noop workflow is not served:\n${stderr}`))
        resolve({ child, url: match[1]! })
      }
    })
    child.on("close", (code) => reject(new Error(`relais serve exited (${code}):\n${stderr}`)))
  })

const json = async (url: string, init?: RequestInit) => {
  const response = await fetch(url, init)
  return { status: response.status, body: await response.json() as any }
}

// ---------------------------------------------------------------------------------------------
// The figures

const main = async () => {
  const pg = onPg ? await Postgres.start({ durability: "durable" }) : undefined
  const store = pg !== undefined ? await pg.database() : Path.join(dir, "store.db")
  const extra = pg !== undefined ? ["--worker-listen", `127.0.0.1:${await Postgres.freePort()}`] : []
  const { child, url } = await serve(["--workflows", "workflows", "--listen", "127.0.0.1:0", "--store", store, "--config", "relais.config.yaml", ...extra])
  try {
    console.log(`relais serve on ${pg !== undefined ? "PostgreSQL (embedded, fsync on)" : "SQLite"}, ${Os.cpus().length} cores, load ${Os.loadavg().map((n) => fmt(n, 1)).join(" ")}`)

    // 1. Webhook intake.
    const token = await json(`${url}/hooks/aimaira/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${Buffer.from(`bench:${SECRET}`).toString("base64")}` },
      body: "grant_type=client_credentials"
    })
    if (token.status !== 200) throw new Error(`token: ${token.status} ${JSON.stringify(token.body)}`)
    const post = (body: string) => async () => {
      const response = await fetch(`${url}/hooks/aimaira`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token.body.access_token}` },
        body
      })
      await response.arrayBuffer()
      return response.status
    }
    await pool(Array.from({ length: 20 }, (_, n) => post(signed(9_000_000 + n))), 10) // warm-up
    const bodies = Array.from({ length: messages }, (_, n) => signed(1_000_000 + n))
    const began = performance.now()
    const statuses = await pool(bodies.map(post), concurrency)
    const took = (performance.now() - began) / 1000
    const refused = statuses.filter((s) => s < 200 || s >= 300).length
    const listed = (await json(`${url}/api/v1/webhooks/messages?limit=1000`)).body.messages
      .filter((m: any) => m.event.ObjectId >= 1_000_000 && m.event.ObjectId < 9_000_000).length
    console.log(
      `webhook intake: ${messages} messages, ${concurrency} at a time: ${fmt(messages / took)} messages/s recorded durably ` +
        `(first request to last 2xx, ${fmt(took, 2)} s); ${refused} not 2xx; ${messages <= 1000 ? `${listed} listed by the API` : "(over 1,000: not counted)"}`
    )

    // 2. API start latency.
    const start = async (n: number) => {
      const t0 = performance.now()
      const answer = await json(`${url}/api/v1/workflows/noop/runs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ inputs: { n } })
      })
      if (answer.status !== 202) throw new Error(`start: ${answer.status} ${JSON.stringify(answer.body)}`)
      return { t0, accepted: performance.now() - t0, runId: answer.body.runId as string }
    }
    for (let n = 0; n < 20; n++) await start(n) // warm-up
    const accepted: Array<number> = []
    for (let n = 0; n < starts; n++) accepted.push((await start(n)).accepted)
    const finished: Array<number> = []
    for (let n = 0; n < finishedRuns; n++) {
      const { runId, t0 } = await start(n)
      for (;;) {
        const run = await json(`${url}/api/v1/runs/${runId}`)
        if (run.body.status === "succeeded") break
        if (run.body.status === "failed") throw new Error(`run ${runId} failed`)
        await sleep(5)
      }
      finished.push(performance.now() - t0)
    }
    console.log(
      `API start, one at a time: request to 202 (run started): p50 ${fmt(percentile(accepted, 50))} ms, p99 ${fmt(percentile(accepted, 99))} ms over ${starts} starts`
    )
    console.log(
      `API start, one at a time: request to run finished (one no-op step; polled every 5 ms): p50 ${fmt(percentile(finished, 50))} ms, p99 ${
        fmt(percentile(finished, 99))
      } ms over ${finishedRuns} runs`
    )
  } finally {
    child.kill("SIGTERM")
    await new Promise((resolve) => child.once("close", resolve))
    await pg?.stop()
    Fs.rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : String(error))
  process.exit(1)
})
