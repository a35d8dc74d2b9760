/**
 * The store lock with real processes: a child holds a SQLite store (an engine with a run in
 * flight); other processes, in this PID namespace or in others, are refused at once; readers keep
 * working; and once the holder is killed (SIGKILL, no clean-up), the store is free at once and its
 * run shows as interrupted. Nothing here trusts host names or pids: the children in separate PID
 * namespaces (`unshare --pid`, as containers sharing a volume) all have pid 1 on the same host.
 *
 * Robust on a loaded machine: the test waits on events (a JSON line, an exit), with generous
 * overall limits; the children run transpiled JavaScript (see support/transpile.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Engine, Errors, Redactor, RunStore } from "../src/index.js"
import { transpile, type Transpiled } from "./support/transpile.js"

const LIMIT_MILLIS = 120_000

let child: Transpiled
const processes: Array<ChildProcess> = []

beforeAll(() => {
  child = transpile(Path.join(__dirname, ".."), ["src", "test/fixtures"])
})

afterAll(() => {
  for (const proc of processes) if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL")
  child?.remove()
})

const tmpDb = () => Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-lock-")), "relais.db")

/** Start the holder fixture, optionally inside new PID and mount namespaces. */
const start = (mode: "hold" | "try", db: string, options: { readonly namespace?: boolean } = {}) => {
  const node = [process.execPath, child.file("test/fixtures/store-holder.ts"), mode, db]
  const proc = options.namespace === true
    ? spawn("unshare", ["--pid", "--fork", "--mount-proc", "--kill-child=SIGKILL", ...node], { stdio: ["ignore", "pipe", "pipe"] })
    : spawn(node[0]!, node.slice(1), { stdio: ["ignore", "pipe", "pipe"] })
  processes.push(proc)
  let stdout = ""
  let stderr = ""
  proc.stdout!.on("data", (chunk) => (stdout += chunk))
  proc.stderr!.on("data", (chunk) => (stderr += chunk))
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on("close", (code, signal) => resolve({ code, signal }))
  )
  /** The first JSON line on stdout (logs may come before); rejects if the process exits first. */
  const line = new Promise<Record<string, unknown>>((resolve, reject) => {
    const check = () => {
      const found = stdout.split("\n").slice(0, -1).find((l) => l.startsWith("{"))
      if (found !== undefined) resolve(JSON.parse(found))
    }
    proc.stdout!.on("data", check)
    void exit.then(({ code, signal }) => {
      check()
      reject(new Error(`store-holder ${mode} exited (${code ?? signal}) without a line:\n${stdout}\n${stderr}`))
    })
  })
  return { proc, line, exit, stderr: () => stderr }
}

/** The processes a process started (to kill the holder itself inside its namespace). */
const childrenOf = (pid: number): Array<number> =>
  Fs.readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
    Fs.readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim().split(/\s+/).filter((s) => s !== "").map(Number)
  )

const engineOn = (db: string) => Engine.layerSqlite({ filename: db }).pipe(Layer.provide(Redactor.layer))

const reader = (db: string) =>
  RunStore.layerSqlReadonly.pipe(
    Layer.provide(Engine.layerSqliteClient({ filename: db, readonly: true })),
    Layer.provide(Redactor.layer)
  )

const statusOf = (db: string, runId: string) =>
  Effect.runPromise(Effect.flatMap(RunStore.RunStore, (s) => s.get(runId)).pipe(Effect.provide(reader(db)))).then((r) =>
    r.status
  )

/** Try to start an engine in this process: the error, or undefined when it started. */
const tryEngine = (db: string) =>
  Effect.runPromise(
    Effect.scoped(Layer.build(engineOn(db))).pipe(
      Effect.as(undefined),
      Effect.catchTag("StoreError", (error) => Effect.succeed(error))
    )
  )

describe.sequential("store lock", () => {
  it("a second engine is refused at once while a process holds the store; readers work; a killed holder frees it at once", async () => {
    const db = tmpDb()
    const holder = start("hold", db)
    const { holding, pid } = await holder.line as { holding: string; pid: number }
    expect(pid).toBe(holder.proc.pid)

    const refused = await tryEngine(db)
    expect(refused).toBeInstanceOf(Errors.StoreError)
    expect(refused).toMatchObject({ reason: "locked", path: db })
    expect(refused!.message).toContain(`store ${db} is in use by another relais process (process ${pid} on ${Os.hostname()})`)

    // Another process too, with the same message.
    const other = await start("try", db).line
    expect(other).toMatchObject({ refused: "locked" })

    // Readers are not locked out, and see the run going on.
    expect(await statusOf(db, holding)).toBe("running")

    holder.proc.kill("SIGKILL")
    expect((await holder.exit).signal).toBe("SIGKILL")
    // No lease to wait for: the store is free, and the run is interrupted, at once.
    expect(await statusOf(db, holding)).toBe("interrupted")
    expect(await tryEngine(db)).toBeUndefined()
  }, LIMIT_MILLIS)

  const unshareWorks = (() => {
    try {
      execFileSync("unshare", ["--pid", "--fork", "--mount-proc", "true"], { stdio: "ignore" })
      return true
    } catch {
      return false
    }
  })()
  if (!unshareWorks) {
    console.log("skipped: the PID namespace test needs `unshare --pid --fork --mount-proc` (root, util-linux); it failed here")
  }

  it.runIf(unshareWorks)(
    "across PID namespaces (same host name, both pid 1): the second is refused, and the store is free once the holder is killed",
    async () => {
      const db = tmpDb()
      const holder = start("hold", db, { namespace: true })
      const { holding, pid } = await holder.line as { holding: string; pid: number }
      // Inside its namespace the holder is pid 1, like the contender below.
      expect(pid).toBe(1)

      const contender = await start("try", db, { namespace: true }).line
      expect(contender).toMatchObject({ refused: "locked" })
      expect(String(contender.message)).toContain(`in use by another relais process (process 1 on ${Os.hostname()})`)

      // From this namespace, where pid 1 is someone else.
      expect(await tryEngine(db)).toMatchObject({ reason: "locked" })
      expect(await statusOf(db, holding)).toBe("running")

      // Kill the holder itself (not only unshare), as the OOM killer or `docker kill` would.
      const [node] = childrenOf(holder.proc.pid!)
      expect(node).toBeDefined()
      process.kill(node!, "SIGKILL")
      await holder.exit
      expect(await statusOf(db, holding)).toBe("interrupted")
      expect(await start("try", db, { namespace: true }).line).toEqual({ acquired: true })
      expect(await tryEngine(db)).toBeUndefined()
    },
    LIMIT_MILLIS
  )
})
