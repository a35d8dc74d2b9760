/**
 * Runs parsed OData query options against the store: checks every expression against the entity
 * model first (unknown properties, incompatible types and misplaced navigation properties are
 * 400s, even on an empty result), then filters, orders, pages and projects rows (`$select`,
 * nested `$expand`).
 */
import * as Dates from "./dates.js"
import { entities, type EntityDef, type FieldKind } from "./model.js"
import {
  type ComparisonOp,
  type ExpandItem,
  type Expr,
  type OrderItem,
  QueryError,
  type QueryOptions
} from "./odataParser.js"
import type { Row, Store } from "./store.js"

type ValueType = "string" | "number" | "boolean" | "date" | "null" | "array"

const kindType = (kind: FieldKind): ValueType => {
  switch (kind) {
    case "int":
    case "decimal":
      return "number"
    default:
      return kind === "string" ? "string" : kind === "boolean" ? "boolean" : kind === "date" ? "date" : "array"
  }
}

const edm: Record<ValueType, string> = {
  string: "Edm.String",
  number: "Edm.Decimal",
  boolean: "Edm.Boolean",
  date: "Edm.DateTimeOffset",
  null: "null",
  array: "Collection"
}

const opName: Record<string, string> = {
  eq: "Equal", ne: "NotEqual", gt: "GreaterThan", ge: "GreaterThanOrEqual", lt: "LessThan", le: "LessThanOrEqual",
  and: "And", or: "Or"
}

const noProperty = (entity: EntityDef, name: string): QueryError =>
  new QueryError(`Could not find a property named '${name}' on type 'GraphV1.${entity.name}'.`)

/** The type of a path, following single-valued navigation properties. */
const pathType = (entity: EntityDef, segments: ReadonlyArray<string>): ValueType => {
  let current = entity
  for (const [index, segment] of segments.entries()) {
    const last = index === segments.length - 1
    if (segment === "Id" && last) return "number"
    const field = current.fields[segment]
    if (field !== undefined) {
      if (!last) throw new QueryError(`'${segment}' on type 'GraphV1.${current.name}' is not a navigation property and cannot be followed by '/'.`)
      return kindType(field.kind)
    }
    const navigation = current.navigation[segment]
    if (navigation === undefined) throw noProperty(current, segment)
    if (navigation.kind === "many") {
      throw new QueryError(
        `The collection-valued navigation property '${segment}' cannot be used in an expression without any/all.`
      )
    }
    if (last) {
      throw new QueryError(`The navigation property '${segment}' cannot be compared; select one of its properties, e.g. '${segment}/Id'.`)
    }
    current = entities[navigation.target]
  }
  throw noProperty(current, segments.join("/"))
}

