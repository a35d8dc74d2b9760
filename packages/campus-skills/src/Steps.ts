/**
 * The Campus Skills steps: typed units of work over the sync API, run by the relais engine
 * (which retries them by their policy and compensates them when a later step fails). Every step
 * needs the `CampusSkillsClient` service; the runner (or a test) provides it once.
 *
 * Inputs decode from plain JSON (contracts in their wire form, `DD/MM/YYYY` dates), so a YAML
 * workflow can write them or wire another step's output into them; outputs encode to JSON for
 * the journal.
 *
 * | step | what | default policy | compensation |
 * | --- | --- | --- | --- |
 * | `campus-skills/test-token` | `GET /api/sync/v1/test`: the school's name | {@link readPolicy} | none |
 * | `campus-skills/diff` | dry run of a sync: codes same / added / updated / removed | {@link readPolicy} | none |
 * | `campus-skills/sync-snapshot` | diff, guard against removals, then the full sync (v2, or v1) | {@link writePolicy} | restore (changes) |
 * | `campus-skills/send-changes` | v2 `changes` (added / updated / removed) | {@link writePolicy} | restore (changes) |
 * | `campus-skills/list-integrated`, `list-transmitted` | every page, optionally filtered by codes | {@link readPolicy} | none |
 * | `campus-skills/wait-integrated` | poll until codes are integrated, with a deadline | constant, see {@link makeWaitIntegrated} | none |
 * | `campus-skills/reset-sync` | `DELETE /api/sync/v1/contrats` (delete every contract), sandbox only | {@link readPolicy} | none (cannot be undone) |
 *
 * The mapping steps (`campus-skills/map-convention`, `map-conventions`) are in `Mapping`.
 *
 * @since 0.1.0
 */
import { ProviderKit, RetryPolicy, Step } from "@relais/core"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { CampusSkillsClient } from "./CampusSkillsClient.js"
import * as Contract from "./Contract.js"
import * as internal from "./internal/steps.js"
import { RefusedContract } from "./StepErrors.js"

// ---------------------------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------------------------

/**
 * Reads and dry runs (idempotent): 4 attempts, exponential from 500 ms to 10 s, jittered, on the
 * default transient failures (408, 429, 5xx, timeouts, `Transport`, `RateLimited`,
 * `Unavailable`). A 401 (`Unauthorized`) or a 400 fails at once.
 *
 * @since 0.1.0
 */
export const readPolicy: RetryPolicy.RetryPolicy = RetryPolicy.exponential({
  maxAttempts: 4,
  initialDelay: "500 millis",
  maxDelay: "10 seconds",
  jitter: true
})

/**
 * Syncs and changes (idempotent given the same input: a snapshot of the same list, an upsert of
 * the same changes): 4 attempts, exponential from 1 s to 30 s, jittered, on the default
 * transient failures. A failure after which the write may have been applied (connection lost
 * after the commit, an unreadable 200, a 5xx, a timeout) is reconciled before the retry and
 * once more before the step is declared failed: the steps read back what Campus Skills holds
 * (see {@link sendChanges}).
 *
 * @since 0.1.0
 */
export const writePolicy: RetryPolicy.RetryPolicy = RetryPolicy.exponential({
  maxAttempts: 4,
  initialDelay: "1 second",
  maxDelay: "30 seconds",
  jitter: true
})

// ---------------------------------------------------------------------------------------------
// Shared schemas
// ---------------------------------------------------------------------------------------------

/**
 * Contract codes.
 *
 * @since 0.1.0
 */
export const Codes = Schema.Array(Schema.String)

/**
 * A list of contracts in their wire form (what a sync or a diff takes).
 *
 * @since 0.1.0
 */
export const Contracts = Schema.Array(Contract.Contract)

// ---------------------------------------------------------------------------------------------
// test-token
// ---------------------------------------------------------------------------------------------

/**
 * `campus-skills/test-token`: checks the token; answers the school's name. A refused token
 * fails at once with `Unauthorized`, whose message never contains the token.
 *
 * @since 0.1.0
 */
export const testToken = Step.make({
  name: "campus-skills/test-token",
  description: "Check the Campus Skills token (GET /api/sync/v1/test) and return the school's name.",
  input: Schema.Struct({}),
  output: Contract.TestResponse,
  run: internal.testToken,
  retry: readPolicy,
  timeout: "45 seconds",
  idempotent: true
})

