/**
 * The Campus Skills contract ("contrat") and the request / response bodies of the sync API.
 *
 * Field names are the wire names. Dates are `Temporal.PlainDate` in memory and `DD/MM/YYYY` on
 * the wire. The identifier is `codeContrat`: the vendor's field table spells it `ccodeContrat`,
 * a typo (its own example, and the v2 `removed` list, use `codeContrat`); see the README.
 *
 * @since 0.1.0
 */
import { ProviderKit, Step } from "@relais/core"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { Temporal } from "temporal-polyfill"

// ---------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------

const WIRE_DATE = /^(\d{2})\/(\d{2})\/(\d{4})$/

/**
 * Parses a `DD/MM/YYYY` date that exists in the calendar (`31/02/2025` and `29/02/2025` are
 * refused, `29/02/2024` is accepted). Fails with a readable reason.
 *
 * @since 0.1.0
 */
export const parseWireDate = (text: string): Either.Either<Temporal.PlainDate, string> => {
  const match = WIRE_DATE.exec(text)
  if (match === null) return Either.left(`"${text}" is not a date in the DD/MM/YYYY format`)
  const [, day, month, year] = match
  try {
    return Either.right(
      Temporal.PlainDate.from({ year: Number(year), month: Number(month), day: Number(day) }, { overflow: "reject" })
    )
  } catch {
    return Either.left(`"${text}" is not a date that exists in the calendar`)
  }
}

/**
 * Formats a date as `DD/MM/YYYY`.
 *
 * @since 0.1.0
 */
export const formatWireDate = (date: Temporal.PlainDate): string =>
  `${String(date.day).padStart(2, "0")}/${String(date.month).padStart(2, "0")}/${
    String(date.year).padStart(4, "0")
  }`

/**
 * A `Temporal.PlainDate` value (`ProviderKit.PlainDateFromSelf` of `@relais/core`).
 *
 * @since 0.1.0
 */
export const PlainDateFromSelf = ProviderKit.PlainDateFromSelf

/**
 * `DD/MM/YYYY` on the wire, `Temporal.PlainDate` in memory; impossible dates are refused.
 *
 * @since 0.1.0
 */
export const WireDate = Schema.transformOrFail(Schema.String, PlainDateFromSelf, {
  strict: true,
  decode: (text, _, ast) =>
    Either.match(parseWireDate(text), {
      onLeft: (reason) => ParseResult.fail(new ParseResult.Type(ast, text, reason)),
      onRight: ParseResult.succeed
    }),
  encode: (date) => ParseResult.succeed(formatWireDate(date))
}).annotations({ identifier: "WireDate", description: "a date as DD/MM/YYYY" })

// ---------------------------------------------------------------------------------------------
// Contract
// ---------------------------------------------------------------------------------------------

/**
 * The contract identifier.
 *
 * @since 0.1.0
 */
export const CodeContrat = Schema.String.pipe(
  Schema.filter((s) => s.trim().length > 0, { message: () => "codeContrat must not be blank" }),
  Schema.brand("@relais/campus-skills/CodeContrat")
)

/** @since 0.1.0 */
export type CodeContrat = typeof CodeContrat.Type

/** A required text field: a string with something else than spaces in it. */
const Text = Schema.String.pipe(
  Schema.filter((s) => s.trim().length > 0, { message: () => "must not be blank" })
)

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/**
 * An e-mail address (shape only: `local@domain.tld`, no spaces).
 *
 * @since 0.1.0
 */
export const Email = Schema.String.pipe(
  Schema.filter((s) => EMAIL.test(s), { message: (issue) => `${JSON.stringify(issue.actual)} is not an e-mail address` })
)

/**
 * The required text fields other than the identifier and the dates, in the vendor's order.
 *
 * @since 0.1.0
 */
export const requiredTextFields = [
  "nomGroupe",
  "nomEntreprise",
  "emailPersonnel",
  "prenomPersonnel",
  "nomPersonnel",
  "codePersonnel",
  "emailMaitreApprentissage",
  "prenomMaitreApprentissage",
  "nomMaitreApprentissage",
  "codeMaitreApprentissage",
  "nomApprenant",
  "emailApprenant",
  "prenomApprenant",
  "codeApprenant",
  "codeGroupe",
  "codePeriode",
  "nomPeriode",
  "codeFormation",
  "nomFormation",
  "codeSite",
  "nomSite",
  "codeAnnee",
  "nomAnnee"
] as const

/**
 * The optional text fields.
 *
 * @since 0.1.0
 */
export const optionalTextFields = [
  "codeMarque",
  "nomMarque",
  "missionTitle",
  "missionDetails",
  "monthStartGroup",
  "rncp"
] as const

