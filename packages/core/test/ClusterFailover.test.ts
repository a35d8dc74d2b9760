/**
 * The PostgreSQL cluster engine with real worker processes (test/fixtures/pg-worker.ts) on a real
 * PostgreSQL: a worker killed, every worker restarted in turn, a worker's connections cut, a
 * worker killed right after it claimed a run. Every run must end `succeeded`, and each step's
 * effect must have happened once, or at most twice for a step that was in flight on a killed
 * worker and has no `reconcile` (a step with one is checked for exactly once).
 *
 * Robust on a loaded machine: the test waits on events (a line a worker prints, a line in the
 * effects log, a process's exit, a row in the database), never on a tight timer; `LIMIT` only
 * ends a hang. One PostgreSQL server for the file, one database per test, workers started in
 * parallel as plain JavaScript (see support/transpile.ts).
 *
 * The Effect cluster issues these tests look for (Effect-TS/effect): #6248 (messages no longer
 * consumed after a rolling restart), #7551 (a runner whose lock connection is lost never
 * recovers), #8312 (a claimed message skipped for the 10-minute `last_read` window) and #6294
 * (a resumed workflow waiting for the storage poll). What they found, at @effect/cluster 0.60.2:
 * - Cutting a worker's connections left runs suspended for good: the engine stopped a run on
 *   the first failed read or write of its record. The runs' store calls are now tried again
 *   for a while on a shared store (internal/engine.ts, `retrying`). The lock connection itself
 *   was rebuilt and the shards taken again by the cluster (its #7551 hang needs a connection
 *   that hangs rather than closes, which `pg_terminate_backend` does not produce).
 * - A claimed run on a killed worker is read again by the next worker at once: it clears the
 *   claims (`last_read`) of the shards it takes.
 * - `resume` from a process that is not a worker waited for an in-process signal that never
 *   came; it now follows the run in the store.
 * - A worker stopping after its drain waited `entityTerminationTimeout` (5 s) for runs that
 *   were only waiting between two steps; it now stops at once (Engine.ts, `drained`).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Postgres } from "@relais/testing"
import { Duration, Effect, Exit, Layer, Option, Redacted, Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { EventEmitter } from "node:events"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Engine, Redactor, Run, RunStore } from "../src/index.js"
import { clusterSteps, Effects, effectsFile, noEffects } from "./fixtures/pg-worker.js"
import { transpile, type Transpiled } from "./support/transpile.js"

/** Ends a hang; each test normally takes a fraction of it. */
const LIMIT = 300_000
/** The longest single wait in a test, so that a hang says what it waited for. */
const WAIT = LIMIT / 2

let server: Postgres.Server
let child: Transpiled
/** Every process started, so that none outlives a failed or timed-out test. */
const processes: Array<ChildProcess> = []
const dirs: Array<string> = []
/** Wakes the waits: a line from a worker, a change in a test directory, an exit. */
const changes = new EventEmitter()
changes.setMaxListeners(100)

beforeAll(async () => {
  child = transpile(Path.join(__dirname, ".."), ["src", "test/fixtures"])
  server = await Postgres.start()
}, LIMIT)

afterAll(async () => {
  for (const proc of processes) if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL")
  await Promise.all(processes.map((proc) => proc.exitCode === null && proc.signalCode === null ? new Promise((resolve) => proc.on("close", resolve)) : undefined))
  child?.remove()
  for (const dir of dirs) Fs.rmSync(dir, { recursive: true, force: true })
  await server?.stop()
}, LIMIT)

// -----------------------------------------------------------------------------
// Waiting on events
// -----------------------------------------------------------------------------

/**
 * Resolves with the first defined value of `check`, evaluated at every change (and every 250 ms,
 * for changes a file system may not report). Rejects when one of `alive` exits first, or after
 * `WAIT` (a hang), saying what it waited for.
 */
