/**
 * OData query options built from values, never from strings glued by hand: field names are the
 * entity's declared fields (or validated paths), operators are functions, and literals are
 * rendered by type (strings quoted with `'` doubled, numbers checked finite, dates in the Paris
 * offset form). Anything that could render a malformed query is refused when it is built, with a
 * `RangeError` (a programming error, not a runtime condition).
 *
 * ```ts
 * const query = Query.from(Entities.Apprenant)
 *   .where((f) => f.and(f.eq("Nom", "D'ALMEIDA"), f.startsWith("Prenoms", "In")))
 *   .orderBy("Nom")
 *   .top(10)
 * // $filter=(Nom eq 'D''ALMEIDA') and (startswith(Prenoms,'In'))&$orderby=Nom asc&$top=10
 * ```
 *
 * @since 0.1.0
 */
import { Temporal } from "temporal-polyfill"
import type { FieldOf } from "./Entities.js"
import { format, midnight } from "./ParisDate.js"

// ---------------------------------------------------------------------------------------------
// Literals and paths

/**
 * A value that can appear in a filter.
 *
 * @since 0.1.0
 */
export type Literal = string | number | boolean | null | Temporal.ZonedDateTime | Temporal.PlainDate

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * A property path, possibly through navigation properties (`Sequence/TypeSequence/Code`).
 *
 * @since 0.1.0
 */
export interface Path {
  readonly _tag: "Path"
  readonly segments: ReadonlyArray<string>
}

/**
 * A path from its `/`-separated text; each segment must be an identifier.
 *
 * @since 0.1.0
 */
export const path = (text: string): Path => {
  const segments = text.split("/")
  for (const segment of segments) {
    if (!IDENTIFIER.test(segment)) throw new RangeError(`Invalid OData property path ${JSON.stringify(text)}`)
  }
  return { _tag: "Path", segments }
}

const identifier = (name: string, what: string): string => {
  if (!IDENTIFIER.test(name)) throw new RangeError(`Invalid OData ${what} ${JSON.stringify(name)}`)
  return name
}

/**
 * A string literal: quoted, with `'` doubled.
 *
 * @since 0.1.0
 */
export const quote = (value: string): string => `'${value.replace(/'/g, "''")}'`

/**
 * Renders a literal as OData text.
 *
 * @since 0.1.0
 */
export const renderLiteral = (value: Literal): string => {
  if (value === null) return "null"
  if (typeof value === "string") return quote(value)
  if (typeof value === "boolean") return value ? "true" : "false"
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new RangeError(`Cannot use ${value} in an OData filter`)
    return String(value)
  }
  if (value instanceof Temporal.ZonedDateTime) return format(value)
  if (value instanceof Temporal.PlainDate) return format(midnight(value))
  throw new RangeError(`Unsupported OData literal ${String(value)}`)
}

// ---------------------------------------------------------------------------------------------
// Filters

type Node =
  | { readonly _tag: "Compare"; readonly op: "eq" | "ne" | "gt" | "ge" | "lt" | "le"; readonly path: Path; readonly value: string }
  | { readonly _tag: "Call"; readonly fn: "startswith" | "endswith" | "contains"; readonly path: Path; readonly value: string }
  | { readonly _tag: "And" | "Or"; readonly operands: ReadonlyArray<Filter> }
  | { readonly _tag: "Not"; readonly operand: Filter }

/**
 * A filter expression. Build one with the functions of {@link Where}; render with {@link render}.
 *
 * @since 0.1.0
 */
export interface Filter {
  readonly _tag: "Filter"
  readonly node: Node
}

const node = (n: Node): Filter => ({ _tag: "Filter", node: n })

const renderPath = (p: Path): string => p.segments.join("/")

/**
 * Renders a filter. Every `and`/`or`/`not` operand is parenthesized, so precedence never depends
 * on the reader.
 *
 * @since 0.1.0
 */
