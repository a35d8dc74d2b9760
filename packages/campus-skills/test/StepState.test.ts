/**
 * What the Campus Skills steps keep in their journaled step state, across an engine that stops
 * mid-run and a new one that resumes the run on the same SQLite file (in one process: the
 * runner's DeadlineResume test does the same with a real process killed with SIGKILL):
 *
 * - `wait-integrated`'s deadline is recorded by its first poll and kept: the resumed run goes on
 *   with the wait it had started, and fails at the original deadline;
 * - `send-changes` whose answer was never journaled (the process stopped after the call): the
 *   resumed run's reconciliation finds the call applied, with the versions read before it, so
 *   the compensation archives what the call added instead of sending it again;
 * - the `deadline` a workflow gives `wait-integrated`, and its limit.
 */
import { describe, expect, it } from "@effect/vitest"
import * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Engine, Redactor, RetryPolicy, type Run, RunStore, Step, Workflow } from "@relais/core"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { CampusSkillsPlugin, Steps } from "../src/index.js"
import { CampusSkillsSandbox } from "../src/sandbox/index.js"
import { wire } from "./fixtures.js"
import { codes, contract, ofTag, runStep, withSandbox } from "./harness.js"

const tmpDb = () => Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-cs-state-")), "relais.db")

/**
 * An engine on `filename` with a client of the sandbox. `hold`, when given, is the HTTP client's
 * behaviour after a `POST .../changes` answered: the process "dies" there (the answer never
 * reaches the step) once `hold.armed` is set.
 */
const engineOn = (
  filename: string,
  sandbox: CampusSkillsSandbox.Service,
  workflows: ReadonlyArray<Workflow.Workflow<any, any, any>>,
  hold?: { armed: boolean; readonly reached: Deferred.Deferred<void> }
) => {
  const http = hold === undefined ? NodeHttpClient.layerUndici : Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.transformResponse(client, (response) =>
        Effect.tap(response, (res) =>
          hold.armed && res.request.method === "POST" && res.request.url.endsWith("/contrats/changes")
            ? Effect.zipRight(Deferred.succeed(hold.reached, void 0), Effect.never)
            : Effect.void)))
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))
  const client = CampusSkillsPlugin.layer({
    url: sandbox.url,
    token: typeof sandbox.token === "string" ? Redacted.make(sandbox.token) : sandbox.token,
    timeout: Duration.seconds(30)
  }).pipe(Layer.provide(http))
  // The engine resumes the runs it finds with what it was built with: the client too.
  return Engine.layerSqlite({ filename, workflows, pollInterval: "100 millis" }).pipe(
    Layer.provideMerge(client),
    Layer.provideMerge(Redactor.layer)
  )
}

const eventsOf = (runId: string) =>
  Effect.gen(function*() {
    const store = yield* RunStore.RunStore
    yield* store.flush
    return (yield* store.events(runId)).map((e) => e.event)
  })

/** Wait (live) until the run's events satisfy `done`. */
const until = (runId: string, done: (events: ReadonlyArray<Run.RunEvent>) => boolean) =>
  Effect.gen(function*() {
    while (true) {
      const events = yield* eventsOf(runId)
      if (done(events)) return events
      yield* Effect.sleep(20)
    }
  })

const Waiting = Schema.Struct({ firstPollAt: Schema.Number, deadlineMillis: Schema.Number })