const until = <A>(
  what: string,
  check: () => A | undefined,
  alive: ReadonlyArray<Worker> = []
): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const started = Date.now()
    const evaluate = () => {
      let value: A | undefined
      try {
        value = check()
      } catch (error) {
        done()
        return reject(error)
      }
      if (value !== undefined) {
        done()
        return resolve(value)
      }
      const dead = alive.find((w) => w.proc.exitCode !== null || w.proc.signalCode !== null)
      if (dead !== undefined) {
        done()
        return reject(new Error(`${dead.name} exited while waiting for ${what}:\n${dead.stderr}`))
      }
      if (Date.now() - started > WAIT) {
        done()
        reject(new Error(`waited ${WAIT} ms for ${what}`))
      }
    }
    const poll = setInterval(evaluate, 250)
    const done = () => {
      clearInterval(poll)
      changes.off("change", evaluate)
    }
    changes.on("change", evaluate)
    evaluate()
  })

/** Like `until`, for a check that reads the database: asked again 200 ms after each answer. */
const untilRow = async <A>(what: string, check: () => Promise<A | undefined>): Promise<A> => {
  const started = Date.now()
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() - started > WAIT) throw new Error(`waited ${WAIT} ms for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

// -----------------------------------------------------------------------------
// Workers
// -----------------------------------------------------------------------------

interface Exited {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** A worker process and what it printed (`<word> ... <epoch ms>` lines, split in fields). */
class Worker {
  readonly lines: Array<ReadonlyArray<string>> = []
  stderr = ""
  readonly exited: Promise<Exited>
  constructor(readonly name: string, readonly port: number, readonly proc: ChildProcess) {
    let buffer = ""
    proc.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      buffer += chunk
      const complete = buffer.split("\n")
      buffer = complete.pop()!
      for (const line of complete) if (line !== "") this.lines.push(line.split(" "))
      changes.emit("change")
    })
    proc.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderr += chunk
    })
    this.exited = new Promise((resolve) =>
      proc.on("close", (code, signal) => {
        resolve({ code, signal })
        changes.emit("change")
      })
    )
  }
  get address(): string {
    return `127.0.0.1:${this.port}`
  }
  /** The lines starting with `word`, from line `from` on. */
  said(word: string, from = 0): Array<ReadonlyArray<string>> {
    return this.lines.slice(from).filter((fields) => fields[0] === word)
  }
  /** The time (epoch ms) of the first line starting with `word`. */
  when(word: string, from = 0): number | undefined {
    const line = this.said(word, from)[0]
    return line === undefined ? undefined : Number(line[line.length - 1])
  }
  /** The number of shards it said it held last. */
  shards(): number {
    const last = this.said("shards").at(-1)
    return last === undefined ? 0 : Number(last[1])
  }
}

interface Cluster {
  readonly url: string
  readonly dir: string
  readonly database: string
}

const setup = async (): Promise<Cluster> => {
  const url = await server.database()
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-cluster-"))
  dirs.push(dir)
  Fs.watch(dir, () => changes.emit("change")).unref()
  return { url, dir, database: new URL(url).pathname.slice(1) }
}

const spawnWorker = (
  cluster: Cluster,
  name: string,
  port: number,
  env: Record<string, string> = {}
): Worker => {
  const proc = spawn(process.execPath, [child.file("test/fixtures/pg-worker.ts"), cluster.dir, name, String(port)], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, ...env, RELAIS_TEST_PG_URL: cluster.url }
  })
  processes.push(proc)
  return new Worker(name, port, proc)
}

/** Start workers at once (process starts are the slow part) and wait until each is ready. */
const startWorkers = async (
  cluster: Cluster,
  names: ReadonlyArray<string>,
  env: Record<string, Record<string, string>> = {}
): Promise<Array<Worker>> => {
  const ports = await Promise.all(names.map(() => Postgres.freePort()))
  const workers = names.map((name, i) => spawnWorker(cluster, name, ports[i]!, env[name]))
  await until("the workers to be ready", () => workers.every((w) => w.when("ready") !== undefined) || undefined, workers)
  return workers
}

/**
 * Start a worker process that loads and waits (PG_WORKER_START=stdin): `join` lets it join the
 * cluster. A test that needs a worker later starts its process ahead of time, in parallel with
 * the rest: loading the modules is most of a process start.
 */
const startLater = async (cluster: Cluster, name: string, port?: number, env: Record<string, string> = {}) => {
  const worker = spawnWorker(cluster, name, port ?? await Postgres.freePort(), { ...env, PG_WORKER_START: "stdin" })
  return {
    worker,
    join: async (): Promise<Worker> => {
      await until(`${name} to load`, () => worker.when("loaded"), [worker])
      worker.proc.stdin!.end("join\n")
      await until(`${name} to be ready`, () => worker.when("ready"), [worker])
      return worker
    }
  }
}

/** Wait until the shards are spread over all these workers (each holds some, none twice). */
const spread = (workers: ReadonlyArray<Worker>) =>
  until("the shards to spread over the workers", () =>
    workers.every((w) => w.shards() > 0) &&
      workers.reduce((sum, w) => sum + w.shards(), 0) === Engine.postgresShards || undefined, workers)

const killAll = async (workers: ReadonlyArray<Worker>) => {
  for (const w of workers) if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill("SIGKILL")
  await Promise.all(workers.map((w) => w.exited))
}

// -----------------------------------------------------------------------------
// A process that only starts runs (the CLI's place), in this process
// -----------------------------------------------------------------------------

interface Client {
  readonly run: <A, E>(effect: Effect.Effect<A, E, Engine.Engine | RunStore.RunStore | Effects>) => Promise<A>
  readonly close: () => Promise<void>
}

const clientOf = async (cluster: Cluster): Promise<Client> => {
  const scope = Effect.runSync(Scope.make())
  const layer = Engine.layerPostgres({ url: Redacted.make(cluster.url), workflows: [clusterSteps] }).pipe(
    Layer.provide(Redactor.layer),
    Layer.provide(Layer.succeed(Effects, noEffects))
  )
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  return {
    run: (effect) =>
      Effect.runPromise(effect.pipe(Effect.provide(context), Effect.provideService(Effects, noEffects))),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

const startRuns = (client: Client, ids: ReadonlyArray<string>, input: { steps: number; millis: number }) =>
  client.run(Effect.forEach(ids, (runId) => Engine.start(clusterSteps, input, { runId }), { discard: true }))

/**
 * Wait for runs to end. A run that does not end in time (a hang) fails the test with what the
 * store, the effects log and the workers say about it.
 */
const awaitRuns = async (
  client: Client,
  ids: ReadonlyArray<string>,
  diagnose?: { readonly cluster: Cluster; readonly workers: ReadonlyArray<Worker> }
): Promise<Array<Run.RunRecord>> => {
  const ended = await client.run(
    Effect.forEach(ids, (id) => Engine.awaitRun(id), { concurrency: "unbounded" }).pipe(
      Effect.timeoutOption(Duration.millis(WAIT))
    )
  )
  if (Option.isSome(ended)) return ended.value
  const records = await client.run(Effect.forEach(ids, (id) => Effect.flatMap(RunStore.RunStore, (store) => store.get(id))))
  const log = diagnose === undefined ? [] : entries(diagnose.cluster)
  const stuck = await Promise.all(records.filter((r) => !Run.isFinal(r.status)).map(async (r) => {
    const messages = diagnose === undefined ? [] : await server.query(
      `SELECT m.tag, m.processed, m.last_read, m.shard_id, r.payload AS reply FROM cluster_messages m
       LEFT JOIN cluster_replies r ON r.request_id = m.request_id WHERE m.entity_id = $1 ORDER BY m.id`,
      [r.id],
      diagnose.cluster.database
    )
    return `${r.id} ${r.status} owner=${r.owner} executions=${r.executions} steps: ` +
      log.filter((e) => e.runId === r.id).map((e) => `${e.what} ${e.path} on ${e.worker}`).join(", ") +
      `\n  messages: ${JSON.stringify(messages)}`
  }))
  const stderr = (diagnose?.workers ?? []).map((w) => `--- ${w.name} (exit ${w.proc.exitCode ?? w.proc.signalCode}):\n${w.stderr.slice(-3000)}`)
  throw new Error(`${stuck.length} runs did not end:\n${stuck.join("\n")}\n${stderr.join("\n")}`)
}

const runIds = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(3, "0")}`)

