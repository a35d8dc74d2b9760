/**
 * Steps of the convention lifecycle ("Créer une nouvelle convention"): reference lists (types,
 * états, enseignants, eligible sequences), creating the convention, its company and the
 * professionals of the company (with their e-mail), completing it with a get-modify-write, and
 * moving it between états.
 *
 * Inputs are plain JSON a YAML author can write (ids as numbers, codes such as `APP` or
 * `SAISIE`, dates as `2025-09-01`); outputs are the entities' declared fields in AIMAIRA's wire
 * form, so later steps read `${{ steps.convention.output.Id }}`.
 *
 * @since 0.1.0
 */
import { Step } from "@relais/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { AimairaClient } from "./AimairaClient.js"
import * as Entities from "./Entities.js"
import type * as Errors from "./Errors.js"
import * as Ids from "./Ids.js"
import {
  all,
  atMostOne,
  byField,
  collect,
  DateInput,
  deleteAll,
  deleteIfExists,
  eligibleOf,
  EmailAddress,
  exactlyOne,
  made,
  marker,
  optional,
  readPolicy,
  rememberPrevious,
  RequiredId,
  Text,
  undoOnFailure,
  view,
  viewFields,
  writePolicy
} from "./internal/steps.js"
import * as Query from "./Query.js"
import * as StepErrors from "./StepErrors.js"

// ---------------------------------------------------------------------------------------------
// Views

/**
 * A convention as the steps output it.
 *
 * @since 0.1.0
 */
export const Convention = view(Entities.Convention)

/**
 * @since 0.1.0
 */
export type Convention = typeof Convention.Type

/** @since 0.1.0 */
export const TypeConvention = view(Entities.TypeConvention)
/** @since 0.1.0 */
export type TypeConvention = typeof TypeConvention.Type
/** @since 0.1.0 */
export const EtatConvention = view(Entities.EtatConvention)
/** @since 0.1.0 */
export type EtatConvention = typeof EtatConvention.Type
/** @since 0.1.0 */
export const Sequence = view(Entities.Sequence)
/** @since 0.1.0 */
export type Sequence = typeof Sequence.Type
/** @since 0.1.0 */
export const Entreprise = view(Entities.Entreprise)
/** @since 0.1.0 */
export type Entreprise = typeof Entreprise.Type
/** @since 0.1.0 */
export const Professionnel = view(Entities.Professionnel)
/** @since 0.1.0 */
export type Professionnel = typeof Professionnel.Type

const ByCode = Schema.Struct({ Code: optional(Text.annotations({ description: "only the entries with this Code" })) })

// ---------------------------------------------------------------------------------------------
// Reference lists

/**
 * Lists the types de convention (`STG`, `PRO`, `APP`, `STA`, ...).
 *
 * @since 0.1.0
 */
export const listTypesConvention = Step.make({
  name: "aimaira/list-types-convention",
  description: "List the types de convention (STG, PRO, APP, STA...), or the one with a given Code",
  input: ByCode,
  output: Schema.Array(TypeConvention),
  retry: readPolicy,
  idempotent: true,
  run: ({ Code }) => {
    const query = Query.from(Entities.TypeConvention)
    return all(Entities.TypeConvention, Code === undefined ? query : query.where((f) => f.eq("Code", Code)))
  }
})

/**
 * Lists the états de convention in workflow order (`Ordre`, then id): the first one is where a
 * new convention is placed.
 *
 * @since 0.1.0
 */
export const listEtatsConvention = Step.make({
  name: "aimaira/list-etats-convention",
  description: "List the états de convention in workflow order (SAISIE first), or those with a given Code",
  input: ByCode,
  output: Schema.Array(EtatConvention),
  retry: readPolicy,
  idempotent: true,
  run: ({ Code }) => {
    const query = Query.from(Entities.EtatConvention).orderBy("Ordre").orderBy("Id")
    return all(Entities.EtatConvention, Code === undefined ? query : query.where((f) => f.eq("Code", Code)))
  }
})

/**
 * The input of `aimaira/list-enseignants`: every filter is optional; given together they all
 * apply. Comparisons are exact (as AIMAIRA stores the values: names in capitals).
 *
 * @since 0.1.0
 */
export const ListEnseignantsInput = Schema.Struct({
  Nom: optional(Text.annotations({ description: "only the enseignants with this Nom (exact, e.g. PHILIBERT)" })),
  Code: optional(Text.annotations({ description: "only the enseignant with this Code (e.g. P00000042)" })),
  Email: optional(EmailAddress.annotations({ description: "only the enseignants whose e-mail (Mail/Adresse) is this address" })),
  Top: optional(Schema.Int.pipe(Schema.positive()).annotations({ description: "at most this many (the lowest ids)" }))
})

