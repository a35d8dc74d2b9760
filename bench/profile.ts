import { Effect, Layer, Logger, LogLevel, Schema } from "effect"
import * as Path from "node:path"
import * as Os from "node:os"
import * as Fs from "node:fs"
import { Engine, Redactor, RetryPolicy, Step, Workflow } from "@relais/core"

const noop = Step.make({
  name: "bench/noop", description: "", input: Schema.Struct({ i: Schema.Number }), output: Schema.Struct({ i: Schema.Number }),
  retry: RetryPolicy.none, run: ({ i }) => Effect.succeed({ i })
})
const wf = Workflow.make({
  name: "p", input: Schema.Struct({}), output: Schema.Struct({}),
  run: () => Effect.gen(function*() { for (let i = 0; i < 100; i++) yield* Workflow.step(noop, { i }, { id: `s${i}` }); return {} })
})
const kind = process.argv[2] ?? "memory"
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-prof-"))
const layer = (kind === "memory" ? Engine.layerMemory() : Engine.layerSqlite({ filename: Path.join(dir, "p.db") })).pipe(Layer.provide(Redactor.layer))
const program = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  for (let r = 0; r < 3; r++) yield* Effect.flatMap(engine.start(wf, {}), engine.await)
  const runs = Number(process.argv[3] ?? 20)
  const t = performance.now()
  const cpu = process.cpuUsage()
  for (let r = 0; r < runs; r++) yield* Effect.flatMap(engine.start(wf, {}), engine.await)
  const used = process.cpuUsage(cpu)
  console.log(kind, ((performance.now() - t) / (runs * 100)).toFixed(3), "ms/step,", ((used.user + used.system) / 1000 / (runs * 100)).toFixed(3), "CPU ms/step")
}).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Warning))
Effect.runPromise(program)
