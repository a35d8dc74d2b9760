/**
 * The sandbox's in-memory data: one table per collection, one global id counter (AIMAIRA ids are
 * unique across entity types, and so are the sandbox's), code counters, and the few things the
 * API does not expose but whose effects are observable (convention documents, modes
 * contractuels). Every operation is synchronous, so each request's reads and writes are atomic.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type CollectionName, collectionNames } from "./model.js"

export type Row = Record<string, unknown> & { Id: number }

/** A document filed under a convention (the real API stores them as files under its code). */
export interface ConventionDocument {
  readonly Id: number
  readonly ConventionId: number
  readonly Nom: string
}

/** A mode contractuel (the CERFA "mode contractuel de l'apprentissage"). */
export interface ModeContractuel {
  readonly Id: number
  readonly Code: string
  readonly Nom: string
  readonly Ordre: number
}

export interface Counters {
  nextId: number
  convention: number
  apprenant: number
  enseignant: number
}

/**
 * What `GET /GraphV1/Object/{id}` tells of an entity the API created, changed or deleted since
 * the sandbox started (seeded rows have none: they answer with a fixed seed date).
 */
export interface ObjectMeta {
  readonly type: CollectionName
  /** Wire dates (Paris offset). */
  readonly created: string
  readonly modified: string
  readonly deleted: string | null
  /** `Nom` and `Code` of the entity when it was last written (kept after a deletion). */
  readonly nom: string
  readonly code: string
}

/** A change made through the API, for the webhooks. */
export interface Change {
  readonly collection: CollectionName
  readonly id: number
  readonly kind: "created" | "modified" | "deleted"
}

export interface StoreData {
  counters: Counters
  tables: Record<CollectionName, Map<number, Row>>
  documents: Map<number, ConventionDocument>
  modesContractuels: Array<ModeContractuel>
  /** The société de facturation (EntiteJuridique) billing records are attached to. */
  entiteJuridiqueId: number
  /** Creation, modification and deletion dates of what the API wrote (`Object/{id}`). */
  objects: Map<number, ObjectMeta>
}

export const emptyData = (firstId: number): StoreData => {
  const tables = {} as Record<CollectionName, Map<number, Row>>
  for (const name of collectionNames) tables[name] = new Map()
  return {
    counters: { nextId: firstId, convention: 1, apprenant: 1, enseignant: 1 },
    tables,
    documents: new Map(),
    modesContractuels: [],
    entiteJuridiqueId: 0,
    objects: new Map()
  }
}

const textOf = (value: unknown): string => (typeof value === "string" ? value : "")

export class Store {
  constructor(public data: StoreData) {}

  /**
   * When set (once the data is seeded or restored), every `put` and `delete` records the
   * entity's dates (`data.objects`) at `now()` (a wire date) and a {@link Change}.
   */
  tracking: { readonly now: () => string } | undefined = undefined
  private changes: Array<Change> = []

  /** The changes recorded since the last call, one per entity (its first kind, or `deleted`). */
  takeChanges(): ReadonlyArray<Change> {
    const byKey = new Map<string, Change>()
    for (const change of this.changes) {
      const key = `${change.collection}:${change.id}`
      const seen = byKey.get(key)
      if (seen === undefined || change.kind === "deleted") byKey.set(key, seen === undefined ? change : { ...seen, kind: "deleted" })
    }
    this.changes = []
    return [...byKey.values()]
  }

  nextId(): number {
    return this.data.counters.nextId++
  }

  nextCode(series: "convention" | "apprenant" | "enseignant"): string {
    const n = this.data.counters[series]++
    switch (series) {
      case "convention":
        return `CS${String(n).padStart(8, "0")}`
      case "apprenant":
        return `A${String(n).padStart(5, "0")}`
      case "enseignant":
        return `P${String(n).padStart(8, "0")}`
    }
  }

  table(collection: CollectionName): Map<number, Row> {
    return this.data.tables[collection]
  }

  get(collection: CollectionName, id: unknown): Row | undefined {
    return typeof id === "number" ? this.data.tables[collection].get(id) : undefined
  }

  /** Rows in id order (the natural order of the API's lists). */
  rows(collection: CollectionName): ReadonlyArray<Row> {
    return [...this.data.tables[collection].values()].sort((a, b) => a.Id - b.Id)
  }

  put(collection: CollectionName, row: Row): Row {
    const existed = this.data.tables[collection].has(row.Id)
    this.data.tables[collection].set(row.Id, row)
    if (this.tracking !== undefined) {
      const now = this.tracking.now()
      const previous = this.data.objects.get(row.Id)
      this.data.objects.set(row.Id, {
        type: collection,
        created: existed ? previous?.created ?? SEED_DATE : now,
        modified: now,
        deleted: null,
        nom: textOf(row.Nom),
        code: textOf(row.Code)
      })
      this.changes.push({ collection, id: row.Id, kind: existed ? "modified" : "created" })
    }
    return row
  }

