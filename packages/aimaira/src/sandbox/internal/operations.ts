/**
 * The write side of the sandbox and the documented business rules:
 *
 * - a write carries the whole entity: omitted fields take their defaults (prise en main,
 *   "Mise à jour des données");
 * - required fields per entity, types checked, references checked;
 * - a new convention gets a generated code and the first état de convention; an apprenticeship
 *   contract gets the first mode contractuel;
 * - two conventions cannot share an `EntrepriseId`;
 * - the professionals of a convention (`MaitreId`, `MaitreBisId`, `SignataireId`, `ReferentId`)
 *   are different professionals ("trois professionnels différents avec trois identifiants
 *   différents");
 * - moving a convention into the `SAISIE` état from another état deletes its documents;
 * - `SynchronisationAffaire` creates the billing clients (company and funding bodies);
 * - linking an inscription to a period (`InscriptionPeriode`) enrols the learner in the sequences
 *   that period of the inscription's parcours holds (`InscriptionSequence`), and deleting the
 *   link takes them back.
 */
import * as Dates from "./dates.js"
import { defaults, entities, type EntityDef } from "./model.js"
import type { Row, Store } from "./store.js"

export interface ApiError {
  readonly status: 400 | 401 | 404 | 405 | 409
  readonly code: string
  readonly message: string
  /** The property at fault, when there is one. */
  readonly target?: string
}

export type Result<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly error: ApiError }

const ok = <A>(value: A): Result<A> => ({ ok: true, value })
const fail = (error: ApiError): Result<never> => ({ ok: false, error })

export const badRequest = (message: string, target?: string): ApiError =>
  target === undefined ? { status: 400, code: "BadRequest", message } : { status: 400, code: "BadRequest", message, target }

export const notFound = (entity: EntityDef, id: number | string): ApiError => ({
  status: 404,
  code: "NotFound",
  message: `No ${entity.name} with key ${id} was found.`
})

const conflict = (message: string, target: string): ApiError => ({ status: 409, code: "Conflict", message, target })

// ---------------------------------------------------------------------------------------------
// Reading a request body into a full row

const describe = (value: unknown): string => (value === null ? "null" : Array.isArray(value) ? "array" : typeof value)

/**
 * Builds the complete row a write produces: defaults, then the body's fields. Checks unknown
 * properties and types; dates are normalized to the Paris offset form.
 */
const readBody = (entity: EntityDef, body: unknown, key: number | undefined): Result<Row> => {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return fail(badRequest(`The request body must be a JSON object describing a ${entity.name}.`))
  }
  const row: Record<string, unknown> = defaults(entity)
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    if (name.startsWith("@odata.") || name.startsWith("odata.")) continue
    if (name === "Id") {
      if (key !== undefined && value !== key && value !== 0 && value !== null) {
        return fail(badRequest(`The Id in the body (${String(value)}) does not match the key in the URL (${key}).`, "Id"))
      }
      continue
    }
    const spec = entity.fields[name]
    if (spec === undefined) {
      if (entity.navigation[name] !== undefined) {
        return fail(badRequest(`Deep insert and deep update are not supported: remove '${name}' from the body.`, name))
      }
      return fail(badRequest(`The property '${name}' does not exist on type 'GraphV1.${entity.name}'.`, name))
    }
    const invalid = (expected: string) =>
      fail(badRequest(`Cannot convert the value of '${name}' (${describe(value)}) to ${expected}.`, name))
    switch (spec.kind) {
      case "string":
        if (value !== null && typeof value !== "string") return invalid("Edm.String")
        row[name] = value
        break
      case "int":
        if (value !== null && !Number.isSafeInteger(value)) return invalid("Edm.Int32")
        row[name] = value
        break
      case "decimal":
        if (value !== null && (typeof value !== "number" || !Number.isFinite(value))) return invalid("Edm.Decimal")
        row[name] = value
        break
      case "boolean":
        if (typeof value !== "boolean") return invalid("Edm.Boolean")
        row[name] = value
        break
      case "array":
        if (!Array.isArray(value)) return invalid("a collection")
        row[name] = structuredClone(value)
        break
      case "date": {
        if (value === null) {
          row[name] = null
          break
        }
        const normalized = typeof value === "string" ? Dates.normalize(value) : undefined
        if (normalized === undefined) {
          return fail(
            badRequest(
              `Cannot convert the value of '${name}' (${JSON.stringify(value)}) to Edm.DateTimeOffset: expected e.g. 2023-09-01T00:00:00+02:00.`,
              name
            )
          )
        }
        row[name] = normalized
        break
      }
    }
  }
  return ok({ ...row, Id: key ?? 0 } as Row)
}

