/**
 * The implementation of the Campus Skills steps (`Steps.ts` holds their definitions and docs).
 */
import { RetryPolicy, Step } from "@relais/core"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { CampusSkillsClient, type Service as ClientService } from "../Client.js"
import * as Contract from "../Contract.js"
import * as Errors from "../Errors.js"
import {
  CannotRestore,
  IntegrationTimeout,
  InvalidContracts,
  NotYetIntegrated,
  PendingContract,
  RefusalReason,
  RefusedContract,
  ResetRefused,
  SnapshotGuard
} from "../StepErrors.js"
import type {
  DiffSummary,
  ListOutput,
  SendChangesInput,
  SendChangesOutput,
  SyncSnapshotInput,
  SyncSnapshotOutput
} from "../Steps.js"

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const codesOf = (contracts: ReadonlyArray<{ readonly codeContrat: string }>): Array<string> =>
  contracts.map((c) => c.codeContrat)

const unique = (codes: Iterable<string>): Array<string> => [...new Set(codes)]

const refused = (invalid: ReadonlyArray<Contract.InvalidContract>): Array<RefusedContract> =>
  invalid.map((c) =>
    new RefusedContract({
      codeContrat: c.codeContrat ?? null,
      ...(c.index === undefined ? {} : { index: c.index }),
      reasons: c.reasons.map((r) => new RefusalReason({ rule: r.rule, field: r.field, message: r.message }))
    })
  )

const summary = (diff: Contract.DiffResponse): DiffSummary => ({
  same: codesOf(diff.same),
  added: codesOf(diff.added),
  updated: codesOf(diff.updated),
  removed: codesOf(diff.removed)
})

/**
 * State shared by the attempts of one invocation: kept with its input object (the engine passes
 * the same object to every attempt) and tagged with core's invocation key, so that another
 * invocation given the same object never sees it. In memory only: a run resumed after a crash
 * starts afresh.
 */
interface Memo<V> {
  readonly key: string
  readonly value: V
}

const invocationKey = Effect.map(Step.context, Option.match({ onNone: () => "", onSome: (context) => context.key }))

const remember = <V, E, R>(
  cache: WeakMap<object, Memo<V>>,
  input: object,
  make: Effect.Effect<V, E, R>
): Effect.Effect<V, E, R> =>
  Effect.flatMap(invocationKey, (key) => {
    const hit = cache.get(input)
    return hit !== undefined && hit.key === key
      ? Effect.succeed(hit.value)
      : Effect.tap(make, (value) => Effect.sync(() => cache.set(input, { key, value })))
  })

const forget = (cache: WeakMap<object, Memo<unknown>>, input: object) => Effect.sync(() => cache.delete(input))

/** A 400 naming refused contracts, as the step's `InvalidContracts`; other errors unchanged. */
const refusal = (operation: string) => (error: Errors.CampusSkillsError) =>
  error._tag === "InvalidRequest" && (error.invalidContrats?.length ?? 0) > 0
    ? new InvalidContracts({ operation, outcome: "nothing-sent", contracts: refused(error.invalidContrats ?? []) })
    : error

const collect = <E>(stream: Stream.Stream<Contract.TransmittedContract, E>) =>
  Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

/** The held (transmitted, active) versions of some contracts. */
const held = (client: ClientService, codes: ReadonlyArray<string>) =>
  codes.length === 0
    ? Effect.succeed<ReadonlyArray<Contract.TransmittedContract>>([])
    : Effect.map(collect(client.transmitted()), (all) => {
      const wanted = new Set(codes)
      return all.filter((c) => wanted.has(c.codeContrat))
    })

const changes = (input: {
  readonly added: ReadonlyArray<Contract.Contract>
  readonly updated: ReadonlyArray<Contract.Contract>
  readonly removed: ReadonlyArray<string>
}) =>
  Effect.try({
    try: () =>
      Contract.Changes.make({
        added: input.added,
        updated: input.updated,
        removed: input.removed.map((code) => Contract.CodeContrat.make(code))
      }),
    catch: (error) =>
      new Errors.InvalidInput({
        method: "POST",
        path: "/api/sync/v2/contrats/changes",
        detail: error instanceof Error ? error.message : String(error)
      })
  })

