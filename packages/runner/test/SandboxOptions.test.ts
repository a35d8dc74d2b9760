/**
 * The sandboxes' settings and their data on a bad disk, through the real binary:
 *
 * - `--sandbox-set campus-skills:integration=...` (when Campus Skills integrates contracts) and
 *   `--sandbox-set aimaira:deletes=...` (whether AIMAIRA serves DELETE), settings the providers'
 *   sandboxes declare through the plugin contract: usage errors, their effect on the apprenticeship example
 *   (never integrated + deletes refused: the last step fails and the compensation lists what to
 *   delete by hand, exit 3; a delay: integrated after it), `relais sandbox`, and a resumed run
 *   that keeps the settings it started with;
 * - the sandboxes' data kept beside the store on a read-only or full disk: exit 4 with what to
 *   do at start, and a run stopped at once (interrupted, resumable) when a write fails mid-run.
 *
 * The processes are heavy: the tests of this file run one after the other.
 */
import { AimairaSandbox } from "@relais/aimaira/sandbox"
import { CampusSkillsSandbox } from "@relais/campus-skills/sandbox"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it, onTestFinished } from "vitest"
import { child, collect, packageDir, spawnChild, stackTrace, tmpDir, waitForStderr, waitForStdout, writeFile } from "./harness/Cli.js"

const LIMIT = 240_000
const example = Path.resolve(packageDir, "../../examples/convention-apprentissage.yaml")

const expectClean = (result: { readonly stdout: string; readonly stderr: string }) => {
  expect(result.stderr).not.toMatch(stackTrace)
  expect(result.stdout).not.toMatch(stackTrace)
  expect(result.stderr).not.toContain("internal error")
}

/**
 * A configuration whose Campus Skills plugin polls `wait-integrated` every half second for 3 s
 * (instead of every 5 s for 5 minutes): a contract that is never integrated fails the run soon.
 */
const quickWait = () =>
  writeFile(
    tmpDir(),
    "relais.config.yaml",
    "plugins:\n  - { use: campus-skills, options: { waitIntegrated: { pollInterval: 500 millis, deadline: 3 seconds } } }\n"
  )

/** The sandboxes' line of a run on the apprenticeship example: each sandbox, then its summary. */
const sandboxesLine = (aimaira: string | undefined, campusSkills: string | undefined) =>
  new RegExp(
    `sandboxes: AIMAIRA http://127\\.0\\.0\\.1:\\d+(/GraphV1)?${aimaira !== undefined ? `; ${aimaira}` : ""}; Campus Skills http://127\\.0\\.0\\.1:\\d+${
      campusSkills !== undefined ? `; ${campusSkills}` : ""
    }(;|\n)`
  )

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, unknown>

/** `runs show --json` of a run. */
const show = async (runId: string, store: string) => {
  const result = await child(["runs", "show", runId, "--store", store, "--json"])
  expect(result.code).toBe(0)
  const shown = JSON.parse(result.stdout) as { run: { status: string }; events: ReadonlyArray<{ _tag: string; path?: string }> }
  return { status: shown.run.status, events: shown.events }
}

