/**
 * The AIMAIRA GraphV1 entities relais works with, as `Schema.Class`es.
 *
 * Each class declares the properties relais reads or writes, typed: branded ids, Paris dates as
 * `temporal-polyfill` values. Every other property of the entity (AIMAIRA entities carry up to a
 * hundred) is kept in `extra` exactly as received and written back by `update`/`modify`, so a
 * full update never resets a field by accident. `entitySet` is the URL segment of the entity.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as Ids from "./Ids.js"
import { type ClassLike, Extra, wireSchema } from "./internal/wire.js"
import { ParisDate, ParisDateTime } from "./ParisDate.js"

const extra = Schema.optionalWith(Extra, { default: () => ({}) })
const NullableString = Schema.NullOr(Schema.String)
const NullableNumber = Schema.NullOr(Schema.Number)
const NullableDate = Schema.NullOr(ParisDate)
const NullableDateTime = Schema.NullOr(ParisDateTime)

/**
 * What the client needs from an entity class.
 *
 * @since 0.1.0
 */
export interface Entity {
  readonly Id: number
  readonly extra: { readonly [key: string]: unknown }
}

/**
 * An entity class: its schema, its declared fields and its entity set (URL segment).
 *
 * @since 0.1.0
 */
export interface EntitySet<A extends Entity> extends Schema.Schema<A, any, never> {
  readonly entitySet: string
  readonly fields: Schema.Struct.Fields
  new(props: any, options?: any): A
}

/**
 * The id type of an entity.
 *
 * @since 0.1.0
 */
export type IdOf<A extends Entity> = A["Id"]

/**
 * The declared (typed) field names of an entity.
 *
 * @since 0.1.0
 */
export type FieldOf<A> = Exclude<keyof A & string, "extra">

/**
 * What `create` takes: any declared field (except `Id`), plus raw `extra` properties.
 *
 * @since 0.1.0
 */
export type CreateInput<A extends Entity> = { readonly [K in Exclude<FieldOf<A>, "Id">]?: A[K] } & {
  readonly extra?: { readonly [key: string]: unknown }
}

/**
 * The JSON form of an entity class: declared properties decoded, the others kept in `extra`,
 * `@odata.*` annotations dropped. For `listAs` with `$expand`, e.g.
 * `Schema.Struct({ Sequence: Entities.wire(Entities.Sequence) })`. Also takes the classes of
 * entities only reachable through a navigation property (`ParcoursPeriode`).
 *
 * @since 0.1.0
 */
export const wire = <A extends Entity>(entity: ClassLike<A>): Schema.Schema<A, Record<string, unknown>> => wireSchema(entity)

/**
 * A copy of an entity with some declared fields changed (`extra` kept), validated by the class.
 *
 * @since 0.1.0
 */
export const copy = <A extends Entity>(self: A, changes: { readonly [K in Exclude<FieldOf<A>, "Id">]?: A[K] }): A => {
  const Class = self.constructor as new(props: unknown) => A
  return new Class({ ...self, ...changes })
}

/** @since 0.1.0 */
export class Mail extends Schema.Class<Mail>("@relais/aimaira/Mail")({
  Id: Ids.MailId,
  Nom: Schema.String,
  Code: Schema.String,
  Adresse: Schema.String,
  IsDuplicate: Schema.Boolean,
  extra
}) {
  static readonly entitySet = "Mail"
}

/** @since 0.1.0 */
export class Civilite extends Schema.Class<Civilite>("@relais/aimaira/Civilite")({
  Id: Ids.CiviliteId,
  Nom: Schema.String,
  Code: Schema.String,
  NomLong: Schema.String,
  GenreMale: Schema.Boolean,
  extra
}) {
  static readonly entitySet = "Civilite"
}

