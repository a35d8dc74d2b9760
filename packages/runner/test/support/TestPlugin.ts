/**
 * A small plugin for the YAML tests: steps shaped like the providers' ones, recording what
 * they did in a `Remote` the test can inspect.
 */
import { Plugin, RetryPolicy, Step } from "@relais/core"
import { Effect, Schema } from "effect"

export class Boom extends Schema.TaggedError<Boom>()("Boom", { status: Schema.Number, message: Schema.String }) {}

export class Remote {
  readonly log: Array<string> = []
  readonly conventions = new Map<number, { readonly ApprenantId: number; readonly SequenceId: number }>()
  nextId = 100
}

export const Sequence = Schema.Struct({ Id: Schema.Number, Nom: Schema.String, Code: Schema.String })
export const Convention = Schema.Struct({ Id: Schema.Number, Code: Schema.String, ApprenantId: Schema.Number, Poste: Schema.optional(Schema.String) })

export const makePlugin = (remote: Remote) =>
  Plugin.make({
    name: "test",
    description: "test steps",
    steps: [
      Step.make({
        name: "test/list-sequences",
        description: "the sequences a learner can be placed in",
        input: Schema.Struct({ apprenantId: Schema.Int }),
        output: Schema.Array(Sequence),
        idempotent: true,
        run: ({ apprenantId }) =>
          Effect.sync(() => {
            remote.log.push(`list ${apprenantId}`)
            return apprenantId === 0 ? [] : [{ Id: 7, Nom: "23-26 SEQUENCE", Code: "S1" }, { Id: 8, Nom: "Other", Code: "S2" }]
          })
      }),
      Step.make({
        name: "test/create-convention",
        description: "create a convention",
        input: Schema.Struct({
          ApprenantId: Schema.Int.pipe(Schema.positive()),
          TypeConventionCode: Schema.Literal("APP", "STA", "PRO"),
          SequenceId: Schema.Int,
          Poste: Schema.optional(Schema.String)
        }),
        output: Convention,
        retry: RetryPolicy.constant({ maxAttempts: 2, initialDelay: 1 }),
        run: (input) =>
          Effect.sync(() => {
            const Id = remote.nextId++
            remote.conventions.set(Id, { ApprenantId: input.ApprenantId, SequenceId: input.SequenceId })
            remote.log.push(`create ${Id}`)
            return { Id, Code: `CS${Id}`, ApprenantId: input.ApprenantId, ...(input.Poste ? { Poste: input.Poste } : {}) }
          }),
        compensate: {
          description: "delete the convention",
          run: (_input, output) => Effect.sync(() => {
            remote.conventions.delete(output.Id)
            remote.log.push(`delete ${output.Id}`)
          })
        }
      }),
      Step.make({
        name: "test/delete-convention",
        description: "delete a convention",
        input: Schema.Struct({ Id: Schema.Int }),
        output: Schema.Struct({ deleted: Schema.Number }),
        run: ({ Id }) => Effect.sync(() => {
          remote.conventions.delete(Id)
          remote.log.push(`delete-by-step ${Id}`)
          return { deleted: Id }
        })
      }),
      Step.make({
        name: "test/notify",
        description: "send a message",
        input: Schema.Struct({ message: Schema.String, tags: Schema.optional(Schema.Array(Schema.String)) }),
        output: Schema.Struct({ sent: Schema.Boolean, message: Schema.String }),
        run: ({ message }) => Effect.sync(() => {
          remote.log.push(`notify ${message}`)
          return { sent: true, message }
        })
      }),
      Step.make({
        name: "test/fail",
        description: "fails",
        input: Schema.Struct({ message: Schema.String }),
        output: Schema.Void,
        retry: RetryPolicy.none,
        run: ({ message }) => Effect.fail(new Boom({ status: 400, message }))
      })
    ]
  })