/** Checks an expression against the entity model and returns its type. */
export const typeOf = (entity: EntityDef, expr: Expr): ValueType => {
  switch (expr._tag) {
    case "Literal":
      if (expr.type === "date" && Dates.normalize(expr.value as string) === undefined) {
        throw new QueryError(`Invalid date literal '${String(expr.value)}' at position ${expr.pos}.`)
      }
      return expr.type
    case "Path":
      return pathType(entity, expr.segments)
    case "Not": {
      const operand = typeOf(entity, expr.operand)
      if (operand !== "boolean" && operand !== "null") {
        throw new QueryError(`The operand of 'not' at position ${expr.pos} must be a boolean, got ${edm[operand]}.`)
      }
      return "boolean"
    }
    case "Binary": {
      const left = typeOf(entity, expr.left)
      const right = typeOf(entity, expr.right)
      const incompatible = () =>
        new QueryError(
          `A binary operator with incompatible types was detected. Found operand types '${edm[left]}' and '${edm[right]}' for operator kind '${opName[expr.op]}' at position ${expr.pos}.`
        )
      if (expr.op === "and" || expr.op === "or") {
        if ((left !== "boolean" && left !== "null") || (right !== "boolean" && right !== "null")) throw incompatible()
        return "boolean"
      }
      if (left === "array" || right === "array") throw incompatible()
      if (left !== right && left !== "null" && right !== "null") throw incompatible()
      if ((expr.op !== "eq" && expr.op !== "ne") && (left === "boolean" || right === "boolean")) throw incompatible()
      return "boolean"
    }
    case "Call": {
      const args = expr.args.map((arg) => typeOf(entity, arg))
      const expect = (index: number, type: ValueType) => {
        const actual = args[index]
        if (actual !== type && actual !== "null") {
          throw new QueryError(
            `Argument ${index + 1} of '${expr.name}' at position ${expr.pos} must be ${edm[type]}, got ${edm[actual ?? "null"]}.`
          )
        }
      }
      switch (expr.name) {
        case "startswith":
        case "endswith":
        case "contains":
          expect(0, "string")
          expect(1, "string")
          return "boolean"
        case "tolower":
        case "toupper":
        case "trim":
          expect(0, "string")
          return "string"
        case "length":
          expect(0, "string")
          return "number"
        case "year":
        case "month":
        case "day":
          expect(0, "date")
          return "number"
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

type Value = string | number | boolean | null | ReadonlyArray<unknown>

/** A date compared as an instant: a wrapper so it never mixes with plain numbers. */
class Instant {
  constructor(readonly millis: number) {}
}

const fieldValue = (store: Store, entity: EntityDef, row: Row, segments: ReadonlyArray<string>): Value | Instant => {
  let current = entity
  let currentRow: Row | undefined = row
  for (const [index, segment] of segments.entries()) {
    if (currentRow === undefined) return null
    if (index === segments.length - 1) {
      const value = currentRow[segment] as Value | undefined
      if (value === undefined) return null
      if (current.fields[segment]?.kind === "date" && typeof value === "string") return new Instant(Dates.epochMillis(value))
      return value
    }
    const navigation = current.navigation[segment]!
    current = entities[navigation.target]
    currentRow = store.get(navigation.target, currentRow[navigation.fk])
  }
  return null
}

const evaluate = (store: Store, entity: EntityDef, row: Row, expr: Expr): Value | Instant => {
  switch (expr._tag) {
    case "Literal":
      return expr.type === "date" ? new Instant(Dates.epochMillis(Dates.normalize(expr.value as string)!)) : expr.value
    case "Path":
      return fieldValue(store, entity, row, expr.segments)
    case "Not": {
      const value = evaluate(store, entity, row, expr.operand)
      return value === null ? null : !value
    }
    case "Binary": {
      if (expr.op === "and") {
        return evaluate(store, entity, row, expr.left) === true && evaluate(store, entity, row, expr.right) === true
      }
      if (expr.op === "or") {
        return evaluate(store, entity, row, expr.left) === true || evaluate(store, entity, row, expr.right) === true
      }
      return compare(expr.op, evaluate(store, entity, row, expr.left), evaluate(store, entity, row, expr.right))
    }
    case "Call": {
      const args = expr.args.map((arg) => evaluate(store, entity, row, arg))
      const [a, b] = args
      if (args.some((arg) => arg === null)) {
        return expr.name === "startswith" || expr.name === "endswith" || expr.name === "contains" ? false : null
      }
      switch (expr.name) {
        case "startswith":
          return (a as string).startsWith(b as string)
        case "endswith":
          return (a as string).endsWith(b as string)
        case "contains":
          return (a as string).includes(b as string)
        case "tolower":
          return (a as string).toLowerCase()
        case "toupper":
          return (a as string).toUpperCase()
        case "trim":
          return (a as string).trim()
        case "length":
          return (a as string).length
        case "year":
        case "month":
        case "day": {
          const parts = Dates.parisParts(new Date((a as Instant).millis).toISOString())
          return parts[expr.name]
        }
      }
    }
  }
}

const comparable = (value: Value | Instant): string | number | boolean | null =>
  value instanceof Instant ? value.millis : Array.isArray(value) ? null : (value as string | number | boolean | null)

const compare = (op: ComparisonOp, leftValue: Value | Instant, rightValue: Value | Instant): boolean => {
  const left = comparable(leftValue)
  const right = comparable(rightValue)
  if (op === "eq") return left === right
  if (op === "ne") return left !== right
  if (left === null || right === null) return false
  switch (op) {
    case "gt":
      return left > right
    case "ge":
      return left >= right
    case "lt":
      return left < right
    case "le":
      return left <= right
  }
}

/** Nulls first, as OData orders them ascending. */
const orderValues = (a: Value | Instant, b: Value | Instant): number => {
  const x = comparable(a)
  const y = comparable(b)
  if (x === y) return 0
  if (x === null) return -1
  if (y === null) return 1
  return x < y ? -1 : 1
}

// ---------------------------------------------------------------------------------------------
// Checking a whole set of options before running them

const checkOptions = (entity: EntityDef, options: QueryOptions): void => {
  if (options.filter !== undefined) {
    const type = typeOf(entity, options.filter)
    if (type !== "boolean" && type !== "null") {
      throw new QueryError(`The $filter expression must evaluate to a boolean, got ${edm[type]}.`)
    }
  }
  for (const item of options.orderby ?? []) {
    const type = typeOf(entity, item.expr)
    if (type === "array") throw new QueryError(`Cannot order by a collection.`)
  }
  for (const name of options.select ?? []) {
    if (name === "*" || name === "Id") continue
    if (entity.fields[name] === undefined && entity.navigation[name] === undefined) throw noProperty(entity, name)
  }
  for (const item of options.expand ?? []) {
    const navigation = entity.navigation[item.navigation]
    if (navigation === undefined) {
      throw new QueryError(`Could not find a navigation property named '${item.navigation}' on type 'GraphV1.${entity.name}'.`)
    }
    const target = entities[navigation.target]
    if (navigation.kind === "one") {
      const nested = item.options
      if (nested.filter !== undefined || nested.orderby !== undefined || nested.top !== undefined || nested.skip !== undefined || nested.count !== undefined) {
        throw new QueryError(`Only $select and $expand apply to the single-valued navigation property '${item.navigation}'.`)
      }
    }
    checkOptions(target, item.options)
  }
}

/** Validates options against an entity; throws `QueryError`. */
export const check = (entity: EntityDef, options: QueryOptions): void => checkOptions(entity, options)

// ---------------------------------------------------------------------------------------------
// Running

export const filterRows = (store: Store, entity: EntityDef, rows: ReadonlyArray<Row>, filter: Expr | undefined): Array<Row> =>
  filter === undefined ? [...rows] : rows.filter((row) => evaluate(store, entity, row, filter) === true)

export const orderRows = (
  store: Store,
  entity: EntityDef,
  rows: Array<Row>,
  orderby: ReadonlyArray<OrderItem> | undefined
): Array<Row> => {
  const keys = orderby ?? []
  const keyed = rows.map((row) => ({ row, values: keys.map((item) => evaluate(store, entity, row, item.expr)) }))
  keyed.sort((a, b) => {
    for (const [index, item] of keys.entries()) {
      const order = orderValues(a.values[index]!, b.values[index]!)
      if (order !== 0) return item.direction === "desc" ? -order : order
    }
    return a.row.Id - b.row.Id
  })
  return keyed.map((entry) => entry.row)
}

/** The representation of a row under `$select`/`$expand`. */
export const project = (
  store: Store,
  entity: EntityDef,
  row: Row,
  options: Pick<QueryOptions, "select" | "expand">,
  extraExpand: ReadonlyArray<string> = []
): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  const select = options.select
  const all = select === undefined || select.includes("*")
  if (all || select.includes("Id")) out.Id = row.Id
  for (const [name, spec] of Object.entries(entity.fields)) {
    const wanted = all ? spec.hidden !== true : select.includes(name)
    if (wanted) out[name] = structuredClone(row[name])
  }
  const expand: Array<ExpandItem> = [...(options.expand ?? [])]
  for (const name of extraExpand) {
    if (!expand.some((item) => item.navigation === name)) expand.push({ navigation: name, options: {} })
  }
  for (const item of expand) {
    const navigation = entity.navigation[item.navigation]!
    const target = entities[navigation.target]
    if (navigation.kind === "one") {
      const related = store.get(navigation.target, row[navigation.fk])
      out[item.navigation] = related === undefined ? null : project(store, target, related, item.options)
    } else {
      const related = store.rows(navigation.target).filter((candidate) => candidate[navigation.fk] === row.Id)
      const filtered = orderRows(store, target, filterRows(store, target, related, item.options.filter), item.options.orderby)
      const skip = item.options.skip ?? 0
      const window = filtered.slice(skip, item.options.top === undefined ? undefined : skip + item.options.top)
      if (item.options.count === true) out[`${item.navigation}@odata.count`] = filtered.length
      out[item.navigation] = window.map((child) => project(store, target, child, item.options))
    }
  }
  return out
}

/** The `(…)` part of an `@odata.context` URL describing `$select` and `$expand`. */
export const contextProjection = (options: Pick<QueryOptions, "select" | "expand">, extraExpand: ReadonlyArray<string> = []): string => {
  const parts: Array<string> = [...(options.select ?? [])]
  const expanded = [...(options.expand ?? []).map((item) => item.navigation), ...extraExpand.filter((name) => !(options.expand ?? []).some((item) => item.navigation === name))]
  for (const name of expanded) {
    const nested = (options.expand ?? []).find((item) => item.navigation === name)?.options ?? {}
    parts.push(`${name}(${contextProjection(nested).slice(1, -1)})`)
  }
  return parts.length === 0 ? "" : `(${parts.join(",")})`
}

export interface Page {
  readonly rows: ReadonlyArray<Record<string, unknown>>
  readonly count: number
  /** Where the next page starts, when there is one: the new `$skip` and remaining `$top`. */
  readonly next?: { readonly skip: number; readonly top: number | undefined }
}

/** Filters, orders, counts, windows and pages a collection, then projects the page. */
export const runCollection = (
  store: Store,
  entity: EntityDef,
  candidates: ReadonlyArray<Row>,
  options: QueryOptions,
  pageSize: number,
  extraExpand: ReadonlyArray<string> = []
): Page => {
  const filtered = orderRows(store, entity, filterRows(store, entity, candidates, options.filter), options.orderby)
  const skip = options.skip ?? 0
  const window = filtered.slice(skip, options.top === undefined ? undefined : skip + options.top)
  const page = window.slice(0, pageSize)
  const rows = page.map((row) => project(store, entity, row, options, extraExpand))
  if (window.length > pageSize) {
    return {
      rows,
      count: filtered.length,
      next: { skip: skip + pageSize, top: options.top === undefined ? undefined : options.top - pageSize }
    }
  }
  return { rows, count: filtered.length }
}
