/**
 * The Campus Skills steps through the core engine against the real sandbox: snapshot safety,
 * refused contracts, v2 changes and their compensation, integration polling, every fault kind
 * handled by a step's policy, reset-sync, and secrets.
 */
import { describe, expect, it } from "@effect/vitest"
import { Plugin, RetryPolicy, type Step, Workflow } from "@relais/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { CampusSkillsPlugin, Mapping, Steps } from "../src/index.js"
import { CampusSkillsSandbox } from "../src/sandbox/index.js"
import { aggregate } from "./aimaira.js"
import { wire } from "./fixtures.js"
import {
  activeByCode,
  boom,
  codes,
  contract,
  ofTag,
  runFlow,
  runStep,
  services,
  type Services,
  withSandbox
} from "./harness.js"
import { garblingProxy, type TestServer } from "./servers.js"

/** Short delays so that retries take milliseconds. */
const fast = (maxAttempts = 3) => RetryPolicy.constant({ maxAttempts, initialDelay: 20 })

const encodeState = (sandbox: CampusSkillsSandbox.Service) =>
  Effect.map(sandbox.state, (state) => JSON.stringify(Schema.encodeSync(CampusSkillsSandbox.State)(state)))

describe("campus-skills/test-token", () => {
  it.scopedLive("answers the school's name", () =>
    withSandbox({ schoolName: "CFA des Tests" }, () =>
      Effect.gen(function*() {
        const { record } = yield* runStep(Steps.testToken, {})
        expect(record.status).toBe("succeeded")
        expect(record.output).toEqual({ value: "token valid", name: "CFA des Tests" })
      })))

  it.scopedLive("a refused token fails at once, with a clear message without the token", () =>
    withSandbox({}, () =>
      Effect.gen(function*() {
        const { events, record } = yield* runStep(Steps.testToken, {})
        expect(record.status).toBe("failed")
        expect(record.failure).toMatchObject({ reason: "non_retryable", error: { _tag: "Unauthorized", status: 401 } })
        expect(ofTag(events, "AttemptStarted")).toHaveLength(0)
        expect(record.failure!.error.message).toBe(
          "Campus Skills refused the token (HTTP 401 on GET /api/sync/v1/test): Your token is invalid please contact " +
            "the administrator. Check the configured token (CAMPUS_SKILLS_TOKEN)."
        )
      }), { token: "wrong-token-4f8e2a" }))
})

describe("campus-skills/diff", () => {
  it.scopedLive("answers the codes a sync would add, update, keep and archive", () =>
    withSandbox({ contracts: [wire(1), wire(2), wire(3)] }, () =>
      Effect.gen(function*() {
        const { record } = yield* runStep(Steps.diff, {
          contrats: [contract(1), contract(2, { nomEntreprise: "Renamed" }), contract(4)]
        })
        expect(record.output).toEqual({ same: ["C1"], added: ["C4"], updated: ["C2"], removed: ["C3"] })
      })))
})