/** A learner. @since 0.1.0 */
export class Apprenant extends Schema.Class<Apprenant>("@relais/aimaira/Apprenant")({
  Id: Ids.ApprenantId,
  Nom: Schema.String,
  Code: Schema.String,
  Login: Schema.String,
  Prenoms: Schema.String,
  NomUsage: Schema.String,
  PrenomUsage: Schema.String,
  CiviliteId: Ids.Ref(Ids.CiviliteId),
  MailId: Ids.Ref(Ids.MailId),
  DateNaissance: NullableDate,
  GenreMale: Schema.Boolean,
  EntrepriseId: Ids.Ref(Ids.EntrepriseId),
  IndividuId: Schema.Number,
  RefSysteme: Schema.String,
  extra
}) {
  static readonly entitySet = "Apprenant"
}

/** A learner's registration file (dossier d'inscription) in a programme. @since 0.1.0 */
export class Inscription extends Schema.Class<Inscription>("@relais/aimaira/Inscription")({
  Id: Ids.InscriptionId,
  ApprenantId: Ids.Ref(Ids.ApprenantId),
  ProgrammeId: Ids.Ref(Ids.ProgrammeId),
  AffaireId: NullableNumber,
  EntiteJuridiqueId: NullableNumber,
  RegimeInscriptionId: NullableNumber,
  RecrutementId: NullableNumber,
  EtatInscriptionId: NullableNumber,
  DateInscription: NullableDateTime,
  DateSortie: NullableDateTime,
  extra
}) {
  static readonly entitySet = "Inscription"
}

/** A learner's enrolment in a sequence. @since 0.1.0 */
export class InscriptionSequence extends Schema.Class<InscriptionSequence>("@relais/aimaira/InscriptionSequence")({
  Id: Ids.InscriptionSequenceId,
  ApprenantId: Ids.Ref(Ids.ApprenantId),
  SequenceId: Ids.Ref(Ids.SequenceId),
  Valide: Schema.Boolean,
  DateDesinscription: NullableDateTime,
  extra
}) {
  static readonly entitySet = "InscriptionSequence"
}

/** A teaching sequence (période en entreprise, enseignement, ...). @since 0.1.0 */
export class Sequence extends Schema.Class<Sequence>("@relais/aimaira/Sequence")({
  Id: Ids.SequenceId,
  Nom: Schema.String,
  Code: Schema.String,
  ProgrammeId: Ids.Ref(Ids.ProgrammeId),
  TypeSequenceId: Ids.Ref(Ids.TypeSequenceId),
  Debut: NullableDate,
  Fin: NullableDate,
  LibelleExterne: Schema.String,
  LibellePeriode: Schema.String,
  extra
}) {
  static readonly entitySet = "Sequence"
}

/** @since 0.1.0 */
export class TypeSequence extends Schema.Class<TypeSequence>("@relais/aimaira/TypeSequence")({
  Id: Ids.TypeSequenceId,
  Nom: Schema.String,
  Code: Schema.String,
  extra
}) {
  static readonly entitySet = "TypeSequence"
}

/** Stage (`STG`), professionnalisation (`PRO`), apprentissage (`APP`), ... @since 0.1.0 */
export class TypeConvention extends Schema.Class<TypeConvention>("@relais/aimaira/TypeConvention")({
  Id: Ids.TypeConventionId,
  Nom: Schema.String,
  Code: Schema.String,
  AvecSignatureEnLigne: Schema.Boolean,
  RegimeId: NullableNumber,
  extra
}) {
  static readonly entitySet = "TypeConvention"
}

/** A state of the convention workflow (`SAISIE` first). @since 0.1.0 */
export class EtatConvention extends Schema.Class<EtatConvention>("@relais/aimaira/EtatConvention")({
  Id: Ids.EtatConventionId,
  Nom: Schema.String,
  Code: Schema.String,
  Ordre: Schema.Number,
  extra
}) {
  static readonly entitySet = "EtatConvention"
}