/**
 * @since 0.1.0
 */
export type ListEnseignantsInput = typeof ListEnseignantsInput.Type

const enseignantFields = Entities.Enseignant.fields

/**
 * An enseignant as `aimaira/list-enseignants` lists it: names, `MailId` and its address
 * (`Email`, `null` without an e-mail).
 *
 * @since 0.1.0
 */
export const EnseignantSummary = Schema.Struct({
  Id: enseignantFields.Id,
  Code: enseignantFields.Code,
  Nom: enseignantFields.Nom,
  Prenoms: enseignantFields.Prenoms,
  NomUsage: enseignantFields.NomUsage,
  PrenomUsage: enseignantFields.PrenomUsage,
  MailId: enseignantFields.MailId,
  Email: Schema.NullOr(Schema.String)
})

/** @since 0.1.0 */
export type EnseignantSummary = typeof EnseignantSummary.Type

const { Email: _email, ...enseignantRowFields } = EnseignantSummary.fields
const EnseignantRow = Schema.Struct({
  ...enseignantRowFields,
  Mail: Schema.optionalWith(Schema.NullOr(Schema.Struct({ Id: Schema.Number, Adresse: Schema.String })), { default: () => null })
})
const ENSEIGNANT = Object.keys(enseignantRowFields)

/**
 * Lists the enseignants ("Lister les enseignants", documented as `GET Enseignant`), to find the
 * one a convention de stage names (`EnseignantId`, with `aimaira/update-convention`): by `Nom`,
 * `Code` or e-mail address, ordered by id, every page followed. One request:
 * `Enseignant?$select=…&$expand=Mail($select=Id,Adresse)&$filter=…&$orderby=Id`; the e-mail
 * filter is `Mail/Adresse eq '…'`, as documented for learners.
 *
 * @since 0.1.0
 */
export const listEnseignants = Step.make({
  name: "aimaira/list-enseignants",
  description: "List the enseignants (Id, Code, names, Email) by Nom, Code or e-mail address, ordered by Id",
  input: ListEnseignantsInput,
  output: Schema.Array(EnseignantSummary),
  retry: readPolicy,
  idempotent: true,
  run: (input): Effect.Effect<ReadonlyArray<EnseignantSummary>, Errors.AimairaError, AimairaClient> =>
    Effect.gen(function*() {
      const client = yield* AimairaClient
      let query = Query.from(Entities.Enseignant)
        .select(...ENSEIGNANT)
        .expand("Mail", (mail) => mail.select("Id", "Adresse"))
        .orderBy("Id")
      if (input.Nom !== undefined) query = query.where((f) => f.eq("Nom", input.Nom!))
      if (input.Code !== undefined) query = query.where((f) => f.eq("Code", input.Code!))
      if (input.Email !== undefined) query = query.where((f) => f.eq(f.path("Mail/Adresse"), input.Email!))
      if (input.Top !== undefined) query = query.top(input.Top)
      const rows = yield* collect(client.streamAs(Entities.Enseignant, EnseignantRow, query))
      return rows.map(({ Mail, ...enseignant }) => ({ ...enseignant, Email: Mail?.Adresse ?? null }))
    })
})

/**
 * The input of `aimaira/list-eligible-sequences`: an inscription, or a learner (every one of
 * their inscriptions).
 *
 * @since 0.1.0
 */
export const ListEligibleSequencesInput = Schema.Struct({
  ApprenantId: optional(RequiredId(Ids.ApprenantId).annotations({ description: "every inscription of this learner" })),
  InscriptionId: optional(RequiredId(Ids.InscriptionId).annotations({ description: "one inscription" }))
}).pipe(exactlyOne(["ApprenantId", "InscriptionId"]))


/**
 * Lists the sequences a convention can be created on, with the documented query
 * (`InscriptionSequence?$expand=Sequence&$select=Sequence&$filter=startswith(Sequence/TypeSequence/Code, 'S')`
 * with `{"Id": <inscription>}` as GET body). Given a learner, every inscription of the learner
 * is queried (oldest first); a sequence appears once.
 *
 * @since 0.1.0
 */
