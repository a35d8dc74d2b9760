/**
 * Fault injection for the sandboxes: rules that make matching requests slow, fail, hang or lose
 * their connection, held in a `Faults` service that the sandbox server consults on every
 * request (admin routes under `/__sandbox/` excepted).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as internal from "./internal/faultSyntax.js"

/**
 * What a fault does to a matching request.
 *
 * - `latency`: wait `delayMs`, then handle the request normally.
 * - `status`: answer `status` (500, 502, 503 or 504; default 503) without running the handler.
 * - `rate-limit`: answer 429 with a `Retry-After: retryAfterSeconds` header (default 1).
 * - `hang`: never answer; the request stays open until the client gives up or the server stops.
 * - `drop`: destroy the connection before the handler runs (nothing is committed).
 * - `drop-after-commit`: run the handler (its writes are committed), then destroy the connection
 *   instead of sending the response.
 *
 * @since 0.1.0
 */
export const FaultKind = Schema.Literal("latency", "status", "rate-limit", "hang", "drop-after-commit", "drop")

/** @since 0.1.0 */
export type FaultKind = typeof FaultKind.Type

/**
 * HTTP methods a rule can be restricted to.
 *
 * @since 0.1.0
 */
export const FaultMethod = Schema.Literal("GET", "POST", "PUT", "PATCH", "DELETE")

/** @since 0.1.0 */
export type FaultMethod = typeof FaultMethod.Type

/**
 * Status codes a `status` fault may answer with.
 *
 * @since 0.1.0
 */
export const FaultStatus = Schema.Literal(500, 502, 503, 504)

/** @since 0.1.0 */
export type FaultStatus = typeof FaultStatus.Type

const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative())

/**
 * One fault rule. `path` is an exact request path (query string excluded) or a pattern where
 * `*` matches any run of characters (slashes included); a lone `*` matches every path. Other
 * characters are literal, so the OData key form `/GraphV1/Convention(12)` matches as written,
 * and `/GraphV1/Convention(*)` matches any key.
 *
 * `skip` lets the first N matching requests through untouched; `times` then limits how many
 * matching requests the rule affects (unlimited when absent).
 *
 * @since 0.1.0
 */
export class FaultRule extends Schema.Class<FaultRule>("@relais/sandbox-kit/FaultRule")(
  Schema.Struct({
    id: Schema.optional(Schema.NonEmptyTrimmedString),
    method: Schema.optional(FaultMethod),
    path: Schema.NonEmptyTrimmedString,
    kind: FaultKind,
    status: Schema.optional(FaultStatus),
    retryAfterSeconds: Schema.optional(NonNegativeInt),
    delayMs: Schema.optional(NonNegativeInt),
    times: Schema.optional(NonNegativeInt),
    skip: Schema.optional(NonNegativeInt)
  }).pipe(
    Schema.filter((rule) => {
      if (rule.path !== "*" && !rule.path.startsWith("/")) {
        return `path must start with "/" or be "*", got "${rule.path}"`
      }
      if (rule.status !== undefined && rule.kind !== "status") {
        return `"status" only applies to kind "status", not "${rule.kind}"`
      }
      if (rule.retryAfterSeconds !== undefined && rule.kind !== "rate-limit") {
        return `"retryAfterSeconds" only applies to kind "rate-limit", not "${rule.kind}"`
      }
      if (rule.kind === "latency" && rule.delayMs === undefined) {
        return `kind "latency" needs "delayMs"`
      }
      if (rule.delayMs !== undefined && rule.kind !== "latency") {
        return `"delayMs" only applies to kind "latency", not "${rule.kind}"`
      }
      return true
    })
  )
) {
  /** The status a `status` rule answers with (503 by default). */
  get effectiveStatus(): FaultStatus {
    return this.status ?? 503
  }

  /** The `Retry-After` seconds a `rate-limit` rule sends (1 by default). */
  get effectiveRetryAfterSeconds(): number {
    return this.retryAfterSeconds ?? 1
  }

  /** Whether this rule applies to a request with this method and path (query excluded). */
  matches(method: string, path: string): boolean {
    if (this.method !== undefined && this.method !== method.toUpperCase()) return false
    return internal.pathMatches(this.path, path)
  }

  /** The rule in the compact text syntax (see {@link parse}). */
  toText(): string {
    return internal.format(this)
  }
}