/** An internship agreement or an apprenticeship / professionalisation contract. @since 0.1.0 */
export class Convention extends Schema.Class<Convention>("@relais/aimaira/Convention")({
  Id: Ids.ConventionId,
  Nom: Schema.String,
  Code: Schema.String,
  ApprenantId: Ids.Ref(Ids.ApprenantId),
  SequenceId: Ids.Ref(Ids.SequenceId),
  TypeConventionId: Ids.Ref(Ids.TypeConventionId),
  EtatConventionId: Ids.Ref(Ids.EtatConventionId),
  EntrepriseId: Ids.Ref(Ids.EntrepriseId),
  EnseignantId: Ids.Ref(Ids.EnseignantId),
  /** Signataire. */
  SignataireId: Ids.Ref(Ids.ProfessionnelId),
  /** Tuteur (stage), maître d'apprentissage 1, tuteur employeur (professionnalisation). */
  MaitreId: Ids.Ref(Ids.ProfessionnelId),
  /** Maître d'apprentissage 2, tuteur entreprise utilisatrice (professionnalisation). */
  MaitreBisId: Ids.Ref(Ids.ProfessionnelId),
  /** Autre contact. */
  ReferentId: Ids.Ref(Ids.ProfessionnelId),
  /** Référent école: assumed to be a member of the school's staff, an `Enseignant`. */
  ReferentEcoleId: Ids.Ref(Ids.EnseignantId),
  NatureContratId: NullableNumber,
  /** Gross monthly pay at hiring. */
  Remuneration: NullableNumber,
  AvantageNourriture: NullableNumber,
  AvantageLogement: NullableNumber,
  AvantageAutre: NullableString,
  CaisseRetraite: NullableString,
  Poste: NullableString,
  NbHeureFormation: NullableNumber,
  Devise: NullableString,
  NumContrat: NullableString,
  Avenant: Schema.Boolean,
  DateDebut: NullableDate,
  DateFin: NullableDate,
  DebutFormation: NullableDate,
  FinFormation: NullableDate,
  DateRupture: NullableDate,
  /** Not in every documented sample. */
  DateConclusion: Schema.optional(NullableDate),
  extra
}) {
  static readonly entitySet = "Convention"
}

/** The company of one convention (there is no shared company directory). @since 0.1.0 */
export class Entreprise extends Schema.Class<Entreprise>("@relais/aimaira/Entreprise")({
  Id: Ids.EntrepriseId,
  Nom: Schema.String,
  Code: Schema.String,
  AdresseId: NullableNumber,
  MailId: Ids.Ref(Ids.MailId),
  TelephoneId: NullableNumber,
  SIRET: Schema.String,
  NAF: Schema.String,
  TVAintracommunautaire: Schema.String,
  IDCC: Schema.String,
  ConventionCollective: Schema.String,
  Effectif: Schema.String,
  CaisseRetraite: Schema.String,
  extra
}) {
  static readonly entitySet = "Entreprise"
}

/** A person of the company: master, tutor, signatory, other contact. @since 0.1.0 */
export class Professionnel extends Schema.Class<Professionnel>("@relais/aimaira/Professionnel")({
  Id: Ids.ProfessionnelId,
  Nom: Schema.String,
  Code: Schema.String,
  Prenoms: Schema.String,
  NomUsage: Schema.String,
  PrenomUsage: Schema.String,
  CiviliteId: Ids.Ref(Ids.CiviliteId),
  MailId: Ids.Ref(Ids.MailId),
  Fonction: Schema.String,
  EntrepriseId: Ids.Ref(Ids.EntrepriseId),
  DateNaissance: NullableDate,
  IndividuId: NullableNumber,
  extra
}) {
  static readonly entitySet = "Professionnel"
}

/** A funding body (OPCO). The documented list endpoint is `OPCA`. @since 0.1.0 */
export class OrganismeFinanceur extends Schema.Class<OrganismeFinanceur>("@relais/aimaira/OrganismeFinanceur")({
  Id: Ids.OrganismeFinanceurId,
  Nom: Schema.String,
  Code: Schema.String,
  LibelleExterne: Schema.String,
  EntiteJuridiqueId: NullableNumber,
  RefClient: NullableNumber,
  extra
}) {
  static readonly entitySet = "OPCA"
}

