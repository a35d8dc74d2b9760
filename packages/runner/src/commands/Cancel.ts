/**
 * `relais cancel <runId>`: stop a running or waiting run wherever it executes, then undo what it
 * completed (`--no-compensate` leaves it as it is). No step of the run starts any more; a step
 * that waits (a poll, a sleep, a retry's delay) is stopped at once, one that may have written
 * something finishes first. The run ends `cancelled`, with what was undone and what is left.
 *
 * - On PostgreSQL the request is written to the store; the worker executing the run stops it.
 * - On SQLite, a run executing in another process (`relais serve`, `relais run`) is stopped by
 *   that process, which reads the request from the store; an interrupted run (no process
 *   executes it) is continued here, as `relais resume` does, to stop at its next step.
 *
 * @since 0.1.0
 */
import { Engine, Errors, Plugin, Run, RunStore } from "@relais/core"
import { Duration, Effect, Layer, Option } from "effect"
import * as Execute from "../Execute.js"
import * as ExitCode from "../ExitCode.js"
import * as Output from "../Output.js"
import * as Progress from "../Progress.js"
import * as Store from "../Store.js"
import * as Cluster from "./Cluster.js"
import * as Common from "./Common.js"
import * as Resume from "./Resume.js"
import { storeExists } from "./Runs.js"

/**
 * The flags of `relais cancel`.
 *
 * @since 0.1.0
 */
export interface Flags extends Resume.Flags {
  readonly noCompensate: boolean
}

/** Wait until a run executing elsewhere has ended, reading its record. */
const ended = (runId: string): Effect.Effect<Run.RunRecord, Errors.RunNotFound | Errors.StoreError, RunStore.RunStore> =>
  Effect.gen(function*() {
    const store = yield* RunStore.RunStore
    for (;;) {
      const record = yield* store.get(runId)
      if (Run.isFinal(record.status)) return record
      yield* Effect.sleep(Duration.millis(250))
    }
  })

/**
 * The handler of `relais cancel`.
 *
 * @since 0.1.0
 */
export const handler = (flags: Flags) =>
  Effect.gen(function*() {
    const compensate = !flags.noCompensate
    const mode = Progress.chooseMode({ json: flags.json, interactive: (yield* Output.Output).interactive })
    const location = yield* Store.locate(flags.store, flags.config)
    const hints = (id: string) => ({
      resumeCommand: (_: string) => `relais resume ${id}${Store.flag(location)}`,
      showCommand: (_: string) => `relais runs show ${id}${Store.flag(location)}`
    })
    // Cancelled as asked: done (3 when something is left to undo by hand). A run that ended
    // otherwise before the request took effect says how it ended.
    const finish = (record: Run.RunRecord) =>
      Effect.zipRight(
        Execute.report(record, { mode, ...hints(record.id) }),
        ExitCode.set(
          record.status === "cancelled"
            ? ((record.remaining?.length ?? 0) > 0 && compensate ? ExitCode.incomplete : ExitCode.succeeded)
            : ExitCode.ofRecord(record)
        )
      )

    if (location.kind === "postgres") {
      yield* Cluster.checkFlags(flags, location)
      const registry = yield* Plugin.PluginRegistry
      const record = yield* Effect.gen(function*() {
        yield* Output.note(`asking the workers to cancel run ${flags.runId}${compensate ? "" : " (nothing undone)"}; waiting for it to stop`)
        return yield* Engine.cancel(flags.runId, { compensate })
      }).pipe(
        Effect.catchTag("RunNotFound", () => Effect.fail(Cluster.notFound(flags.runId, location))),
        Effect.provide(Cluster.layerClient(location, "relais cancel", registry)),
        Effect.scoped
      )
      return yield* finish(record)
    }

    const file = location.file
    if (!(yield* storeExists(file))) {
      return yield* new Errors.RunNotFound({ runId: flags.runId, hint: `there is no store at ${file}` })
    }
    // The store, without its engine: another process may hold it (and execute the run).
    const storeLayer = RunStore.layerSql.pipe(Layer.provideMerge(Engine.layerSqliteClient({ filename: file })))
    const asked = yield* Effect.gen(function*() {
      const store = yield* RunStore.RunStore
      const record = yield* store.get(flags.runId)
      if (Run.isFinal(record.status)) return yield* new Errors.RunEnded({ runId: record.id, status: record.status })
      yield* store.requestCancel(record.id, compensate)
      if (record.status === "interrupted") return Option.none<Run.RunRecord>()
      // Executing in another process: it stops the run (at once if it waits, else before its next step).
      yield* Output.note(
        `asked ${record.owner === undefined ? "the process executing it" : Engine.describeOwner(record.owner)} to cancel run ${record.id}${
          compensate ? "" : " (nothing undone)"
        }; waiting for it to stop`
      )
      return Option.some(yield* ended(record.id))
    }).pipe(Effect.provide(storeLayer), Effect.scoped)
    if (Option.isSome(asked)) return yield* finish(asked.value)
    // Interrupted: nobody executes it. Continue it here; it stops at its first step not done yet.
    yield* Output.note(`run ${flags.runId} is interrupted: continuing it here to cancel it${compensate ? " and undo what it did" : ""}`)
    yield* Resume.handler(flags)
    const record = yield* Effect.flatMap(RunStore.RunStore, (store) => store.get(flags.runId)).pipe(Effect.provide(storeLayer), Effect.scoped)
    if (record.status === "cancelled") {
      yield* ExitCode.set((record.remaining?.length ?? 0) > 0 && compensate ? ExitCode.incomplete : ExitCode.succeeded)
    }
  }).pipe(Common.jsonErrors(flags.json), Common.provideRegistry({ sandbox: flags.sandbox, configFile: flags.config }))