export const listEligibleSequences = Step.make({
  name: "aimaira/list-eligible-sequences",
  description: "List the sequences eligible for a convention (type S), for an inscription or every inscription of a learner",
  input: ListEligibleSequencesInput,
  output: Schema.Array(Sequence),
  retry: readPolicy,
  idempotent: true,
  run: (input): Effect.Effect<ReadonlyArray<Sequence>, Errors.AimairaError, AimairaClient> =>
    Effect.gen(function*() {
      const inscriptions = input.InscriptionId !== undefined
        ? [input.InscriptionId]
        : (yield* all(
          Entities.Inscription,
          Query.from(Entities.Inscription).where((f) => f.eq("ApprenantId", input.ApprenantId!)).orderBy("Id")
        )).map((i) => i.Id)
      const seen = new Set<number>()
      const out: Array<Sequence> = []
      for (const id of inscriptions) {
        for (const row of yield* eligibleOf(id)) {
          if (seen.has(row.Sequence.Id)) continue
          seen.add(row.Sequence.Id)
          out.push(row.Sequence)
        }
      }
      return out
    })
})

// ---------------------------------------------------------------------------------------------
// aimaira/create-convention

/**
 * The input of `aimaira/create-convention`: the three documented required fields, the type by
 * id or by code (`TypeConventionCode: APP`).
 *
 * @since 0.1.0
 */
export const CreateConventionInput = Schema.Struct({
  ApprenantId: RequiredId(Ids.ApprenantId),
  SequenceId: RequiredId(Ids.SequenceId).annotations({ description: "an eligible sequence (aimaira/list-eligible-sequences)" }),
  TypeConventionId: optional(RequiredId(Ids.TypeConventionId)),
  TypeConventionCode: optional(Text.annotations({ description: "STG, PRO, APP, STA..., instead of TypeConventionId" }))
}).pipe(exactlyOne(["TypeConventionId", "TypeConventionCode"]))

/**
 * @since 0.1.0
 */
export type CreateConventionInput = typeof CreateConventionInput.Type

const typeOf = (input: CreateConventionInput) =>
  input.TypeConventionId !== undefined
    ? Effect.succeed(input.TypeConventionId)
    : Effect.map(byField(Entities.TypeConvention, "Code", input.TypeConventionCode!), (t) => t.Id)

/**
 * Creates a convention for a learner on a sequence; AIMAIRA places it in the first état and,
 * for an apprenticeship contract, selects the first mode contractuel. Complete it with
 * `aimaira/update-convention`, as the documentation does.
 *
 * Reconciliation by natural key: a convention of this learner, on this sequence, of this type,
 * that is still as a create leaves it (in the first état, no company, no professional); the
 * most recent one. A convention someone has started to complete is never adopted.
 *
 * Compensation: deletes the billing clients `SynchronisationAffaire` made for it (`Client`
 * with `ReferenceId` = the convention), then the convention (AIMAIRA deletes its documents,
 * funding bodies and pay with it).
 *
 * @since 0.1.0
 */
export const createConvention = Step.make({
  name: "aimaira/create-convention",
  description: "Create a convention for a learner on a sequence (placed in the first état by AIMAIRA)",
  input: CreateConventionInput,
  output: Convention,
  retry: writePolicy,
  run: (input): Effect.Effect<Convention, Errors.AimairaError | StepErrors.StepError, AimairaClient> =>
    Effect.gen(function*() {
      const client = yield* AimairaClient
      const TypeConventionId = yield* typeOf(input)
      return yield* client.create(Entities.Convention, {
        ApprenantId: input.ApprenantId,
        SequenceId: input.SequenceId,
        TypeConventionId
      })
    }),
  reconcile: (input) =>
    Effect.gen(function*() {
      const TypeConventionId = yield* typeOf(input)
      const matches = yield* all(
        Entities.Convention,
        Query.from(Entities.Convention).where((f) =>
          f.and(
            f.eq("ApprenantId", input.ApprenantId),
            f.eq("SequenceId", input.SequenceId),
            f.eq("TypeConventionId", TypeConventionId)
          )
        )
      )
      const fresh = matches.filter((c) =>
        !Ids.isSet(c.EntrepriseId) && !Ids.isSet(c.MaitreId) && !Ids.isSet(c.MaitreBisId) &&
        !Ids.isSet(c.SignataireId) && !Ids.isSet(c.ReferentId)
      )
      if (fresh.length === 0) return Option.none<Convention>()
      const etats = yield* all(Entities.EtatConvention)
      const first = Math.min(...etats.map((e) => e.Ordre))
      const firstEtats = new Set<number>(etats.filter((e) => e.Ordre === first).map((e) => e.Id))
      const candidate: Convention | undefined = fresh.filter((c) => c.EtatConventionId !== null && firstEtats.has(c.EtatConventionId))
        .sort((a, b) => b.Id - a.Id)[0]
      return Option.fromNullable(candidate)
    }),
  compensate: {
    description: "delete the convention (with its documents, funding bodies and pay) and its billing clients",
    run: (_input, convention) =>
      Effect.gen(function*() {
        const clients = yield* all(Entities.Client, Query.from(Entities.Client).where((f) => f.eq("ReferenceId", convention.Id)))
        yield* deleteAll([
          ...clients.map((client) =>
            made(Entities.Client, client.Id, `the billing client ${client.Code} of the convention ${convention.Code}`)
          ),
          made(Entities.Convention, convention.Id, `the convention ${convention.Code}`)
        ])
      })
  }
})