const toWire = Schema.encodeSync(Contract.TransmittedContract)
const toContract = Schema.decodeUnknownEither(Contract.Contract, { errors: "all" })

/**
 * Puts contracts back as they were, in one v2 `changes` call: `remove` archives, `revert`
 * restores previous versions of contracts still held, `readd` sends archived ones again. A
 * previous version v2 refuses (no dates, say) is reported in `CannotRestore`, after the rest.
 */
const restore = (
  client: ClientService,
  plan: {
    readonly remove: ReadonlyArray<string>
    readonly revert: ReadonlyArray<Contract.TransmittedContract>
    readonly readd: ReadonlyArray<Contract.TransmittedContract>
  }
): Effect.Effect<void, Errors.CampusSkillsError | CannotRestore> =>
  Effect.gen(function*() {
    const cannot: Array<{ readonly codeContrat: string; readonly reason: string }> = []
    const asContracts = (list: ReadonlyArray<Contract.TransmittedContract>) =>
      list.flatMap((previous) =>
        Either.match(toContract(toWire(previous)), {
          onLeft: (error) => {
            cannot.push({
              codeContrat: previous.codeContrat,
              reason: `its previous version cannot be sent again (${ParseResult.TreeFormatter.formatErrorSync(error)})`
            })
            return []
          },
          onRight: (contract) => [contract]
        })
      )
    const revert = asContracts(plan.revert)
    const readd = asContracts(plan.readd)
    if (plan.remove.length + revert.length + readd.length > 0) {
      const body = yield* changes({ added: readd, updated: revert, removed: unique(plan.remove) })
      const response = yield* client.syncChanges(body)
      for (const invalid of refused(response.invalidContrats)) {
        cannot.push({ codeContrat: invalid.label, reason: invalid.reasons.map((r) => r.message).join("; ") })
      }
    }
    if (cannot.length > 0) return yield* new CannotRestore({ contracts: cannot })
  })

// ---------------------------------------------------------------------------------------------
// test-token, diff
// ---------------------------------------------------------------------------------------------

export const testToken = (_: {}) => Effect.flatMap(CampusSkillsClient, (client) => client.test)

export const diff = (input: { readonly contrats: ReadonlyArray<Contract.Contract> }) =>
  Effect.flatMap(CampusSkillsClient, (client) =>
    client.diff(input.contrats).pipe(
      Effect.mapError(refusal("diff")),
      Effect.map(summary)
    ))

// ---------------------------------------------------------------------------------------------
// sync-snapshot
// ---------------------------------------------------------------------------------------------

interface SnapshotPlan {
  readonly send: ReadonlyArray<Contract.Contract>
  readonly diff: DiffSummary
  readonly archive: ReadonlyArray<string>
  /** Contracts the diff refused (only with allowInvalid). */
  readonly skipped: ReadonlyArray<RefusedContract>
  readonly previous: ReadonlyArray<Contract.TransmittedContract>
}

const snapshotPlans = new WeakMap<object, Memo<SnapshotPlan>>()

const tryDiff = (client: ClientService, contrats: ReadonlyArray<Contract.Contract>) =>
  client.diff(contrats).pipe(
    Effect.map(Either.right),
    Effect.catchTag("InvalidRequest", (error) =>
      (error.invalidContrats?.length ?? 0) > 0
        ? Effect.succeed(Either.left(error.invalidContrats ?? []))
        : Effect.fail(error))
  )

const guard = (archive: ReadonlyArray<string>, allowed: number | ReadonlyArray<string>) => {
  if (typeof allowed === "number") {
    return archive.length > allowed
      ? Effect.fail(new SnapshotGuard({ wouldArchive: archive, notAllowed: archive, allowed }))
      : Effect.void
  }
  const ok = new Set(allowed)
  const notAllowed = archive.filter((code) => !ok.has(code))
  return notAllowed.length > 0
    ? Effect.fail(new SnapshotGuard({ wouldArchive: archive, notAllowed, allowed }))
    : Effect.void
}

