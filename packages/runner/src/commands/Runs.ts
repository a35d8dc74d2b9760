/**
 * `relais runs list` and `relais runs show <runId>`: the run history, read from the store only
 * (no engine, no lock: they work while a run is going on).
 *
 * @since 0.1.0
 */
import { Args, Command, Options } from "@effect/cli"
import * as FileSystem from "@effect/platform/FileSystem"
import { Engine, Errors, Run, RunStore } from "@relais/core"
import { Effect, Layer, Option } from "effect"
import { Output } from "../Output.js"
import * as Report from "../Report.js"
import * as Targets from "../Targets.js"
import * as Common from "./Common.js"

/**
 * The run store of an existing file, read-only in spirit (its tables are created if missing).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerStore = (filename: string) =>
  RunStore.layerSql.pipe(Layer.provideMerge(Engine.layerSqliteClient({ filename })))

/**
 * Whether the store file exists (reading commands do not create one).
 *
 * @since 0.1.0
 */
export const storeExists = (filename: string): Effect.Effect<boolean, never, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.exists(filename).pipe(Effect.orElseSucceed(() => false)))

const status = Options.choice("status", Run.RunStatus.literals).pipe(
  Options.withDescription("Only runs with this status (repeatable)"),
  Options.repeated
)
const workflow = Options.text("workflow").pipe(Options.withDescription("Only runs of this workflow (its name)"), Options.optional)
const limit = Options.integer("limit").pipe(Options.withDescription("At most this many runs, newest first"), Options.withDefault(20))

/**
 * The handler of `relais runs list`.
 *
 * @since 0.1.0
 */
export const listHandler = (flags: {
  readonly status: ReadonlyArray<Run.RunStatus>
  readonly workflow: Option.Option<string>
  readonly limit: number
  readonly json: boolean
  readonly store: Option.Option<string>
}) =>
  Effect.gen(function*() {
    const output = yield* Output
    const store = yield* Common.storeFile(flags.store)
    if (!(yield* storeExists(store.file))) {
      if (flags.json) yield* output.writeOut("[]\n")
      else yield* output.writeOut(`no runs (there is no run store at ${store.file} yet)\n`)
      return
    }
    const records = yield* Effect.flatMap(RunStore.RunStore, (s) =>
      s.list({
        ...(flags.status.length > 0 ? { status: flags.status } : {}),
        workflow: Option.getOrUndefined(flags.workflow),
        limit: Math.max(1, flags.limit)
      })).pipe(Effect.provide(layerStore(store.file)))
    if (flags.json) {
      yield* output.writeOut(`${JSON.stringify(records.map(Report.recordJson))}\n`)
      return
    }
    yield* output.writeOut(`${Report.listLines(records, output.styleOut).join("\n")}\n`)
  })

/**
 * The handler of `relais runs show`.
 *
 * @since 0.1.0
 */
export const showHandler = (flags: { readonly runId: string; readonly json: boolean; readonly store: Option.Option<string> }) =>
  Effect.gen(function*() {
    const output = yield* Output
    const store = yield* Common.storeFile(flags.store)
    if (!(yield* storeExists(store.file))) return yield* new Errors.RunNotFound({ runId: flags.runId })
    const { events, record, target } = yield* Effect.gen(function*() {
      const runs = yield* RunStore.RunStore
      const record = yield* runs.get(flags.runId)
      const events = yield* runs.events(flags.runId)
      const target = yield* Targets.find(flags.runId)
      return { record, events, target }
    }).pipe(Effect.provide(layerStore(store.file)))
    if (flags.json) {
      yield* output.writeOut(`${JSON.stringify({
        type: "run",
        run: Report.recordJson(record),
        target: Option.getOrNull(target),
        events: events.map((e) => ({ seq: e.seq, ...Report.eventJson(e.event) }))
      })}\n`)
      return
    }
    const style = output.styleOut
    const lines = [
      ...Report.recordLines(record, style, Option.getOrUndefined(target)),
      "",
      style.bold("timeline"),
      ...(events.length > 0 ? Report.timelineLines(events, style).map((l) => `  ${l}`) : ["  (no events)"]),
      "",
      style.bold("outcome"),
      ...Report.outcomeLines(record, style, {
        resumeCommand: `relais resume ${record.id}${Common.storeFlag(store)}${
          Option.match(target, {
            onNone: () => "",
            onSome: (t) => t.kind === "sandbox" ? " --sandbox" : t.kind === "profile" ? ` --profile ${t.profile}` : ""
          })
        }`
      }).map((l) => `  ${l}`)
    ]
    yield* output.writeOut(`${lines.join("\n")}\n`)
  }).pipe(Common.jsonErrors(flags.json))

const list = Command.make(
  "list",
  { status, workflow, limit, json: Common.json, store: Common.store },
  listHandler
).pipe(Command.withDescription("List runs, newest first"))

const show = Command.make(
  "show",
  { runId: Args.text({ name: "runId" }).pipe(Args.withDescription("The run's id")), json: Common.json, store: Common.store },
  showHandler
).pipe(Command.withDescription("Show a run: its record, the timeline of its events, and its outcome"))

/**
 * @since 0.1.0
 */
export const command = Command.make("runs").pipe(
  Command.withDescription("The run history (read-only)"),
  Command.withSubcommands([list, show])
)