// -----------------------------------------------------------------------------
// The effects log
// -----------------------------------------------------------------------------

interface Entry {
  readonly what: "enter" | "effect" | "hang" | "found"
  readonly runId: string
  readonly path: string
  readonly worker: string
  readonly at: number
}

const entries = (cluster: Cluster): Array<Entry> => {
  const file = effectsFile(cluster.dir)
  if (!Fs.existsSync(file)) return []
  return Fs.readFileSync(file, "utf8").split("\n").filter((line) => line !== "").map((line) => {
    const [what, runId, path, worker, at] = line.split(" ")
    return { what: what as Entry["what"], runId: runId!, path: path!, worker: worker!, at: Number(at) }
  })
}

const count = (log: ReadonlyArray<Entry>, what: Entry["what"], runId: string, path: string) =>
  log.filter((e) => e.what === what && e.runId === runId && e.path === path).length

/** The step paths of a run of `steps` steps: `s0` (work), `s1` (create), ... */
const pathsOf = (steps: number) => Array.from({ length: steps }, (_, i) => `s${i}`)
const isCreate = (path: string) => Number(path.slice(1)) % 2 === 1

/** The backends of a worker (its `application_name`) connected to a database now. */
const backends = (cluster: Cluster, name: string) =>
  server.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = $2",
    [name, cluster.database]
  )

