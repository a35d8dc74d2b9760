/**
 * `relais restart` against child processes on SQLite: a failed run started again from its failed
 * step reuses what the steps before it did (replayed from the journal, not executed again), with
 * its definition or a corrected file; unsafe restarts are refused with the reason.
 */
import { describe, expect, it } from "vitest"
import * as Fs from "node:fs"
import { child, tmpDir, writeFile } from "./harness/Cli.js"

const flaky = `version: 1
name: publish-once
steps:
  - id: create
    uses: core/set
    with: { created: 42 }
  - id: publish
    uses: core/fail
    with: { message: "the server refused it" }
outputs:
  created: \${{ steps.create.output.created }}
`

/** The same workflow, its failing step corrected. */
const fixed = flaky.replace("    uses: core/fail\n    with: { message: \"the server refused it\" }", "    uses: core/set\n    with: { published: true }")

/** A corrected file that also changed the step to reuse: refused. */
const changed = fixed
  .replace("  - id: create\n    uses: core/set", "  - id: create\n    uses: core/sleep")
  .replace("with: { created: 42 }", "with: { for: 1ms }")
  .replace(/outputs:[\s\S]*$/, "")

const stackTrace = /\n\s+at .+[(:]\d+/

describe("relais restart", () => {
  it("starts a failed run again from its failed step with a corrected file; the steps before it are reused", async () => {
    const dir = tmpDir("relais-restart-")
    writeFile(dir, "flow.yaml", flaky)
    writeFile(dir, "fixed.yaml", fixed)
    writeFile(dir, "changed.yaml", changed)
    const failed = await child(["run", "flow.yaml", "--store", "s.db", "--run-id", "r-1"], { cwd: dir })
    expect(failed.code).toBe(1)

    // Its own definition: the failing step fails again, the first is not executed again.
    const again = await child(["restart", "r-1", "--from", "publish", "--store", "s.db"], { cwd: dir })
    expect(again.stderr).toMatch(/step create replayed from the journal/)
    expect(again.stderr).not.toMatch(/step create started/)
    expect(again.code).toBe(1)

    // A corrected file that changed the step to reuse: refused, saying which and why.
    const unsafe = await child(["restart", "r-1", "--from", "publish", "--definition", "changed.yaml", "--store", "s.db"], { cwd: dir })
    expect(unsafe.code).toBe(2)
    expect(unsafe.stderr).toMatch(/cannot reuse what run r-1 did before publish: create is now core\/sleep, not core\/set/)

    // r-1 was restarted once (r-1.restart, which failed again): a second restart of r-1 would
    // do again what r-1.restart did; refused, pointing at it.
    const twice = await child(["restart", "r-1", "--from", "publish", "--definition", "fixed.yaml", "--store", "s.db"], { cwd: dir })
    expect(twice.code).toBe(2)
    expect(twice.stderr).toMatch(/run r-1 cannot be restarted from publish: it was restarted already, as r-1\.restart \(from publish\): restart that run instead/)

    // The corrected file, on the restart: the run succeeds, reusing create's recorded output.
    const restarted = await child(["restart", "r-1.restart", "--from", "publish", "--definition", "fixed.yaml", "--store", "s.db", "--json"], { cwd: dir })
    expect(restarted.code).toBe(0)
    expect(restarted.stdout).toMatch(/"StepReplayed"[^\n]*"path":"create"|"path":"create"[^\n]*"StepReplayed"/)
    expect(restarted.stdout).not.toMatch(/"StepStarted"[^\n]*"path":"create"|"path":"create"[^\n]*"StepStarted"/)
    const result = JSON.parse(restarted.stdout.trim().split("\n").at(-1)!)
    expect(JSON.stringify(result)).toMatch(/"created":42/)

    // Unsafe or impossible: refused with the reason, nothing started.
    const never = await child(["restart", "r-1", "--from", "notify", "--store", "s.db"], { cwd: dir })
    expect(never.code).toBe(2)
    expect(never.stderr).toMatch(/run r-1 cannot be restarted from notify: the run never reached it; it reached create, publish/)
    const unknown = await child(["restart", "nope", "--from", "publish", "--store", "s.db"], { cwd: dir })
    expect(unknown.code).toBe(2)
    for (const out of [failed, again, unsafe, twice, restarted, never, unknown]) expect(out.stderr).not.toMatch(stackTrace)
    const listed = await child(["runs", "list", "--store", "s.db", "--json"], { cwd: dir })
    // The original, its restart with its own definition, the restart's restart with the corrected one: three runs.
    expect(listed.stdout.match(/"id":/g)?.length).toBe(3)
    Fs.rmSync(dir, { recursive: true, force: true })
  }, 240_000)
})
