/**
 * Test helpers for the steps: a sandbox on a random port, a client whose credentials are
 * registered with the redactor, and the in-memory engine; runs of code-defined workflows with
 * their stored record and events.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Engine, Redactor, RetryPolicy, type Run, RunStore, Step, Workflow } from "@relais/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { AimairaClient } from "../src/AimairaClient.js"
import * as AimairaConfig from "../src/AimairaConfig.js"
import * as AimairaPlugin from "../src/AimairaPlugin.js"
import * as Errors from "../src/Errors.js"
import { AimairaSandbox } from "../src/sandbox/index.js"

/** The sandbox, a client for it (Basic auth, secrets registered), the memory engine, a redactor. */
export const stepsLayer = (options: AimairaSandbox.Options = {}, auth?: (sandbox: AimairaSandbox.Service) => AimairaConfig.Auth) => {
  const client = Layer.unwrapEffect(
    Effect.map(AimairaSandbox.AimairaSandbox, (sandbox) =>
      AimairaPlugin.layer({
        url: sandbox.apiUrl,
        auth: auth?.(sandbox) ?? AimairaConfig.basic(sandbox.credentials.username, sandbox.credentials.password)
      }))
  )
  return Layer.mergeAll(client, Engine.layerMemory()).pipe(
    Layer.provideMerge(AimairaSandbox.layer(options)),
    Layer.provideMerge(NodeHttpClient.layer),
    Layer.provideMerge(Redactor.layer),
    Layer.orDie
  )
}

/** A step that always fails for good (a 400), to make a run compensate. */
export const failStep = Step.make({
  name: "test/fail",
  description: "fails with a validation error",
  input: Schema.Struct({}),
  output: Schema.Struct({}),
  run: () => Effect.fail(new Errors.Validation({ status: 400, method: "POST", path: "/test", detail: "refused on purpose" }))
})

/** Short retries for fault tests. */
export const fast = { retry: RetryPolicy.constant({ maxAttempts: 3, initialDelay: 50 }) } as const

let counter = 0

/** Runs a workflow body to its end; returns the stored record and events. */
export const runFlow = <O>(body: Effect.Effect<O, unknown, Workflow.RunContext | AimairaClient>) =>
  Effect.gen(function*() {
    const workflow = Workflow.make({
      name: `test-${++counter}`,
      input: Schema.Struct({}),
      output: Schema.Unknown,
      run: () => body
    })
    const record = yield* Engine.run(workflow, {})
    const store = yield* RunStore.RunStore
    const events = (yield* store.events(record.id)).map((stored) => stored.event)
    return { record, events, output: record.output as O }
  })

/** The events of one kind. */
export const ofTag = <T extends Run.RunEvent["_tag"]>(events: ReadonlyArray<Run.RunEvent>, tag: T) =>
  events.filter((e): e is Extract<Run.RunEvent, { _tag: T }> => e._tag === tag)

/** The journaled (encoded) output of a step invocation. */
export const journaled = (events: ReadonlyArray<Run.RunEvent>, path: string): any =>
  ofTag(events, "StepSucceeded").find((e) => e.path === path)?.output

/** The sandbox's data, without the counters (which only move forward). */
export const data = Effect.map(
  Effect.flatMap(AimairaSandbox.AimairaSandbox, (sandbox) => sandbox.state),
  ({ collections, documents }) => ({ collections, documents })
)

/** Rows of one collection. */
export const table = (collection: string) =>
  Effect.map(Effect.flatMap(AimairaSandbox.AimairaSandbox, (sandbox) => sandbox.state), (state) => state.collections[collection] ?? [])

/** Adds fault rules in the kit's text syntax. */
export const fault = (text: string) =>
  Effect.flatMap(AimairaSandbox.AimairaSandbox, (sandbox) => Effect.orDie(sandbox.faults.addText(text)))

/** Removes every fault rule. */
export const clearFaults = Effect.flatMap(AimairaSandbox.AimairaSandbox, (sandbox) => sandbox.faults.clear)
