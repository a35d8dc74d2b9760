/**
 * Steps for learners and their registration files ("Créer un nouveau dossier d'inscription"):
 * find or create a learner with their e-mail, create an inscription, list a learner's
 * inscriptions.
 *
 * Inputs are plain JSON a YAML author can write (ids as numbers, codes as strings, dates as
 * `2025-09-01`); outputs are the entities' declared fields in AIMAIRA's wire form, so later
 * steps read `${{ steps.learner.output.Id }}`.
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
  byField,
  DateInput,
  DateTimeInput,
  deleteIfExists,
  exactlyOne,
  optional,
  readPolicy,
  RequiredId,
  Text,
  view,
  viewFields,
  writePolicy
} from "./internal/steps.js"
import * as Query from "./Query.js"
import * as StepErrors from "./StepErrors.js"

// ---------------------------------------------------------------------------------------------
// aimaira/find-or-create-learner

/**
 * The input of `aimaira/find-or-create-learner`. The e-mail address is the natural key; the
 * other fields are used only when the learner has to be created.
 *
 * @since 0.1.0
 */
export const FindOrCreateLearnerInput = Schema.Struct({
  Adresse: Schema.String.pipe(
    Schema.pattern(/^[^\s@]+@[^\s@]+$/, { message: () => "expected an e-mail address" })
  ).annotations({ description: "the learner's e-mail address: how the learner is found" }),
  Nom: Text,
  Prenoms: Text,
  CiviliteId: optional(RequiredId(Ids.CiviliteId)),
  CiviliteCode: optional(Text.annotations({ description: "a civilité code: M, MME, MLE" })),
  NomUsage: optional(Schema.String),
  PrenomUsage: optional(Schema.String),
  Login: optional(Schema.String.annotations({ description: "default: the e-mail address" })),
  DateNaissance: optional(DateInput),
  GenreMale: optional(Schema.Boolean.annotations({ description: "default: the civilité's" }))
}).pipe(exactlyOne(["CiviliteId", "CiviliteCode"]))

/**
 * @since 0.1.0
 */
export type FindOrCreateLearnerInput = typeof FindOrCreateLearnerInput.Type

/**
 * A learner as `Apprenant?$expand=Mail` shows it, plus what this step created (`Created`),
 * which its compensation deletes.
 *
 * @since 0.1.0
 */
export const Learner = Schema.Struct({
  ...viewFields(Entities.Apprenant),
  Mail: view(Entities.Mail),
  Created: Schema.Struct({ Mail: Schema.Boolean, Apprenant: Schema.Boolean })
})

/**
 * @since 0.1.0
 */
export type Learner = typeof Learner.Type

const byAddress = (adresse: string) =>
  Effect.gen(function*() {
    const client = yield* AimairaClient
    // The documented look-up: `Apprenant?$filter=Mail/Adresse eq '…'`.
    const learners = yield* all(
      Entities.Apprenant,
      Query.from(Entities.Apprenant).where((f) => f.eq(f.path("Mail/Adresse"), adresse))
    )
    if (learners.length > 1) {
      return yield* new StepErrors.Ambiguous({
        entitySet: "Apprenant",
        key: `Mail/Adresse eq ${Query.quote(adresse)}`,
        ids: learners.map((l) => l.Id)
      })
    }
    const [learner] = learners
    if (learner === undefined || !Ids.isSet(learner.MailId)) return Option.none<Learner>()
    const mail = yield* client.get(Entities.Mail, learner.MailId)
    return Option.some<Learner>({ ...learner, Mail: mail, Created: { Mail: false, Apprenant: false } })
  })

/**
 * Finds a learner by e-mail address (the documented `Mail/Adresse` look-up) or creates them:
 * the `Mail` first (an existing one with this address is reused), then the `Apprenant`.
 *
 * Reconciliation: the same look-up by address, so a learner whose creation answer was lost is
 * found, not created twice. It is then reported as found (`Created` false), so that no
 * compensation ever deletes a learner this step cannot prove it created.
 *
 * Compensation: deletes the `Apprenant`, then the `Mail`, when this step created them.
 *
 * @since 0.1.0
 */
export const findOrCreateLearner = Step.make({
  name: "aimaira/find-or-create-learner",
  description: "Find a learner by e-mail address, or create the e-mail and the learner (Mail + Apprenant)",
  input: FindOrCreateLearnerInput,
  output: Learner,
  retry: writePolicy,
  run: (input): Effect.Effect<Learner, Errors.AimairaError | StepErrors.StepError, AimairaClient> =>
    Effect.gen(function*() {
      const found = yield* byAddress(input.Adresse)
      if (Option.isSome(found)) return found.value
      const client = yield* AimairaClient
      const civilite = input.CiviliteId !== undefined
        ? yield* client.get(Entities.Civilite, input.CiviliteId)
        : yield* byField(Entities.Civilite, "Code", input.CiviliteCode!)
      const mails = yield* all(Entities.Mail, Query.from(Entities.Mail).where((f) => f.eq("Adresse", input.Adresse)))
      const existing = mails.find((m) => !m.IsDuplicate) ?? mails[0]
      const mail = existing ?? (yield* client.create(Entities.Mail, { Adresse: input.Adresse, IsDuplicate: false }))
      const apprenant = yield* client.create(Entities.Apprenant, {
        Nom: input.Nom,
        Prenoms: input.Prenoms,
        NomUsage: input.NomUsage ?? input.Nom,
        PrenomUsage: input.PrenomUsage ?? input.Prenoms,
        // As in the documented create sample.
        Login: input.Login ?? input.Adresse,
        CiviliteId: civilite.Id,
        MailId: mail.Id,
        GenreMale: input.GenreMale ?? civilite.GenreMale,
        ...(input.DateNaissance === undefined ? {} : { DateNaissance: input.DateNaissance })
      })
      return { ...apprenant, Mail: mail, Created: { Mail: existing === undefined, Apprenant: true } }
    }),
  reconcile: (input) => byAddress(input.Adresse),
  compensate: {
    description: "delete the learner and the e-mail, if this step created them",
    run: (_input, learner) =>
      Effect.gen(function*() {
        if (learner.Created.Apprenant) yield* deleteIfExists(Entities.Apprenant, learner.Id)
        if (learner.Created.Mail) yield* deleteIfExists(Entities.Mail, learner.Mail.Id)
      })
  }
})

