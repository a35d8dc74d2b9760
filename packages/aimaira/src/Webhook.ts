/**
 * AIMAIRA webhooks ("Mise en place d'un webhook"): for every create, update or delete of the
 * entity types a webhook watches, AIMAIRA POSTs a JSON message
 * `{ CustomerName, Date, Hash, ObjectId, ObjectType, TriggerName }` (no entity data, no
 * operation type) to a URL, after getting an OAuth token with the client-credentials flow.
 *
 * This module reads and checks one message ({@link Message}, {@link hash}, {@link verify}) and
 * contributes the plugin's trigger kind ({@link trigger}): a workflow declares
 * `triggers: - aimaira: { objectTypes: [recrutement.T_CANDIDAT] }` and `relais serve` starts it
 * for every message about one of those types.
 *
 * `ObjectType` is the entity's *legacy* name (its table: `recrutement.T_CANDIDAT` for the
 * `Candidat` endpoint). {@link legacyNames} holds the names the vendor documentation gives, and
 * the ones the sandbox uses for its other entity types (assumed: not documented).
 *
 * @since 0.1.0
 */
import type { Plugin } from "@relais/core"
import { Suggest } from "@relais/core"
import * as Arr from "effect/Array"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { Buffer } from "node:buffer"
import { createHash, timingSafeEqual } from "node:crypto"
import { Temporal } from "temporal-polyfill"

// ---------------------------------------------------------------------------------------------
// Legacy entity names

/**
 * A legacy entity name (`ObjectType` in webhook messages, `Type` of `GET /GraphV1/Object/{id}`)
 * and the API entity set it stands for.
 *
 * @since 0.1.0
 */
export interface LegacyName {
  /** `recrutement.T_CANDIDAT` */
  readonly name: string
  /** The API's entity set: `Candidat`. */
  readonly entitySet: string
  /**
   * Whether the vendor documentation gives it (the table "Correspondance des noms d'entités
   * hérités", or an example of the reference). The others are what the sandbox sends for its
   * entity types: a real instance may use other names for them.
   */
  readonly documented: boolean
}

const documented = (name: string, entitySet: string): LegacyName => ({ name, entitySet, documented: true })
const assumed = (name: string, entitySet: string): LegacyName => ({ name, entitySet, documented: false })

/**
 * Known legacy names: the documentation's table (Candidat, Dossier, SessionRecrutement), the
 * names its examples show (`pedagogie.T_SEQUENCE`, `recrutement.T_AGENT` in ReferenceExterne),
 * then the names the sandbox uses for its other entity types (not documented).
 *
 * @since 0.1.0
 */
export const legacyNames: ReadonlyArray<LegacyName> = [
  documented("recrutement.T_CANDIDAT", "Candidat"),
  documented("recrutement.T_DOSSIER", "Dossier"),
  documented("recrutement.T_SESSION_RECRUTEMENT", "SessionRecrutement"),
  documented("pedagogie.T_SEQUENCE", "Sequence"),
  documented("recrutement.T_AGENT", "Agent"),
  assumed("core.T_MAIL", "Mail"),
  assumed("core.T_CIVILITE", "Civilite"),
  assumed("core.T_PROGRAMME", "Programme"),
  assumed("core.T_PROGRAMME_PARAMETRE", "ProgrammeParametre"),
  assumed("core.T_PERIODE", "Periode"),
  assumed("inscription.T_APPRENANT", "Apprenant"),
  assumed("inscription.T_INSCRIPTION", "Inscription"),
  assumed("inscription.T_INSCRIPTION_SEQUENCE", "InscriptionSequence"),
  assumed("inscription.T_INSCRIPTION_PERIODE", "InscriptionPeriode"),
  assumed("inscription.T_RECRUTEMENT", "Recrutement"),
  assumed("pedagogie.T_TYPE_SEQUENCE", "TypeSequence"),
  assumed("pedagogie.T_PARCOURS", "Parcours"),
  assumed("pedagogie.T_PARCOURS_PERIODE", "ParcoursPeriode"),
  assumed("pedagogie.T_PARCOURS_PERIODE_SEQUENCE", "ParcoursPeriodeSequence"),
  assumed("entreprise.T_CONVENTION", "Convention"),
  assumed("entreprise.T_TYPE_CONVENTION", "TypeConvention"),
  assumed("entreprise.T_ETAT_CONVENTION", "EtatConvention"),
  assumed("entreprise.T_ENTREPRISE", "Entreprise"),
  assumed("entreprise.T_PROFESSIONNEL", "Professionnel"),
  assumed("entreprise.T_ORGANISME_FINANCEUR", "OrganismeFinanceur"),
  assumed("entreprise.T_CONVENTION_ORGANISME_FINANCEUR", "ConventionOrganismeFinanceur"),
  assumed("entreprise.T_REMUNERATION", "Remuneration"),
  assumed("finance.T_CLIENT", "Client"),
  assumed("finance.T_NATURE_CLIENT", "NatureClient"),
  assumed("academie.T_ENSEIGNANT", "Enseignant")
]

