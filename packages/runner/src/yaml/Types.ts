/**
 * The types the checker reasons with: a small structural description of JSON values, derived
 * from the encoded side of Effect schemas (what a step's `with` must look like, what its output
 * looks like in expressions).
 *
 * @since 0.1.0
 */
import { Option, Schema, SchemaAST } from "effect"

/**
 * @since 0.1.0
 */
export type Type =
  | { readonly _tag: "Unknown" }
  | { readonly _tag: "Never" }
  | { readonly _tag: "Null" }
  | { readonly _tag: "Boolean" }
  | { readonly _tag: "Number"; readonly integer: boolean }
  | { readonly _tag: "String" }
  | { readonly _tag: "Literal"; readonly value: string | number | boolean }
  | { readonly _tag: "Array"; readonly element: Type }
  | {
    readonly _tag: "Object"
    readonly fields: ReadonlyMap<string, Field>
    /** The type of other keys, for records; `undefined` when no other key is allowed. */
    readonly rest: Type | undefined
  }
  | { readonly _tag: "Union"; readonly members: ReadonlyArray<Type> }

/**
 * @since 0.1.0
 */
export interface Field {
  readonly type: Type
  readonly optional: boolean
  readonly description?: string | undefined
}

/** @since 0.1.0 */
export const unknown: Type = { _tag: "Unknown" }
/** @since 0.1.0 */
export const never: Type = { _tag: "Never" }
/** @since 0.1.0 */
export const nullType: Type = { _tag: "Null" }
/** @since 0.1.0 */
export const boolean: Type = { _tag: "Boolean" }
/** @since 0.1.0 */
export const number: Type = { _tag: "Number", integer: false }
/** @since 0.1.0 */
export const integer: Type = { _tag: "Number", integer: true }
/** @since 0.1.0 */
export const string: Type = { _tag: "String" }
/** @since 0.1.0 */
export const literal = (value: string | number | boolean): Type => ({ _tag: "Literal", value })
/** @since 0.1.0 */
export const array = (element: Type): Type => ({ _tag: "Array", element })
/** @since 0.1.0 */
export const object = (fields: Record<string, Field | Type>, rest?: Type): Type => ({
  _tag: "Object",
  fields: new Map(
    Object.entries(fields).map(([k, v]) => [k, "_tag" in v ? { type: v as Type, optional: false } : v as Field])
  ),
  rest
})

/**
 * A union, flattened and without duplicates; `Unknown` absorbs everything.
 *
 * @since 0.1.0
 */
export const union = (members: ReadonlyArray<Type>): Type => {
  const flat: Array<Type> = []
  const shown = new Set<string>()
  const elements: Array<Type> = []
  let lists = 0
  const push = (t: Type) => {
    if (t._tag === "Union") t.members.forEach(push)
    else if (t._tag === "Array") {
      // A list of A or a list of B is a list of A | B: `x ?? []` stays a list (the empty list
      // literal is a list of nothing), so list functions accept it.
      if (lists++ === 0) flat.push(t)
      elements.push(t.element)
    } else if (t._tag !== "Never") {
      // A set of the shown types rather than a scan of `flat`: a list of thousands of distinct
      // values in a file must not take quadratic time to type.
      const key = show(t)
      if (!shown.has(key)) {
        shown.add(key)
        flat.push(t)
      }
    }
  }
  members.forEach(push)
  if (lists > 1) {
    const at = flat.findIndex((m) => m._tag === "Array")
    flat[at] = array(union(elements))
  }
  if (flat.some((m) => m._tag === "Unknown")) return unknown
  if (flat.length === 0) return never
  if (flat.length === 1) return flat[0]!
  return { _tag: "Union", members: flat }
}

/**
 * @since 0.1.0
 */
export const nullable = (t: Type): Type => union([t, nullType])

/**
 * Whether a value of this type may be null: an optional input without a default, the output
 * of a step with `if:` (null when it was skipped), an optional field, `first` of a list.
 *
 * @since 0.1.0
 */
