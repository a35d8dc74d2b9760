import { describe, expect, it } from "vitest"
import { Errors, Run } from "@relais/core"
import { Option } from "effect"
import * as Report from "../src/Report.js"
import * as Targets from "../src/Targets.js"
import * as Style from "../src/Style.js"

const runId = Run.RunId.make("run_test")
const error = (message: string, status?: number) =>
  new Errors.ErrorInfo({ _tag: "Unavailable", message, ...(status !== undefined ? { status } : {}) })

const base = {
  id: runId,
  workflow: "convention",
  input: { apprenantId: 7 },
  createdAt: 1_700_000_000_000,
  updatedAt: 1_700_000_004_200,
  finishedAt: 1_700_000_004_200,
  executions: 1
}

describe("Report.outcomeLines", () => {
  it("a success shows the outputs", () => {
    const lines = Report.outcomeLines(new Run.RunRecord({ ...base, status: "succeeded", output: { conventionId: 123 } }), Style.plain)
    expect(lines).toEqual(["✓ succeeded in 4.2 s (run run_test)", "outputs:", "  conventionId  123"])
  })

  it("a compensated failure shows the cause and what was undone", () => {
    const lines = Report.outcomeLines(
      new Run.RunRecord({
        ...base,
        status: "compensated",
        failure: new Run.Failure({ error: error("Service unavailable", 503), step: "aimaira/create-entreprise", path: "entreprise", reason: "exhausted" }),
        compensated: [new Run.Compensated({ path: "convention", step: "aimaira/create-convention", description: "delete the convention" })]
      }),
      Style.plain,
      { showCommand: "relais runs show run_test" }
    )
    expect(lines).toEqual([
      "✗ failed and compensated in 4.2 s (run run_test)",
      "cause: step entreprise (aimaira/create-entreprise) gave up after its retries: HTTP 503: Service unavailable",
      "undone (1):",
      "  ↺ convention (aimaira/create-convention): delete the convention",
      "details: relais runs show run_test"
    ])
  })

  it("an incomplete compensation lists what is left, with its result and the undo error", () => {
    const lines = Report.outcomeLines(
      new Run.RunRecord({
        ...base,
        status: "compensation_failed",
        failure: new Run.Failure({ error: error("boom"), path: "sync", step: "campus-skills/send-changes", reason: "non_retryable" }),
        compensated: [],
        remaining: [
          new Run.LeftToUndo({
            path: "convention",
            step: "aimaira/create-convention",
            description: "delete the convention",
            input: { ApprenantId: 7 },
            output: { Id: 4521, Code: "CS4521" },
            error: error("locked", 409)
          })
        ]
      }),
      Style.plain
    )
    expect(lines).toEqual([
      " COMPENSATION INCOMPLETE  failed in 4.2 s: 1 step left to undo by hand (run run_test)",
      "cause: step sync (campus-skills/send-changes) failed with an error that is not retried: boom",
      "left to undo by hand (1):",
      "  ✗ convention (aimaira/create-convention)",
      "      to undo:   delete the convention",
      `      result:    {"Id":4521,"Code":"CS4521"}`,
      `      input:     {"ApprenantId":7}`,
      "      undo error: HTTP 409: locked"
    ])
  })

  it("an interrupted run says how to resume it", () => {
    const { finishedAt: _, ...rest } = base
    const lines = Report.outcomeLines(new Run.RunRecord({ ...rest, status: "interrupted" }), Style.plain, {
      resumeCommand: "relais resume run_test --profile preprod"
    })
    expect(lines).toEqual([
      "■ interrupted (run run_test): the run stopped before its end and can be resumed",
      "resume it with: relais resume run_test --profile preprod"
    ])
  })
})

describe("Report.eventLine", () => {
  const at = 1_700_000_000_000
  const step = { runId, at, path: "contrats[2]/convention", step: "aimaira/create-convention" }
  it("one stable line per event", () => {
    const events: Array<[Run.RunEvent, string | undefined]> = [
      [{ _tag: "RunStarted", runId, at, workflow: "convention", execution: 1 }, "run run_test started: convention"],
      [{ _tag: "RunStarted", runId, at, workflow: "convention", execution: 2 }, "run run_test resumed: convention (execution 2)"],
      [{ _tag: "StepStarted", ...step }, "step contrats[2]/convention started (aimaira/create-convention)"],
      [{ _tag: "AttemptStarted", ...step, attempt: 1 }, undefined],
      [{ _tag: "AttemptStarted", ...step, attempt: 2 }, "step contrats[2]/convention attempt 2 started"],
      [
        { _tag: "AttemptFailed", ...step, attempt: 1, durationMillis: 120, error: error("Too many requests", 429), retryable: true },
        "step contrats[2]/convention attempt 1 failed after 120 ms: HTTP 429: Too many requests"
      ],
      [{ _tag: "RetryScheduled", ...step, nextAttempt: 2, delayMillis: 3200 }, "step contrats[2]/convention retry: attempt 2 in 3.2 s"],
      [{ _tag: "StepReconciled", ...step, found: true }, "step contrats[2]/convention reconciled: an earlier attempt had succeeded, its result is used"],
      [
        { _tag: "StepSucceeded", ...step, attempts: 2, durationMillis: 3500, output: {} },
        "step contrats[2]/convention succeeded (2 attempts, 3.5 s)"
      ],
      [
        { _tag: "StepFailed", ...step, attempts: 3, durationMillis: 61_000, reason: "exhausted", error: error("down", 503) },
        "step contrats[2]/convention failed (exhausted, 3 attempts, 1 min 01 s): HTTP 503: down"
      ],
      [{ _tag: "ItemFailed", runId, at, path: "contrats", index: 2, error: error("bad"), compensated: true }, "item contrats[2] failed and was compensated: bad"],
      [{ _tag: "CompensationStarted", ...step, description: "delete the convention" }, "undo contrats[2]/convention started: delete the convention"],
      [
        { _tag: "CompensationAttemptFailed", ...step, attempt: 1, error: error("locked"), nextDelayMillis: 500 },
        "undo contrats[2]/convention attempt 1 failed: locked; retry in 500 ms"
      ],
      [{ _tag: "CompensationFailed", ...step, attempts: 5, error: error("locked") }, "undo contrats[2]/convention FAILED after 5 attempts: locked"],
      [{ _tag: "RunFinished", runId, at, status: "compensation_failed", durationMillis: 4200 }, "run run_test finished: compensation_failed in 4.2 s"],
      [{ _tag: "RunInterrupted", runId, at }, "run run_test interrupted"]
    ]
    for (const [event, line] of events) expect(Report.eventLine(event)).toBe(line)
  })
})

