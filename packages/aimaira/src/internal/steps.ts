/**
 * What the AIMAIRA steps share: output views of entities, YAML-friendly input schemas (dates,
 * ids), retry policies, markers, code look-ups with suggestions, and the values before the
 * write of get-modify-write steps (kept in the step's journaled state).
 */
import { RetryPolicy, Step, Suggest } from "@relais/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Temporal } from "temporal-polyfill"
import { AimairaClient } from "../AimairaClient.js"
import * as Entities from "../Entities.js"
import type { Entity, EntitySet } from "../Entities.js"
import type * as Errors from "../Errors.js"
import type * as Ids from "../Ids.js"
import { format, ParisDate, PlainDateFromSelf, timeZone, ZonedDateTimeFromSelf } from "../ParisDate.js"
import * as Query from "../Query.js"
import * as StepErrors from "../StepErrors.js"

// ---------------------------------------------------------------------------------------------
// Views: what a step outputs of an entity

/** The declared fields of an entity class, without `extra`. */
export const viewFields = <F extends Schema.Struct.Fields>(cls: { readonly fields: F }): Omit<F, "extra"> => {
  const { extra: _extra, ...fields } = cls.fields as Schema.Struct.Fields
  return fields as Omit<F, "extra">
}

/**
 * An entity as a step outputs it: its declared fields in AIMAIRA's wire form (ids as numbers,
 * dates with the Paris offset). Undeclared properties are not journaled: a step that writes
 * reads the entity again first.
 */
export const view = <F extends Schema.Struct.Fields>(cls: { readonly fields: F }): Schema.Struct<Omit<F, "extra">> =>
  Schema.Struct(viewFields(cls)) as unknown as Schema.Struct<Omit<F, "extra">>

// ---------------------------------------------------------------------------------------------
// Input schemas

/** An optional key (absent, never `undefined`). */
export const optional = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })

/** An id that must point at something: a positive integer. */
export const RequiredId = <A extends number, I, R>(schema: Schema.Schema<A, I, R>) =>
  schema.pipe(Schema.greaterThan(0, { message: () => "expected an id (a positive integer)" }))

/** A non-empty string, surrounding spaces not counted. */
export const Text = Schema.String.pipe(
  Schema.filter((s) => s.trim().length > 0, { message: () => "expected a non-empty string" })
)

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/
const LOCAL_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$/

const decodeParisDate = Schema.decodeUnknownEither(ParisDate)

/**
 * A calendar date written as a YAML author would: `2025-09-01`, or AIMAIRA's form
 * `2025-09-01T00:00:00+02:00` (a Paris midnight). Encodes as `2025-09-01`.
 */
export const DateInput: Schema.Schema<Temporal.PlainDate, string> = Schema.transformOrFail(
  Schema.String.annotations({
    description: "a date: 2025-09-01, or AIMAIRA's form 2025-09-01T00:00:00+02:00 (midnight in Paris)"
  }),
  PlainDateFromSelf,
  {
    strict: true,
    decode: (input, _, ast) => {
      if (DATE_ONLY.test(input)) {
        try {
          return ParseResult.succeed(Temporal.PlainDate.from(input, { overflow: "reject" }))
        } catch {
          return ParseResult.fail(new ParseResult.Type(ast, input, `Expected a valid date, got ${JSON.stringify(input)}`))
        }
      }
      const decoded = decodeParisDate(input)
      return decoded._tag === "Right"
        ? ParseResult.succeed(decoded.right)
        : ParseResult.fail(
          new ParseResult.Type(ast, input, `Expected a date such as 2025-09-01 or 2025-09-01T00:00:00+02:00, got ${JSON.stringify(input)}`)
        )
    },
    encode: (date) => ParseResult.succeed(date.toString())
  }
).annotations({ identifier: "DateInput" })

/**
 * A date-time: with an offset or `Z` (`2023-11-20T12:00:00.000Z`), a local date-time read as
 * Paris time (`2023-11-20T13:00`), or a date (midnight in Paris). Encodes in AIMAIRA's form.
 */
