/**
 * Steps for the money side of a convention: funding bodies (OPCO), the learner's pay
 * (`Remuneration`), and billing (`SynchronisationAffaire` and the billing clients).
 *
 * Inputs are plain JSON a YAML author can write; outputs are the entities' declared fields in
 * AIMAIRA's wire form.
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
  deleteIfExists,
  marker,
  optional,
  readPolicy,
  RequiredId,
  Text,
  view,
  writePolicy
} from "./internal/steps.js"
import * as Query from "./Query.js"
import type * as StepErrors from "./StepErrors.js"

/** @since 0.1.0 */
export const OrganismeFinanceur = view(Entities.OrganismeFinanceur)
/** @since 0.1.0 */
export type OrganismeFinanceur = typeof OrganismeFinanceur.Type
/** @since 0.1.0 */
export const ConventionOrganismeFinanceur = view(Entities.ConventionOrganismeFinanceur)
/** @since 0.1.0 */
export type ConventionOrganismeFinanceur = typeof ConventionOrganismeFinanceur.Type
/** @since 0.1.0 */
export const Remuneration = view(Entities.Remuneration)
/** @since 0.1.0 */
export type Remuneration = typeof Remuneration.Type
/** @since 0.1.0 */
export const Client = view(Entities.Client)
/** @since 0.1.0 */
export type Client = typeof Client.Type

const byMarker = <A extends Entities.Entity>(entity: Entities.EntitySet<A>, conventionId: Ids.ConventionId) =>
  Effect.gen(function*() {
    const context = yield* Step.StepContext
    const matches = yield* all(
      entity,
      Query.from(entity).where((f) => f.and(f.eq(f.path("ConventionId"), conventionId), f.eq(f.path("Code"), marker(context.key))))
    )
    return Option.fromNullable([...matches].sort((a, b) => a.Id - b.Id)[0])
  })

// ---------------------------------------------------------------------------------------------
// aimaira/list-organismes-financeurs

/**
 * Lists the funding bodies (OPCO; the documented endpoint is `OPCA`), by name, optionally only
 * those with a given `Nom` or `Code`.
 *
 * @since 0.1.0
 */
export const listOrganismesFinanceurs = Step.make({
  name: "aimaira/list-organismes-financeurs",
  description: "List the funding bodies (OPCO), optionally by Nom or Code",
  input: Schema.Struct({ Nom: optional(Text), Code: optional(Text) }),
  output: Schema.Array(OrganismeFinanceur),
  retry: readPolicy,
  idempotent: true,
  run: (input) => {
    let query = Query.from(Entities.OrganismeFinanceur).orderBy("Nom")
    if (input.Nom !== undefined) query = query.where((f) => f.eq("Nom", input.Nom!))
    if (input.Code !== undefined) query = query.where((f) => f.eq("Code", input.Code!))
    return all(Entities.OrganismeFinanceur, query)
  }
})

// ---------------------------------------------------------------------------------------------
// aimaira/attach-organisme-financeur

/**
 * The input of `aimaira/attach-organisme-financeur`: the convention, and the funding body by
 * id, name (`AKTO`) or code (`OFP2`). `Code` is not accepted: the step stores its marker there.
 *
 * @since 0.1.0
 */
export const AttachOrganismeFinanceurInput = Schema.Struct({
  ConventionId: RequiredId(Ids.ConventionId),
  OrganismeFinanceurId: optional(RequiredId(Ids.OrganismeFinanceurId)),
  OrganismeFinanceurNom: optional(Text.annotations({ description: "the funding body's Nom, e.g. AKTO" })),
  OrganismeFinanceurCode: optional(Text.annotations({ description: "the funding body's Code, e.g. OFP2" })),
  NumeroDossier: optional(Schema.String),
  TypePriseCharge: optional(Schema.String.annotations({ description: "AIMAIRA's default: Entreprise" }))
}).pipe(
  Schema.filter((input) => {
    const given = [input.OrganismeFinanceurId, input.OrganismeFinanceurNom, input.OrganismeFinanceurCode]
      .filter((v) => v !== undefined).length
    return given === 1 ||
      { path: ["OrganismeFinanceurId"], message: "give one of OrganismeFinanceurId, OrganismeFinanceurNom, OrganismeFinanceurCode" }
  }, Step.inputRule({
    fields: ["OrganismeFinanceurId", "OrganismeFinanceurNom", "OrganismeFinanceurCode"],
    description: "give exactly one of OrganismeFinanceurId, OrganismeFinanceurNom, OrganismeFinanceurCode",
    requiresOne: true
  }))
)