export const isNullable = (t: Type): boolean =>
  t._tag === "Null" || (t._tag === "Union" && t.members.some((m) => m._tag === "Null"))

/**
 * The type without its null (what is left after `?? default`).
 *
 * @since 0.1.0
 */
export const nonNull = (t: Type): Type =>
  t._tag === "Union" ? union(t.members.filter((m) => m._tag !== "Null")) : t._tag === "Null" ? never : t

/**
 * Whether every value of this type is a whole number (an index, `loop.index`, `length(...)`).
 *
 * @since 0.1.0
 */
export const isInteger = (t: Type): boolean =>
  t._tag === "Number"
    ? t.integer
    : t._tag === "Literal"
    ? typeof t.value === "number" && Number.isSafeInteger(t.value)
    : t._tag === "Union"
    ? t.members.every(isInteger)
    : false

/**
 * How a type reads in messages: `string`, `number`, `{ Id: number, Nom: string }`,
 * `array of { ... }`, `"APP" | "STA"`.
 *
 * @since 0.1.0
 */
export const show = (t: Type, depth = 0): string => {
  switch (t._tag) {
    case "Unknown":
      return "any value"
    case "Never":
      return "nothing"
    case "Null":
      return "null"
    case "Boolean":
      return "boolean"
    case "Number":
      return t.integer ? "integer" : "number"
    case "String":
      return "string"
    case "Literal":
      return JSON.stringify(t.value)
    case "Array":
      return `array of ${show(t.element, depth + 1)}`
    case "Object": {
      if (depth > 0) return "object"
      const keys = [...t.fields.keys()]
      const shown = keys.slice(0, 6).map((k) => `${k}${t.fields.get(k)!.optional ? "?" : ""}`)
      return `object { ${shown.join(", ")}${keys.length > 6 ? ", ..." : ""} }`
    }
    case "Union":
      return t.members.map((m) => show(m, depth + 1)).join(" | ")
  }
}

// -----------------------------------------------------------------------------
// From schemas
// -----------------------------------------------------------------------------

/**
 * The type of a schema's encoded side (what JSON looks like).
 *
 * @since 0.1.0
 */
export const fromSchema = (schema: Schema.Schema.Any): Type => fromAst(schema.ast, "encoded", new Map(), 0)

/**
 * The type of a schema's decoded side, as far as JSON can tell.
 *
 * @since 0.1.0
 */
export const fromAst = (
  ast: SchemaAST.AST,
  side: "encoded" | "type",
  seen: Map<SchemaAST.AST, Type>,
  depth: number
): Type => {
  if (depth > 12) return unknown
  const go = (a: SchemaAST.AST) => fromAst(a, side, seen, depth + 1)
  switch (ast._tag) {
    case "StringKeyword":
    case "TemplateLiteral":
      return string
    case "NumberKeyword":
      return number
    case "BooleanKeyword":
      return boolean
    case "BigIntKeyword":
      return side === "encoded" ? string : number
    case "Literal":
      return ast.literal === null
        ? nullType
        : typeof ast.literal === "bigint"
        ? number
        : literal(ast.literal)
    case "UndefinedKeyword":
    case "VoidKeyword":
      return nullType
    case "NeverKeyword":
      return never
    case "UnknownKeyword":
    case "AnyKeyword":
    case "ObjectKeyword":
    case "Declaration":
    case "SymbolKeyword":
    case "UniqueSymbol":
      return unknown
    case "Enums":
      return union(ast.enums.map(([, value]) => literal(value)))
    case "Refinement": {
      const from = go(ast.from)
      // Integers are worth keeping: `apprenantId: 1.5` is a mistake worth reporting.
      if (from._tag === "Number" && isIntRefinement(ast)) return integer
      return from
    }
    case "Transformation":
      return side === "encoded" ? go(ast.from) : go(ast.to)
    case "Suspend": {
      const cached = seen.get(ast)
      if (cached) return cached
      seen.set(ast, unknown)
      const resolved = go(ast.f())
      seen.set(ast, resolved)
      return resolved
    }
    case "Union":
      return union(ast.types.map(go))
    case "TupleType": {
      const elements = [...ast.elements.map((e) => go(e.type)), ...ast.rest.map((r) => go(r.type))]
      return array(union(elements))
    }
    case "TypeLiteral": {
      const fields = new Map<string, Field>()
      for (const property of ast.propertySignatures) {
        if (typeof property.name !== "string") continue
        // `optional` keys carry `undefined` in their type: strip it (optionality says it), but
        // keep a real `null` (`optional(NullOr(...))`).
        const propertyAst = property.isOptional && property.type._tag === "Union"
          ? stripUndefined(property.type)
          : property.type
        const type = go(propertyAst)
        const withoutUndefined = type
        const description = Option.getOrUndefined(SchemaAST.getDescriptionAnnotation(property))
          ?? Option.getOrUndefined(SchemaAST.getDescriptionAnnotation(property.type))
        fields.set(property.name, {
          type: property.isOptional ? withoutUndefined : type,
          optional: property.isOptional,
          description
        })
      }
      const rest = ast.indexSignatures.length > 0 ? union(ast.indexSignatures.map((s) => go(s.type))) : undefined
      return { _tag: "Object", fields, rest }
    }
  }
}

