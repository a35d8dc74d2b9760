/**
 * `relais cancel` against child processes on SQLite: a run executing in another process (its
 * `relais run`) stops before its next step when asked from here, and at once when it waits (a
 * sleep of an hour); an interrupted run (no process executes it) is continued here to that end;
 * an ended run is refused.
 */
import { describe, expect, it } from "vitest"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { child, collect, spawnChild, tmpDir, waitForStderr, writeFile } from "./harness/Cli.js"
import { vigil } from "./harness/Workflows.js"

/** Thirty one-second naps: a cancel from another process lands between two of them. */
const naps = `version: 1
name: naps
steps:
  - id: before
    uses: core/set
    with: { ready: true }
${Array.from({ length: 30 }, (_, i) => `  - id: nap${i + 1}\n    uses: core/sleep\n    with: { for: 1s }`).join("\n")}
`

const stackTrace = /\n\s+at .+[(:]\d+/

describe("relais cancel", () => {
  it("stops a run executing in another process before its next step; that process reports it cancelled", async () => {
    const dir = tmpDir("relais-cancel-")
    writeFile(dir, "naps.yaml", naps)
    const run = spawnChild(["run", "naps.yaml", "--store", "s.db", "--run-id", "c-1"], { cwd: dir })
    const ran = collect(run, 180_000)
    await waitForStderr(run, /step nap1 started/)
    const cancelled = await child(["cancel", "c-1", "--store", "s.db"], { cwd: dir })
    expect(cancelled.stderr).toMatch(/asked process \d+ on .+ to cancel run c-1; waiting for it to stop/)
    expect(cancelled.stdout + cancelled.stderr).toMatch(/cancelled in .* \(run c-1\)/)
    expect(cancelled.code).toBe(0)
    const result = await ran
    // The nap under way is stopped (or, if the request came between two, the next is skipped).
    expect(result.stderr).toMatch(/step nap\d+ (skipped: the run was cancelled|stopped \(cancelled, 1 attempt, [^)]+\): the run was cancelled during this step)/)
    expect(result.stderr).toMatch(/run c-1 finished: cancelled/)
    // Not every nap ran: the run stopped where it was asked to.
    expect(result.stderr).not.toMatch(/step nap30 succeeded/)
    expect(result.code).toBe(1)
    const shown = await child(["runs", "show", "c-1", "--store", "s.db", "--json"], { cwd: dir })
    expect(shown.stdout).toMatch(/"status":"cancelled"/)
    for (const out of [cancelled, result, shown]) expect(out.stderr).not.toMatch(stackTrace)
    Fs.rmSync(dir, { recursive: true, force: true })
  }, 240_000)

  it("stops a run that waits (a sleep of an hour) at once, wherever it executes: the sleep is stopped, nothing after it starts", async () => {
    const dir = tmpDir("relais-cancel-")
    writeFile(dir, "wait.yaml", vigil("wait"))
    const run = spawnChild(["run", "wait.yaml", "--store", "s.db", "--run-id", "c-3"], { cwd: dir })
    const ran = collect(run, 180_000)
    await waitForStderr(run, /step wait started/)
    // Without the stop, this would wait for the hour (and the test's limit would end it).
    const cancelled = await child(["cancel", "c-3", "--store", "s.db"], { cwd: dir })
    expect(cancelled.code).toBe(0)
    expect(cancelled.stdout + cancelled.stderr).toMatch(/cancelled in .* \(run c-3\)/)
    const result = await ran
    expect(result.stderr).toMatch(/step wait stopped \(cancelled, 1 attempt, [^)]+\): the run was cancelled during this step, which has nothing to undo: it was stopped at once/)
    expect(result.stderr).not.toMatch(/step after started/)
    expect(result.stdout + result.stderr).toMatch(/stopped during: wait/)
    expect(result.stderr).toMatch(/run c-3 finished: cancelled/)
    const shown = await child(["runs", "show", "c-3", "--store", "s.db", "--json"], { cwd: dir })
    expect(JSON.parse(shown.stdout).run).toMatchObject({ status: "cancelled", failure: { path: "wait", reason: "cancelled" } })
    for (const out of [cancelled, result, shown]) expect(out.stderr).not.toMatch(stackTrace)
    Fs.rmSync(dir, { recursive: true, force: true })
  }, 240_000)

  it("continues an interrupted run here to cancel it; refuses a run that has ended", async () => {
    const dir = tmpDir("relais-cancel-")
    writeFile(dir, "naps.yaml", naps)
    const run = spawnChild(["run", "naps.yaml", "--store", "s.db", "--run-id", "c-2"], { cwd: dir })
    const ran = collect(run, 180_000)
    await waitForStderr(run, /step nap1 started/)
    run.kill("SIGINT")
    expect((await ran).code).toBe(130)
    const cancelled = await child(["cancel", "c-2", "--store", "s.db"], { cwd: dir })
    expect(cancelled.stderr).toMatch(/run c-2 is interrupted: continuing it here to cancel it/)
    expect(cancelled.stderr).toMatch(/step before replayed from the journal/)
    // The nap in flight when it was interrupted did not finish: it is not started again.
    expect(cancelled.stderr).toMatch(/step nap\d+ skipped: the run was cancelled/)
    expect(cancelled.stderr).not.toMatch(/step nap\d+ started/)
    expect(cancelled.code).toBe(0)
    const again = await child(["cancel", "c-2", "--store", "s.db"], { cwd: dir })
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/run c-2 has ended \(cancelled\): there is nothing to cancel/)
    const unknown = await child(["cancel", "nope", "--store", "s.db"], { cwd: dir })
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/no run with id "nope"/)
    for (const out of [cancelled, again, unknown]) expect(out.stderr).not.toMatch(stackTrace)
    expect(Fs.existsSync(Path.join(dir, "s.db"))).toBe(true)
    Fs.rmSync(dir, { recursive: true, force: true })
  }, 240_000)
})
