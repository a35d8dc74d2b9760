/**
 * From an AIMAIRA convention to a Campus Skills contract.
 *
 * This package never imports `@relais/aimaira` (providers do not depend on each other): the
 * mapping takes a schema of its own, {@link ConventionAggregate}, whose encoded side uses the
 * AIMAIRA GraphV1 wire field names and formats (`Id`, `Code`, `Nom`, `Prenoms`, `NomUsage`,
 * `DateDebut: "2023-09-01T00:00:00+02:00"`, an expanded `Mail: { Adresse }`, ...). In a YAML
 * workflow the outputs of the AIMAIRA steps (encoded JSON) are wired straight into it; any other
 * property those entities carry is accepted and ignored.
 *
 * The rules (see the README, "Mapping", for the reasoning):
 *
 * | contract field | from |
 * | --- | --- |
 * | `codeContrat` | `convention.Code`, or `CONV-<convention.Id>` when the code is blank |
 * | `dateDebut`, `dateFin` | `convention.DateDebut`, `convention.DateFin`, as the calendar day in Europe/Paris |
 * | `codeApprenant` | `APP-<apprenant.Id>` |
 * | `codeMaitreApprentissage` | `MA-<maitre.Id>` (a Professionnel) |
 * | `codePersonnel` | `ENS-<enseignant.Id>`, or `REF-<referent.Id>` when there is no enseignant |
 * | names | `NomUsage` / `PrenomUsage`, or `Nom` / `Prenoms` when blank |
 * | e-mails | `Email`, or the expanded `Mail.Adresse` |
 * | `nomEntreprise` | `entreprise.Nom` |
 * | `codeGroupe` | `sequence.Code`, or `SEQ-<sequence.Id>` when blank; `nomGroupe`: `sequence.Nom` (or `LibelleExterne`) |
 * | `codePeriode` = `nomPeriode` | `periode.Code` / `periode.Nom` when given, else `sequence.LibellePeriode` |
 * | `codeFormation` | `programme.Code`, or `PRG-<programme.Id>`; `nomFormation`: `programme.LibelleExterne` (or `Nom`) |
 * | `codeSite`, `nomSite` | `site.Code` / `site.Nom` when given; else `nomSite` = `sequence.Campus`, or `programme.Campus`, and `codeSite` its slug |
 * | `codeAnnee`, `nomAnnee` | `annee.Code` / `annee.Nom` when given, else the group's code and name |
 * | `codeMarque`, `nomMarque` | slug of / `sequence.Marque` or `programme.Marque`, when set |
 * | `rncp` | `programme.CodeRNCP`, when set; `missionTitle`: `convention.Poste`, when set |
 *
 * @since 0.1.0
 */
import { RetryPolicy, Step } from "@relais/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Contract from "./Contract.js"
import * as internal from "./internal/mapping.js"

// ---------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------

const Text = Schema.optional(Schema.NullOr(Schema.String))
const Int = Schema.optional(Schema.NullOr(Schema.Number))

/**
 * An AIMAIRA entity as it comes on the wire: the declared properties are typed, every other
 * property (AIMAIRA entities carry up to a hundred, plus `@odata.*` annotations) is accepted
 * and dropped on decode, so a whole entity can be passed in.
 */
const entity = <Fields extends Schema.Struct.Fields>(identifier: string, fields: Fields) => {
  const keys = Object.keys(fields)
  const to = Schema.typeSchema(Schema.Struct(fields))
  return Schema.transform(
    Schema.Struct(fields, Schema.Record({ key: Schema.String, value: Schema.Unknown })),
    to,
    {
      strict: false,
      decode: (raw) => {
        const out: Record<string, unknown> = {}
        for (const key of keys) if (key in raw) out[key] = (raw as Record<string, unknown>)[key]
        return out
      },
      encode: (value) => value
    }
  ).annotations({ identifier }) as unknown as Schema.Schema<
    Schema.Struct.Type<Fields>,
    Schema.Struct.Encoded<Fields> & { readonly [key: string]: unknown }
  >
}

/**
 * An AIMAIRA `Mail` (the `$expand=Mail` of a person): only `Adresse` is read.
 *
 * @since 0.1.0
 */
export const Mail = entity("AimairaMail", { Id: Int, Adresse: Text })

/** @since 0.1.0 */
export type Mail = typeof Mail.Type

const personFields = {
  Id: Int,
  Code: Text,
  Nom: Text,
  Prenoms: Text,
  NomUsage: Text,
  PrenomUsage: Text,
  /** The person's e-mail, when it was read separately (`Mail.Adresse`). Wins over `Mail`. */
  Email: Text,
  /** The expanded `Mail` navigation property (`$expand=Mail`). */
  Mail: Schema.optional(Schema.NullOr(Mail))
}

