/**
 * Steps for learners and their registration files ("Créer un nouveau dossier d'inscription"):
 * find or create a learner with their e-mail, create an inscription, enrol it on the periods of
 * its parcours, list a learner's inscriptions.
 *
 * Inputs are plain JSON a YAML author can write (ids as numbers, codes as strings, dates as
 * `2025-09-01`); outputs are the entities' declared fields in AIMAIRA's wire form, so later
 * steps read `${{ steps.learner.output.Id }}`.
 *
 * @since 0.1.0
 */
import { Step, Suggest } from "@relais/core"
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
  collect,
  DateInput,
  DateTimeInput,
  deleteAll,
  deleteIfExists,
  eligibleOf,
  EmailAddress,
  exactlyOne,
  type Made,
  made,
  marker,
  optional,
  readPolicy,
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
// aimaira/find-or-create-learner

/**
 * The input of `aimaira/find-or-create-learner`. The e-mail address is the natural key; the
 * other fields are used only when the learner has to be created.
 *
 * @since 0.1.0
 */
export const FindOrCreateLearnerInput = Schema.Struct({
  Adresse: EmailAddress.annotations({ description: "the learner's e-mail address: how the learner is found" }),
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

/**
 * The learner with this address. `Created` is true for both when the learner's `Mail` carries
 * `mark` (this invocation's marker): that `Mail` was made by this invocation, so the learner
 * linked to it is this invocation's too (a creation whose answer was lost).
 */
const byAddress = (adresse: string, mark?: string) =>
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
    const own = mark !== undefined && mail.Code === mark
    return Option.some<Learner>({ ...learner, Mail: mail, Created: { Mail: own, Apprenant: own } })
  })

const learnerName = (learner: { readonly Nom: string; readonly Prenoms: string }) => `${learner.Nom} ${learner.Prenoms}`

/**
 * Finds a learner by e-mail address (the documented `Mail/Adresse` look-up) or creates them:
 * the `Mail` first (an existing one with this address is reused; a new one carries the
 * invocation's marker `relais-<key>` in its `Code`), then the `Apprenant`.
 *
 * An attempt whose `POST Apprenant` fails after it created the `Mail` does not leave that
 * `Mail` behind: it first looks for a learner linked to it (the answer may have been lost after
 * the commit), and otherwise deletes it before failing; when it cannot, the failure
 * (`LeftBehind`) names the `Mail` to delete by hand, and a later attempt reuses it (its marker).
 *
 * Reconciliation: the same look-up by address, so a learner whose creation answer was lost is
 * found, not created twice. It is reported as created only when its `Mail` carries this
 * invocation's marker (this invocation made it), otherwise as found (`Created` false), so that
 * no compensation ever deletes a learner this step cannot prove it created.
 *
 * Compensation: deletes the `Apprenant`, then the `Mail`, when this step created them; when it
 * found both, it reports that there was nothing to undo (`Step.nothingToUndo`), and when it
 * created only one, what it deleted (`Step.undid`), so the run never claims it deleted a learner
 * that existed before.
 *
 * @since 0.1.0
 */
