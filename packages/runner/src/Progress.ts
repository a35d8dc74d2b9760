/**
 * Progress of a run as it happens, from the engine's events (already redacted), in one of three
 * modes:
 *
 * - `live` (stderr is a terminal): a redrawn block of the steps in flight with a spinner,
 *   `attempt N/M`, a `retrying in 3.2 s` countdown and the compensation phase, above which each
 *   finished step leaves one line. Colours unless `NO_COLOR`.
 * - `plain` (stderr is not a terminal): one stable line per event on stderr, no colour.
 * - `json` (`--json`): one JSON object per line on stdout, `{"type":"event",...}` for each event;
 *   the command then writes a final `{"type":"result",...}`. Nothing else goes to stdout.
 *
 * @since 0.1.0
 */
import type { Run } from "@relais/core"
import { Clock, Effect, Fiber, Ref, Schedule, type Scope } from "effect"
import { Output } from "./Output.js"
import * as Report from "./Report.js"
import * as Style from "./Style.js"

/**
 * @since 0.1.0
 */
export type Mode = "live" | "plain" | "json"

/**
 * The mode for the flags and the terminal.
 *
 * @since 0.1.0
 */
export const chooseMode = (options: { readonly json: boolean; readonly interactive: boolean }): Mode =>
  options.json ? "json" : options.interactive ? "live" : "plain"

/**
 * A JSON line for an event.
 *
 * @since 0.1.0
 */
export const jsonLine = (event: Run.RunEvent): string => JSON.stringify({ type: "event", ...Report.eventJson(event) })

// -----------------------------------------------------------------------------
// Live view: a pure state machine, and its rendering
// -----------------------------------------------------------------------------

/**
 * A step (or a compensation) in flight.
 *
 * @since 0.1.0
 */
export interface Active {
  readonly path: string
  readonly step: string
  readonly phase: "running" | "waiting" | "undoing"
  readonly attempt: number
  /** Epoch ms at which the current phase started. */
  readonly since: number
  /** Epoch ms of the next attempt, while waiting. */
  readonly retryAt?: number | undefined
  readonly description?: string | undefined
}

/**
 * What the live view knows.
 *
 * @since 0.1.0
 */
export interface LiveState {
  readonly active: ReadonlyArray<Active>
  readonly compensating: boolean
  readonly succeeded: number
  readonly failed: number
  /** Loop items that failed and were set aside (the run goes on). */
  readonly itemsFailed: number
}

/**
 * @since 0.1.0
 */
export const initialState: LiveState = { active: [], compensating: false, succeeded: 0, failed: 0, itemsFailed: 0 }

/**
 * Options of the live view.
 *
 * @since 0.1.0
 */
export interface LiveOptions {
  /** The most attempts a step makes (its retry policy), when known. */
  readonly maxAttempts?: ((step: string, path: string) => number | undefined) | undefined
}

const upsert = (active: ReadonlyArray<Active>, key: string, f: (a: Active | undefined) => Active): ReadonlyArray<Active> => {
  const index = active.findIndex((a) => keyOf(a) === key)
  if (index < 0) return [...active, f(undefined)]
  return active.map((a, i) => (i === index ? f(a) : a))
}
const keyOf = (a: Active) => `${a.phase === "undoing" ? "undo:" : ""}${a.path}`
const without = (active: ReadonlyArray<Active>, key: string) => active.filter((a) => keyOf(a) !== key)

/**
 * Apply an event: the next state, and the lines to print above the live block.
 *
 * @since 0.1.0
 */
