import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Fiber, Schedule, Schema, TestClock } from "effect"
import { RetryPolicy } from "../src/index.js"

class Http extends Schema.TaggedError<Http>()("Http", {
  status: Schema.Number,
  retryAfterMillis: Schema.optional(Schema.Number)
}) {}
class Transport extends Schema.TaggedError<Transport>()("Transport", {}) {}
class NotFound extends Schema.TaggedError<NotFound>()("NotFound", { status: Schema.Number }) {}

describe("RetryPolicy", () => {
  it("computes constant, linear and exponential delays capped at maxDelay", () => {
    const constant = RetryPolicy.constant({ maxAttempts: 5, initialDelay: 100 })
    const linear = RetryPolicy.linear({ maxAttempts: 5, initialDelay: 100, maxDelay: 250 })
    const exponential = RetryPolicy.exponential({ maxAttempts: 6, initialDelay: 100, maxDelay: 1000, factor: 3 })
    expect([1, 2, 3].map((n) => RetryPolicy.baseDelayMillis(constant, n))).toEqual([100, 100, 100])
    expect([1, 2, 3].map((n) => RetryPolicy.baseDelayMillis(linear, n))).toEqual([100, 200, 250])
    expect([1, 2, 3, 4].map((n) => RetryPolicy.baseDelayMillis(exponential, n))).toEqual([100, 300, 900, 1000])
  })

  it("classifies failures by status, status class, tag and timeout", () => {
    const policy = RetryPolicy.constant({ maxAttempts: 3, retryOn: [429, "5xx", "Transport", "timeout"] })
    expect(RetryPolicy.isRetryable(policy, new Http({ status: 429 }))).toBe(true)
    expect(RetryPolicy.isRetryable(policy, new Http({ status: 502 }))).toBe(true)
    expect(RetryPolicy.isRetryable(policy, new Http({ status: 400 }))).toBe(false)
    expect(RetryPolicy.isRetryable(policy, new NotFound({ status: 404 }))).toBe(false)
    expect(RetryPolicy.isRetryable(policy, new Transport())).toBe(true)
    expect(RetryPolicy.isRetryable(policy, { _tag: "StepTimeout" })).toBe(true)
    expect(RetryPolicy.isRetryable(policy, new Error("plain"))).toBe(false)
  })

  it("the default policy does not retry definitive answers", () => {
    const policy = RetryPolicy.defaultPolicy
    for (const status of [400, 401, 403, 404, 409, 422]) {
      expect(RetryPolicy.isRetryable(policy, new Http({ status }))).toBe(false)
    }
    for (const status of [408, 429, 500, 502, 503, 504]) {
      expect(RetryPolicy.isRetryable(policy, new Http({ status }))).toBe(true)
    }
  })

  it.effect("jitter keeps a delay within [delay/2, delay]", () =>
    Effect.gen(function*() {
      const policy = RetryPolicy.constant({ maxAttempts: 3, initialDelay: 1000, jitter: true })
      for (let i = 0; i < 50; i++) {
        const delay = yield* RetryPolicy.delayMillis(policy, 1, new Transport())
        expect(delay).toBeGreaterThanOrEqual(500)
        expect(delay).toBeLessThanOrEqual(1000)
      }
    }))

  it.effect("Retry-After wins over a shorter backoff, and a longer backoff wins over it", () =>
    Effect.gen(function*() {
      const policy = RetryPolicy.constant({ maxAttempts: 3, initialDelay: 200 })
      expect(yield* RetryPolicy.delayMillis(policy, 1, new Http({ status: 429, retryAfterMillis: 5000 }))).toBe(5000)
      expect(yield* RetryPolicy.delayMillis(policy, 1, new Http({ status: 429, retryAfterMillis: 50 }))).toBe(200)
    }))

  it.effect("as a Schedule: retries until success, waiting the backoff", () =>
    Effect.gen(function*() {
      let calls = 0
      const policy = RetryPolicy.exponential({ maxAttempts: 4, initialDelay: 100, maxDelay: 10_000 })
      const fiber = yield* Effect.fork(
        Effect.retry(
          Effect.suspend(() => ++calls < 3 ? Effect.fail(new Http({ status: 503 })) : Effect.succeed("ok")),
          RetryPolicy.toSchedule(policy)
        )
      )
      yield* TestClock.adjust(99)
      expect(calls).toBe(1)
      yield* TestClock.adjust(1)
      expect(calls).toBe(2)
      yield* TestClock.adjust(199)
      expect(calls).toBe(2)
      yield* TestClock.adjust(1)
      expect(yield* Fiber.join(fiber)).toBe("ok")
      expect(calls).toBe(3)
    }))

  it.effect("as a Schedule: stops after maxAttempts with the last error", () =>
    Effect.gen(function*() {
      let calls = 0
      const fiber = yield* Effect.fork(
        Effect.either(Effect.retry(
          Effect.suspend(() => Effect.fail(new Http({ status: 503, retryAfterMillis: ++calls }))),
          RetryPolicy.toSchedule(RetryPolicy.constant({ maxAttempts: 3, initialDelay: 10 }))
        ))
      )
      yield* TestClock.adjust(1000)
      const result = yield* Fiber.join(fiber)
      expect(calls).toBe(3)
      expect(Either.isLeft(result) && result.left.retryAfterMillis).toBe(3)
    }))

  it.effect("as a Schedule: a non-retryable failure stops at once", () =>
    Effect.gen(function*() {
      let calls = 0
      const result = yield* Effect.either(Effect.retry(
        Effect.suspend(() => (++calls, Effect.fail(new NotFound({ status: 404 })))),
        RetryPolicy.toSchedule(RetryPolicy.constant({ maxAttempts: 5, initialDelay: 10 }))
      ))
      expect(calls).toBe(1)
      expect(Either.isLeft(result)).toBe(true)
    }))

  it.effect("as a Schedule: counts attempts made before (a resumed step) against maxAttempts", () =>
    Effect.gen(function*() {
      let calls = 0
      const fiber = yield* Effect.fork(Effect.either(Effect.retry(
        Effect.suspend(() => (++calls, Effect.fail(new Transport()))),
        RetryPolicy.toSchedule(RetryPolicy.constant({ maxAttempts: 4, initialDelay: 10 }), { attemptsUsed: 3 })
      )))
      yield* TestClock.adjust(1000)
      yield* Fiber.join(fiber)
      expect(calls).toBe(2)
    }))

  it.effect("as a Schedule: outputs the delay it waits (for progress displays)", () =>
    Effect.gen(function*() {
      const delays: Array<number> = []
      const fiber = yield* Effect.fork(Effect.either(Effect.retry(
        Effect.fail(new Http({ status: 429, retryAfterMillis: 3000 })),
        RetryPolicy.toSchedule(RetryPolicy.constant({ maxAttempts: 3, initialDelay: 100 })).pipe(
          Schedule.tapOutput((decision) => Effect.sync(() => delays.push(decision.delayMillis)))
        )
      )))
      yield* TestClock.adjust(10_000)
      yield* Fiber.join(fiber)
      expect(delays.slice(0, 2)).toEqual([3000, 3000])
    }))

  it("is plain data that round-trips through JSON", () => {
    const policy = RetryPolicy.exponential({ maxAttempts: 5, initialDelay: "500 millis", maxDelay: "30 seconds", jitter: true })
    const json = JSON.parse(JSON.stringify(Schema.encodeSync(RetryPolicy.RetryPolicy)(policy)))
    expect(Schema.decodeUnknownSync(RetryPolicy.RetryPolicy)(json)).toEqual(policy)
    expect(RetryPolicy.describe(policy)).toContain("up to 5 attempts")
  })

  it("rejects nonsense", () => {
    expect(() => Schema.decodeUnknownSync(RetryPolicy.RetryPolicy)({ maxAttempts: 0, backoff: "constant", initialDelayMillis: 1, maxDelayMillis: 1 })).toThrow()
    expect(() => Schema.decodeUnknownSync(RetryPolicy.RetryPolicy)({ maxAttempts: 2, backoff: "fibonacci", initialDelayMillis: 1, maxDelayMillis: 1 })).toThrow()
  })
})
