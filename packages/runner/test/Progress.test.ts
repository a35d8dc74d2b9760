import { describe, expect, it } from "@effect/vitest"
import { Errors, Redactor, Run } from "@relais/core"
import { Effect, Layer } from "effect"
import * as Output from "../src/Output.js"
import * as Progress from "../src/Progress.js"
import * as Style from "../src/Style.js"

const runId = Run.RunId.make("run_p")
const t0 = 1_700_000_000_000
const step = (path: string, name = "aimaira/create-convention") => ({ runId, path, step: name })
const error = (message: string, status: number) => new Errors.ErrorInfo({ _tag: "Unavailable", message, status })

/** A recorded run: a retry, a final failure, and the compensation of the first step. */
const recorded: ReadonlyArray<Run.RunEvent> = [
  { _tag: "RunStarted", runId, at: t0, workflow: "convention", execution: 1 },
  { _tag: "StepStarted", ...step("sequences", "aimaira/list-eligible-sequences"), at: t0 + 1 },
  { _tag: "AttemptStarted", ...step("sequences", "aimaira/list-eligible-sequences"), at: t0 + 1, attempt: 1 },
  { _tag: "StepSucceeded", ...step("sequences", "aimaira/list-eligible-sequences"), at: t0 + 40, attempts: 1, durationMillis: 39, output: [] },
  { _tag: "StepStarted", ...step("convention"), at: t0 + 50 },
  { _tag: "AttemptStarted", ...step("convention"), at: t0 + 50, attempt: 1 },
  { _tag: "StepSucceeded", ...step("convention"), at: t0 + 80, attempts: 1, durationMillis: 30, output: { Id: 9 } },
  { _tag: "StepStarted", ...step("entreprise", "aimaira/create-entreprise"), at: t0 + 90 },
  { _tag: "AttemptStarted", ...step("entreprise", "aimaira/create-entreprise"), at: t0 + 90, attempt: 1 },
  {
    _tag: "AttemptFailed",
    ...step("entreprise", "aimaira/create-entreprise"),
    at: t0 + 100,
    attempt: 1,
    durationMillis: 10,
    error: error("Too many requests", 429),
    retryable: true
  },
  { _tag: "RetryScheduled", ...step("entreprise", "aimaira/create-entreprise"), at: t0 + 100, nextAttempt: 2, delayMillis: 3200 },
  { _tag: "AttemptStarted", ...step("entreprise", "aimaira/create-entreprise"), at: t0 + 3300, attempt: 2 },
  {
    _tag: "StepFailed",
    ...step("entreprise", "aimaira/create-entreprise"),
    at: t0 + 3320,
    attempts: 2,
    durationMillis: 3230,
    reason: "exhausted",
    error: error("Service unavailable", 503)
  },
  { _tag: "CompensationStarted", ...step("convention"), at: t0 + 3330, description: "delete the convention" },
  { _tag: "CompensationSucceeded", ...step("convention"), at: t0 + 3360, attempts: 1 },
  { _tag: "RunFinished", runId, at: t0 + 3370, status: "compensated", durationMillis: 3370 }
]