export const applyLive = (
  state: LiveState,
  event: Run.RunEvent,
  style: Style.Style
): { readonly state: LiveState; readonly lines: ReadonlyArray<string> } => {
  switch (event._tag) {
    case "RunStarted":
      return {
        state,
        lines: [style.dim(event.execution > 1 ? `▶ resuming ${event.workflow} (execution ${event.execution})` : `▶ ${event.workflow}`)]
      }
    case "StepStarted":
      return {
        state: {
          ...state,
          active: upsert(state.active, event.path, () => ({ path: event.path, step: event.step, phase: "running", attempt: 1, since: event.at }))
        },
        lines: []
      }
    case "AttemptStarted":
      return {
        state: {
          ...state,
          active: upsert(state.active, event.path, (a) => ({
            path: event.path,
            step: event.step,
            phase: "running",
            attempt: event.attempt,
            since: event.at,
            description: a?.description
          }))
        },
        lines: []
      }
    case "AttemptFailed":
      return {
        state,
        lines: [`  ${style.yellow("!")} ${event.path} ${style.dim(`attempt ${event.attempt}`)} ${style.yellow(Report.errorText(event.error))}`]
      }
    case "RetryScheduled":
      return {
        state: {
          ...state,
          active: upsert(state.active, event.path, (a) => ({
            path: event.path,
            step: event.step,
            phase: "waiting",
            attempt: a?.attempt ?? event.nextAttempt - 1,
            since: event.at,
            retryAt: event.at + event.delayMillis
          }))
        },
        lines: []
      }
    case "StepReplayed":
      return { state, lines: [`${style.dim("↷")} ${event.path} ${style.dim("(done earlier, from the journal)")}`] }
    case "StepSkipped":
      return { state, lines: [`${style.dim("○")} ${event.path} ${style.dim(`skipped: ${event.reason}`)}`] }
    case "StepReconciled":
      return {
        state,
        lines: event.found ? [`  ${style.cyan("≈")} ${event.path} ${style.dim("found the result of an earlier attempt")}`] : []
      }
    case "StepSucceeded":
      return {
        state: { ...state, active: without(state.active, event.path), succeeded: state.succeeded + 1 },
        lines: [
          `${style.green("✓")} ${event.path} ${style.dim(`${event.attempts > 1 ? `${event.attempts} attempts, ` : ""}${Report.formatMillis(event.durationMillis)}`)}`
        ]
      }
    case "StepFailed":
      return {
        state: { ...state, active: without(state.active, event.path), failed: state.failed + 1 },
        lines: [
          event.reason === "cancelled"
            // Stopped by a cancellation while it waited: not the step's failure.
            ? `${style.yellow("■")} ${event.path} ${style.yellow(`stopped: ${Report.errorText(event.error)}`)}`
            : `${style.red("✗")} ${event.path} ${style.red(Report.errorText(event.error))} ${style.dim(`(${event.reason}, ${event.attempts} attempt${event.attempts === 1 ? "" : "s"})`)}`
        ]
      }
    case "ItemFailed":
      return {
        state: { ...state, itemsFailed: state.itemsFailed + 1 },
        lines: [`${style.red("✗")} ${Report.itemPath(event)} ${style.dim(event.compensated ? "item failed, its steps were undone" : "item failed")}: ${Report.errorText(event.error)}`]
      }
    case "CompensationStarted":
      return {
        state: {
          ...state,
          compensating: true,
          active: upsert(state.active, `undo:${event.path}`, () => ({
            path: event.path,
            step: event.step,
            phase: "undoing",
            attempt: 1,
            since: event.at,
            description: event.description
          }))
        },
        lines: state.compensating ? [] : [style.yellow("↺ undoing the completed steps")]
      }
    case "CompensationAttemptFailed":
      return {
        state: {
          ...state,
          active: upsert(state.active, `undo:${event.path}`, (a) => ({
            path: event.path,
            step: event.step,
            phase: "undoing",
            attempt: event.attempt + 1,
            since: event.at,
            retryAt: event.nextDelayMillis !== undefined ? event.at + event.nextDelayMillis : undefined,
            description: a?.description
          }))
        },
        lines: [`  ${style.yellow("!")} undo ${event.path} ${style.dim(`attempt ${event.attempt}`)} ${style.yellow(Report.errorText(event.error))}`]
      }
    case "CompensationSucceeded": {
      const a = state.active.find((x) => keyOf(x) === `undo:${event.path}`)
      return {
        state: { ...state, active: without(state.active, `undo:${event.path}`) },
        lines: [
          `${style.green("↺")} ${event.path} ${style.dim(`undone${event.detail ? `: ${event.detail}` : a?.description ? `: ${a.description}` : ""}`)}`
        ]
      }
    }
    case "CompensationSkipped":
      return {
        state: { ...state, active: without(state.active, `undo:${event.path}`) },
        lines: [`${style.dim("○")} ${event.path} ${style.dim(`nothing to undo: ${event.reason}`)}`]
      }
    case "CompensationFailed":
      return {
        state: { ...state, active: without(state.active, `undo:${event.path}`) },
        lines: [`${style.red("✗")} ${style.red(`could not undo ${event.path}`)}: ${Report.errorText(event.error)}`]
      }
    case "RunFinished":
      return {
        state: { ...state, active: [] },
        lines: event.status === "succeeded_with_failures"
          ? [`${style.yellow("⚠")} ${style.yellow(`finished with ${state.itemsFailed} failed item${state.itemsFailed === 1 ? "" : "s"} set aside`)}`]
          : []
      }
    case "RunInterrupted":
      return { state: { ...state, active: [] }, lines: [] }
  }
}

const spinner = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]