export const render = (filter: Filter): string => {
  const n = filter.node
  switch (n._tag) {
    case "Compare":
      return `${renderPath(n.path)} ${n.op} ${n.value}`
    case "Call":
      return `${n.fn}(${renderPath(n.path)},${n.value})`
    case "And":
    case "Or":
      return n.operands.map((operand) => `(${render(operand)})`).join(n._tag === "And" ? " and " : " or ")
    case "Not":
      return `not (${render(n.operand)})`
  }
}

type Field<A> = FieldOf<A> | Path

type StringFieldOf<A> = { [K in FieldOf<A>]: A[K] extends string | null ? K : never }[FieldOf<A>]

/** The value a field accepts: its own type (branded ids stay branded). */
type ValueOf<A, F> = F extends Path ? Literal : F extends keyof A ? Extract<A[F], Literal> : never

/**
 * Typed filter constructors for an entity `A`: fields are `A`'s declared fields (or a `Path`
 * built with `path`), values have the field's type.
 *
 * @since 0.1.0
 */
export interface Where<A> {
  readonly eq: <F extends Field<A>>(field: F, value: ValueOf<A, F>) => Filter
  readonly ne: <F extends Field<A>>(field: F, value: ValueOf<A, F>) => Filter
  readonly gt: <F extends Field<A>>(field: F, value: ValueOf<A, F>) => Filter
  readonly ge: <F extends Field<A>>(field: F, value: ValueOf<A, F>) => Filter
  readonly lt: <F extends Field<A>>(field: F, value: ValueOf<A, F>) => Filter
  readonly le: <F extends Field<A>>(field: F, value: ValueOf<A, F>) => Filter
  readonly startsWith: (field: StringFieldOf<A> | Path, value: string) => Filter
  readonly endsWith: (field: StringFieldOf<A> | Path, value: string) => Filter
  readonly contains: (field: StringFieldOf<A> | Path, value: string) => Filter
  readonly and: (first: Filter, ...rest: ReadonlyArray<Filter>) => Filter
  readonly or: (first: Filter, ...rest: ReadonlyArray<Filter>) => Filter
  readonly not: (filter: Filter) => Filter
  /** A path through navigation properties, or a property the entity class does not declare. */
  readonly path: (text: string) => Path
}

const toPath = (field: string | Path): Path => (typeof field === "string" ? path(field) : field)

const compare = (op: "eq" | "ne" | "gt" | "ge" | "lt" | "le") => (field: string | Path, value: Literal): Filter =>
  node({ _tag: "Compare", op, path: toPath(field), value: renderLiteral(value) })

const call = (fn: "startswith" | "endswith" | "contains") => (field: string | Path, value: string): Filter => {
  if (typeof value !== "string") throw new RangeError(`${fn} expects a string, got ${String(value)}`)
  return node({ _tag: "Call", fn, path: toPath(field), value: quote(value) })
}

const where: Where<any> = {
  eq: compare("eq"),
  ne: compare("ne"),
  gt: compare("gt"),
  ge: compare("ge"),
  lt: compare("lt"),
  le: compare("le"),
  startsWith: call("startswith"),
  endsWith: call("endswith"),
  contains: call("contains"),
  and: (first, ...rest) => (rest.length === 0 ? first : node({ _tag: "And", operands: [first, ...rest] })),
  or: (first, ...rest) => (rest.length === 0 ? first : node({ _tag: "Or", operands: [first, ...rest] })),
  not: (operand) => node({ _tag: "Not", operand }),
  path
}

/**
 * The filter constructors for an entity, to build filters outside `Query.where`.
 *
 * @since 0.1.0
 */
export const filters = <A>(): Where<A> => where as Where<A>

// ---------------------------------------------------------------------------------------------
// Queries

interface Expand {
  readonly navigation: string
  readonly query: { readonly toParams: () => ReadonlyArray<readonly [string, string]> }
}

interface State {
  readonly filter?: Filter
  readonly select?: ReadonlyArray<string>
  readonly expand?: ReadonlyArray<Expand>
  readonly orderby?: ReadonlyArray<string>
  readonly top?: number
  readonly skip?: number
  readonly count?: boolean
}

