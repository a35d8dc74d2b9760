/**
 * Steps that read conventions out of AIMAIRA for another system, e.g. a nightly batch that maps
 * every convention of a school year to a Campus Skills contract:
 *
 * ```yaml
 * - id: conventions
 *   uses: aimaira/list-conventions
 *   with: { LibellePeriode: 2025/2026, EtatConventionCodes: [SIGNEDOCUSIGN, COMPLET] }
 * - id: contrats
 *   forEach: ${{ steps.conventions.output }}
 *   as: row
 *   onItemFailure: continue
 *   steps:
 *     - id: aggregate
 *       uses: aimaira/get-convention-aggregate
 *       with: { ConventionId: ${{ row.Id }} }
 *     - id: contrat
 *       uses: campus-skills/map-convention
 *       with:
 *         convention: ${{ steps.aggregate.output.convention }}
 *         apprenant: ${{ steps.aggregate.output.apprenant }}
 *         # ... one line per slot
 * ```
 *
 * The output of `aimaira/get-convention-aggregate` has the shape of the input of
 * `campus-skills/map-convention` (`ConventionAggregate`): the same slot names (`convention`,
 * `apprenant`, `entreprise`, `maitre`, `enseignant`, `referent`, `sequence`, `programme`,
 * `periode`), each an AIMAIRA entity with AIMAIRA's wire field names, or `null` when the
 * convention has none. This package does not import `@relais/campus-skills` (providers never
 * depend on each other); the shared contract is the field names, documented in the README and
 * checked by a test that decodes this output with a copy of that schema.
 *
 * @since 0.1.0
 */
import { Step } from "@relais/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { AimairaClient } from "./AimairaClient.js"
import * as Entities from "./Entities.js"
import type * as Errors from "./Errors.js"
import * as Ids from "./Ids.js"
import { all, byField, collect, DateInput, optional, readPolicy, RequiredId, Text, view } from "./internal/steps.js"
import * as Query from "./Query.js"
import type * as StepErrors from "./StepErrors.js"

// ---------------------------------------------------------------------------------------------
// The aggregate

/** A text property the entity may not carry: `null` when absent. */
const NullableText = Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null })
const NullableNumber = Schema.optionalWith(Schema.NullOr(Schema.Number), { default: () => null })
/** A navigation property: the related entity, or `null` when the reference is not set. */
const nav = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(Schema.NullOr(schema), { default: () => null })

/**
 * An e-mail (`Mail`, as `$expand=Mail` shows it).
 *
 * @since 0.1.0
 */
export const AggregateMail = Schema.Struct({ Id: Schema.Number, Adresse: NullableText })

/**
 * A person of the aggregate (an `Apprenant`, `Professionnel` or `Enseignant`): names, its
 * expanded `Mail`, and `Email` (the same address, `null` when the person has no e-mail).
 *
 * @since 0.1.0
 */
export const AggregatePerson = Schema.Struct({
  Id: Schema.Number,
  Code: NullableText,
  Nom: NullableText,
  Prenoms: NullableText,
  NomUsage: NullableText,
  PrenomUsage: NullableText,
  MailId: NullableNumber,
  Email: NullableText,
  Mail: nav(AggregateMail)
})

/** @since 0.1.0 */
export type AggregatePerson = typeof AggregatePerson.Type

/**
 * The company of the convention.
 *
 * @since 0.1.0
 */
export const AggregateEntreprise = Schema.Struct({
  Id: Schema.Number,
  Nom: NullableText,
  Code: NullableText,
  SIRET: NullableText,
  NAF: NullableText
})

/**
 * The sequence of the convention: the group, its period (`LibellePeriode`) and, when AIMAIRA has
 * them, `Campus` and `Marque`. Dates in AIMAIRA's wire form.
 *
 * @since 0.1.0
 */
export const AggregateSequence = Schema.Struct({
  Id: Schema.Number,
  Nom: NullableText,
  Code: NullableText,
  LibelleExterne: NullableText,
  LibellePeriode: NullableText,
  Campus: NullableText,
  Marque: NullableText,
  ProgrammeId: NullableNumber,
  TypeSequenceId: NullableNumber,
  Debut: NullableText,
  Fin: NullableText
})

/**
 * The programme of the sequence: the formation, `Campus`, `Marque` and `CodeRNCP` when set.
 *
 * @since 0.1.0
 */
export const AggregateProgramme = Schema.Struct({
  Id: Schema.Number,
  Nom: NullableText,
  Code: NullableText,
  LibelleExterne: NullableText,
  Campus: NullableText,
  Marque: NullableText,
  CodeRNCP: NullableText
})

/**
 * The `Periode` whose name is the sequence's `LibellePeriode`.
 *
 * @since 0.1.0
 */
