/**
 * Branded entity ids. AIMAIRA ids are plain integers unique across entity types; the brands keep
 * them apart in code, so a `ConventionId` cannot be passed where an `EntrepriseId` is expected.
 *
 * A reference field that is not set holds `0` (sometimes `null`) on the wire: reference fields
 * are typed `XId | null` and {@link isSet} tells a real reference from an empty one.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

const id = <const B extends string>(brand: B) => Schema.Int.pipe(Schema.nonNegative(), Schema.brand(brand))

/** @since 0.1.0 */
export const ApprenantId = id("@relais/aimaira/ApprenantId")
/** @since 0.1.0 */
export type ApprenantId = typeof ApprenantId.Type
/** @since 0.1.0 */
export const MailId = id("@relais/aimaira/MailId")
/** @since 0.1.0 */
export type MailId = typeof MailId.Type
/** @since 0.1.0 */
export const CiviliteId = id("@relais/aimaira/CiviliteId")
/** @since 0.1.0 */
export type CiviliteId = typeof CiviliteId.Type
/** @since 0.1.0 */
export const InscriptionId = id("@relais/aimaira/InscriptionId")
/** @since 0.1.0 */
export type InscriptionId = typeof InscriptionId.Type
/** @since 0.1.0 */
export const InscriptionSequenceId = id("@relais/aimaira/InscriptionSequenceId")
/** @since 0.1.0 */
export type InscriptionSequenceId = typeof InscriptionSequenceId.Type
/** @since 0.1.0 */
export const SequenceId = id("@relais/aimaira/SequenceId")
/** @since 0.1.0 */
export type SequenceId = typeof SequenceId.Type
/** @since 0.1.0 */
export const TypeSequenceId = id("@relais/aimaira/TypeSequenceId")
/** @since 0.1.0 */
export type TypeSequenceId = typeof TypeSequenceId.Type
/** @since 0.1.0 */
export const TypeConventionId = id("@relais/aimaira/TypeConventionId")
/** @since 0.1.0 */
export type TypeConventionId = typeof TypeConventionId.Type
/** @since 0.1.0 */
export const EtatConventionId = id("@relais/aimaira/EtatConventionId")
/** @since 0.1.0 */
export type EtatConventionId = typeof EtatConventionId.Type
/** @since 0.1.0 */
export const ConventionId = id("@relais/aimaira/ConventionId")
/** @since 0.1.0 */
export type ConventionId = typeof ConventionId.Type
/** @since 0.1.0 */
export const EntrepriseId = id("@relais/aimaira/EntrepriseId")
/** @since 0.1.0 */
export type EntrepriseId = typeof EntrepriseId.Type
/** @since 0.1.0 */
export const ProfessionnelId = id("@relais/aimaira/ProfessionnelId")
/** @since 0.1.0 */
export type ProfessionnelId = typeof ProfessionnelId.Type
/** @since 0.1.0 */
export const OrganismeFinanceurId = id("@relais/aimaira/OrganismeFinanceurId")
/** @since 0.1.0 */
export type OrganismeFinanceurId = typeof OrganismeFinanceurId.Type
/** @since 0.1.0 */
export const ConventionOrganismeFinanceurId = id("@relais/aimaira/ConventionOrganismeFinanceurId")
/** @since 0.1.0 */
export type ConventionOrganismeFinanceurId = typeof ConventionOrganismeFinanceurId.Type
/** @since 0.1.0 */
export const RemunerationId = id("@relais/aimaira/RemunerationId")
/** @since 0.1.0 */
export type RemunerationId = typeof RemunerationId.Type
/** @since 0.1.0 */
export const ClientId = id("@relais/aimaira/ClientId")
/** @since 0.1.0 */
export type ClientId = typeof ClientId.Type
/** @since 0.1.0 */
export const NatureClientId = id("@relais/aimaira/NatureClientId")
/** @since 0.1.0 */
export type NatureClientId = typeof NatureClientId.Type
/** @since 0.1.0 */
export const EnseignantId = id("@relais/aimaira/EnseignantId")
/** @since 0.1.0 */
export type EnseignantId = typeof EnseignantId.Type
/** @since 0.1.0 */
export const ProgrammeId = id("@relais/aimaira/ProgrammeId")
/** @since 0.1.0 */
export type ProgrammeId = typeof ProgrammeId.Type

/** @since 0.1.0 */
export const PeriodeId = id("@relais/aimaira/PeriodeId")
/** @since 0.1.0 */
export type PeriodeId = typeof PeriodeId.Type
/** @since 0.1.0 */
export const ParcoursId = id("@relais/aimaira/ParcoursId")
/** @since 0.1.0 */
export type ParcoursId = typeof ParcoursId.Type
/** @since 0.1.0 */
export const ParcoursPeriodeId = id("@relais/aimaira/ParcoursPeriodeId")
/** @since 0.1.0 */
export type ParcoursPeriodeId = typeof ParcoursPeriodeId.Type
/** A voie d'entrée (entity set `Recrutement`, field `RecrutementId` of an inscription). @since 0.1.0 */
export const RecrutementId = id("@relais/aimaira/RecrutementId")
/** @since 0.1.0 */
export type RecrutementId = typeof RecrutementId.Type
/** @since 0.1.0 */
export const InscriptionPeriodeId = id("@relais/aimaira/InscriptionPeriodeId")
/** @since 0.1.0 */
export type InscriptionPeriodeId = typeof InscriptionPeriodeId.Type

/**
 * A reference field: the id, or `null`. (`0` also means "not set" on the wire; see `isSet`.)
 *
 * @since 0.1.0
 */
export const Ref = <A, I, R>(self: Schema.Schema<A, I, R>) => Schema.NullOr(self)

/**
 * Whether a reference field points at something (neither `null` nor `0`).
 *
 * @since 0.1.0
 */
export const isSet = <A extends number>(value: A | null | undefined): value is A =>
  value !== null && value !== undefined && value !== 0
