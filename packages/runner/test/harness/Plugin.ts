/**
 * A plugin for the CLI tests: steps that create and undo things in a `Ledger`, fail on demand,
 * fail to be undone, or wait at a gate (to interrupt a run in flight).
 */
import { Plugin, RetryPolicy, Step } from "@relais/core"
import { Deferred, Effect, Schema } from "effect"

export class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", {
  status: Schema.Number,
  message: Schema.String
}) {}

export class Ledger {
  readonly created = new Map<number, string>()
  readonly log: Array<string> = []
  nextId = 1
  gate: Deferred.Deferred<void> | undefined
  entered: Deferred.Deferred<void> | undefined
}

export const makePlugin = (ledger: Ledger) =>
  Plugin.make({
    name: "demo",
    description: "test steps for the CLI",
    steps: [
      Step.make({
        name: "demo/create",
        description: "create a record",
        input: Schema.Struct({ name: Schema.String }),
        output: Schema.Struct({ Id: Schema.Number, name: Schema.String }),
        retry: RetryPolicy.constant({ maxAttempts: 2, initialDelay: 5 }),
        run: ({ name }) =>
          Effect.sync(() => {
            const Id = ledger.nextId++
            ledger.created.set(Id, name)
            ledger.log.push(`create ${Id} ${name}`)
            return { Id, name }
          }),
        compensate: {
          description: "delete the record",
          retry: RetryPolicy.constant({ maxAttempts: 2, initialDelay: 5 }),
          run: (_input, output) =>
            Effect.sync(() => {
              ledger.created.delete(output.Id)
              ledger.log.push(`delete ${output.Id}`)
            })
        }
      }),
      Step.make({
        name: "demo/create-sticky",
        description: "create a record that cannot be deleted",
        input: Schema.Struct({ name: Schema.String }),
        output: Schema.Struct({ Id: Schema.Number, name: Schema.String }),
        retry: RetryPolicy.none,
        run: ({ name }) =>
          Effect.sync(() => {
            const Id = ledger.nextId++
            ledger.created.set(Id, name)
            return { Id, name }
          }),
        compensate: {
          description: "delete the sticky record",
          retry: RetryPolicy.constant({ maxAttempts: 2, initialDelay: 5 }),
          run: () => Effect.fail(new Unavailable({ status: 500, message: "the record is locked" }))
        }
      }),
      Step.make({
        name: "demo/fail",
        description: "fail with a retryable error",
        input: Schema.Struct({ message: Schema.String }),
        output: Schema.Struct({ ok: Schema.Boolean }),
        retry: RetryPolicy.constant({ maxAttempts: 2, initialDelay: 10 }),
        run: ({ message }) => Effect.fail(new Unavailable({ status: 503, message }))
      }),
      Step.make({
        name: "demo/echo",
        description: "return its input",
        input: Schema.Struct({ message: Schema.String }),
        output: Schema.Struct({ message: Schema.String }),
        idempotent: true,
        run: ({ message }) => Effect.succeed({ message })
      }),
      Step.make({
        name: "demo/wait",
        description: "wait at the ledger's gate",
        input: Schema.Struct({}),
        output: Schema.Struct({ waited: Schema.Boolean }),
        idempotent: true,
        run: () =>
          Effect.gen(function*() {
            if (ledger.entered) yield* Deferred.succeed(ledger.entered, undefined)
            if (ledger.gate) yield* Deferred.await(ledger.gate)
            return { waited: true }
          })
      })
    ]
  })