describe("wait-integrated: the deadline is the first poll's, across an engine restart", () => {
  // A deadline long enough for a busy machine to stop the engine and resume the run well before
  // it: the state must still be there when the resumed execution is looked at.
  const wait = Steps.makeWaitIntegrated({ pollInterval: "200 millis", deadline: "12 seconds" })
  const waitFlow = Workflow.make({
    name: "wait for C1",
    input: Schema.Struct({}),
    output: Schema.Unknown,
    run: () => Workflow.step(wait, { codes: ["C1"] }, { id: "integrated" })
  })
  const loadWaiting = (runId: string) =>
    Effect.flatMap(RunStore.RunStore, (store) => store.loadState(runId, "integrated")).pipe(
      Effect.map(Option.map(Schema.decodeUnknownSync(Waiting)))
    )

  it.scopedLive("a run stopped while it waits resumes with the deadline recorded by its first poll", () =>
    Effect.gen(function*() {
      const sandbox = yield* CampusSkillsSandbox.make({ contracts: [wire(1)], integration: "never" })
      const db = tmpDb()

      const first = yield* Scope.make()
      const before = yield* Layer.buildWithScope(engineOn(db, sandbox, [waitFlow]), first)
      const { recorded, runId } = yield* Effect.gen(function*() {
        const runId = yield* Engine.start(waitFlow, {})
        // Two polls: the wait has visibly started before the engine stops. Not more: on a busy
        // machine many polls could outlast the deadline, and the run would end (its state
        // removed) before the engine is stopped.
        yield* until(runId, (events) => ofTag(events, "AttemptFailed").length >= 2)
        return { runId, recorded: Option.getOrThrow(yield* loadWaiting(runId)) }
      }).pipe(Effect.provide(before))
      expect(recorded.deadlineMillis).toBe(12_000)
      yield* Scope.close(first, Exit.void)

      const { events, duringResume, record } = yield* Effect.gen(function*() {
        const resumed = yield* Effect.fork(Engine.resume(runId))
        // Once the resumed execution has polled, its state is still the first poll's.
        yield* until(runId, (events) => {
          const resumedAt = ofTag(events, "RunStarted").find((e) => e.execution === 2)?.at
          return resumedAt !== undefined && ofTag(events, "AttemptFailed").some((e) => e.at >= resumedAt)
        })
        const duringResume = yield* loadWaiting(runId)
        const record = yield* resumed
        return { record, duringResume, events: yield* eventsOf(runId) }
      }).pipe(Effect.provide(engineOn(db, sandbox, [waitFlow])))
      expect(duringResume).toEqual(Option.some(recorded))
      expect(record.status).toBe("failed")
      expect(record.executions).toBe(2)
      expect(record.failure?.error).toMatchObject({ _tag: "IntegrationTimeout" })

      // It ends at the recorded deadline: 12 s after the first poll of the first execution, and
      // sooner than 12 s after the resume (a new deadline would have needed 12 s more).
      const resumedAt = ofTag(events, "RunStarted").find((e) => e.execution === 2)!.at
      const timedOut = ofTag(events, "AttemptFailed").at(-1)!
      expect(timedOut.error._tag).toBe("IntegrationTimeout")
      expect(timedOut.at - recorded.firstPollAt).toBeGreaterThanOrEqual(12_000)
      expect(timedOut.at - resumedAt).toBeLessThan(12_000)
      // Nothing is left in the store once the run has ended.
      const left = yield* loadWaiting(runId).pipe(Effect.provide(engineOn(db, sandbox, [])))
      expect(left).toEqual(Option.none())
    }), 60_000)
})

describe("wait-integrated: a cancelled run stops waiting at once", () => {
  // Ten minutes between two polls and an hour's deadline: only the cancellation ends this wait
  // within the test's limit.
  const wait = Steps.makeWaitIntegrated({ pollInterval: "10 minutes", deadline: "1 hour" })
  const waitFlow = Workflow.make({
    name: "wait for C1, long",
    input: Schema.Struct({}),
    output: Schema.Unknown,
    run: () => Workflow.step(wait, { codes: ["C1"] }, { id: "integrated" })
  })

  it.scopedLive("the wait between two polls ends, no further poll is made, the run ends cancelled and its state is gone", () =>
    Effect.gen(function*() {
      const sandbox = yield* CampusSkillsSandbox.make({ contracts: [wire(1)], integration: "never" })
      const db = tmpDb()
      const { events, polls, record, state } = yield* Effect.gen(function*() {
        const runId = yield* Engine.start(waitFlow, {})
        yield* until(runId, (events) => ofTag(events, "RetryScheduled").length >= 1)
        const polled = yield* sandbox.requests.count()
        const record = yield* Engine.cancel(runId)
        const state = yield* Effect.flatMap(RunStore.RunStore, (store) => store.loadState(runId, "integrated"))
        return { record, events: yield* eventsOf(runId), polls: (yield* sandbox.requests.count()) - polled, state }
      }).pipe(Effect.provide(engineOn(db, sandbox, [waitFlow])))
      expect(record.status).toBe("cancelled")
      expect(record.failure).toMatchObject({ path: "integrated", reason: "cancelled" })
      expect(record.failure?.error.message).toBe("the run was cancelled while this step waited to try again: no further attempt was made")
      expect(polls).toBe(0)
      expect(ofTag(events, "AttemptFailed")).toHaveLength(1)
      expect(ofTag(events, "StepFailed")).toMatchObject([{ path: "integrated", reason: "cancelled", attempts: 1 }])
      expect(state).toEqual(Option.none())
    }), 60_000)
})

class Boom extends Data.TaggedError("Boom")<{ readonly message: string }> {}

