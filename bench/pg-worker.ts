/**
 * The workflows of the PostgreSQL benchmark (bench/postgres.ts) and the child processes it runs
 * (run with `node --conditions=@relais/source --import tsx pg-worker.ts ...`):
 *
 * - `worker <url> <port>`: a relais worker at 127.0.0.1:<port> with the default cluster settings.
 *   It prints one line per fact, for its parent to read:
 *     ready <epoch ms>                          the engine is built (joined the cluster)
 *     shards <n> <epoch ms>                     the shards it holds, each time that changes
 *     started <runId> <execution> <epoch ms>    a run starts executing here
 *   It runs until it is killed (SIGKILL for the takeover figure) or gets SIGTERM (it then leaves
 *   the cluster properly).
 * - `grid relais|dbos <url>`: one engine (a relais worker engine that also starts and awaits the
 *   runs, or DBOS) that times cells of the per-step grid on command. It reads lines
 *   `warm` and `cell <steps> <inFlight> <runs>` on stdin and answers `ok` and
 *   `cell <json>` (wall-clock ms, its own CPU ms, and the SQL it sent, counted in the `pg`
 *   driver that both engines use).
 */
import { Context, Effect, Exit, Layer, Logger, LogLevel, Redacted, Schema, Scope } from "effect"
import { createRequire } from "node:module"
import * as Net from "node:net"
import * as Readline from "node:readline"
import { pathToFileURL } from "node:url"
import { Engine, Redactor, RetryPolicy, Step, Workflow } from "@relais/core"

const noop = Step.make({
  name: "bench/noop",
  description: "does nothing",
  input: Schema.Struct({ i: Schema.Number }),
  output: Schema.Struct({ i: Schema.Number }),
  retry: RetryPolicy.none,
  run: ({ i }) => Effect.succeed({ i })
})

/** A workflow of `steps` no-op steps (one workflow per size, as a code-defined workflow is). */
export const noopWorkflow = (steps: number) =>
  Workflow.make({
    name: `bench-pg-${steps}`,
    input: Schema.Struct({ k: Schema.Number }),
    output: Schema.Struct({ sum: Schema.Number }),
    run: () =>
      Effect.gen(function*() {
        let sum = 0
        for (let i = 0; i < steps; i++) sum += (yield* Workflow.step(noop, { i }, { id: `s${i}` })).i
        return { sum }
      })
  })

export const sizes = [1, 10, 100] as const
export const noopWorkflows = sizes.map(noopWorkflow)

const nap = Step.make({
  name: "bench/nap",
  description: "sleeps a while, so that a run is in flight when its worker is killed",
  input: Schema.Struct({ i: Schema.Number, millis: Schema.Number }),
  output: Schema.Struct({ i: Schema.Number }),
  retry: RetryPolicy.none,
  run: ({ i, millis }) => Effect.as(Effect.sleep(millis), { i })
})

/** `steps` steps of `millis` ms each. */
export const sleepy = Workflow.make({
  name: "bench-pg-sleepy",
  input: Schema.Struct({ steps: Schema.Number, millis: Schema.Number }),
  output: Schema.Struct({ done: Schema.Number }),
  run: ({ millis, steps }) =>
    Effect.gen(function*() {
      for (let i = 0; i < steps; i++) yield* Workflow.step(nap, { i, millis }, { id: `nap${i}` })
      return { done: steps }
    })
})

export const allWorkflows = [...noopWorkflows, sleepy]

const quiet = Logger.withMinimumLogLevel(LogLevel.Warning)
const say = (line: string) => process.stdout.write(`${line}\n`)

const workerLayer = (url: string, port: number, onStarted?: (runId: string, execution: number) => void) =>
  Engine.layerPostgres({
    url: Redacted.make(url),
    worker: { host: "127.0.0.1", port },
    workflows: allWorkflows,
    applicationName: `relais-bench-worker-${port}`,
    ...(onStarted !== undefined
      ? {
        onExecution: (event) =>
          event._tag === "Started" ? Effect.sync(() => onStarted(event.runId, event.execution)) : Effect.void
      }
      : {})
  }).pipe(Layer.provide(Redactor.layer))