describe("live view", () => {
  const applyAll = (events: ReadonlyArray<Run.RunEvent>) =>
    events.reduce(
      (acc, event) => {
        const next = Progress.applyLive(acc.state, event, Style.plain)
        return { state: next.state, lines: [...acc.lines, ...next.lines] }
      },
      { state: Progress.initialState, lines: [] as Array<string> }
    )

  it("shows the steps in flight with attempt N/M and a retry countdown", () => {
    const { state } = applyAll(recorded.slice(0, 11))
    const block = Progress.renderLive(state, t0 + 900, 3, Style.plain, { maxAttempts: () => 3, columns: 120 })
    expect(block).toEqual(["⠸  entreprise aimaira/create-entreprise  attempt 1/3  retrying in 2.4 s"])
    const later = Progress.renderLive(applyAll(recorded.slice(0, 12)).state, t0 + 3800, 4, Style.plain, {
      maxAttempts: () => 3,
      columns: 120
    })
    expect(later).toEqual(["⠼  entreprise aimaira/create-entreprise  attempt 2/3  500 ms"])
  })

  it("does not show an attempt count it does not know", () => {
    const { state } = applyAll(recorded.slice(0, 6))
    expect(Progress.renderLive(state, t0 + 1050, 0, Style.plain, { columns: 120 })).toEqual([
      "⠋  convention aimaira/create-convention  1.0 s"
    ])
  })

  it("shows the compensation phase, and leaves one line per finished step", () => {
    const during = applyAll(recorded.slice(0, 14))
    expect(Progress.renderLive(during.state, t0 + 3340, 0, Style.plain, { columns: 120 })).toEqual([
      "⠋  undo convention delete the convention  10 ms"
    ])
    const { lines, state } = applyAll(recorded)
    expect(state.active).toEqual([])
    expect(lines).toEqual([
      "▶ convention",
      "✓ sequences 39 ms",
      "✓ convention 30 ms",
      "  ! entreprise attempt 1 HTTP 429: Too many requests",
      "✗ entreprise HTTP 503: Service unavailable (exhausted, 2 attempts)",
      "↺ undoing the completed steps",
      "↺ convention undone: delete the convention"
    ])
  })

  it("cuts lines to the terminal width", () => {
    const { state } = applyAll(recorded.slice(0, 11))
    const [line] = Progress.renderLive(state, t0 + 900, 0, Style.ansi, { maxAttempts: () => 3, columns: 30 })
    expect(Style.strip(line!).length).toBeLessThanOrEqual(29)
    expect(Style.strip(line!)).toMatch(/…$/)
  })
})

const displayed = (mode: Progress.Mode) =>
  Effect.gen(function*() {
    const capture = Output.capture()
    yield* Effect.gen(function*() {
      const display = yield* Progress.make(mode)
      for (const event of recorded) yield* display.event(event)
      yield* display.close
    }).pipe(Effect.scoped, Effect.provide(capture.layer.pipe(Layer.provide(Redactor.layer))))
    return capture
  })

describe("plain and JSON displays", () => {
  it.effect("plain: one stable line per event on stderr, nothing on stdout", () =>
    Effect.gen(function*() {
      const capture = yield* displayed("plain")
      expect(capture.stdout()).toBe("")
      expect(capture.stderr().split("\n")).toEqual([
        "run run_p started: convention",
        "step sequences started (aimaira/list-eligible-sequences)",
        "step sequences succeeded (1 attempt, 39 ms)",
        "step convention started (aimaira/create-convention)",
        "step convention succeeded (1 attempt, 30 ms)",
        "step entreprise started (aimaira/create-entreprise)",
        "step entreprise attempt 1 failed after 10 ms: HTTP 429: Too many requests",
        "step entreprise retry: attempt 2 in 3.2 s",
        "step entreprise attempt 2 started",
        "step entreprise failed (exhausted, 2 attempts, 3.2 s): HTTP 503: Service unavailable",
        "undo convention started: delete the convention",
        "undo convention succeeded (1 attempt)",
        "run run_p finished: compensated in 3.4 s",
        ""
      ])
    }))

  it.effect("json: one JSON object per event on stdout, decodable back into the event", () =>
    Effect.gen(function*() {
      const capture = yield* displayed("json")
      expect(capture.stderr()).toBe("")
      const lines = capture.stdout().trimEnd().split("\n").map((l) => JSON.parse(l) as { type: string; _tag: string })
      expect(lines).toHaveLength(recorded.length)
      expect(lines.every((l) => l.type === "event")).toBe(true)
      expect(lines.map((l) => l._tag)).toEqual(recorded.map((e) => e._tag))
      expect(lines[9]).toMatchObject({ _tag: "AttemptFailed", error: { _tag: "Unavailable", status: 429 }, retryable: true })
    }))

  it("chooses the mode from the flags and the terminal", () => {
    expect(Progress.chooseMode({ json: true, interactive: true })).toBe("json")
    expect(Progress.chooseMode({ json: false, interactive: true })).toBe("live")
    expect(Progress.chooseMode({ json: false, interactive: false })).toBe("plain")
  })
})
