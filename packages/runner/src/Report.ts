/**
 * Rendering runs for people: the outcome of a run (what failed, what was undone, what is left to
 * undo by hand and with which ids), one line per event, a run's timeline, and the list of runs.
 * Pure functions from records and events to lines, so they are tested with fixed data.
 *
 * @since 0.1.0
 */
import type { Errors } from "@relais/core"
import { Engine, Run } from "@relais/core"
import { Schema } from "effect"
import * as ExitCode from "./ExitCode.js"
import type { Style } from "./Style.js"

/**
 * `120 ms`, `3.2 s`, `2 min 05 s`, `1 h 02 min`.
 *
 * @since 0.1.0
 */
export const formatMillis = (ms: number): string => {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const totalSeconds = Math.round(ms / 1000)
  if (totalSeconds < 3600) {
    return `${Math.floor(totalSeconds / 60)} min ${String(totalSeconds % 60).padStart(2, "0")} s`
  }
  const minutes = Math.floor(totalSeconds / 60)
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`
}

/**
 * A value on one line, cut to `max` characters.
 *
 * @since 0.1.0
 */
export const compact = (value: unknown, max = 160): string => {
  let text: string
  try {
    text = value === undefined ? "undefined" : JSON.stringify(value) ?? String(value)
  } catch {
    text = String(value)
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/**
 * An error as the journal keeps it, on one line: `HTTP 503 Unavailable: message`.
 *
 * @since 0.1.0
 */
export const errorText = (error: Errors.ErrorInfo): string => {
  const status = error.status !== undefined && !error.message.includes(String(error.status)) ? `HTTP ${error.status}: ` : ""
  return `${status}${error.message}`
}

const reasonText: Record<Errors.FailureReason, string> = {
  exhausted: "gave up after its retries",
  non_retryable: "failed with an error that is not retried",
  invalid_input: "was given an invalid input (nothing was called)",
  invalid_output: "returned an output that does not match its schema",
  defect: "crashed (a bug in the step)",
  cancelled: "was stopped by the run's cancellation"
}

/** Whether a cancelled run's step was stopped while it waited (rather than before it started). */
const stoppedDuring = (failure: Run.Failure): boolean => failure.error._tag === "StepCancelled"

/**
 * Why a run failed, in one sentence.
 *
 * @since 0.1.0
 */
export const failureText = (failure: Run.Failure): string =>
  failure.path !== undefined
    ? `step ${failure.path}${failure.step !== undefined && failure.step !== failure.path ? ` (${failure.step})` : ""} ${
      failure.reason !== undefined ? reasonText[failure.reason] : "failed"
    }: ${errorText(failure.error)}`
    : errorText(failure.error)

/**
 * Options of the outcome rendering.
 *
 * @since 0.1.0
 */
export interface OutcomeOptions {
  /** The command that resumes the run, for interrupted runs. */
  readonly resumeCommand?: string | undefined
  /** The command that shows the run's details. */
  readonly showCommand?: string | undefined
}

const indent = (lines: ReadonlyArray<string>, by = "    "): Array<string> => lines.map((l) => `${by}${l}`)

const valueLines = (value: unknown): Array<string> => {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>)
    if (entries.length === 0) return ["(none)"]
    const width = Math.min(24, Math.max(...entries.map(([k]) => k.length)))
    return entries.map(([k, v]) => `${k.padEnd(width)}  ${compact(v, 200)}`)
  }
  return [compact(value, 400)]
}

const leftToUndoLines = (items: ReadonlyArray<Run.LeftToUndo>, style: Style): Array<string> =>
  items.flatMap((item) => [
    `${style.red("✗")} ${style.bold(item.path)} ${style.dim(`(${item.step})`)}`,
    ...indent([
      `to undo:   ${item.description}`,
      `result:    ${compact(item.output, 300)}`,
      `input:     ${compact(item.input, 300)}`,
      `undo error: ${errorText(item.error)}`
    ])
  ])

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

/**
 * How many loop items failed, out of how many: `2 of 10 items failed`, per loop when there are
 * several (`1 of 4 items failed in each, 2 of 10 in contrats`).
 *
 * @since 0.1.0
 */
export const failedItemsSummary = (items: ReadonlyArray<Run.FailedItem>): string => {
  const loops = new Map<string, { failed: number; of: number }>()
  for (const item of items) {
    const loop = loops.get(item.loop) ?? { failed: 0, of: item.items }
    loops.set(item.loop, { failed: loop.failed + 1, of: Math.max(loop.of, item.items) })
  }
  const parts = [...loops].map(([loop, { failed, of }], i) =>
    `${failed} of ${i === 0 ? plural(of, "item") : of}${loops.size > 1 ? ` in ${loop}` : ""}`
  )
  return `${parts.join(", ")} failed`
}

const completedStepsText: Record<Run.FailedItem["completedSteps"], string> = {
  kept: "its completed steps were kept",
  undone: "its completed steps were undone",
  partly_undone: "some of its completed steps could not be undone (below)"
}

const failedItemLines = (items: ReadonlyArray<Run.FailedItem>, style: Style): Array<string> =>
  items.flatMap((item) => [
    `${style.red("✗")} ${style.bold(item.path)}: ${failureText(item.failure)}`,
    ...indent([style.dim(completedStepsText[item.completedSteps])])
  ])

/**
 * The outcome of a run, for the end of `relais run` / `resume` and for `relais runs show`.
 *
 * @since 0.1.0
 */
export const outcomeLines = (record: Run.RunRecord, style: Style, options: OutcomeOptions = {}): Array<string> => {
  const lines: Array<string> = []
  const took = record.finishedAt !== undefined ? ` in ${formatMillis(record.finishedAt - record.createdAt)}` : ""
  const remaining = record.remaining ?? []
  const compensated = (record.compensated ?? []).filter((c) => c.nothingToUndo !== true)
  const nothingToUndo = (record.compensated ?? []).filter((c) => c.nothingToUndo === true)
  const failedItems = record.failedItems ?? []
  switch (record.status) {
    case "succeeded":
      lines.push(
        remaining.length > 0
          ? `${style.yellow("!")} ${style.bold("succeeded")}${took}, but ${remaining.length} item step${remaining.length === 1 ? "" : "s"} could not be undone ${style.dim(`(run ${record.id})`)}`
          : `${style.green("✓")} ${style.bold("succeeded")}${took} ${style.dim(`(run ${record.id})`)}`
      )
      if (record.output !== undefined) lines.push("outputs:", ...indent(valueLines(record.output), "  "))
      break
    case "succeeded_with_failures":
      lines.push(
        `${style.yellow("⚠")} ${style.bold(`finished with ${failedItemsSummary(failedItems)}`)}${took}${
          remaining.length > 0 ? `, and ${plural(remaining.length, "item step")} could not be undone` : ""
        } ${style.dim(`(run ${record.id})`)}`
      )
      if (record.output !== undefined) lines.push("outputs:", ...indent(valueLines(record.output), "  "))
      break
    case "failed":
      lines.push(`${style.red("✗")} ${style.bold("failed")}${took} ${style.dim(`(run ${record.id})`)}`)
      if (record.failure) lines.push(`cause: ${failureText(record.failure)}`)
      lines.push("nothing had to be undone (no completed step has a compensation)")
      break
    case "compensated":
      lines.push(
        `${style.red("✗")} ${style.bold(compensated.length > 0 ? "failed and compensated" : "failed")}${took} ${style.dim(`(run ${record.id})`)}`
      )
      if (record.failure) lines.push(`cause: ${failureText(record.failure)}`)
      if (compensated.length === 0) lines.push("nothing had to be undone (each compensation found nothing to undo)")
      break
    case "compensation_failed":
      lines.push(
        `${style.inverseRed(" COMPENSATION INCOMPLETE ")} ${style.bold("failed")}${took}: ${remaining.length} step${remaining.length === 1 ? "" : "s"} left to undo by hand ${style.dim(`(run ${record.id})`)}`
      )
      if (record.failure) lines.push(`cause: ${failureText(record.failure)}`)
      break
    case "cancelled":
      lines.push(
        `${style.yellow("■")} ${style.bold("cancelled")}${took}${
          remaining.length > 0 ? `: ${remaining.length} step${remaining.length === 1 ? "" : "s"} left as ${remaining.length === 1 ? "it is" : "they are"}` : ""
        } ${style.dim(`(run ${record.id})`)}`
      )
      if (record.failure?.step !== undefined) {
        lines.push(`${stoppedDuring(record.failure) ? "stopped during" : "stopped before"}: ${record.failure.path ?? record.failure.step}`)
      }
      if (compensated.length === 0 && remaining.length === 0) lines.push("nothing had to be undone")
      break
    case "interrupted":
    case "running":
    case "compensating":
      lines.push(
        `${style.yellow("■")} ${style.bold(record.status === "interrupted" ? "interrupted" : record.status)} ${style.dim(`(run ${record.id})`)}: the run stopped before its end and can be resumed`
      )
      if (options.resumeCommand) lines.push(`resume it with: ${options.resumeCommand}`)
      break
  }
  if (failedItems.length > 0) {
    lines.push(style.bold(`failed items (${failedItems.length}):`))
    lines.push(...indent(failedItemLines(failedItems, style), "  "))
  }
  if (compensated.length > 0) {
    lines.push(`undone (${compensated.length}):`)
    for (const c of compensated) {
      lines.push(`  ${style.green("↺")} ${c.path} ${style.dim(`(${c.step})`)}: ${c.detail ?? c.description}`)
    }
  }
  if (nothingToUndo.length > 0) {
    lines.push(`nothing to undo (${nothingToUndo.length}):`)
    for (const c of nothingToUndo) {
      lines.push(`  ${style.dim("○")} ${c.path} ${style.dim(`(${c.step})`)}: ${c.detail ?? "nothing this step did had to be undone"}`)
    }
  }
  if (remaining.length > 0) {
    lines.push(style.bold(`left to undo by hand (${remaining.length}):`))
    lines.push(...indent(leftToUndoLines(remaining, style), "  "))
  }
  if (options.showCommand && (record.status !== "succeeded" || remaining.length > 0)) {
    lines.push(style.dim(`details: ${options.showCommand}`))
  }
  return lines
}

/**
 * The path of a failed loop item (`contrats[3]`), whether the event's path holds the index or not.
 *
 * @since 0.1.0
 */
export const itemPath = (event: { readonly path: string; readonly index: number }): string =>
  event.path.endsWith(`[${event.index}]`) ? event.path : `${event.path}[${event.index}]`

/**
 * One line for an event, stable and grep-friendly (no colour, no timing): the plain progress
 * mode and the timeline of `runs show`. `undefined` for the first attempt of a step, which is
 * the step's start.
 *
 * @since 0.1.0
 */
export const eventLine = (event: Run.RunEvent): string | undefined => {
  switch (event._tag) {
    case "RunStarted":
      return event.execution > 1
        ? `run ${event.runId} resumed: ${event.workflow} (execution ${event.execution})`
        : `run ${event.runId} started: ${event.workflow}`
    case "StepStarted":
      return `step ${event.path} started (${event.step})`
    case "StepReplayed":
      return `step ${event.path} replayed from the journal`
    case "StepSkipped":
      return `step ${event.path} skipped: ${event.reason}`
    case "AttemptStarted":
      return event.attempt > 1 ? `step ${event.path} attempt ${event.attempt} started` : undefined
    case "AttemptFailed":
      return `step ${event.path} attempt ${event.attempt} failed after ${formatMillis(event.durationMillis)}: ${errorText(event.error)}${
        event.retryable ? "" : " (no retry)"
      }`
    case "RetryScheduled":
      return `step ${event.path} retry: attempt ${event.nextAttempt} in ${formatMillis(event.delayMillis)}`
    case "StepReconciled":
      return event.found
        ? `step ${event.path} reconciled: an earlier attempt had succeeded, its result is used`
        : `step ${event.path} reconciled: no result of an earlier attempt`
    case "StepSucceeded":
      return `step ${event.path} succeeded (${event.attempts} attempt${event.attempts === 1 ? "" : "s"}, ${formatMillis(event.durationMillis)})`
    case "StepFailed":
      return `step ${event.path} ${event.reason === "cancelled" ? "stopped" : "failed"} (${event.reason}, ${event.attempts} attempt${event.attempts === 1 ? "" : "s"}, ${
        formatMillis(event.durationMillis)
      }): ${errorText(event.error)}`
    case "ItemFailed":
      return `item ${itemPath(event)} failed${event.compensated ? " and was compensated" : ""}: ${errorText(event.error)}`
    case "CompensationStarted":
      return `undo ${event.path} started: ${event.description}`
    case "CompensationAttemptFailed":
      return `undo ${event.path} attempt ${event.attempt} failed: ${errorText(event.error)}${
        event.nextDelayMillis !== undefined ? `; retry in ${formatMillis(event.nextDelayMillis)}` : ""
      }`
    case "CompensationSucceeded":
      return `undo ${event.path} succeeded (${event.attempts} attempt${event.attempts === 1 ? "" : "s"})${
        event.detail !== undefined ? `: ${event.detail}` : ""
      }`
    case "CompensationSkipped":
      return `undo ${event.path}: nothing to undo, ${event.reason}`
    case "CompensationFailed":
      return `undo ${event.path} FAILED after ${event.attempts} attempt${event.attempts === 1 ? "" : "s"}: ${errorText(event.error)}`
    case "RunFinished":
      return `run ${event.runId} finished: ${event.status} in ${formatMillis(event.durationMillis)}`
    case "RunInterrupted":
      return `run ${event.runId} interrupted`
  }
}

const isoTime = (ms: number): string => new Date(ms).toISOString()

/**
 * The readable timeline of a run's events: one block per execution (the first run and each
 * resume), with offsets from the execution's start.
 *
 * @since 0.1.0
 */
export const timelineLines = (events: ReadonlyArray<Run.StoredEvent>, style: Style): Array<string> => {
  const lines: Array<string> = []
  let origin: number | undefined
  for (const { event } of events) {
    if (event._tag === "RunStarted" || origin === undefined) {
      origin = event.at
      const execution = event._tag === "RunStarted" ? event.execution : undefined
      lines.push(style.bold(`${execution !== undefined && execution > 1 ? `execution ${execution} (resumed)` : "execution 1"} at ${isoTime(event.at)}`))
    }
    const line = eventLine(event)
    if (line === undefined) continue
    const offset = `+${((event.at - origin) / 1000).toFixed(3)}s`.padStart(10)
    const marked = event._tag === "StepFailed" || event._tag === "CompensationFailed" || event._tag === "ItemFailed"
      ? style.red(line)
      : event._tag === "AttemptFailed" || event._tag === "CompensationAttemptFailed" || event._tag === "RetryScheduled"
      ? style.yellow(line)
      : event._tag === "StepSucceeded" || event._tag === "CompensationSucceeded"
      ? style.green(line)
      : line
    lines.push(`${style.dim(offset)}  ${marked}`)
  }
  return lines
}

/**
 * What the runner remembers about where a run went (profile, URLs); see `Targets`.
 *
 * @since 0.1.0
 */
export interface TargetInfo {
  readonly kind: "profile" | "environment" | "sandbox"
  readonly profile?: string | undefined
  readonly production: boolean
  /** The address each plugin pointed at, by plugin name (`Plugin.endpoint`). */
  readonly endpoints: Readonly<Record<string, string>>
  /** The plugins' labels, by name, as they were when the run started (`Plugin.label`). */
  readonly labels?: Readonly<Record<string, string>> | undefined
}

/**
 * The label of a plugin in a target: the one recorded with it, else its name.
 *
 * @since 0.1.0
 */
export const labelIn = (target: TargetInfo, plugin: string): string => target.labels?.[plugin] ?? plugin

/**
 * The addresses of a target: `Label https://…`, in the order they were recorded.
 *
 * @since 0.1.0
 */
export const endpointTexts = (target: TargetInfo): ReadonlyArray<string> =>
  Object.entries(target.endpoints).map(([plugin, url]) => `${labelIn(target, plugin)} ${url}`)

/**
 * A target in a few words: `profile preprod (Label https://…)`.
 *
 * @since 0.1.0
 */
export const targetText = (target: TargetInfo): string => {
  const name = target.kind === "profile"
    ? `profile ${target.profile}${target.production ? " (PRODUCTION)" : ""}`
    : target.kind === "sandbox"
    ? "the in-process sandboxes"
    : "environment variables"
  const urls = endpointTexts(target)
  return urls.length > 0 && target.kind !== "sandbox" ? `${name} (${urls.join(", ")})` : name
}

/**
 * The header of `relais runs show`: the record's facts.
 *
 * @since 0.1.0
 */
export const recordLines = (record: Run.RunRecord, style: Style, target: TargetInfo | undefined): Array<string> => {
  const statusStyle = statusColor(record.status, style)
  const lines = [
    `${style.bold(`run ${record.id}`)}  ${record.workflow}  ${statusStyle(record.status)}`,
    `  started     ${isoTime(record.createdAt)}`,
    ...(record.finishedAt !== undefined
      ? [`  finished    ${isoTime(record.finishedAt)} (${formatMillis(record.finishedAt - record.createdAt)})`]
      : [`  updated     ${isoTime(record.updatedAt)}`]),
    `  executions  ${record.executions}${record.executions > 1 ? " (resumed)" : ""}`
  ]
  if (target !== undefined) lines.push(`  target      ${targetText(target)}`)
  if (record.definition !== undefined) {
    lines.push(`  definition  ${record.definition.source ?? "(inline)"} (sha256 ${record.definition.hash.slice(0, 12)})`)
  }
  if (record.owner !== undefined && !Run.isFinal(record.status)) lines.push(`  owner       ${Engine.describeOwner(record.owner)}`)
  lines.push(`  input       ${compact(record.input, 300)}`)
  return lines
}

/**
 * A colour per status.
 *
 * @since 0.1.0
 */
export const statusColor = (status: Run.RunStatus, style: Style): (text: string) => string =>
  status === "succeeded"
    ? style.green
    : status === "compensation_failed" || status === "failed" || status === "compensated"
    ? style.red
    : status === "succeeded_with_failures"
    ? style.yellow
    : style.yellow

/**
 * The table of `relais runs list`.
 *
 * @since 0.1.0
 */
export const listLines = (records: ReadonlyArray<Run.RunRecord>, style: Style): Array<string> => {
  if (records.length === 0) return ["no runs"]
  const rows = records.map((r) => [
    r.id,
    r.workflow,
    r.status,
    isoTime(r.createdAt).replace("T", " ").replace(/\.\d+Z$/, "Z"),
    r.finishedAt !== undefined ? formatMillis(r.finishedAt - r.createdAt) : "-",
    [
      ...((r.failedItems?.length ?? 0) > 0 ? [failedItemsSummary(r.failedItems!)] : []),
      ...((r.remaining?.length ?? 0) > 0 ? [`${r.remaining!.length} left to undo`] : [])
    ].join("; ")
  ])
  const header = ["RUN", "WORKFLOW", "STATUS", "STARTED", "DURATION", ""]
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  const pad = (cells: ReadonlyArray<string>, color?: (i: number, text: string) => string) =>
    cells.map((c, i) => (color ? color(i, c.padEnd(widths[i]!)) : c.padEnd(widths[i]!))).join("  ").trimEnd()
  return [
    style.dim(pad(header)),
    ...rows.map((row, n) => pad(row, (i, text) => (i === 2 ? statusColor(records[n]!.status, style)(text) : text)))
  ]
}

const encodeRecord = Schema.encodeSync(Run.RunRecord)
const encodeEvent = Schema.encodeSync(Run.RunEvent)

/**
 * A run record as plain JSON.
 *
 * @since 0.1.0
 */
export const recordJson = (record: Run.RunRecord): Record<string, unknown> => {
  const { definition, ...rest } = encodeRecord(record) as Record<string, unknown> & { definition?: { text?: string } }
  // The definition text can be long; keep its hash and source (the text is in the store).
  const { text: _text, ...definitionRest } = (definition ?? {}) as Record<string, unknown>
  return definition === undefined ? rest : { ...rest, definition: definitionRest }
}

/**
 * An event as plain JSON.
 *
 * @since 0.1.0
 */
export const eventJson = (event: Run.RunEvent): Record<string, unknown> => encodeEvent(event) as Record<string, unknown>

/**
 * The final line of `--json` output.
 *
 * @since 0.1.0
 */
export const resultJson = (record: Run.RunRecord, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: "result",
  exitCode: ExitCode.ofRecord(record),
  ...recordJson(record),
  ...extra
})

/**
 * A diagnostic of the YAML loader as `file:line:col: message` (or `file: message` when it has no
 * place in the file, like a bad `--input`).
 *
 * @since 0.1.0
 */
export const diagnosticLine = (d: { readonly file: string; readonly line: number; readonly column: number; readonly message: string }): string =>
  d.line > 0 ? `${d.file}:${d.line}:${d.column}: ${d.message}` : `${d.file}: ${d.message}`