const stripUndefined = (ast: SchemaAST.Union): SchemaAST.AST => {
  const members = ast.types.filter((t) => t._tag !== "UndefinedKeyword")
  return members.length === ast.types.length ? ast : members.length === 1 ? members[0]! : SchemaAST.Union.make(members)
}

const isIntRefinement = (ast: SchemaAST.Refinement): boolean => {
  const id = ast.annotations[SchemaAST.SchemaIdAnnotationId]
  const jsonSchema = ast.annotations[SchemaAST.JSONSchemaAnnotationId] as { type?: string } | undefined
  return id === Schema.IntSchemaId || jsonSchema?.type === "integer"
}

// -----------------------------------------------------------------------------
// Relations
// -----------------------------------------------------------------------------

/**
 * Why a value of type `source` cannot go where `target` is expected, or `undefined` when it
 * can. Lenient where the static type is unknown: the value is checked again at run time.
 *
 * @since 0.1.0
 */
export const mismatch = (source: Type, target: Type): string | undefined => {
  if (target._tag === "Unknown" || source._tag === "Unknown" || source._tag === "Never") return undefined
  if (source._tag === "Union") {
    for (const member of source.members) {
      const problem = mismatch(member, target)
      if (problem !== undefined) {
        return member._tag === "Null"
          ? `it may be null (a skipped step, or a missing value): use ?? to give a default`
          : problem
      }
    }
    return undefined
  }
  if (target._tag === "Union") {
    return target.members.some((m) => mismatch(source, m) === undefined)
      ? undefined
      : `expected ${show(target)}, got ${show(source)}`
  }
  const fail = `expected ${show(target)}, got ${show(source)}`
  switch (target._tag) {
    case "Never":
      return fail
    case "Null":
      return source._tag === "Null" ? undefined : fail
    case "Boolean":
      return source._tag === "Boolean" || (source._tag === "Literal" && typeof source.value === "boolean")
        ? undefined
        : fail
    case "Number":
      if (source._tag === "Number") return target.integer && !source.integer ? undefined : undefined
      if (source._tag === "Literal" && typeof source.value === "number") {
        return target.integer && !Number.isInteger(source.value) ? `expected an integer, got ${source.value}` : undefined
      }
      return fail
    case "String":
      return source._tag === "String" || (source._tag === "Literal" && typeof source.value === "string")
        ? undefined
        : fail
    case "Literal":
      if (source._tag === "Literal") return source.value === target.value ? undefined : fail
      // A string where a literal is expected is checked at run time.
      if (source._tag === "String" && typeof target.value === "string") return undefined
      if (source._tag === "Number" && typeof target.value === "number") return undefined
      if (source._tag === "Boolean" && typeof target.value === "boolean") return undefined
      return fail
    case "Array":
      if (source._tag !== "Array") return fail
      {
        const inner = mismatch(source.element, target.element)
        return inner === undefined ? undefined : `in the items: ${inner}`
      }
    case "Object": {
      if (source._tag !== "Object") return fail
      for (const [key, field] of target.fields) {
        const provided = source.fields.get(key)
        if (provided === undefined) {
          if (!field.optional && source.rest === undefined) return `the field ${key} is missing`
          continue
        }
        const inner = mismatch(provided.type, field.type)
        if (inner !== undefined) return `${key}: ${inner}`
      }
      if (target.rest === undefined) {
        for (const key of source.fields.keys()) {
          if (!target.fields.has(key)) return `unexpected field ${key}`
        }
      }
      return undefined
    }
  }
}

