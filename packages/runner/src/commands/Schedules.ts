/**
 * `relais schedules [<file>...] [--workflows <dir>]`: each schedule the workflow files declare
 * (`triggers: - schedule:`), with its workflow, cron, time zone, missed-slot policy and its next
 * fire times in its own time zone, offset shown (a DST change is visible). Files are checked as
 * `relais validate` checks them: a file with a problem is reported, located, and the exit code
 * is 2. Needs no credentials and no database.
 *
 * @since 0.1.0
 */
import { Clock, Effect, Either, Option } from "effect"
import { Temporal } from "temporal-polyfill"
import * as Config from "../Config.js"
import { UsageError } from "../Errors.js"
import * as ExitCode from "../ExitCode.js"
import { Output } from "../Output.js"
import * as Report from "../Report.js"
import * as Cron from "../schedule/Cron.js"
import * as Workflows from "../serve/Workflows.js"
import * as Load from "../yaml/Load.js"
import * as Common from "./Common.js"

/**
 * The flags of `relais schedules`.
 *
 * @since 0.1.0
 */
export interface Flags {
  readonly files: ReadonlyArray<string>
  readonly workflows: Option.Option<string>
  readonly count: number
  readonly config: Option.Option<string>
  readonly json: boolean
}

/** A fire time as people read it in the schedule's zone: `2027-03-28 03:00 +02:00 (Sun)`. */
const shown = (slot: Temporal.ZonedDateTime): string => {
  const two = (n: number) => String(n).padStart(2, "0")
  const day = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][slot.dayOfWeek - 1]
  return `${slot.year}-${two(slot.month)}-${two(slot.day)} ${two(slot.hour)}:${two(slot.minute)} ${slot.offset} (${day})`
}

/**
 * The handler of `relais schedules`.
 *
 * @since 0.1.0
 */
export const handler = (flags: Flags) =>
  Effect.gen(function*() {
    const output = yield* Output
    // Without files: the directory relais serve would read (--workflows, else serve.workflows).
    const configured = flags.files.length > 0 || flags.workflows._tag === "Some"
      ? undefined
      : Option.getOrUndefined(Option.flatMap(yield* Config.load(flags.config), (c) => Option.fromNullable(c.serve?.workflows)))
    const directory = flags.workflows._tag === "Some" ? flags.workflows.value : configured
    if (flags.files.length === 0 && directory === undefined) {
      return yield* new UsageError({
        reason: "relais schedules needs workflow files, or --workflows <dir> (or serve.workflows in the configuration)"
      })
    }
    const loaded: Array<Load.LoadedWorkflow> = []
    const rejected: Array<{ readonly file: string; readonly problems: ReadonlyArray<string> }> = []
    for (const file of flags.files) {
      const result = yield* Effect.either(Load.loadFile(file))
      if (Either.isRight(result)) loaded.push(result.right)
      else {
        const error = result.left
        rejected.push({
          file,
          problems: error._tag === "InvalidWorkflow"
            ? error.diagnostics.map((d) => Report.diagnosticLine(d))
            : [Report.diagnosticLine({ file, line: 0, column: 0, message: `cannot read it: ${error.reason}` })]
        })
      }
    }
    if (directory !== undefined) {
      const catalog = yield* Workflows.loadDirectory(directory)
      loaded.push(...catalog.workflows.values())
      rejected.push(...catalog.rejected)
    }

    const now = Temporal.Instant.fromEpochMilliseconds(yield* Clock.currentTimeMillis)
    // (Not through the Scheduler module: this command loads no SQL.)
    const rows = loaded.flatMap((workflow) =>
      workflow.triggers.flatMap((trigger) =>
        trigger._tag !== "Schedule" ? [] : [{
          workflow: workflow.name,
          file: workflow.file,
          trigger: trigger.name ?? trigger.index,
          cron: trigger.cron.text,
          timezone: trigger.timezone,
          missed: trigger.missed,
          inputs: trigger.inputs,
          next: Cron.upcoming(trigger.cron, now, trigger.timezone, flags.count)
        }]
      )
    )

    for (const r of rejected) {
      if (flags.json) yield* output.writeOut(`${JSON.stringify({ type: "invalid", file: r.file, problems: r.problems })}\n`)
      yield* output.writeErr(r.problems.map((p) => `${p}\n`).join(""))
      yield* output.writeErr(`${output.styleErr.red("✗")} ${r.file}: ${r.problems.length} problem${r.problems.length === 1 ? "" : "s"}\n`)
    }

    if (flags.json) {
      for (const row of rows) {
        yield* output.writeOut(`${JSON.stringify({
          type: "schedule",
          workflow: row.workflow,
          file: row.file,
          trigger: row.trigger,
          cron: row.cron,
          timezone: row.timezone,
          missed: row.missed,
          inputs: row.inputs,
          next: row.next.map((slot) => slot.toString({ timeZoneName: "never", smallestUnit: "minute" }))
        })}\n`)
      }
    } else if (rows.length === 0) {
      yield* output.writeOut(`no schedules in ${loaded.length} workflow${loaded.length === 1 ? "" : "s"}\n`)
    } else {
      const style = output.styleOut
      for (const row of rows) {
        yield* output.writeOut(
          `${style.bold(row.workflow)} ${style.dim(`(${row.file}, trigger ${row.trigger})`)}\n` +
            `  cron ${row.cron}  zone ${row.timezone}  missed ${row.missed}\n` +
            (row.next.length === 0 ? "  never fires\n" : row.next.map((slot) => `  ${shown(slot)}\n`).join(""))
        )
      }
    }
    yield* ExitCode.set(rejected.length === 0 ? ExitCode.succeeded : ExitCode.invalid)
  }).pipe(Common.provideRegistry({ sandbox: false, configFile: flags.config }))