// ---------------------------------------------------------------------------------------------
// aimaira/create-entreprise

/**
 * The input of `aimaira/create-entreprise`. Every field is optional (AIMAIRA creates an empty
 * company). `Code` is not accepted: the step stores its marker there.
 *
 * @since 0.1.0
 */
export const CreateEntrepriseInput = Schema.Struct({
  Nom: optional(Schema.String),
  SIRET: optional(Schema.String.pipe(Schema.pattern(/^\d{14}$/, { message: () => "expected 14 digits" }))),
  NAF: optional(Schema.String),
  TVAintracommunautaire: optional(Schema.String),
  IDCC: optional(Schema.String),
  ConventionCollective: optional(Schema.String),
  Effectif: optional(Schema.String),
  CaisseRetraite: optional(Schema.String),
  AdresseId: optional(RequiredId(Schema.Int)),
  MailId: optional(RequiredId(Ids.MailId)),
  TelephoneId: optional(RequiredId(Schema.Int))
})

/**
 * @since 0.1.0
 */
export type CreateEntrepriseInput = typeof CreateEntrepriseInput.Type

const byMarker = <A extends Entities.Entity>(entity: Entities.EntitySet<A>) =>
  Effect.gen(function*() {
    const context = yield* Step.StepContext
    const matches = yield* all(entity, Query.from(entity).where((f) => f.eq(f.path("Code"), marker(context.key))))
    return Option.fromNullable([...matches].sort((a, b) => a.Id - b.Id)[0])
  })

/**
 * Creates the company of one convention (AIMAIRA has no company directory: each convention has
 * its own `Entreprise`, even for the same physical company). Attach it with
 * `aimaira/update-convention` (`EntrepriseId`).
 *
 * Reconciliation by marker: the step writes `relais-<invocation key>` in the company's `Code`
 * (empty in every documented sample) and looks it up.
 *
 * Compensation: deletes the company.
 *
 * @since 0.1.0
 */
export const createEntreprise = Step.make({
  name: "aimaira/create-entreprise",
  description: "Create the company (Entreprise) of a convention",
  input: CreateEntrepriseInput,
  output: Entreprise,
  retry: writePolicy,
  run: (input): Effect.Effect<Entreprise, Errors.AimairaError, AimairaClient | Step.StepContext> =>
    Effect.gen(function*() {
      const context = yield* Step.StepContext
      const client = yield* AimairaClient
      return yield* client.create(Entities.Entreprise, { ...input, Code: marker(context.key) })
    }),
  reconcile: () => byMarker(Entities.Entreprise),
  compensate: {
    description: "delete the company",
    run: (_input, entreprise) =>
      deleteIfExists(Entities.Entreprise, entreprise.Id, `the company ${entreprise.Nom === "" ? "(no name)" : entreprise.Nom}`)
  }
})

// ---------------------------------------------------------------------------------------------
// aimaira/create-professionnel

/**
 * The input of `aimaira/create-professionnel`. Role-agnostic: whether the person is the
 * maître d'apprentissage, the signataire or the other contact is a field of the convention.
 * `Code` is not accepted: the step stores its marker there.
 *
 * @since 0.1.0
 */
export const CreateProfessionnelInput = Schema.Struct({
  CiviliteId: optional(RequiredId(Ids.CiviliteId)),
  CiviliteCode: optional(Text.annotations({ description: "a civilité code: M, MME, MLE" })),
  Nom: Text,
  Prenoms: Text,
  NomUsage: optional(Text.annotations({ description: "default: Nom" })),
  PrenomUsage: optional(Text.annotations({ description: "default: Prenoms" })),
  Fonction: optional(Schema.String.annotations({ description: "AIMAIRA's default: Dirigeant" })),
  EntrepriseId: optional(RequiredId(Ids.EntrepriseId)),
  MailId: optional(RequiredId(Ids.MailId).annotations({ description: "an existing e-mail (Mail), instead of Adresse" })),
  Adresse: optional(
    EmailAddress.annotations({ description: "the professional's e-mail address: the step creates its Mail (instead of MailId)" })
  ),
  DateNaissance: optional(DateInput)
}).pipe(exactlyOne(["CiviliteId", "CiviliteCode"]), atMostOne(["MailId", "Adresse"]))

/**
 * @since 0.1.0
 */
export type CreateProfessionnelInput = typeof CreateProfessionnelInput.Type

