/**
 * The dashboard's runs page on a large store (figures, not a test). Issue 12 asks that the runs
 * page answers in under 1 s with 10,000 runs in the store.
 *
 * Seeds N runs (default 10,000) in a SQLite store, or with `--pg` in a database of the embedded
 * PostgreSQL of `@relais/testing` (fsync on), through the store's own write path
 * (`RunStore.create` in one transaction, so every row has its trigger and search columns as
 * relais writes them; 6 events per run through `append`): 4 workflows, statuses (succeeded,
 * failed, compensated, compensation_failed, succeeded_with_failures, cancelled), triggers (api,
 * schedule, manual, aimaira), inputs with an e-mail and a convention code, outputs, spread over
 * 30 days. Then starts the built `relais serve` (`packages/runner/dist/bin.js`) on it and times,
 * R requests each (default 20, after 3 unmeasured), one at a time, request to the whole body:
 * the first page, status filters, a workflow filter, a trigger filter, searches (`q`) alone and
 * combined, page 50 (with the cursor page 49 gave) and a run's detail (its events and graph).
 * Prints p50/p95/max per query and whether it meets the 1 s goal.
 *
 * run: npx -y pnpm@10.34.8 bench:ui [--pg] [--runs N] [--requests R]
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Engine, Errors, Redactor, Run, RunStore } from "@relais/core"
import { Postgres } from "@relais/testing"
import { Effect, Layer, Redacted } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Args from "./args.js"

const root = Path.resolve(import.meta.dirname, "..")
const onPg = Args.flag("pg")
const runCount = Args.count("runs", 10_000)
const requests = Args.count("requests", 20)
const goalMillis = 1000
const bin = Path.join(root, "packages/runner/dist/bin.js")
if (!Fs.existsSync(bin)) {
  console.error(`${bin} does not exist: run pnpm build first`)
  process.exit(2)
}

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-bench-ui-"))

// ---------------------------------------------------------------------------------------------
// The workflows and the runs

const workflowText = (name: string) => `version: 1
name: ${name}
description: A ${name} of the bench
inputs:
  apprenantId: { type: integer }
  email: { type: string }
  codeConvention: { type: string }
steps:
  - id: create
    uses: core/set
    with: { id: "\${{ inputs.apprenantId }}" }
  - id: contrats
    forEach: \${{ [1, 2] }}
    as: n
    steps:
      - id: publish
        uses: core/set
        with: { n: "\${{ n }}" }
outputs:
  conventionId: \${{ steps.create.output.id }}
`
const workflows = ["convention-apprentissage", "convention-stage", "campus-skills-nightly", "convention-pro"]
Fs.mkdirSync(Path.join(dir, "workflows"))
for (const name of workflows) Fs.writeFileSync(Path.join(dir, "workflows", `${name}.yaml`), workflowText(name))

/** A deterministic spread: the i-th pick among weighted choices. */
const pick = <A>(i: number, choices: ReadonlyArray<readonly [A, number]>): A => {
  const total = choices.reduce((sum, [, weight]) => sum + weight, 0)
  let at = (i * 7919) % total
  for (const [value, weight] of choices) {
    if (at < weight) return value
    at -= weight
  }
  return choices[0]![0]
}

const statuses = [
  ["succeeded", 70],
  ["failed", 10],
  ["compensated", 8],
  ["compensation_failed", 2],
  ["succeeded_with_failures", 5],
  ["cancelled", 5]
] as const
const triggers = [["api", 50], ["schedule", 25], ["manual", 15], ["aimaira", 10]] as const

const now = Date.now()
const span = 30 * 24 * 3600 * 1000