/**
 * The type of a property of a value of type `t`, or a reason why it has none.
 *
 * @since 0.1.0
 */
export const property = (
  t: Type,
  key: string
): { readonly type: Type } | { readonly error: string; readonly candidates: ReadonlyArray<string> } => {
  switch (t._tag) {
    case "Unknown":
      return { type: unknown }
    case "Object": {
      const field = t.fields.get(key)
      if (field) return { type: field.optional ? nullable(field.type) : field.type }
      if (t.rest) return { type: nullable(t.rest) }
      return { error: `has no field "${key}"`, candidates: [...t.fields.keys()] }
    }
    case "Union": {
      const results = t.members.filter((m) => m._tag !== "Null").map((m) => property(m, key))
      const errors = results.filter((r): r is { error: string; candidates: ReadonlyArray<string> } => "error" in r)
      if (errors.length === results.length && errors.length > 0) return errors[0]!
      const types = results.filter((r): r is { type: Type } => "type" in r).map((r) => r.type)
      const hasNull = t.members.some((m) => m._tag === "Null")
      return { type: union(hasNull ? [...types, nullType] : types) }
    }
    case "Array":
      if (key === "length") return { type: integer }
      return { error: `is a list: use [index] to pick an item`, candidates: [] }
    default:
      return { error: `is a ${show(t)}, which has no fields`, candidates: [] }
  }
}

/**
 * The type of an item of a value of type `t`.
 *
 * @since 0.1.0
 */
export const element = (t: Type): { readonly type: Type } | { readonly error: string } => {
  switch (t._tag) {
    case "Unknown":
      return { type: unknown }
    case "Array":
      // An index past the end is a located error at run time, not a null: requiring
      // `?? default` after every `[0]` would make workflows unreadable.
      return { type: t.element }
    case "Union": {
      const results = t.members.filter((m) => m._tag !== "Null").map(element)
      const types = results.filter((r): r is { type: Type } => "type" in r).map((r) => r.type)
      if (types.length === 0) return { error: `is a ${show(t)}, not a list` }
      // An item of a list that may be null (a skipped step's output) may be null too: at run
      // time `[0]` of null reads null.
      return { type: union(isNullable(t) ? [...types, nullType] : types) }
    }
    case "Object":
      return t.rest ? { type: nullable(t.rest) } : { error: "is an object: use .field to pick a field" }
    default:
      return { error: `is a ${show(t)}, not a list` }
  }
}

/**
 * The type of a JSON value.
 *
 * @since 0.1.0
 */
export const ofValue = (value: unknown): Type => {
  if (value === null || value === undefined) return nullType
  if (typeof value === "string") return string
  if (typeof value === "number") return Number.isInteger(value) ? integer : number
  if (typeof value === "boolean") return boolean
  if (Array.isArray(value)) return array(union(value.map(ofValue)))
  if (typeof value === "object") {
    const fields: Record<string, Type> = {}
    for (const [k, v] of Object.entries(value)) fields[k] = ofValue(v)
    return object(fields)
  }
  return unknown
}