/**
 * The `Mail` this invocation created for `adresse` (its `Code` is the invocation's marker),
 * found with the documented `Mail?$filter=Adresse eq '…'`, or a new one. A `Mail` someone else
 * created with the same address is never taken: AIMAIRA does not make addresses unique (the
 * documented search returns a list, and a `Mail` has `IsDuplicate`).
 */
const ownMail = (adresse: string) =>
  Effect.gen(function*() {
    const context = yield* Step.StepContext
    const client = yield* AimairaClient
    const code = marker(context.key)
    const mails = yield* all(Entities.Mail, Query.from(Entities.Mail).where((f) => f.eq("Adresse", adresse)))
    const mine = mails.filter((mail) => mail.Code === code).sort((a, b) => a.Id - b.Id)[0]
    return mine ?? (yield* client.create(Entities.Mail, { Adresse: adresse, IsDuplicate: false, Code: code }))
  })

/**
 * Creates a professional of the company: a master, tutor, signatory or other contact. The
 * documentation requires a distinct professional per role, even for the same person.
 *
 * With `Adresse`, the step first creates the professional's `Mail` (marked like the
 * professional, so a retry after a lost answer reuses it instead of creating a second one; a
 * `Mail` that existed before with the address is not reused) and links it through `MailId`.
 * An attempt whose `POST Professionnel` then fails does not leave that `Mail` behind: it first
 * looks for the professional by marker (the answer may have been lost after the commit), and
 * otherwise deletes the `Mail` before failing; when it cannot, the failure (`LeftBehind`) names
 * the `Mail` to delete by hand, and a later attempt reuses it.
 *
 * Reconciliation by marker: `relais-<invocation key>` in the professional's `Code` (empty in
 * the documented create response).
 *
 * Compensation: deletes the professional, then its `Mail` if this invocation created it
 * (its `Code` is the marker); a `Mail` given by `MailId` is never deleted.
 *
 * @since 0.1.0
 */
export const createProfessionnel = Step.make({
  name: "aimaira/create-professionnel",
  description:
    "Create a professional (maître, tuteur, signataire, autre contact: the role is a field of the convention), " +
    "with a new e-mail (Adresse) or an existing one (MailId)",
  input: CreateProfessionnelInput,
  output: Professionnel,
  retry: writePolicy,
  run: (input): Effect.Effect<Professionnel, Errors.AimairaError | StepErrors.StepError, AimairaClient | Step.StepContext> =>
    Effect.gen(function*() {
      const context = yield* Step.StepContext
      const client = yield* AimairaClient
      // Resolved before any write: an unknown civilité leaves nothing behind.
      const CiviliteId = input.CiviliteId ??
        (yield* byField(Entities.Civilite, "Code", input.CiviliteCode!)).Id
      const mail = input.Adresse === undefined ? undefined : yield* ownMail(input.Adresse)
      const { Adresse: _adresse, CiviliteCode: _code, ...fields } = input
      const create = client.create(Entities.Professionnel, {
        ...fields,
        CiviliteId,
        ...(mail === undefined ? {} : { MailId: mail.Id }),
        NomUsage: input.NomUsage ?? input.Nom,
        PrenomUsage: input.PrenomUsage ?? input.Prenoms,
        Code: marker(context.key)
      })
      if (mail === undefined) return yield* create
      const newMail = [made(Entities.Mail, mail.Id, `the e-mail ${mail.Adresse}`)]
      return yield* undoOnFailure(create, {
        made: Effect.succeed(newMail),
        known: () => newMail,
        stored: byMarker(Entities.Professionnel)
      })
    }),
  reconcile: () => byMarker(Entities.Professionnel),
  compensate: {
    description: "delete the professional, and the e-mail (Mail) this step created for it",
    run: (input, professionnel) =>
      Effect.gen(function*() {
        const person = made(
          Entities.Professionnel,
          professionnel.Id,
          `the professional ${professionnel.Nom} ${professionnel.Prenoms}`
        )
        const deleted = `deleted the professional (Professionnel ${professionnel.Id})`
        if (!Ids.isSet(professionnel.MailId)) {
          yield* deleteAll([person])
          return Step.undid(`${deleted}; it had no e-mail`)
        }
        if (input.Adresse === undefined) {
          yield* deleteAll([person])
          return Step.undid(`${deleted}; its e-mail (Mail ${professionnel.MailId}) was given by MailId and was kept`)
        }
        const context = yield* Step.StepContext
        const client = yield* AimairaClient
        // Looked up first, so that a refused DELETE lists the Mail too.
        const mail = yield* client.get(Entities.Mail, professionnel.MailId).pipe(
          Effect.map(Option.some),
          Effect.catchTag("NotFound", () => Effect.succeed(Option.none<Entities.Mail>()))
        )
        if (Option.isSome(mail) && mail.value.Code === marker(context.key)) {
          yield* deleteAll([person, made(Entities.Mail, mail.value.Id, `the e-mail ${mail.value.Adresse}`)])
          return
        }
        yield* deleteAll([person])
        return Step.undid(
          Option.isSome(mail)
            ? `${deleted}; its e-mail (Mail ${professionnel.MailId}) was not created by this step and was kept`
            : `${deleted}; its e-mail (Mail ${professionnel.MailId}) was already gone`
        )
      })
  }
})