describe("campus-skills/sync-snapshot", () => {
  it.scopedLive("refuses a partial list that would archive contracts, naming them; nothing is sent", () =>
    withSandbox({ contracts: 3 }, (sandbox) =>
      Effect.gen(function*() {
        const before = yield* encodeState(sandbox)
        const seeded = codes((yield* sandbox.state).active)
        const { events, record } = yield* runStep(Steps.syncSnapshot, { contrats: [contract(1)] })
        expect(record.status).toBe("failed")
        expect(record.failure).toMatchObject({
          reason: "non_retryable",
          error: { _tag: "SnapshotGuard", details: { wouldArchive: seeded } }
        })
        expect(record.failure!.error.message).toBe(
          `Refused the snapshot sync, nothing was sent: it would archive 3 contracts (${seeded.join(", ")}), more ` +
            "than allowRemovals (0). Check that the list is complete; if these removals are intended, set " +
            "allowRemovals to 3 or list their codes."
        )
        expect(ofTag(events, "AttemptFailed")).toHaveLength(1)
        expect(yield* encodeState(sandbox)).toBe(before)
        expect(yield* sandbox.requests.count({ method: "POST", path: "/api/sync/v*/contrats" })).toBe(0)
        expect(yield* sandbox.requests.count({ path: "/api/sync/v1/contrats-diff" })).toBe(1)
      })))

  it.scopedLive("an allow-list permits exactly those removals", () =>
    withSandbox({ contracts: [wire(1), wire(2), wire(3)] }, (sandbox) =>
      Effect.gen(function*() {
        const refused = yield* runStep(Steps.syncSnapshot, { contrats: [contract(4)], allowRemovals: ["C1", "C2"] })
        expect(refused.record.failure?.error).toMatchObject({
          _tag: "SnapshotGuard",
          details: { wouldArchive: ["C1", "C2", "C3"], notAllowed: ["C3"] }
        })
        expect(refused.record.failure!.error.message).toContain("and C3 is not in allowRemovals")
        expect((yield* sandbox.state).archived).toEqual([])

        const { record } = yield* runStep(Steps.syncSnapshot, {
          contrats: [contract(1), contract(4)],
          allowRemovals: ["C2", "C3"]
        })
        expect(record.status).toBe("succeeded")
        expect(record.output).toMatchObject({
          version: "v2",
          sent: 2,
          added: ["C4"],
          updated: [],
          unchanged: 1,
          archived: ["C2", "C3"],
          valid: ["C1", "C4"],
          invalid: []
        })
        const state = yield* sandbox.state
        expect(codes(state.active)).toEqual(["C1", "C4"])
        expect(codes(state.archived)).toEqual(["C2", "C3"])
      })))

  it.scopedLive("v1: a count of allowed removals, and the warning", () =>
    withSandbox({ contracts: [wire(1), wire(2)] }, (sandbox) =>
      Effect.gen(function*() {
        const { record } = yield* runStep(Steps.syncSnapshot, {
          contrats: [contract(1, { nomEntreprise: "Auchan" })],
          version: "v1",
          allowRemovals: 1
        })
        expect(record.output).toMatchObject({
          version: "v1",
          updated: ["C1"],
          archived: ["C2"],
          warning: "1 contract(s) archived because they were absent from this call: C2"
        })
        expect(codes((yield* sandbox.state).archived)).toEqual(["C2"])
      })))

  it.scopedLive("duplicate person codes and e-mails: refused, naming each contract and why; nothing sent", () =>
    withSandbox({}, (sandbox) =>
      Effect.gen(function*() {
        // AIMAIRA creates a Professionnel per convention: the same master twice has two ids, one e-mail.
        const contrats = Either.getOrThrow(Mapping.toContracts([
          aggregate(1),
          aggregate(2, { maitre: { Mail: { Adresse: "antoine.lateral1@entreprise1.fr" } } }),
          aggregate(3, { apprenant: { Id: 2001 } }),
          aggregate(4)
        ]))
        const { record } = yield* runStep(Steps.syncSnapshot, { contrats })
        expect(record.status).toBe("failed")
        expect(record.failure).toMatchObject({ reason: "non_retryable", error: { _tag: "InvalidContracts" } })
        const message = record.failure!.error.message
        expect(message).toContain("Campus Skills refused 2 contracts in sync-snapshot (nothing was changed)")
        expect(message).toContain(
          `CS00000002: emailMaitreApprentissage "antoine.lateral1@entreprise1.fr" is also the e-mail of person "MA-4001"`
        )
        expect(message).toContain(`CS00000003: person "APP-2001" has e-mail "emmanuel.fernandez3@etudiant-exemple.fr"`)
        expect(record.failure!.error.details).toEqual({
          invalid: [
            { codeContrat: "CS00000002", reasons: [expect.stringContaining("email")] },
            { codeContrat: "CS00000003", reasons: [expect.stringContaining("APP-2001")] }
          ]
        })
        expect((yield* sandbox.state).transmitted).toEqual([])

        // allowInvalid: the others are synced, the refused ones reported
        const allowed = yield* runStep(Steps.syncSnapshot, { contrats, allowInvalid: true })
        expect(allowed.record.output).toMatchObject({
          valid: ["CS00000001", "CS00000004"],
          invalid: [{ codeContrat: "CS00000002" }, { codeContrat: "CS00000003" }],
          added: ["CS00000001", "CS00000004"]
        })
        expect(codes((yield* sandbox.state).active)).toEqual(["CS00000001", "CS00000004"])
      })))

  it.scopedLive("compensation restores what the sync changed", () =>
    withSandbox({ contracts: [wire(1), wire(2), wire(3)] }, (sandbox) =>
      Effect.gen(function*() {
        const before = yield* activeByCode(sandbox)
        const flow = Workflow.make({
          name: "sync then fail",
          input: Schema.Struct({}),
          output: Schema.Unknown,
          run: () =>
            Effect.gen(function*() {
              yield* Workflow.step(Steps.syncSnapshot, {
                contrats: [contract(1, { nomEntreprise: "Changed" }), contract(2), contract(4)],
                allowRemovals: 1
              })
              yield* Workflow.step(boom, {})
            })
        })
        const { record } = yield* runFlow(flow, {})
        expect(record.status).toBe("compensated")
        expect(record.compensated?.map((c) => c.step)).toEqual(["campus-skills/sync-snapshot"])
        const after = yield* activeByCode(sandbox)
        expect([...after.keys()].sort()).toEqual(["C1", "C2", "C3"])
        expect(after).toEqual(before)
        expect(codes((yield* sandbox.state).archived)).toEqual(["C4"])
      })))
})

