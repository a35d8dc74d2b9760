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
import { CampusSkillsClient, type Service as ClientService } from "../CampusSkillsClient.js"
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

/*
 * What the attempts of one invocation share (the plan of a snapshot, the versions held before a
 * change, the deadline of a wait) is the invocation's journaled state (`Step.StepState`): saved
 * in the run store before the call it prepares, so that the next attempt, the run resumed after
 * a crash, and the final reconciliation all see what the first attempt decided.
 */

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

const Codes = Schema.Array(Schema.String)

/**
 * What `sync-snapshot` decided before its first sync call, kept in the invocation's state. What
 * it sends is not kept: it follows from the input and `skipped`.
 */
const SnapshotPlan = Schema.Struct({
  diff: Schema.Struct({ same: Codes, added: Codes, updated: Codes, removed: Codes }),
  archive: Codes,
  /** Contracts the diff refused (only with allowInvalid). */
  skipped: Schema.Array(RefusedContract),
  /** The versions held before the sync of the contracts it updates or archives. */
  previous: Schema.Array(Contract.TransmittedContract),
  /** True once a sync call may have gone out: from then on its effect may be on the server. */
  sent: Schema.Boolean
})

type SnapshotPlan = typeof SnapshotPlan.Type

/** The contracts without those the diff refused (by position, or by code without one). */
const withoutRefused = (contrats: ReadonlyArray<Contract.Contract>, skipped: ReadonlyArray<RefusedContract>) => {
  const indexes = new Set(skipped.flatMap((c) => (c.index === undefined ? [] : [c.index])))
  const codes = new Set(skipped.flatMap((c) => (c.index === undefined && c.codeContrat !== null ? [c.codeContrat] : [])))
  return contrats.filter((c, i) => !indexes.has(i) && !codes.has(c.codeContrat))
}

/** What a snapshot sends: v2 takes the whole list (it keeps what it refuses), v1 the valid ones. */
const sendOf = (input: SyncSnapshotInput, plan: SnapshotPlan): ReadonlyArray<Contract.Contract> =>
  (input.version ?? "v2") === "v2" ? input.contrats : withoutRefused(input.contrats, plan.skipped)

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
      candidates = withoutRefused(input.contrats, skipped)
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
      diff: summary(response),
      archive,
      skipped,
      previous: [...previousUpdated, ...response.removed.filter((c) => archiveSet.has(c.codeContrat))],
      // Saved just before the first sync call goes out.
      sent: true
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
    sent: sendOf(input, plan).length,
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

/**
 * What `sync-snapshot` can fail with; `CannotRestore` comes from undoing a partial sync in
 * `reconcileSnapshot`, `StepStateError` from keeping its plan in the run store.
 */
type SnapshotError = Errors.CampusSkillsError | SnapshotGuard | InvalidContracts | CannotRestore | Step.StepStateError

/**
 * The plan of this invocation: the one an earlier attempt (or the execution before a crash)
 * made, marked sent again when a reconciliation had undone its effect; or a new one. Saved as
 * sent before the call goes out, so a sync whose answer is lost is always looked for.
 */
const planOf = (client: ClientService, input: SyncSnapshotInput) =>
  Effect.gen(function*() {
    const plan = yield* Step.rememberState(SnapshotPlan, makePlan(client, input))
    if (plan.sent) return plan
    const sent = { ...plan, sent: true }
    yield* Step.saveState(SnapshotPlan, sent)
    return sent
  })

export const syncSnapshot = (
  input: SyncSnapshotInput
): Effect.Effect<SyncSnapshotOutput, SnapshotError, CampusSkillsClient | Step.StepContext> =>
  Effect.gen(function*() {
    const client = yield* CampusSkillsClient
    const version = input.version ?? "v2"
    const plan = yield* planOf(client, input)
    if (version === "v1") {
      const response = yield* client.syncV1(sendOf(input, plan)).pipe(Effect.mapError(refusal("sync-snapshot")))
      return snapshotOutput(input, plan, codesOf(response.contrats), plan.skipped, response.warning)
    }
    const response = yield* client.syncV2(sendOf(input, plan))
    const invalid = refused(response.invalidContrats)
    const output = snapshotOutput(input, plan, codesOf(response.validContrats), invalid)
    if (invalid.length > 0 && !(input.allowInvalid ?? false)) {
      // The diff accepted the list, but the sync refused some (the data changed in between):
      // the valid part was applied; undo it so that the failed step leaves nothing behind.
      const undone = yield* Effect.either(undoSnapshot(input, output))
      // Reported as such: the final reconciliation has nothing to look for.
      yield* Step.clearState
      return yield* new InvalidContracts({
        operation: "sync-snapshot",
        outcome: Either.isRight(undone) ? "undone" : "undo-failed",
        contracts: invalid,
        ...(Either.isLeft(undone) ? { undoError: undone.left.message } : {})
      })
    }
    // The plan stays in the state until the run ends: if the process dies before the output is
    // journaled, the resumed run's reconciliation finds the sync applied and answers this output.
    return output
  })

/**
 * Called by the engine before a retry, before the first attempt of a resumed run, and once more
 * before the step is declared failed: when a sync of this invocation went out and its answer was lost (connection dropped after the
 * commit, an unreadable 200, a timeout), the held contracts say what happened. All of the plan
 * visible: the step succeeded (its output, and so its compensation, is the plan's). Part of it
 * (some contracts refused): that part is undone, so that a failed step leaves nothing behind.
 * None of it: nothing to do, a retry sends the list again.
 */