// ---------------------------------------------------------------------------------------------
// aimaira/update-convention

/** The fields of a convention that name a professional, and the role each stands for. */
const ROLES = [
  ["MaitreId", "the tuteur / maître d'apprentissage"],
  ["MaitreBisId", "the second maître / tuteur"],
  ["SignataireId", "the signataire"],
  ["ReferentId", "the autre contact"]
] as const

/** The first two role fields that name the same professional, if any. */
const sharedRole = (roles: { readonly [K in (typeof ROLES)[number][0]]?: number | null | undefined }) => {
  for (let i = 0; i < ROLES.length; i++) {
    const value = roles[ROLES[i]![0]]
    if (value === undefined || value === null || value === 0) continue
    for (let j = i + 1; j < ROLES.length; j++) {
      if (roles[ROLES[j]![0]] === value) return { first: ROLES[i]!, second: ROLES[j]!, id: value }
    }
  }
  return undefined
}

/**
 * The fields `aimaira/update-convention` can change. An absent field is left as it is; `null`
 * (or `0` for a reference) clears it.
 *
 * @since 0.1.0
 */
export const ConventionChanges = Schema.Struct({
  SequenceId: optional(Ids.Ref(Ids.SequenceId)),
  EntrepriseId: optional(Ids.Ref(Ids.EntrepriseId).annotations({ description: "the convention's own company" })),
  EnseignantId: optional(Ids.Ref(Ids.EnseignantId).annotations({ description: "enseignant (stage)" })),
  SignataireId: optional(Ids.Ref(Ids.ProfessionnelId).annotations({ description: "signataire" })),
  MaitreId: optional(
    Ids.Ref(Ids.ProfessionnelId).annotations({ description: "tuteur (stage), maître d'apprentissage 1, tuteur employeur (pro)" })
  ),
  MaitreBisId: optional(
    Ids.Ref(Ids.ProfessionnelId).annotations({ description: "maître d'apprentissage 2, tuteur entreprise utilisatrice (pro)" })
  ),
  ReferentId: optional(Ids.Ref(Ids.ProfessionnelId).annotations({ description: "autre contact" })),
  NatureContratId: optional(Schema.NullOr(Schema.Int)),
  Remuneration: optional(Schema.NullOr(Schema.Number).annotations({ description: "gross monthly pay at hiring" })),
  AvantageNourriture: optional(Schema.NullOr(Schema.Number)),
  AvantageLogement: optional(Schema.NullOr(Schema.Number)),
  AvantageAutre: optional(Schema.NullOr(Schema.String)),
  CaisseRetraite: optional(Schema.NullOr(Schema.String)),
  Poste: optional(Schema.NullOr(Schema.String)),
  NbHeureFormation: optional(Schema.NullOr(Schema.Number)),
  Devise: optional(Schema.NullOr(Schema.String)),
  NumContrat: optional(Schema.NullOr(Schema.String)),
  DateDebut: optional(Schema.NullOr(DateInput)),
  DateFin: optional(Schema.NullOr(DateInput)),
  DebutFormation: optional(Schema.NullOr(DateInput)),
  FinFormation: optional(Schema.NullOr(DateInput)),
  DateConclusion: optional(Schema.NullOr(DateInput)),
  DateRupture: optional(Schema.NullOr(DateInput))
})

/**
 * @since 0.1.0
 */
export type ConventionChanges = typeof ConventionChanges.Type

/**
 * The input of `aimaira/update-convention`: the convention and the fields to change.
 *
 * @since 0.1.0
 */
export const UpdateConventionInput = Schema.Struct({
  ConventionId: RequiredId(Ids.ConventionId),
  ...ConventionChanges.fields
}).pipe(
  Schema.filter((input) => {
    const shared = sharedRole(input)
    return shared === undefined || {
      path: [shared.second[0]],
      message: `${shared.first[0]} and ${shared.second[0]} name the same professional (${shared.id}): AIMAIRA requires ` +
        "a different professional for each role (tuteur, signataire, autre contact), even for the same person; " +
        "create one per role with aimaira/create-professionnel"
    }
  }, Step.inputRule({
    fields: ROLES.map(([field]) => field),
    description: "MaitreId, MaitreBisId, SignataireId and ReferentId name different professionals (one per role)"
  }))
)