describe("campus-skills/send-changes", () => {
  it.scopedLive("sends the changes; compensation archives the added, restores the updated and the removed", () =>
    withSandbox({ contracts: [wire(1), wire(2), wire(3)] }, (sandbox) =>
      Effect.gen(function*() {
        const before = yield* activeByCode(sandbox)
        const flow = Workflow.make({
          name: "changes then fail",
          input: Schema.Struct({ fail: Schema.Boolean }),
          output: Schema.Unknown,
          run: ({ fail }) =>
            Effect.gen(function*() {
              const sent = yield* Workflow.step(Steps.sendChanges, {
                added: [contract(4)],
                updated: [contract(1, { nomEntreprise: "Changed" })],
                removed: ["C2"]
              })
              if (fail) yield* Workflow.step(boom, {})
              return sent
            })
        })
        const done = yield* runFlow(flow, { fail: false })
        expect(done.record.output).toMatchObject({
          added: ["C4"],
          updated: ["C1"],
          removed: ["C2"],
          valid: ["C4", "C1"],
          invalid: [],
          absent: ["C4"]
        })
        expect((done.record.output as { previous: ReadonlyArray<{ codeContrat: string }> }).previous.map((c) => c.codeContrat))
          .toEqual(["C1", "C2"])
        const changed = yield* activeByCode(sandbox)
        expect([...changed.keys()]).toEqual(["C1", "C3", "C4"])
        expect(changed.get("C1")?.nomEntreprise).toBe("Changed")

        yield* sandbox.reset
        const { record } = yield* runFlow(flow, { fail: true })
        expect(record.status).toBe("compensated")
        const after = yield* activeByCode(sandbox)
        expect(after).toEqual(before)
        const state = yield* sandbox.state
        expect(codes(state.archived)).toEqual(["C4"])
        expect(state.integrated.map((c) => [c.codeContrat, c.nomEntreprise])).toEqual(
          expect.arrayContaining([["C1", "Entreprise 1"], ["C2", "Entreprise 2"]])
        )
      })))

  it.scopedLive("a refused contract fails the step; the valid part is undone", () =>
    withSandbox({ contracts: [wire(1), wire(2), wire(3)] }, (sandbox) =>
      Effect.gen(function*() {
        const before = yield* activeByCode(sandbox)
        const { record } = yield* runStep(Steps.sendChanges, {
          added: [contract(4, { codeApprenant: "MA1" })],
          updated: [contract(3, { nomEntreprise: "Changed" })]
        })
        expect(record.status).toBe("failed")
        expect(record.failure).toMatchObject({
          reason: "non_retryable",
          error: { _tag: "InvalidContracts", details: { invalid: [{ codeContrat: "C4" }] } }
        })
        expect(record.failure!.error.message).toContain(
          "Campus Skills refused 1 contract in send-changes (the valid part of the call was applied, then undone). " +
            `C4: codeApprenant "MA1" is also used as codeMaitreApprentissage in contract "C1"`
        )
        expect(yield* activeByCode(sandbox)).toEqual(before)
      })))

  it.scopedLive("a previous version v2 refuses cannot be restored: left to undo, named", () =>
    withSandbox({ contracts: [{ ...wire(1), dateDebut: undefined, dateFin: undefined }] }, () =>
      Effect.gen(function*() {
        const flow = Workflow.make({
          name: "update an old v1 contract then fail",
          input: Schema.Struct({}),
          output: Schema.Unknown,
          run: () =>
            Effect.gen(function*() {
              yield* Workflow.step(Steps.sendChanges, { updated: [contract(1)] }, {
                compensate: { ...Steps.sendChanges.compensation!, retry: fast(2) }
              })
              yield* Workflow.step(boom, {})
            })
        })
        const { record } = yield* runFlow(flow, {})
        expect(record.status).toBe("compensation_failed")
        expect(record.remaining).toHaveLength(1)
        expect(record.remaining![0]!.error).toMatchObject({ _tag: "CannotRestore" })
        expect(record.remaining![0]!.error.message).toContain("C1: its previous version cannot be sent again")
      })))
})