// ---------------------------------------------------------------------------------------------
// diff
// ---------------------------------------------------------------------------------------------

/**
 * The input of `campus-skills/diff`.
 *
 * @since 0.1.0
 */
export const DiffInput = Schema.Struct({ contrats: Contracts })

/**
 * What a full sync of a list would do, by contract code: `removed` is what it would archive.
 *
 * @since 0.1.0
 */
export const DiffSummary = Schema.Struct({
  same: Codes,
  added: Codes,
  updated: Codes,
  removed: Codes
})

/** @since 0.1.0 */
export type DiffSummary = typeof DiffSummary.Type

/**
 * `campus-skills/diff`: a dry run (`POST /api/sync/v1/contrats-diff`); changes nothing. An
 * invalid list fails with `InvalidContracts` naming every refused contract and why.
 *
 * @since 0.1.0
 */
export const diff = Step.make({
  name: "campus-skills/diff",
  description:
    "Simulate a full sync of a list of contracts (POST /api/sync/v1/contrats-diff): the codes that are the same, " +
    "added, updated, and removed (that a real sync would archive). Changes nothing.",
  input: DiffInput,
  output: DiffSummary,
  run: internal.diff,
  retry: readPolicy,
  timeout: "60 seconds",
  idempotent: true
})

// ---------------------------------------------------------------------------------------------
// sync-snapshot
// ---------------------------------------------------------------------------------------------

/**
 * How many contracts a snapshot sync may archive: a maximum count (default 0), or the exact
 * codes that may be archived.
 *
 * @since 0.1.0
 */
export const AllowRemovals = Schema.Union(Schema.Int.pipe(Schema.nonNegative()), Codes)

/**
 * The input of `campus-skills/sync-snapshot`.
 *
 * @since 0.1.0
 */
export const SyncSnapshotInput = Schema.Struct({
  /** The full list of active contracts: every held contract left out is archived. */
  contrats: Contracts,
  /** `v2` (default) answers the valid and invalid contracts; `v1` refuses the whole batch if one is invalid. */
  version: Schema.optional(Schema.Literal("v1", "v2")),
  /** Default 0: the sync is refused when it would archive anything. */
  allowRemovals: Schema.optional(AllowRemovals),
  /**
   * Default false: any refused contract fails the step (and nothing is sent). True: the refused
   * ones are reported in the output and the others synced (v2 keeps a refused contract it
   * already held; v1 is sent without them, so a held one is archived and counted by the guard).
   */
  allowInvalid: Schema.optional(Schema.Boolean)
})

/** @since 0.1.0 */
export type SyncSnapshotInput = typeof SyncSnapshotInput.Type

/**
 * The previous versions of what a sync or a change touched: what its compensation restores.
 *
 * @since 0.1.0
 */
export const Previous = Schema.Array(Contract.TransmittedContract)

/**
 * The output of `campus-skills/sync-snapshot`.
 *
 * @since 0.1.0
 */
export const SyncSnapshotOutput = Schema.Struct({
  version: Schema.Literal("v1", "v2"),
  /** How many contracts were sent. */
  sent: Schema.Int,
  /** New contracts (or archived ones made active again). */
  added: Codes,
  updated: Codes,
  unchanged: Schema.Int,
  /** What the sync archived (held contracts left out of the list). */
  archived: Codes,
  /** The contracts Campus Skills accepted. */
  valid: Codes,
  /** The contracts it refused (only with `allowInvalid: true`). */
  invalid: Schema.Array(RefusedContract),
  /** v1's warning, when it archived something. */
  warning: Schema.optional(Schema.String),
  /** Held versions of the updated and archived contracts, before the sync. */
  previous: Previous
})

/** @since 0.1.0 */
export type SyncSnapshotOutput = typeof SyncSnapshotOutput.Type

/**
 * `campus-skills/sync-snapshot`: the full sync, with snapshot safety. It runs the diff first and
 * refuses (`SnapshotGuard`, not retryable, nothing sent) when the sync would archive more than
 * `allowRemovals` allows; refused contracts fail it (`InvalidContracts`, nothing sent) unless
 * `allowInvalid`. Compensation: the added contracts are archived again, the updated ones get
 * their previous version back and the archived ones are sent again (one v2 `changes` call).
 *
 * Within one invocation the plan (diff, guard, previous versions) is made by the first attempt
 * and reused by its retries, so a retry after a lost answer sends the same list and reports the
 * same archived codes. A lost answer is reconciled as for {@link sendChanges}: the plan found
 * applied is the step's output (and what its compensation restores). A run resumed after a
 * crash makes a new plan.
 *
 * @since 0.1.0
 */
