/**
 * The errors the AIMAIRA steps add to the client's (`Errors.AimairaError`): a code or a name
 * that matches nothing, a natural key that matches several entities, an inscription without a
 * parcours, a refused DELETE. These are definitive answers (no `status`), so no retry policy
 * retries them. `LeftBehind` (an attempt that could not undo its partial work) carries the
 * `status` of the failure it wraps, and is retried as that failure would be.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A code (or name) given to a step matches no entity: `TypeConventionCode: APPP`,
 * `EtatConventionCode: SAISI`, an unknown civilité or funding body. The message lists the
 * closest known values.
 *
 * @since 0.1.0
 */
export class UnknownCode extends Schema.TaggedError<UnknownCode>("@relais/aimaira/UnknownCode")("UnknownCode", {
  /** The entity set searched (`TypeConvention`, `EtatConvention`, `OPCA`, ...). */
  entitySet: Schema.String,
  /** The property compared (`Code`, `Nom`). */
  field: Schema.String,
  value: Schema.String,
  /** The closest existing values, best first. */
  suggestions: Schema.Array(Schema.String),
  /** Every existing value (at most 30). */
  known: Schema.Array(Schema.String)
}) {
  override get message(): string {
    const hint = this.suggestions.length > 0 ? ` (did you mean ${this.suggestions.map((s) => `"${s}"`).join(" or ")}?)` : ""
    const known = this.known.length > 0 ? `; known values: ${this.known.join(", ")}` : ""
    return `AIMAIRA has no ${this.entitySet} with ${this.field} "${this.value}"${hint}${known}`
  }
}

/**
 * A natural key matches several entities where one was expected (e.g. two learners share an
 * e-mail address): the step cannot choose for you.
 *
 * @since 0.1.0
 */
export class Ambiguous extends Schema.TaggedError<Ambiguous>("@relais/aimaira/Ambiguous")("Ambiguous", {
  entitySet: Schema.String,
  /** The key, readable: `Mail/Adresse eq 'jean.dupont@ecole.fr'`. */
  key: Schema.String,
  ids: Schema.Array(Schema.Number)
}) {
  override get message(): string {
    return `AIMAIRA has ${this.ids.length} ${this.entitySet} entities for ${this.key} (ids ${this.ids.join(", ")}); ` +
      `resolve the duplicate or pass an id instead`
  }
}

/**
 * An inscription cannot be enrolled on a parcours: it has no voie d'entrée, its voie d'entrée is
 * not visible in the API (AIMAIRA only shows those with a référence externe) or leads to no
 * parcours, or the parcours given belongs to another programme. Give `ParcoursId`, or fix the
 * inscription in AIMAIRA.
 *
 * @since 0.1.0
 */
export class NoParcours extends Schema.TaggedError<NoParcours>("@relais/aimaira/NoParcours")("NoParcours", {
  InscriptionId: Schema.Number,
  reason: Schema.Literal("no-voie-d-entree", "voie-d-entree-hidden", "no-parcours", "other-programme"),
  /** The voie d'entrée (`RecrutementId`) or the parcours concerned, when there is one. */
  id: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    const which = `the inscription ${this.InscriptionId}`
    switch (this.reason) {
      case "no-voie-d-entree":
        return `AIMAIRA: ${which} has no voie d'entrée (RecrutementId), so no parcours to enrol it on; give ParcoursId`
      case "voie-d-entree-hidden":
        return `AIMAIRA: the voie d'entrée ${this.id} of ${which} is not visible in the API ` +
          `(AIMAIRA only shows voies d'entrée with a référence externe); add one in Manage, or give ParcoursId`
      case "no-parcours":
        return `AIMAIRA: the voie d'entrée ${this.id} of ${which} leads to no parcours (ParcoursId is empty); give ParcoursId`
      case "other-programme":
        return `AIMAIRA: the parcours ${this.id} belongs to another programme than ${which}`
    }
  }
}

/**
 * A write would break a documented rule of conventions; nothing was written:
 *
 * - `one-professional-per-role`: "Le tuteur, le signataire et l'autre contact doivent être trois
 *   professionnels différents avec trois identifiants différents" (`MaitreId`, `MaitreBisId`,
 *   `SignataireId`, `ReferentId`);
 * - `own-entreprise`: "deux conventions ne peuvent pas avoir la même valeur renseignée dans le
 *   champ `EntrepriseId`".
 *
 * @since 0.1.0
 */