const makePlan = (client: ClientService, input: SyncSnapshotInput) =>
  Effect.gen(function*() {
    const version = input.version ?? "v2"
    const allowInvalid = input.allowInvalid ?? false
    let candidates = input.contrats
    let skipped: ReadonlyArray<RefusedContract> = []
    let result = yield* tryDiff(client, candidates)
    if (Either.isLeft(result)) {
      skipped = refused(result.left)
      if (!allowInvalid) {
        return yield* new InvalidContracts({ operation: "sync-snapshot", outcome: "nothing-sent", contracts: skipped })
      }
      // Go on without them: drop the refused positions (or codes, when the server gives no position).
      const indexes = new Set(skipped.flatMap((c) => (c.index === undefined ? [] : [c.index])))
      const codes = new Set(skipped.flatMap((c) => (c.index === undefined && c.codeContrat !== null ? [c.codeContrat] : [])))
      candidates = input.contrats.filter((c, i) => !indexes.has(i) && !codes.has(c.codeContrat))
      result = yield* tryDiff(client, candidates)
      if (Either.isLeft(result)) {
        return yield* new InvalidContracts({
          operation: "sync-snapshot",
          outcome: "nothing-sent",
          contracts: [...skipped, ...refused(result.left)]
        })
      }
    }
    const response = result.right
    // v2 keeps a refused contract it already holds (it was sent); v1 is sent without them.
    const keptByV2 = new Set(version === "v2" ? skipped.flatMap((c) => (c.codeContrat === null ? [] : [c.codeContrat])) : [])
    const archive = codesOf(response.removed).filter((code) => !keptByV2.has(code))
    yield* guard(archive, input.allowRemovals ?? 0)
    const archiveSet = new Set(archive)
    const previousUpdated = yield* held(client, codesOf(response.updated))
    return {
      send: version === "v2" ? input.contrats : candidates,
      diff: summary(response),
      archive,
      skipped,
      previous: [...previousUpdated, ...response.removed.filter((c) => archiveSet.has(c.codeContrat))]
    } satisfies SnapshotPlan
  })

export const syncSnapshot = (input: SyncSnapshotInput) =>
  Effect.gen(function*() {
    const client = yield* CampusSkillsClient
    const version = input.version ?? "v2"
    const plan = yield* remember(snapshotPlans, input, makePlan(client, input))
    const outputFor = (valid: ReadonlyArray<string>, invalid: ReadonlyArray<RefusedContract>, warning?: string) => {
      const accepted = new Set(valid)
      return {
        version,
        sent: plan.send.length,
        added: plan.diff.added.filter((code) => accepted.has(code)),
        updated: plan.diff.updated.filter((code) => accepted.has(code)),
        unchanged: plan.diff.same.length,
        archived: plan.archive,
        valid,
        invalid,
        ...(warning === undefined ? {} : { warning }),
        previous: plan.previous
      } satisfies SyncSnapshotOutput
    }
    if (version === "v1") {
      const response = yield* client.syncV1(plan.send).pipe(Effect.mapError(refusal("sync-snapshot")))
      yield* forget(snapshotPlans, input)
      return outputFor(codesOf(response.contrats), plan.skipped, response.warning)
    }
    const response = yield* client.syncV2(plan.send)
    const invalid = refused(response.invalidContrats)
    const output = outputFor(codesOf(response.validContrats), invalid)
    if (invalid.length > 0 && !(input.allowInvalid ?? false)) {
      // The diff accepted the list, but the sync refused some (the data changed in between):
      // the valid part was applied; undo it so that the failed step leaves nothing behind.
      const undone = yield* Effect.either(undoSnapshot(input, output))
      yield* forget(snapshotPlans, input)
      return yield* new InvalidContracts({
        operation: "sync-snapshot",
        outcome: Either.isRight(undone) ? "undone" : "undo-failed",
        contracts: invalid,
        ...(Either.isLeft(undone) ? { undoError: undone.left.message } : {})
      })
    }
    yield* forget(snapshotPlans, input)
    return output
  })