describe("campus-skills/list-*", () => {
  it.scopedLive("read every page, optionally some codes", () =>
    withSandbox({ contracts: 7, models: [] }, (sandbox) =>
      Effect.gen(function*() {
        const seeded = codes((yield* sandbox.state).active)
        const all = yield* runStep(Steps.listTransmitted, { pageSize: 3 })
        expect(all.record.output).toMatchObject({ total: 7, missing: [] })
        expect(codes((all.record.output as { contrats: ReadonlyArray<{ codeContrat: string }> }).contrats)).toEqual(seeded)
        expect(yield* sandbox.requests.count({ path: "/api/sync/v1/contrats-get-all" })).toBe(3)
        const some = yield* runStep(Steps.listTransmitted, { codes: [seeded[5]!, "NOPE"] })
        expect(some.record.output).toMatchObject({ total: 7, contrats: [{ codeContrat: seeded[5] }], missing: ["NOPE"] })
        const integrated = yield* runStep(Steps.listIntegrated, {})
        expect(integrated.record.output).toMatchObject({ total: 0, contrats: [] })
      })))
})

describe("campus-skills/wait-integrated", () => {
  const wait = Steps.makeWaitIntegrated({ pollInterval: "100 millis", deadline: "5 seconds" })

  it("derives its policy from the polling parameters, and refuses more than 100 attempts", () => {
    expect(wait.retry).toMatchObject({ maxAttempts: 51, backoff: "constant", initialDelayMillis: 100 })
    expect(wait.retry.retryOn).toContain("NotYetIntegrated")
    expect(Steps.waitIntegrated.retry.maxAttempts).toBe(61)
    expect(() => Steps.makeWaitIntegrated({ pollInterval: "1 second", deadline: "5 minutes" })).toThrow(
      /needs 301 attempts, more than the 100 a retry policy allows: poll less often \(at least every 3031 ms\)/
    )
  })

  it.scopedLive("polls through the engine until the sandbox integrates, each poll visible as an attempt", () =>
    // Integrated after one list call, not after some milliseconds: the first poll misses them
    // whatever the machine's load. The deadline is far: it only ends a hang.
    withSandbox({ contracts: [wire(1)], integrationDelay: { listCalls: 1 } }, () =>
      Effect.gen(function*() {
        yield* runStep(Steps.sendChanges, { added: [contract(2), contract(3)] })
        const patient = Steps.makeWaitIntegrated({ pollInterval: "100 millis", deadline: "9 seconds" })
        const { events, record } = yield* runStep(patient, { codes: ["C1", "C2", "C3"] })
        expect(record.status).toBe("succeeded")
        expect(record.output).toMatchObject({ integrated: ["C1", "C2", "C3"] })
        const polls = ofTag(events, "AttemptFailed")
        expect(polls.length).toBeGreaterThanOrEqual(1)
        expect(polls[0]!.error).toMatchObject({ _tag: "NotYetIntegrated", details: { missing: ["C2", "C3"] } })
        expect(polls[0]!.error.message).toBe("2 of 3 contracts not integrated yet: C2, C3")
        expect(polls.every((p) => p.retryable)).toBe(true)
      })))

  it.scopedLive("fails at the deadline, saying which contract no model matches", () =>
    withSandbox({ contracts: [wire(1)], models: [{ codeGroupe: "BTS*" }] }, () =>
      Effect.gen(function*() {
        const short = Steps.makeWaitIntegrated({ pollInterval: "100 millis", deadline: "400 millis" })
        yield* runStep(Steps.sendChanges, { added: [contract(5, { codeGroupe: "SEQ-99", nomGroupe: "PGE 1" })] })
        const { events, record } = yield* runStep(short, { codes: ["C1", "C5", "C9"] })
        expect(record.status).toBe("failed")
        expect(record.failure).toMatchObject({ reason: "non_retryable", error: { _tag: "IntegrationTimeout" } })
        expect(record.failure!.error.message).toBe(
          "2 of 3 contracts still not integrated after the deadline (0.4 s): C5 (received by Campus Skills but not " +
            `integrated: integration needs a model for its group "SEQ-99" "PGE 1"; ask the Campus Skills integration ` +
            "team to configure an integration model for this group); C9 (not in the transmitted list: never sent, or " +
            "archived). If the team already configured the models, integration may just be slow: wait longer (a later " +
            "deadline)."
        )
        const polls = ofTag(events, "AttemptFailed")
        // On a loaded machine the first poll may already come after the deadline: then it is the
        // only one. Every poll before the last says what is missing.
        expect(polls.length).toBeGreaterThanOrEqual(1)
        expect(polls.at(-1)!.error._tag).toBe("IntegrationTimeout")
        expect(polls.slice(0, -1).every((p) => p.error.message === "2 of 3 contracts not integrated yet: C5, C9")).toBe(true)
      })))
})