describe.sequential("--sandbox-set for the providers' sandboxes", () => {
  it("usage errors: without --sandbox, or a setting or value that means nothing (exit 2, before anything runs)", async () => {
    const store = Path.join(tmpDir(), "relais.db")
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
      [
        ["run", example, "--sandbox-set", "campus-skills:integration=never", "--store", store],
        "error: --sandbox-set sets how a sandbox behaves: add --sandbox"
      ],
      [["resume", "run_x", "--sandbox-set", "aimaira:deletes=refused", "--store", store], "error: --sandbox-set sets how a sandbox behaves: add --sandbox"],
      [
        ["run", example, "--sandbox", "--sandbox-set", "campus-skills:integration=soon", "--store", store],
        `error: --sandbox-set campus-skills:integration=soon: integration "soon" is not one of immediate, never, or a delay such as 30s, 500ms, 2m`
      ],
      [
        ["sandbox", "--sandbox-set", "campus-skills:integration=-3s"],
        `error: --sandbox-set campus-skills:integration=-3s: integration "-3s" is not one of immediate, never, or a delay`
      ],
      [["run", example, "--sandbox", "--sandbox-set", "aimaira:deletes=maybe", "--store", store], `error: --sandbox-set aimaira:deletes=maybe: `],
      [
        ["run", example, "--sandbox", "--sandbox-set", "aimaira:delete=refused", "--store", store],
        `error: --sandbox-set aimaira:delete=refused: the AIMAIRA sandbox has no setting "delete" (did you mean "deletes"?); its settings: deletes (`
      ],
      [
        ["run", example, "--sandbox", "--sandbox-set", "campus:integration=never", "--store", store],
        `error: --sandbox-set "campus:integration=never": expected <plugin>:<name>=<value>, where <plugin> is one with a sandbox: aimaira, campus-skills`
      ]
    ]
    for (const [args, message] of cases) {
      const result = await child(args)
      expect([args.join(" "), result.code]).toEqual([args.join(" "), 2])
      expect(result.stderr).toContain(message)
      expectClean(result)
    }
    expect(Fs.existsSync(store)).toBe(false)
  }, LIMIT)

  it("never integrated, deletes refused: the example's last step fails and the compensation says what to delete by hand (exit 3)", async () => {
    const dir = tmpDir()
    const store = Path.join(dir, "relais.db")
    const result = await child([
      "run", example, "--sandbox", "--sandbox-set", "campus-skills:integration=never", "--sandbox-set", "aimaira:deletes=refused", "--store", store,
      "--run-id", "run_refused", "--config", quickWait()
    ])
    expect(result.stderr).toMatch(sandboxesLine("deletes: refused", "integration: never"))
    expect(result.stdout).toContain("COMPENSATION INCOMPLETE")
    expect(result.stdout).toContain("cause: step integrated (campus-skills/wait-integrated)")
    expect(result.stdout).toContain("1 of 1 contract still not integrated after the deadline (3 s)")
    expect(result.stdout).toMatch(/left to undo by hand \(\d+\):/)
    expect(result.stdout).toMatch(/✗ entreprise \(aimaira\/create-entreprise\)[\s\S]*delete by hand in AIMAIRA Entreprise \d+/)
    expect(result.stdout).toMatch(/delete by hand in AIMAIRA .*Convention \d+ \(the convention CS\d+\)/)
    // Campus Skills' own compensation is not a DELETE: it is undone.
    expect(result.stdout).toMatch(/undone \(\d+\):\n\s+↺ publish \(campus-skills\/send-changes\)/)
    expect(result.code).toBe(3)
    expectClean(result)
    expect((await show("run_refused", store)).status).toBe("compensation_failed")
    // The run has ended: its sandbox data (and settings) are removed.
    expect(Fs.existsSync(Path.join(dir, "sandboxes", "run_refused"))).toBe(false)
  }, LIMIT)

  it("a delay: the contract is not integrated at the first poll, then it is, and the run succeeds", async () => {
    const store = Path.join(tmpDir(), "relais.db")
    const result = await child(["run", example, "--sandbox", "--sandbox-set", "campus-skills:integration=3s", "--store", store])
    expect(result.stderr).toMatch(sandboxesLine(undefined, "integration: 3s"))
    expect(result.stderr).toMatch(/step integrated attempt 1 failed after .*: 1 of 1 contract not integrated yet/)
    expect(result.stderr).toMatch(/step integrated succeeded \([2-5] attempts/)
    expect(result.stdout).toMatch(/✓ succeeded in .*\n[\s\S]*integrated\s+\["CS\d+"\]/)
    expect(result.code).toBe(0)
  }, LIMIT)

  it("a resumed run keeps the settings it started with; another value is refused (exit 2)", async () => {
    const dir = tmpDir()
    const store = Path.join(dir, "relais.db")
    const runId = "run_kept_settings"
    const config = quickWait()
    // The professionals take long to create: the process is killed while they are in flight.
    const first = spawnChild([
      "run", example, "--sandbox", "--sandbox-set", "campus-skills:integration=never", "--sandbox-set", "aimaira:deletes=refused", "--store", store,
      "--run-id", runId, "--fault", "aimaira:POST /GraphV1/Professionnel latency:20000", "--config", config
    ])
    const killed = collect(first)
    await waitForStderr(first, /step (maitre|signataire) started/)
    first.kill("SIGKILL")
    expect((await killed).signal).toBe("SIGKILL")
    const kept = JSON.parse(Fs.readFileSync(Path.join(dir, "sandboxes", runId, "settings.json"), "utf8")) as { state: unknown }
    expect(kept.state).toEqual({ aimaira: { deletes: "refused" }, "campus-skills": { integration: "never" } })

    const other = await child(["resume", runId, "--sandbox", "--sandbox-set", "aimaira:deletes=allowed", "--store", store])
    expect(other.code).toBe(2)
    expect(other.stderr).toContain(
      `error: --sandbox-set aimaira:deletes=allowed: this run's sandboxes were started with --sandbox-set aimaira:deletes=refused, and a resumed run goes on with the same sandboxes; leave the flag out`
    )
    const otherDelay = await child(["resume", runId, "--sandbox", "--sandbox-set", "campus-skills:integration=immediate", "--store", store])
    expect(otherDelay.code).toBe(2)
    expect(otherDelay.stderr).toContain("this run's sandboxes were started with --sandbox-set campus-skills:integration=never")

    // Without the flags: never integrated and deletes refused still, so it ends as the first would have.
    const resumed = await child(["resume", runId, "--sandbox", "--store", store, "--config", config])
    expect(resumed.stderr).toMatch(sandboxesLine("deletes: refused", "integration: never"))
    expect(resumed.stdout).toContain("COMPENSATION INCOMPLETE")
    expect(resumed.stdout).toMatch(/delete by hand in AIMAIRA Entreprise \d+/)
    expect(resumed.code).toBe(3)
    expectClean(resumed)
  }, LIMIT)

  it("relais sandbox: the settings are shown and served (DELETE answers 405)", async () => {
    const process = spawnChild(["sandbox", "--json", "--sandbox-set", "campus-skills:integration=2m", "--sandbox-set", "aimaira:deletes=refused"])
    const done = collect(process)
    // A failed assertion must not leave the server running after the test.
    onTestFinished(() => {
      if (process.exitCode === null && process.signalCode === null) process.kill("SIGKILL")
    })
    const [line] = await waitForStdout(process, /\{"type":"sandbox".*\}\n/)
    const info = JSON.parse(line) as {
      sandboxes: ReadonlyArray<{ plugin: string; url: string; settings: Record<string, string>; env: Record<string, string> }>
    }
    const aimaira = info.sandboxes.find((s) => s.plugin === "aimaira")!
    expect(aimaira.settings).toEqual({ deletes: "refused", webhooks: "none", "customer-name": "SANDBOX" })
    expect(info.sandboxes.find((s) => s.plugin === "campus-skills")!.settings).toEqual({ integration: "2m" })
    expect(await (await fetch(`${new URL(aimaira.url).origin}/__sandbox/deletes`)).json()).toEqual({ deletes: "refused" })
    const headers = { authorization: `Basic ${Buffer.from(`${aimaira.env.AIMAIRA_USERNAME}:${aimaira.env.AIMAIRA_PASSWORD}`).toString("base64")}` }
    const api = aimaira.env.AIMAIRA_URL!
    const learners = (await (await fetch(`${api}/Apprenant?$top=1`, { headers })).json()) as { value: Array<{ Id: number }> }
    const id = learners.value[0]!.Id
    expect((await fetch(`${api}/Apprenant/${id}`, { method: "DELETE", headers })).status).toBe(405)
    expect((await fetch(`${api}/Apprenant/${id}`, { headers })).status).toBe(200)
    process.kill("SIGINT")
    expect((await done).code).toBe(130)
  }, LIMIT)
})