export const DateTimeInput: Schema.Schema<Temporal.ZonedDateTime, string> = Schema.transformOrFail(
  Schema.String.annotations({
    description: "a date-time: 2023-11-20T12:00:00Z, 2023-11-20T13:00:00+01:00, 2023-11-20T13:00 (Paris time) or 2023-11-20 (midnight in Paris)"
  }),
  ZonedDateTimeFromSelf,
  {
    strict: true,
    decode: (input, _, ast) => {
      try {
        if (DATE_ONLY.test(input)) {
          return ParseResult.succeed(Temporal.PlainDate.from(input, { overflow: "reject" }).toZonedDateTime(timeZone))
        }
        if (LOCAL_DATE_TIME.test(input)) {
          return ParseResult.succeed(Temporal.PlainDateTime.from(input, { overflow: "reject" }).toZonedDateTime(timeZone))
        }
        return ParseResult.succeed(Temporal.Instant.from(input).toZonedDateTimeISO(timeZone))
      } catch {
        return ParseResult.fail(
          new ParseResult.Type(ast, input, `Expected a date-time such as 2023-11-20T13:00:00+01:00, got ${JSON.stringify(input)}`)
        )
      }
    },
    encode: (value) => ParseResult.succeed(format(value))
  }
).annotations({ identifier: "DateTimeInput" })

/** An e-mail address, as far as a step can tell: something `@` something, no spaces. */
export const EmailAddress = Schema.String.pipe(
  Schema.pattern(/^[^\s@]+@[^\s@]+$/, { message: () => "expected an e-mail address" })
)

/** A struct refinement: exactly one of `keys` is given. */
export const exactlyOne = <A extends object>(keys: ReadonlyArray<keyof A & string>) =>
  Schema.filter<Schema.Schema<A, any, never>>((value) => {
    const given = keys.filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    if (given.length === 1) return true
    return {
      path: [keys[0]!],
      message: given.length === 0
        ? `give one of ${keys.join(", ")}`
        : `give only one of ${keys.join(", ")} (got ${given.join(" and ")})`
    }
  }, Step.inputRule({ fields: keys, description: `give exactly one of ${keys.join(", ")}`, requiresOne: true }))

/** A struct refinement: at most one of `keys` is given. */
export const atMostOne = <A extends object>(keys: ReadonlyArray<keyof A & string>) =>
  Schema.filter<Schema.Schema<A, any, never>>((value) => {
    const given = keys.filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    if (given.length <= 1) return true
    return { path: [given[1]!], message: `give at most one of ${keys.join(", ")} (got ${given.join(" and ")})` }
  }, Step.inputRule({ fields: keys, description: `give at most one of ${keys.join(", ")}` }))

// ---------------------------------------------------------------------------------------------
// Policies

/** Reads: cheap and safe to repeat. */
export const readPolicy: RetryPolicy.RetryPolicy = RetryPolicy.exponential({
  maxAttempts: 5,
  initialDelay: "200 millis",
  maxDelay: "5 seconds",
  jitter: true
})

/** Writes: creates reconcile before every retry, updates are get-modify-writes. */
export const writePolicy: RetryPolicy.RetryPolicy = RetryPolicy.exponential({
  maxAttempts: 4,
  initialDelay: "500 millis",
  maxDelay: "10 seconds",
  jitter: true
})

// ---------------------------------------------------------------------------------------------
// Requests

/** Every row of a stream. */
export const collect = <A, E, R>(stream: Stream.Stream<A, E, R>): Effect.Effect<ReadonlyArray<A>, E, R> =>
  Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

/** Every entity matching a query (all pages). */
export const all = <A extends Entity>(entity: EntitySet<A>, query?: Query.Query<A>) =>
  Effect.flatMap(AimairaClient, (client) => collect(client.stream(entity, query)))

// ---------------------------------------------------------------------------------------------
// Undoing: compensations, and attempts that fail halfway

/** A record a step created and may have to delete, described for a person. */
export interface Made {
  readonly entity: EntitySet<any>
  readonly id: number
  /** `the e-mail tom.legall@ecole.fr`, `LE GALL Tom`. */
  readonly what: string
}

/** A record to delete, described for a person. */
export const made = <A extends Entity>(entity: EntitySet<A>, id: A["Id"], what: string): Made => ({ entity, id, what })

const leftover = (item: Made) => new StepErrors.Leftover({ entitySet: item.entity.entitySet, id: item.id, what: item.what })

/**
 * Statuses that say AIMAIRA will not delete this (its API documents no DELETE): 405 Method Not
 * Allowed, 501 Not Implemented, 403 Forbidden.
 */
