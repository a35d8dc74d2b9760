/**
 * `campus-skills/wait-integrated` killed with SIGKILL while it waits, then resumed, through the
 * real binary and the Campus Skills sandbox that never integrates: the resumed run goes on with
 * the deadline the first poll recorded in the step's journaled state (not a new one from the
 * resume), and fails at it. The workflow's `defaults.retry` (3 attempts) does not cut the wait
 * short: a polling step keeps its own policy.
 *
 * Evidence from the run's events (their `at`), not from sleeps: the recorded deadline is read
 * from the store file after the kill; the timeout comes at least the deadline after the first
 * poll, and less than the deadline after the resume.
 */
import { describe, expect, it } from "vitest"
import type { ChildProcess } from "node:child_process"
import * as Path from "node:path"
import { child, collect, spawnChild, stackTrace, storeBytes, tmpDir, writeFile } from "./harness/Cli.js"

const DEADLINE_MILLIS = 20_000

const workflow = `version: 1
name: publish-and-wait
description: publish one contract to Campus Skills and wait until it is integrated
defaults:
  retry: { maxAttempts: 3, backoff: exponential, initialDelay: 200ms, maxDelay: 1s }
steps:
  - id: publish
    uses: campus-skills/send-changes
    with:
      added:
        - codeContrat: CSWAIT1
          dateDebut: "01/09/2025"
          dateFin: "30/06/2026"
          nomGroupe: BTS MCO Rennes 1ère année
          nomEntreprise: Boulangerie Martin
          emailPersonnel: tuteur@ecole.fr
          prenomPersonnel: Julie
          nomPersonnel: Avion
          codePersonnel: PERS1
          emailMaitreApprentissage: maitre@entreprise.fr
          prenomMaitreApprentissage: Eric
          nomMaitreApprentissage: Voiture
          codeMaitreApprentissage: MA1
          nomApprenant: Bateau
          emailApprenant: apprenant@mail.fr
          prenomApprenant: Agathe
          codeApprenant: APP1
          codeGroupe: BTSMCO-REN-1
          codePeriode: P2025
          nomPeriode: 2025/2026
          codeFormation: BTSMCO
          nomFormation: BTS MCO
          codeSite: REN
          nomSite: Rennes
          codeAnnee: A1
          nomAnnee: 1ère année
  - id: integrated
    uses: campus-skills/wait-integrated
    # A poll a second (the step's own policy otherwise polls every 5 s) and a shorter deadline
    # than the step's 5 minutes, for the test.
    retry: { backoff: constant, initialDelay: 1s, maxDelay: 1s, jitter: false }
    with:
      codes: [CSWAIT1]
      deadline: ${DEADLINE_MILLIS / 1000}s
`

interface EventLine {
  readonly type: string
  readonly _tag?: string
  readonly at?: number
  readonly path?: string
  readonly execution?: number
  readonly reason?: string
  readonly error?: { readonly _tag: string; readonly message: string }
}

/** Resolve once `count` events on stdout (`--json`) satisfy `match`; reject if the process ends first. */
const waitForEvents = (process: ChildProcess, match: (e: EventLine) => boolean, count: number, timeoutMs = 120_000) =>
  new Promise<ReadonlyArray<EventLine>>((resolve, reject) => {
    let buffer = ""
    const seen: Array<EventLine> = []
    const timer = setTimeout(() => reject(new Error(`fewer than ${count} matching events within ${timeoutMs} ms`)), timeoutMs)
    process.stdout?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8")
      const lines = buffer.split("\n")
      buffer = lines.pop()!
      for (const line of lines) {
        if (!line.startsWith("{")) continue
        const event = JSON.parse(line) as EventLine
        if (event.type === "event" && match(event)) seen.push(event)
      }
      if (seen.length >= count) {
        clearTimeout(timer)
        resolve(seen)
      }
    })
    process.on("close", (code, signal) => {
      clearTimeout(timer)
      if (seen.length < count) reject(new Error(`relais exited (${code ?? signal}) after ${seen.length} matching events`))
    })
  })