export const syncSnapshot = Step.make({
  name: "campus-skills/sync-snapshot",
  description:
    "Send the full list of active contracts (v2 by default, or v1). Runs the diff first and refuses, sending nothing, " +
    "when the sync would archive more contracts than allowRemovals allows (default 0) or when a contract is invalid " +
    "(unless allowInvalid). Compensation restores the previous state of the contracts it touched.",
  input: SyncSnapshotInput,
  output: SyncSnapshotOutput,
  run: internal.syncSnapshot,
  reconcile: internal.reconcileSnapshot,
  compensate: {
    description: "archive the added contracts, restore the previous versions of the updated and archived ones",
    run: internal.undoSnapshot
  },
  retry: writePolicy,
  timeout: "2 minutes",
  idempotent: true
})

// ---------------------------------------------------------------------------------------------
// send-changes
// ---------------------------------------------------------------------------------------------

/**
 * The input of `campus-skills/send-changes`.
 *
 * @since 0.1.0
 */
export const SendChangesInput = Schema.Struct({
  added: Schema.optional(Contracts),
  updated: Schema.optional(Contracts),
  /** Codes of the contracts to archive. */
  removed: Schema.optional(Codes),
  /** Default false: a refused contract fails the step, and the valid part is undone. */
  allowInvalid: Schema.optional(Schema.Boolean)
})

/** @since 0.1.0 */
export type SendChangesInput = typeof SendChangesInput.Type

/**
 * The output of `campus-skills/send-changes`.
 *
 * @since 0.1.0
 */
export const SendChangesOutput = Schema.Struct({
  added: Codes,
  updated: Codes,
  removed: Codes,
  /** The contracts Campus Skills accepted. */
  valid: Codes,
  invalid: Schema.Array(RefusedContract),
  /** The held versions, before the call, of the contracts it touched. */
  previous: Previous,
  /** Touched codes that were not held (active) before the call. */
  absent: Codes
})

/** @since 0.1.0 */
export type SendChangesOutput = typeof SendChangesOutput.Type

/**
 * `campus-skills/send-changes`: v2 `changes`, an upsert merged into what Campus Skills holds.
 *
 * Before sending, the step reads the transmitted list for the touched codes (the previous
 * versions). Compensation undoes what can be undone in one `changes` call: contracts that were
 * not held before are archived again, updated ones get their previous version back, removed ones
 * are sent again. A previous version that v2 refuses (e.g. sent through v1 without dates) cannot
 * be restored: the compensation then fails with `CannotRestore`, naming it.
 *
 * A call whose answer was lost (the connection dropped after the commit, a 200 that does not
 * decode, a 5xx, a timeout) may have been applied. Before a retry, and once more before the
 * step is declared failed, the engine calls the step's `reconcile`, which reads the touched
 * contracts back: all changes visible, the step succeeded (same output, so the compensation
 * archives what it added); some visible (a contract refused), those are undone and the step
 * goes on failing, leaving nothing behind; none, the retry sends them again. A compensation
 * whose own answer is lost checks the same way before it is reported failed. The previous
 * versions are kept in memory: a run resumed after a crash between the call and the journal
 * reads them again, after the call.
 *
 * @since 0.1.0
 */
export const sendChanges = Step.make({
  name: "campus-skills/send-changes",
  description:
    "Send changes (POST /api/sync/v2/contrats/changes: added, updated, removed codes), merged into what Campus Skills " +
    "holds. Refused contracts fail the step (its valid part is undone) unless allowInvalid. Compensation restores the " +
    "previous versions read before sending.",
  input: SendChangesInput,
  output: SendChangesOutput,
  run: internal.sendChanges,
  reconcile: internal.reconcileChanges,
  compensate: {
    description: "archive the contracts it added, restore the previous versions of those it updated or removed",
    run: internal.undoChanges
  },
  retry: writePolicy,
  timeout: "2 minutes",
  idempotent: true
})

// ---------------------------------------------------------------------------------------------
// list-integrated, list-transmitted
// ---------------------------------------------------------------------------------------------

/**
 * The input of the list steps.
 *
 * @since 0.1.0
 */