export const AggregatePeriode = Schema.Struct({
  Id: Schema.Number,
  Nom: NullableText,
  Code: NullableText,
  Debut: NullableText,
  Fin: NullableText
})

/**
 * Everything about one convention that `campus-skills/map-convention` reads, in the shape of its
 * input (`ConventionAggregate`): same slot names, AIMAIRA wire field names. `convention` is the
 * convention as the other convention steps output it; every other slot is `null` when the
 * convention does not point at one (no maître yet, no enseignant...).
 *
 * - `maitre`: the `Professionnel` of `MaitreId` (tuteur, maître d'apprentissage 1, tuteur employeur);
 * - `enseignant`: the `Enseignant` of `EnseignantId`;
 * - `referent`: the référent école (`ReferentEcoleId`, assumed an `Enseignant`), the school
 *   tutor when there is no enseignant; not `ReferentId`, which is the company's "autre contact";
 * - `periode`: the `Periode` named like the sequence's `LibellePeriode`.
 *
 * @since 0.1.0
 */
export const ConventionAggregate = Schema.Struct({
  convention: view(Entities.Convention),
  apprenant: Schema.NullOr(AggregatePerson),
  entreprise: Schema.NullOr(AggregateEntreprise),
  maitre: Schema.NullOr(AggregatePerson),
  enseignant: Schema.NullOr(AggregatePerson),
  referent: Schema.NullOr(AggregatePerson),
  sequence: Schema.NullOr(AggregateSequence),
  programme: Schema.NullOr(AggregateProgramme),
  periode: Schema.NullOr(AggregatePeriode)
}).annotations({ identifier: "AimairaConventionAggregate" })

/** @since 0.1.0 */
export type ConventionAggregate = typeof ConventionAggregate.Type

// ---------------------------------------------------------------------------------------------
// aimaira/get-convention-aggregate

/**
 * The input of `aimaira/get-convention-aggregate`.
 *
 * @since 0.1.0
 */
export const GetConventionAggregateInput = Schema.Struct({
  ConventionId: RequiredId(Ids.ConventionId),
  Expand: optional(
    Schema.Boolean.annotations({
      description: "true (default): one request with $expand; false: one GET per entity, for an instance that refuses " +
        "the navigation properties"
    })
  )
})

const PERSON = ["Id", "Code", "Nom", "Prenoms", "NomUsage", "PrenomUsage", "MailId"] as const
const ENTREPRISE = ["Id", "Nom", "Code", "SIRET", "NAF"] as const
const SEQUENCE = [
  "Id", "Nom", "Code", "LibelleExterne", "LibellePeriode", "Campus", "Marque", "ProgrammeId", "TypeSequenceId", "Debut", "Fin"
] as const
const PROGRAMME = ["Id", "Nom", "Code", "LibelleExterne", "Campus", "Marque", "CodeRNCP"] as const

type Nested = Query.Query<Record<string, unknown>>
const person = (query: Nested) => query.select(...PERSON).expand("Mail", (mail) => mail.select("Id", "Adresse"))

/** `Convention/{id}` with everything the aggregate needs, in one request. */
const expandedQuery = Query.from(Entities.Convention)
  .expand("Apprenant", person)
  .expand("Entreprise", (query) => query.select(...ENTREPRISE))
  .expand("Maitre", person)
  .expand("Enseignant", person)
  .expand("ReferentEcole", person)
  .expand("Sequence", (query) => query.select(...SEQUENCE).expand("Programme", (programme) => programme.select(...PROGRAMME)))

const ExpandedConvention = Schema.Struct({
  ...view(Entities.Convention).fields,
  Apprenant: nav(AggregatePerson),
  Entreprise: nav(AggregateEntreprise),
  Maitre: nav(AggregatePerson),
  Enseignant: nav(AggregatePerson),
  ReferentEcole: nav(AggregatePerson),
  Sequence: nav(Schema.Struct({ ...AggregateSequence.fields, Programme: nav(AggregateProgramme) }))
})

/** `Email` is the expanded `Mail`'s address. */
const withEmail = (who: AggregatePerson | null): AggregatePerson | null =>
  who === null ? null : { ...who, Email: who.Mail?.Adresse ?? null }

/** The `Periode` named like the sequence's `LibellePeriode`, or `null`. */
const periodeNamed = (libelle: string | null) =>
  Effect.gen(function*() {
    if (libelle === null || libelle.trim() === "") return null
    const client = yield* AimairaClient
    const page = yield* client.listAs(
      Entities.Periode,
      AggregatePeriode,
      Query.from(Entities.Periode).where((f) => f.eq("Nom", libelle)).orderBy("Id").top(1)
    )
    return page.value[0] ?? null
  })