const isBlank = (value: unknown): boolean => value === undefined || value === null || value === "" || value === 0

const checkRequired = (entity: EntityDef, row: Row): Result<void> => {
  for (const name of entity.required) {
    if (isBlank(row[name])) {
      return fail(badRequest(`The field '${name}' is required to create or update a ${entity.name}.`, name))
    }
  }
  return ok(undefined)
}

const checkReferences = (store: Store, entity: EntityDef, row: Row): Result<void> => {
  for (const [name, target] of Object.entries(entity.references)) {
    const value = row[name]
    if (isBlank(value)) continue
    if (store.get(target, value) === undefined) {
      return fail(badRequest(`The ${name} ${String(value)} does not match any ${entities[target].name}.`, name))
    }
  }
  return ok(undefined)
}

/** A complete row: `Id` first, then the model's fields in order (defaults for the missing ones). */
export const makeRow = (entity: EntityDef, fields: Record<string, unknown>, id: number): Row =>
  ordered(entity, { ...defaults(entity), ...fields }, id)

/** Output order: `Id` first, then the model's field order. */
const ordered = (entity: EntityDef, row: Record<string, unknown>, id: number): Row => {
  const out: Record<string, unknown> = { Id: id }
  for (const name of Object.keys(entity.fields)) out[name] = row[name]
  return out as Row
}

// ---------------------------------------------------------------------------------------------
// Convention rules

const etatCode = (store: Store, etatId: unknown): string | undefined => {
  const etat = store.get("EtatConvention", etatId)
  return etat === undefined ? undefined : (etat.Code as string)
}

/** The first état de convention: lowest `Ordre`, then lowest id. */
export const firstEtat = (store: Store): Row | undefined =>
  [...store.rows("EtatConvention")].sort((a, b) => (a.Ordre as number) - (b.Ordre as number) || a.Id - b.Id)[0]

const checkEntrepriseUnique = (store: Store, row: Row, self: number | undefined): Result<void> => {
  const entrepriseId = row.EntrepriseId
  if (isBlank(entrepriseId)) return ok(undefined)
  for (const other of store.table("Convention").values()) {
    if (other.Id !== self && other.EntrepriseId === entrepriseId) {
      return fail(
        conflict(
          `The Entreprise ${String(entrepriseId)} already belongs to the convention ${String(other.Code)} (${other.Id}): ` +
            `each convention needs its own Entreprise, create a new one.`,
          "EntrepriseId"
        )
      )
    }
  }
  return ok(undefined)
}

/** The convention fields that name a professional, with the role each stands for. */
const ROLES: ReadonlyArray<readonly [string, string]> = [
  ["MaitreId", "the tuteur / maître d'apprentissage"],
  ["MaitreBisId", "the second maître / tuteur"],
  ["SignataireId", "the signataire"],
  ["ReferentId", "the autre contact"]
]

/**
 * "Le tuteur, le signataire et l'autre contact doivent être trois professionnels différents avec
 * trois identifiants différents": checked when a write sets one of these fields (a convention
 * that already breaks the rule can still be updated otherwise).
 */
const checkRolesDistinct = (row: Row, previous: Row | undefined): Result<void> => {
  if (previous !== undefined && ROLES.every(([field]) => row[field] === previous[field])) return ok(undefined)
  for (let i = 0; i < ROLES.length; i++) {
    const [field, role] = ROLES[i]!
    const value = row[field]
    if (isBlank(value)) continue
    for (let j = i + 1; j < ROLES.length; j++) {
      const [other, otherRole] = ROLES[j]!
      if (row[other] !== value) continue
      return fail(
        badRequest(
          `The Professionnel ${String(value)} cannot be both ${role} (${field}) and ${otherRole} (${other}) of a convention: ` +
            `the tuteur, the signataire and the autre contact must be different professionals with different ids ` +
            `(create one Professionnel per role, even for the same person).`,
          other
        )
      )
    }
  }
  return ok(undefined)
}