/**
 * A rule as the service holds it: the rule (with its id filled in), how many matching requests
 * it has seen and how many it has affected.
 *
 * @since 0.1.0
 */
export class FaultEntry extends Schema.Class<FaultEntry>("@relais/sandbox-kit/FaultEntry")({
  id: Schema.String,
  rule: FaultRule,
  matched: NonNegativeInt,
  applied: NonNegativeInt,
  /** Requests the rule may still affect; absent when unlimited. */
  remaining: Schema.optional(NonNegativeInt)
}) {}

/**
 * Input that is not a valid fault in the text syntax or as JSON.
 *
 * @since 0.1.0
 */
export class FaultSyntaxError extends Schema.TaggedError<FaultSyntaxError>()("FaultSyntaxError", {
  input: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Invalid fault "${this.input}": ${this.reason}`
  }
}

/**
 * Parses the compact text syntax: one rule per line or per `;`, blank lines and `//` comments
 * ignored.
 *
 * ```text
 * [METHOD] PATH KIND [xN] [after N] [#id]
 *
 * KIND  latency:<ms>            (also latency:<n>ms, latency:<n>s)
 *       429 | 429:<seconds>     (rate-limit, Retry-After in seconds, default 1)
 *       rate-limit[:<seconds>]
 *       500 | 502 | 503 | 504   (status)
 *       status[:<code>]         (default 503)
 *       hang | drop | drop-after-commit
 * xN        affect N matching requests, then stop (default: unlimited)
 * after N   let the first N matching requests through first
 * #id       name the rule (otherwise fault-1, fault-2, ...)
 * ```
 *
 * Examples: `POST /GraphV1/Convention 429:2 x1`, `GET /api/sync/v1/test 503 x2`,
 * `* latency:200`, `POST /GraphV1/Entreprise drop-after-commit x1`, `* hang x1 after 3`.
 *
 * @since 0.1.0
 */
export const parse = (text: string): Either.Either<ReadonlyArray<FaultRule>, FaultSyntaxError> =>
  Either.flatMap(
    Either.mapLeft(internal.parse(text), (failure) => new FaultSyntaxError(failure)),
    (lines) => Either.all(lines.map(({ fields, input }) => decodeLine(input, fields)))
  )

const decodeRule = Schema.decodeUnknownEither(FaultRule)

const decodeLine = (input: string, fields: unknown): Either.Either<FaultRule, FaultSyntaxError> =>
  Either.mapLeft(
    decodeRule(fields),
    (error) => new FaultSyntaxError({ input, reason: ParseResult.TreeFormatter.formatErrorSync(error) })
  )

/**
 * Decodes rules sent as JSON (one rule or an array of rules), with a readable error.
 *
 * @since 0.1.0
 */
export const decodeJson = (json: unknown): Either.Either<ReadonlyArray<FaultRule>, FaultSyntaxError> => {
  const input = JSON.stringify(json) ?? String(json)
  if (Array.isArray(json)) return Either.all(json.map((item) => decodeLine(input, item)))
  return Either.map(decodeLine(input, json), (rule) => [rule])
}

/**
 * Parses exactly one rule in the text syntax.
 *
 * @since 0.1.0
 */
export const parseRule = (text: string): Either.Either<FaultRule, FaultSyntaxError> =>
  Either.flatMap(parse(text), (rules) => {
    const [rule] = rules
    return rule !== undefined && rules.length === 1
      ? Either.right(rule)
      : Either.left(new FaultSyntaxError({ input: text, reason: `expected exactly one rule, got ${rules.length}` }))
  })

/**
 * The wildcard matching of rule paths, for sandboxes that match other names the same way
 * (e.g. integration models by group code): `*` matches any run of characters, a lone `*`
 * matches everything, everything else is literal.
 *
 * @since 0.1.0
 */
export const matchesPattern: (pattern: string, text: string) => boolean = internal.pathMatches

/**
 * The fault service of one sandbox server.
 *
 * @since 0.1.0
 */
export interface Service {
  /** Adds rules after the existing ones; returns them as held (ids filled in). */
  readonly add: (rules: FaultRule | ReadonlyArray<FaultRule>) => Effect.Effect<ReadonlyArray<FaultEntry>>
  /** Parses the text syntax and adds the rules. */
  readonly addText: (text: string) => Effect.Effect<ReadonlyArray<FaultEntry>, FaultSyntaxError>
  /** Removes every rule. */
  readonly clear: Effect.Effect<void>
  /** Removes one rule by id; succeeds with whether it existed. */
  readonly remove: (id: string) => Effect.Effect<boolean>
  /** The rules in evaluation order, with their counters (exhausted ones included). */
  readonly list: Effect.Effect<ReadonlyArray<FaultEntry>>
  /**
   * Picks the rule that applies to a request, counting it: the first rule (in insertion order)
   * that matches, is past its `skip` and still has `times` left. A matching rule still skipping
   * counts the request and lets the next rules decide.
   */
  readonly take: (method: string, path: string) => Effect.Effect<Option.Option<FaultRule>>
}

/**
 * The fault service, for code that runs beside one sandbox. A server built with
 * `SandboxServer.make` owns its own instance (so two sandboxes in one process stay apart) and
 * hands it back in its handle.
 *
 * @since 0.1.0
 */
export class Faults extends Context.Tag("@relais/sandbox-kit/Faults")<Faults, Service>() {}

interface MutableEntry {
  readonly id: string
  readonly rule: FaultRule
  readonly matched: number
  readonly applied: number
}

interface State {
  readonly next: number
  readonly entries: ReadonlyArray<MutableEntry>
}

const toEntry = (entry: MutableEntry): FaultEntry =>
  new FaultEntry({
    id: entry.id,
    rule: entry.rule,
    matched: entry.matched,
    applied: entry.applied,
    ...(entry.rule.times === undefined ? {} : { remaining: Math.max(0, entry.rule.times - entry.applied) })
  })

/**
 * Builds a fault service holding `initial` rules.
 *
 * @since 0.1.0
 */
export const make = (initial: ReadonlyArray<FaultRule> = []): Effect.Effect<Service> =>
  Effect.gen(function*() {
    const state = yield* Ref.make<State>({ next: 1, entries: [] })

    const add = (rules: FaultRule | ReadonlyArray<FaultRule>) =>
      Ref.modify(state, (current) => {
        const list: ReadonlyArray<FaultRule> = Array.isArray(rules) ? rules : [rules as FaultRule]
        let next = current.next
        const added = list.map((rule): MutableEntry => {
          const id = rule.id ?? `fault-${next++}`
          return { id, rule: rule.id === undefined ? new FaultRule({ ...rule, id }) : rule, matched: 0, applied: 0 }
        })
        return [added.map(toEntry), { next, entries: [...current.entries, ...added] }] as const
      })

    const take = (method: string, path: string) =>
      Ref.modify(state, (current): readonly [Option.Option<FaultRule>, State] => {
        let chosen: Option.Option<FaultRule> = Option.none()
        const entries = current.entries.map((entry) => {
          if (Option.isSome(chosen) || !entry.rule.matches(method, path)) return entry
          const exhausted = entry.rule.times !== undefined && entry.applied >= entry.rule.times
          if (exhausted) return entry
          const matched = entry.matched + 1
          if (matched <= (entry.rule.skip ?? 0)) return { ...entry, matched }
          chosen = Option.some(entry.rule)
          return { ...entry, matched, applied: entry.applied + 1 }
        })
        return [chosen, { ...current, entries }]
      })

    const service: Service = {
      add,
      addText: (text) => Effect.flatMap(parse(text), add),
      clear: Ref.update(state, (current) => ({ ...current, entries: [] })),
      remove: (id) =>
        Ref.modify(state, (current) => {
          const entries = current.entries.filter((entry) => entry.id !== id)
          return [entries.length !== current.entries.length, { ...current, entries }] as const
        }),
      list: Effect.map(Ref.get(state), (current) => current.entries.map(toEntry)),
      take
    }
    if (initial.length > 0) yield* add(initial)
    return service
  })

/**
 * A layer for the `Faults` tag, holding `initial` rules.
 *
 * @since 0.1.0
 */
export const layer = (initial: ReadonlyArray<FaultRule> = []): Layer.Layer<Faults> =>
  Layer.effect(Faults, make(initial))
