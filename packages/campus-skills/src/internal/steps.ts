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

/** What an earlier attempt of this invocation remembered, if anything. */
const recall = <V>(cache: WeakMap<object, Memo<V>>, input: object): Effect.Effect<Option.Option<V>> =>
  Effect.map(invocationKey, (key) => {
    const hit = cache.get(input)
    return hit !== undefined && hit.key === key ? Option.some(hit.value) : Option.none()
  })

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
const fromContract = Schema.encodeSync(Contract.Contract)
const toContract = Schema.decodeUnknownEither(Contract.Contract, { errors: "all" })

// ---------------------------------------------------------------------------------------------
// Writes whose answer was lost
// ---------------------------------------------------------------------------------------------

/**
 * A failure after which the write may have been applied: the request reached the server (or may
 * have) and no definitive answer came back. A refused connection, a 4xx or a 429 never applied
 * anything.
 */
export const mayHaveCommitted = (error: unknown): boolean => {
  const tag = (error as { readonly _tag?: unknown } | null)?._tag
  if (tag === "Transport") return (error as Errors.Transport).reason !== "refused"
  return tag === "Decode" || tag === "ResponseTooLarge" || tag === "Unavailable" || tag === "UnexpectedStatus" ||
    tag === "StepTimeout"
}

const knownFields: ReadonlyArray<string> = [
  "codeContrat",
  "dateDebut",
  "dateFin",
  ...Contract.requiredTextFields,
  ...Contract.optionalTextFields
]

type Wire = Readonly<Record<string, unknown>>

/**
 * The same contract in wire form, field by field (fields the service may add are ignored).
 * Assumes the service keeps the values as sent, which the vendor pages imply (the lists answer
 * "the same structure as sent") and the sandbox does.
 */
const sameWire = (a: Wire | undefined, b: Wire | undefined): boolean =>
  a === undefined || b === undefined ? a === b : knownFields.every((field) => a[field] === b[field])

/** What a write asks of one contract, and what Campus Skills held (active) before it. */
interface Touch {
  readonly code: string
  /** The version the write sends, or `undefined` when it archives the contract. */
  readonly want: Wire | undefined
  /** The version held before the write, or `undefined` when it was not held. */
  readonly before: Wire | undefined
}

interface Seen {
  readonly code: string
  /** The contract is as the write asks. */
  readonly done: boolean
  /** The contract is no longer as it was before the write. */
  readonly changed: boolean
}

/** Reads the held versions of the touched contracts and compares them with before and after. */
const observe = (client: ClientService, touches: ReadonlyArray<Touch>) =>
  Effect.map(held(client, unique(touches.map((t) => t.code))), (now): ReadonlyArray<Seen> => {
    const byCode = new Map(now.map((c) => [c.codeContrat, toWire(c) as Wire] as const))
    return touches.map((t) => {
      const current = byCode.get(t.code)
      return { code: t.code, done: sameWire(current, t.want), changed: !sameWire(current, t.before) }
    })
  })

/**
 * Where a write whose answer was lost stands: all of it is visible (`applied`), none of it
 * (`not-applied`), or some of it (`partial`: some contracts refused, or changed by someone else).
 */
const outcomeOf = (seen: ReadonlyArray<Seen>): "applied" | "not-applied" | "partial" =>
  seen.every((s) => s.done) ? "applied" : seen.some((s) => s.changed) ? "partial" : "not-applied"

const changedCodes = (seen: ReadonlyArray<Seen>): ReadonlySet<string> =>
  new Set(seen.filter((s) => s.changed).map((s) => s.code))

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
      const sent = yield* Effect.either(client.syncChanges(body))
      if (Either.isRight(sent)) {
        for (const invalid of refused(sent.right.invalidContrats)) {
          cannot.push({ codeContrat: invalid.label, reason: invalid.reasons.map((r) => r.message).join("; ") })
        }
      } else {
        // The answer was lost (or garbled) but the restore may have been applied: look before
        // declaring the compensation failed, or a retry would meet the same fault forever.
        if (!mayHaveCommitted(sent.left)) return yield* sent.left
        const touches: Array<Touch> = [
          ...unique(plan.remove).map((code) => ({ code, want: undefined, before: undefined })),
          ...[...readd, ...revert].map((c) => ({ code: c.codeContrat, want: fromContract(c) as Wire, before: undefined }))
        ]
        const seen = yield* Effect.orElseSucceed(observe(client, touches), () => undefined)
        if (seen === undefined || outcomeOf(seen) !== "applied") return yield* sent.left
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
  /** Set when a sync call goes out: from then on its effect may be on the server. */
  sent: boolean
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
      previous: [...previousUpdated, ...response.removed.filter((c) => archiveSet.has(c.codeContrat))],
      sent: false
    } satisfies SnapshotPlan
  })