describe("wait-integrated killed with SIGKILL and resumed", { timeout: 240_000 }, () => {
  it("the resumed run keeps the deadline its first poll recorded, and fails at it", async () => {
    const dir = tmpDir("relais-deadline-resume-")
    const db = Path.join(dir, "relais.db")
    const file = writeFile(dir, "publish-and-wait.yaml", workflow)
    const runId = "run_deadline_kill"

    const first = spawnChild([
      "run", file, "--sandbox", "--sandbox-set", "campus-skills:integration=never", "--store", db, "--run-id", runId, "--json"
    ])
    const done = collect(first, 180_000)
    // Six polls: more than the workflow's default retry allows, and several seconds of waiting.
    const polls = await waitForEvents(first, (e) => e._tag === "AttemptFailed" && e.path === "integrated", 6)
    expect(polls.every((p) => p.error?._tag === "NotYetIntegrated")).toBe(true)
    first.kill("SIGKILL")
    expect((await done).signal).toBe("SIGKILL")

    // What the first poll recorded in the step's state, as the store file holds it.
    const recorded = [...storeBytes(db).matchAll(/"firstPollAt":(\d+),"deadlineMillis":(\d+)/g)].map((m) => ({
      firstPollAt: Number(m[1]),
      deadlineMillis: Number(m[2])
    }))
    expect(recorded.length).toBeGreaterThanOrEqual(1)
    expect(new Set(recorded.map((r) => r.firstPollAt)).size).toBe(1)
    const { deadlineMillis, firstPollAt } = recorded[0]!
    expect(deadlineMillis).toBe(DEADLINE_MILLIS)

    const resumed = await child(["resume", runId, "--store", db, "--sandbox", "--json"])
    expect(resumed.stderr).not.toMatch(stackTrace)
    // The publish is undone: the run ends compensated (exit 1).
    expect(resumed.code).toBe(1)

    const shown = await child(["runs", "show", runId, "--store", db, "--json"])
    expect(shown.code).toBe(0)
    const { events, run } = JSON.parse(shown.stdout) as {
      run: { status: string; executions: number }
      events: ReadonlyArray<EventLine>
    }
    expect(run).toMatchObject({ status: "compensated", executions: 2 })
    const started = events.find((e) => e._tag === "StepStarted" && e.path === "integrated")!
    expect(firstPollAt).toBeGreaterThanOrEqual(started.at!)
    const resumedAt = events.find((e) => e._tag === "RunStarted" && e.execution === 2)!.at!
    const failed = events.filter((e) => e._tag === "StepFailed" && e.path === "integrated")
    expect(failed).toHaveLength(1)
    expect(failed[0]).toMatchObject({ reason: "non_retryable", error: { _tag: "IntegrationTimeout" } })
    expect(failed[0]!.error!.message).toContain(`after the deadline (${DEADLINE_MILLIS / 1000} s)`)
    const timedOut = events.filter((e) => e._tag === "AttemptFailed" && e.error?._tag === "IntegrationTimeout")
    expect(timedOut).toHaveLength(1)
    const at = timedOut[0]!.at!
    // The deadline ran from the first poll of the killed process...
    expect(at - firstPollAt).toBeGreaterThanOrEqual(DEADLINE_MILLIS)
    // ...not from the resume: a new deadline would have ended 20 s after it, at the earliest.
    expect(resumedAt - firstPollAt).toBeGreaterThanOrEqual(5_000)
    expect(at - resumedAt).toBeLessThan(DEADLINE_MILLIS)
    // Polls went on after the resume, and none of them restarted the count of the wait.
    expect(events.filter((e) => e._tag === "AttemptFailed" && e.path === "integrated" && e.at! > resumedAt).length)
      .toBeGreaterThanOrEqual(1)
    expect(events.filter((e) => e._tag === "CompensationSucceeded").map((e) => e.path)).toEqual(["publish"])
  })
})