describe("campus-skills/wait-integrated against the sandbox's integration option", () => {
  /** Publish one contract, then wait for it: the shape of the main example's last two steps. */
  const publishThenWait = (wait: typeof Steps.waitIntegrated) =>
    Workflow.make({
      name: "publish then wait",
      input: Schema.Struct({}),
      output: Schema.Unknown,
      run: () =>
        Effect.gen(function*() {
          const sent = yield* Workflow.step(Steps.sendChanges, { added: [contract(2)] })
          return yield* Workflow.step(wait, { codes: [sent.added[0]!] })
        })
    })

  it.scopedLive("integration { delay }: waits, then succeeds", () =>
    withSandbox({ contracts: [wire(1)], integration: { delay: "1500 millis" } }, (sandbox) =>
      Effect.gen(function*() {
        const wait = Steps.makeWaitIntegrated({ pollInterval: "250 millis", deadline: "20 seconds" })
        const { events, record } = yield* runFlow(publishThenWait(wait), {})
        expect(record.status).toBe("succeeded")
        expect(record.output).toMatchObject({ integrated: ["C2"] })
        const polls = ofTag(events, "AttemptFailed")
        expect(polls.length).toBeGreaterThanOrEqual(1)
        expect(polls.every((p) => p.error._tag === "NotYetIntegrated" && p.retryable)).toBe(true)
        expect((yield* sandbox.state).integrated.map((c) => c.codeContrat)).toEqual(["C1", "C2"])
      })))

  it.scopedLive("integration never: fails at the deadline, not retried, saying what to ask; the publish is undone", () =>
    withSandbox({ contracts: [wire(1)], integration: "never" }, (sandbox) =>
      Effect.gen(function*() {
        const wait = Steps.makeWaitIntegrated({ pollInterval: "100 millis", deadline: "600 millis" })
        const { events, record } = yield* runFlow(publishThenWait(wait), {})
        expect(record.status).toBe("compensated")
        const failed = ofTag(events, "StepFailed")
        expect(failed).toHaveLength(1)
        expect(failed[0]).toMatchObject({ step: "campus-skills/wait-integrated", reason: "non_retryable" })
        expect(failed[0]!.error._tag).toBe("IntegrationTimeout")
        expect(failed[0]!.error.message).toBe(
          "1 of 1 contract still not integrated after the deadline (0.6 s): C2 (received by Campus Skills but not " +
            `integrated: integration needs a model for its group "BTSMCO-REN-1" "BTS MCO Rennes 1ère année"; ask the ` +
            "Campus Skills integration team to configure an integration model for this group). If the team already " +
            "configured the models, integration may just be slow: wait longer (a later deadline)."
        )
        expect(ofTag(events, "AttemptFailed").at(-1)!.retryable).toBe(false)
        expect(record.compensated?.map((c) => c.step)).toEqual(["campus-skills/send-changes"])
        const state = yield* sandbox.state
        expect(codes(state.archived)).toEqual(["C2"])
        expect(state.integrated).toEqual([])
      })))
})

describe("campus-skills/reset-sync", () => {
  it.scopedLive("is refused, sending nothing, unless the configuration says the target is a sandbox", () =>
    withSandbox({ contracts: [wire(1)] }, (sandbox) =>
      Effect.gen(function*() {
        const refused = yield* runStep(Steps.resetSync, {})
        expect(refused.record.failure).toMatchObject({ reason: "non_retryable", error: { _tag: "ResetRefused" } })
        expect(refused.record.failure!.error.message).toContain("set sandbox: true in the Campus Skills configuration")
        expect(yield* sandbox.requests.count({ method: "DELETE" })).toBe(0)
        expect(codes((yield* sandbox.state).active)).toEqual(["C1"])
      })))

  it.scopedLive("deletes every contract when the configuration says the target is a sandbox", () =>
    withSandbox({ contracts: [wire(1)] }, (sandbox) =>
      Effect.gen(function*() {
        const registry = yield* Plugin.makeRegistry([CampusSkillsPlugin.make()])
        const { record } = yield* runStep(registry.find("campus-skills/reset-sync")!, {})
        expect(record.output).toEqual({ reset: true })
        expect((yield* sandbox.state).transmitted).toEqual([])
      }), { sandbox: true }))
})