const refusal = (error: Errors.AimairaError): boolean =>
  "status" in error && (error.status === 405 || error.status === 501 || error.status === 403)

/**
 * `DELETE`s, in order; an entity already gone counts as deleted (a compensation may run twice).
 * A refusal fails with `DeleteRefused`, listing this record and every later one (nothing after a
 * refusal is deleted: the order is the order references allow). Any other error is AIMAIRA's
 * and is retried by the caller's policy.
 */
export const deleteAll = (
  items: ReadonlyArray<Made>
): Effect.Effect<void, Errors.AimairaError | StepErrors.DeleteRefused, AimairaClient> =>
  Effect.flatMap(AimairaClient, (client) =>
    Effect.forEach(items, (item, index) =>
      client.delete(item.entity, item.id).pipe(
        Effect.catchTag("NotFound", () => Effect.void),
        Effect.catchIf(refusal, (error) =>
          new StepErrors.DeleteRefused({
            entitySet: item.entity.entitySet,
            id: item.id,
            httpStatus: (error as { readonly status: number }).status,
            detail: "detail" in error ? error.detail : error.message,
            left: items.slice(index).map(leftover)
          }))
      ), { discard: true }))

/** `DELETE` of one record (see {@link deleteAll}). */
export const deleteIfExists = <A extends Entity>(entity: EntitySet<A>, id: A["Id"], what: string) =>
  deleteAll([made(entity, id, what)])

/**
 * Failures after which the write surely was not stored: AIMAIRA answered with an error, or the
 * step refused before writing. Anything else (a 5xx, a lost or unreadable answer) may come
 * after a commit.
 */
const surelyNotStored = (error: unknown): boolean => {
  const tag = (error as { readonly _tag?: unknown })._tag
  return tag === "Validation" || tag === "Conflict" || tag === "NotFound" || tag === "Unauthorized" ||
    tag === "RateLimited" || tag === "UnknownCode" || tag === "Ambiguous" || tag === "NoParcours" || tag === "ConventionRule"
}

const describeError = (error: unknown): { readonly message: string; readonly tag: string } => ({
  message: typeof (error as { message?: unknown }).message === "string" ? (error as Error).message : String(error),
  tag: typeof (error as { _tag?: unknown })._tag === "string" ? (error as { _tag: string })._tag : "UnknownError"
})

/**
 * Runs the rest of an attempt that has already created records, so that a failure does not
 * leave them behind (an e-mail without its learner, half the links of an enrolment):
 *
 * - `stored` (optional) looks for the result of the attempt's last write; it is consulted when
 *   the failure leaves it unknown whether that write was stored (a lost answer, a 5xx), and
 *   what it finds is the attempt's result;
 * - otherwise `made` (found again at that moment: a write whose answer was lost is found too)
 *   is deleted, newest first, and the attempt fails with its own error;
 * - when that is not possible (a refused or failed delete, a look-up that fails), the attempt
 *   fails with `LeftBehind`, which names what is left and keeps the status of the failure.
 */