const worker = async (url: string, port: number) => {
  const scope = Effect.runSync(Scope.make())
  const program = Effect.gen(function*() {
    const layer = workerLayer(url, port, (runId, execution) => say(`started ${runId} ${execution} ${Date.now()}`))
    const context = yield* Layer.buildWithScope(layer, scope)
    say(`ready ${Date.now()}`)
    const cluster = Context.get(context, Engine.Cluster)
    let last = -1
    for (;;) {
      const held = (yield* cluster.shards).length
      if (held !== last) {
        last = held
        say(`shards ${held} ${Date.now()}`)
      }
      yield* Effect.sleep("50 millis")
    }
  }).pipe(quiet)
  const leave = () => {
    Effect.runPromise(Scope.close(scope, Exit.void)).finally(() => process.exit(0))
  }
  process.once("SIGTERM", leave)
  // The parent is gone (its end of stdin closed): leave too.
  process.stdin.once("close", leave).resume()
  await Effect.runPromise(program)
}

// --- grid ------------------------------------------------------------------------------------

/** SQL sent by this process, as counted in the `pg` driver (`Client.prototype.query`). */
interface Counts {
  /** Every query: a round trip to the server (BEGIN and COMMIT included). */
  roundTrips: number
  /** Commits that write (and so wait for the WAL flush: fsync): a transaction or a lone statement that writes. */
  writeCommits: number
  /** Commits that only read. */
  readCommits: number
  readonly statements: Record<string, number>
}
const freshCounts = (): Counts => ({ roundTrips: 0, writeCommits: 0, readCommits: 0, statements: {} })
let counts = freshCounts()

/** Statements that write, or lock rows (which gives the transaction an id and a commit record). */
const writes = /^(INSERT|UPDATE|DELETE|MERGE)\b|^WITH\b[\s\S]*\b(INSERT|UPDATE|DELETE)\b|\bFOR (NO KEY )?UPDATE\b|\bFOR (KEY )?SHARE\b/i