/**
 * @since 0.1.0
 */
export type UpdateConventionInput = typeof UpdateConventionInput.Type

/**
 * The convention after an update, with `Previous`: the values the changed fields had before
 * (what the compensation restores).
 *
 * @since 0.1.0
 */
export const UpdatedConvention = Schema.Struct({ ...viewFields(Entities.Convention), Previous: ConventionChanges })

/**
 * @since 0.1.0
 */
export type UpdatedConvention = typeof UpdatedConvention.Type

const changeKeys = Object.keys(ConventionChanges.fields) as ReadonlyArray<keyof ConventionChanges>

const changesOf = (input: UpdateConventionInput): ConventionChanges => {
  const out: Record<string, unknown> = {}
  for (const key of changeKeys) if (input[key] !== undefined) out[key] = input[key]
  return out as ConventionChanges
}

type Changes = { readonly [K in Exclude<Entities.FieldOf<Entities.Convention>, "Id">]?: Entities.Convention[K] }

/**
 * The documented rules a convention must keep, checked on the convention a write would produce
 * before it is sent: a different professional per role ("Le tuteur, le signataire et l'autre
 * contact doivent être trois professionnels différents"), checked when a role changes; and a
 * company of its own ("deux conventions ne peuvent pas avoir la même valeur renseignée dans le
 * champ EntrepriseId"), checked when `EntrepriseId` changes.
 */
const checkRules = (current: Entities.Convention, next: Entities.Convention) =>
  Effect.gen(function*() {
    if (ROLES.some(([field]) => next[field] !== current[field])) {
      const shared = sharedRole(next)
      if (shared !== undefined) {
        return yield* new StepErrors.ConventionRule({
          rule: "one-professional-per-role",
          ConventionId: next.Id,
          conventionCode: next.Code,
          fields: [shared.first[0], shared.second[0]],
          id: shared.id,
          detail: `${shared.first[1]} and ${shared.second[1]}`
        })
      }
    }
    const entrepriseId = next.EntrepriseId
    if (Ids.isSet(entrepriseId) && entrepriseId !== current.EntrepriseId) {
      const owners = yield* all(Entities.Convention, Query.from(Entities.Convention).where((f) => f.eq("EntrepriseId", entrepriseId)))
      const other = owners.find((c) => c.Id !== next.Id)
      if (other !== undefined) {
        return yield* new StepErrors.ConventionRule({
          rule: "own-entreprise",
          ConventionId: next.Id,
          conventionCode: next.Code,
          fields: ["EntrepriseId"],
          id: entrepriseId,
          detail: `${other.Code} (${other.Id})`
        })
      }
    }
  })

/** A convention as an update step keeps it in its state, before its first write. */
const ConventionBefore = view(Entities.Convention)

/**
 * Writes `changes` with a get-modify-write and reports the values the changed fields had
 * before (kept in the invocation's journaled state, so that a retry after a lost answer, or
 * the run resumed after a crash, does not report its own values). The documented rules are checked on the result
 * before anything is written.
 */
const modifyConvention = <C extends Changes>(id: Ids.ConventionId, changes: C) =>
  Effect.gen(function*() {
    const client = yield* AimairaClient
    const keys = Object.keys(changes) as ReadonlyArray<keyof C & keyof Entities.Convention>
    const current = yield* client.get(Entities.Convention, id)
    const before = yield* rememberPrevious(ConventionBefore, current)
    const out: Record<string, unknown> = {}
    // A property the entity did not carry is reset by a full update: `null` is what it was.
    for (const key of keys) out[key as string] = (before as Record<string, unknown>)[key as string] ?? null
    const previous = out as C
    const next = Entities.copy(current, changes)
    yield* checkRules(current, next)
    const convention = yield* client.update(Entities.Convention, next)
    return { convention, previous }
  })

/**
 * Changes some fields of a convention and nothing else: a get-modify-write through
 * `AimairaClient.modify`, since AIMAIRA resets every property a full update omits.
 *
 * Output: the convention after the update, and `Previous`, the changed fields' values before.
 *
 * Compensation: a get-modify-write that puts the `Previous` values back (only those fields).
 *
 * @since 0.1.0
 */