/**
 * A person: an AIMAIRA `Apprenant`, `Professionnel` or `Enseignant`, with its e-mail either
 * expanded (`Mail: { Adresse }`) or given as `Email`.
 *
 * @since 0.1.0
 */
export const Person = entity("AimairaPerson", personFields)

/** @since 0.1.0 */
export type Person = typeof Person.Type

/**
 * The AIMAIRA `Convention` properties the mapping reads.
 *
 * @since 0.1.0
 */
export const Convention = entity("AimairaConvention", {
  Id: Int,
  Code: Text,
  /** `2023-09-01T00:00:00+02:00`: local midnight in Paris. */
  DateDebut: Text,
  DateFin: Text,
  /** The job title, sent as `missionTitle` when set. */
  Poste: Text
})

/** @since 0.1.0 */
export type Convention = typeof Convention.Type

/**
 * The AIMAIRA `Entreprise` of the convention.
 *
 * @since 0.1.0
 */
export const Entreprise = entity("AimairaEntreprise", { Id: Int, Nom: Text, Code: Text })

/** @since 0.1.0 */
export type Entreprise = typeof Entreprise.Type

/**
 * The AIMAIRA `Sequence` of the convention: the group (session), the period and the site.
 *
 * @since 0.1.0
 */
export const Sequence = entity("AimairaSequence", {
  Id: Int,
  Nom: Text,
  Code: Text,
  LibelleExterne: Text,
  /** `2026/2027`. */
  LibellePeriode: Text,
  Campus: Text,
  Marque: Text
})

/** @since 0.1.0 */
export type Sequence = typeof Sequence.Type

/**
 * The AIMAIRA `Programme` of the sequence: the formation, and the site and brand when the
 * sequence does not name them.
 *
 * @since 0.1.0
 */
export const Programme = entity("AimairaProgramme", {
  Id: Int,
  Nom: Text,
  Code: Text,
  LibelleExterne: Text,
  Campus: Text,
  Marque: Text,
  CodeRNCP: Text
})

/** @since 0.1.0 */
export type Programme = typeof Programme.Type

/**
 * An AIMAIRA `Periode` (optional): when given, its `Code` and `Nom` are the période.
 *
 * @since 0.1.0
 */
export const Periode = entity("AimairaPeriode", { Id: Int, Nom: Text, Code: Text })

/** @since 0.1.0 */
export type Periode = typeof Periode.Type

/**
 * An explicit training year (optional; AIMAIRA has no entity for it): `Code` and `Nom`.
 *
 * @since 0.1.0
 */
export const Annee = Schema.Struct({ Code: Text, Nom: Text })

/** @since 0.1.0 */
export type Annee = typeof Annee.Type

/**
 * An explicit site (optional): `Nom`, and `Code` (default: the slug of `Nom`). For when the
 * AIMAIRA entities at hand do not carry `Campus` (the AIMAIRA steps journal declared fields only).
 *
 * @since 0.1.0
 */
export const Site = Schema.Struct({ Code: Text, Nom: Text })

/** @since 0.1.0 */
export type Site = typeof Site.Type

const slot = <A, I>(schema: Schema.Schema<A, I>) => Schema.optional(Schema.NullOr(schema))

/**
 * Everything the mapping needs about one convention, with AIMAIRA field names.
 *
 * Every slot and field is optional in the schema so that a missing one is reported by the
 * mapping with its path (`maitre.Email: missing`), together with every other problem, rather
 * than one at a time. A value of the wrong JSON type (a number for `Nom`) is refused earlier, by
 * the step's input schema.
 *
 * @since 0.1.0
 */
export const ConventionAggregate = Schema.Struct({
  convention: slot(Convention),
  apprenant: slot(Person),
  entreprise: slot(Entreprise),
  /** The maître d'apprentissage (tuteur in a stage, tuteur employeur in a professionnalisation). */
  maitre: slot(Person),
  /** The school tutor when it is an enseignant (`Convention.EnseignantId`). */
  enseignant: slot(Person),
  /** The school tutor when there is no enseignant (the référent école). */
  referent: slot(Person),
  sequence: slot(Sequence),
  programme: slot(Programme),
  periode: slot(Periode),
  annee: slot(Annee),
  site: slot(Site)
}).annotations({ identifier: "ConventionAggregate" })

/** @since 0.1.0 */
export type ConventionAggregate = typeof ConventionAggregate.Type

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/**
 * One problem with the input: where (`maitre.Email`, `conventions[2].convention.DateFin`) and
 * what.
 *
 * @since 0.1.0
 */
export class MappingIssue extends Schema.Class<MappingIssue>("@relais/campus-skills/MappingIssue")({
  path: Schema.String,
  message: Schema.String
}) {}

/**
 * A convention cannot become a contract: every missing or invalid field at once, each with its
 * path in the input. Not retryable: the data has to be fixed.
 *
 * @since 0.1.0
 */
