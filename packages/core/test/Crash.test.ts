/**
 * Crash tests with real processes: a child runs a durable workflow on SQLite and is killed with
 * SIGKILL at a chosen point; a second process resumes the run. No journaled step or
 * compensation may run twice, and the run must reach the right final state.
 */
import { describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const child = Path.join(__dirname, "fixtures", "crash-child.ts")

const run = (args: ReadonlyArray<string>): ChildProcess =>
  spawn(process.execPath, ["--conditions=@relais/source", "--import", "tsx", child, ...args], {
    cwd: Path.join(__dirname, ".."),
    stdio: ["ignore", "pipe", "pipe"]
  })

const exited = (proc: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    let stdout = ""
    let stderr = ""
    proc.stdout?.on("data", (chunk) => (stdout += chunk))
    proc.stderr?.on("data", (chunk) => (stderr += chunk))
    proc.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr }))
  })

const waitForLine = async (file: string, line: string, timeoutMillis = 20_000) => {
  const deadline = Date.now() + timeoutMillis
  while (Date.now() < deadline) {
    if (Fs.existsSync(file) && Fs.readFileSync(file, "utf8").includes(line)) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`timed out waiting for "${line}" in ${file}:\n${Fs.existsSync(file) ? Fs.readFileSync(file, "utf8") : ""}`)
}

const count = (lines: ReadonlyArray<string>, line: string) => lines.filter((l) => l === line).length

const scenario = async (name: string, killAt: string) => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), `relais-crash-${name}-`))
  const db = Path.join(dir, "relais.db")
  const log = Path.join(dir, "effects.log")
  const runId = `run_crash_${name}`
  const first = run(["start", db, log, name, runId])
  const firstExit = exited(first)
  await waitForLine(log, killAt)
  first.kill("SIGKILL")
  const killed = await firstExit
  expect(killed.signal).toBe("SIGKILL")
  const second = await exited(run(["resume", db, log, name, runId]))
  expect(second.stderr).toBe("")
  expect(second.code).toBe(0)
  const record = JSON.parse(second.stdout.trim().split("\n").pop()!)
  const lines = Fs.readFileSync(log, "utf8").trim().split("\n").map((l) => l.replace(/ pid=\d+$/, ""))
  return { record, lines }
}

describe("crash and resume", { timeout: 60_000 }, () => {
  it("killed between steps: the journaled step does not run again", async () => {
    const { lines, record } = await scenario("between", "enter b")
    expect(record.status).toBe("succeeded")
    expect(record.output).toEqual({ ids: ["a-7", "b-7", "c-7"] })
    expect(record.executions).toBe(2)
    expect(count(lines, "enter a")).toBe(1)
    expect(count(lines, "done a")).toBe(1)
    expect(count(lines, "done b")).toBe(1)
    expect(count(lines, "done c")).toBe(1)
  })

  it("killed during a retry wait: the run resumes the step and succeeds", async () => {
    const { lines, record } = await scenario("retry-wait", "failed b")
    expect(record.status).toBe("succeeded")
    expect(count(lines, "enter a")).toBe(1)
    expect(count(lines, "failed b")).toBe(1)
    expect(count(lines, "done b")).toBe(1)
    expect(count(lines, "done c")).toBe(1)
  })

  it("killed during compensation: finished compensations do not run again", async () => {
    const { lines, record } = await scenario("compensation", "enter undo a")
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
