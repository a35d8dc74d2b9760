import { Faults } from "@relais/sandbox-kit"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { WireContract } from "./validate.js"

export interface IntegrationModel {
  readonly codeGroupe?: string | undefined
  readonly nomGroupe?: string | undefined
}

export interface IntegrationDelay {
  readonly listCalls?: number | undefined
  readonly millis?: number | undefined
}

export type IntegrationStatus = "pending" | "integrated" | "unmatched"

export interface Transmitted {
  readonly contract: WireContract
  readonly status: "active" | "archived"
  readonly integration: IntegrationStatus
  readonly transmittedAt: number
  readonly listCallsSeen: number
}

export interface StoreConfig {
  readonly models: ReadonlyArray<IntegrationModel>
  readonly delay: IntegrationDelay
}

export interface Diff {
  readonly same: ReadonlyArray<WireContract>
  readonly added: ReadonlyArray<WireContract>
  readonly updated: ReadonlyArray<WireContract>
  readonly removed: ReadonlyArray<WireContract>
}

export const sameContract = (a: WireContract, b: WireContract): boolean => {
  const keysA = Object.keys(a)
  const keysB = Object.keys(b)
  return keysA.length === keysB.length && keysA.every((key) => a[key] === b[key])
}

/**
 * The sandbox's data. Every method runs synchronously, so one call is atomic with respect to
 * other requests (each is wrapped in one `Effect.sync`).
 *
 * - `transmitted` is the sync state: what was received, keyed by codeContrat, in first-arrival
 *   order, with archived contracts kept (flagged) until a reset of the sync state.
 * - `integrated` is what the platform holds: contracts associated with a session.
 */
export class Store {
  transmitted = new Map<string, Transmitted>()
  integrated = new Map<string, WireContract>()
  integratedListCalls = 0

  constructor(readonly config: StoreConfig) {}

  matchesModel(contract: WireContract): boolean {
    return this.config.models.some((model) =>
      (model.codeGroupe !== undefined || model.nomGroupe !== undefined) &&
      (model.codeGroupe === undefined || Faults.matchesPattern(model.codeGroupe, contract.codeGroupe ?? "")) &&
      (model.nomGroupe === undefined || Faults.matchesPattern(model.nomGroupe, contract.nomGroupe ?? ""))
    )
  }

  private get immediate() {
    return (this.config.delay.listCalls ?? 0) === 0 && (this.config.delay.millis ?? 0) === 0
  }

  active(): Array<WireContract> {
    return [...this.transmitted.values()].filter((t) => t.status === "active").map((t) => t.contract)
  }

  /** Compares a full list with the active contracts; changes nothing. */
  diff(contracts: ReadonlyArray<WireContract>): Diff {
    const same: Array<WireContract> = []
    const added: Array<WireContract> = []
    const updated: Array<WireContract> = []
    const sent = new Set<string>()
    for (const contract of contracts) {
      sent.add(contract.codeContrat)
      const held = this.transmitted.get(contract.codeContrat)
      if (held === undefined || held.status === "archived") added.push(contract)
      else if (sameContract(held.contract, contract)) same.push(contract)
      else updated.push(contract)
    }
    const removed = this.active().filter((c) => !sent.has(c.codeContrat))
    return { same, added, updated, removed }
  }

  /** Receives a contract: new, changed or unchanged. */
  upsert(contract: WireContract, now: number): void {
    const held = this.transmitted.get(contract.codeContrat)
    if (held !== undefined && held.status === "active" && sameContract(held.contract, contract)) return
    const matches = this.matchesModel(contract)
    const wasIntegrated = this.integrated.has(contract.codeContrat)
    let integration: IntegrationStatus
    if (!matches) {
      integration = "unmatched"
      this.integrated.delete(contract.codeContrat)
    } else if (this.immediate || (wasIntegrated && held?.status === "active")) {
      // already associated with a session: the update flows through at once
      integration = "integrated"
      this.integrated.set(contract.codeContrat, contract)
    } else {
      integration = "pending"
    }
    // a re-sent contract keeps its place in the listing order
    this.transmitted.set(contract.codeContrat, {
      contract,
      status: "active",
      integration,
      transmittedAt: now,
      listCallsSeen: 0
    })
  }

