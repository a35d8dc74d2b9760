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

export interface StoreData {
  counters: Counters
  tables: Record<CollectionName, Map<number, Row>>
  documents: Map<number, ConventionDocument>
  modesContractuels: Array<ModeContractuel>
  /** The société de facturation (EntiteJuridique) billing records are attached to. */
  entiteJuridiqueId: number
}

export const emptyData = (firstId: number): StoreData => {
  const tables = {} as Record<CollectionName, Map<number, Row>>
  for (const name of collectionNames) tables[name] = new Map()
  return {
    counters: { nextId: firstId, convention: 1, apprenant: 1, enseignant: 1 },
    tables,
    documents: new Map(),
    modesContractuels: [],
    entiteJuridiqueId: 0
  }
}

export class Store {
  constructor(public data: StoreData) {}

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
    this.data.tables[collection].set(row.Id, row)
    return row
  }

  delete(collection: CollectionName, id: number): boolean {
    return this.data.tables[collection].delete(id)
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
  entiteJuridiqueId: Schema.Int
})

/** The store as plain JSON, for a state file (`StateFile`); `restore` reads it back. */
export const persisted = (store: Store): unknown => ({ ...store.snapshot(), entiteJuridiqueId: store.data.entiteJuridiqueId })

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
      return data
    }
  )
