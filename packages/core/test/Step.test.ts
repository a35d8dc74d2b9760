import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Schema } from "effect"
import { RetryPolicy, Step } from "../src/index.js"

const Input = Schema.Struct({
  ApprenantId: Schema.Int.pipe(Schema.positive()),
  Contact: Schema.Struct({ Email: Schema.String.pipe(Schema.pattern(/@/)) }),
  Tags: Schema.Array(Schema.String)
})

const step = Step.make({
  name: "test/create-thing",
  description: "Create a thing",
  input: Input,
  output: Schema.Struct({ Id: Schema.Number }),
  run: () => Effect.succeed({ Id: 1 })
})

describe("Step", () => {
  it("requires provider/step-name names", () => {
    expect(Step.isValidName("aimaira/create-convention")).toBe(true)
    for (const bad of ["createConvention", "aimaira/", "/x", "Aimaira/create", "aimaira/create_convention", "a/b/c"]) {
      expect(Step.isValidName(bad)).toBe(false)
    }
    expect(() =>
      Step.make({ name: "nope", description: "", input: Schema.Void, output: Schema.Void, run: () => Effect.void })
    ).toThrow(/provider\/step-name/)
  })

  it("has sensible defaults", () => {
    expect(step.retry).toEqual(RetryPolicy.defaultPolicy)
    expect(step.compensation).toBeUndefined()
    expect(step.reconcile).toBeUndefined()
    expect(step.idempotent).toBe(false)
  })

  it.effect("decodes an input, naming every misplaced field", () =>
    Effect.gen(function*() {
      const ok = yield* Step.decodeInput(step, "p", { ApprenantId: 3, Contact: { Email: "a@b.fr" }, Tags: [] })
      expect(ok.ApprenantId).toBe(3)
      const error = yield* Effect.flip(
        Step.decodeInput(step, "convention", { ApprenantId: -1, Contact: { Email: "nope" }, Tags: [1], Extra: true })
      )
      expect(error._tag).toBe("StepInputError")
      const locations = error.issues.map((i) => i.location).sort()
      expect(locations).toEqual(["ApprenantId", "Contact.Email", "Extra", "Tags[0]"])
      expect(error.message).toContain(`invalid input for step "convention" (test/create-thing)`)
      expect(error.message).toContain("Tags[0]: Expected string, actual 1")
    }))

  it.effect("encodes and decodes outputs for the journal", () =>
    Effect.gen(function*() {
      expect(yield* Step.encodeOutput(step, "p", { Id: 4 })).toEqual({ Id: 4 })
      const error = yield* Effect.flip(Step.decodeOutput(step, "p", { Id: "4" }))
      expect(error.message).toContain("Id: Expected number")
    }))

  it("overrides retry, timeout and compensation for one use", () => {
    const withCompensation = Step.make({
      name: "test/with-undo",
      description: "",
      input: Schema.Void,
      output: Schema.Void,
      run: () => Effect.void,
      compensate: { description: "undo", run: () => Effect.void }
    })
    const noRetry = Step.withOptions(withCompensation, { retry: RetryPolicy.none, timeout: "2 seconds", compensate: false })
    expect(noRetry.retry.maxAttempts).toBe(1)
    expect(noRetry.compensation).toBeUndefined()
    expect(Duration.toMillis(noRetry.timeout)).toBe(2000)
    expect(withCompensation.compensation?.retry).toEqual(RetryPolicy.defaultCompensationPolicy)
  })

  it("renders the JSON Schema of its input and output", () => {
    const { input, output } = Step.jsonSchemas(step)
    expect(input).toMatchObject({ type: "object", required: ["ApprenantId", "Contact", "Tags"] })
    expect(JSON.stringify(input)).toContain("Email")
    expect(output).toMatchObject({ type: "object", required: ["Id"] })
  })
})