  /** Archives an active contract: out of the listings and off the platform. */
  archive(code: string): boolean {
    const held = this.transmitted.get(code)
    if (held === undefined || held.status === "archived") return false
    this.transmitted.set(code, { ...held, status: "archived" })
    this.integrated.delete(code)
    return true
  }

  /** A full snapshot: upsert every contract, archive the active ones left out (except `keep`). */
  snapshot(contracts: ReadonlyArray<WireContract>, keep: ReadonlySet<string>, now: number): Array<string> {
    const sent = new Set(contracts.map((c) => c.codeContrat))
    const archived = this.active()
      .map((c) => c.codeContrat)
      .filter((code) => !sent.has(code) && !keep.has(code))
    for (const contract of contracts) this.upsert(contract, now)
    for (const code of archived) this.archive(code)
    return archived
  }

  /**
   * `DELETE /api/sync/v1/contrats`, "supprimer tous les contrats": every contract goes, from the
   * sync state (archived ones included) and from the platform; contracts sent afterwards count
   * as new.
   */
  deleteAll(): void {
    this.transmitted.clear()
    this.integrated.clear()
  }

  /** Integrates the pending contracts whose delay has passed. */
  promote(now: number): void {
    const { listCalls = 0, millis = 0 } = this.config.delay
    for (const [code, t] of this.transmitted) {
      if (t.status !== "active" || t.integration !== "pending") continue
      if (t.listCallsSeen >= listCalls && now - t.transmittedAt >= millis) {
        this.transmitted.set(code, { ...t, integration: "integrated" })
        this.integrated.set(code, t.contract)
      }
    }
  }

  /** Integrates every pending contract at once (seed data). */
  integratePending(): void {
    for (const [code, t] of this.transmitted) {
      if (t.status === "active" && t.integration === "pending") {
        this.transmitted.set(code, { ...t, integration: "integrated" })
        this.integrated.set(code, t.contract)
      }
    }
  }

  /** Counts one call to the integrated list for the contracts still pending. */
  countListCall(): void {
    this.integratedListCalls++
    for (const [code, t] of this.transmitted) {
      if (t.status === "active" && t.integration === "pending") {
        this.transmitted.set(code, { ...t, listCallsSeen: t.listCallsSeen + 1 })
      }
    }
  }

  copyFrom(other: Store): void {
    this.transmitted = new Map(other.transmitted)
    this.integrated = new Map(other.integrated)
    this.integratedListCalls = other.integratedListCalls
  }
}

const Wire = Schema.Struct({ codeContrat: Schema.String }, Schema.Record({ key: Schema.String, value: Schema.String }))

/** What a state file keeps of the store (the configuration comes from the options). */
const Persisted = Schema.Struct({
  transmitted: Schema.Array(Schema.Struct({
    contract: Wire,
    status: Schema.Literal("active", "archived"),
    integration: Schema.Literal("pending", "integrated", "unmatched"),
    transmittedAt: Schema.Number,
    listCallsSeen: Schema.Number
  })),
  integrated: Schema.Array(Wire),
  integratedListCalls: Schema.Number
})

/** The store's data as plain JSON, for a state file (`StateFile`); `restoreInto` reads it back. */
export const persisted = (store: Store): unknown => ({
  transmitted: [...store.transmitted.values()],
  integrated: [...store.integrated.values()],
  integratedListCalls: store.integratedListCalls
})

/** Put the data of a state file written by `persisted` into `store`, or say why it cannot be one. */
export const restoreInto = (store: Store, state: unknown): Either.Either<void, string> =>
  Either.map(
    Either.mapLeft(Schema.decodeUnknownEither(Persisted)(state), () => "it does not hold the Campus Skills sandbox's data"),
    (decoded) => {
      store.transmitted = new Map(decoded.transmitted.map((t) => [t.contract.codeContrat, { ...t, contract: t.contract as WireContract }]))
      store.integrated = new Map(decoded.integrated.map((c) => [c.codeContrat, c as WireContract]))
      store.integratedListCalls = decoded.integratedListCalls
    }
  )

export interface Page {
  readonly total: number
  readonly contrats: ReadonlyArray<WireContract>
}

/** Pages count from 1; without `limit` the whole list is one page. */
export const paginate = (all: ReadonlyArray<WireContract>, page: number, limit: number | undefined): Page => {
  if (limit === undefined) return { total: all.length, contrats: page === 1 ? all : [] }
  const start = (page - 1) * limit
  return { total: all.length, contrats: all.slice(start, start + limit) }
}
