/**
 * The crash-and-resume demo a newcomer tries, through the real binary: `relais run --sandbox`
 * stopped after a step committed (SIGKILL, or Ctrl-C), then resumed as relais says. The
 * in-process sandboxes keep their data with the run, so the resumed run goes on with what the
 * first execution created (nothing duplicated, nothing "undone" that does not exist); a run whose
 * sandbox data is gone is refused with what to do instead (exit 4).
 *
 * The processes are heavy: the tests of this file run one after the other.
 */
import { AimairaSandbox } from "@relais/aimaira/sandbox"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { child, collect, packageDir, spawnChild, stackTrace, tmpDir, waitForStderr } from "./harness/Cli.js"

const example = Path.resolve(packageDir, "../../examples/convention-apprentissage.yaml")

interface AimairaState {
  readonly collections: Record<string, ReadonlyArray<{ readonly Id: number; readonly Code?: unknown }>>
}

const readState = (file: string): AimairaState =>
  (JSON.parse(Fs.readFileSync(file, "utf8")) as { state: AimairaState }).state

const count = (state: AimairaState, collection: string) => state.collections[collection]?.length ?? 0

/**
 * Start the apprenticeship example on the sandboxes, with the professionals' creation held for
 * a minute, and return once the company step has committed (the process is then mid-run).
 */
const startHeld = (db: string, runId: string) => {
  const process = spawnChild([
    "run",
    example,
    "--sandbox",
    "--store",
    db,
    "--run-id",
    runId,
    "--fault",
    "aimaira:POST /GraphV1/Professionnel latency:60s"
  ])
  const done = collect(process, 180_000)
  return { process, done, committed: waitForStderr(process, /step entreprise succeeded/) }
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, unknown>

describe("resuming a --sandbox run", { timeout: 300_000 }, () => {
  it("killed with SIGKILL after steps committed: resumed as relais says, it finishes with what was created, no duplicate", async () => {
    const dir = tmpDir("relais-sandbox-resume-")
    const db = Path.join(dir, "relais.db")
    const runId = "run_sandbox_kill"
    const first = startHeld(db, runId)
    await first.committed
    first.process.kill("SIGKILL")
    const killed = await first.done
    expect(killed.signal).toBe("SIGKILL")

    // What the sandboxes held when the process died: the convention and the company are there.
    const stateDir = Path.join(dir, "sandboxes", runId)
    expect(Fs.existsSync(Path.join(stateDir, "campus-skills.json"))).toBe(true)
    const atKill = readState(Path.join(stateDir, "aimaira.json"))
    // The seeded data `run --sandbox` starts from (the default seed).
    const seeded = await Effect.runPromise(Effect.scoped(Effect.flatMap(AimairaSandbox.make(), (s) => s.state)))
    expect(count(atKill, "Convention")).toBe(count(seeded, "Convention") + 1)
    expect(count(atKill, "Entreprise")).toBe(count(seeded, "Entreprise") + 1)
    const createdConvention = Math.max(...atKill.collections.Convention!.map((c) => c.Id))

    // Without the kept data, resuming is refused, with the right thing to do.
    Fs.renameSync(stateDir, `${stateDir}.away`)
    const refused = await child(["resume", runId, "--store", db, "--sandbox"])
    expect(refused.code).toBe(4)
    expect(refused.stderr).toContain(`run ${runId} used in-process sandboxes whose data ended with the process`)
    expect(refused.stderr).toContain(`Start it again instead: relais run ${example} --sandbox --store ${db}`)
    expect(refused.stderr).not.toMatch(stackTrace)
    Fs.renameSync(`${stateDir}.away`, stateDir)

    const resumed = await child(["resume", runId, "--store", db, "--sandbox", "--json"])
    expect(resumed.stderr).not.toMatch(stackTrace)
    expect(resumed.stderr).toContain(`their data restored from ${stateDir}`)
    expect(resumed.code).toBe(0)
    const final = lastJson(resumed.stdout)
    expect(final).toMatchObject({ type: "result", status: "succeeded", exitCode: 0 })
    // The convention the first execution created is the one the run completed and published.
    expect((final.output as { conventionId: number }).conventionId).toBe(createdConvention)
    const events = resumed.stdout.trim().split("\n").map((l) =>
      JSON.parse(l) as { type: string; _tag?: string; path?: string; found?: boolean }
    )
    const replayed = events.filter((e) => e._tag === "StepReplayed").map((e) => e.path)
    expect(replayed).toEqual(expect.arrayContaining(["learner", "convention"]))
    expect(events.filter((e) => e._tag === "StepStarted" && e.path === "convention")).toEqual([])
    // The company committed in the sandbox; whether its step was journaled before the kill or
    // not, the resumed run uses that company (replayed, or found again by its marker).
    expect(
      replayed.includes("entreprise") ||
        events.some((e) => e._tag === "StepReconciled" && e.path === "entreprise" && e.found === true)
    ).toBe(true)
    expect(events.filter((e) => e._tag === "CompensationStarted")).toEqual([])
    // Each professional was created once, whatever was in flight when the process died.
    const maitre = events.filter((e) => e._tag === "StepSucceeded" && e.path === "maitre")
    expect(maitre).toHaveLength(1)
    // The run has ended: its sandbox data is no longer needed.
    expect(Fs.existsSync(stateDir)).toBe(false)
  })

  it("stopped with Ctrl-C: the resume command it prints works", async () => {
    const dir = tmpDir("relais-sandbox-resume-")
    const db = Path.join(dir, "relais.db")
    const first = startHeld(db, "run_sandbox_sigint")
    await first.committed
    first.process.kill("SIGINT")
    const stopped = await first.done
    expect(stopped.code).toBe(130)
    const printed = /resume it with: (relais resume .+)/.exec(stopped.stderr)?.[1]
    expect(printed).toBe(`relais resume run_sandbox_sigint --store ${db} --sandbox`)
    const resumed = await child(printed!.split(" ").slice(1))
    expect(resumed.stderr).not.toMatch(stackTrace)
    expect(resumed.code).toBe(0)
    expect(resumed.stdout).toMatch(/✓ succeeded/)
    expect(resumed.stderr).toContain("step convention replayed from the journal")
  })
})