export class ConventionRule extends Schema.TaggedError<ConventionRule>("@relais/aimaira/ConventionRule")("ConventionRule", {
  rule: Schema.Literal("one-professional-per-role", "own-entreprise"),
  ConventionId: Schema.Number,
  conventionCode: Schema.String,
  /** The fields at fault (`["MaitreId", "SignataireId"]`, `["EntrepriseId"]`). */
  fields: Schema.Array(Schema.String),
  /** The professional named twice, or the company already taken. */
  id: Schema.Number,
  /** The two roles, or the convention that has the company. */
  detail: Schema.String
}) {
  override get message(): string {
    const convention = `the convention ${this.conventionCode} (${this.ConventionId})`
    return this.rule === "one-professional-per-role"
      ? `AIMAIRA: the professional ${this.id} cannot be both ${this.detail} of ${convention} ` +
        `(${this.fields.join(" and ")}): AIMAIRA requires a different professional for each role (tuteur, signataire, ` +
        "autre contact), even for the same person; create one per role with aimaira/create-professionnel"
      : `AIMAIRA: the company (Entreprise ${this.id}) already belongs to the convention ${this.detail}, so it cannot be ` +
        `the company of ${convention}: each convention needs its own Entreprise, even for the same physical company; ` +
        "create one with aimaira/create-entreprise"
  }
}

/**
 * A record relais created in AIMAIRA and could not remove: what a person has to delete by hand.
 *
 * @since 0.1.0
 */
export class Leftover extends Schema.Class<Leftover>("@relais/aimaira/Leftover")({
  /** The entity set, e.g. `Mail`. */
  entitySet: Schema.String,
  id: Schema.Number,
  /** What it is, for a person: `the e-mail tom.legall@ecole.fr`, `LE GALL Tom`. */
  what: Schema.String
}) {
  /** `Mail 2215301 (the e-mail tom.legall@ecole.fr)`. */
  get label(): string {
    return `${this.entitySet} ${this.id} (${this.what})`
  }
}

const listLeft = (left: ReadonlyArray<Leftover>): string => left.map((item) => item.label).join(", then ")

/**
 * AIMAIRA refused a DELETE (405, 501 or 403): its API documents no DELETE for any entity, so an
 * instance may well refuse it. Raised by compensations and by steps undoing their own partial
 * work; never retried (the same request would be refused again). `left` is everything the
 * undo still had to remove, this record first, in the order to delete them by hand.
 *
 * @since 0.1.0
 */
export class DeleteRefused extends Schema.TaggedError<DeleteRefused>("@relais/aimaira/DeleteRefused")("DeleteRefused", {
  entitySet: Schema.String,
  id: Schema.Number,
  /** The status AIMAIRA answered (`status` is not used: a policy retrying 5xx must not retry a 501). */
  httpStatus: Schema.Number,
  /** AIMAIRA's message. */
  detail: Schema.String,
  left: Schema.Array(Leftover)
}) {
  override get message(): string {
    return `AIMAIRA refused to delete ${this.entitySet} ${this.id} (DELETE answered ${this.httpStatus}: ${this.detail}). ` +
      `AIMAIRA documents no DELETE, so relais cannot undo this: delete by hand in AIMAIRA ${listLeft(this.left)}`
  }

  /** Journaled with the error (`ErrorInfo.details`): what is left, as data. */
  get details(): { readonly left: ReadonlyArray<{ readonly entitySet: string; readonly id: number; readonly what: string }> } {
    return { left: this.left.map(({ entitySet, id, what }) => ({ entitySet, id, what })) }
  }
}

/**
 * An attempt failed after it had created records (an e-mail before the learner it belongs to,
 * the first links of an enrolment), and relais could not undo them: the delete was refused or
 * failed, or the failure left it unknown whether the last write was stored. `status` and
 * `retryAfterMillis` are those of the attempt's own failure, so a retry policy treats this error
 * as it would that failure; a later attempt takes over what is left (the records carry the
 * invocation's marker). When no attempt succeeds, `left` is what to delete by hand.
 *
 * @since 0.1.0
 */
export class LeftBehind extends Schema.TaggedError<LeftBehind>("@relais/aimaira/LeftBehind")("LeftBehind", {
  /** The message of the attempt's own failure. */
  failure: Schema.String,
  /** The tag of the attempt's own failure (`Unavailable`, `Transport`...). */
  failureTag: Schema.String,
  /** Why the undo did not happen. */
  undo: Schema.String,
  left: Schema.Array(Leftover),
  status: Schema.optional(Schema.Number),
  retryAfterMillis: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return `${this.failure}; relais could not undo what this attempt had already created (${this.undo}): ` +
      `unless a later attempt succeeds, delete by hand in AIMAIRA ${listLeft(this.left)}`
  }

  /** Journaled with the error (`ErrorInfo.details`): what is left, as data. */
  get details(): { readonly left: ReadonlyArray<{ readonly entitySet: string; readonly id: number; readonly what: string }> } {
    return { left: this.left.map(({ entitySet, id, what }) => ({ entitySet, id, what })) }
  }
}

/**
 * Every error of the steps beyond the client's.
 *
 * @since 0.1.0
 */
export const StepError = Schema.Union(UnknownCode, Ambiguous, NoParcours, ConventionRule, DeleteRefused, LeftBehind)

/**
 * @since 0.1.0
 */
export type StepError = typeof StepError.Type