  delete(collection: CollectionName, id: number): boolean {
    const row = this.data.tables[collection].get(id)
    const deleted = this.data.tables[collection].delete(id)
    if (deleted && this.tracking !== undefined) {
      const now = this.tracking.now()
      const previous = this.data.objects.get(id)
      this.data.objects.set(id, {
        type: collection,
        created: previous?.created ?? SEED_DATE,
        modified: previous?.modified ?? SEED_DATE,
        deleted: now,
        nom: textOf(row?.Nom),
        code: textOf(row?.Code)
      })
      this.changes.push({ collection, id, kind: "deleted" })
    }
    return deleted
  }

  /** What `Object/{id}` shows: any entity, live or deleted through the API; `undefined` otherwise. */
  object(id: number): (ObjectMeta & { readonly id: number }) | undefined {
    const meta = this.data.objects.get(id)
    if (meta !== undefined) {
      const live = this.data.tables[meta.type].get(id)
      return live === undefined ? { ...meta, id } : { ...meta, id, nom: textOf(live.Nom), code: textOf(live.Code) }
    }
    for (const collection of collectionNames) {
      const row = this.data.tables[collection].get(id)
      if (row !== undefined) {
        return { id, type: collection, created: SEED_DATE, modified: SEED_DATE, deleted: null, nom: textOf(row.Nom), code: textOf(row.Code) }
      }
    }
    return undefined
  }

  /** The whole store as plain JSON (hidden fields included), for `GET /__sandbox/state`. */
  snapshot(): StateSnapshot {
    const collections: Record<string, ReadonlyArray<Row>> = {}
    for (const name of collectionNames) collections[name] = this.rows(name).map((row) => structuredClone(row))
    return {
      counters: { ...this.data.counters },
      collections,
      documents: [...this.data.documents.values()].map((doc) => ({ ...doc })),
      modesContractuels: this.data.modesContractuels.map((mode) => ({ ...mode }))
    }
  }
}

/** The creation (and modification) date `Object/{id}` shows for seeded rows. */
export const SEED_DATE = "2024-01-08T09:00:00+01:00"

export interface StateSnapshot {
  readonly counters: Counters
  readonly collections: Readonly<Record<string, ReadonlyArray<Row>>>
  readonly documents: ReadonlyArray<ConventionDocument>
  readonly modesContractuels: ReadonlyArray<ModeContractuel>
}

/** What a state file keeps: the snapshot and what the API does not show. */
const Persisted = Schema.Struct({
  counters: Schema.Struct({ nextId: Schema.Int, convention: Schema.Int, apprenant: Schema.Int, enseignant: Schema.Int }),
  collections: Schema.Record({
    key: Schema.String,
    value: Schema.Array(Schema.Record({ key: Schema.String, value: Schema.Unknown }).pipe(
      Schema.filter((row) => typeof row.Id === "number" || "every row needs a numeric Id")
    ))
  }),
  documents: Schema.Array(Schema.Struct({ Id: Schema.Int, ConventionId: Schema.Int, Nom: Schema.String })),
  modesContractuels: Schema.Array(Schema.Struct({ Id: Schema.Int, Code: Schema.String, Nom: Schema.String, Ordre: Schema.Number })),
  entiteJuridiqueId: Schema.Int,
  // Absent from state files written before the sandbox had Object/{id}.
  objects: Schema.optionalWith(
    Schema.Array(Schema.Struct({
      Id: Schema.Int,
      Type: Schema.Literal(...collectionNames),
      Created: Schema.String,
      Modified: Schema.String,
      Deleted: Schema.NullOr(Schema.String),
      Nom: Schema.String,
      Code: Schema.String
    })),
    { default: () => [] }
  )
})

/** The store as plain JSON, for a state file (`StateFile`); `restore` reads it back. */
export const persisted = (store: Store): unknown => ({
  ...store.snapshot(),
  entiteJuridiqueId: store.data.entiteJuridiqueId,
  objects: [...store.data.objects].map(([Id, meta]) => ({
    Id,
    Type: meta.type,
    Created: meta.created,
    Modified: meta.modified,
    Deleted: meta.deleted,
    Nom: meta.nom,
    Code: meta.code
  }))
})

/** The data of a state file written by `persisted`, or why it cannot be one. */
export const restore = (state: unknown): Either.Either<StoreData, string> =>
  Either.map(
    Either.mapLeft(Schema.decodeUnknownEither(Persisted)(state), () => "it does not hold the AIMAIRA sandbox's data"),
    (decoded) => {
      const data = emptyData(decoded.counters.nextId)
      data.counters = { ...decoded.counters }
      for (const name of collectionNames) {
        for (const row of decoded.collections[name] ?? []) data.tables[name].set(row.Id as number, structuredClone(row) as Row)
      }
      for (const doc of decoded.documents) data.documents.set(doc.Id, { ...doc })
      data.modesContractuels = decoded.modesContractuels.map((mode) => ({ ...mode }))
      data.entiteJuridiqueId = decoded.entiteJuridiqueId
      for (const meta of decoded.objects) {
        data.objects.set(meta.Id, {
          type: meta.Type,
          created: meta.Created,
          modified: meta.Modified,
          deleted: meta.Deleted,
          nom: meta.Nom,
          code: meta.Code
        })
      }
      return data
    }
  )