describe("fault handling by the steps' policies", () => {
  it.scopedLive("429 with Retry-After: waits what the server asked", () =>
    withSandbox({ faults: ["GET /api/sync/v1/test 429:1 x1"] }, () =>
      Effect.gen(function*() {
        const { events, record } = yield* runStep(Steps.testToken, {}, { retry: fast() })
        expect(record.status).toBe("succeeded")
        expect(ofTag(events, "AttemptFailed")[0]!.error).toMatchObject({
          _tag: "RateLimited",
          status: 429,
          retryAfterMillis: 1000
        })
        expect(ofTag(events, "RetryScheduled")[0]!.delayMillis).toBe(1000)
      })))

  it.scopedLive("503: retried until it answers", () =>
    withSandbox({ faults: ["POST /api/sync/v1/contrats-diff 503 x2"] }, () =>
      Effect.gen(function*() {
        const { events, record } = yield* runStep(Steps.diff, { contrats: [contract(1)] }, { retry: fast() })
        expect(record.status).toBe("succeeded")
        expect(ofTag(events, "AttemptFailed").map((e) => [e.error._tag, e.error.status])).toEqual([
          ["Unavailable", 503],
          ["Unavailable", 503]
        ])
      })))

  it.scopedLive("503 every time: gives up after the policy's attempts", () =>
    withSandbox({ faults: ["GET /api/sync/v1/contrats 503"] }, () =>
      Effect.gen(function*() {
        const { events, record } = yield* runStep(Steps.listIntegrated, {}, { retry: fast(2) })
        expect(record.failure).toMatchObject({ reason: "exhausted", error: { _tag: "Unavailable", status: 503 } })
        expect(ofTag(events, "StepFailed")[0]!.attempts).toBe(2)
      })))

  it.scopedLive("a dropped connection (nothing committed) is retried", () =>
    withSandbox({ contracts: [wire(1)], faults: ["GET /api/sync/v1/contrats-get-all drop x1"] }, () =>
      Effect.gen(function*() {
        const { events, record } = yield* runStep(Steps.listTransmitted, {}, { retry: fast() })
        expect(record.status).toBe("succeeded")
        expect(ofTag(events, "AttemptFailed")[0]!.error._tag).toBe("Transport")
      })))

  it.scopedLive("drop after commit on the sync: found applied before the retry, the plan is not redone", () =>
    withSandbox({
      contracts: [wire(1), wire(2)],
      faults: ["POST /api/sync/v2/contrats drop-after-commit x1"]
    }, (sandbox) =>
      Effect.gen(function*() {
        const { events, record } = yield* runStep(
          Steps.syncSnapshot,
          { contrats: [contract(1), contract(3)], allowRemovals: 1 },
          { retry: fast() }
        )
        expect(record.status).toBe("succeeded")
        expect(ofTag(events, "AttemptFailed")[0]!.error).toMatchObject({ _tag: "Transport" })
        expect(ofTag(events, "AttemptFailed")[0]!.error.message).toContain("may or may not have been applied")
        // the first attempt's diff still stands: C2 is reported archived although it already was
        expect(record.output).toMatchObject({ added: ["C3"], archived: ["C2"] })
        expect(yield* sandbox.requests.count({ path: "/api/sync/v1/contrats-diff" })).toBe(1)
        expect(ofTag(events, "StepReconciled")).toMatchObject([{ found: true }])
        expect(yield* sandbox.requests.count({ method: "POST", path: "/api/sync/v2/contrats" })).toBe(1)
        const state = yield* sandbox.state
        expect(codes(state.active)).toEqual(["C1", "C3"])
        expect(codes(state.archived)).toEqual(["C2"])
      })))

  it.scopedLive("drop after commit on changes: found applied before the retry; compensation still undoes it", () =>
    withSandbox({
      contracts: [wire(1)],
      faults: ["POST /api/sync/v2/contrats/changes drop-after-commit x1"]
    }, (sandbox) =>
      Effect.gen(function*() {
        const flow = Workflow.make({
          name: "changes then fail",
          input: Schema.Struct({}),
          output: Schema.Unknown,
          run: () =>
            Effect.gen(function*() {
              yield* Workflow.step(Steps.sendChanges, { added: [contract(2)] }, { retry: fast() })
              yield* Workflow.step(boom, {})
            })
        })
        const { events, record } = yield* runFlow(flow, {})
        expect(ofTag(events, "AttemptFailed")[0]!.error._tag).toBe("Transport")
        expect(record.status).toBe("compensated")
        const state = yield* sandbox.state
        expect(codes(state.active)).toEqual(["C1"])
        expect(codes(state.archived)).toEqual(["C2"])
      })))

  it.scopedLive("a hanging request is cut by the step timeout and retried", () =>
    withSandbox({ faults: ["GET /api/sync/v1/test hang x1"] }, () =>
      Effect.gen(function*() {
        // The timeout cuts the hang whatever the load; the attempts after it must answer within
        // it, so it leaves a loaded machine room (and attempts to spare in case one is slow anyway).
        const { events, record } = yield* runStep(Steps.testToken, {}, { retry: fast(5), timeout: "1 second" })
        expect(record.status).toBe("succeeded")
        const tags = ofTag(events, "AttemptFailed").map((e) => e.error._tag)
        expect(tags[0]).toBe("StepTimeout")
        expect(tags.every((tag) => tag === "StepTimeout")).toBe(true)
      })))
})