/**
 * @since 0.1.0
 */
export type AttachOrganismeFinanceurInput = typeof AttachOrganismeFinanceurInput.Type

/**
 * Attaches a funding body to a convention (`POST ConventionOrganismeFinanceur`), for an
 * apprenticeship or professionalisation contract. `SynchronisationAffaire` then bills it.
 *
 * Reconciliation by marker: `relais-<invocation key>` in the link's `Code` (`null` in the
 * documented create response), looked up among the convention's links.
 *
 * Compensation: deletes the link.
 *
 * @since 0.1.0
 */
export const attachOrganismeFinanceur = Step.make({
  name: "aimaira/attach-organisme-financeur",
  description: "Attach a funding body (OPCO) to a convention",
  input: AttachOrganismeFinanceurInput,
  output: ConventionOrganismeFinanceur,
  retry: writePolicy,
  run: (
    input
  ): Effect.Effect<ConventionOrganismeFinanceur, Errors.AimairaError | StepErrors.StepError, AimairaClient | Step.StepContext> =>
    Effect.gen(function*() {
      const context = yield* Step.StepContext
      const client = yield* AimairaClient
      const OrganismeFinanceurId = input.OrganismeFinanceurId ??
        (input.OrganismeFinanceurNom !== undefined
          ? yield* byField(Entities.OrganismeFinanceur, "Nom", input.OrganismeFinanceurNom)
          : yield* byField(Entities.OrganismeFinanceur, "Code", input.OrganismeFinanceurCode!)).Id
      return yield* client.create(Entities.ConventionOrganismeFinanceur, {
        ConventionId: input.ConventionId,
        OrganismeFinanceurId,
        ...(input.NumeroDossier === undefined ? {} : { NumeroDossier: input.NumeroDossier }),
        ...(input.TypePriseCharge === undefined ? {} : { TypePriseCharge: input.TypePriseCharge }),
        Code: marker(context.key)
      })
    }),
  reconcile: (input) => byMarker(Entities.ConventionOrganismeFinanceur, input.ConventionId),
  compensate: {
    description: "detach the funding body (delete the link)",
    run: (_input, link) =>
      deleteIfExists(
        Entities.ConventionOrganismeFinanceur,
        link.Id,
        `the funding body ${link.OrganismeFinanceurId} of the convention ${link.ConventionId}`
      )
  }
})

// ---------------------------------------------------------------------------------------------
// aimaira/create-remuneration

const SalaireMin = Schema.Literal("SMC", "SMIC", "-").annotations({
  description: "SMC (minimum conventionnel), SMIC, or - (empty)"
})

/**
 * The input of `aimaira/create-remuneration`: one contract year (`Annee` 1 to 4) in up to two
 * periods. `Code` is not accepted: the step stores its marker there.
 *
 * @since 0.1.0
 */
export const CreateRemunerationInput = Schema.Struct({
  ConventionId: RequiredId(Ids.ConventionId),
  Annee: Schema.Int.pipe(Schema.between(1, 4)).annotations({ description: "the contract year, 1 to 4" }),
  Debut1: optional(Schema.NullOr(DateInput)),
  Fin1: optional(Schema.NullOr(DateInput)),
  Pourcentage1: optional(Schema.Number.pipe(Schema.between(0, 100))),
  SalaireMin1: optional(SalaireMin),
  Debut2: optional(Schema.NullOr(DateInput)),
  Fin2: optional(Schema.NullOr(DateInput)),
  Pourcentage2: optional(Schema.Number.pipe(Schema.between(0, 100))),
  SalaireMin2: optional(SalaireMin)
})