const count = (value: number, what: string): number => {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative integer, got ${value}`)
  return value
}

/**
 * Query options for entity `A`. `Projected` becomes `true` with `$select`/`$expand`: such results
 * no longer have the entity's shape, so the client only accepts them with a schema of your own
 * (`listAs`/`streamAs`). Immutable: every method returns a new query.
 *
 * @since 0.1.0
 */
export class Query<A, Projected extends boolean = false> {
  /** @internal */
  constructor(readonly state: State) {}

  /** `$filter`; several `where` calls are combined with `and`. */
  where(f: (where: Where<A>) => Filter): Query<A, Projected> {
    const filter = f(where as Where<A>)
    return new Query({
      ...this.state,
      filter: this.state.filter === undefined ? filter : where.and(this.state.filter, filter)
    })
  }

  /** `$select`: declared fields, navigation properties (`Sequence`) or other property names. */
  select(...fields: ReadonlyArray<FieldOf<A> | (string & {})>): Query<A, true> {
    return new Query({ ...this.state, select: [...(this.state.select ?? []), ...fields.map((f) => identifier(f, "property name"))] })
  }

  /** `$expand` of a navigation property, with nested options. */
  expand(navigation: string, nested?: (query: Query<Record<string, unknown>>) => Query<Record<string, unknown>, boolean>): Query<A, true> {
    const inner = nested === undefined ? new Query<Record<string, unknown>>({}) : nested(new Query({}))
    return new Query({
      ...this.state,
      expand: [...(this.state.expand ?? []), { navigation: identifier(navigation, "navigation property"), query: inner }]
    })
  }

  /** `$orderby`; call again for further keys. */
  orderBy(field: FieldOf<A> | Path, direction: "asc" | "desc" = "asc"): Query<A, Projected> {
    const rendered = `${renderPath(toPath(field as string | Path))} ${direction === "desc" ? "desc" : "asc"}`
    return new Query({ ...this.state, orderby: [...(this.state.orderby ?? []), rendered] })
  }

  /** `$top`. */
  top(n: number): Query<A, Projected> {
    return new Query({ ...this.state, top: count(n, "$top") })
  }

  /** `$skip`. */
  skip(n: number): Query<A, Projected> {
    return new Query({ ...this.state, skip: count(n, "$skip") })
  }

  /** `$count=true`: the total is returned with the first page (`Page.count`). */
  withCount(): Query<A, Projected> {
    return new Query({ ...this.state, count: true })
  }

  /** The query options as name/value pairs, unencoded. */
  toParams(): ReadonlyArray<readonly [string, string]> {
    const s = this.state
    const out: Array<readonly [string, string]> = []
    if (s.filter !== undefined) out.push(["$filter", render(s.filter)])
    if (s.select !== undefined) out.push(["$select", s.select.join(",")])
    if (s.expand !== undefined) out.push(["$expand", s.expand.map(renderExpand).join(",")])
    if (s.orderby !== undefined) out.push(["$orderby", s.orderby.join(",")])
    if (s.top !== undefined) out.push(["$top", String(s.top)])
    if (s.skip !== undefined) out.push(["$skip", String(s.skip)])
    if (s.count === true) out.push(["$count", "true"])
    return out
  }

  /** The query string, URL-encoded, without `?` ("" when empty). */
  toSearch(): string {
    return new URLSearchParams(this.toParams() as Array<[string, string]>).toString()
  }
}

const renderExpand = (expand: Expand): string => {
  const options = expand.query.toParams().map(([name, value]) => `${name}=${value}`)
  return options.length === 0 ? expand.navigation : `${expand.navigation}(${options.join(";")})`
}

/**
 * An empty query for an entity class (the class only fixes the type).
 *
 * @since 0.1.0
 */
export const from = <A>(_entity: { readonly entitySet: string } & (abstract new(...args: any) => A)): Query<A> =>
  new Query<A>({})

/**
 * An empty query for a type.
 *
 * @since 0.1.0
 */
export const make = <A>(): Query<A> => new Query<A>({})