export const findOrCreateLearner = Step.make({
  name: "aimaira/find-or-create-learner",
  description: "Find a learner by e-mail address, or create the e-mail and the learner (Mail + Apprenant)",
  input: FindOrCreateLearnerInput,
  output: Learner,
  retry: writePolicy,
  run: (input): Effect.Effect<Learner, Errors.AimairaError | StepErrors.StepError, AimairaClient | Step.StepContext> =>
    Effect.gen(function*() {
      const mark = marker((yield* Step.StepContext).key)
      const found = yield* byAddress(input.Adresse, mark)
      if (Option.isSome(found)) return found.value
      const client = yield* AimairaClient
      const civilite = input.CiviliteId !== undefined
        ? yield* client.get(Entities.Civilite, input.CiviliteId)
        : yield* byField(Entities.Civilite, "Code", input.CiviliteCode!)
      const mails = yield* all(Entities.Mail, Query.from(Entities.Mail).where((f) => f.eq("Adresse", input.Adresse)))
      // This invocation's own Mail (an earlier attempt made it), else one that existed.
      const own = mails.find((m) => m.Code === mark)
      const existing = own === undefined ? mails.find((m) => !m.IsDuplicate) ?? mails[0] : undefined
      const mail = own ?? existing ??
        (yield* client.create(Entities.Mail, { Adresse: input.Adresse, IsDuplicate: false, Code: mark }))
      const createdMail = existing === undefined
      const ownMail = [made(Entities.Mail, mail.Id, `the e-mail ${mail.Adresse}`)]
      return yield* client.create(Entities.Apprenant, {
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
      }).pipe(
        Effect.map((apprenant): Learner => ({ ...apprenant, Mail: mail, Created: { Mail: createdMail, Apprenant: true } })),
        (create) =>
          createdMail
            ? undoOnFailure(create, {
              made: Effect.succeed(ownMail),
              known: () => ownMail,
              stored: byAddress(input.Adresse, mark)
            })
            : create
      )
    }),
  reconcile: (input) => Effect.flatMap(Step.StepContext, (context) => byAddress(input.Adresse, marker(context.key))),
  compensate: {
    description: "delete the learner and the e-mail, if this step created them",
    run: (_input, learner) =>
      Effect.gen(function*() {
        const { Apprenant, Mail } = learner.Created
        if (!Apprenant && !Mail) {
          return Step.nothingToUndo(`the learner (Apprenant ${learner.Id}) and its e-mail existed before the run`)
        }
        yield* deleteAll([
          ...(Apprenant ? [made(Entities.Apprenant, learner.Id, `the learner ${learnerName(learner)}`)] : []),
          ...(Mail ? [made(Entities.Mail, learner.Mail.Id, `the e-mail ${learner.Mail.Adresse}`)] : [])
        ])
        if (Apprenant && !Mail) {
          return Step.undid(`deleted the learner (Apprenant ${learner.Id}); its e-mail (Mail ${learner.Mail.Id}) existed before the run and was kept`)
        }
        if (Mail && !Apprenant) {
          return Step.undid(`deleted the e-mail (Mail ${learner.Mail.Id}); the learner (Apprenant ${learner.Id}) existed before the run and was kept`)
        }
      })
  }
})

// ---------------------------------------------------------------------------------------------
// aimaira/create-inscription

/**
 * The input of `aimaira/create-inscription`: the documented required fields, the programme by
 * id or by code; the voie d'entrée may be left to the step when the programme has only one.
 *
 * @since 0.1.0
 */
