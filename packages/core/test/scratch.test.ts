import { it } from "@effect/vitest"
import { Effect, Layer, Schema, Option } from "effect"
import { expect } from "vitest"
import { Engine, Redactor, RetryPolicy, Step, Workflow, RunStore } from "../src/index.js"

class Boom extends Schema.TaggedError<Boom>()("Boom", { status: Schema.Number }) {}

const log: string[] = []
const a = Step.make({
  name: "test/a",
  description: "a",
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ id: Schema.Number }),
  run: ({ n }) => Effect.sync(() => { log.push(`a:${n}`); return { id: n * 10 } }),
  compensate: { description: "undo a", run: (_i, o) => Effect.sync(() => { log.push(`undo-a:${o.id}`) }) }
})
let failures = 2
const b = Step.make({
  name: "test/b",
  description: "b",
  input: Schema.Struct({ id: Schema.Number }),
  output: Schema.Struct({ ok: Schema.Boolean }),
  retry: RetryPolicy.constant({ maxAttempts: 2, initialDelay: 1 }),
  run: ({ id }) => Effect.suspend(() => { log.push(`b:${id}`); return failures-- > 0 ? Effect.fail(new Boom({ status: 503 })) : Effect.succeed({ ok: true }) })
})

const wf = Workflow.make({
  name: "wf",
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ ok: Schema.Boolean }),
  run: ({ n }) => Effect.gen(function*() {
    const x = yield* Workflow.step(a, { n })
    return yield* Workflow.step(b, { id: x.id })
  })
})

it.scopedLive("scratch", () => Effect.gen(function*() {
  const rec = yield* Engine.run(wf, { n: 1 })
  console.log(JSON.stringify(rec, null, 1), log)
  const store = yield* RunStore.RunStore
  const evs = yield* store.events(rec.id)
  console.log(evs.map(e => e.event._tag + " " + ("path" in e.event ? e.event.path : "")).join("\n"))
  expect(rec.status).toBe("compensated")
}).pipe(Effect.provide(Engine.layerMemory().pipe(Layer.provide(Redactor.layer)))))

it.scopedLive("scratch sqlite", () => Effect.gen(function*() {
  failures = 2
  log.length = 0
  const t0 = Date.now()
  const rec = yield* Engine.run(wf, { n: 2 })
  console.log(rec.status, log, Date.now() - t0)
  const store = yield* RunStore.RunStore
  const evs = yield* store.events(rec.id)
  console.log(evs.map(e => e.event._tag + " " + ("path" in e.event ? e.event.path : "")).join("\n"))
  expect(rec.status).toBe("compensated")
}).pipe(Effect.provide(Engine.layerSqlite({ filename: `/tmp/relais-scratch-${Date.now()}.db` }).pipe(Layer.provide(Redactor.layer)))), 60000)
