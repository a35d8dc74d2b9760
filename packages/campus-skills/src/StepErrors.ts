/**
 * The errors the Campus Skills steps add to the client's (`Errors.CampusSkillsError`). None of
 * them carries a `status`, and only `NotYetIntegrated` is named by a default retry policy (the
 * one of `campus-skills/wait-integrated`): the others are final answers.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

const list = (codes: ReadonlyArray<string>, max = 10) =>
  codes.length <= max ? codes.join(", ") : `${codes.slice(0, max).join(", ")} and ${codes.length - max} more`

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

/**
 * One reason a contract was refused, without the contract as sent.
 *
 * @since 0.1.0
 */
export class RefusalReason extends Schema.Class<RefusalReason>("@relais/campus-skills/RefusalReason")({
  rule: Schema.String,
  field: Schema.String,
  message: Schema.String
}) {}

/**
 * A contract Campus Skills refused: its code (when it had one), its position in the request,
 * and why.
 *
 * @since 0.1.0
 */
export class RefusedContract extends Schema.Class<RefusedContract>("@relais/campus-skills/RefusedContract")({
  codeContrat: Schema.NullOr(Schema.String),
  index: Schema.optional(Schema.Int),
  reasons: Schema.Array(RefusalReason)
}) {
  /** `C2` (or `#1` without a code). */
  get label(): string {
    return this.codeContrat ?? `#${this.index ?? "?"}`
  }
}

/**
 * A snapshot sync was refused before anything was sent: it would archive contracts that
 * `allowRemovals` does not allow. A partial list sent by mistake ends here instead of archiving
 * a school's contracts.
 *
 * @since 0.1.0
 */
export class SnapshotGuard extends Schema.TaggedError<SnapshotGuard>()("SnapshotGuard", {
  /** Every contract the sync would archive. */
  wouldArchive: Schema.Array(Schema.String),
  /** The ones `allowRemovals` does not allow (all of them when it is a number). */
  notAllowed: Schema.Array(Schema.String),
  /** `allowRemovals` as given: a maximum count, or the codes that may be archived. */
  allowed: Schema.Union(Schema.Number, Schema.Array(Schema.String))
}) {
  override get message(): string {
    const n = this.wouldArchive.length
    const head = `Refused the snapshot sync, nothing was sent: it would archive ${plural(n, "contract")} (${
      list(this.wouldArchive, 20)
    })`
    return typeof this.allowed === "number"
      ? `${head}, more than allowRemovals (${this.allowed}). Check that the list is complete; if these removals ` +
        `are intended, set allowRemovals to ${n} or list their codes.`
      : `${head}, and ${list(this.notAllowed, 20)} ${this.notAllowed.length === 1 ? "is" : "are"} not in ` +
        `allowRemovals. Check that the list is complete, or add them to allowRemovals.`
  }

  get details(): { readonly wouldArchive: ReadonlyArray<string>; readonly notAllowed: ReadonlyArray<string> } {
    return { wouldArchive: this.wouldArchive, notAllowed: this.notAllowed }
  }
}

/**
 * Campus Skills refused some contracts (validation, duplicate person codes or e-mails, code /
 * name conflicts...). `outcome` says what became of the rest of the call:
 *
 * - `nothing-sent`: the refusal came from the dry run (diff) or a v1 call: nothing changed.
 * - `undone`: the valid part of a v2 call was applied, then undone by the step.
 * - `undo-failed`: the valid part was applied and could not be undone (see `undoError`).
 *
 * @since 0.1.0
 */
export class InvalidContracts extends Schema.TaggedError<InvalidContracts>()("InvalidContracts", {
  /** The step's operation: `diff`, `sync-snapshot`, `send-changes`. */
  operation: Schema.String,
  outcome: Schema.Literal("nothing-sent", "undone", "undo-failed"),
  contracts: Schema.Array(RefusedContract),
  undoError: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const what = this.outcome === "nothing-sent"
      ? "nothing was changed"
      : this.outcome === "undone"
      ? "the valid part of the call was applied, then undone"
      : `the valid part of the call was applied and could not be undone (${this.undoError ?? "unknown error"})`
    const each = this.contracts.map((c) => `${c.label}: ${c.reasons.map((r) => r.message).join("; ")}`)
    return `Campus Skills refused ${plural(this.contracts.length, "contract")} in ${this.operation} (${what}). ${
      each.join(" | ")
    }. Fix the data, or set allowInvalid: true to go on without them.`
  }

  get details(): { readonly invalid: ReadonlyArray<{ readonly codeContrat: string | null; readonly reasons: ReadonlyArray<string> }> } {
    return { invalid: this.contracts.map((c) => ({ codeContrat: c.codeContrat, reasons: c.reasons.map((r) => r.message) })) }
  }
}