/** A funding body attached to a convention. @since 0.1.0 */
export class ConventionOrganismeFinanceur extends Schema.Class<ConventionOrganismeFinanceur>(
  "@relais/aimaira/ConventionOrganismeFinanceur"
)({
  Id: Ids.ConventionOrganismeFinanceurId,
  Nom: NullableString,
  Code: NullableString,
  ConventionId: Ids.Ref(Ids.ConventionId),
  OrganismeFinanceurId: Ids.Ref(Ids.OrganismeFinanceurId),
  NumeroDossier: Schema.String,
  TypePriseCharge: Schema.String,
  extra
}) {
  static readonly entitySet = "ConventionOrganismeFinanceur"
}

/**
 * A learner's pay for one contract year (`Annee` 1 to 4), in up to two periods. `SalaireMin*`:
 * `SMC`, `SMIC`, or `-` / `null` when empty.
 *
 * @since 0.1.0
 */
export class Remuneration extends Schema.Class<Remuneration>("@relais/aimaira/Remuneration")({
  Id: Ids.RemunerationId,
  Nom: Schema.String,
  /** Empty in every documented sample; `aimaira/create-remuneration` stores its marker here. */
  Code: Schema.String,
  ConventionId: Ids.Ref(Ids.ConventionId),
  Annee: Schema.Number,
  Debut1: NullableDate,
  Fin1: NullableDate,
  Pourcentage1: NullableNumber,
  SalaireMin1: NullableString,
  Debut2: NullableDate,
  Fin2: NullableDate,
  Pourcentage2: NullableNumber,
  SalaireMin2: NullableString,
  extra
}) {
  static readonly entitySet = "Remuneration"
}

/** A billing account. `ReferenceId` is the id of the entity it bills for (e.g. a convention). @since 0.1.0 */
export class Client extends Schema.Class<Client>("@relais/aimaira/Client")({
  Id: Ids.ClientId,
  Nom: Schema.String,
  Code: Schema.String,
  Prenoms: Schema.String,
  NomUsage: Schema.String,
  EntrepriseId: Ids.Ref(Ids.EntrepriseId),
  EntiteJuridiqueId: NullableNumber,
  NatureClientId: Ids.Ref(Ids.NatureClientId),
  ReferenceId: NullableNumber,
  TVAintracommunautaire: NullableString,
  extra
}) {
  static readonly entitySet = "Client"
}

/** @since 0.1.0 */
export class NatureClient extends Schema.Class<NatureClient>("@relais/aimaira/NatureClient")({
  Id: Ids.NatureClientId,
  Nom: Schema.String,
  Code: Schema.String,
  NbJourDelaiPaiement: NullableNumber,
  extra
}) {
  static readonly entitySet = "NatureClient"
}

/** @since 0.1.0 */
export class Enseignant extends Schema.Class<Enseignant>("@relais/aimaira/Enseignant")({
  Id: Ids.EnseignantId,
  Nom: Schema.String,
  Code: Schema.String,
  Login: Schema.String,
  Prenoms: Schema.String,
  NomUsage: Schema.String,
  PrenomUsage: Schema.String,
  MailId: Ids.Ref(Ids.MailId),
  extra
}) {
  static readonly entitySet = "Enseignant"
}

/** @since 0.1.0 */
export class Programme extends Schema.Class<Programme>("@relais/aimaira/Programme")({
  Id: Ids.ProgrammeId,
  Nom: Schema.String,
  Code: Schema.String,
  EntiteJuridiqueId: NullableNumber,
  EcoleId: NullableNumber,
  CodeDroit: Schema.String,
  CodeAnalytique: Schema.String,
  LibelleExterne: Schema.String,
  NbAnnee: NullableNumber,
  extra
}) {
  static readonly entitySet = "Programme"
}

/** A school year (`2025/2026`). @since 0.1.0 */
export class Periode extends Schema.Class<Periode>("@relais/aimaira/Periode")({
  Id: Ids.PeriodeId,
  Nom: Schema.String,
  Code: Schema.String,
  Debut: NullableDate,
  Fin: NullableDate,
  LibelleExterne: Schema.String,
  EnCours: Schema.Boolean,
  extra
}) {
  static readonly entitySet = "Periode"
}