const deleteDocuments = (store: Store, conventionId: number): number => {
  let deleted = 0
  for (const [id, doc] of store.data.documents) {
    if (doc.ConventionId === conventionId) {
      store.data.documents.delete(id)
      deleted++
    }
  }
  return deleted
}

// ---------------------------------------------------------------------------------------------
// Create, update, delete

const validate = (store: Store, entity: EntityDef, row: Row): Result<void> => {
  const required = checkRequired(entity, row)
  if (!required.ok) return required
  return checkReferences(store, entity, row)
}

export const create = (store: Store, entity: EntityDef, body: unknown): Result<Row> => {
  if (entity.readOnly) return fail(readOnly(entity))
  const read = readBody(entity, body, undefined)
  if (!read.ok) return read
  const row = read.value
  const valid = validate(store, entity, row)
  if (!valid.ok) return valid

  switch (entity.collection) {
    case "Convention": {
      const unique = checkEntrepriseUnique(store, row, undefined)
      if (!unique.ok) return unique
      const roles = checkRolesDistinct(row, undefined)
      if (!roles.ok) return roles
      // "Lors de sa création, la convention est placée dans le premier état de convention disponible."
      row.EtatConventionId = firstEtat(store)?.Id ?? 0
      row.Code = store.nextCode("convention")
      const type = store.get("TypeConvention", row.TypeConventionId)
      // "le premier mode contractuel disponible est automatiquement sélectionné"
      if (type?.Code === "APP" && isBlank(row.NatureContratId)) {
        row.NatureContratId = store.data.modesContractuels[0]?.Id ?? 0
      }
      break
    }
    case "Apprenant":
      if (isBlank(row.Code)) row.Code = store.nextCode("apprenant")
      if (isBlank(row.IndividuId)) row.IndividuId = store.nextId()
      break
    case "Professionnel":
      if (isBlank(row.IndividuId)) row.IndividuId = store.nextId()
      break
    case "Inscription":
      if (isBlank(row.AffaireId)) row.AffaireId = store.nextId()
      if (isBlank(row.EntiteJuridiqueId)) row.EntiteJuridiqueId = store.data.entiteJuridiqueId
      break
    case "Client":
      if (row.NomUsage === "") row.NomUsage = row.Nom
      break
    case "Remuneration": {
      const annee = row.Annee as number
      if (annee < 1 || annee > 4) return fail(badRequest(`Annee must be between 1 and 4, got ${annee}.`, "Annee"))
      break
    }
    default:
      break
  }
  const id = store.nextId()
  const stored = store.put(entity.collection, ordered(entity, row, id))
  if (entity.collection === "InscriptionPeriode") enrol(store, stored)
  return ok(stored)
}

const readOnly = (entity: EntityDef): ApiError => ({
  status: 405,
  code: "MethodNotAllowed",
  message: `${entity.name} is reference data: the API only lists it.`
})

/**
 * A full update (PUT, and also POST on an entity's URL as the documentation does for
 * conventions, and PATCH): the body replaces the entity, omitted fields are reset.
 */
export const update = (store: Store, entity: EntityDef, id: number, body: unknown): Result<Row> => {
  if (entity.readOnly) return fail(readOnly(entity))
  const previous = store.get(entity.collection, id)
  if (previous === undefined) return fail(notFound(entity, id))
  const read = readBody(entity, body, id)
  if (!read.ok) return read
  const row = read.value
  const valid = validate(store, entity, row)
  if (!valid.ok) return valid

  switch (entity.collection) {
    case "Convention": {
      const unique = checkEntrepriseUnique(store, row, id)
      if (!unique.ok) return unique
      const roles = checkRolesDistinct(row, previous)
      if (!roles.ok) return roles
      // "Lors du passage de la convention vers un état de convention avec un code SAISIE depuis un
      // autre état, les documents de la convention sont supprimés."
      if (etatCode(store, row.EtatConventionId) === "SAISIE" && etatCode(store, previous.EtatConventionId) !== "SAISIE") {
        deleteDocuments(store, id)
      }
      break
    }
    case "Remuneration": {
      const annee = row.Annee as number
      if (annee < 1 || annee > 4) return fail(badRequest(`Annee must be between 1 and 4, got ${annee}.`, "Annee"))
      break
    }
    default:
      break
  }
  return ok(store.put(entity.collection, ordered(entity, row, id)))
}

