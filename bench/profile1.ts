import { Effect, Layer, Logger, LogLevel, Schema } from "effect"
import * as Path from "node:path"
import * as Os from "node:os"
import * as Fs from "node:fs"
import { Engine, Redactor, RetryPolicy, Step, Workflow } from "@relais/core"
const noop = Step.make({ name: "bench/noop", description: "", input: Schema.Struct({ i: Schema.Number }), output: Schema.Struct({ i: Schema.Number }), retry: RetryPolicy.none, run: ({ i }) => Effect.succeed({ i }) })
const wf = Workflow.make({ name: "p1", input: Schema.Struct({}), output: Schema.Struct({}), run: () => Effect.as(Workflow.step(noop, { i: 1 }, { id: "s" }), {}) })
const kind = process.argv[2] ?? "sqlite"
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-prof-"))
const layer = (kind === "memory" ? Engine.layerMemory() : Engine.layerSqlite({ filename: Path.join(dir, "p.db") })).pipe(Layer.provide(Redactor.layer))
Effect.runPromise(Effect.gen(function*() {
  const engine = yield* Engine.Engine
  for (let r = 0; r < 20; r++) yield* Effect.flatMap(engine.start(wf, {}), engine.await)
  const t = performance.now()
  for (let r = 0; r < 300; r++) yield* Effect.flatMap(engine.start(wf, {}), engine.await)
  console.log(kind, ((performance.now() - t) / 300).toFixed(3), "ms/run")
}).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Warning)))