/** A parcours: the succession of periods (school years) a programme is taught over. @since 0.1.0 */
export class Parcours extends Schema.Class<Parcours>("@relais/aimaira/Parcours")({
  Id: Ids.ParcoursId,
  Nom: Schema.String,
  Code: Schema.String,
  ProgrammeId: Ids.Ref(Ids.ProgrammeId),
  extra
}) {
  static readonly entitySet = "Parcours"
}

/**
 * One period of a parcours (`Parcours?$expand=ParcoursPeriodes`): which `Periode`, which year of
 * the programme (`AnneeScolaire`). Not an entity set: only reachable through its parcours.
 *
 * @since 0.1.0
 */
export class ParcoursPeriode extends Schema.Class<ParcoursPeriode>("@relais/aimaira/ParcoursPeriode")({
  Id: Ids.ParcoursPeriodeId,
  Nom: Schema.String,
  Code: Schema.String,
  ParcoursId: Ids.Ref(Ids.ParcoursId),
  PeriodeId: Ids.Ref(Ids.PeriodeId),
  AnneeScolaire: NullableNumber,
  LibellePeriode: Schema.String,
  Debut: NullableDate,
  Fin: NullableDate,
  extra
}) {}

/**
 * A voie d'entrée: how a learner enters a programme, and the parcours that follows (`ParcoursId`).
 * The documented entity set is `Recrutement`; AIMAIRA only shows those with a référence externe.
 *
 * @since 0.1.0
 */
export class VoieEntree extends Schema.Class<VoieEntree>("@relais/aimaira/VoieEntree")({
  Id: Ids.RecrutementId,
  Nom: Schema.String,
  Code: Schema.String,
  ProgrammeId: Ids.Ref(Ids.ProgrammeId),
  ParcoursId: Ids.Ref(Ids.ParcoursId),
  LibelleExterne: Schema.String,
  Debut: NullableDate,
  Fin: NullableDate,
  Rentree: NullableDate,
  Reinscription: Schema.Boolean,
  ReferenceExterneId: NullableNumber,
  extra
}) {
  static readonly entitySet = "Recrutement"
}

/**
 * The link of an inscription to a period ("Lier l'inscription à une période"); AIMAIRA then
 * enrols the learner in the sequences of that period of the parcours.
 *
 * @since 0.1.0
 */
export class InscriptionPeriode extends Schema.Class<InscriptionPeriode>("@relais/aimaira/InscriptionPeriode")({
  Id: Ids.InscriptionPeriodeId,
  Nom: Schema.String,
  /** Empty in the documented samples; `aimaira/enrol-parcours` stores its marker here. */
  Code: Schema.String,
  InscriptionId: Ids.Ref(Ids.InscriptionId),
  PeriodeId: Ids.Ref(Ids.PeriodeId),
  AnneeScolaire: NullableNumber,
  LibellePeriode: Schema.String,
  Debut: NullableDate,
  Fin: NullableDate,
  RegimeInscriptionId: NullableNumber,
  EtatInscriptionId: NullableNumber,
  RecrutementId: NullableNumber,
  extra
}) {
  static readonly entitySet = "InscriptionPeriode"
}

/**
 * The metadata of any entity (`GET /GraphV1/Object/{id}`): its dates of creation, last
 * modification and deletion (`Actif` false once deleted), and its legacy type name
 * (`recrutement.T_CANDIDAT`), whatever its entity set. What a webhook message does not say.
 *
 * @since 0.1.0
 */
export class ObjectMetadata extends Schema.Class<ObjectMetadata>("@relais/aimaira/ObjectMetadata")({
  Id: Schema.Int.pipe(Schema.nonNegative()),
  Nom: NullableString,
  Code: NullableString,
  DateCreation: NullableDateTime,
  DateModification: NullableDateTime,
  DateSuppression: NullableDateTime,
  Actif: Schema.Boolean,
  Type: Schema.String,
  extra
}) {
  static readonly entitySet = "Object"
}