/** Deletes a row; a convention takes its documents, funding bodies and remunerations with it. */
export const remove = (store: Store, entity: EntityDef, id: number): Result<void> => {
  if (entity.readOnly) return fail(readOnly(entity))
  const previous = store.get(entity.collection, id)
  if (previous === undefined || !store.delete(entity.collection, id)) return fail(notFound(entity, id))
  if (entity.collection === "InscriptionPeriode") unenrol(store, previous)
  if (entity.collection === "Convention") {
    deleteDocuments(store, id)
    for (const owned of ["ConventionOrganismeFinanceur", "Remuneration"] as const) {
      for (const row of store.rows(owned)) if (row.ConventionId === id) store.delete(owned, row.Id)
    }
  }
  return ok(undefined)
}

// ---------------------------------------------------------------------------------------------
// Enrolment on the periods of a parcours

/**
 * The period of a parcours a link of `inscription` to the period `periodeId` stands for: the
 * one of the parcours of the inscription's voie d'entrée, else one of a parcours of the
 * inscription's programme (lowest id), else none (the link then enrols in nothing).
 */
export const parcoursPeriodeOf = (store: Store, inscription: Row, periodeId: unknown): Row | undefined => {
  const candidates = store.rows("ParcoursPeriode").filter((row) => row.PeriodeId === periodeId)
  const recrutement = store.get("Recrutement", inscription.RecrutementId)
  const own = recrutement === undefined ? undefined : candidates.find((row) => row.ParcoursId === recrutement.ParcoursId)
  return own ?? candidates.find((row) => store.get("Parcours", row.ParcoursId)?.ProgrammeId === inscription.ProgrammeId)
}

/** The sequences a period of a parcours holds, in id order. */
export const sequencesOf = (store: Store, parcoursPeriode: Row): ReadonlyArray<number> =>
  store.rows("ParcoursPeriodeSequence")
    .filter((row) => row.ParcoursPeriodeId === parcoursPeriode.Id)
    .map((row) => row.SequenceId as number)

const heldSequences = (store: Store, inscription: Row, link: Row): ReadonlyArray<number> => {
  const parcoursPeriode = parcoursPeriodeOf(store, inscription, link.PeriodeId)
  return parcoursPeriode === undefined ? [] : sequencesOf(store, parcoursPeriode)
}

/**
 * "Lier l'inscription à une période": the learner gets an `InscriptionSequence` for each
 * sequence of the period that the inscription does not have yet (linking twice adds nothing).
 */
const enrol = (store: Store, link: Row): void => {
  const inscription = store.get("Inscription", link.InscriptionId)
  if (inscription === undefined) return
  const has = new Set(
    store.rows("InscriptionSequence").filter((row) => row.InscriptionId === inscription.Id).map((row) => row.SequenceId)
  )
  for (const sequenceId of heldSequences(store, inscription, link)) {
    if (has.has(sequenceId)) continue
    has.add(sequenceId)
    store.put(
      "InscriptionSequence",
      makeRow(
        entities.InscriptionSequence,
        { ApprenantId: inscription.ApprenantId, SequenceId: sequenceId, InscriptionId: inscription.Id },
        store.nextId()
      )
    )
  }
}

/** Deleting a link takes back the sequences of its period that no other link of the inscription holds. */
const unenrol = (store: Store, link: Row): void => {
  const inscription = store.get("Inscription", link.InscriptionId)
  if (inscription === undefined) return
  const kept = new Set<number>()
  for (const other of store.rows("InscriptionPeriode")) {
    if (other.InscriptionId === inscription.Id) for (const id of heldSequences(store, inscription, other)) kept.add(id)
  }
  const released = new Set(heldSequences(store, inscription, link).filter((id) => !kept.has(id)))
  for (const row of store.rows("InscriptionSequence")) {
    if (row.InscriptionId === inscription.Id && released.has(row.SequenceId as number)) store.delete("InscriptionSequence", row.Id)
  }
}

// ---------------------------------------------------------------------------------------------
// Billing