export const undoSnapshot = (_input: SyncSnapshotInput, output: SyncSnapshotOutput) =>
  Effect.flatMap(CampusSkillsClient, (client) => {
    const updated = new Set(output.updated)
    const archived = new Set(output.archived)
    return restore(client, {
      remove: output.added,
      revert: output.previous.filter((c) => updated.has(c.codeContrat)),
      readd: output.previous.filter((c) => archived.has(c.codeContrat))
    })
  })

// ---------------------------------------------------------------------------------------------
// send-changes
// ---------------------------------------------------------------------------------------------

interface Capture {
  readonly previous: ReadonlyArray<Contract.TransmittedContract>
  readonly absent: ReadonlyArray<string>
}

const captures = new WeakMap<object, Memo<Capture>>()

export const sendChanges = (input: SendChangesInput) =>
  Effect.gen(function*() {
    const client = yield* CampusSkillsClient
    const added = input.added ?? []
    const updated = input.updated ?? []
    const removed = input.removed ?? []
    const touched = unique([...codesOf(added), ...codesOf(updated), ...removed])
    const capture = yield* remember(
      captures,
      input,
      Effect.map(held(client, touched), (previous): Capture => {
        const found = new Set(codesOf(previous))
        return { previous, absent: touched.filter((code) => !found.has(code)) }
      })
    )
    const body = yield* changes({ added, updated, removed })
    const response = yield* client.syncChanges(body)
    const upserts = [...added, ...updated]
    // a refused contract without a code is named by its position among added then updated
    const invalid = refused(response.invalidContrats).map((c) =>
      c.codeContrat === null && c.index !== undefined && upserts[c.index] !== undefined
        ? new RefusedContract({ ...c, codeContrat: upserts[c.index]!.codeContrat })
        : c
    )
    const output: SendChangesOutput = {
      added: codesOf(added),
      updated: codesOf(updated),
      removed: [...removed],
      valid: codesOf(response.validContrats),
      invalid,
      previous: capture.previous,
      absent: capture.absent
    }
    if (invalid.length > 0 && !(input.allowInvalid ?? false)) {
      const undone = yield* Effect.either(undoChanges(input, output))
      yield* forget(captures, input)
      return yield* new InvalidContracts({
        operation: "send-changes",
        outcome: Either.isRight(undone) ? "undone" : "undo-failed",
        contracts: invalid,
        ...(Either.isLeft(undone) ? { undoError: undone.left.message } : {})
      })
    }
    yield* forget(captures, input)
    return output
  })

export const undoChanges = (_input: SendChangesInput, output: SendChangesOutput) =>
  Effect.flatMap(CampusSkillsClient, (client) => {
    const refusedCodes = new Set(output.invalid.flatMap((c) => (c.codeContrat === null ? [] : [c.codeContrat])))
    const previous = new Map(output.previous.map((c) => [c.codeContrat, c] as const))
    const remove: Array<string> = []
    const revert: Array<Contract.TransmittedContract> = []
    const readd: Array<Contract.TransmittedContract> = []
    for (const code of unique([...output.added, ...output.updated])) {
      if (refusedCodes.has(code)) continue
      const before = previous.get(code)
      if (before === undefined) remove.push(code)
      else revert.push(before)
    }
    for (const code of unique(output.removed)) {
      if (refusedCodes.has(code)) continue
      const before = previous.get(code)
      if (before !== undefined) readd.push(before)
    }
    return restore(client, { remove, revert, readd })
  })

// ---------------------------------------------------------------------------------------------
// list-integrated, list-transmitted
// ---------------------------------------------------------------------------------------------

export const list = (which: "integrated" | "transmitted") =>
(input: { readonly codes?: ReadonlyArray<string> | undefined; readonly pageSize?: number | undefined }) =>
  Effect.gen(function*() {
    const client = yield* CampusSkillsClient
    const options = { pageSize: input.pageSize }
    const all = yield* collect(which === "integrated" ? client.integrated(options) : client.transmitted(options))
    if (input.codes === undefined) return { total: all.length, contrats: all, missing: [] } satisfies ListOutput
    const wanted = new Set(input.codes)
    const contrats = all.filter((c) => wanted.has(c.codeContrat))
    const found = new Set(codesOf(contrats))
    return {
      total: all.length,
      contrats,
      missing: unique(input.codes).filter((code) => !found.has(code))
    } satisfies ListOutput
  })

