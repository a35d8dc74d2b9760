/**
 * The errors the AIMAIRA steps add to the client's (`Errors.AimairaError`): a code or a name
 * that matches nothing, a natural key that matches several entities, an inscription without a
 * parcours. All are definitive answers (no `status`), so no retry policy retries them.
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
 * Every error of the steps beyond the client's.
 *
 * @since 0.1.0
 */
export const StepError = Schema.Union(UnknownCode, Ambiguous, NoParcours)

/**
 * @since 0.1.0
 */
export type StepError = typeof StepError.Type
