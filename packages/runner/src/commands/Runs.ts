/**
 * `relais runs list` and `relais runs show <runId>`: the run history, read from the store only
 * (no engine, no lock: they work while a run is going on).
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Engine, Errors, Run, RunStore } from "@relais/core"
import { Effect, Layer, Option } from "effect"
import { Output } from "../Output.js"
import * as Report from "../Report.js"
import * as Targets from "../Targets.js"
import * as Store from "../Store.js"
import * as Common from "./Common.js"

/**
 * The run store of an existing file, opened read-only: nothing is written (a read-only store, or
 * one a run is using, can be read), and a file without tables is an empty history.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerStore = (filename: string) =>
  RunStore.layerSqlReadonly.pipe(Layer.provideMerge(Engine.layerSqliteClient({ filename, readonly: true })))

/**
 * The history of a store, read only: a SQLite file or a PostgreSQL database.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerHistory = (location: Store.Location) =>
  location.kind === "sqlite"
    ? layerStore(location.file)
    : RunStore.layerSqlReadonly.pipe(
      Layer.provideMerge(Engine.layerPostgresClient({ url: location.url, applicationName: "relais runs", maxConnections: 2 }))
    )

/**
 * Whether the store exists: a SQLite file that is there (reading commands do not create one);
 * a PostgreSQL database is reached when it is read.
 *
 * @since 0.1.0
 */
export const historyExists = (location: Store.Location): Effect.Effect<boolean, never, FileSystem.FileSystem> =>
  location.kind === "sqlite" ? storeExists(location.file) : Effect.succeed(true)

/**
 * Whether the store file exists (reading commands do not create one).
 *
 * @since 0.1.0
 */
export const storeExists = (filename: string): Effect.Effect<boolean, never, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.exists(filename).pipe(Effect.orElseSucceed(() => false)))

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
    const location = yield* Store.locate(flags.store)
    const storeName = Store.describe(location)
    if (!(yield* historyExists(location))) {
      if (flags.json) yield* output.writeOut("[]\n")
      else yield* output.writeOut(`no runs (there is no run store at ${storeName} yet)\n`)
      return
    }
    const { runs: records, unreadable } = yield* Effect.flatMap(RunStore.RunStore, (s) =>
      s.browse({
        ...(flags.status.length > 0 ? { status: flags.status } : {}),
        workflow: Option.getOrUndefined(flags.workflow),
        limit: Math.max(1, flags.limit)
      })).pipe(Effect.provide(layerHistory(location)))
    if (unreadable.length > 0) {
      // One damaged row does not hide the others: they are listed, and the damage is told.
      const n = unreadable.length
      yield* output.writeErr(
        `${output.styleErr.yellow("warning:")} ${n} run${n === 1 ? "" : "s"} of ${storeName} could not be read (damaged record${n === 1 ? "" : "s"}): ${
          unreadable.map((u) => u.id).join(", ")
        }\n${unreadable.map((u) => `  ${u.problem}\n`).join("")}`
      )
    }
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
    const location = yield* Store.locate(flags.store)
    if (!(yield* historyExists(location))) return yield* new Errors.RunNotFound({ runId: flags.runId })
    const { events, record, target, unreadable } = yield* Effect.gen(function*() {
      const runs = yield* RunStore.RunStore
      const record = yield* runs.get(flags.runId)
      const { events, unreadable } = yield* runs.timeline(flags.runId)
      const target = yield* Targets.find(flags.runId)
      return { record, events, unreadable, target }
    }).pipe(Effect.provide(layerHistory(location)))
    if (unreadable.length > 0) {
      // The timeline shows what could be read; the damage is told.
      const n = unreadable.length
      yield* output.writeErr(
        `${output.styleErr.yellow("warning:")} ${n} event${n === 1 ? "" : "s"} of run ${record.id} could not be read (damaged row${n === 1 ? "" : "s"} in ${Store.describe(location)}):\n${
          unreadable.map((u) => `  ${u.problem}\n`).join("")
        }`
      )
    }
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
        resumeCommand: `relais resume ${record.id}${Store.flag(location)}${
          Option.match(target, {
            onNone: () => "",
            onSome: (t) => t.kind === "sandbox" ? " --sandbox" : t.kind === "profile" ? ` --profile ${t.profile}` : ""
          })
        }`
      }).map((l) => `  ${l}`)
    ]
    yield* output.writeOut(`${lines.join("\n")}\n`)
  }).pipe(Common.jsonErrors(flags.json))