describe("Report.timelineLines", () => {
  it("offsets per execution, a header per execution", () => {
    const at = 1_700_000_000_000
    const lines = Report.timelineLines(
      [
        { seq: 1, event: { _tag: "RunStarted", runId, at, workflow: "w", execution: 1 } },
        { seq: 2, event: { _tag: "StepStarted", runId, at: at + 5, path: "a", step: "x/a" } },
        { seq: 3, event: { _tag: "RunInterrupted", runId, at: at + 1500 } },
        { seq: 4, event: { _tag: "RunStarted", runId, at: at + 60_000, workflow: "w", execution: 2 } },
        { seq: 5, event: { _tag: "StepReplayed", runId, at: at + 60_010, path: "a", step: "x/a" } }
      ],
      Style.plain
    )
    expect(lines).toEqual([
      "execution 1 at 2023-11-14T22:13:20.000Z",
      "   +0.000s  run run_test started: w",
      "   +0.005s  step a started (x/a)",
      "   +1.500s  run run_test interrupted",
      "execution 2 (resumed) at 2023-11-14T22:14:20.000Z",
      "   +0.000s  run run_test resumed: w (execution 2)",
      "   +0.010s  step a replayed from the journal"
    ])
  })
})

describe("Report helpers", () => {
  it("formats durations", () => {
    expect([0, 999, 1000, 3249, 59_999, 61_000, 3_600_000 + 120_000].map(Report.formatMillis)).toEqual([
      "0 ms",
      "999 ms",
      "1.0 s",
      "3.2 s",
      "60.0 s",
      "1 min 01 s",
      "1 h 02 min"
    ])
  })

  it("diagnostics without a place in the file have no line", () => {
    expect(Report.diagnosticLine({ file: "f.yaml", line: 3, column: 9, message: "m" })).toBe("f.yaml:3:9: m")
    expect(Report.diagnosticLine({ file: "f.yaml", line: 0, column: 0, message: "m" })).toBe("f.yaml: m")
  })

  it("the list of runs is a table", () => {
    const lines = Report.listLines(
      [new Run.RunRecord({ ...base, status: "compensation_failed", remaining: [] })],
      Style.plain
    )
    expect(lines[0]).toMatch(/^RUN\s+WORKFLOW\s+STATUS\s+STARTED\s+DURATION$/)
    expect(lines[1]).toBe("run_test  convention  compensation_failed  2023-11-14 22:13:20Z  4.2 s")
  })
})

describe("targets: labels from the plugins, never from the runner", () => {
  const preprod: Report.TargetInfo = {
    kind: "profile",
    profile: "preprod",
    production: false,
    endpoints: { esign: "https://sign.example.org", "hr-system": "https://hr.example.org" },
    labels: { esign: "E-signature", "hr-system": "HR system" }
  }

  it("a target names each address by the label recorded with it, else by the plugin's name", () => {
    expect(Report.targetText(preprod)).toBe("profile preprod (E-signature https://sign.example.org, HR system https://hr.example.org)")
    expect(Report.targetText({ ...preprod, labels: undefined, production: true })).toBe(
      "profile preprod (PRODUCTION) (esign https://sign.example.org, hr-system https://hr.example.org)"
    )
    expect(Report.targetText({ kind: "sandbox", production: false, endpoints: { esign: "http://127.0.0.1:1" } })).toBe("the in-process sandboxes")
  })

  it("resume refuses another address of a plugin, with its label", () => {
    const moved = { ...preprod, endpoints: { ...preprod.endpoints, esign: "https://other.example.org" } }
    expect(Targets.compare(preprod, moved)).toEqual(
      Option.some("its E-signature URL was https://sign.example.org and is now https://other.example.org; restore the configuration it started with")
    )
    expect(Targets.compare(preprod, preprod)).toEqual(Option.none())
    // A plugin the resumed run does not use is not compared.
    expect(Targets.compare(preprod, { ...preprod, endpoints: { esign: "https://sign.example.org" } })).toEqual(Option.none())
    expect(Targets.compare(preprod, { ...preprod, profile: "prod" })).toEqual(Option.some("resume it with --profile preprod"))
    expect(Targets.compare({ kind: "sandbox", production: false, endpoints: {} }, preprod)).toEqual(Option.some("resume it with --sandbox"))
  })

  it("a run recorded before the plugin contract (keyed by profile section, no labels) is compared by the same plugin", () => {
    const old: Report.TargetInfo = { kind: "profile", profile: "preprod", production: false, endpoints: { hrSystem: "https://hr.example.org" } }
    expect(Targets.compare(old, { ...preprod, endpoints: { "hr-system": "https://elsewhere.example.org" } })).toEqual(
      Option.some("its HR system URL was https://hr.example.org and is now https://elsewhere.example.org; restore the configuration it started with")
    )
    expect(Targets.compare(old, preprod)).toEqual(Option.none())
  })
})