const countQueries = () => {
  const fromHere = createRequire(import.meta.url)
  const fromCore = createRequire(fromHere.resolve("@relais/core"))
  const drivers = new Set<{ Client: { prototype: { query: (...args: Array<unknown>) => unknown } } }>([
    createRequire(fromCore.resolve("@effect/sql-pg/package.json"))("pg"),
    createRequire(fromHere.resolve("@dbos-inc/dbos-sdk"))("pg")
  ])
  const open = new WeakMap<object, { writes: boolean }>()
  for (const driver of drivers) {
    const original = driver.Client.prototype.query
    driver.Client.prototype.query = function(this: object, ...args: Array<unknown>) {
      const query = args[0]
      const text = (typeof query === "string"
        ? query
        : typeof (query as { text?: unknown } | null)?.text === "string"
        ? (query as { text: string }).text
        : "(a cursor)").replace(/\s+/g, " ").trim()
      counts.roundTrips++
      const transaction = open.get(this)
      if (/^(BEGIN|START TRANSACTION)\b/i.test(text)) open.set(this, { writes: false })
      else if (/^(COMMIT|END)\b/i.test(text)) {
        if (transaction?.writes) counts.writeCommits++
        else counts.readCommits++
        open.delete(this)
      } else if (/^ROLLBACK\b/i.test(text)) open.delete(this)
      else if (transaction !== undefined) transaction.writes ||= writes.test(text)
      else if (writes.test(text)) counts.writeCommits++
      else counts.readCommits++
      const key = text.slice(0, 110)
      counts.statements[key] = (counts.statements[key] ?? 0) + 1
      return original.apply(this, args)
    }
  }
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

/** An engine's way to run one workflow of `steps` no-op steps to its end, and to stop. */
interface GridEngine {
  readonly runOne: (steps: number) => Promise<unknown>
  readonly close: () => Promise<void>
}

/** A relais worker engine that starts, executes and awaits its own runs (also bench/profilepg.ts). */
export const relaisRunner = async (url: string): Promise<GridEngine> => {
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(workerLayer(url, await freePort()), scope).pipe(quiet))
  const engine = Context.get(context, Engine.Engine)
  const bySize = new Map(sizes.map((steps, i) => [steps as number, noopWorkflows[i]!]))
  return {
    runOne: (steps) =>
      Effect.runPromise(Effect.flatMap(engine.start(bySize.get(steps)!, { k: 1 }), engine.await).pipe(
        Effect.flatMap((record) =>
          record.status === "succeeded" ? Effect.void : Effect.dieMessage(`a relais run ended ${record.status}`)
        ),
        quiet
      )),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

const dbosGridEngine = async (url: string): Promise<GridEngine> => {
  const { DBOS } = await import("@dbos-inc/dbos-sdk")
  // No Conductor, no telemetry export: everything stays on this PostgreSQL.
  DBOS.setConfig({ name: "relais-bench", systemDatabaseUrl: url, logLevel: "error", enableOTLP: false })
  const bySize = new Map(sizes.map((steps) => [
    steps as number,
    DBOS.registerWorkflow(async (_k: number) => {
      let sum = 0
      for (let i = 0; i < steps; i++) sum += await DBOS.runStep(async () => i, { name: `s${i}` })
      return { sum }
    }, { name: `bench-dbos-${steps}` })
  ]))
  await DBOS.launch()
  return { runOne: (steps) => bySize.get(steps)!(1), close: () => DBOS.shutdown() }
}

/** Run `count` jobs, `inFlight` at a time. */
export const pool = async (count: number, inFlight: number, job: () => Promise<unknown>) => {
  let next = 0
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < count) {
      next++
      await job()
    }
  }))
}

const grid = async (kind: string, url: string) => {
  countQueries()
  const engine = kind === "dbos" ? await dbosGridEngine(url) : await relaisRunner(url)
  const lines = Readline.createInterface({ input: process.stdin })
  say("ready")
  for await (const line of lines) {
    const [command, ...args] = line.trim().split(/\s+/)
    if (command === "warm") {
      for (const steps of sizes) await pool(Math.max(4, Math.round(80 / steps)), 4, () => engine.runOne(steps))
      say("ok")
    } else if (command === "cell") {
      const [steps, inFlight, runs] = args.map(Number) as [number, number, number]
      counts = freshCounts()
      const cpu = process.cpuUsage()
      const start = performance.now()
      await pool(runs, inFlight, () => engine.runOne(steps))
      const millis = performance.now() - start
      const used = process.cpuUsage(cpu)
      say(`cell ${JSON.stringify({ millis, cpuMillis: (used.user + used.system) / 1000, ...counts })}`)
    } else if (command === "quit") break
  }
  await engine.close()
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [mode, ...rest] = process.argv.slice(2)
  const fail = (message: string) => {
    console.error(message)
    process.exit(2)
  }
  const done = (what: string) => (error: unknown) => {
    console.error(`${what}: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(1)
  }
  if (mode === "worker") {
    const [url, port] = rest
    if (url === undefined || !Number.isInteger(Number(port))) fail("usage: pg-worker.ts worker <postgres url> <port>")
    worker(url!, Number(port)).catch(done(`worker ${port}`))
  } else if (mode === "grid") {
    const [kind, url] = rest
    if ((kind !== "relais" && kind !== "dbos") || url === undefined) fail("usage: pg-worker.ts grid relais|dbos <postgres url>")
    grid(kind!, url!).then(() => process.exit(0), done(`grid ${kind}`))
  } else {
    fail("usage: pg-worker.ts worker <postgres url> <port> | grid relais|dbos <postgres url>")
  }
}