/**
 * The legacy name of an API entity set (`Candidat` → `recrutement.T_CANDIDAT`), if known.
 *
 * @since 0.1.0
 */
export const legacyNameOf = (entitySet: string): string | undefined =>
  legacyNames.find((entry) => entry.entitySet === entitySet)?.name

/** `univers.T_NOM_ENTITE` (also `TS_`, as in the documentation's `myapp.TS_ENTITE_JURIDIQUE`). */
const LEGACY_FORM = /^[a-z][a-z0-9]*\.T[A-Z]*_[A-Z0-9_]+$/

/**
 * Why a name cannot be a legacy entity name a webhook sends, with a suggestion; `undefined`
 * when it can. A known name is accepted; so is an unknown name of the documented form
 * (`univers.T_NOM_ENTITE`: the documentation's table is partial), unless it is one or two edits
 * away from a known name (a typo) or is an API entity set (`Candidat`).
 *
 * @since 0.1.0
 */
export const checkObjectType = (name: string): string | undefined => {
  if (legacyNames.some((entry) => entry.name === name)) return undefined
  const bySet = legacyNames.find((entry) => entry.entitySet.toLowerCase() === name.trim().toLowerCase())
  if (bySet !== undefined) {
    return `"${name}" is an API entity set; webhooks name entity types by their legacy (table) name: use "${bySet.name}"`
  }
  const near = legacyNames
    .map((entry) => ({ entry, distance: Suggest.distance(name, entry.name) }))
    .filter(({ distance }) => distance <= 2)
    .sort((a, b) => a.distance - b.distance)[0]
  if (near !== undefined) return `unknown legacy entity name "${name}" (did you mean "${near.entry.name}"?)`
  if (!LEGACY_FORM.test(name)) {
    const suggestions = Suggest.closest(name, legacyNames.map((entry) => entry.name))
    return `"${name}" is not a legacy entity name such as recrutement.T_CANDIDAT (univers.T_NOM_ENTITE)${
      suggestions.length > 0 ? ` (did you mean "${suggestions[0]}"?)` : ""
    }`
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// The message

const NonEmpty = (what: string) =>
  Schema.String.pipe(Schema.filter((s) => s.length > 0, { message: () => `expected ${what}, got an empty string` }))

/**
 * The `Date` of a message, kept as the raw text received (the hash is computed over it), and
 * checked to be a date-time with an offset (`2023-12-04T12:19:03.5885615+01:00`).
 *
 * @since 0.1.0
 */
export const RawDate = Schema.String.pipe(
  Schema.filter((text) => {
    try {
      Temporal.Instant.from(text)
      return true
    } catch {
      return `expected a date-time with an offset such as 2023-12-04T12:19:03.5885615+01:00, got ${JSON.stringify(text)}`
    }
  })
).annotations({ identifier: "WebhookDate" })

const ObjectId = Schema.Number.pipe(
  Schema.filter((n) => Number.isSafeInteger(n) && n >= 0, {
    message: (issue) => `expected an integer id, got ${String(issue.actual)}`,
    jsonSchema: { type: "integer", minimum: 0 }
  })
)

const messageFields = {
  CustomerName: NonEmpty("the name of the AIMAIRA instance"),
  Date: RawDate,
  ObjectId,
  ObjectType: NonEmpty("a legacy entity name such as recrutement.T_CANDIDAT"),
  TriggerName: NonEmpty("the webhook's name")
}

/**
 * A webhook message as AIMAIRA sends it. Other properties are ignored.
 *
 * @since 0.1.0
 */
export const Message = Schema.Struct({
  CustomerName: messageFields.CustomerName,
  Date: messageFields.Date,
  Hash: NonEmpty("the Base64 MD5 checksum of the message"),
  ObjectId: messageFields.ObjectId,
  ObjectType: messageFields.ObjectType,
  TriggerName: messageFields.TriggerName
}).annotations({ identifier: "AimairaWebhookMessage" })

/**
 * @since 0.1.0
 */
export type Message = typeof Message.Type

/**
 * What a firing of the trigger carries (`trigger.ObjectId`, `trigger.ObjectType`... in
 * expressions): the message without its checksum.
 *
 * @since 0.1.0
 */
export const Event = Schema.Struct(messageFields).annotations({ identifier: "AimairaWebhookEvent" })

/**
 * @since 0.1.0
 */
export type Event = typeof Event.Type

/**
 * The bytes .NET's `Encoding.ASCII.GetBytes` gives: a character outside ASCII becomes `?`
 * (one `?` per code point: a surrogate pair is one character for its replacement fallback).
 *
 * @since 0.1.0
 */
export const asciiBytes = (text: string): Buffer => {
  const bytes: Array<number> = []
  for (const character of text) {
    const code = character.codePointAt(0)!
    bytes.push(code < 0x80 ? code : 0x3f)
  }
  return Buffer.from(bytes)
}

/**
 * The text the checksum is computed over, as the documentation's C# writes it:
 * `$"{TriggerName}{ObjectId}{ObjectType}{Date}{TriggerName}{CustomerName}"`.
 *
 * @since 0.1.0
 */
export const hashedText = (fields: Event): string =>
  `${fields.TriggerName}${String(fields.ObjectId)}${fields.ObjectType}${fields.Date}${fields.TriggerName}${fields.CustomerName}`

/**
 * The `Hash` of a message: Base64(MD5(ASCII(TriggerName + ObjectId + ObjectType + Date +
 * TriggerName + CustomerName))), over the `Date` text exactly as sent.
 *
 * Note: the documentation's example message (`Hash` `UH6lnG50Dmk3jJ8uMvqedQ==`) does not verify
 * with the algorithm the same page describes (this function gives `wIhrwUxRDl4HQMQAnu5uyA==`
 * for it), nor with any order or repetition of its fields we tried: the example's hash was
 * probably computed over other values. The algorithm is implemented as written.
 *
 * @since 0.1.0
 */
export const hash = (fields: Event): string => createHash("md5").update(asciiBytes(hashedText(fields))).digest("base64")

/**
 * Whether a message's `Hash` is the checksum of its fields, compared in constant time.
 *
 * @since 0.1.0
 */
export const verify = (message: Message): boolean => {
  const expected = Buffer.from(hash(message), "utf8")
  const given = Buffer.from(message.Hash, "utf8")
  return expected.length === given.length && timingSafeEqual(expected, given)
}

/**
 * A message with its checksum, as AIMAIRA (and the sandbox) sends it.
 *
 * @since 0.1.0
 */
export const sign = (fields: Event): Message => ({
  CustomerName: fields.CustomerName,
  Date: fields.Date,
  Hash: hash(fields),
  ObjectId: fields.ObjectId,
  ObjectType: fields.ObjectType,
  TriggerName: fields.TriggerName
})

// ---------------------------------------------------------------------------------------------
// Receiving a message

/**
 * What the server's configuration holds for the AIMAIRA webhook besides its OAuth client:
 * `customerName`, the AIMAIRA instance expected (a message for another one is refused).
 *
 * @since 0.1.0
 */
export const Settings = Schema.Struct({
  customerName: Schema.optionalWith(NonEmpty("the name of an AIMAIRA instance"), { exact: true }),
  /** The names of the webhooks configured at AIMAIRA for this server; a message of another is refused. */
  triggerNames: Schema.optionalWith(Schema.Array(NonEmpty("a webhook's name (its TriggerName)")), { exact: true })
})

/**
 * @since 0.1.0
 */
export type Settings = typeof Settings.Type

const decodeMessage = Schema.decodeUnknownEither(Message, { errors: "all", onExcessProperty: "ignore" })

const describeIssues = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => {
      const path = issue.path.map(String).join(".")
      const message = issue._tag === "Missing" ? "is missing" : issue.message
      return path === "" ? message : `${path}: ${message}`
    })
    .join("; ")

/** Characters a run id may hold ([A-Za-z0-9._:-]); others become `_`. */
const idSafe = (text: string): string => text.replace(/[^A-Za-z0-9._-]/g, "_")

/**
 * The key of a message: the same for a resend (AIMAIRA resends the same bytes), different for
 * any other message. `<ObjectType>:<ObjectId>:<digest>`, the digest (SHA-256, Base64url) covering
 * every field and the hash; only characters allowed in run ids.
 *
 * @since 0.1.0
 */
export const messageKey = (message: Message): string => {
  const digest = createHash("sha256")
    .update(JSON.stringify([message.Hash, message.CustomerName, message.TriggerName, message.ObjectType, message.ObjectId, message.Date]))
    .digest("base64url")
  return `${idSafe(message.ObjectType)}:${message.ObjectId}:${digest}`
}

/**
 * Reads one message from a request body, as `relais serve` hands it over (after it checked the
 * sender's OAuth token). The refusals:
 *
 * - 400: an empty body, or a body that is not JSON;
 * - 422: JSON that is not a message (not an object, a field missing or of the wrong type, a
 *   `Date` that is not a date-time with an offset), or a `Hash` that is not the checksum of the
 *   fields: the content cannot be trusted (the sender itself is authenticated by its token, so
 *   this is a corrupted or altered message, not a missing authentication: not a 401);
 * - 403: a message from another AIMAIRA instance than `settings.customerName`, or of a webhook
 *   (`TriggerName`) not among `settings.triggerNames`.
 *
 * @since 0.1.0
 */
export const receive = (body: string, settings: Settings | undefined): Either.Either<Plugin.Received<Event>, Plugin.Rejected> => {
  if (body.trim() === "") return Either.left({ status: 400, reason: "the body is empty: expected an AIMAIRA webhook message (JSON)" })
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch (error) {
    return Either.left({ status: 400, reason: `the body is not JSON: ${(error as Error).message}` })
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return Either.left({
      status: 422,
      reason: `expected a JSON object { CustomerName, Date, Hash, ObjectId, ObjectType, TriggerName }, got ${
        json === null ? "null" : Array.isArray(json) ? "an array" : typeof json
      }`
    })
  }
  const decoded = decodeMessage(json)
  if (Either.isLeft(decoded)) {
    return Either.left({ status: 422, reason: `not an AIMAIRA webhook message: ${describeIssues(decoded.left)}` })
  }
  const message = decoded.right
  if (!verify(message)) {
    return Either.left({
      status: 422,
      reason: "the Hash does not match the message: Base64(MD5(ASCII(TriggerName + ObjectId + ObjectType + Date + TriggerName + " +
        "CustomerName))) differs (a corrupted or altered message)"
    })
  }
  const expected = settings?.customerName
  if (expected !== undefined && message.CustomerName !== expected) {
    return Either.left({
      status: 403,
      reason: `the message comes from the AIMAIRA instance ${JSON.stringify(message.CustomerName)}, this server expects ${
        JSON.stringify(expected)
      } (webhook settings: customerName)`
    })
  }
  const names = settings?.triggerNames
  if (names !== undefined && !names.includes(message.TriggerName)) {
    return Either.left({
      status: 403,
      reason: `no webhook named ${JSON.stringify(message.TriggerName)} sends to this server (webhook settings: triggerNames ${
        names.map((n) => JSON.stringify(n)).join(", ")
      })`
    })
  }
  const { Hash: _hash, ...event } = message
  return Either.right({ event, messageKey: messageKey(message), subject: `${message.ObjectType}:${message.ObjectId}` })
}

// ---------------------------------------------------------------------------------------------
// The trigger

const objectTypeDescription = "a legacy entity name, as webhook messages carry it: recrutement.T_CANDIDAT, recrutement.T_DOSSIER..."

const ObjectTypeOption = Schema.String.pipe(
  Schema.filter((name) => checkObjectType(name) ?? true, {
    jsonSchema: { description: objectTypeDescription, examples: legacyNames.map((entry) => entry.name) }
  })
).annotations({ identifier: "AimairaObjectType", description: objectTypeDescription })

/**
 * What a workflow writes under `aimaira:` in `triggers:`: the legacy names of the entity types
 * whose changes start it, and optionally the names of the webhooks (`TriggerName`) it listens
 * to (default: any).
 *
 * ```yaml
 * triggers:
 *   - aimaira: { objectTypes: [recrutement.T_CANDIDAT, recrutement.T_DOSSIER] }
 * ```
 *
 * @since 0.1.0
 */
export const TriggerOptions = Schema.Struct({
  objectTypes: Schema.Array(ObjectTypeOption).pipe(
    Schema.filter(Arr.isNonEmptyReadonlyArray, {
      message: () => "expected a non-empty list of legacy entity names, e.g. [recrutement.T_CANDIDAT]",
      jsonSchema: { minItems: 1 }
    })
  ).annotations({
    description: "the legacy names of the entity types whose creations, changes and deletions start the workflow"
  }),
  triggerNames: Schema.optionalWith(
    Schema.Array(NonEmpty("a webhook name")).annotations({
      description: "only messages of these webhooks (their TriggerName); default: any"
    }),
    { exact: true }
  )
}).annotations({ identifier: "AimairaTriggerOptions" })

/**
 * @since 0.1.0
 */
export type TriggerOptions = typeof TriggerOptions.Type

/**
 * Whether a message starts a workflow that declared these options.
 *
 * @since 0.1.0
 */
export const matches = (options: TriggerOptions, event: Event): boolean =>
  options.objectTypes.includes(event.ObjectType) &&
  (options.triggerNames === undefined || options.triggerNames.includes(event.TriggerName))

/**
 * The AIMAIRA webhook as a trigger kind of the plugin contract: `relais serve` receives the
 * messages (OAuth client credentials against its own token endpoint), {@link receive} reads
 * and checks each one, and every workflow whose options {@link matches} it is started, with
 * the message as `trigger.*` (`trigger.ObjectId`, `trigger.ObjectType`, `trigger.TriggerName`,
 * `trigger.CustomerName`, `trigger.Date`).
 *
 * @since 0.1.0
 */
export const trigger: Plugin.Trigger<TriggerOptions, Event> = {
  description: "an AIMAIRA webhook message: an entity of a watched type was created, modified or deleted " +
    "(read GET /Object/{id} with aimaira/get-object to know which)",
  options: TriggerOptions,
  event: Event,
  matches,
  webhook: {
    auth: "oauth-client-credentials",
    settings: Settings,
    receive
  } satisfies Plugin.Webhook<Event, Settings>
}