/** One GET by id, or `null` when the reference is not set or points at nothing. */
const getOrNull = <A extends Entities.Entity, B, I>(entity: Entities.EntitySet<A>, id: unknown, schema: Schema.Schema<B, I>) =>
  Effect.flatMap(AimairaClient, (client) =>
    Ids.isSet(id as number | null)
      ? client.getAs(entity, id as A["Id"], schema).pipe(Effect.catchTag("NotFound", () => Effect.succeed(null)))
      : Effect.succeed(null))

/** A person by id, then its e-mail by `MailId`. */
const personById = <A extends Entities.Entity>(entity: Entities.EntitySet<A>, id: unknown) =>
  Effect.gen(function*() {
    const who = yield* getOrNull(entity, id, AggregatePerson)
    if (who === null) return null
    const mail = yield* getOrNull(Entities.Mail, who.MailId, AggregateMail)
    return withEmail({ ...who, Mail: mail })
  })

const expanded = (id: Ids.ConventionId): Effect.Effect<ConventionAggregate, Errors.AimairaError, AimairaClient> =>
  Effect.gen(function*() {
    const client = yield* AimairaClient
    const { Apprenant, Enseignant, Entreprise, Maitre, ReferentEcole, Sequence, ...convention } = yield* client.getAs(
      Entities.Convention,
      id,
      ExpandedConvention,
      expandedQuery
    )
    const { Programme, ...sequence } = Sequence ?? { Programme: null }
    return {
      convention,
      apprenant: withEmail(Apprenant),
      entreprise: Entreprise,
      maitre: withEmail(Maitre),
      enseignant: withEmail(Enseignant),
      referent: withEmail(ReferentEcole),
      sequence: Sequence === null ? null : sequence as typeof AggregateSequence.Type,
      programme: Programme,
      periode: yield* periodeNamed(Sequence?.LibellePeriode ?? null)
    }
  })

const oneByOne = (id: Ids.ConventionId): Effect.Effect<ConventionAggregate, Errors.AimairaError, AimairaClient> =>
  Effect.gen(function*() {
    const client = yield* AimairaClient
    const convention = yield* client.get(Entities.Convention, id)
    const parts = yield* Effect.all({
      apprenant: personById(Entities.Apprenant, convention.ApprenantId),
      entreprise: getOrNull(Entities.Entreprise, convention.EntrepriseId, AggregateEntreprise),
      maitre: personById(Entities.Professionnel, convention.MaitreId),
      enseignant: personById(Entities.Enseignant, convention.EnseignantId),
      referent: personById(Entities.Enseignant, convention.ReferentEcoleId),
      sequence: getOrNull(Entities.Sequence, convention.SequenceId, AggregateSequence)
    }, { concurrency: 4 })
    const [programme, periode] = yield* Effect.all([
      getOrNull(Entities.Programme, parts.sequence?.ProgrammeId, AggregateProgramme),
      periodeNamed(parts.sequence?.LibellePeriode ?? null)
    ], { concurrency: 2 })
    return { convention, ...parts, programme, periode }
  })

/**
 * Reads a convention and everything `campus-skills/map-convention` needs: the learner, the
 * company, the maître, the school tutor (enseignant and référent école), the sequence, its
 * programme and its period, each with AIMAIRA's field names and the persons' e-mails (`Mail`
 * expanded, and `Email`). A part the convention does not point at is `null`, not an error.
 *
 * One request (`Convention/{id}?$expand=Apprenant($expand=Mail),Entreprise,Maitre(…),
 * Enseignant(…),ReferentEcole(…),Sequence($expand=Programme)` with `$select`s) and one for the
 * `Periode`; with `Expand: false`, one GET per entity (up to 13).
 *
 * @since 0.1.0
 */
export const getConventionAggregate = Step.make({
  name: "aimaira/get-convention-aggregate",
  description:
    "Read a convention with its learner, company, maître, school tutor, sequence, programme and period " +
    "(the input of campus-skills/map-convention); missing parts are null",
  input: GetConventionAggregateInput,
  output: ConventionAggregate,
  retry: readPolicy,
  idempotent: true,
  run: ({ ConventionId, Expand }) => Expand === false ? oneByOne(ConventionId) : expanded(ConventionId)
})

// ---------------------------------------------------------------------------------------------
// aimaira/list-conventions

/**
 * The input of `aimaira/list-conventions`: every filter is optional; given together they all
 * apply.
 *
 * @since 0.1.0
 */