// -----------------------------------------------------------------------------
// The sandboxes' data on a bad disk (root: a read-only bind mount, a full tmpfs)
// -----------------------------------------------------------------------------

const mounts = (() => {
  if (process.getuid?.() !== 0) return "read-only bind mounts and tmpfs need root (root ignores chmod)"
  const probe = tmpDir()
  try {
    execFileSync("mount", ["--bind", "-o", "ro", probe, probe], { stdio: "pipe" })
    execFileSync("umount", [probe], { stdio: "pipe" })
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe], { stdio: "pipe" })
    execFileSync("umount", [probe], { stdio: "pipe" })
    return undefined
  } catch (error) {
    return `cannot mount here (${String(error).split("\n")[0]})`
  }
})()
if (mounts !== undefined) console.log(`skipped: the sandbox data on a read-only or full disk: ${mounts}`)

/** `directory` made read-only (a bind mount over itself) while `use` runs. */
const readOnly = async (directory: string, use: () => Promise<void>) => {
  execFileSync("mount", ["--bind", "-o", "ro", directory, directory])
  try {
    await use()
  } finally {
    execFileSync("umount", ["-l", directory])
  }
}

/** A tiny tmpfs, filled up, while `use` runs. */
const fullDisk = async (use: (mount: string) => Promise<void>) => {
  const mount = tmpDir()
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mount])
  try {
    const fd = Fs.openSync(Path.join(mount, "filler"), "a")
    try {
      for (const chunk = Buffer.alloc(4096, 1);;) Fs.writeSync(fd, chunk)
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOSPC") throw error
    } finally {
      Fs.closeSync(fd)
    }
    await use(mount)
  } finally {
    execFileSync("umount", ["-l", mount])
  }
}