export const updateConvention = Step.make({
  name: "aimaira/update-convention",
  description: "Change some fields of a convention (company, professionals, dates, pay...), leaving the others as they are",
  input: UpdateConventionInput,
  output: UpdatedConvention,
  retry: writePolicy,
  idempotent: true,
  run: (
    input
  ): Effect.Effect<UpdatedConvention, Errors.AimairaError | StepErrors.StepError | Step.StepStateError, AimairaClient | Step.StepContext> =>
    Effect.map(
      modifyConvention(input.ConventionId, changesOf(input)),
      ({ convention, previous }) => ({ ...convention, Previous: previous })
    ),
  compensate: {
    description: "put the changed fields back to their previous values",
    run: (input, output) =>
      Effect.flatMap(AimairaClient, (client) =>
        Effect.asVoid(
          client.modify(Entities.Convention, input.ConventionId, (current) => Entities.copy(current, output.Previous))
        ))
  }
})

// ---------------------------------------------------------------------------------------------
// aimaira/set-convention-etat

/**
 * The input of `aimaira/set-convention-etat`: the convention and the état, by code
 * (`EtatConventionCode: SAISIE`) or id.
 *
 * @since 0.1.0
 */
export const SetConventionEtatInput = Schema.Struct({
  ConventionId: RequiredId(Ids.ConventionId),
  EtatConventionCode: optional(Text.annotations({ description: "SAISIE, APPRENANT, DOCUSIGN, ENTR, COMPLET, RUPTURE..." })),
  EtatConventionId: optional(RequiredId(Ids.EtatConventionId))
}).pipe(exactlyOne(["EtatConventionCode", "EtatConventionId"]))

/**
 * The convention after the change, with the previous état in `Previous`.
 *
 * @since 0.1.0
 */
export const ConventionEtatChanged = Schema.Struct({
  ...viewFields(Entities.Convention),
  Previous: Schema.Struct({ EtatConventionId: Ids.Ref(Ids.EtatConventionId) })
})

/**
 * @since 0.1.0
 */
export type ConventionEtatChanged = typeof ConventionEtatChanged.Type

/**
 * Moves a convention to another état. When several états share the code (the documentation
 * lists one set per programme and type), the one with the convention's current
 * `ProgrammeTypeConventionId` is taken, then the lowest `Ordre` and id.
 *
 * Moving a convention into `SAISIE` from another état makes AIMAIRA delete its documents
 * (documented); neither this step nor its compensation can bring them back.
 *
 * Compensation: puts the previous état back (with a get-modify-write).
 *
 * @since 0.1.0
 */
export const setConventionEtat = Step.make({
  name: "aimaira/set-convention-etat",
  description: "Move a convention to another état, by code (moving into SAISIE deletes its documents)",
  input: SetConventionEtatInput,
  output: ConventionEtatChanged,
  retry: writePolicy,
  idempotent: true,
  run: (
    input
  ): Effect.Effect<ConventionEtatChanged, Errors.AimairaError | StepErrors.StepError | Step.StepStateError, AimairaClient | Step.StepContext> =>
    Effect.gen(function*() {
      const client = yield* AimairaClient
      let EtatConventionId: Ids.EtatConventionId
      if (input.EtatConventionId !== undefined) {
        EtatConventionId = input.EtatConventionId
      } else {
        const current = yield* client.get(Entities.Convention, input.ConventionId)
        const etat = yield* byField(Entities.EtatConvention, "Code", input.EtatConventionCode!, (matches) =>
          Effect.gen(function*() {
            if (matches.length === 1 || !Ids.isSet(current.EtatConventionId)) return matches[0]!
            const from = yield* client.get(Entities.EtatConvention, current.EtatConventionId)
            const group = from.extra.ProgrammeTypeConventionId
            const same = matches.filter((m) => m.extra.ProgrammeTypeConventionId === group)
            return [...(same.length > 0 ? same : matches)].sort((a, b) => a.Ordre - b.Ordre || a.Id - b.Id)[0]!
          }))
        EtatConventionId = etat.Id
      }
      const { convention, previous } = yield* modifyConvention(input.ConventionId, { EtatConventionId })
      return { ...convention, Previous: { EtatConventionId: previous.EtatConventionId ?? null } }
    }),
  compensate: {
    description: "put the previous état back",
    run: (input, output) =>
      Effect.flatMap(AimairaClient, (client) =>
        Effect.asVoid(client.modify(
          Entities.Convention,
          input.ConventionId,
          (current) => Entities.copy(current, { EtatConventionId: output.Previous.EtatConventionId })
        )))
  }
})

/**
 * Every step of this module.
 *
 * @since 0.1.0
 */
export const steps = [
  listTypesConvention,
  listEtatsConvention,
  listEnseignants,
  listEligibleSequences,
  createConvention,
  createEntreprise,
  createProfessionnel,
  updateConvention,
  setConventionEtat
] as const