// ---------------------------------------------------------------------------------------------
// aimaira/create-inscription

/**
 * The input of `aimaira/create-inscription`: the documented required fields, the programme by
 * id or by code.
 *
 * @since 0.1.0
 */
export const CreateInscriptionInput = Schema.Struct({
  ApprenantId: RequiredId(Ids.ApprenantId),
  ProgrammeId: optional(RequiredId(Ids.ProgrammeId)),
  ProgrammeCode: optional(Text.annotations({ description: "the programme's code, instead of ProgrammeId" })),
  RegimeInscriptionId: RequiredId(Schema.Int).annotations({ description: "régime de l'apprenant" }),
  RecrutementId: RequiredId(Schema.Int).annotations({ description: "voie d'entrée" }),
  EtatInscriptionId: RequiredId(Schema.Int).annotations({ description: "issue / état d'inscription" }),
  DateInscription: DateTimeInput,
  OrigineId: optional(RequiredId(Schema.Int))
}).pipe(exactlyOne(["ProgrammeId", "ProgrammeCode"]))

/**
 * @since 0.1.0
 */
export type CreateInscriptionInput = typeof CreateInscriptionInput.Type

/**
 * An inscription as the steps output it.
 *
 * @since 0.1.0
 */
export const Inscription = view(Entities.Inscription)

/**
 * @since 0.1.0
 */
export type Inscription = typeof Inscription.Type

const programmeOf = (input: CreateInscriptionInput) =>
  input.ProgrammeId !== undefined
    ? Effect.succeed(input.ProgrammeId)
    : Effect.map(byField(Entities.Programme, "Code", input.ProgrammeCode!), (p) => p.Id)

/**
 * Creates a learner's registration file (dossier d'inscription) in a programme.
 *
 * Reconciliation by natural key: an inscription of this learner in this programme with the
 * same `DateInscription` (the same instant), régime, voie d'entrée and état; the most recent
 * one when several match.
 *
 * Compensation: deletes the inscription.
 *
 * @since 0.1.0
 */
export const createInscription = Step.make({
  name: "aimaira/create-inscription",
  description: "Create a learner's registration file (Inscription) in a programme",
  input: CreateInscriptionInput,
  output: Inscription,
  retry: writePolicy,
  run: (input): Effect.Effect<Inscription, Errors.AimairaError | StepErrors.StepError, AimairaClient> =>
    Effect.gen(function*() {
      const client = yield* AimairaClient
      const ProgrammeId = yield* programmeOf(input)
      return yield* client.create(Entities.Inscription, {
        ApprenantId: input.ApprenantId,
        ProgrammeId,
        RegimeInscriptionId: input.RegimeInscriptionId,
        RecrutementId: input.RecrutementId,
        EtatInscriptionId: input.EtatInscriptionId,
        DateInscription: input.DateInscription,
        ...(input.OrigineId === undefined ? {} : { extra: { OrigineId: input.OrigineId } })
      })
    }),
  reconcile: (input) =>
    Effect.gen(function*() {
      const ProgrammeId = yield* programmeOf(input)
      const matches = yield* all(
        Entities.Inscription,
        Query.from(Entities.Inscription).where((f) =>
          f.and(
            f.eq("ApprenantId", input.ApprenantId),
            f.eq("ProgrammeId", ProgrammeId),
            f.eq("DateInscription", input.DateInscription)
          )
        )
      )
      const same = matches.filter((i) =>
        i.RegimeInscriptionId === input.RegimeInscriptionId && i.RecrutementId === input.RecrutementId &&
        i.EtatInscriptionId === input.EtatInscriptionId
      )
      const latest: Inscription | undefined = [...same].sort((a, b) => b.Id - a.Id)[0]
      return Option.fromNullable(latest)
    }),
  compensate: {
    description: "delete the inscription",
    run: (_input, inscription) => deleteIfExists(Entities.Inscription, inscription.Id)
  }
})

// ---------------------------------------------------------------------------------------------
// aimaira/list-inscriptions

/**
 * Lists a learner's inscriptions (`Inscription?$filter=ApprenantId eq …`), oldest first.
 *
 * @since 0.1.0
 */
export const listInscriptions = Step.make({
  name: "aimaira/list-inscriptions",
  description: "List a learner's registration files (Inscription), oldest first",
  input: Schema.Struct({ ApprenantId: RequiredId(Ids.ApprenantId) }),
  output: Schema.Array(Inscription),
  retry: readPolicy,
  idempotent: true,
  run: ({ ApprenantId }) =>
    all(Entities.Inscription, Query.from(Entities.Inscription).where((f) => f.eq("ApprenantId", ApprenantId)).orderBy("Id"))
})

/**
 * Every step of this module.
 *
 * @since 0.1.0
 */
export const steps = [findOrCreateLearner, createInscription, listInscriptions] as const
