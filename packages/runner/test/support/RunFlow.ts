/**
 * Load a workflow text with the test plugin and run it to its end on the in-memory engine: the
 * final record and the events of the run.
 */
import { Engine, Plugin, Redactor, RunStore } from "@relais/core"
import { Effect, Layer } from "effect"
import * as Load from "../../src/yaml/Load.js"
import { makePlugin, Remote } from "./TestPlugin.js"

export const runFlow = (text: string, inputs: Record<string, unknown>, remote = new Remote()) =>
  Effect.gen(function*() {
    const loaded = yield* Load.loadText(text, "flow.yaml")
    const engine = yield* Engine.Engine
    const runId = yield* engine.startUnknown(loaded.workflow, inputs, { definition: loaded.definition })
    const record = yield* engine.await(runId)
    const events = yield* Effect.flatMap(RunStore.RunStore, (s) => s.events(runId))
    return { record, events: events.map((e) => e.event) }
  }).pipe(
    Effect.provide(Engine.layerMemory().pipe(Layer.provide(Redactor.layer))),
    Effect.provide(Plugin.layer([makePlugin(remote)]))
  )