const natureId = (store: Store, code: string): number => {
  for (const row of store.table("NatureClient").values()) if (row.Code === code) return row.Id
  return 0
}

const upsertClient = (
  store: Store,
  match: (row: Row) => boolean,
  fields: Record<string, unknown>
): Row => {
  const entity = entities.Client
  const existing = store.rows("Client").find(match)
  const base = existing ?? { ...defaults(entity), Id: store.nextId() }
  return store.put("Client", ordered(entity, { ...base, ...fields }, base.Id as number))
}

/**
 * `POST Convention/{id}/SynchronisationAffaire`: creates (or refreshes) the convention's billing
 * clients, found afterwards with `Client?$filter=ReferenceId eq {id}`: one for the company
 * (nature `ENTREPRISE`, code `411-<code apprenant>-`) and one per funding body attached with
 * `ConventionOrganismeFinanceur` (nature `OPCO`, code `C<NOM>`).
 */
export const synchronisationAffaire = (store: Store, conventionId: number): Result<ReadonlyArray<Row>> => {
  const convention = store.get("Convention", conventionId)
  if (convention === undefined) return fail(notFound(entities.Convention, conventionId))
  const entreprise = store.get("Entreprise", convention.EntrepriseId)
  if (entreprise === undefined) {
    return fail(
      badRequest(
        `The convention ${String(convention.Code)} has no Entreprise: set EntrepriseId before SynchronisationAffaire.`,
        "EntrepriseId"
      )
    )
  }
  const apprenant = store.get("Apprenant", convention.ApprenantId)
  const entiteJuridiqueId = store.data.entiteJuridiqueId
  const entrepriseNature = natureId(store, "ENTREPRISE")
  const opcoNature = natureId(store, "OPCO")
  const clients: Array<Row> = []
  clients.push(
    upsertClient(
      store,
      (row) => row.ReferenceId === conventionId && row.NatureClientId === entrepriseNature,
      {
        Nom: entreprise.Nom,
        Code: `411-${String(apprenant?.Code ?? "")}-`,
        EntrepriseId: entreprise.Id,
        EntiteJuridiqueId: entiteJuridiqueId,
        NatureClientId: entrepriseNature,
        ReferenceId: conventionId,
        TVAintracommunautaire: entreprise.TVAintracommunautaire
      }
    )
  )
  for (const link of store.rows("ConventionOrganismeFinanceur")) {
    if (link.ConventionId !== conventionId) continue
    const opco = store.get("OrganismeFinanceur", link.OrganismeFinanceurId)
    if (opco === undefined) continue
    const code = `C${String(opco.Nom).toUpperCase().replace(/[^A-Z0-9]/g, "")}`
    clients.push(
      upsertClient(
        store,
        (row) => row.ReferenceId === conventionId && row.NatureClientId === opcoNature && row.Code === code,
        {
          Nom: opco.Nom,
          Code: code,
          EntrepriseId: 0,
          EntiteJuridiqueId: entiteJuridiqueId,
          NatureClientId: opcoNature,
          ReferenceId: conventionId,
          TVAintracommunautaire: ""
        }
      )
    )
  }
  return ok(clients)
}

/**
 * `POST Apprenant/{id}/Client`: a client for a learner, its `Code` derived from the learner's and
 * its `ReferenceId` the learner's id. Nothing else is copied (as documented).
 */
export const createClientFromApprenant = (store: Store, apprenantId: number, body: unknown): Result<Row> => {
  const apprenant = store.get("Apprenant", apprenantId)
  if (apprenant === undefined) return fail(notFound(entities.Apprenant, apprenantId))
  const created = create(store, entities.Client, body)
  if (!created.ok) return created
  return ok(store.put("Client", { ...created.value, Code: String(apprenant.Code), ReferenceId: apprenantId }))
}

/** Files a document under a convention (sandbox admin; the API's file routes are not simulated). */
export const addDocument = (store: Store, conventionId: number, nom: string): Result<{ Id: number; ConventionId: number; Nom: string }> => {
  if (store.get("Convention", conventionId) === undefined) return fail(notFound(entities.Convention, conventionId))
  const doc = { Id: store.nextId(), ConventionId: conventionId, Nom: nom }
  store.data.documents.set(doc.Id, doc)
  return ok(doc)
}