export const CreateInscriptionInput = Schema.Struct({
  ApprenantId: RequiredId(Ids.ApprenantId),
  ProgrammeId: optional(RequiredId(Ids.ProgrammeId)),
  ProgrammeCode: optional(Text.annotations({ description: "the programme's code, instead of ProgrammeId" })),
  RegimeInscriptionId: RequiredId(Schema.Int).annotations({ description: "régime de l'apprenant" }),
  RecrutementId: optional(
    RequiredId(Schema.Int).annotations({
      description: "voie d'entrée; default: the programme's, when the API shows exactly one (GET Recrutement)"
    })
  ),
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
 * The voie d'entrée: the one given, or the programme's only one among those the API shows
 * (documented "Lister les voies d'entrée", filtered on `ProgrammeId`).
 */
const voieOf = (input: CreateInscriptionInput, ProgrammeId: Ids.ProgrammeId) =>
  input.RecrutementId !== undefined
    ? Effect.succeed(input.RecrutementId)
    : Effect.gen(function*() {
      const voies = yield* all(Entities.VoieEntree, Query.from(Entities.VoieEntree).where((f) => f.eq("ProgrammeId", ProgrammeId)))
      if (voies.length === 1) return voies[0]!.Id as number
      if (voies.length > 1) {
        return yield* new StepErrors.Ambiguous({
          entitySet: "Recrutement",
          key: `ProgrammeId eq ${ProgrammeId} (the voies d'entrée of the programme: ${voies.map((v) => v.Nom).join(", ")})`,
          ids: voies.map((v) => v.Id)
        })
      }
      return yield* new StepErrors.UnknownCode({
        entitySet: "Recrutement",
        field: "ProgrammeId",
        value: String(ProgrammeId),
        suggestions: [],
        known: []
      })
    })

/**
 * Creates a learner's registration file (dossier d'inscription) in a programme. Without
 * `RecrutementId`, the voie d'entrée is the programme's, when the API shows exactly one (two or
 * more: `Ambiguous`, give `RecrutementId`; none: `UnknownCode`).
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
      const RecrutementId = yield* voieOf(input, ProgrammeId)
      return yield* client.create(Entities.Inscription, {
        ApprenantId: input.ApprenantId,
        ProgrammeId,
        RegimeInscriptionId: input.RegimeInscriptionId,
        RecrutementId,
        EtatInscriptionId: input.EtatInscriptionId,
        DateInscription: input.DateInscription,
        ...(input.OrigineId === undefined ? {} : { extra: { OrigineId: input.OrigineId } })
      })
    }),
  reconcile: (input) =>
    Effect.gen(function*() {
      const ProgrammeId = yield* programmeOf(input)
      const RecrutementId = yield* voieOf(input, ProgrammeId)
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
        i.RegimeInscriptionId === input.RegimeInscriptionId && i.RecrutementId === RecrutementId &&
        i.EtatInscriptionId === input.EtatInscriptionId
      )
      const latest: Inscription | undefined = [...same].sort((a, b) => b.Id - a.Id)[0]
      return Option.fromNullable(latest)
    }),
  compensate: {
    description: "delete the inscription",
    run: (_input, inscription) =>
      deleteIfExists(Entities.Inscription, inscription.Id, `the inscription of learner ${inscription.ApprenantId} (${inscription.Id})`)
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

// ---------------------------------------------------------------------------------------------
// aimaira/enrol-parcours

/**
 * The input of `aimaira/enrol-parcours`: the inscription, and optionally the parcours (default:
 * the parcours of the inscription's voie d'entrée) and which of its periods.
 *
 * @since 0.1.0
 */
export const EnrolParcoursInput = Schema.Struct({
  InscriptionId: RequiredId(Ids.InscriptionId),
  ParcoursId: optional(
    RequiredId(Ids.ParcoursId).annotations({
      description: "default: the parcours of the inscription's voie d'entrée (RecrutementId → ParcoursId)"
    })
  ),
  LibellePeriodes: optional(
    Schema.NonEmptyArray(Text).annotations({
      description: "only these periods of the parcours, by LibellePeriode (e.g. [2025/2026]); default: every period"
    })
  )
})

/**
 * @since 0.1.0
 */
export type EnrolParcoursInput = typeof EnrolParcoursInput.Type

/**
 * A link of an inscription to a period, as the steps output it.
 *
 * @since 0.1.0
 */
export const InscriptionPeriode = view(Entities.InscriptionPeriode)

/**
 * @since 0.1.0
 */
export type InscriptionPeriode = typeof InscriptionPeriode.Type

/**
 * The output of `aimaira/enrol-parcours`.
 *
 * @since 0.1.0
 */
export const EnrolledParcours = Schema.Struct({
  InscriptionId: Ids.InscriptionId,
  ParcoursId: Ids.ParcoursId,
  /** The inscription's links to the chosen periods of the parcours, in the parcours' order. */
  Periodes: Schema.Array(InscriptionPeriode),
  /** The links this invocation created (what the compensation deletes). */
  Linked: Schema.Array(Ids.InscriptionPeriodeId),
  /** How many sequences the inscription is now eligible for (the documented eligible-sequences query). */
  EligibleSequences: Schema.Number
})

/**
 * @since 0.1.0
 */
export type EnrolledParcours = typeof EnrolledParcours.Type

const ParcoursWithPeriodes = Schema.Struct({
  Id: Ids.ParcoursId,
  ProgrammeId: Ids.Ref(Ids.ProgrammeId),
  ParcoursPeriodes: Schema.Array(Entities.wire(Entities.ParcoursPeriode))
})

/** The parcours of an inscription's voie d'entrée (`RecrutementId` → `Recrutement.ParcoursId`). */
const parcoursOfVoieEntree = (inscription: Entities.Inscription) =>
  Effect.gen(function*() {
    const client = yield* AimairaClient
    const InscriptionId = inscription.Id
    const recrutementId = inscription.RecrutementId
    if (!Ids.isSet(recrutementId)) return yield* new StepErrors.NoParcours({ InscriptionId, reason: "no-voie-d-entree" })
    const voie = yield* client.get(Entities.VoieEntree, recrutementId as Ids.RecrutementId).pipe(
      Effect.catchTag("NotFound", () =>
        new StepErrors.NoParcours({ InscriptionId, reason: "voie-d-entree-hidden", id: recrutementId }))
    )
    if (!Ids.isSet(voie.ParcoursId)) {
      return yield* new StepErrors.NoParcours({ InscriptionId, reason: "no-parcours", id: recrutementId })
    }
    return voie.ParcoursId
  })

const linksOf = (inscriptionId: Ids.InscriptionId) =>
  Effect.flatMap(AimairaClient, (client) =>
    // The documented "Récupérer les périodes liées à une inscription".
    collect(client.streamRelated(Entities.Inscription, inscriptionId, "InscriptionPeriodes", Entities.InscriptionPeriode)))

/**
 * Enrols an inscription on the periods of its parcours, as "Créer un nouveau dossier
 * d'inscription" documents: the parcours of the voie d'entrée (`ParcoursId`), its periods
 * (`Parcours?$expand=ParcoursPeriodes`), then "Lier l'inscription à une période"
 * (`POST InscriptionPeriode`) for each one the inscription is not linked to yet. AIMAIRA then
 * enrols the learner in the sequences of those periods, which makes them eligible for a
 * convention.
 *
 * Idempotent: periods already linked (by anyone) are skipped, so a retry after a lost answer
 * links nothing twice. Each link this step creates carries `relais-<invocation key>` in its
 * `Code` (empty in the documented samples), so `Linked` lists exactly what this invocation
 * created, also after a lost answer.
 *
 * An attempt that fails once it has started linking unlinks every link carrying its marker
 * before failing, so a step that fails for good leaves no half enrolment; when it cannot (a
 * refused DELETE), the failure (`LeftBehind`) lists the links to delete by hand.
 *
 * Compensation: deletes the links in `Linked` (AIMAIRA takes back the sequences they gave).
 *
 * @since 0.1.0
 */
export const enrolParcours = Step.make({
  name: "aimaira/enrol-parcours",
  description:
    "Enrol an inscription on the periods of its parcours (voie d'entrée → parcours → periods → InscriptionPeriode), " +
    "which gives it the sequences eligible for a convention",
  input: EnrolParcoursInput,
  output: EnrolledParcours,
  retry: writePolicy,
  idempotent: true,
  run: (input): Effect.Effect<EnrolledParcours, Errors.AimairaError | StepErrors.StepError, AimairaClient | Step.StepContext> =>
    Effect.gen(function*() {
      const context = yield* Step.StepContext
      const client = yield* AimairaClient
      const inscription = yield* client.get(Entities.Inscription, input.InscriptionId)
      const ParcoursId = input.ParcoursId ?? (yield* parcoursOfVoieEntree(inscription))
      const parcours = yield* client.getAs(
        Entities.Parcours,
        ParcoursId,
        ParcoursWithPeriodes,
        Query.from(Entities.Parcours).expand("ParcoursPeriodes")
      )
      if (Ids.isSet(parcours.ProgrammeId) && Ids.isSet(inscription.ProgrammeId) && parcours.ProgrammeId !== inscription.ProgrammeId) {
        return yield* new StepErrors.NoParcours({ InscriptionId: inscription.Id, reason: "other-programme", id: ParcoursId })
      }
      const ordered = [...parcours.ParcoursPeriodes]
        .filter((period) => Ids.isSet(period.PeriodeId))
        .sort((a, b) => (a.AnneeScolaire ?? 0) - (b.AnneeScolaire ?? 0) || a.Id - b.Id)
      let periods = ordered
      if (input.LibellePeriodes !== undefined) {
        const known = ordered.map((period) => period.LibellePeriode)
        for (const wanted of input.LibellePeriodes) {
          if (!known.includes(wanted)) {
            return yield* new StepErrors.UnknownCode({
              entitySet: `Parcours(${ParcoursId})/ParcoursPeriodes`,
              field: "LibellePeriode",
              value: wanted,
              suggestions: Suggest.closest(wanted, known),
              known
            })
          }
        }
        periods = ordered.filter((period) => input.LibellePeriodes!.includes(period.LibellePeriode))
      }

      const mark = marker(context.key)
      const linkMade = (link: Entities.InscriptionPeriode) =>
        made(Entities.InscriptionPeriode, link.Id, `the link of inscription ${inscription.Id} to the period ${link.LibellePeriode}`)
      const created: Array<Made> = []
      // Links carry the marker, so a failed attempt finds all of its own (and its predecessors'),
      // even one whose answer was lost, and unlinks them rather than leave half an enrolment.
      const ownLinks = Effect.map(linksOf(inscription.Id), (links) =>
        links.filter((link) => link.Code === mark).sort((a, b) => a.Id - b.Id).map(linkMade))
      return yield* undoOnFailure(
        enrolOn(inscription, ParcoursId, periods, mark, (link) => created.push(linkMade(link))),
        { made: ownLinks, known: () => created }
      )
    }),
  compensate: {
    description: "unlink the periods this step linked (AIMAIRA takes their sequences back)",
    run: (_input, output) =>
      output.Linked.length === 0
        ? Effect.succeed(Step.nothingToUndo(`every period was already linked to inscription ${output.InscriptionId} before the run`))
        : deleteAll(output.Linked.map((id) => {
          const period = output.Periodes.find((link) => link.Id === id)?.LibellePeriode ?? "?"
          return made(Entities.InscriptionPeriode, id, `the link of inscription ${output.InscriptionId} to the period ${period}`)
        }))
  }
})

/** Links the inscription to the periods it is not linked to yet, then reads the result. */
const enrolOn = (
  inscription: Entities.Inscription,
  ParcoursId: Ids.ParcoursId,
  periods: ReadonlyArray<typeof ParcoursWithPeriodes.Type["ParcoursPeriodes"][number]>,
  mark: string,
  onLinked: (link: Entities.InscriptionPeriode) => void
): Effect.Effect<EnrolledParcours, Errors.AimairaError, AimairaClient> =>
  Effect.gen(function*() {
    const client = yield* AimairaClient
    const linked = new Set<number>((yield* linksOf(inscription.Id)).map((link) => link.PeriodeId ?? 0))
    for (const period of periods) {
      if (linked.has(period.PeriodeId!)) continue
      const link = yield* client.create(Entities.InscriptionPeriode, {
        InscriptionId: inscription.Id,
        PeriodeId: period.PeriodeId,
        LibellePeriode: period.LibellePeriode,
        Debut: period.Debut,
        Fin: period.Fin,
        AnneeScolaire: period.AnneeScolaire,
        RegimeInscriptionId: inscription.RegimeInscriptionId,
        EtatInscriptionId: inscription.EtatInscriptionId,
        Code: mark
      })
      onLinked(link)
      linked.add(period.PeriodeId!)
    }

    const links = [...(yield* linksOf(inscription.Id))].sort((a, b) => a.Id - b.Id)
    const Periodes = periods.flatMap((period) => links.find((link) => link.PeriodeId === period.PeriodeId) ?? [])
    const eligible = yield* eligibleOf(inscription.Id)
    return {
      InscriptionId: inscription.Id,
      ParcoursId,
      Periodes,
      Linked: links.filter((link) => link.Code === mark).map((link) => link.Id),
      EligibleSequences: eligible.length
    }
  })

/**
 * Every step of this module.
 *
 * @since 0.1.0
 */
export const steps = [findOrCreateLearner, createInscription, enrolParcours, listInscriptions] as const