/**
 * The e-mail fields and the person code each belongs to.
 *
 * @since 0.1.0
 */
export const people = [
  { role: "apprenant", code: "codeApprenant", email: "emailApprenant" },
  { role: "maître d'apprentissage", code: "codeMaitreApprentissage", email: "emailMaitreApprentissage" },
  { role: "tuteur école", code: "codePersonnel", email: "emailPersonnel" }
] as const

/**
 * Code / name pairs that must map one to one across all contracts.
 *
 * @since 0.1.0
 */
export const codeNamePairs = [
  { code: "codePeriode", name: "nomPeriode" },
  { code: "codeFormation", name: "nomFormation" },
  { code: "codeSite", name: "nomSite" },
  { code: "codeAnnee", name: "nomAnnee" }
] as const

const optionalText = Schema.optional(Schema.String)

const commonFields = {
  nomGroupe: Text,
  nomEntreprise: Text,
  emailPersonnel: Email,
  prenomPersonnel: Text,
  nomPersonnel: Text,
  codePersonnel: Text,
  emailMaitreApprentissage: Email,
  prenomMaitreApprentissage: Text,
  nomMaitreApprentissage: Text,
  codeMaitreApprentissage: Text,
  nomApprenant: Text,
  emailApprenant: Email,
  prenomApprenant: Text,
  codeApprenant: Text,
  codeGroupe: Text,
  codePeriode: Text,
  nomPeriode: Text,
  codeFormation: Text,
  nomFormation: Text,
  codeSite: Text,
  nomSite: Text,
  codeMarque: optionalText,
  nomMarque: optionalText,
  codeAnnee: Text,
  nomAnnee: Text,
  missionTitle: optionalText,
  missionDetails: optionalText,
  monthStartGroup: optionalText,
  rncp: optionalText
}

/**
 * A contract as relais sends it (v1 or v2). Both dates are required (the newer vendor page
 * marks them so) and the end must come after the start.
 *
 * @since 0.1.0
 */
export class Contract extends Schema.Class<Contract>("@relais/campus-skills/Contract")(
  Schema.Struct({
    codeContrat: CodeContrat,
    dateDebut: WireDate,
    dateFin: WireDate,
    ...commonFields
  }).pipe(
    Schema.filter((c) =>
      Temporal.PlainDate.compare(c.dateFin, c.dateDebut) > 0 || {
        path: ["dateFin"],
        message: `dateFin (${formatWireDate(c.dateFin)}) must come after dateDebut (${formatWireDate(c.dateDebut)})`
      }, Step.inputRule({ fields: ["dateDebut", "dateFin"], description: "dateFin must come after dateDebut" }))
  )
) {}

/**
 * A contract as Campus Skills returns it (lists, diff, sync responses). Decoding is lenient:
 * contracts another client sent through v1 may lack dates, and the service may add fields.
 *
 * @since 0.1.0
 */
export class TransmittedContract extends Schema.Class<TransmittedContract>(
  "@relais/campus-skills/TransmittedContract"
)({
  codeContrat: Schema.String,
  dateDebut: Schema.optional(WireDate),
  dateFin: Schema.optional(WireDate),
  ...Object.fromEntries(
    [...requiredTextFields, ...optionalTextFields].map((field) => [field, optionalText])
  ) as { readonly [K in (typeof requiredTextFields)[number] | (typeof optionalTextFields)[number]]: typeof optionalText }
}) {}

// ---------------------------------------------------------------------------------------------
// Validation reasons (v2 `invalidContrats`, v1 400 bodies)
// ---------------------------------------------------------------------------------------------

/**
 * Why a contract was refused (the rules the sandbox enforces; see the README).
 *
 * @since 0.1.0
 */
export const ViolationRule = Schema.Literal(
  "type",
  "required",
  "email-format",
  "date-format",
  "date-order",
  "code-contrat-mismatch",
  "duplicate-contract",
  "person-code-conflict",
  "email-conflict",
  "person-email-conflict",
  "code-name-conflict"
)

/** @since 0.1.0 */
export type ViolationRule = typeof ViolationRule.Type

/**
 * One reason a contract was refused: the rule, the field, the offending value and, for rules
 * across contracts, the other contract and field involved. `rule` decodes as any string, so an
 * unknown rule from the real service does not break decoding.
 *
 * @since 0.1.0
 */
export class Violation extends Schema.Class<Violation>("@relais/campus-skills/Violation")({
  rule: Schema.String,
  field: Schema.String,
  message: Schema.String,
  value: Schema.optional(Schema.Unknown),
  /** The `codeContrat` of the other contract involved. */
  otherContrat: Schema.optional(Schema.String),
  /** The other contract's position in the request, when it was in the same request. */
  otherIndex: Schema.optional(Schema.Int),
  otherField: Schema.optional(Schema.String)
}) {}