// ---------------------------------------------------------------------------------------------
// wait-integrated
// ---------------------------------------------------------------------------------------------

/** The most attempts a core retry policy allows. */
const maxPolicyAttempts = 100

export const waitPolicy = (pollInterval: Duration.DurationInput, deadline: Duration.DurationInput) => {
  const intervalMillis = Duration.toMillis(pollInterval)
  const deadlineMillis = Duration.toMillis(deadline)
  if (!(intervalMillis > 0) || !Number.isFinite(intervalMillis)) {
    throw new RangeError(`wait-integrated: pollInterval must be a positive duration, got ${String(pollInterval)}`)
  }
  if (!(deadlineMillis >= 0) || !Number.isFinite(deadlineMillis)) {
    throw new RangeError(`wait-integrated: deadline must be a finite duration, got ${String(deadline)}`)
  }
  const maxAttempts = Math.ceil(deadlineMillis / intervalMillis) + 1
  if (maxAttempts > maxPolicyAttempts) {
    throw new RangeError(
      `wait-integrated: a deadline of ${deadlineMillis} ms polled every ${intervalMillis} ms needs ${maxAttempts} ` +
        `attempts, more than the ${maxPolicyAttempts} a retry policy allows: poll less often ` +
        `(at least every ${Math.ceil(deadlineMillis / (maxPolicyAttempts - 1))} ms)`
    )
  }
  const policy = RetryPolicy.constant({
    maxAttempts,
    initialDelay: intervalMillis,
    maxDelay: intervalMillis,
    retryOn: ["NotYetIntegrated", ...RetryPolicy.defaultRetryOn]
  })
  return { deadlineMillis, policy }
}

export const waitIntegrated = (deadlineMillis: number) => {
  const firstPoll = new WeakMap<object, Memo<number>>()
  return (input: { readonly codes: ReadonlyArray<string> }) =>
    Effect.gen(function*() {
      const client = yield* CampusSkillsClient
      const codes = unique(input.codes)
      const start = yield* remember(firstPoll, input, Clock.currentTimeMillis)
      const integrated = new Set(codesOf(yield* collect(client.integrated())))
      const missing = codes.filter((code) => !integrated.has(code))
      const elapsedMillis = (yield* Clock.currentTimeMillis) - start
      if (missing.length === 0) {
        yield* forget(firstPoll, input)
        return { integrated: codes, waitedMillis: elapsedMillis }
      }
      if (elapsedMillis < deadlineMillis) {
        return yield* new NotYetIntegrated({ missing, total: codes.length, elapsedMillis })
      }
      yield* forget(firstPoll, input)
      const transmitted = new Map((yield* held(client, missing)).map((c) => [c.codeContrat, c] as const))
      return yield* new IntegrationTimeout({
        deadlineMillis,
        total: codes.length,
        missing: missing.map((code) => {
          const contract = transmitted.get(code)
          return new PendingContract({
            codeContrat: code,
            state: contract === undefined ? "absent" : "transmitted",
            ...(contract?.codeGroupe === undefined ? {} : { codeGroupe: contract.codeGroupe }),
            ...(contract?.nomGroupe === undefined ? {} : { nomGroupe: contract.nomGroupe })
          })
        })
      })
    })
}

// ---------------------------------------------------------------------------------------------
// reset-sync
// ---------------------------------------------------------------------------------------------

export const resetSync = (sandbox: boolean) =>
(_: {}): Effect.Effect<{ readonly reset: true }, Errors.CampusSkillsError | ResetRefused, CampusSkillsClient> =>
  sandbox
    ? Effect.flatMap(CampusSkillsClient, (client) => Effect.as(client.resetSync, { reset: true as const }))
    : Effect.fail(new ResetRefused())