/** Runs `body` with the services pointed at a proxy that garbles the answers `garble` picks. */
const behindGarblingProxy = <A, E>(
  options: CampusSkillsSandbox.Options,
  garble: (method: string, path: string) => boolean,
  body: (sandbox: CampusSkillsSandbox.Service, proxy: TestServer) => Effect.Effect<A, E, Services>,
  proxyOptions: { readonly hugeBytes?: number } = {}
) =>
  Effect.gen(function*() {
    const sandbox = yield* CampusSkillsSandbox.make(options)
    const proxy = yield* garblingProxy(sandbox.url, garble, proxyOptions)
    return yield* body(sandbox, proxy).pipe(Effect.provide(services({ url: proxy.url, token: sandbox.token })))
  })

/** One step, then a step that fails: the run must compensate the first. */
const thenFail = <I, O, E, R>(step: Step.Step<string, I, O, E, R>, input: I) =>
  Workflow.make({
    name: `${step.name} then fail`,
    input: Schema.Struct({}),
    output: Schema.Unknown,
    run: () =>
      Effect.gen(function*() {
        yield* Workflow.step(step, input, { retry: fast(), compensate: { ...step.compensation!, retry: fast() } })
        yield* Workflow.step(boom, {})
      })
  })

describe("a write whose answer is lost is reconciled before the step is declared failed", () => {
  it.scopedLive("send-changes, every answer dropped after the commit: found applied; the compensation archives it", () =>
    withSandbox({ contracts: [wire(1)], faults: ["POST /api/sync/v2/contrats/changes drop-after-commit"] }, (sandbox) =>
      Effect.gen(function*() {
        const { events, record } = yield* runFlow(thenFail(Steps.sendChanges, { added: [contract(2)] }), {})
        expect(ofTag(events, "AttemptFailed")[0]!.error._tag).toBe("Transport")
        expect(ofTag(events, "AttemptFailed")[0]!.error.message).toContain("may or may not have been applied")
        expect(ofTag(events, "StepReconciled")).toMatchObject([{ step: "campus-skills/send-changes", found: true }])
        expect(ofTag(events, "StepSucceeded")[0]!.output).toMatchObject({ added: ["C2"], valid: ["C2"], absent: ["C2"] })
        expect(record.status).toBe("compensated")
        expect(record.compensated?.map((c) => c.step)).toEqual(["campus-skills/send-changes"])
        const state = yield* sandbox.state
        expect(codes(state.active)).toEqual(["C1"])
        expect(codes(state.archived)).toEqual(["C2"])
        expect(state.integrated.map((c) => c.codeContrat)).toEqual(["C1"])
        // the step's call and the compensation's, each found applied instead of being sent again
        expect(yield* sandbox.requests.count({ method: "POST", path: "/api/sync/v2/contrats/changes" })).toBe(2)
      })))

  it.scopedLive("send-changes, a garbled 200 after the commit: found applied; the compensation archives it", () =>
    behindGarblingProxy(
      { contracts: [wire(1)] },
      (method, path) => method === "POST" && path === "/api/sync/v2/contrats/changes",
      (sandbox, proxy) =>
        Effect.gen(function*() {
          const { events, record } = yield* runFlow(thenFail(Steps.sendChanges, { added: [contract(2)] }), {})
          expect(ofTag(events, "AttemptFailed")[0]!.error).toMatchObject({ _tag: "Decode", status: 200 })
          expect(ofTag(events, "StepReconciled")).toMatchObject([{ found: true }])
          expect(record.status).toBe("compensated")
          const state = yield* sandbox.state
          expect(codes(state.active)).toEqual(["C1"])
          expect(codes(state.archived)).toEqual(["C2"])
          expect(proxy.hits).toEqual(["POST /api/sync/v2/contrats/changes", "POST /api/sync/v2/contrats/changes"])
        })
    ))

  it.scopedLive("send-changes, partly refused and every answer lost: the applied part is undone, the step fails", () =>
    withSandbox({
      contracts: [wire(1), wire(2), wire(3)],
      faults: ["POST /api/sync/v2/contrats/changes drop-after-commit"]
    }, (sandbox) =>
      Effect.gen(function*() {
        const before = yield* activeByCode(sandbox)
        const { events, record } = yield* runStep(Steps.sendChanges, {
          added: [contract(4, { codeApprenant: "MA1" }), contract(5)],
          updated: [contract(3, { nomEntreprise: "Changed" })]
        }, { retry: fast(2) })
        expect(record.status).toBe("failed")
        expect(record.failure).toMatchObject({ error: { _tag: "Transport" } })
        expect(ofTag(events, "StepReconciled").map((e) => e.found)).toEqual([false, false])
        expect(yield* activeByCode(sandbox)).toEqual(before)
        expect((yield* sandbox.state).integrated.map((c) => c.codeContrat)).toEqual(["C1", "C2", "C3"])
      })))

  it.scopedLive("send-changes, a 20 MiB answer after the commit: stopped at the cap, found applied, undone by the compensation", () =>
    behindGarblingProxy(
      { contracts: [wire(1)] },
      (method, path) => method === "POST" && path === "/api/sync/v2/contrats/changes",
      (sandbox, proxy) =>
        Effect.gen(function*() {
          const { events, record } = yield* runFlow(thenFail(Steps.sendChanges, { added: [contract(2)] }), {})
          const failed = ofTag(events, "AttemptFailed").filter((e) => e.step === "campus-skills/send-changes")
          expect(failed.map((e) => [e.error._tag, e.retryable])).toEqual([["ResponseTooLarge", false]])
          expect(failed[0]!.error.message).toContain("is larger than 16 MiB")
          expect(ofTag(events, "StepReconciled")).toMatchObject([{ found: true }])
          expect(record.status).toBe("compensated")
          expect(codes((yield* sandbox.state).active)).toEqual(["C1"])
          expect(proxy.hits).toHaveLength(2) // the step's call and the compensation's, both found applied
        }),
      { hugeBytes: 20 * 1024 * 1024 }
    ))

  it.scopedLive("sync-snapshot, every answer dropped after the commit: found applied; the compensation restores", () =>
    withSandbox({ contracts: [wire(1), wire(2)], faults: ["POST /api/sync/v2/contrats drop-after-commit"] }, (sandbox) =>
      Effect.gen(function*() {
        const before = yield* activeByCode(sandbox)
        const { events, record } = yield* runFlow(
          thenFail(Steps.syncSnapshot, {
            contrats: [contract(1, { nomEntreprise: "Changed" }), contract(3)],
            allowRemovals: 1
          }),
          {}
        )
        expect(ofTag(events, "StepReconciled")).toMatchObject([{ found: true }])
        expect(ofTag(events, "StepSucceeded")[0]!.output).toMatchObject({
          added: ["C3"],
          updated: ["C1"],
          archived: ["C2"],
          valid: ["C1", "C3"]
        })
        expect(record.status).toBe("compensated")
        expect(yield* activeByCode(sandbox)).toEqual(before)
        expect(codes((yield* sandbox.state).archived)).toEqual(["C3"])
      })))

  it.scopedLive("sync-snapshot v1, a garbled 200 after the commit: found applied, with the plan's output", () =>
    behindGarblingProxy(
      { contracts: [wire(1), wire(2)] },
      (method, path) => method === "POST" && path === "/api/sync/v1/contrats",
      (sandbox) =>
        Effect.gen(function*() {
          const { events, record } = yield* runStep(Steps.syncSnapshot, {
            contrats: [contract(1), contract(3)],
            version: "v1",
            allowRemovals: 1
          }, { retry: fast() })
          expect(ofTag(events, "AttemptFailed").map((e) => e.error._tag)).toEqual(["Decode"])
          expect(record.status).toBe("succeeded")
          expect(record.output).toMatchObject({ version: "v1", added: ["C3"], archived: ["C2"], valid: ["C1", "C3"] })
          expect(codes((yield* sandbox.state).active)).toEqual(["C1", "C3"])
        })
    ))

  it.scopedLive("nothing committed (dropped before the handler): not found, sent again", () =>
    withSandbox({ contracts: [wire(1)], faults: ["POST /api/sync/v2/contrats/changes drop x1"] }, (sandbox) =>
      Effect.gen(function*() {
        const { events, record } = yield* runStep(Steps.sendChanges, { added: [contract(2)] }, { retry: fast() })
        expect(ofTag(events, "StepReconciled")).toMatchObject([{ found: false }])
        expect(record.status).toBe("succeeded")
        expect(codes((yield* sandbox.state).active)).toEqual(["C1", "C2"])
      })))

  it.scopedLive("reset-sync, every answer dropped after the commit: found done", () =>
    withSandbox({ contracts: [wire(1)], faults: ["DELETE /api/sync/v1/contrats drop-after-commit"] }, (sandbox) =>
      Effect.gen(function*() {
        const { events, record } = yield* runStep(Steps.resetSync, {}, { retry: fast() })
        expect(ofTag(events, "StepReconciled")).toMatchObject([{ found: true }])
        expect(record.output).toEqual({ reset: true })
        expect((yield* sandbox.state).transmitted).toEqual([])
      }), { sandbox: true }))
})
