/** Child of bench/engine.ts for the resume latency figure. */
import { Effect, Layer, Logger, LogLevel, Schema } from "effect"
import * as Fs from "node:fs"
import { Engine, Redactor, Step, Workflow } from "@relais/core"

const [mode, db, marks] = process.argv.slice(2) as [string, string, string]
const mark = (line: string) => Fs.appendFileSync(marks, `${line} ${Date.now()}\n`)
if (mode === "baseline") {
  mark("baseline")
  process.exit(0)
}

const first = Step.make({
  name: "bench/first",
  description: "first",
  input: Schema.Struct({}),
  output: Schema.Struct({}),
  run: () => Effect.succeed({})
})
const second = Step.make({
  name: "bench/second",
  description: "second",
  input: Schema.Struct({}),
  output: Schema.Struct({}),
  run: () =>
    mode === "start"
      ? Effect.zipRight(Effect.sync(() => mark("waiting")), Effect.never)
      : Effect.sync(() => {
        mark("resumed-step")
        return {}
      })
})
const workflow = Workflow.make({
  name: "bench-resume",
  input: Schema.Struct({}),
  output: Schema.Struct({}),
  run: () => Effect.zipRight(Workflow.step(first, {}), Workflow.step(second, {}))
})

const layer = Engine.layerSqlite({ filename: db, workflows: [workflow] }).pipe(Layer.provide(Redactor.layer))
const program = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  mark("engine-ready")
  if (mode === "start") {
    yield* engine.start(workflow, {}, { runId: "bench-resume" })
    return yield* Effect.never
  }
  return yield* engine.resume("bench-resume")
}).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Warning))

Effect.runPromise(program).then(() => process.exit(0), (e) => {
  console.error(e)
  process.exit(1)
})