const seedRuns = Effect.gen(function*() {
  const store = yield* RunStore.RunStore
  const sql = yield* SqlClient.SqlClient
  const failure = new Run.Failure({ error: new Errors.ErrorInfo({ _tag: "Failed", message: "the sandbox said no" }), step: "core/set", path: "create" })
  const batch = 1000
  for (let from = 0; from < runCount; from += batch) {
    yield* sql.withTransaction(Effect.forEach(Array.from({ length: Math.min(batch, runCount - from) }, (_, k) => from + k), (i) => {
      const workflow = workflows[i % workflows.length]!
      const status = pick(i, statuses)
      const trigger = pick(i * 31 + 3, triggers)
      const createdAt = now - span + Math.floor((i / runCount) * span)
      const text = workflowText(workflow)
      const ok = status === "succeeded" || status === "succeeded_with_failures"
      const record = new Run.RunRecord({
        id: Run.RunId.make(`run_bench_${String(i).padStart(6, "0")}`),
        workflow,
        status,
        input: {
          apprenantId: 100_000 + i,
          email: `learner${i}@cfa-example.fr`,
          codeConvention: `CONV-${2026_000 + i}`,
          ...(trigger === "manual" ? {} : { $trigger: { kind: trigger, ...(trigger === "api" ? { by: "ops" } : {}) } })
        },
        ...(ok ? { output: { conventionId: 500_000 + i, contrats: [{ code: `CT-${i}-1` }, { code: `CT-${i}-2` }] } } : { failure }),
        definition: new Run.Definition({ hash: `${"0".repeat(60)}${String(i % workflows.length).padStart(4, "0")}`, text, source: `workflows/${workflow}.yaml` }),
        createdAt,
        updatedAt: createdAt + 900,
        finishedAt: createdAt + 900,
        executions: 1
      })
      const events: ReadonlyArray<Run.RunEvent> = [
        { _tag: "RunStarted", runId: record.id, at: createdAt, workflow, execution: 1 },
        { _tag: "StepStarted", runId: record.id, at: createdAt + 100, path: "create", step: "core/set" },
        { _tag: "StepSucceeded", runId: record.id, at: createdAt + 200, path: "create", step: "core/set", durationMillis: 100, attempts: 1, output: { id: i } },
        { _tag: "StepStarted", runId: record.id, at: createdAt + 300, path: "contrats[0]/publish", step: "core/set" },
        { _tag: "StepSucceeded", runId: record.id, at: createdAt + 400, path: "contrats[0]/publish", step: "core/set", durationMillis: 100, attempts: 1, output: { n: 1 } },
        { _tag: "RunFinished", runId: record.id, at: createdAt + 900, status, durationMillis: 900 }
      ]
      return Effect.zipRight(store.create(record), Effect.forEach(events, store.append, { discard: true }))
    }, { discard: true }))
  }
  yield* store.flush
})

// ---------------------------------------------------------------------------------------------
// Helpers

const fmt = (n: number, digits = 1) => n.toFixed(digits)
const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

/** `relais serve` in a child process, once it says where it listens. */
const serve = (args: ReadonlyArray<string>): Promise<{ readonly child: ChildProcess; readonly url: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "serve", ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir },
      stdio: ["ignore", "ignore", "pipe"]
    })
    let stderr = ""
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
      const match = /listening on (http:\/\/\S+)/.exec(stderr)
      if (match !== null) resolve({ child, url: match[1]! })
    })
    child.on("close", (code) => reject(new Error(`relais serve exited (${code}):\n${stderr}`)))
  })

const get = async (url: string) => {
  const t0 = performance.now()
  const response = await fetch(url)
  const text = await response.text()
  const millis = performance.now() - t0
  if (response.status !== 200) throw new Error(`GET ${url}: ${response.status} ${text.slice(0, 300)}`)
  return { millis, body: JSON.parse(text) as any, bytes: text.length }
}

// ---------------------------------------------------------------------------------------------
// The figures