export const reconcileSnapshot = (input: SyncSnapshotInput) =>
  Effect.gen(function*() {
    const client = yield* CampusSkillsClient
    const remembered = yield* Step.loadState(SnapshotPlan)
    if (Option.isNone(remembered) || !remembered.value.sent) return Option.none<SyncSnapshotOutput>()
    const plan = remembered.value
    const previous = new Map(plan.previous.map((c) => [c.codeContrat, toWire(c) as Wire] as const))
    const same = new Set(plan.diff.same)
    // v2 keeps (and does not change) the contracts it refuses: they are not part of the effect.
    const refusedCodes = new Set(plan.skipped.flatMap((c) => (c.codeContrat === null ? [] : [c.codeContrat])))
    const sent = sendOf(input, plan).filter((c) => !refusedCodes.has(c.codeContrat))
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
    if (outcome === "applied") return Option.some(output)
    if (outcome === "partial") {
      const changed = changedCodes(seen)
      yield* undoSnapshot(input, {
        ...output,
        added: output.added.filter((code) => changed.has(code)),
        updated: output.updated.filter((code) => changed.has(code)),
        archived: output.archived.filter((code) => changed.has(code))
      })
      yield* Step.saveState(SnapshotPlan, { ...plan, sent: false })
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

/** What `send-changes` read before its first call, kept in the invocation's state. */
const Capture = Schema.Struct({
  /** The versions held before the call of the contracts it touches. */
  previous: Schema.Array(Contract.TransmittedContract),
  /** The touched codes that were not held. */
  absent: Codes,
  /** True once a changes call may have gone out: from then on its effect may be on the server. */
  sent: Schema.Boolean
})

const changeParts = (input: SendChangesInput) => ({
  added: input.added ?? [],
  updated: input.updated ?? [],
  removed: input.removed ?? []
})

/**
 * What `send-changes` can fail with; `CannotRestore` comes from undoing a partial call in
 * `reconcileChanges`, `StepStateError` from keeping what it read in the run store.
 */
type ChangesError = Errors.CampusSkillsError | InvalidContracts | CannotRestore | Step.StepStateError

export const sendChanges = (
  input: SendChangesInput
): Effect.Effect<SendChangesOutput, ChangesError, CampusSkillsClient | Step.StepContext> =>
  Effect.gen(function*() {
    const client = yield* CampusSkillsClient
    const { added, removed, updated } = changeParts(input)
    const touched = unique([...codesOf(added), ...codesOf(updated), ...removed])
    const body = yield* changes({ added, updated, removed })
    // The versions held before the first call, saved (as sent) before it goes out: after a lost
    // answer, or a crash before the output is journaled, the reconciliation compares with them
    // and the output still says what the call changed (so the compensation can undo it).
    const capture = yield* Step.rememberState(
      Capture,
      Effect.map(held(client, touched), (previous) => {
        const found = new Set(codesOf(previous))
        return { previous, absent: touched.filter((code) => !found.has(code)), sent: true }
      })
    )
    if (!capture.sent) yield* Step.saveState(Capture, { ...capture, sent: true })
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
      // Reported as such: the final reconciliation has nothing to look for.
      yield* Step.clearState
      return yield* new InvalidContracts({
        operation: "send-changes",
        outcome: Either.isRight(undone) ? "undone" : "undo-failed",
        contracts: invalid,
        ...(Either.isLeft(undone) ? { undoError: undone.left.message } : {})
      })
    }
    return output
  })

/**
 * Called by the engine before a retry, before the first attempt of a resumed run, and once more
 * before the step is declared failed: when a changes call of this invocation went out and its answer was lost, the held contracts say what
 * happened. All of it visible: the step succeeded, with the versions read before the call as
 * `previous` (so its compensation archives what it added). Part of it (a contract refused, or
 * changed by someone else): what was applied is undone, so that a failed step leaves nothing
 * behind. None of it: nothing to do, a retry sends the changes again.
 */
export const reconcileChanges = (input: SendChangesInput) =>
  Effect.gen(function*() {
    const client = yield* CampusSkillsClient
    const remembered = yield* Step.loadState(Capture)
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
    if (outcome === "applied") return Option.some(output)
    if (outcome === "partial") {
      const changed = changedCodes(seen)
      yield* undoChanges(input, {
        ...output,
        added: output.added.filter((code) => changed.has(code)),
        updated: output.updated.filter((code) => changed.has(code)),
        removed: output.removed.filter((code) => changed.has(code))
      })
      yield* Step.saveState(Capture, { ...capture, sent: false })
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

/**
 * What the first poll of a wait records in the invocation's state: when it started and the
 * deadline it runs to. A resumed run keeps both, so a crash does not restart the wait.
 */
const Waiting = Schema.Struct({ firstPollAt: Schema.Number, deadlineMillis: Schema.Number })

export const waitIntegrated = (deadlineMillis: number) =>
(input: { readonly codes: ReadonlyArray<string>; readonly deadline?: number | undefined }) =>
  Effect.gen(function*() {
    const client = yield* CampusSkillsClient
    const codes = unique(input.codes)
    const waiting = yield* Step.rememberState(
      Waiting,
      Effect.map(Clock.currentTimeMillis, (now) => ({ firstPollAt: now, deadlineMillis: input.deadline ?? deadlineMillis }))
    )
    const integrated = new Set(codesOf(yield* collect(client.integrated())))
    const missing = codes.filter((code) => !integrated.has(code))
    const elapsedMillis = (yield* Clock.currentTimeMillis) - waiting.firstPollAt
    if (missing.length === 0) return { integrated: codes, waitedMillis: elapsedMillis }
    if (elapsedMillis < waiting.deadlineMillis) {
      return yield* new NotYetIntegrated({ missing, total: codes.length, elapsedMillis })
    }
    const transmitted = new Map((yield* held(client, missing)).map((c) => [c.codeContrat, c] as const))
    return yield* new IntegrationTimeout({
      deadlineMillis: waiting.deadlineMillis,
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