/**
 * A refused contract: its code (when it had one), its position in the request, what was sent
 * and the reasons.
 *
 * @since 0.1.0
 */
export class InvalidContract extends Schema.Class<InvalidContract>("@relais/campus-skills/InvalidContract")({
  codeContrat: Schema.optional(Schema.NullOr(Schema.String)),
  index: Schema.optional(Schema.Int),
  contrat: Schema.optional(Schema.Unknown),
  reasons: Schema.Array(Violation)
}) {}

// ---------------------------------------------------------------------------------------------
// Requests and responses
// ---------------------------------------------------------------------------------------------

/**
 * `GET /api/sync/v1/test`.
 *
 * @since 0.1.0
 */
export class TestResponse extends Schema.Class<TestResponse>("@relais/campus-skills/TestResponse")({
  value: Schema.String,
  name: Schema.String
}) {}

/**
 * Body of `POST /api/sync/v1/contrats`, `/api/sync/v2/contrats` and `/api/sync/v1/contrats-diff`:
 * the full list of active contracts.
 *
 * @since 0.1.0
 */
export const SyncRequest = Schema.Struct({ contrats: Schema.Array(Contract) })

/** @since 0.1.0 */
export type SyncRequest = typeof SyncRequest.Type

/**
 * Response of `POST /api/sync/v1/contrats` (and `DELETE /api/sync/v1/contrats`): how many
 * contracts were received, the contracts, and a warning when needed.
 *
 * @since 0.1.0
 */
export class SyncV1Response extends Schema.Class<SyncV1Response>("@relais/campus-skills/SyncV1Response")({
  success: Schema.optional(Schema.Boolean),
  total: Schema.Int,
  contrats: Schema.Array(TransmittedContract),
  warning: Schema.optional(Schema.String)
}) {}

/**
 * Response of `POST /api/sync/v2/contrats` and `/api/sync/v2/contrats/changes`.
 *
 * @since 0.1.0
 */
export class SyncV2Response extends Schema.Class<SyncV2Response>("@relais/campus-skills/SyncV2Response")({
  success: Schema.Boolean,
  validContrats: Schema.Array(TransmittedContract),
  invalidContrats: Schema.Array(InvalidContract)
}) {}

/**
 * The changes since the last call, for `POST /api/sync/v2/contrats/changes`.
 *
 * @since 0.1.0
 */
export class Changes extends Schema.Class<Changes>("@relais/campus-skills/Changes")({
  added: Schema.optionalWith(Schema.Array(Contract), { default: () => [] }),
  updated: Schema.optionalWith(Schema.Array(Contract), { default: () => [] }),
  removed: Schema.optionalWith(Schema.Array(CodeContrat), { default: () => [] })
}) {}

/**
 * Body of `POST /api/sync/v2/contrats/changes`.
 *
 * @since 0.1.0
 */
export const ChangesRequest = Schema.Struct({ changes: Changes })

/**
 * Response of `POST /api/sync/v1/contrats-diff` (a dry run): contracts unchanged, new, changed,
 * and the ones a real sync would archive.
 *
 * @since 0.1.0
 */
export class DiffResponse extends Schema.Class<DiffResponse>("@relais/campus-skills/DiffResponse")({
  same: Schema.Array(TransmittedContract),
  added: Schema.Array(TransmittedContract),
  updated: Schema.Array(TransmittedContract),
  removed: Schema.Array(TransmittedContract)
}) {}

/**
 * A page of `GET /api/sync/v1/contrats` (integrated) or `/api/sync/v1/contrats-get-all`
 * (transmitted): the total count and this page's contracts.
 *
 * @since 0.1.0
 */
export class ContractPage extends Schema.Class<ContractPage>("@relais/campus-skills/ContractPage")({
  total: Schema.Int,
  contrats: Schema.Array(TransmittedContract)
}) {}

/**
 * Query of the list routes; both optional (pages count from 1).
 *
 * @since 0.1.0
 */
export interface PageQuery {
  readonly page?: number | undefined
  readonly limit?: number | undefined
}

/**
 * An error body of the service: `{"error": "invalid token", "reason": "..."}`,
 * `{"error": "Invalid request"}`, possibly with the refused contracts.
 *
 * @since 0.1.0
 */
export const ErrorBody = Schema.Struct({
  error: Schema.String,
  reason: Schema.optional(Schema.String),
  invalidContrats: Schema.optional(Schema.Array(InvalidContract))
})
