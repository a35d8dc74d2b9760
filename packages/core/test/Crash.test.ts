/**
 * Crash tests with real processes: a child runs durable workflows on SQLite and is killed with
 * SIGKILL at chosen points; a second process resumes the runs. No journaled step or
 * compensation may run twice, and each run must reach the right final state.
 *
 * Robust on a loaded machine: the parent waits on events (a line in a log file, an exit), never
 * on a tight timer; the three scenarios share one killed process and one resuming process
 * (process starts are the costly part), which run plain JavaScript (see support/transpile.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { killPoints, logFile, resumedMarker, type Scenario, scenarios } from "./fixtures/crashScenarios.js"
import { transpile, type Transpiled } from "./support/transpile.js"

/** The overall limit for the crash and the resume together; normally a few seconds. */
const LIMIT_MILLIS = 120_000

interface Exited {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

const exited = (proc: ChildProcess) =>
  new Promise<Exited>((resolve, reject) => {
    let stdout = ""
    let stderr = ""
    proc.stdout?.on("data", (chunk) => (stdout += chunk))
    proc.stderr?.on("data", (chunk) => (stderr += chunk))
    proc.on("error", reject)
    proc.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }))
  })

const read = (file: string) => (Fs.existsSync(file) ? Fs.readFileSync(file, "utf8") : "")

/**
 * Resolves when every file holds its line. Watching the directory wakes us on each write; the
 * slow poll only covers events a file system may not deliver. Rejects if the child exits first.
 */
const waitForLines = (dir: string, expected: ReadonlyArray<readonly [file: string, line: string]>, child: Promise<Exited>) =>
  new Promise<void>((resolve, reject) => {
    const check = () => {
      if (expected.every(([file, line]) => read(file).includes(line))) {
        done()
        resolve()
      }
    }
    const watcher = Fs.watch(dir, check)
    const poll = setInterval(check, 250)
    const done = () => {
      watcher.close()
      clearInterval(poll)
    }
    child.then((result) => {
      done()
      reject(new Error(`the child exited (${result.code ?? result.signal}) before its kill points:\n${result.stderr}`))
    }, reject)
    check()
  })

const count = (lines: ReadonlyArray<string>, line: string) => lines.filter((l) => l === line).length

interface Outcome {
  /** Every line of the scenario's log, without the process id. */
  readonly lines: ReadonlyArray<string>
  /** The lines the killed process wrote. */
  readonly beforeKill: ReadonlyArray<string>
  readonly record: any
}

let child: Transpiled
let outcomes: Record<Scenario, Outcome>
/** Every process started, so that none outlives a failed or timed-out test. */
const processes: Array<ChildProcess> = []

beforeAll(async () => {
  child = transpile(Path.join(__dirname, ".."), ["src", "test/fixtures"])
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-crash-"))
  const spawnChild = (mode: "start" | "resume") => {
    const proc = spawn(process.execPath, [child.file("test/fixtures/crash-child.ts"), mode, dir], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    processes.push(proc)
    return proc
  }

  const first = spawnChild("start")
  const firstExit = exited(first)
  await waitForLines(dir, scenarios.map((s) => [logFile(dir, s), killPoints[s]] as const), firstExit)
  first.kill("SIGKILL")
  const killed = await firstExit
  expect(killed.signal).toBe("SIGKILL")

  const second = await exited(spawnChild("resume"))
  expect(second.stderr).toBe("")
  expect(second.code).toBe(0)
  const records = new Map(
    second.stdout.trim().split("\n").map((line) => JSON.parse(line) as { scenario: Scenario; record: unknown })
      .map(({ record, scenario }) => [scenario, record])
  )
  const outcome = (scenario: Scenario): Outcome => {
    const lines = read(logFile(dir, scenario)).trim().split("\n").map((l) => l.replace(/ pid=\d+$/, ""))
    return { lines, beforeKill: lines.slice(0, lines.indexOf(resumedMarker)), record: records.get(scenario) }
  }
  outcomes = { between: outcome("between"), "retry-wait": outcome("retry-wait"), compensation: outcome("compensation") }
}, LIMIT_MILLIS)

afterAll(() => {
  for (const proc of processes) if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL")
  child?.remove()
})

describe.sequential("crash and resume", () => {
  it("killed between steps: the journaled step does not run again", () => {
    const { beforeKill, lines, record } = outcomes.between
    expect(beforeKill).toContain("done a")
    expect(beforeKill).not.toContain("done b")
    expect(record.status).toBe("succeeded")
    expect(record.output).toEqual({ ids: ["a-7", "b-7", "c-7"] })
    expect(record.executions).toBe(2)
    expect(count(lines, "enter a")).toBe(1)
    expect(count(lines, "done a")).toBe(1)
    expect(count(lines, "done b")).toBe(1)
    expect(count(lines, "done c")).toBe(1)
  })

  it("killed during a retry wait: the run resumes the step and succeeds", () => {
    const { beforeKill, lines, record } = outcomes["retry-wait"]
    expect(beforeKill).not.toContain("done b")
    expect(record.status).toBe("succeeded")
    expect(record.output).toEqual({ ids: ["a-7", "b-7", "c-7"] })
    expect(count(lines, "enter a")).toBe(1)
    expect(count(lines, "failed b")).toBe(1)
    expect(count(lines, "done b")).toBe(1)
    expect(count(lines, "done c")).toBe(1)
  })

  it("killed during compensation: finished compensations do not run again", () => {
    const { beforeKill, lines, record } = outcomes.compensation
    expect(beforeKill).toContain("undone b-7")
    expect(beforeKill).not.toContain("undone a-7")
    expect(record.status).toBe("compensated")
    expect(record.failure.step).toBe("crash/c")
    expect(record.compensated.map((c: { path: string }) => c.path)).toEqual(["crash/b", "crash/a"])
    expect(count(lines, "enter a")).toBe(1)
    expect(count(lines, "enter b")).toBe(1)
    expect(count(lines, "failed c")).toBe(1)
    expect(count(lines, "undone b-7")).toBe(1)
    expect(count(lines, "enter undo b")).toBe(1)
    expect(count(lines, "undone a-7")).toBe(1)
  })
})