describe("send-changes: stopped between the call and the journal", () => {
  const boom = Step.make({
    name: "test/boom",
    description: "fails for good",
    input: Schema.Struct({}),
    output: Schema.Struct({}),
    retry: RetryPolicy.none,
    run: () => Effect.fail(new Boom({ message: "a later step failed" }))
  })
  const publishThenFail = Workflow.make({
    name: "publish then fail",
    input: Schema.Struct({}),
    output: Schema.Unknown,
    run: () =>
      Effect.gen(function*() {
        yield* Workflow.step(Steps.sendChanges, { added: [contract(2)] }, { id: "publish" })
        yield* Workflow.step(boom, {}, { id: "boom" })
      })
  })

  it.scopedLive("the resumed run finds the call applied with what was held before it, and its compensation archives the contract", () =>
    Effect.gen(function*() {
      const sandbox = yield* CampusSkillsSandbox.make({ contracts: [wire(1)] })
      const db = tmpDb()
      const hold = { armed: true, reached: yield* Deferred.make<void>() }

      const first = yield* Scope.make()
      const before = yield* Layer.buildWithScope(engineOn(db, sandbox, [publishThenFail], hold), first)
      const runId = yield* Engine.start(publishThenFail, {}).pipe(Effect.provide(before))
      // The changes call was applied by Campus Skills; its answer never reaches the step.
      yield* Deferred.await(hold.reached)
      expect(codes((yield* sandbox.state).active)).toContain("C2")
      yield* Scope.close(first, Exit.void)
      const sentBefore = yield* sandbox.requests.count({ path: "/api/sync/v2/contrats/changes" })
      expect(sentBefore).toBe(1)

      const { events, record } = yield* Effect.gen(function*() {
        const record = yield* Engine.resume(runId)
        return { record, events: yield* eventsOf(runId) }
      }).pipe(Effect.provide(engineOn(db, sandbox, [publishThenFail])))
      expect(record.status).toBe("compensated")
      // Found by the reconciliation from the state the first execution saved, not sent again.
      expect(ofTag(events, "StepReconciled")).toMatchObject([{ path: "publish", found: true }])
      const published = ofTag(events, "StepSucceeded").find((e) => e.path === "publish")!
      expect(published.output).toMatchObject({ added: ["C2"], previous: [], absent: ["C2"] })
      // One call to publish, one to undo: C2 was new, so the undo archives it.
      expect(yield* sandbox.requests.count({ path: "/api/sync/v2/contrats/changes" })).toBe(2)
      const state = yield* sandbox.state
      expect(codes(state.active)).not.toContain("C2")
      expect(codes(state.archived)).toContain("C2")
      expect(record.compensated?.map((c) => c.path)).toEqual(["publish"])
    }), 60_000)
})

describe("wait-integrated's deadline from the workflow", () => {
  it.scopedLive("a shorter deadline in the input ends the wait sooner", () =>
    withSandbox({ contracts: [wire(1)], integration: "never" }, () =>
      Effect.gen(function*() {
        const wait = Steps.makeWaitIntegrated({ pollInterval: "1 second", deadline: "1 minute" })
        const input = Schema.decodeUnknownSync(wait.input)({ codes: ["C1"], deadline: "500ms" })
        expect(input).toEqual({ codes: ["C1"], deadline: 500 })
        const { events, record } = yield* runStep(wait, input)
        expect(record.status).toBe("failed")
        expect(record.failure?.error).toMatchObject({ _tag: "IntegrationTimeout" })
        expect(record.failure?.error.message).toContain("after the deadline (0.5 s)")
        // Two polls (at once, then a second later), not a minute's worth.
        expect(ofTag(events, "AttemptFailed").length).toBe(2)
      })))

  it("a deadline longer than the configured one, or not a duration, is an input error naming it", () => {
    const wait = Steps.makeWaitIntegrated({ pollInterval: "1 second", deadline: "90 seconds" })
    const decode = Schema.decodeUnknownEither(wait.input)
    expect(decode({ codes: ["C1"], deadline: "2m" })._tag).toBe("Left")
    expect(String((decode({ codes: ["C1"], deadline: "2m" }) as any).left)).toContain(
      "a deadline of at most 90 s (the step's configured deadline, which sets how many polls its policy allows), got 2m"
    )
    expect(String((decode({ codes: ["C1"], deadline: "soon" }) as any).left)).toContain(
      "expected a duration such as 30s, 500ms, 2m or 1h"
    )
    expect(Schema.decodeUnknownSync(wait.input)({ codes: ["C1"], deadline: "1.5m" })).toEqual({ codes: ["C1"], deadline: 90_000 })
    expect(Steps.waitIntegrated.polls).toBe(true)
  })
})