/**
 * One poll of `campus-skills/wait-integrated` found contracts not integrated yet. Retryable:
 * the step's policy polls again.
 *
 * @since 0.1.0
 */
export class NotYetIntegrated extends Schema.TaggedError<NotYetIntegrated>()("NotYetIntegrated", {
  missing: Schema.Array(Schema.String),
  total: Schema.Int,
  elapsedMillis: Schema.Number
}) {
  override get message(): string {
    return `${this.missing.length} of ${plural(this.total, "contract")} not integrated yet: ${list(this.missing)}`
  }

  get details(): { readonly missing: ReadonlyArray<string> } {
    return { missing: this.missing }
  }
}

/**
 * Where a contract that was not integrated in time stands.
 *
 * @since 0.1.0
 */
export class PendingContract extends Schema.Class<PendingContract>("@relais/campus-skills/PendingContract")({
  codeContrat: Schema.String,
  /** `transmitted`: received but not associated with a session; `absent`: not in the transmitted list. */
  state: Schema.Literal("transmitted", "absent"),
  codeGroupe: Schema.optional(Schema.String),
  nomGroupe: Schema.optional(Schema.String)
}) {}

/**
 * `campus-skills/wait-integrated` reached its deadline with contracts still not integrated.
 *
 * @since 0.1.0
 */
export class IntegrationTimeout extends Schema.TaggedError<IntegrationTimeout>()("IntegrationTimeout", {
  deadlineMillis: Schema.Number,
  total: Schema.Int,
  missing: Schema.Array(PendingContract)
}) {
  override get message(): string {
    const each = this.missing.slice(0, 10).map((c) =>
      c.state === "transmitted"
        ? `${c.codeContrat} (received by Campus Skills but not integrated: integration needs a model for its group ${
          JSON.stringify(c.codeGroupe ?? "?")
        }${c.nomGroupe === undefined ? "" : ` "${c.nomGroupe}"`}; ask the Campus Skills integration team to configure ` +
          `an integration model for this group)`
        : `${c.codeContrat} (not in the transmitted list: never sent, or archived)`
    )
    const more = this.missing.length > 10 ? `; and ${this.missing.length - 10} more` : ""
    const received = this.missing.some((c) => c.state === "transmitted")
    return `${this.missing.length} of ${plural(this.total, "contract")} still not integrated after the deadline (${
      this.deadlineMillis / 1000
    } s): ${each.join("; ")}${more}.${
      received ? " If the team already configured the models, integration may just be slow: wait longer (a later deadline)." : ""
    }`
  }

  get details(): { readonly missing: ReadonlyArray<string> } {
    return { missing: this.missing.map((c) => c.codeContrat) }
  }
}

/**
 * `campus-skills/reset-sync` was refused: nothing was sent.
 *
 * @since 0.1.0
 */
export class ResetRefused extends Schema.TaggedError<ResetRefused>()("ResetRefused", {}) {
  override get message(): string {
    return "Refused to delete every Campus Skills contract (reset-sync), nothing was sent: the vendor reserves " +
      "DELETE /api/sync/v1/contrats for the sandbox. When the target is the vendor's sandbox, set sandbox: true " +
      "in the Campus Skills configuration (campusSkills.sandbox in the profile, or CAMPUS_SKILLS_SANDBOX=true); " +
      "relais' own sandbox (--sandbox) sets it."
  }
}

/**
 * A compensation could not restore some contracts (e.g. a previous version without dates,
 * which v2 refuses): they are left for a human.
 *
 * @since 0.1.0
 */
export class CannotRestore extends Schema.TaggedError<CannotRestore>()("CannotRestore", {
  contracts: Schema.Array(Schema.Struct({ codeContrat: Schema.String, reason: Schema.String }))
}) {
  override get message(): string {
    return `Could not restore ${plural(this.contracts.length, "contract")} in Campus Skills: ${
      this.contracts.map((c) => `${c.codeContrat}: ${c.reason}`).join("; ")
    }`
  }
}
