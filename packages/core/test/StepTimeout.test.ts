/**
 * Step and compensation timeouts on the real clock (the engine's own timer, see
 * src/internal/timeout.ts); Workflow.test.ts covers them under a TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Either, Exit, Fiber, FiberRef, Layer, Schema, TestContext } from "effect"
import { timeoutFail } from "../src/internal/timeout.js"
import { Engine, Redactor, RetryPolicy, Run, RunStore, Step, Workflow } from "../src/index.js"

const TestEngine = Engine.layerMemory().pipe(Layer.provide(Redactor.layer))

const events = (runId: string) =>
  Effect.map(Effect.flatMap(RunStore.RunStore, (store) => store.events(runId)), (all) => all.map((e) => e.event))

const ofTag = <T extends Run.RunEvent["_tag"]>(all: ReadonlyArray<Run.RunEvent>, tag: T) =>
  all.filter((e): e is Extract<Run.RunEvent, { _tag: T }> => e._tag === tag)

const wf = (run: () => Effect.Effect<unknown, unknown, Workflow.RunContext>) =>
  Workflow.make({ name: "timeouts", input: Schema.Struct({}), output: Schema.Unknown, run })

describe("step timeouts on the real clock", () => {
  it.live("an attempt past its timeout is interrupted and fails with StepTimeout, retried as its policy says", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const slow = Step.make({
        name: "test/slow",
        description: "takes too long",
        input: Schema.Struct({}),
        output: Schema.Struct({}),
        timeout: "50 millis",
        retry: RetryPolicy.constant({ maxAttempts: 2, initialDelay: 10, retryOn: ["timeout"] }),
        run: () =>
          Effect.sleep("10 seconds").pipe(
            Effect.as({}),
            Effect.onInterrupt(() => Effect.sync(() => log.push("interrupted")))
          )
      })
      const started = Date.now()
      const record = yield* Engine.run(wf(() => Workflow.step(slow, {})), {})
      expect(Date.now() - started).toBeLessThan(9_000)
      expect(record.status).toBe("failed")
      expect(record.failure).toMatchObject({ reason: "exhausted", error: { _tag: "StepTimeout" } })
      const all = yield* events(record.id)
      expect(ofTag(all, "AttemptFailed").map((e) => [e.attempt, e.error._tag])).toEqual([
        [1, "StepTimeout"],
        [2, "StepTimeout"]
      ])
      // Each attempt was interrupted (and its interruption waited for) before the next began.
      expect(log).toEqual(["interrupted", "interrupted"])
    }).pipe(Effect.provide(TestEngine)))

  it.live("an attempt within its timeout keeps its outcome, its failure, and what it set in fiber refs", () =>
    Effect.gen(function*() {
      const seen = FiberRef.unsafeMake("none")
      const quick = Step.make({
        name: "test/quick",
        description: "answers in time",
        input: Schema.Struct({}),
        output: Schema.Struct({ n: Schema.Number }),
        timeout: "5 seconds",
        retry: RetryPolicy.none,
        run: () => Effect.as(Effect.zipRight(Effect.sleep(5), FiberRef.set(seen, "set in the step")), { n: 1 })
      })
      const failing = Step.make({
        name: "test/failing",
        description: "fails in time",
        input: Schema.Struct({}),
        output: Schema.Struct({}),
        timeout: "5 seconds",
        retry: RetryPolicy.none,
        run: () => Effect.fail(new Error("no"))
      })
      const record = yield* Engine.run(
        wf(() =>
          Effect.gen(function*() {
            const out = yield* Workflow.step(quick, {})
            const inherited = yield* FiberRef.get(seen)
            yield* Workflow.step(failing, {}).pipe(Effect.ignore)
            return { n: out.n, inherited }
          })
        ),
        {}
      )
      expect(record.status).toBe("succeeded")
      expect(record.output).toEqual({ n: 1, inherited: "set in the step" })
      const all = yield* events(record.id)
      expect(ofTag(all, "StepFailed").map((e) => e.error.message)).toEqual(["no"])
    }).pipe(Effect.provide(TestEngine)))

  it.live("interrupting the caller interrupts the timed effect and waits for it; no timer fires after", () =>
    Effect.gen(function*() {
      const entered = yield* Deferred.make<void>()
      const log: Array<string> = []
      const fiber = yield* Effect.fork(
        timeoutFail(
          Effect.zipRight(Deferred.succeed(entered, undefined), Effect.never).pipe(
            Effect.onInterrupt(() => Effect.zipRight(Effect.sleep(20), Effect.sync(() => log.push("cleaned up"))))
          ),
          { duration: Duration.millis(100), onTimeout: () => "timed out" as const }
        )
      )
      yield* Deferred.await(entered)
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(log).toEqual(["cleaned up"])
      yield* Effect.sleep(150)
      expect(log).toEqual(["cleaned up"])
    }))

  it.live("the timeout's error once the time is up; an infinite duration never times out", () =>
    Effect.gen(function*() {
      const late = yield* Effect.either(
        timeoutFail(Effect.as(Effect.sleep("10 seconds"), 1), { duration: Duration.millis(20), onTimeout: () => "late" })
      )
      expect(late).toEqual(Either.left("late"))
      const never = yield* timeoutFail(Effect.as(Effect.sleep(30), 2), { duration: Duration.infinity, onTimeout: () => "late" })
      expect(never).toBe(2)
      const huge = yield* timeoutFail(Effect.as(Effect.sleep(30), 3), { duration: Duration.days(60), onTimeout: () => "late" })
      expect(huge).toBe(3)
    }))

  it.live("a stop (a cancellation) interrupts the effect, waits for it, and fails with its error; on the real clock and a test clock", () =>
    Effect.gen(function*() {
      let fire: () => void = () => {}
      let listening = 0
      const stop = {
        listen: (f: () => void) => {
          listening += 1
          fire = f
          return () => {
            listening -= 1
          }
        },
        onStop: () => "stopped" as const
      }
      const log: Array<string> = []
      const entered = yield* Deferred.make<void>()
      const waiting = Effect.zipRight(Deferred.succeed(entered, undefined), Effect.never).pipe(
        Effect.onInterrupt(() => Effect.zipRight(Effect.sleep(20), Effect.sync(() => log.push("cleaned up"))))
      )
      const fiber = yield* Effect.fork(Effect.either(timeoutFail(waiting, { duration: Duration.seconds(10), onTimeout: () => "late", stop })))
      yield* Deferred.await(entered)
      expect(listening).toBe(1)
      fire()
      expect(yield* Fiber.join(fiber)).toEqual(Either.left("stopped"))
      expect(log).toEqual(["cleaned up"])
      expect(listening).toBe(0)
      // An effect that ends first keeps its outcome, and stops listening.
      expect(yield* timeoutFail(Effect.succeed(4), { duration: Duration.seconds(10), onTimeout: () => "late", stop })).toBe(4)
      expect(listening).toBe(0)
      // With an infinite duration the stop still applies.
      const endless = yield* Effect.fork(Effect.either(timeoutFail(Effect.never, { duration: Duration.infinity, onTimeout: () => "late", stop })))
      yield* Effect.yieldNow()
      fire()
      expect(yield* Fiber.join(endless)).toEqual(Either.left("stopped"))
      // Under a test clock (Effect.timeoutFail raced with the stop).
      const tested = yield* Effect.fork(Effect.either(timeoutFail(Effect.never, { duration: Duration.seconds(10), onTimeout: () => "late", stop })).pipe(
        Effect.provide(TestContext.TestContext)
      ))
      while (listening === 0) yield* Effect.yieldNow()
      fire()
      expect(yield* Fiber.join(tested)).toEqual(Either.left("stopped"))
      expect(listening).toBe(0)
    }))

  it.live("a compensation past its timeout gives up with StepTimeout", () =>
    Effect.gen(function*() {
      const create = Step.make({
        name: "test/create",
        description: "creates",
        input: Schema.Struct({}),
        output: Schema.Struct({}),
        retry: RetryPolicy.none,
        run: () => Effect.succeed({}),
        compensate: {
          description: "undo slowly",
          timeout: "50 millis",
          retry: RetryPolicy.none,
          run: () => Effect.as(Effect.sleep("10 seconds"), undefined)
        }
      })
      const boom = Step.make({
        name: "test/boom",
        description: "fails",
        input: Schema.Struct({}),
        output: Schema.Struct({}),
        retry: RetryPolicy.none,
        run: () => Effect.fail(new Error("boom"))
      })
      const record = yield* Engine.run(
        wf(() => Effect.zipRight(Workflow.step(create, {}), Workflow.step(boom, {}))),
        {}
      )
      expect(record.status).toBe("compensation_failed")
      expect(record.remaining?.map((r) => r.error._tag)).toEqual(["StepTimeout"])
    }).pipe(Effect.provide(TestEngine)))
})