describe.sequential("the PostgreSQL cluster with worker processes", () => {
  it("a worker killed with SIGKILL: its runs continue on the others, a reconciled create is not repeated", async () => {
    const cluster = await setup()
    const workers = await startWorkers(cluster, ["k-w1", "k-w2", "k-w3"], { "k-w1": { PG_WORKER_HANG: "create" } })
    const [victim, ...survivors] = workers as [Worker, Worker, Worker]
    const client = await clientOf(cluster)
    try {
      await spread(workers)
      const ids = runIds("kill", 20)
      const input = { steps: 4, millis: 250 }
      await startRuns(client, ids, input)
      // The killed worker holds a create whose effect happened and whose answer was not
      // journaled: the state a crash leaves behind a non-idempotent call.
      await until("a create committed on the worker to kill", () =>
        entries(cluster).find((e) => e.what === "hang" && e.worker === victim.name), workers)
      const killedAt = Date.now()
      victim.proc.kill("SIGKILL")
      expect((await victim.exited).signal).toBe("SIGKILL")

      const records = await awaitRuns(client, ids, { cluster, workers: workers })
      expect(records.map((r) => r.status)).toEqual(ids.map(() => "succeeded"))

      const log = entries(cluster)
      const onVictim = new Set(log.filter((e) => e.worker === victim.name).map((e) => e.runId))
      expect(onVictim.size).toBeGreaterThan(0)
      for (const runId of ids) {
        for (const path of pathsOf(input.steps)) {
          const where = `${runId} ${path}`
          const effects = count(log, "effect", runId, path)
          if (isCreate(path)) {
            expect(effects, where).toBe(1)
          } else if (log.some((e) => e.worker === victim.name && e.runId === runId && e.path === path)) {
            // In flight on the killed worker: it may have happened there and again.
            expect(effects, where).toBeGreaterThanOrEqual(1)
            expect(effects, where).toBeLessThanOrEqual(2)
          } else {
            expect(effects, where).toBe(1)
          }
        }
      }
      // Each create the killed worker committed was found by its reconcile on another worker.
      for (const hang of log.filter((e) => e.what === "hang")) {
        const found = log.filter((e) => e.what === "found" && e.runId === hang.runId && e.path === hang.path)
        expect(found.map((e) => e.worker), `${hang.runId} ${hang.path}`).toHaveLength(1)
        expect(found[0]!.worker).not.toBe(victim.name)
      }
      // The killed worker's runs were executed again elsewhere, from their journal.
      for (const record of records.filter((r) => onVictim.has(r.id))) {
        expect(record.executions, record.id).toBeGreaterThanOrEqual(2)
        expect([survivors[0].address, survivors[1].address]).toContain(record.owner)
      }

      // Takeover: from the kill to the first step of one of its runs on another worker, and to
      // the last of its runs picked up.
      const firsts = [...onVictim].map((runId) =>
        Math.min(...log.filter((e) => e.runId === runId && e.worker !== victim.name && e.at >= killedAt).map((e) => e.at))
      ).filter(Number.isFinite)
      console.log(
        `takeover after SIGKILL: first run continued after ${Math.min(...firsts) - killedAt} ms, ` +
          `all ${onVictim.size} runs of the killed worker after ${Math.max(...firsts) - killedAt} ms ` +
          `(shardLockExpiration ${Engine.clusterDefaults.shardLockExpiration})`
      )
    } finally {
      await client.close()
      await killAll(workers)
    }
  }, LIMIT)

  it("a rolling restart (SIGTERM, then a new process, for each worker) loses no run, repeats no reconciled create, and new runs are consumed after it (#6248)", async () => {
    const cluster = await setup()
    const workers = await startWorkers(cluster, ["r-w1", "r-w2", "r-w3"])
    const everyProcess = [...workers]
    const client = await clientOf(cluster)
    const input = { steps: 4, millis: 250 }
    const ids: Array<string> = []
    let feeding = true
    try {
      const successors = await Promise.all(workers.map((w) => startLater(cluster, w.name, w.port)))
      everyProcess.push(...successors.map((s) => s.worker))
      await spread(workers)
      // Runs keep arriving during the whole restart, so that every worker has some in flight
      // when it is told to stop.
      const feeder = (async () => {
        for (let i = 0; feeding; i++) {
          const [runId] = runIds(`roll-${i}`, 1)
          await startRuns(client, [runId!], input)
          ids.push(runId!)
          await new Promise((resolve) => setTimeout(resolve, 250))
        }
      })()
      const stops: Array<string> = []
      for (let k = 0; k < workers.length; k++) {
        const old = workers[k]!
        const from = old.lines.length
        await until(`a run executing on ${old.name}`, () => old.said("started", from)[0], workers)
        const termAt = Date.now()
        old.proc.kill("SIGTERM")
        const exit = await old.exited
        expect(exit.code, old.stderr).toBe(0)
        // Its steps in flight finished before it let its shards go.
        expect(old.said("drained").map((l) => l[1])).toEqual(["0"])
        // Its successor, on the same address.
        const fresh = await successors[k]!.join()
        workers[k] = fresh
        await until(`${fresh.name} (restarted) to hold shards`, () => fresh.shards() > 0 || undefined, workers)
        stops.push(
          `${old.name} drained in ${old.when("drained")! - termAt} ms, stopped in ${old.when("closed")! - termAt} ms, ` +
            `its successor held shards ${Date.now() - termAt} ms after the SIGTERM`
        )
      }
      feeding = false
      await feeder
      console.log(`rolling restart with ${ids.length} runs: ${stops.join("; ")}`)

      const records = await awaitRuns(client, ids, { cluster, workers: everyProcess })
      expect(records.map((r) => r.status)).toEqual(ids.map(() => "succeeded"))
      const log = entries(cluster)
      // A reconciled create happens once. Another step normally runs once. On a busy machine a
      // step can outlive the time a moving shard (to a worker that joined) gives its runs: it is
      // interrupted there, and the shard's next worker waits until the run is let go (the run's
      // handover, at most SharedOptions.handoverLimit) before executing it again. A step
      // executed twice is said, and never twice at the same time.
      const twice: Array<string> = []
      for (const runId of ids) {
        for (const path of pathsOf(input.steps)) {
          const where = `${runId} ${path}`
          const started = count(log, "enter", runId, path)
          const effects = count(log, "effect", runId, path)
          if (isCreate(path)) expect(effects, `${where} happened`).toBe(1)
          expect(started, `${where} started`).toBeGreaterThanOrEqual(1)
          expect(started, `${where} started`).toBeLessThanOrEqual(2)
          expect(effects, `${where} happened`).toBeLessThanOrEqual(2)
          if (started > 1) {
            twice.push(where)
            if (!isCreate(path)) {
              // A work step's effect is its end: the second execution began after the first ended.
              const at = (what: Entry["what"]) => log.filter((e) => e.what === what && e.runId === runId && e.path === path).map((e) => e.at)
              expect(at("enter")[1]!, `${where}: executed twice at once`).toBeGreaterThanOrEqual(at("effect")[0]!)
            }
          }
        }
      }
      if (twice.length > 0) console.log(`rolling restart: steps started twice (their shard moved while they ran): ${twice.join(", ")}`)
      // Runs did move: some left a stopping worker between two steps and ended elsewhere.
      const left = new Set(everyProcess.flatMap((w) => w.said("left").map((l) => l[1]!)))
      expect(left.size).toBeGreaterThan(0)
      expect(records.filter((r) => left.has(r.id) && r.executions >= 2).length).toBeGreaterThan(0)

      // #6248: after the restarts, new runs are still consumed (by the new processes).
      const after = runIds("after-roll", 6)
      await startRuns(client, after, input)
      const done = await awaitRuns(client, after)
      expect(done.map((r) => r.status)).toEqual(after.map(() => "succeeded"))
      // A worker logs a run's end just after its record turns final: wait for the line.
      for (const record of done) {
        await until(`a worker's "finished ${record.id}"`, () =>
          workers.some((w) => w.said("finished").some((l) => l[1] === record.id)) ? true : undefined)
      }
    } finally {
      feeding = false
      await client.close()
      await killAll(everyProcess)
    }
  }, LIMIT)

  it("a worker whose PostgreSQL connections are cut (pg_terminate_backend) recovers; every run ends, no reconciled create is repeated (#7551)", async () => {
    const cluster = await setup()
    const workers = await startWorkers(cluster, ["l-w1", "l-w2", "l-w3"])
    const target = workers[0]!
    const client = await clientOf(cluster)
    try {
      await spread(workers)
      const ids = runIds("cut", 20)
      const input = { steps: 4, millis: 250 }
      await startRuns(client, ids, input)
      await until("steps executing on the worker to cut", () =>
        entries(cluster).filter((e) => e.worker === target.name && e.what === "enter").length >= 2 || undefined, workers)
      // Every connection of the worker: its pool and the connection that holds its shard locks
      // (advisory locks live as long as their session).
      const cut = await server.query<{ pid: number }>(
        "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = $2",
        [target.name, cluster.database]
      )
      const cutAt = Date.now()
      expect(cut.length).toBeGreaterThan(1)

      const records = await awaitRuns(client, ids, { cluster, workers: workers })
      expect(records.map((r) => r.status)).toEqual(ids.map(() => "succeeded"))
      const log = entries(cluster)
      for (const runId of ids) {
        for (const path of pathsOf(input.steps)) {
          const where = `${runId} ${path}`
          const effects = count(log, "effect", runId, path)
          if (isCreate(path)) {
            expect(effects, where).toBe(1)
          } else if (log.some((e) => e.worker === target.name && e.runId === runId && e.path === path && e.at < cutAt)) {
            expect(effects, where).toBeGreaterThanOrEqual(1)
            expect(effects, where).toBeLessThanOrEqual(2)
          } else {
            expect(effects, where).toBe(1)
          }
        }
      }

      // The worker lives on, with new connections, and executes runs again: start short runs one
      // after the other until one lands on it (each shard is on one worker; it holds a third).
      expect(target.proc.exitCode).toBeNull()
      const reconnected = await untilRow("the cut worker to connect again", async () => {
        const rows = await backends(cluster, target.name)
        return rows.some((row) => !cut.some((c) => c.pid === row.pid)) || undefined
      })
      expect(reconnected).toBe(true)
      let executedThere: Run.RunRecord | undefined
      for (let i = 0; i < 40 && executedThere === undefined; i++) {
        const [runId] = runIds(`after-cut-${i}`, 1)
        await startRuns(client, [runId!], { steps: 2, millis: 10 })
        const [record] = await awaitRuns(client, [runId!])
        expect(record!.status).toBe("succeeded")
        if (record!.owner === target.address) executedThere = record
      }
      expect(executedThere?.owner).toBe(target.address)
      const unhealthy = /Shard lock storage is unhealthy/.test(target.stderr)
      console.log(
        `connections cut: ${cut.length} backends of ${target.name} terminated; ` +
          `its shard locks ${unhealthy ? "were reported unhealthy, then recovered" : "were taken again on a new connection"}; ` +
          `${target.stderr.split("the run store failed, trying again").length - 1} store calls of its runs tried again; ` +
          `it executed a new run ${executedThere!.updatedAt - cutAt} ms after the cut`
      )
    } finally {
      await client.close()
      await killAll(workers)
    }
  }, LIMIT)

  it("a run whose worker died right after claiming it is continued by the next worker, not after the 10-minute claim window (#8312); a suspended run resumed from a process that is not a worker (#6294)", async () => {
    const cluster = await setup()
    const client = await clientOf(cluster)
    const everyProcess: Array<Worker> = []
    try {
      const later = await Promise.all([startLater(cluster, "c-w2"), startLater(cluster, "c-w3")])
      everyProcess.push(...later.map((l) => l.worker))
      // A worker that knows no workflow: the run it receives is left suspended, to be resumed.
      const [blind] = await startWorkers(cluster, ["c-w1"], { "c-w1": { PG_WORKER_WORKFLOWS: "none" } })
      everyProcess.push(blind!)
      await spread([blind!])
      const [suspended, claimed] = runIds("claim", 2) as [string, string]
      await startRuns(client, [suspended], { steps: 2, millis: 10 })
      await untilRow("the run to be left suspended", async () => {
        const rows = await server.query(
          `SELECT r.id FROM cluster_replies r JOIN cluster_messages m ON m.request_id = r.request_id
           WHERE m.entity_id = $1 AND m.tag = 'run' AND m.processed`,
          [suspended],
          cluster.database
        )
        return rows.length > 0 || undefined
      })
      blind!.proc.kill("SIGTERM")
      expect((await blind!.exited).code).toBe(0)

      // A worker killed right after it claimed a run (the run started there, nothing journaled).
      const first = await later[0]!.join()
      await spread([first])
      await startRuns(client, [claimed], { steps: 2, millis: 200 })
      await until("the run to start on the worker to kill", () => first.said("started").find((l) => l[1] === claimed), [first])
      first.proc.kill("SIGKILL")
      await first.exited
      const rows = await server.query<{ last_read: Date | null }>(
        "SELECT last_read FROM cluster_messages WHERE entity_id = $1 AND tag = 'run' AND NOT processed",
        [claimed],
        cluster.database
      )
      expect(rows).toHaveLength(1)
      expect(rows[0]!.last_read).not.toBeNull()

      const next = await later[1]!.join()
      const [record] = await awaitRuns(client, [claimed], { cluster, workers: [next] })
      const picked = Date.now() - next.when("ready")!
      expect(record!.status).toBe("succeeded")
      expect(record!.owner).toBe(next.address)
      // The claim (`last_read`) would hide it for 10 minutes: the next worker clears the claims
      // of the shards it takes.
      expect(picked).toBeLessThan(60_000)

      // The suspended run, resumed by a process that only starts and follows runs.
      const resumedAt = Date.now()
      const resumed = await client.run(
        Engine.resume(suspended).pipe(
          Effect.timeoutFail({ duration: WAIT, onTimeout: () => new Error("resume did not return") })
        )
      )
      const resumeMillis = Date.now() - resumedAt
      expect(resumed.status).toBe("succeeded")
      expect(resumed.owner).toBe(next.address)
      expect(resumeMillis).toBeLessThan(60_000)
      console.log(
        `a claimed run continued ${picked} ms after its next worker was ready; ` +
          `a suspended run resumed and finished ${resumeMillis} ms after resume was called ` +
          `(entityMessagePollInterval ${Engine.clusterDefaults.entityMessagePollInterval})`
      )
    } finally {
      await client.close()
      await killAll(everyProcess)
    }
  }, LIMIT)
})
