/**
 * The runs page's queries on `relais serve` (child processes, real HTTP): `trigger` and `q`
 * (input and output values, nested, any case, `%` and `_` literal) combined with the status
 * and workflow filters and the cursor paging; a run's definition text and structure (`graph`),
 * whose node ids are what the run's event paths name; a definition that is not a workflow
 * gives its text and no graph; a store made by the previous version (no trigger or search
 * columns) is migrated when served and its old runs are found; bad parameters are problems.
 * The same filters on a PostgreSQL store (embedded server), migrated too.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Engine } from "@relais/core"
import { Postgres } from "@relais/testing"
import { Effect } from "effect"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { tmpDir, writeFile } from "./harness/Cli.js"
import { call, isProblem, kill, pool, readEvents, type Served, serve } from "./harness/Serve.js"

const LIMIT = 300_000

const hello = `version: 1
name: hello
description: Greet, with a tag in the output
inputs:
  who: { type: string }
  tag: { type: string, default: none }
steps:
  - id: greet
    uses: core/set
    with:
      text: hello \${{ inputs.who }}
outputs:
  result:
    greeting: \${{ steps.greet.output.text }}
    deep: { list: [ "\${{ inputs.tag }}-OUT", 7 ] }
`

const failing = `version: 1
name: failing
description: Fails at once
inputs:
  who: { type: string }
steps:
  - id: boom
    uses: core/fail
    with: { message: "no \${{ inputs.who }}" }
`

const shape = `version: 1
name: shape
description: Every kind of node
inputs:
  email: { type: string }
  items: { type: array, default: [a, b] }
  loud: { type: boolean, default: false }
steps:
  - id: prepare
    uses: core/set
    compensate: false
    with: { who: "\${{ inputs.email }}" }
  - id: each
    forEach: \${{ inputs.items }}
    as: item
    steps:
      - id: note
        uses: core/set
        with: { item: "\${{ item }}" }
  - id: both
    parallel:
      - id: left
        uses: core/set
        with: { side: left }
      - id: right
        steps:
          - id: inner
            uses: core/set
            with: { side: right }
  - id: shout
    if: \${{ inputs.loud }}
    uses: core/set
    with: { text: LOUD }
`

/** The table as relais made it before trigger_kind and search_text (issue 11). */
const oldTable = `CREATE TABLE relais_runs (
  id TEXT PRIMARY KEY, workflow TEXT NOT NULL, status TEXT NOT NULL, record TEXT NOT NULL,
  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL
)`

/** A stored record (the JSON form of a `RunRecord`) of a run that ended long ago. */
const oldRecord = <F extends Record<string, unknown>>(id: string, workflow: string, status: string, at: number, fields: F) => ({
  id,
  workflow,
  status,
  input: {},
  createdAt: at,
  updatedAt: at + 10,
  finishedAt: at + 10,
  executions: 1,
  ...fields
})

const oldRuns = [
  oldRecord("old_a", "hello", "succeeded", Date.UTC(2024, 0, 1), {
    input: { who: "Grace Hopper", $trigger: { kind: "aimaira", subject: "conv-9" } },
    output: { result: { code: "CONV-OLD-77" } },
    definition: { hash: "a".repeat(64), text: hello, source: "workflows/hello.yaml" }
  }),
  oldRecord("old_b", "legacy", "failed", Date.UTC(2024, 0, 2), {
    input: { who: "Alan" },
    definition: { hash: "b".repeat(64), text: "steps: [unclosed\n  - :: {\n" }
  }),
  oldRecord("old_c", "legacy", "succeeded", Date.UTC(2024, 0, 3), {
    input: { who: "Edsger" },
    definition: { hash: "c".repeat(64), text: "just a sentence, not a workflow\n" }
  })
]

/** Statements on a SQLite store, outside the server (its own connection, as another process would). */
const onSqlite = <A>(file: string, f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>, readonly = false): Promise<A> =>
  Effect.runPromise(Effect.flatMap(SqlClient.SqlClient, f).pipe(Effect.provide(Engine.layerSqliteClient({ filename: file, readonly }))))