describe.sequential("the sandboxes' data beside the store, on a disk that cannot take it", () => {
  it.skipIf(mounts !== undefined)("a read-only store directory: exit 4 before anything is called, read-only and what to do", async () => {
    const dir = tmpDir()
    await readOnly(dir, async () => {
      const store = Path.join(dir, "relais.db")
      const result = await child(["run", example, "--sandbox", "--store", store, "--run-id", "run_ro_start"])
      expect(result.code).toBe(4)
      expect(result.stderr).toContain(
        `error: ${dir} is read-only (writing the sandbox state file ${Path.join(dir, "sandboxes", "run_ro_start", "settings.json")}: EROFS: read-only file system`
      )
      expect(result.stderr).toContain("make it writable, or use a store in a writable directory with --store")
      expect(result.stderr).not.toContain("step ")
      expectClean(result)
    })
  }, LIMIT)

  it.skipIf(mounts !== undefined)("a full disk: exit 4, no space left on it", async () => {
    await fullDisk(async (mount) => {
      const result = await child(["run", example, "--sandbox", "--store", Path.join(mount, "relais.db"), "--run-id", "run_full"])
      expect(result.code).toBe(4)
      expect(result.stderr).toContain(`error: no space left on ${mount}`)
      expect(result.stderr).toContain("(writing the sandbox state file ")
      expect(result.stderr).toContain("free some space there")
      expectClean(result)
    })
  }, LIMIT)

  it.skipIf(mounts !== undefined)("a write that fails mid-run stops the run at once (exit 4, interrupted, nothing built on the lost write); it resumes once fixed", async () => {
    const dir = tmpDir()
    const store = Path.join(dir, "relais.db")
    const runId = "run_ro_midway"
    const data = Path.join(dir, "sandboxes", runId)
    // The sandboxes' data as a run keeps it, so that the run restores it and writes nothing
    // before its first request that changes data.
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      yield* AimairaSandbox.make({ stateFile: Path.join(data, "aimaira.json") })
      yield* CampusSkillsSandbox.make({ stateFile: Path.join(data, "campus-skills.json") })
    })))
    await readOnly(data, async () => {
      const result = await child(["run", example, "--sandbox", "--store", store, "--run-id", runId])
      expect(result.stderr).toContain(`their data restored from ${data}`)
      expect(result.stderr).toContain(
        `error: ${data} is read-only (writing the sandbox state file ${Path.join(data, "aimaira.json")}: EROFS: read-only file system`
      )
      expect(result.stderr).toContain(`resume it with: relais resume ${runId} --store ${store} --sandbox`)
      expect(result.code).toBe(4)
      expectClean(result)
    })
    // The convention's creation was the first write: it was lost with the file, so the run must
    // not have journaled it (no retry, no reconciliation against data the file does not have).
    const stopped = await show(runId, store)
    expect(stopped.status).toBe("interrupted")
    expect(stopped.events.filter((e) => e.path === "convention").map((e) => e._tag)).toEqual(["StepStarted"])

    const resumed = await child(["resume", runId, "--sandbox", "--store", store, "--json"])
    expect(lastJson(resumed.stdout)).toMatchObject({ type: "result", status: "succeeded" })
    expect(resumed.code).toBe(0)
    expectClean(resumed)
  }, LIMIT)
})
