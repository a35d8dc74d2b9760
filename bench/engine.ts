/**
 * Engine benchmark (not a test): the overhead of a durable step against the same steps as
 * plain Effect calls, for workflows of 1, 10 and 100 no-op steps, one run at a time and 8 at
 * a time; and the time from process start to a resumed step.
 *
 * run: pnpm bench   (or: node --conditions=@relais/source --import tsx bench/engine.ts)
 */
import { Effect, Layer, Logger, LogLevel, Schema } from "effect"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Engine, Redactor, RetryPolicy, Step, Workflow } from "@relais/core"

const noop = Step.make({
  name: "bench/noop",
  description: "does nothing",
  input: Schema.Struct({ i: Schema.Number }),
  output: Schema.Struct({ i: Schema.Number }),
  retry: RetryPolicy.none,
  idempotent: true,
  run: ({ i }) => Effect.succeed({ i })
})

const workflowOf = (steps: number) =>
  Workflow.make({
    name: `bench-${steps}`,
    input: Schema.Struct({ k: Schema.Number }),
    output: Schema.Struct({ sum: Schema.Number }),
    run: () =>
      Effect.gen(function*() {
        let sum = 0
        for (let i = 0; i < steps; i++) {
          const out = yield* Workflow.step(noop, { i }, { id: `s${i}` })
          sum += out.i
        }
        return { sum }
      })
  })

const plain = (steps: number) =>
  Effect.gen(function*() {
    let sum = 0
    for (let i = 0; i < steps; i++) sum += (yield* noop.run({ i })).i
    return { sum }
  })

const time = async (f: () => Promise<unknown>) => {
  const start = performance.now()
  await f()
  return performance.now() - start
}

const sizes = [1, 10, 100]
const rounds = (steps: number) => (steps === 100 ? 10 : steps === 10 ? 60 : 300)

const measure = (label: string, layer: Layer.Layer<Engine.Engine, unknown>) =>
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const rows: Array<string> = []
    for (const steps of sizes) {
      const workflow = workflowOf(steps)
      const runOne = () => Effect.flatMap(engine.start(workflow, { k: 1 }), engine.await)
      // warm-up
      for (let i = 0; i < 3; i++) yield* runOne()
      for (const concurrency of [1, 8]) {
        const n = rounds(steps)
        const startedAt = performance.now()
        yield* Effect.forEach(Array.from({ length: n }), () => runOne(), { concurrency, discard: true })
        const elapsed = performance.now() - startedAt
        const plainStart = performance.now()
        yield* Effect.forEach(Array.from({ length: n }), () => plain(steps), { concurrency, discard: true })
        const plainElapsed = performance.now() - plainStart
        const perStep = (elapsed - plainElapsed) / (n * steps)
        rows.push(
          `${label.padEnd(8)} ${String(steps).padStart(4)} steps  x${concurrency}  runs=${String(n).padStart(3)}  ` +
            `total=${elapsed.toFixed(0).padStart(6)} ms  plain=${plainElapsed.toFixed(1).padStart(6)} ms  ` +
            `overhead/step=${perStep.toFixed(3)} ms (wall clock per step executed)`
        )
      }
    }
    return rows
  }).pipe(Effect.provide(layer))

const resumeLatency = async () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-bench-resume-"))
  const child = Path.join(import.meta.dirname, "resume-child.ts")
  const args = ["--conditions=@relais/source", "--import", "tsx", child]
  const db = Path.join(dir, "relais.db")
  const marks = Path.join(dir, "marks.log")
  // 1. A process starts a run and is killed while its second step waits.
  const first = spawn(process.execPath, [...args, "start", db, marks], { stdio: "inherit" })
  while (!(Fs.existsSync(marks) && Fs.readFileSync(marks, "utf8").includes("waiting"))) {
    await new Promise((r) => setTimeout(r, 10))
  }
  first.kill("SIGKILL")
  await new Promise((r) => first.on("exit", r))
  // 2. A baseline: the same process, up to the point where the engine would start.
  const baselineStart = Date.now()
  await new Promise((r) => spawn(process.execPath, [...args, "baseline", db, marks], { stdio: "inherit" }).on("exit", r))
  const baseline = Number(Fs.readFileSync(marks, "utf8").match(/baseline (\d+)/)![1]) - baselineStart
  // 3. A new process resumes it: time from spawn to the resumed step running.
  const spawnedAt = Date.now()
  const second = spawn(process.execPath, [...args, "resume", db, marks], { stdio: "inherit" })
  await new Promise((r) => second.on("exit", r))
  const lastMark = (name: string) => Number([...Fs.readFileSync(marks, "utf8").matchAll(new RegExp(`${name} (\\d+)`, "g"))].pop()![1])
  const resumedAt = lastMark("resumed-step")
  const engineReady = lastMark("engine-ready")
  return { total: resumedAt - spawnedAt, baseline, engineToStep: resumedAt - engineReady, startToEngine: engineReady - spawnedAt }
}

const main = async () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-bench-"))
  const quiet = Logger.withMinimumLogLevel(LogLevel.Warning)
  const layers: Array<[string, Layer.Layer<Engine.Engine, unknown>]> = [
    ["memory", Engine.layerMemory().pipe(Layer.provide(Redactor.layer))],
    ["sqlite", Engine.layerSqlite({ filename: Path.join(dir, "normal.db") }).pipe(Layer.provide(Redactor.layer))],
    [
      "sqlite-f",
      Engine.layerSqlite({ filename: Path.join(dir, "full.db"), synchronous: "full" }).pipe(Layer.provide(Redactor.layer))
    ]
  ]
  console.log(`relais engine benchmark: node ${process.version}, ${Os.cpus().length} cpus, ${Os.cpus()[0]?.model}`)
  console.log("sqlite = WAL + synchronous=NORMAL (default); sqlite-f = WAL + synchronous=FULL (fsync per commit)\n")
  for (const [label, layer] of layers) {
    const rows = await Effect.runPromise(measure(label, layer).pipe(quiet))
    rows.forEach((row) => console.log(row))
  }
  const latency = await resumeLatency()
  console.log(
    `\nresume: spawn -> resumed step ${latency.total} ms ` +
      `(spawn -> engine ready ${latency.startToEngine} ms, engine ready -> resumed step ${latency.engineToStep} ms; ` +
      `a bare process importing the same modules: ${latency.baseline} ms)`
  )
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