interface Summary {
  readonly id: string
  readonly workflow: string
  readonly status: string
  readonly trigger: string
  readonly createdAt: string
  readonly restartOf?: { readonly runId: string; readonly from: string }
}

/** Start a run through the API and wait for its event stream to end (the run finished). */
const runToEnd = async (api: string, workflow: string, inputs: Record<string, unknown>): Promise<string> => {
  const started = await call(`${api}/workflows/${workflow}/runs`, { body: { inputs } })
  if (started.status !== 202) throw new Error(`start ${workflow}: ${started.status} ${started.text}`)
  await readEvents(`${api}/runs/${started.json.runId}/events`)
  return started.json.runId
}

const list = async (api: string, params: string): Promise<{ runs: ReadonlyArray<Summary>; next?: string }> => {
  const answer = await call(`${api}/runs?${params}`)
  if (answer.status !== 200) throw new Error(`GET /runs?${params}: ${answer.status} ${answer.text}`)
  return answer.json
}

/** Every page of a listing, following the cursors. */
const allPages = async (api: string, params: string): Promise<{ ids: Array<string>; pages: number }> => {
  const ids: Array<string> = []
  let cursor: string | undefined
  let pages = 0
  do {
    const page = await list(api, `${params}${cursor !== undefined ? `&cursor=${encodeURIComponent(cursor)}` : ""}`)
    ids.push(...page.runs.map((r) => r.id))
    cursor = page.next
    pages++
  } while (cursor !== undefined && pages < 50)
  return { ids, pages }
}

const ids = (page: { runs: ReadonlyArray<Summary> }) => page.runs.map((r) => r.id)