/**
 * The live block at time `now`: one line per step in flight.
 *
 * @since 0.1.0
 */
export const renderLive = (
  state: LiveState,
  now: number,
  frame: number,
  style: Style.Style,
  options: LiveOptions & { readonly columns?: number | undefined } = {}
): ReadonlyArray<string> => {
  const columns = Math.max(20, (options.columns ?? 80) - 1)
  return state.active.map((a) => {
    const spin = style.cyan(spinner[frame % spinner.length]!)
    const max = a.phase === "undoing" ? undefined : options.maxAttempts?.(a.step, a.path)
    const attempt = a.attempt > 1 || max !== undefined
      ? `attempt ${a.attempt}${max !== undefined && max >= a.attempt ? `/${max}` : ""}`
      : ""
    const detail = a.retryAt !== undefined && a.retryAt > now
      ? style.yellow(`retrying in ${((a.retryAt - now) / 1000).toFixed(1)} s`)
      : a.phase === "waiting"
      ? style.yellow("retrying")
      : style.dim(Report.formatMillis(Math.max(0, now - a.since)))
    const label = a.phase === "undoing"
      ? `${style.yellow("undo")} ${a.path} ${style.dim(a.description ?? a.step)}`
      : `${a.path} ${style.dim(a.step)}`
    const line = [spin, label, attempt === "" ? "" : style.dim(attempt), detail].filter((s) => s !== "").join("  ")
    return truncate(line, columns)
  })
}

/** Cut a line with escapes to `width` visible characters. */
const truncate = (line: string, width: number): string => {
  if (Style.strip(line).length <= width) return line
  let visible = 0
  let out = ""
  for (let i = 0; i < line.length; i++) {
    const rest = line.slice(i)
    const escape = /^\x1b\[[0-9;?]*[A-Za-z]/.exec(rest)
    if (escape) {
      out += escape[0]
      i += escape[0].length - 1
      continue
    }
    if (visible >= width - 1) break
    out += line[i]
    visible++
  }
  return `${out}…\x1b[0m`
}

// -----------------------------------------------------------------------------
// Displays
// -----------------------------------------------------------------------------

/**
 * A running display: feed it events; `close` clears what is transient.
 *
 * @since 0.1.0
 */
export interface Display {
  readonly event: (event: Run.RunEvent) => Effect.Effect<void>
  readonly close: Effect.Effect<void>
}

/**
 * A display for the mode, on the `Output` in context. The live one redraws ten times a second
 * until the scope closes (or `close`).
 *
 * @since 0.1.0
 */
export const make = (
  mode: Mode,
  options: LiveOptions = {}
): Effect.Effect<Display, never, Output | Scope.Scope> =>
  Effect.gen(function*() {
    const output = yield* Output
    if (mode === "json") {
      return { event: (event) => output.writeOut(`${jsonLine(event)}\n`), close: Effect.void }
    }
    if (mode === "plain") {
      return {
        event: (event) => {
          const line = Report.eventLine(event)
          return line === undefined ? Effect.void : output.writeErr(`${line}\n`)
        },
        close: Effect.void
      }
    }
    const style = output.styleErr
    const state = yield* Ref.make(initialState)
    let drawn = 0
    let frame = 0
    let closed = false
    const draw = (permanent: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        if (closed) return
        const now = yield* Clock.currentTimeMillis
        const block = renderLive(yield* Ref.get(state), now, frame, style, { ...options, columns: output.columns })
        const clear = drawn > 0 ? `\x1b[${drawn}A\r\x1b[J` : ""
        drawn = block.length
        yield* output.writeErr(`${clear}${permanent.map((l) => `${l}\n`).join("")}${block.map((l) => `${l}\n`).join("")}`)
      })
    yield* output.writeErr("\x1b[?25l") // hide the cursor while redrawing
    const ticker = yield* Effect.sync(() => {
      frame++
    }).pipe(
      Effect.zipRight(draw([])),
      Effect.repeat(Schedule.spaced("100 millis")),
      Effect.forkScoped
    )
    const close = Effect.gen(function*() {
      if (closed) return
      yield* Fiber.interrupt(ticker)
      closed = true
      yield* output.writeErr(`${drawn > 0 ? `\x1b[${drawn}A\r\x1b[J` : ""}\x1b[?25h`)
      drawn = 0
    })
    yield* Effect.addFinalizer(() => close)
    return {
      event: (event) =>
        Effect.gen(function*() {
          const current = yield* Ref.get(state)
          const next = applyLive(current, event, style)
          yield* Ref.set(state, next.state)
          yield* draw(next.lines)
        }),
      close
    }
  })
