/**
 * The plugin as a user runs it: the relais binary (`packages/runner/dist/bin.js`, built by
 * `pnpm build`) loads the plugin's built `dist/index.js` from `plugins:` in
 * examples/relais.plugins.config.yaml, and runs examples/convention-with-signature.yaml with
 * `--sandbox` (AIMAIRA, Campus Skills and this plugin's simulator, in-process), each run with
 * its own temporary store. What the e-signature steps did is read from the `--json` events:
 * the envelope as the simulator answered the create, and as the last poll found it.
 *
 * Each test waits for the process to exit; the limits only end a hang.
 */
import { describe, expect, it } from "vitest"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const root = Path.resolve(import.meta.dirname, "../../../..")
const bin = Path.join(root, "packages/runner/dist/bin.js")
const workflow = "examples/convention-with-signature.yaml"
const config = "examples/relais.plugins.config.yaml"

interface Result {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly store: string
}

/** `relais run --sandbox` of the example with a fresh store; resolves when the process exits. */
const relais = (...extra: ReadonlyArray<string>): Promise<Result> => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "esign-e2e-"))
  const store = Path.join(dir, "relais.db")
  const args = [bin, "run", "--sandbox", workflow, "--config", config, "--store", store, "--json", ...extra]
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      // nothing of the developer's shell (a profile, ESIGN_TOKEN...) leaks in
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: Os.tmpdir(), NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    child.on("error", reject)
    child.on("close", (code) => {
      Fs.rmSync(dir, { recursive: true, force: true })
      resolve({ code, stdout, stderr, store })
    })
  })
}

interface Final {
  readonly status: string
  readonly output?: Record<string, unknown>
  readonly failure?: { readonly error?: { readonly _tag?: string; readonly message?: string }; readonly step?: string }
  readonly compensated?: ReadonlyArray<{ readonly step: string; readonly nothingToUndo?: boolean; readonly detail?: string }>
}

/** The result line: the last line of stdout with `--json`. */
const finalOf = (result: Result): Final => {
  const lines = result.stdout.trim().split("\n").filter((line) => line.startsWith("{"))
  const last = lines[lines.length - 1]
  if (last === undefined) throw new Error(`no JSON on stdout (exit ${result.code}); stderr:\n${result.stderr}`)
  return JSON.parse(last) as Final
}

interface Event {
  readonly _tag?: string
  readonly path?: string
  readonly attempt?: number
  readonly found?: boolean
  readonly output?: unknown
  readonly error?: { readonly _tag?: string }
}

/** The events of the run (every JSON line but the result). */
const eventsOf = (result: Result): ReadonlyArray<Event> =>
  result.stdout.trim().split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Event)
    .filter((event) => event._tag !== undefined)

const outputOf = <A>(events: ReadonlyArray<Event>, path: string): A => {
  const succeeded = events.filter((e) => e._tag === "StepSucceeded" && e.path === path)
  expect(succeeded, `one StepSucceeded for ${path}`).toHaveLength(1)
  return succeeded[0]!.output as A
}

interface Envelope {
  readonly id: string
  readonly status: string
  readonly externalReference?: string
  readonly document: { readonly reference: string }
  readonly signers: ReadonlyArray<{ readonly email: string; readonly role: string; readonly status: string }>
}

const noStackTrace = (result: Result) => {
  expect(result.stderr).not.toMatch(/\n\s+at /)
  expect(result.stdout).not.toMatch(/\n\s+at /)
}

describe("relais run --sandbox with the esign plugin loaded from the configuration file", { timeout: 300_000 }, () => {
  it("the convention is signed by the learner, the company and the school, then published", async () => {
    const result = await relais()
    noStackTrace(result)
    const final = finalOf(result)
    expect({ code: result.code, status: final.status, failure: final.failure }).toEqual({ code: 0, status: "succeeded", failure: undefined })
    const output = final.output as { envelopeId: string; conventionCode: string; signedBy: Array<string>; integrated: Array<string> }
    expect(output.envelopeId).toMatch(/^env_[a-z0-9]+$/)
    expect(output.signedBy).toEqual([
      "tom.legall@etudiant-exemple.fr",
      "paul.martin@boulangerie-martin.fr",
      "direction.etudes@cfa-exemple.fr"
    ])
    expect(output.integrated).toHaveLength(1)
    // the envelope as the simulator answered the create: sent, for this convention, three signers waiting
    const events = eventsOf(result)
    const sent = outputOf<Envelope>(events, "signature")
    expect([sent.id, sent.status, sent.document.reference]).toEqual([output.envelopeId, "sent", output.conventionCode])
    expect(sent.externalReference).toMatch(/^relais-[0-9a-f]{16}$/)
    expect(sent.signers.map((s) => [s.role, s.status])).toEqual([["learner", "pending"], ["company", "pending"], ["school", "pending"]])
    // and as the wait found it: completed, every signer with the time they signed
    const signed = outputOf<{ status: string; signers: Array<{ signedAt?: string }> }>(events, "signed")
    expect(signed.status).toBe("completed")
    expect(signed.signers.every((s) => typeof s.signedAt === "string")).toBe(true)
    // published after the signatures, not before
    const order = events.filter((e) => e._tag === "StepSucceeded").map((e) => e.path)
    expect(order.indexOf("signed")).toBeLessThan(order.indexOf("publish"))
  })

  it("the company declines: the run stops before Campus Skills and is compensated; the envelope needs no cancel", async () => {
    const result = await relais("--sandbox-set", "esign:signing=decline:company")
    noStackTrace(result)
    const final = finalOf(result)
    expect({ code: result.code, status: final.status }).toEqual({ code: 1, status: "compensated" })
    expect(final.failure?.error?._tag).toBe("SignatureDeclined")
    expect(final.failure?.error?.message).toContain("declined by Paul MARTIN (company, paul.martin@boulangerie-martin.fr)")
    const undoneSteps = (final.compensated ?? []).map((c) => c.step)
    expect(undoneSteps).toContain("esign/send-for-signature")
    expect(undoneSteps).toContain("aimaira/create-convention")
    expect(undoneSteps.some((step) => step.startsWith("campus-skills/"))).toBe(false)
    expect(final.compensated?.find((c) => c.step === "esign/send-for-signature")?.nothingToUndo).toBe(true)
    expect(eventsOf(result).filter((e) => e._tag === "StepStarted" && e.path === "publish")).toEqual([])
  })

  it("the envelope's answer is lost after the commit: found again, one envelope, not two", async () => {
    const result = await relais("--fault", "esign:POST /api/v1/envelopes drop-after-commit x1")
    noStackTrace(result)
    const final = finalOf(result)
    expect({ code: result.code, status: final.status }).toEqual({ code: 0, status: "succeeded" })
    const events = eventsOf(result).filter((e) => e.path === "signature")
    // the first attempt lost its answer; before the retry the step found the envelope it had sent
    expect(events.find((e) => e._tag === "AttemptFailed")?.error?._tag).toBe("Transport")
    expect(events.filter((e) => e._tag === "StepReconciled").map((e) => e.found)).toEqual([true])
    // and sent nothing again: no second attempt ran
    expect(events.filter((e) => e._tag === "AttemptStarted")).toEqual([])
    expect(outputOf<Envelope>(events, "signature").id).toBe((final.output as { envelopeId: string }).envelopeId)
  })
})