export const ListConventionsInput = Schema.Struct({
  LibellePeriode: optional(
    Text.annotations({ description: "the school year of the convention's sequence (Sequence/LibellePeriode), e.g. 2025/2026" })
  ),
  ActiveFrom: optional(
    DateInput.annotations({ description: "only conventions that end on or after this date (DateFin ≥)" })
  ),
  ActiveUntil: optional(
    DateInput.annotations({ description: "only conventions that start on or before this date (DateDebut ≤)" })
  ),
  EtatConventionCodes: optional(
    Schema.NonEmptyArray(Text).annotations({ description: "only conventions in one of these états, e.g. [SIGNEDOCUSIGN, COMPLET]" })
  ),
  TypeConventionCodes: optional(
    Schema.NonEmptyArray(Text).annotations({ description: "only conventions of one of these types, e.g. [APP, PRO]" })
  ),
  Top: optional(
    Schema.Int.pipe(Schema.positive()).annotations({ description: "at most this many conventions (the lowest ids)" })
  )
})

/**
 * @since 0.1.0
 */
export type ListConventionsInput = typeof ListConventionsInput.Type

const conventionFields = Entities.Convention.fields

/**
 * A convention as `aimaira/list-conventions` lists it: enough to choose and to loop over.
 *
 * @since 0.1.0
 */
export const ConventionSummary = Schema.Struct({
  Id: conventionFields.Id,
  Code: conventionFields.Code,
  ApprenantId: conventionFields.ApprenantId,
  SequenceId: conventionFields.SequenceId,
  TypeConventionId: conventionFields.TypeConventionId,
  EtatConventionId: conventionFields.EtatConventionId,
  DateDebut: conventionFields.DateDebut,
  DateFin: conventionFields.DateFin
})

/** @since 0.1.0 */
export type ConventionSummary = typeof ConventionSummary.Type

const SUMMARY = Object.keys(ConventionSummary.fields) as ReadonlyArray<keyof ConventionSummary>

/** The ids of the entities with one of these codes; an unknown code fails with suggestions. */
const idsByCode = <A extends Entities.Entity>(entity: Entities.EntitySet<A>, codes: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const ids: Array<A["Id"]> = []
    for (const code of codes) {
      const matches = yield* all(entity, Query.from(entity).where((f) => f.eq(f.path("Code"), code)))
      if (matches.length === 0) yield* byField(entity, "Code", code)
      ids.push(...matches.map((match) => match.Id))
    }
    return ids
  })

/**
 * Lists conventions for a batch, ordered by id, every page followed: by school year
 * (`Sequence/LibellePeriode`), by dates (running during `ActiveFrom`–`ActiveUntil`), by état
 * and type codes (several états may share a code: all of them count). Each row is small
 * (`Id`, `Code`, ids, dates): loop over it with `aimaira/get-convention-aggregate`.
 *
 * @since 0.1.0
 */
export const listConventions = Step.make({
  name: "aimaira/list-conventions",
  description:
    "List conventions (Id, Code, ids, dates) by school year, date range, état and type codes, ordered by Id, every page",
  input: ListConventionsInput,
  output: Schema.Array(ConventionSummary),
  retry: readPolicy,
  idempotent: true,
  run: (input): Effect.Effect<ReadonlyArray<ConventionSummary>, Errors.AimairaError | StepErrors.StepError, AimairaClient> =>
    Effect.gen(function*() {
      const client = yield* AimairaClient
      const f = Query.filters<Entities.Convention>()
      const filters: Array<Query.Filter> = []
      if (input.LibellePeriode !== undefined) filters.push(f.eq(f.path("Sequence/LibellePeriode"), input.LibellePeriode))
      if (input.ActiveFrom !== undefined) filters.push(f.ge("DateFin", input.ActiveFrom))
      if (input.ActiveUntil !== undefined) filters.push(f.le("DateDebut", input.ActiveUntil))
      const anyOf = (field: "EtatConventionId" | "TypeConventionId", ids: ReadonlyArray<number>) => {
        const [first, ...rest] = ids.map((id) => f.eq(f.path(field), id))
        // Unreachable: idsByCode fails on a code without match, and the codes are non-empty.
        filters.push(first === undefined ? f.eq("Id", 0 as Ids.ConventionId) : f.or(first, ...rest))
      }
      if (input.EtatConventionCodes !== undefined) {
        anyOf("EtatConventionId", yield* idsByCode(Entities.EtatConvention, input.EtatConventionCodes))
      }
      if (input.TypeConventionCodes !== undefined) {
        anyOf("TypeConventionId", yield* idsByCode(Entities.TypeConvention, input.TypeConventionCodes))
      }
      let query = Query.from(Entities.Convention).select(...SUMMARY).orderBy("Id")
      const [first, ...rest] = filters
      if (first !== undefined) query = query.where(() => f.and(first, ...rest))
      if (input.Top !== undefined) query = query.top(input.Top)
      return yield* collect(client.streamAs(Entities.Convention, ConventionSummary, query))
    })
})

/**
 * Every step of this module.
 *
 * @since 0.1.0
 */
export const steps = [getConventionAggregate, listConventions] as const