const snapshotOutput = (
  input: SyncSnapshotInput,
  plan: SnapshotPlan,
  valid: ReadonlyArray<string>,
  invalid: ReadonlyArray<RefusedContract>,
  warning?: string
): SyncSnapshotOutput => {
  const accepted = new Set(valid)
  return {
    version: input.version ?? "v2",
    sent: plan.send.length,
    added: plan.diff.added.filter((code) => accepted.has(code)),
    updated: plan.diff.updated.filter((code) => accepted.has(code)),
    unchanged: plan.diff.same.length,
    archived: plan.archive,
    valid,
    invalid,
    ...(warning === undefined ? {} : { warning }),
    previous: plan.previous
  }
}

/** What `sync-snapshot` can fail with; `CannotRestore` comes from undoing a partial sync in `reconcileSnapshot`. */
type SnapshotError = Errors.CampusSkillsError | SnapshotGuard | InvalidContracts | CannotRestore

export const syncSnapshot = (
  input: SyncSnapshotInput
): Effect.Effect<SyncSnapshotOutput, SnapshotError, CampusSkillsClient> =>
  Effect.gen(function*() {
    const client = yield* CampusSkillsClient
    const version = input.version ?? "v2"
    const plan = yield* remember(snapshotPlans, input, makePlan(client, input))
    plan.sent = true
    if (version === "v1") {
      const response = yield* client.syncV1(plan.send).pipe(Effect.mapError(refusal("sync-snapshot")))
      yield* forget(snapshotPlans, input)
      return snapshotOutput(input, plan, codesOf(response.contrats), plan.skipped, response.warning)
    }
    const response = yield* client.syncV2(plan.send)
    const invalid = refused(response.invalidContrats)
    const output = snapshotOutput(input, plan, codesOf(response.validContrats), invalid)
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

/**
 * Called by the engine before a retry and once more before the step is declared failed: when a
 * sync of this invocation went out and its answer was lost (connection dropped after the
 * commit, an unreadable 200, a timeout), the held contracts say what happened. All of the plan
 * visible: the step succeeded (its output, and so its compensation, is the plan's). Part of it
 * (some contracts refused): that part is undone, so that a failed step leaves nothing behind.
 * None of it: nothing to do, a retry sends the list again.
 */
export const reconcileSnapshot = (input: SyncSnapshotInput) =>
  Effect.gen(function*() {
    const client = yield* CampusSkillsClient
    const remembered = yield* recall(snapshotPlans, input)
    if (Option.isNone(remembered) || !remembered.value.sent) return Option.none<SyncSnapshotOutput>()
    const plan = remembered.value
    const previous = new Map(plan.previous.map((c) => [c.codeContrat, toWire(c) as Wire] as const))
    const same = new Set(plan.diff.same)
    // v2 keeps (and does not change) the contracts it refuses: they are not part of the effect.
    const refusedCodes = new Set(plan.skipped.flatMap((c) => (c.codeContrat === null ? [] : [c.codeContrat])))
    const sent = plan.send.filter((c) => !refusedCodes.has(c.codeContrat))
    const touches: Array<Touch> = [
      ...sent.map((c) => {
        const want = fromContract(c) as Wire
        return { code: c.codeContrat, want, before: same.has(c.codeContrat) ? want : previous.get(c.codeContrat) }
      }),
      ...plan.archive.map((code) => ({ code, want: undefined, before: previous.get(code) }))
    ]
    const seen = yield* observe(client, touches)
    const output = snapshotOutput(input, plan, codesOf(sent), plan.skipped)
    const outcome = outcomeOf(seen)
    if (outcome === "applied") {
      yield* forget(snapshotPlans, input)
      return Option.some(output)
    }
    if (outcome === "partial") {
      const changed = changedCodes(seen)
      yield* undoSnapshot(input, {
        ...output,
        added: output.added.filter((code) => changed.has(code)),
        updated: output.updated.filter((code) => changed.has(code)),
        archived: output.archived.filter((code) => changed.has(code))
      })
      plan.sent = false
    }
    return Option.none<SyncSnapshotOutput>()
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
  /** Set when a changes call goes out: from then on its effect may be on the server. */
  sent: boolean
}

const captures = new WeakMap<object, Memo<Capture>>()

const changeParts = (input: SendChangesInput) => ({
  added: input.added ?? [],
  updated: input.updated ?? [],
  removed: input.removed ?? []
})

/** What `send-changes` can fail with; `CannotRestore` comes from undoing a partial call in `reconcileChanges`. */
type ChangesError = Errors.CampusSkillsError | InvalidContracts | CannotRestore

export const sendChanges = (input: SendChangesInput): Effect.Effect<SendChangesOutput, ChangesError, CampusSkillsClient> =>
  Effect.gen(function*() {
    const client = yield* CampusSkillsClient
    const { added, removed, updated } = changeParts(input)
    const touched = unique([...codesOf(added), ...codesOf(updated), ...removed])
    const capture = yield* remember(
      captures,
      input,
      Effect.map(held(client, touched), (previous): Capture => {
        const found = new Set(codesOf(previous))
        return { previous, absent: touched.filter((code) => !found.has(code)), sent: false }
      })
    )
    const body = yield* changes({ added, updated, removed })
    capture.sent = true
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

/**
 * Called by the engine before a retry and once more before the step is declared failed: when a
 * changes call of this invocation went out and its answer was lost, the held contracts say what
 * happened. All of it visible: the step succeeded, with the versions read before the call as
 * `previous` (so its compensation archives what it added). Part of it (a contract refused, or
 * changed by someone else): what was applied is undone, so that a failed step leaves nothing
 * behind. None of it: nothing to do, a retry sends the changes again.
 */
export const reconcileChanges = (input: SendChangesInput) =>
  Effect.gen(function*() {
    const client = yield* CampusSkillsClient
    const remembered = yield* recall(captures, input)
    if (Option.isNone(remembered) || !remembered.value.sent) return Option.none<SendChangesOutput>()
    const capture = remembered.value
    const { added, removed, updated } = changeParts(input)
    const previous = new Map(capture.previous.map((c) => [c.codeContrat, toWire(c) as Wire] as const))
    const touches: Array<Touch> = [
      ...[...added, ...updated].map((c) => ({
        code: c.codeContrat,
        want: fromContract(c) as Wire,
        before: previous.get(c.codeContrat)
      })),
      ...removed.map((code) => ({ code, want: undefined, before: previous.get(code) }))
    ]
    const seen = yield* observe(client, touches)
    const output: SendChangesOutput = {
      added: codesOf(added),
      updated: codesOf(updated),
      removed: [...removed],
      valid: codesOf([...added, ...updated]),
      invalid: [],
      previous: capture.previous,
      absent: capture.absent
    }
    const outcome = outcomeOf(seen)
    if (outcome === "applied") {
      yield* forget(captures, input)
      return Option.some(output)
    }
    if (outcome === "partial") {
      const changed = changedCodes(seen)
      yield* undoChanges(input, {
        ...output,
        added: output.added.filter((code) => changed.has(code)),
        updated: output.updated.filter((code) => changed.has(code)),
        removed: output.removed.filter((code) => changed.has(code))
      })
      capture.sent = false
    }
    return Option.none<SendChangesOutput>()
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

/**
 * A reset whose answer was lost: done when both lists are empty (the route deletes every
 * contract). Never for a refused reset, which sent nothing.
 */
export const reconcileReset = (sandbox: boolean) =>
(_: {}): Effect.Effect<Option.Option<{ readonly reset: true }>, Errors.CampusSkillsError, CampusSkillsClient> =>
  sandbox
    ? Effect.flatMap(CampusSkillsClient, (client) =>
      Effect.map(
        Effect.all([client.listTransmitted({ limit: 1 }), client.listIntegrated({ limit: 1 })]),
        ([transmitted, integrated]) =>
          transmitted.total === 0 && integrated.total === 0 ? Option.some({ reset: true as const }) : Option.none()
      ))
    : Effect.succeed(Option.none())