export const ListInput = Schema.Struct({
  /** Only these contracts (default: all). */
  codes: Schema.optional(Codes),
  /** Contracts per page request (default 100). */
  pageSize: Schema.optional(Schema.Int.pipe(Schema.positive()))
})

/**
 * The output of the list steps.
 *
 * @since 0.1.0
 */
export const ListOutput = Schema.Struct({
  /** How many contracts the whole list holds. */
  total: Schema.Int,
  /** The contracts (those in `codes` when given). */
  contrats: Schema.Array(Contract.TransmittedContract),
  /** The requested codes that are not in the list. */
  missing: Codes
})

/** @since 0.1.0 */
export type ListOutput = typeof ListOutput.Type

/**
 * `campus-skills/list-integrated`: every integrated contract (on the platform), all pages.
 *
 * @since 0.1.0
 */
export const listIntegrated = Step.make({
  name: "campus-skills/list-integrated",
  description: "List the integrated contracts (GET /api/sync/v1/contrats, every page), optionally only some codes.",
  input: ListInput,
  output: ListOutput,
  run: internal.list("integrated"),
  retry: readPolicy,
  timeout: "2 minutes",
  idempotent: true
})

/**
 * `campus-skills/list-transmitted`: every transmitted (active) contract, all pages.
 *
 * @since 0.1.0
 */
export const listTransmitted = Step.make({
  name: "campus-skills/list-transmitted",
  description:
    "List the transmitted contracts (GET /api/sync/v1/contrats-get-all, every page), optionally only some codes.",
  input: ListInput,
  output: ListOutput,
  run: internal.list("transmitted"),
  retry: readPolicy,
  timeout: "2 minutes",
  idempotent: true
})

// ---------------------------------------------------------------------------------------------
// wait-integrated
// ---------------------------------------------------------------------------------------------

const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/

/**
 * A duration as a workflow writes it (`500ms`, `30s`, `2m`, `1h`), decoded to milliseconds and
 * at most `maxMillis`.
 */
const DeadlineText = (maxMillis: number) =>
  Schema.transformOrFail(
    Schema.String.pipe(Schema.pattern(DURATION, { message: () => "expected a duration such as 30s, 500ms, 2m or 1h" })),
    Schema.Number,
    {
      strict: true,
      decode: (text, _, ast) => {
        // The pattern above is a subset of what ProviderKit reads (it keeps the editor's check).
        const millis = Duration.toMillis(Either.getOrThrow(ProviderKit.parseDuration(text)))
        return millis <= maxMillis
          ? ParseResult.succeed(millis)
          : ParseResult.fail(
            new ParseResult.Type(
              ast,
              text,
              `a deadline of at most ${maxMillis / 1000} s (the step's configured deadline, which sets how many polls ` +
                `its policy allows), got ${text.trim()}`
            )
          )
      },
      encode: (millis) => ParseResult.succeed(`${millis}ms`)
    }
  ).annotations({
    description: "How long to wait in all, from the first poll (500ms, 30s, 2m, 1h); at most the step's configured " +
      "deadline (5 minutes by default). Shorter than that for a flow that cannot wait as long."
  })

/**
 * The input of `campus-skills/wait-integrated` whose configured deadline is `deadlineMillis`:
 * the codes, and optionally a shorter deadline for this use (`deadline: 30s`).
 *
 * @since 0.1.0
 */
export const waitIntegratedInput = (deadlineMillis: number) =>
  Schema.Struct({
    codes: Schema.NonEmptyArray(Schema.String),
    deadline: Schema.optionalWith(DeadlineText(deadlineMillis), { exact: true })
  })

/**
 * The input of `campus-skills/wait-integrated` with the default deadline ({@link defaultWait}).
 *
 * @since 0.1.0
 */
export const WaitIntegratedInput = waitIntegratedInput(5 * 60_000)

/**
 * The output of `campus-skills/wait-integrated`.
 *
 * @since 0.1.0
 */
export const WaitIntegratedOutput = Schema.Struct({
  integrated: Codes,
  /** From the first poll of this invocation (before a crash, if the run was resumed) to the one that found them all. */
  waitedMillis: Schema.Number
})

/**
 * Polling parameters of `campus-skills/wait-integrated`.
 *
 * @since 0.1.0
 */
export interface WaitOptions {
  /** Between two polls (default 5 seconds). */
  readonly pollInterval?: Duration.DurationInput | undefined
  /** How long to wait in all (default 5 minutes). */
  readonly deadline?: Duration.DurationInput | undefined
}

