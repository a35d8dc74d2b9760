/**
 * Runs Campus Skills steps through the core engine (in memory) against a real sandbox on a
 * random loopback port, with the client built by the plugin's layer (which registers the token
 * with the shared `Redactor`).
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Engine, Redactor, type Run, RunStore, Step, Workflow } from "@relais/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { type CampusSkillsClient, CampusSkillsPlugin, Contract } from "../src/index.js"
import { CampusSkillsSandbox } from "../src/sandbox/index.js"
import { wire } from "./fixtures.js"

export type Services = Engine.Engine | RunStore.RunStore | CampusSkillsClient.CampusSkillsClient | Redactor.Redactor

/** The engine, the run store, the redactor and a client of `url` (token registered). */
export const services = (options: {
  readonly url: string
  readonly token: Redacted.Redacted<string> | string
  /** The configuration says the target is a sandbox (allows reset-sync). */
  readonly sandbox?: boolean | undefined
}): Layer.Layer<Services, unknown> =>
  Layer.mergeAll(
    CampusSkillsPlugin.layer({
      url: options.url,
      token: typeof options.token === "string" ? Redacted.make(options.token) : options.token,
      // Far above any answer of the local sandbox, even on a loaded machine: a test that wants a
      // timeout sets the step's own (shorter) one.
      timeout: Duration.seconds(30),
      ...(options.sandbox === undefined ? {} : { sandbox: options.sandbox })
    }).pipe(Layer.provide(NodeHttpClient.layerUndici)),
    Engine.layerMemory()
  ).pipe(Layer.provideMerge(Redactor.layer))

/**
 * Starts a sandbox and runs `body` with the services pointed at it.
 */
export const withSandbox = <A, E>(
  options: CampusSkillsSandbox.Options,
  body: (sandbox: CampusSkillsSandbox.Service) => Effect.Effect<A, E, Services>,
  client: { readonly token?: string | undefined; readonly sandbox?: boolean | undefined } = {}
): Effect.Effect<A, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const sandbox = yield* CampusSkillsSandbox.make(options)
    return yield* body(sandbox).pipe(
      Effect.provide(services({ url: sandbox.url, token: client.token ?? sandbox.token, sandbox: client.sandbox }))
    )
  })

/** Runs a workflow to its end; returns its record and events. */
export const runFlow = <I, O, R>(workflow: Workflow.Workflow<I, O, R>, input: I) =>
  Effect.gen(function*() {
    const record = yield* Engine.run(workflow, input)
    const store = yield* RunStore.RunStore
    yield* store.flush
    const events = (yield* store.events(record.id)).map((e) => e.event)
    return { record, events }
  })

/** A workflow of one step invocation (with its options, e.g. a short retry policy). */
export const single = <I, O, E, R>(
  step: Step.Step<string, I, O, E, R>,
  options?: Workflow.StepOptions<I, O, R>
) =>
  Workflow.make({
    name: `single ${step.name}`,
    input: step.input,
    output: step.output,
    run: (input: I) => Workflow.step(step, input, options)
  })

/** Runs one step through the engine. */
export const runStep = <I, O, E, R>(
  step: Step.Step<string, I, O, E, R>,
  input: I,
  options?: Workflow.StepOptions<I, O, R>
) => runFlow(single(step, options), input)

export const ofTag = <T extends Run.RunEvent["_tag"]>(events: ReadonlyArray<Run.RunEvent>, tag: T) =>
  events.filter((e): e is Extract<Run.RunEvent, { _tag: T }> => e._tag === tag)

/** A typed contract from the fixtures. */
export const contract = (n: number, overrides: Record<string, unknown> = {}) =>
  Schema.decodeUnknownSync(Contract.Contract)(wire(n, overrides))

/** A step that always fails (not retryable), to trigger compensation. */
class Boom extends Schema.TaggedError<Boom>()("Boom", { message: Schema.String }) {}
export const boom = Step.make({
  name: "test/boom",
  description: "fails",
  input: Schema.Struct({}),
  output: Schema.Struct({}),
  run: () => Effect.fail(new Boom({ message: "a later step failed" }))
})

/** The active contracts the sandbox holds, by code, in wire form. */
export const activeByCode = (sandbox: CampusSkillsSandbox.Service) =>
  Effect.map(sandbox.state, (state) => new Map(state.active.map((c) => [c.codeContrat, c.contrat] as const)))

export const codes = (list: ReadonlyArray<{ readonly codeContrat: string }>) => list.map((c) => c.codeContrat)