/**
 * @since 0.1.0
 */
export type CreateRemunerationInput = typeof CreateRemunerationInput.Type

/**
 * Creates the learner's pay for one contract year of a convention (`POST Remuneration`). The
 * gross monthly pay at hiring and the benefits are fields of the convention itself
 * (`aimaira/update-convention`).
 *
 * Reconciliation by marker: `relais-<invocation key>` in the row's `Code` (empty in the
 * documented samples), looked up among the convention's rows (AIMAIRA only lists pay per
 * convention).
 *
 * Compensation: deletes the row.
 *
 * @since 0.1.0
 */
export const createRemuneration = Step.make({
  name: "aimaira/create-remuneration",
  description: "Create the learner's pay for one contract year of a convention (Remuneration)",
  input: CreateRemunerationInput,
  output: Remuneration,
  retry: writePolicy,
  run: (input): Effect.Effect<Remuneration, Errors.AimairaError, AimairaClient | Step.StepContext> =>
    Effect.gen(function*() {
      const context = yield* Step.StepContext
      const client = yield* AimairaClient
      return yield* client.create(Entities.Remuneration, { ...input, Code: marker(context.key) })
    }),
  reconcile: (input) => byMarker(Entities.Remuneration, input.ConventionId),
  compensate: {
    description: "delete the pay row",
    run: (_input, remuneration) =>
      deleteIfExists(
        Entities.Remuneration,
        remuneration.Id,
        `the pay of year ${remuneration.Annee} of the convention ${remuneration.ConventionId}`
      )
  }
})

// ---------------------------------------------------------------------------------------------
// Billing

const clientsOf = (referenceId: number) =>
  all(Entities.Client, Query.from(Entities.Client).where((f) => f.eq("ReferenceId", referenceId)).orderBy("Id"))

/**
 * Runs `POST Convention/{id}/SynchronisationAffaire`, which creates (or refreshes) the billing
 * structure of the convention, and returns its billing clients (`Client` with `ReferenceId` =
 * the convention). The convention needs its company first.
 *
 * Idempotent: calling it again refreshes, it does not duplicate. No compensation of its own:
 * the clients are deleted with the convention by `aimaira/create-convention`'s compensation.
 *
 * @since 0.1.0
 */
export const synchronisationAffaire = Step.make({
  name: "aimaira/synchronisation-affaire",
  description: "Create the billing structure of a convention (SynchronisationAffaire) and return its billing clients",
  input: Schema.Struct({ ConventionId: RequiredId(Ids.ConventionId) }),
  output: Schema.Array(Client),
  retry: writePolicy,
  timeout: "60 seconds",
  idempotent: true,
  run: ({ ConventionId }) =>
    Effect.flatMap(AimairaClient, (client) =>
      Effect.zipRight(client.synchronisationAffaire(ConventionId), clientsOf(ConventionId)))
})

/**
 * Lists the billing clients of an entity (`Client?$filter=ReferenceId eq …`), e.g. of a
 * convention after `SynchronisationAffaire`: the company's and one per funding body.
 *
 * @since 0.1.0
 */
export const listBillingClients = Step.make({
  name: "aimaira/list-billing-clients",
  description: "List the billing clients of a convention (Client by ReferenceId)",
  input: Schema.Struct({
    ReferenceId: RequiredId(Schema.Int).annotations({ description: "the convention's id" })
  }),
  output: Schema.Array(Client),
  retry: readPolicy,
  idempotent: true,
  run: ({ ReferenceId }) => clientsOf(ReferenceId)
})

/**
 * Every step of this module.
 *
 * @since 0.1.0
 */
export const steps = [
  listOrganismesFinanceurs,
  attachOrganismeFinanceur,
  createRemuneration,
  synchronisationAffaire,
  listBillingClients
] as const
