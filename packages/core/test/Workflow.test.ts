/**
 * Saga semantics of code-defined workflows, on the in-memory engine with a test clock: retries,
 * timeouts, Retry-After, reconciliation, compensation order across parallel branches and loop
 * items, failing compensations, item isolation.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Data, type Duration, Effect, Fiber, Layer, Option, Schema, Stream, TestClock } from "effect"
import { Engine, Redactor, RetryPolicy, Run, RunStore, Step, Workflow } from "../src/index.js"

// -----------------------------------------------------------------------------
// A fake remote system, recording what really happened
// -----------------------------------------------------------------------------

class Http extends Schema.TaggedError<Http>()("Http", {
  status: Schema.Number,
  retryAfterMillis: Schema.optional(Schema.Number),
  message: Schema.String
}) {}
class Transport extends Schema.TaggedError<Transport>()("Transport", { message: Schema.String }) {}

class Remote {
  readonly entities = new Map<string, number>()
  readonly log: Array<string> = []
  nextId = 1
  create(name: string) {
    const id = this.nextId++
    this.entities.set(name, id)
    this.log.push(`create ${name}`)
    return id
  }
  delete(name: string) {
    this.entities.delete(name)
    this.log.push(`delete ${name}`)
  }
}

const Entity = Schema.Struct({ name: Schema.String, id: Schema.Number })
const Name = Schema.Struct({ name: Schema.String })

/** A create step with a compensation, and optional scripted failures before it succeeds. */
const creator = (remote: Remote, options: {
  readonly failures?: ReadonlyArray<unknown> | undefined
  readonly delay?: Duration.DurationInput | undefined
  readonly retry?: RetryPolicy.RetryPolicy | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly compensationFails?: boolean | undefined
  readonly commitBeforeFailing?: boolean | undefined
  readonly reconcile?: boolean | undefined
} = {}) => {
  const failures = [...(options.failures ?? [])]
  return Step.make({
    name: "test/create",
    description: "create an entity",
    input: Name,
    output: Entity,
    retry: options.retry ?? RetryPolicy.constant({ maxAttempts: 3, initialDelay: "1 second" }),
    timeout: options.timeout ?? "30 seconds",
    run: ({ name }): Effect.Effect<{ readonly name: string; readonly id: number }, Http> =>
      Effect.gen(function*() {
        remote.log.push(`attempt ${name}`)
        if (options.delay) yield* Effect.sleep(options.delay)
        const failure = failures.shift()
        if (failure !== undefined) {
          if (options.commitBeforeFailing) remote.create(name)
          return yield* Effect.fail(failure as Http)
        }
        return { name, id: remote.create(name) }
      }),
    compensate: {
      description: "delete the entity",
      retry: RetryPolicy.constant({ maxAttempts: 2, initialDelay: "1 second" }),
      run: ({ name }) =>
        options.compensationFails
          ? Effect.fail(new Http({ status: 500, message: `cannot delete ${name}` }))
          : Effect.sync(() => remote.delete(name))
    },
    ...(options.reconcile
      ? {
        reconcile: ({ name }: { readonly name: string }) =>
          Effect.sync(() => {
            remote.log.push(`lookup ${name}`)
            const id = remote.entities.get(name)
            return id === undefined ? Option.none() : Option.some({ name, id })
          })
      }
      : {})
  })
}

const failing = (error: unknown) =>
  Step.make({
    name: "test/fail",
    description: "always fails",
    input: Schema.Struct({}),
    output: Schema.Struct({}),
    retry: RetryPolicy.none,
    run: () => Effect.fail(error as Http)
  })

const wf = <O>(run: () => Effect.Effect<O, unknown, Workflow.RunContext>, output: Schema.Schema<O, any> = Schema.Unknown as any) =>
  Workflow.make({ name: "test", input: Schema.Struct({}), output, run })

const TestEngine = Engine.layerMemory().pipe(Layer.provide(Redactor.layer))

/**
 * Let forked fibers run until one of them sleeps on the test clock (so that moving the clock
 * wakes it), or the given fiber is done.
 */