describe("relais serve: the runs page's queries on SQLite", () => {
  let dir: string
  let server: Served | undefined
  let api: string
  const batch: Array<string> = []
  const failed: Array<string> = []
  let pct: string
  let decoy: string
  let shaped: string

  beforeAll(async () => {
    dir = tmpDir("relais-serve-query-")
    writeFile(dir, "workflows/hello.yaml", hello)
    writeFile(dir, "workflows/failing.yaml", failing)
    writeFile(dir, "workflows/shape.yaml", shape)
    await onSqlite(Path.join(dir, "store.db"), (sql) =>
      Effect.gen(function*() {
        yield* sql.unsafe(oldTable)
        yield* sql`CREATE INDEX relais_runs_status ON relais_runs (status, created_at)`
        for (const r of oldRuns) {
          yield* sql`INSERT INTO relais_runs (id, workflow, status, record, created_at, updated_at)
            VALUES (${r.id}, ${r.workflow}, ${r.status}, ${JSON.stringify(r)}, ${r.createdAt}, ${r.updatedAt})`
        }
      }))
    server = await serve(["--workflows", "workflows", "--listen", "127.0.0.1:0", "--store", "store.db"], { cwd: dir })
    api = `${server.url}/api/v1`
    // One at a time: each run's createdAt is after the previous one's.
    for (let i = 0; i < 8; i++) batch.push(await runToEnd(api, "hello", { who: `Batch Person ${i}`, tag: "lot-7" }))
    for (let i = 0; i < 2; i++) failed.push(await runToEnd(api, "failing", { who: `Batch Person F${i}` }))
    pct = await runToEnd(api, "hello", { who: "Pct", tag: "50%_off" })
    decoy = await runToEnd(api, "hello", { who: "Decoy", tag: "50xyoff" })
    shaped = await runToEnd(api, "shape", { email: "Ada@X.org" })
  }, LIMIT)

  afterAll(async () => {
    await kill(server)
  })

  it("migrated the previous version's store: its runs are found by trigger and by value, its columns and indexes are there", async () => {
    expect(ids(await list(api, "trigger=aimaira"))).toEqual(["old_a"])
    expect((await list(api, "trigger=aimaira")).runs[0]).toMatchObject({ id: "old_a", workflow: "hello", status: "succeeded", trigger: "aimaira" })
    expect(ids(await list(api, "q=conv-old-77"))).toEqual(["old_a"])
    expect(ids(await list(api, "q=grace"))).toEqual(["old_a"])
    expect(ids(await list(api, "trigger=manual"))).toEqual(["old_c", "old_b"])
    const [columns, indexes, unfilled] = await onSqlite(Path.join(dir, "store.db"), (sql) =>
      Effect.all([
        sql<{ name: string }>`SELECT name FROM pragma_table_info('relais_runs')`,
        sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'relais_runs'`,
        sql<{ n: number }>`SELECT count(*) AS n FROM relais_runs WHERE trigger_kind IS NULL OR search_text IS NULL`
      ]), true)
    expect(columns.map((c) => c.name)).toEqual(expect.arrayContaining(["trigger_kind", "search_text"]))
    expect(indexes.map((c) => c.name)).toEqual(expect.arrayContaining(["relais_runs_created", "relais_runs_by_status", "relais_runs_by_workflow", "relais_runs_by_trigger"]))
    expect(indexes.map((c) => c.name)).not.toContain("relais_runs_status")
    expect(unfilled[0]!.n).toBe(0)
  })

  it("filters by trigger: the summaries say what started each run", async () => {
    const api_ = await list(api, "trigger=api&limit=100")
    expect(new Set(ids(api_))).toEqual(new Set([...batch, ...failed, pct, decoy, shaped]))
    expect(api_.runs.every((r) => r.trigger === "api")).toBe(true)
    expect(ids(await list(api, "trigger=schedule"))).toEqual([])
    const all = await list(api, "limit=100")
    expect(Object.fromEntries(all.runs.map((r) => [r.id, r.trigger]))).toMatchObject({ old_a: "aimaira", old_b: "manual", [pct]: "api" })
  })

  it("searches input values and nested output values, in any case", async () => {
    expect(ids(await list(api, "q=BATCH%20PERSON%203"))).toEqual([batch[3]])
    expect(ids(await list(api, "q=ada%40x.ORG"))).toEqual([shaped])
    // Only in the output (result.deep.list), not in the input.
    expect(new Set(ids(await list(api, "q=lot-7-out&limit=100")))).toEqual(new Set(batch))
    expect(ids(await list(api, "q=hello%20decoy"))).toEqual([decoy])
    // Neither keys nor the trigger are searched.
    expect(ids(await list(api, "q=greeting"))).toEqual([])
    expect(ids(await list(api, "q=nobody-has-this"))).toEqual([])
  })

  it("takes % and _ in a search literally", async () => {
    expect(ids(await list(api, `q=${encodeURIComponent("50%_off")}`))).toEqual([pct])
    expect(ids(await list(api, `q=${encodeURIComponent("50%")}`))).toEqual([pct])
    expect(ids(await list(api, "q=_"))).toEqual([pct])
    expect(ids(await list(api, `q=${encodeURIComponent("%")}`))).toEqual([pct])
    expect(ids(await list(api, `q=${encodeURIComponent("\\")}`))).toEqual([])
    // The decoy matches only the wildcards' meaning.
    expect(ids(await list(api, "q=50xyoff"))).toEqual([decoy])
  })

  it("combines a search with status, workflow and trigger, and pages through it with the cursor", async () => {
    const paged = await allPages(api, "q=lot-7&status=succeeded&limit=3")
    expect(paged.pages).toBe(3)
    expect(paged.ids).toEqual([...batch].reverse())
    expect(new Set(ids(await list(api, "q=batch%20person&status=failed")))).toEqual(new Set(failed))
    const statusOnly = await list(api, "q=batch%20person&status=failed")
    expect(statusOnly.runs.every((r) => r.status === "failed" && r.workflow === "failing")).toBe(true)
    const first = await list(api, "q=batch&trigger=api&workflow=hello&limit=5")
    expect(ids(first)).toEqual([...batch].reverse().slice(0, 5))
    expect(first.next).toBeDefined()
    const second = await list(api, `q=batch&trigger=api&workflow=hello&limit=5&cursor=${encodeURIComponent(first.next!)}`)
    expect(ids(second)).toEqual([...batch].reverse().slice(5))
    expect(second.next).toBeUndefined()
    expect(ids(await list(api, "q=batch&trigger=aimaira"))).toEqual([])
  })

  it("a run's detail has its definition's text and structure, whose node ids are what its events' paths name", async () => {
    const run = (await call(`${api}/runs/${shaped}`)).json
    expect(run.definition.text).toBe(shape)
    expect(run.definition.source).toBe("workflows/shape.yaml")
    expect(run.definition.graph).toEqual({
      name: "shape",
      steps: [
        { id: "prepare", kind: "step", uses: "core/set", compensates: false },
        { id: "each", kind: "forEach", steps: [{ id: "note", kind: "step", uses: "core/set", compensates: true }] },
        {
          id: "both",
          kind: "parallel",
          branches: [
            { id: "left", kind: "step", uses: "core/set", compensates: true },
            { id: "right", kind: "group", steps: [{ id: "inner", kind: "step", uses: "core/set", compensates: true }] }
          ]
        },
        { id: "shout", kind: "step", uses: "core/set", condition: "inputs.loud", compensates: true }
      ]
    })
    // The mapping documented on Api.GraphNode: the node is the path's last segment without its index.
    const nodeIds = new Set<string>()
    const walk = (nodes: ReadonlyArray<{ id: string; steps?: Array<any>; branches?: Array<any> }>): void => {
      for (const n of nodes) {
        nodeIds.add(n.id)
        walk(n.steps ?? [])
        walk(n.branches ?? [])
      }
    }
    walk(run.definition.graph.steps)
    const paths = run.events.flatMap((e: { event: { path?: string } }) => (e.event.path !== undefined ? [e.event.path] : []))
    expect(paths.length).toBeGreaterThan(0)
    for (const path of paths) expect(nodeIds).toContain(path.split("/").at(-1)!.replace(/\[\d+\]$/, ""))
    expect(new Set(paths)).toEqual(new Set(["prepare", "each[0]/note", "each[1]/note", "left", "inner", "shout"]))
    expect(run.events.find((e: { event: { _tag: string } }) => e.event._tag === "StepSkipped").event.path).toBe("shout")
    expect(run.trigger).toMatchObject({ kind: "api" })
  })

  it("a definition that cannot be read as a workflow: its text, and no graph", async () => {
    for (const id of ["old_b", "old_c"]) {
      const run = await call(`${api}/runs/${id}`)
      expect(run.status).toBe(200)
      expect(run.json.definition.text).toBe(oldRuns.find((r) => r.id === id)!.definition.text)
      expect(run.json.definition.hash).toBe(oldRuns.find((r) => r.id === id)!.definition.hash)
      expect(run.json.definition).not.toHaveProperty("graph")
    }
    // The old run with a real definition has its graph.
    expect((await call(`${api}/runs/old_a`)).json.definition.graph).toEqual({
      name: "hello",
      steps: [{ id: "greet", kind: "step", uses: "core/set", compensates: true }]
    })
  })

  it("bad parameters are 400 problems that name the parameter", async () => {
    for (const params of ["q=", `q=${"x".repeat(201)}`, "trigger=", "cursor=nonsense", "limit=0"]) {
      const answer = await call(`${api}/runs?${params}`)
      expect(isProblem(answer, 400), `${params}: ${answer.text}`).toBe(true)
      const at = params.slice(0, params.indexOf("="))
      expect(answer.json.issues.map((i: { at?: string }) => i.at)).toContain(at)
    }
    // The longest search taken.
    expect((await call(`${api}/runs?q=${"x".repeat(200)}`)).status).toBe(200)
  })

  it("a restarted run's summary names the run and the step it restarted from", async () => {
    const restarted = await call(`${api}/runs/${failed[0]}/restart`, { body: { from: "boom" } })
    expect(restarted.status, restarted.text).toBe(202)
    await readEvents(`${api}/runs/${restarted.json.runId}/events`)
    const page = await list(api, `q=${encodeURIComponent("batch person f0")}`)
    expect(ids(page)).toEqual([restarted.json.runId, failed[0]])
    expect(page.runs[0]!.restartOf).toEqual({ runId: failed[0], from: "boom" })
    expect(page.runs[1]).not.toHaveProperty("restartOf")
  })
})

describe("relais serve: the runs page's queries on PostgreSQL", () => {
  let pg: Postgres.Server
  let server: Served | undefined
  let api: string
  let name: string
  const runs: Array<string> = []

  beforeAll(async () => {
    pg = await Postgres.start()
    const url = await pg.database()
    name = new URL(url).pathname.slice(1)
    // A store of the previous version: the table without the derived columns, and two runs.
    await pg.query(oldTable, [], name)
    const old = [
      oldRecord("old_s", "hello", "succeeded", Date.UTC(2024, 1, 1), {
        input: { who: "Scheduled 100%", $trigger: { kind: "schedule", slot: "2024-02-01T06:00" } }
      }),
      oldRecord("old_m", "hello", "succeeded", Date.UTC(2024, 1, 2), { input: { who: "Manual 1000", code: "lotXpg" } })
    ]
    for (const r of old) {
      await pg.query("INSERT INTO relais_runs (id, workflow, status, record, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)", [
        r.id, r.workflow, r.status, JSON.stringify(r), r.createdAt, r.updatedAt
      ], name)
    }
    const dir = tmpDir("relais-serve-query-pg-")
    writeFile(dir, "workflows/hello.yaml", hello)
    server = await serve(["--workflows", "workflows", "--listen", "127.0.0.1:0", "--store", url, "--worker-listen", `127.0.0.1:${await Postgres.freePort()}`], {
      cwd: dir
    })
    api = `${server.url}/api/v1`
    runs.push(...await pool([0, 1, 2].map((i) => () => runToEnd(api, "hello", { who: `PG Person ${i}`, tag: "Lot_PG" })), 3))
  }, LIMIT)

  afterAll(async () => {
    await kill(server)
    await pg?.stop()
  }, LIMIT)

  it("filters by trigger and searches values (output included, any case, % and _ literal), old runs migrated", async () => {
    expect(ids(await list(api, "trigger=schedule"))).toEqual(["old_s"])
    expect(ids(await list(api, "trigger=manual"))).toEqual(["old_m"])
    expect(new Set(ids(await list(api, "trigger=api")))).toEqual(new Set(runs))
    expect(ids(await list(api, "q=SCHEDULED"))).toEqual(["old_s"])
    expect(ids(await list(api, `q=${encodeURIComponent("100%")}`))).toEqual(["old_s"])
    expect(ids(await list(api, "q=pg%20person%201"))).toEqual([runs[1]])
    expect(new Set(ids(await list(api, "q=lot_pg-out&trigger=api")))).toEqual(new Set(runs))
    expect(ids(await list(api, "q=lot_pg-out&trigger=schedule"))).toEqual([])
    // `_` is not "any character": old_m's "lotXpg" would match it as a wildcard.
    expect(new Set(ids(await list(api, "q=lot_pg")))).toEqual(new Set(runs))
    const paged = await allPages(api, "q=lot_pg&status=succeeded&limit=2")
    expect(paged.pages).toBe(2)
    expect(new Set(paged.ids)).toEqual(new Set(runs))
    const columns = await pg.query<{ name: string }>("SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'relais_runs'", [], name)
    expect(columns.map((c) => c.name)).toEqual(expect.arrayContaining(["trigger_kind", "search_text"]))
    const unfilled = await pg.query<{ n: number }>("SELECT count(*)::int AS n FROM relais_runs WHERE trigger_kind IS NULL OR search_text IS NULL", [], name)
    expect(unfilled[0]!.n).toBe(0)
  })
})