export const undoOnFailure = <A, E, R, R2, R3 = never>(
  rest: Effect.Effect<A, E, R>,
  options: {
    readonly made: Effect.Effect<ReadonlyArray<Made>, Errors.AimairaError, R2>
    /** What the attempt knows it made, for the report when `made` cannot be looked up. */
    readonly known: () => ReadonlyArray<Made>
    readonly stored?: Effect.Effect<Option.Option<A>, Errors.AimairaError | StepErrors.StepError, R3> | undefined
  }
): Effect.Effect<A, E | StepErrors.LeftBehind, R | R2 | R3 | AimairaClient> =>
  Effect.catchAll(rest, (error) =>
    Effect.gen(function*() {
      const failure = describeError(error)
      const left = (undo: string, items: ReadonlyArray<Made>) => {
        const { retryAfterMillis, status } = error as { readonly status?: unknown; readonly retryAfterMillis?: unknown }
        return new StepErrors.LeftBehind({
          failure: failure.message,
          failureTag: failure.tag,
          undo,
          left: items.map(leftover),
          ...(typeof status === "number" ? { status } : {}),
          ...(typeof retryAfterMillis === "number" ? { retryAfterMillis } : {})
        })
      }
      if (options.stored !== undefined && !surelyNotStored(error)) {
        const found = yield* Effect.either(options.stored)
        if (found._tag === "Left") {
          const known = options.known()
          if (known.length === 0) return yield* Effect.fail(error)
          return yield* left(`looking for what the last request stored failed: ${describeError(found.left).message}`, known)
        }
        if (Option.isSome(found.right)) return found.right.value
      }
      const items = yield* Effect.either(options.made)
      if (items._tag === "Left") {
        const known = options.known()
        if (known.length === 0) return yield* Effect.fail(error)
        return yield* left(`listing them failed: ${describeError(items.left).message}`, known)
      }
      if (items.right.length === 0) return yield* Effect.fail(error)
      const newestFirst = [...items.right].reverse()
      const undone = yield* Effect.either(deleteAll(newestFirst))
      if (undone._tag === "Left") {
        const refused = undone.left
        const remaining = refused._tag === "DeleteRefused"
          ? newestFirst.filter((item) => refused.left.some((l) => l.entitySet === item.entity.entitySet && l.id === item.id))
          : newestFirst
        const why = refused._tag === "DeleteRefused"
          ? `AIMAIRA refused DELETE ${refused.entitySet} ${refused.id} (${refused.httpStatus}: ${refused.detail})`
          : `deleting them failed: ${refused.message}`
        return yield* left(why, remaining)
      }
      return yield* Effect.fail(error)
    }))

const EligibleRow = Schema.Struct({ Sequence: Entities.wire(Entities.Sequence) })

/**
 * The sequences of an inscription a convention can be created on, with the documented query
 * (`InscriptionSequence?$expand=Sequence&$select=Sequence&$filter=startswith(Sequence/TypeSequence/Code, 'S')`
 * with `{"Id": <inscription>}` as GET body).
 */
export const eligibleOf = (inscriptionId: Ids.InscriptionId) =>
  Effect.flatMap(AimairaClient, (client) =>
    collect(client.streamAs(
      Entities.InscriptionSequence,
      EligibleRow,
      Query.from(Entities.InscriptionSequence)
        .expand("Sequence")
        .select("Sequence")
        .where((f) => f.startsWith(f.path("Sequence/TypeSequence/Code"), "S")),
      { body: { Id: inscriptionId } }
    )))

/**
 * The marker a create step stores in the entity it creates, from the step invocation's key
 * (`Step.StepContext`): the same for every attempt and after a resume, unique per invocation.
 */
export const marker = (key: string): string => `relais-${key}`

/**
 * The entity whose `field` equals `value`. None: `UnknownCode` with suggestions. Several:
 * `choose` picks (the lowest id by default).
 */
export const byField = <A extends Entity>(
  entity: EntitySet<A>,
  field: string,
  value: string,
  choose: (matches: ReadonlyArray<A>) => Effect.Effect<A, Errors.AimairaError> = (matches) => Effect.succeed(matches[0]!)
): Effect.Effect<A, Errors.AimairaError | StepErrors.UnknownCode, AimairaClient> =>
  Effect.gen(function*() {
    const matches = yield* all(entity, Query.from(entity).where((f) => f.eq(f.path(field), value)))
    if (matches.length > 0) return yield* choose([...matches].sort((a, b) => a.Id - b.Id))
    const every = yield* all(entity)
    const known = [...new Set(every.map((row) => String((row as unknown as Record<string, unknown>)[field] ?? "")))]
      .filter((s) => s !== "")
    return yield* new StepErrors.UnknownCode({
      entitySet: entity.entitySet,
      field,
      value,
      suggestions: Suggest.closest(value, known),
      known: known.slice(0, 30)
    })
  })

// ---------------------------------------------------------------------------------------------
// Previous values of get-modify-write steps

/**
 * The entity as the first attempt of an update step found it, kept in the invocation's journaled
 * state (`Step.StepState`, in the wire form of `schema`): a retry after a lost response (the
 * write committed, the answer lost), or the run resumed after a crash between the write and the
 * journal, still reports the values from before the write, not its own.
 */
export const rememberPrevious = <A, I>(
  schema: Schema.Schema<A, I, never>,
  found: A
): Effect.Effect<A, Step.StepStateError, Step.StepContext> => Step.rememberState(schema, Effect.succeed(found))
