/**
 * The log of API requests a sandbox received (admin routes excluded), so tests can count calls:
 * "the client tried three times", "nothing was sent after the diff".
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import { FaultKind } from "./Faults.js"
import { pathMatches } from "./internal/faultSyntax.js"

/**
 * How a request ended.
 *
 * - `pending`: still running (a hanging request stays here until the client leaves).
 * - `responded`: a response was sent (`status`).
 * - `dropped`: the connection was destroyed by a `drop` / `drop-after-commit` fault
 *   (`status` is the response the handler produced and that was never sent, if it ran).
 * - `aborted`: the client went away before the response.
 *
 * @since 0.1.0
 */
export const Outcome = Schema.Literal("pending", "responded", "dropped", "aborted")

/** @since 0.1.0 */
export type Outcome = typeof Outcome.Type

/**
 * One received request.
 *
 * @since 0.1.0
 */
export class RequestRecord extends Schema.Class<RequestRecord>("@relais/sandbox-kit/RequestRecord")({
  /** Arrival order, from 1. */
  seq: Schema.Int,
  method: Schema.String,
  /** The path without the query string. */
  path: Schema.String,
  /** The raw query string without `?` ("" when none). */
  query: Schema.String,
  /** Arrival time, ISO 8601 UTC. */
  at: Schema.String,
  outcome: Outcome,
  status: Schema.optional(Schema.Int),
  /** The fault applied to the request, if any. */
  fault: Schema.optional(FaultKind),
  faultId: Schema.optional(Schema.String),
  durationMs: Schema.optional(Schema.Number)
}) {}

/**
 * Which records to count or list: method (case-insensitive) and a path pattern with the fault
 * rules' `*` wildcard.
 *
 * @since 0.1.0
 */
export interface Filter {
  readonly method?: string | undefined
  readonly path?: string | undefined
  readonly outcome?: Outcome | undefined
}

/** @since 0.1.0 */
export interface Completion {
  readonly outcome: Outcome
  readonly status?: number | undefined
  readonly fault?: FaultKind | undefined
  readonly faultId?: string | undefined
}

/**
 * The request log of one sandbox server.
 *
 * @since 0.1.0
 */
export interface Service {
  /** Every record in arrival order, optionally filtered. */
  readonly list: (filter?: Filter) => Effect.Effect<ReadonlyArray<RequestRecord>>
  /** How many records match. */
  readonly count: (filter?: Filter) => Effect.Effect<number>
  /** Forgets every record (sequence numbers keep increasing). */
  readonly clear: Effect.Effect<void>
  /** Records an arriving request as `pending`; returns its sequence number. */
  readonly begin: (request: { readonly method: string; readonly url: string }) => Effect.Effect<number>
  /** Completes a pending record. */
  readonly complete: (seq: number, completion: Completion) => Effect.Effect<void>
}

/**
 * The request log, for code that runs beside one sandbox (a server built with
 * `SandboxServer.make` owns its own instance and hands it back in its handle).
 *
 * @since 0.1.0
 */
export class RequestLog extends Context.Tag("@relais/sandbox-kit/RequestLog")<RequestLog, Service>() {}

const matchesFilter = (record: RequestRecord, filter: Filter | undefined): boolean =>
  filter === undefined ||
  ((filter.method === undefined || filter.method.toUpperCase() === record.method) &&
    (filter.path === undefined || pathMatches(filter.path, record.path)) &&
    (filter.outcome === undefined || filter.outcome === record.outcome))

interface Pending {
  readonly record: RequestRecord
  readonly startedAt: number
}

/**
 * Builds an empty request log.
 *
 * @since 0.1.0
 */
export const make: Effect.Effect<Service> = Effect.gen(function*() {
  const state = yield* Ref.make<{ readonly next: number; readonly records: ReadonlyArray<Pending> }>({
    next: 1,
    records: []
  })
  const list = (filter?: Filter) =>
    Effect.map(
      Ref.get(state),
      (current) => current.records.map((p) => p.record).filter((record) => matchesFilter(record, filter))
    )
  return {
    list,
    count: (filter) => Effect.map(list(filter), (records) => records.length),
    clear: Ref.update(state, (current) => ({ ...current, records: [] })),
    begin: ({ method, url }) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Ref.modify(state, (current) => {
          const q = url.indexOf("?")
          const record = new RequestRecord({
            seq: current.next,
            method: method.toUpperCase(),
            path: q === -1 ? url : url.slice(0, q),
            query: q === -1 ? "" : url.slice(q + 1),
            at: new Date(now).toISOString(),
            outcome: "pending"
          })
          return [
            current.next,
            { next: current.next + 1, records: [...current.records, { record, startedAt: now }] }
          ] as const
        })),
    complete: (seq, completion) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Ref.update(state, (current) => ({
          ...current,
          records: current.records.map((p) =>
            p.record.seq !== seq ? p : {
              ...p,
              record: new RequestRecord({
                ...p.record,
                outcome: completion.outcome,
                ...(completion.status === undefined ? {} : { status: completion.status }),
                ...(completion.fault === undefined ? {} : { fault: completion.fault }),
                ...(completion.faultId === undefined ? {} : { faultId: completion.faultId }),
                durationMs: now - p.startedAt
              })
            }
          )
        })))
  } satisfies Service
})

/**
 * A layer for the `RequestLog` tag.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<RequestLog> = Layer.effect(RequestLog, make)