const settle = (fiber: Fiber.Fiber<unknown, unknown>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 10_000; i++) {
      if (Option.isSome(yield* Fiber.poll(fiber))) return
      if (Chunk.isNonEmpty(yield* TestClock.sleeps())) return
      yield* Effect.yieldNow()
    }
    return yield* Effect.dieMessage("nothing progressed")
  })

/** Run a workflow to its end, moving the test clock to each wait as soon as it is scheduled. */
const runToEnd = <O>(workflow: Workflow.Workflow<{}, O, never>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Engine.run(workflow, {}))
    while (Option.isNone(yield* Fiber.poll(fiber))) {
      yield* settle(fiber)
      const sleeps = Chunk.toReadonlyArray(yield* TestClock.sleeps())
      if (sleeps.length > 0) yield* TestClock.setTime(Math.min(...sleeps))
    }
    const record = yield* Fiber.join(fiber)
    const store = yield* RunStore.RunStore
    const events = (yield* store.events(record.id)).map((e) => e.event)
    return { record, events }
  })

const ofTag = <T extends Run.RunEvent["_tag"]>(events: ReadonlyArray<Run.RunEvent>, tag: T) =>
  events.filter((e): e is Extract<Run.RunEvent, { _tag: T }> => e._tag === tag)

describe("Workflow", () => {
  it.scoped("runs steps in sequence and returns the output", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const create = creator(remote)
      const { events, record } = yield* runToEnd(wf(() =>
        Effect.gen(function*() {
          const a = yield* Workflow.step(create, { name: "a" }, { id: "a" })
          const b = yield* Workflow.step(create, { name: "b" }, { id: "b" })
          return { ids: [a.id, b.id] }
        }), Schema.Struct({ ids: Schema.Array(Schema.Number) })))
      expect(record.status).toBe("succeeded")
      expect(record.output).toEqual({ ids: [1, 2] })
      expect(ofTag(events, "StepSucceeded").map((e) => e.path)).toEqual(["a", "b"])
      expect(events[0]!._tag).toBe("RunStarted")
      expect(events.at(-1)).toMatchObject({ _tag: "RunFinished", status: "succeeded" })
    }).pipe(Effect.provide(TestEngine)))

  it.scoped("retries a failing step until it succeeds, recording each attempt and delay", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const create = creator(remote, {
        failures: [new Http({ status: 503, message: "busy" }), new Transport({ message: "reset" })]
      })
      const { events, record } = yield* runToEnd(wf(() => Workflow.step(create, { name: "a" })))
      expect(record.status).toBe("succeeded")
      expect(remote.log).toEqual(["attempt a", "attempt a", "attempt a", "create a"])
      expect(ofTag(events, "AttemptFailed").map((e) => [e.attempt, e.error._tag, e.error.status, e.retryable]))
        .toEqual([[1, "Http", 503, true], [2, "Transport", undefined, true]])
      expect(ofTag(events, "RetryScheduled").map((e) => [e.nextAttempt, e.delayMillis])).toEqual([[2, 1000], [3, 1000]])
      expect(ofTag(events, "StepSucceeded")[0]!.attempts).toBe(3)
    }).pipe(Effect.provide(TestEngine)))

  it.scoped("fails for good when retries are exhausted; nothing to compensate gives `failed`", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const busy = new Http({ status: 503, message: "busy" })
      const create = creator(remote, { failures: [busy, busy, busy, busy] })
      const { events, record } = yield* runToEnd(wf(() => Workflow.step(create, { name: "a" })))
      expect(record.status).toBe("failed")
      expect(record.failure).toMatchObject({ step: "test/create", reason: "exhausted", error: { status: 503 } })
      expect(remote.log.filter((l) => l === "attempt a")).toHaveLength(3)
      expect(ofTag(events, "StepFailed")[0]).toMatchObject({ attempts: 3, reason: "exhausted" })
      expect(ofTag(events, "AttemptFailed").at(-1)!.retryable).toBe(false)
    }).pipe(Effect.provide(TestEngine)))

  it.scoped("a non-retryable error fails at once", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const create = creator(remote, { failures: [new Http({ status: 400, message: "Nom is required" })] })
      const { record } = yield* runToEnd(wf(() => Workflow.step(create, { name: "a" })))
      expect(record.status).toBe("failed")
      expect(record.failure).toMatchObject({ reason: "non_retryable", error: { message: "Nom is required" } })
      expect(remote.log).toEqual(["attempt a"])
    }).pipe(Effect.provide(TestEngine)))

  it.scoped("honours Retry-After: no retry before the server's delay", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const create = creator(remote, {
        failures: [new Http({ status: 429, retryAfterMillis: 5000, message: "slow down" })],
        retry: RetryPolicy.constant({ maxAttempts: 2, initialDelay: 100 })
      })
      const fiber = yield* Effect.fork(Engine.run(wf(() => Workflow.step(create, { name: "a" })), {}))
      yield* settle(fiber)
      yield* TestClock.adjust(4999)
      expect(remote.log).toEqual(["attempt a"])
      yield* TestClock.adjust(1)
      const record = yield* Fiber.join(fiber)
      expect(record.status).toBe("succeeded")
      expect(remote.log).toEqual(["attempt a", "attempt a", "create a"])
      const events = yield* Effect.flatMap(RunStore.RunStore, (s) => s.events(record.id))
      expect(ofTag(events.map((e) => e.event), "RetryScheduled")[0]!.delayMillis).toBe(5000)
    }).pipe(Effect.provide(TestEngine)))

  it.scoped("times out an attempt, retries on timeout, and gives up after the last one", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const create = creator(remote, {
        delay: "10 seconds",
        timeout: "1 second",
        retry: RetryPolicy.constant({ maxAttempts: 2, initialDelay: 100, retryOn: ["timeout"] })
      })
      const { events, record } = yield* runToEnd(wf(() => Workflow.step(create, { name: "a" })))
      expect(record.status).toBe("failed")
      expect(record.failure).toMatchObject({ reason: "exhausted", error: { _tag: "StepTimeout" } })
      expect(ofTag(events, "AttemptFailed").map((e) => e.error._tag)).toEqual(["StepTimeout", "StepTimeout"])
      expect(remote.entities.size).toBe(0)
    }).pipe(Effect.provide(TestEngine)))

  it.scoped("compensates completed steps in reverse completion order", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const create = creator(remote)
      const { events, record } = yield* runToEnd(wf(() =>
        Effect.gen(function*() {
          yield* Workflow.step(create, { name: "a" }, { id: "a" })
          yield* Workflow.step(create, { name: "b" }, { id: "b" })
          yield* Workflow.step(create, { name: "c" }, { id: "c" })
          yield* Workflow.step(failing(new Http({ status: 409, message: "conflict" })), {})
        })))
      expect(record.status).toBe("compensated")
      expect(record.failure).toMatchObject({ step: "test/fail", error: { message: "conflict" } })
      expect(record.compensated!.map((c) => c.path)).toEqual(["c", "b", "a"])
      expect(remote.log.filter((l) => l.startsWith("delete"))).toEqual(["delete c", "delete b", "delete a"])
      expect(remote.entities.size).toBe(0)
      expect(ofTag(events, "CompensationSucceeded")).toHaveLength(3)
    }).pipe(Effect.provide(TestEngine)))

  it.scoped("compensates across parallel branches in completion order, after every branch settled", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const create = creator(remote)
      const slow = (ms: number) => Effect.sleep(ms)
      const { record } = yield* runToEnd(wf(() =>
        Workflow.parallel({
          left: Effect.gen(function*() {
            yield* Workflow.step(create, { name: "l1" }, { id: "l1" }) // t=0
            yield* slow(300)
            yield* Workflow.step(create, { name: "l2" }, { id: "l2" }) // t=300, after right failed
          }),
          right: Effect.gen(function*() {
            yield* slow(100)
            yield* Workflow.step(create, { name: "r1" }, { id: "r1" }) // t=100
            yield* slow(100)
            yield* Workflow.step(failing(new Http({ status: 400, message: "bad" })), {}) // t=200
          })
        })))
      expect(record.status).toBe("compensated")
      // l2 completed after the failure (its branch was allowed to finish): it is undone first.
      expect(record.compensated!.map((c) => c.path)).toEqual(["left/l2", "right/r1", "left/l1"])
      expect(remote.entities.size).toBe(0)
    }).pipe(Effect.provide(TestEngine)))

  it.scoped("forEach (fail): stops starting items after a failure and undoes every completed item", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const create = creator(remote)
      const { record } = yield* runToEnd(wf(() =>
        Workflow.forEach("items", [0, 1, 2, 3, 4, 5], (i) =>
          Effect.gen(function*() {
            yield* Effect.sleep(i * 10)
            yield* Workflow.step(create, { name: `item${i}` }, { id: "create" })
            if (i === 2) yield* Workflow.step(failing(new Http({ status: 422, message: "item 2 is wrong" })), {})
          }), { concurrency: 2 })))
      expect(record.status).toBe("compensated")
      expect(record.failure).toMatchObject({ path: "items[2]/test/fail" })
      const created = remote.log.filter((l) => l.startsWith("create")).map((l) => l.slice(7))
      expect(created).toEqual(["item0", "item1", "item2", "item3"])
      expect(created).not.toContain("item4")
      expect(remote.entities.size).toBe(0)
      expect(record.compensated!.map((c) => c.path)).toEqual([
        "items[3]/create",
        "items[2]/create",
        "items[1]/create",
        "items[0]/create"
      ])
    }).pipe(Effect.provide(TestEngine)))

  it.scoped("forEach (compensate-item): a failed item is undone alone, the others go on", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const create = creator(remote)
      const { events, record } = yield* runToEnd(wf(() =>
        Effect.map(
          Workflow.forEach("items", ["a", "b", "c"], (name) =>
            Effect.gen(function*() {
              yield* Workflow.step(create, { name }, { id: "create" })
              if (name === "b") yield* Workflow.step(failing(new Http({ status: 400, message: "b is bad" })), {})
              return name
            }), { concurrency: 3, onItemFailure: "compensate-item" }),
          (outcomes) =>
            outcomes.map((o) => o._tag === "Succeeded" ? o.value : `failed:${o.error.message.endsWith("b is bad")}:${o.compensated}`)
        ), Schema.Array(Schema.String)))
      expect(record.status).toBe("succeeded_with_failures")
      expect(record.output).toEqual(["a", "failed:true:true", "c"])
      expect([...remote.entities.keys()].sort()).toEqual(["a", "c"])
      expect(ofTag(events, "ItemFailed")).toMatchObject([{ path: "items[1]", index: 1, compensated: true }])
    }).pipe(Effect.provide(TestEngine)))

  it.scoped("forEach (continue): a failed item is left as is, and undone only if the run fails later", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const create = creator(remote)
      const { record } = yield* runToEnd(wf(() =>
        Effect.gen(function*() {
          yield* Workflow.forEach("items", ["a", "b"], (name) =>
            Effect.gen(function*() {
              yield* Workflow.step(create, { name }, { id: "create" })
              if (name === "a") yield* Workflow.step(failing(new Http({ status: 400, message: "a is bad" })), {})
            }), { onItemFailure: "continue" })
          expect([...remote.entities.keys()].sort()).toEqual(["a", "b"])
          yield* Workflow.step(failing(new Http({ status: 400, message: "later" })), {}, { id: "later" })
        })))
      expect(record.status).toBe("compensated")
      expect(remote.entities.size).toBe(0)
    }).pipe(Effect.provide(TestEngine)))

  it.scoped("a compensation that keeps failing is retried, then reported as left to undo", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const good = creator(remote)
      const stubborn = creator(remote, { compensationFails: true })
      const { events, record } = yield* runToEnd(wf(() =>
        Effect.gen(function*() {
          yield* Workflow.step(good, { name: "a" }, { id: "a" })
          yield* Workflow.step(stubborn, { name: "b" }, { id: "b" })
          yield* Workflow.step(failing(new Http({ status: 400, message: "stop" })), {})
        })))
      expect(record.status).toBe("compensation_failed")
      expect(record.compensated!.map((c) => c.path)).toEqual(["a"])
      expect(record.remaining).toHaveLength(1)
      expect(record.remaining![0]).toMatchObject({
        path: "b",
        step: "test/create",
        description: "delete the entity",
        input: { name: "b" },
        output: { name: "b", id: 2 },
        error: { message: "cannot delete b" }
      })
      expect(ofTag(events, "CompensationAttemptFailed")).toHaveLength(2)
      expect([...remote.entities.keys()]).toEqual(["b"])
    }).pipe(Effect.provide(TestEngine)))

  it.scoped("reconciles before retrying a create whose answer was lost: one entity, not two", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const create = creator(remote, {
        failures: [new Transport({ message: "socket hang up" })],
        commitBeforeFailing: true,
        reconcile: true
      })
      const { events, record } = yield* runToEnd(wf(() => Workflow.step(create, { name: "a" }), Entity))
      expect(record.status).toBe("succeeded")
      expect(record.output).toEqual({ name: "a", id: 1 })
      expect(remote.log).toEqual(["attempt a", "create a", "lookup a"])
      expect(ofTag(events, "StepReconciled")).toMatchObject([{ found: true }])
    }).pipe(Effect.provide(TestEngine)))

  it.scoped("reconciles once more after the last attempt failed", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const create = creator(remote, {
        failures: [new Transport({ message: "socket hang up" })],
        commitBeforeFailing: true,
        reconcile: true,
        retry: RetryPolicy.none
      })
      const { record } = yield* runToEnd(wf(() => Workflow.step(create, { name: "a" }), Entity))
      expect(record.status).toBe("succeeded")
      expect(remote.entities.size).toBe(1)
    }).pipe(Effect.provide(TestEngine)))

  it.scoped("an invalid step input is a located error and nothing is called", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const create = creator(remote)
      const { record } = yield* runToEnd(wf(() => Workflow.step(create, { name: 42 } as unknown as { name: string })))
      expect(record.status).toBe("failed")
      expect(record.failure).toMatchObject({ reason: "invalid_input" })
      expect(record.failure!.error.message).toContain("name: Expected string, actual 42")
      expect(remote.log).toEqual([])
    }).pipe(Effect.provide(TestEngine)))

  it.scoped("two invocations with the same path are refused", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const create = creator(remote)
      const { record } = yield* runToEnd(wf(() =>
        Effect.zipRight(Workflow.step(create, { name: "a" }), Workflow.step(create, { name: "b" }))))
      expect(record.status).toBe("compensated")
      expect(record.failure!.error.message).toContain(`share the path "test/create"`)
      expect(remote.entities.size).toBe(0)
    }).pipe(Effect.provide(TestEngine)))

  it.scoped("a step that dies is a defect: not retried, and the run is compensated", () =>
    Effect.gen(function*() {
      let calls = 0
      const remote = new Remote()
      const buggy = Step.make({
        name: "test/buggy",
        description: "has a bug",
        input: Schema.Struct({}),
        output: Schema.Struct({}),
        run: () => Effect.sync(() => {
          calls++
          throw new TypeError("cannot read properties of undefined")
        })
      })
      const { record } = yield* runToEnd(wf(() =>
        Effect.zipRight(Workflow.step(creator(remote), { name: "a" }), Workflow.step(buggy, {}))))
      expect(calls).toBe(1)
      expect(record.status).toBe("compensated")
      expect(record.failure).toMatchObject({ reason: "defect" })
      expect(record.failure!.error.message).toContain("cannot read properties of undefined")
    }).pipe(Effect.provide(TestEngine)))

  it.scoped("compensate: false turns a step's compensation off for one invocation", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const create = creator(remote)
      const { record } = yield* runToEnd(wf(() =>
        Effect.gen(function*() {
          yield* Workflow.step(create, { name: "kept" }, { id: "kept", compensate: false })
          yield* Workflow.step(create, { name: "undone" }, { id: "undone" })
          yield* Workflow.step(failing(new Http({ status: 400, message: "x" })), {})
        })))
      expect(record.status).toBe("compensated")
      expect([...remote.entities.keys()]).toEqual(["kept"])
    }).pipe(Effect.provide(TestEngine)))

  it.scoped("a failure of the body itself (not a step) also compensates", () =>
    Effect.gen(function*() {
      class NoSequence extends Data.TaggedError("NoSequence")<{ message: string }> {}
      const remote = new Remote()
      const { record } = yield* runToEnd(wf(() =>
        Effect.zipRight(
          Workflow.step(creator(remote), { name: "a" }),
          Effect.fail(new NoSequence({ message: "no eligible sequence" }))
        )))
      expect(record.status).toBe("compensated")
      expect(record.failure).toMatchObject({ error: { _tag: "NoSequence", message: "no eligible sequence" } })
      expect(remote.entities.size).toBe(0)
    }).pipe(Effect.provide(TestEngine)))

  it.scoped("rejects an invalid workflow input before anything runs", () =>
    Effect.gen(function*() {
      const typed = Workflow.make({
        name: "typed",
        input: Schema.Struct({ apprenantId: Schema.Int }),
        output: Schema.Void,
        run: () => Effect.void
      })
      const engine = yield* Engine.Engine
      const error = yield* Effect.flip(engine.startUnknown(typed, { apprenantId: "12" }))
      expect(error._tag).toBe("WorkflowInputError")
      expect(error.message).toContain("apprenantId: Expected number, actual \"12\"")
      const unknownKey = yield* Effect.flip(engine.startUnknown(typed, { apprenantId: 12, extra: 1 }))
      expect(unknownKey.message).toContain("extra")
    }).pipe(Effect.provide(TestEngine)))

  it.scoped("publishes live events to subscribers", () =>
    Effect.gen(function*() {
      const remote = new Remote()
      const engine = yield* Engine.Engine
      const events = yield* engine.subscribe
      const collected = yield* Effect.fork(
        events.pipe(Stream.takeUntil((e) => e._tag === "RunFinished"), Stream.runCollect)
      )
      yield* runToEnd(wf(() => Workflow.step(creator(remote), { name: "a" })))
      const tags = [...(yield* Fiber.join(collected))].map((e) => e._tag)
      expect(tags).toEqual(["RunStarted", "StepStarted", "StepSucceeded", "RunFinished"])
    }).pipe(Effect.provide(TestEngine)))

  it.scoped("gives steps a context whose key is stable across attempts and unique per invocation", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      let failures = 1
      const marked = Step.make({
        name: "test/marked",
        description: "records its context",
        input: Schema.Struct({}),
        output: Schema.Struct({ key: Schema.String }),
        retry: RetryPolicy.constant({ maxAttempts: 2, initialDelay: 10 }),
        run: () =>
          Effect.gen(function*() {
            const context = yield* Step.StepContext
            seen.push(`${context.path}#${context.attempt}:${context.key}`)
            if (failures-- > 0) return yield* new Http({ status: 503, message: "busy" })
            return { key: context.key }
          })
      })
      const { record } = yield* runToEnd(wf(() =>
        Effect.all([Workflow.step(marked, {}, { id: "one" }), Workflow.step(marked, {}, { id: "two" })])))
      expect(record.status).toBe("succeeded")
      const [first, retry, second] = seen.map((s) => s.split(":"))
      expect(first![0]).toBe("one#1")
      expect(retry![0]).toBe("one#2")
      expect(first![1]).toBe(retry![1])
      expect(second![0]).toBe("two#1")
      expect(second![1]).not.toBe(first![1])
      expect(first![1]).toMatch(/^[0-9a-f]{16}$/)
    }).pipe(Effect.provide(TestEngine)))
})