/**
 * The default polling parameters: every 5 s for 5 minutes (61 polls).
 *
 * @since 0.1.0
 */
export const defaultWait = { pollInterval: "5 seconds", deadline: "5 minutes" } as const

/**
 * Builds `campus-skills/wait-integrated` for given polling parameters.
 *
 * Durable polling through the engine: one attempt checks the integrated list once. When some
 * codes are missing it fails with `NotYetIntegrated` ("2 of 3 contracts not integrated yet: X,
 * Y"), which the step's policy retries at a constant `pollInterval`, so every poll is an
 * `AttemptFailed` event in the run history. Once the deadline has passed since the first poll of
 * the invocation, the attempt fails with `IntegrationTimeout` instead (not retryable), saying for
 * each code whether it was transmitted (then no integration model matches its group) or not.
 *
 * The first poll records its time and the deadline (`deadline`, or the input's shorter
 * `deadline`) in the invocation's journaled state: a run resumed after a crash keeps the wait it
 * had started, it does not start a new one. The policy is the step's own (`Step.polls`): a
 * workflow's default retry does not replace it; a `retry` on the step itself still does.
 *
 * The policy allows `ceil(deadline / pollInterval) + 1` attempts (at most 100: a longer deadline
 * needs a longer interval).
 *
 * @since 0.1.0
 */
export const makeWaitIntegrated = (options: WaitOptions = {}) => {
  const { deadlineMillis, policy } = internal.waitPolicy(
    options.pollInterval ?? defaultWait.pollInterval,
    options.deadline ?? defaultWait.deadline
  )
  return Step.make({
    name: "campus-skills/wait-integrated",
    description:
      `Wait until the given contracts are integrated (polls GET /api/sync/v1/contrats ${RetryPolicy.describe(policy)}); ` +
      `fails with IntegrationTimeout after ${deadlineMillis / 1000} s (or the shorter deadline given), naming what is ` +
      "still missing and why. The deadline runs from the first poll, also across a crash and resume.",
    input: waitIntegratedInput(deadlineMillis),
    output: WaitIntegratedOutput,
    run: internal.waitIntegrated(deadlineMillis),
    retry: policy,
    polls: true,
    timeout: "60 seconds",
    idempotent: true
  })
}

/**
 * `campus-skills/wait-integrated` with the default parameters ({@link defaultWait}).
 *
 * @since 0.1.0
 */
export const waitIntegrated = makeWaitIntegrated()

// ---------------------------------------------------------------------------------------------
// reset-sync
// ---------------------------------------------------------------------------------------------

/**
 * Builds `campus-skills/reset-sync`: `DELETE /api/sync/v1/contrats`, "supprimer tous les
 * contrats". The vendor reserves the route for the sandbox: unless the client's configuration
 * says the target is a sandbox (`sandbox: true`, set by the plugin's own sandbox, or in the
 * profile of the vendor's sandbox) it fails with `ResetRefused`, before anything is sent.
 * `sandbox: true` here allows it whatever the configuration (for hosts that know better). A
 * lost answer is reconciled by reading both lists (done when both are empty).
 *
 * @since 0.1.0
 */
export const makeResetSync = (options: { readonly sandbox?: boolean | undefined } = {}) =>
  Step.make({
    name: "campus-skills/reset-sync",
    description:
      "Delete every Campus Skills contract, transmitted and integrated (DELETE /api/sync/v1/contrats, documented for " +
        "the sandbox only): contracts sent afterwards count as new. " +
      (options.sandbox === true
        ? "Enabled: the plugin was created for a sandbox."
        : "Only against a sandbox (sandbox: true in the configuration, as relais' sandbox sets it); refused otherwise."),
    input: Schema.Struct({}),
    output: Schema.Struct({ reset: Schema.Literal(true) }),
    run: (input) =>
      Effect.flatMap(CampusSkillsClient, (client) => internal.resetSync(options.sandbox === true || client.sandbox)(input)),
    reconcile: (input) =>
      Effect.flatMap(CampusSkillsClient, (client) => internal.reconcileReset(options.sandbox === true || client.sandbox)(input)),
    retry: readPolicy,
    timeout: "45 seconds",
    idempotent: true
  })

/**
 * `campus-skills/reset-sync` as registered: allowed against a sandbox (see {@link makeResetSync}).
 *
 * @since 0.1.0
 */
export const resetSync = makeResetSync()