export class MappingError extends Schema.TaggedError<MappingError>()("MappingError", {
  /** The contract code, when it could be derived. */
  codeContrat: Schema.optional(Schema.String),
  issues: Schema.Array(MappingIssue)
}) {
  override get message(): string {
    const which = this.codeContrat === undefined ? "a convention" : `convention ${this.codeContrat}`
    const n = this.issues.length
    return `Cannot map ${which} to a Campus Skills contract (${n} problem${n === 1 ? "" : "s"}): ${
      this.issues.map((i) => `${i.path}: ${i.message}`).join("; ")
    }`
  }

  /** Structured details for the run history. */
  get details(): { readonly issues: ReadonlyArray<{ readonly path: string; readonly message: string }> } {
    return { issues: this.issues.map((i) => ({ path: i.path, message: i.message })) }
  }
}

// ---------------------------------------------------------------------------------------------
// The mapping
// ---------------------------------------------------------------------------------------------

/**
 * The time zone AIMAIRA dates are read in.
 *
 * @since 0.1.0
 */
export const timeZone = internal.timeZone

/**
 * Maps one convention to a contract, or reports every problem at once. Pure.
 *
 * @since 0.1.0
 */
export const toContract = (aggregate: ConventionAggregate): Either.Either<Contract.Contract, MappingError> =>
  Either.mapLeft(internal.toContract(aggregate, ""), toError)

/**
 * Maps several conventions; problems are reported for all of them at once, with paths prefixed
 * by the position (`[2].maitre.Email`), as are two conventions mapping to the same contract code.
 *
 * @since 0.1.0
 */
export const toContracts = (
  aggregates: ReadonlyArray<ConventionAggregate>
): Either.Either<ReadonlyArray<Contract.Contract>, MappingError> =>
  Either.mapLeft(internal.toContracts(aggregates, ""), toError)

const toError = (failure: internal.Failure) =>
  new MappingError({
    ...(failure.codeContrat === undefined ? {} : { codeContrat: failure.codeContrat }),
    issues: failure.issues.map((issue) => new MappingIssue(issue))
  })

/**
 * The calendar day in Europe/Paris of an AIMAIRA date (`2024-03-31T00:00:00+01:00`, any offset,
 * or `Z`), or of a plain `YYYY-MM-DD`. Fails with a readable reason.
 *
 * @since 0.1.0
 */
export const parisDate = internal.parisDate

/**
 * An upper-case ASCII code from a name: accents dropped, every run of other characters turned
 * into one dash (`"Saint-Étienne (centre)"` → `"SAINT-ETIENNE-CENTRE"`).
 *
 * @since 0.1.0
 */
export const slug = internal.slug

// ---------------------------------------------------------------------------------------------
// Steps
// ---------------------------------------------------------------------------------------------

/**
 * `campus-skills/map-convention`: one convention aggregate to one contract. No HTTP, no retry.
 *
 * @since 0.1.0
 */
export const mapConvention = Step.make({
  name: "campus-skills/map-convention",
  description:
    "Map an AIMAIRA convention (with its learner, company, master, school tutor, sequence and programme) " +
    "to a Campus Skills contract. Every missing or invalid field is reported at once, with its path.",
  input: ConventionAggregate,
  output: Contract.Contract,
  run: (aggregate) => Effect.suspend(() => toContract(aggregate)),
  retry: RetryPolicy.none,
  timeout: "5 seconds",
  idempotent: true
})

/**
 * The input of `campus-skills/map-conventions`.
 *
 * @since 0.1.0
 */
export const MapConventionsInput = Schema.Struct({ conventions: Schema.Array(ConventionAggregate) })

/**
 * The output of `campus-skills/map-conventions`: the list a snapshot sync or a diff takes.
 *
 * @since 0.1.0
 */
export const MapConventionsOutput = Schema.Struct({ contrats: Schema.Array(Contract.Contract) })

/**
 * `campus-skills/map-conventions`: a list of convention aggregates to the list of contracts,
 * reporting the problems of every convention at once (paths `conventions[i]....`).
 *
 * @since 0.1.0
 */
export const mapConventions = Step.make({
  name: "campus-skills/map-conventions",
  description:
    "Map a list of AIMAIRA conventions to Campus Skills contracts (the list a sync takes). The problems " +
    "of every convention are reported at once, and two conventions giving the same contract code are refused.",
  input: MapConventionsInput,
  output: MapConventionsOutput,
  run: ({ conventions }) =>
    Effect.suspend(() => Either.mapLeft(internal.toContracts(conventions, "conventions"), toError)).pipe(
      Effect.map((contrats) => ({ contrats }))
    ),
  retry: RetryPolicy.none,
  timeout: "30 seconds",
  idempotent: true
})