const main = async () => {
  const pg = onPg ? await Postgres.start({ durability: "durable" }) : undefined
  const store = pg !== undefined ? await pg.database() : Path.join(dir, "store.db")
  const client = pg !== undefined
    ? Engine.layerPostgresClient({ url: Redacted.make(store) })
    : Engine.layerSqliteClient({ filename: store })
  const seeded = performance.now()
  await Effect.runPromise(seedRuns.pipe(
    Effect.provide(RunStore.layerSql.pipe(Layer.provideMerge(client), Layer.provide(Redactor.layer))),
    Effect.scoped
  ))
  const seedSeconds = (performance.now() - seeded) / 1000
  const extra = pg !== undefined ? ["--worker-listen", `127.0.0.1:${await Postgres.freePort()}`] : []
  const { child, url } = await serve(["--workflows", "workflows", "--listen", "127.0.0.1:0", "--store", store, ...extra])
  try {
    console.log(
      `relais serve on ${pg !== undefined ? "PostgreSQL (embedded, fsync on)" : "SQLite"}, ${runCount} runs (${runCount * 6} events) ` +
        `seeded in ${fmt(seedSeconds)} s; ${Os.cpus().length} cores, load ${Os.loadavg().map((n) => fmt(n, 1)).join(" ")}`
    )
    console.log(`${requests} requests per query, one at a time, after 3 unmeasured; goal: under ${goalMillis} ms\n`)
    const api = `${url}/api/v1`
    const sample = `learner${Math.floor(runCount * 0.37)}@cfa-example`
    const detailOf = (await get(`${api}/runs?status=failed&limit=1`)).body.runs[0].id as string
    // The last page's cursor (page 50 with 2,500 runs or more), by walking the pages before it.
    const lastPage = Math.min(50, Math.ceil(runCount / 50))
    let page50 = ""
    for (let page = 1; page < lastPage; page++) page50 = (await get(`${api}/runs${page50 === "" ? "" : `?cursor=${encodeURIComponent(page50)}`}`)).body.next
    const queries: ReadonlyArray<readonly [string, (n: number) => Promise<{ readonly millis: number; readonly runs: number }>]> = [
      ["first page (50)", async () => count(await get(`${api}/runs`))],
      ["status=failed", async () => count(await get(`${api}/runs?status=failed`))],
      ["status=compensation_failed,cancelled", async () => count(await get(`${api}/runs?status=compensation_failed&status=cancelled`))],
      ["workflow=convention-stage", async () => count(await get(`${api}/runs?workflow=convention-stage`))],
      ["trigger=aimaira", async () => count(await get(`${api}/runs?trigger=aimaira`))],
      [`q=${sample} (one run)`, async () => count(await get(`${api}/runs?q=${encodeURIComponent(sample)}`))],
      ["q=conv-2026 (every run)", async () => count(await get(`${api}/runs?q=conv-2026`))],
      ["q + status + trigger", async () => count(await get(`${api}/runs?q=cfa-example&status=failed&trigger=schedule`))],
      [`page ${lastPage} (its cursor from page ${lastPage - 1})`, async () => count(await get(`${api}/runs${page50 === "" ? "" : `?cursor=${encodeURIComponent(page50)}`}`))],
      ["run detail (events + graph)", async () => {
        const answer = await get(`${api}/runs/${detailOf}`)
        if (answer.body.definition?.graph === undefined) throw new Error("the detail has no graph")
        return { millis: answer.millis, runs: 1 }
      }]
    ]
    const rows: Array<string> = []
    let allMet = true
    for (const [name, query] of queries) {
      for (let n = 0; n < 3; n++) await query(n)
      const times: Array<number> = []
      let runs = 0
      for (let n = 0; n < requests; n++) {
        const result = await query(n)
        times.push(result.millis)
        runs = result.runs
      }
      const p95 = percentile(times, 95)
      const met = Math.max(...times) < goalMillis
      allMet &&= met
      rows.push(
        `${name.padEnd(40)} ${fmt(percentile(times, 50)).padStart(7)} ${fmt(p95).padStart(7)} ${fmt(Math.max(...times)).padStart(7)}  ${String(runs).padStart(4)}  ${met ? "yes" : "NO"}`
      )
    }
    console.log(`${"query".padEnd(40)} ${"p50 ms".padStart(7)} ${"p95 ms".padStart(7)} ${"max ms".padStart(7)}  runs  < 1 s`)
    for (const row of rows) console.log(row)
    console.log(`\n${allMet ? "every query answered under 1 s" : "some queries took 1 s or more"} with ${runCount} runs`)
  } finally {
    child.kill("SIGTERM")
    await new Promise((resolve) => child.once("close", resolve))
    await pg?.stop()
    Fs.rmSync(dir, { recursive: true, force: true })
  }
}

const count = (answer: { readonly millis: number; readonly body: any }) => ({ millis: answer.millis, runs: answer.body.runs.length as number })

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
})
