/**
 * Driving a run to its end on the engine in context, for `run` and `resume`: subscribe to its
 * events before it starts, show progress, wait, and report the outcome. Ctrl-C leaves the run
 * `interrupted` (the engine records it when its scope closes) and says how to resume it.
 *
 * @since 0.1.0
 */
import type { Run } from "@relais/core"
import { Engine } from "@relais/core"
import { Deferred, Effect, Fiber, Stream, type Scope } from "effect"
import * as ExitCode from "./ExitCode.js"
import { Output } from "./Output.js"
import * as Progress from "./Progress.js"
import * as Report from "./Report.js"

/**
 * @since 0.1.0
 */
export interface Options {
  readonly mode: Progress.Mode
  readonly live?: Progress.LiveOptions | undefined
  /** `relais resume <id> ...` with the flags that reach the same store and target. */
  readonly resumeCommand: (runId: string) => string
  /** `relais runs show <id> ...`. */
  readonly showCommand: (runId: string) => string
  /**
   * The run executes in other processes (workers on a shared store): its events are read from
   * the store (`Engine.Service.watch`), and stopping here does not stop it.
   */
  readonly remote?: boolean | undefined
}

/**
 * What `begin` returns: the run's id, and the effect that waits for its end.
 *
 * @since 0.1.0
 */
export interface Started<E> {
  readonly runId: string
  readonly done: Effect.Effect<Run.RunRecord, E>
}

/**
 * Start (or resume) a run with `begin`, follow it, print its outcome, and return the exit code.
 *
 * @since 0.1.0
 */
export const follow = <E1, E2>(
  options: Options,
  begin: (engine: Engine.Service) => Effect.Effect<Started<E1>, E2>
): Effect.Effect<number, E1 | E2, Engine.Engine | Output | Scope.Scope> =>
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const output = yield* Output
    // Subscribe first: nothing the run publishes is missed. (A remote run's events are read
    // from the store, from its first.)
    const events = options.remote === true ? Stream.empty : yield* engine.subscribe
    const display = yield* Progress.make(options.mode, options.live)
    const runIdKnown = yield* Deferred.make<string>()
    const consumer = yield* Deferred.await(runIdKnown).pipe(
      Effect.flatMap((runId) =>
        (options.remote === true ? engine.watch(runId).pipe(Stream.catchAll(() => Stream.empty)) : events).pipe(
          Stream.filter((event) => event.runId === runId),
          Stream.takeUntil((event) => event._tag === "RunFinished" || event._tag === "RunInterrupted"),
          Stream.runForEach(display.event)
        )
      ),
      Effect.forkScoped
    )
    let runId: string | undefined
    const record = yield* Effect.gen(function*() {
      const started = yield* begin(engine)
      runId = started.runId
      yield* Deferred.succeed(runIdKnown, started.runId)
      const record = yield* started.done
      // The last events are published before the run's waiter settles: let the display show them.
      yield* Fiber.join(consumer).pipe(Effect.timeout("2 seconds"), Effect.ignore)
      yield* display.close
      return record
    }).pipe(
      Effect.onInterrupt(() =>
        Effect.gen(function*() {
          yield* display.close
          if (runId === undefined) return
          if (options.remote === true) {
            // Only this process stops: the workers go on with the run.
            const show = options.showCommand(runId)
            if (options.mode === "json") {
              yield* output.writeOut(`${JSON.stringify({ type: "detached", runId, status: "running", show })}\n`)
            }
            yield* output.writeErr(
              `\n${output.styleErr.yellow("■ stopped following")} run ${runId}: it goes on on the workers\nsee where it is with: ${show}\n`
            )
            return
          }
          const resume = options.resumeCommand(runId)
          if (options.mode === "json") {
            yield* output.writeOut(
              `${JSON.stringify({ type: "result", runId, status: "interrupted", exitCode: ExitCode.interrupted, resume })}\n`
            )
          }
          yield* output.writeErr(
            `\n${output.styleErr.yellow("■ interrupted")}: run ${runId} stops here and can be resumed (steps in flight are checked again on resume)\nresume it with: ${resume}\n`
          )
        })
      )
    )
    yield* report(record, options)
    return ExitCode.ofRecord(record)
  })

/**
 * Print a run's outcome: the JSON result line, or the human summary on stdout.
 *
 * @since 0.1.0
 */
export const report = (
  record: Run.RunRecord,
  options: Pick<Options, "mode" | "resumeCommand" | "showCommand">
): Effect.Effect<void, never, Output> =>
  Effect.gen(function*() {
    const output = yield* Output
    const interrupted = ExitCode.ofRecord(record) === ExitCode.interrupted
    if (options.mode === "json") {
      yield* output.writeOut(
        `${JSON.stringify(Report.resultJson(record, interrupted ? { resume: options.resumeCommand(record.id) } : {}))}\n`
      )
      return
    }
    const lines = Report.outcomeLines(record, output.styleOut, {
      resumeCommand: options.resumeCommand(record.id),
      showCommand: options.showCommand(record.id)
    })
    yield* output.writeOut(`${lines.join("\n")}\n`)
  })
