/**
 * A small subset of JSON Schema, written inline in a workflow file to check the JSON an
 * `http/request` answers (`response:`): `type`, `properties`, `required`, `items`, `enum`,
 * `additionalProperties` (a boolean) and `description`. Enough to say "an object with a
 * numeric `id` and a list of strings", which is what a flow needs to rely on a service's answer;
 * anything else (`$ref`, `oneOf`, formats...) is refused, so a fragment never looks stricter
 * than it is.
 *
 * The fragment itself is checked when the step's `with` is read (before any request when it is
 * written literally): unknown keywords, `required` names that `properties` does not declare,
 * `items` or `properties` beside a `type` that cannot have them, `enum` values of another type.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * The JSON types a fragment names.
 *
 * @since 0.1.0
 */
export const TypeName = Schema.Literal("object", "array", "string", "number", "integer", "boolean", "null")

/**
 * @since 0.1.0
 */
export type TypeName = typeof TypeName.Type

/**
 * A fragment.
 *
 * @since 0.1.0
 */
export interface Fragment {
  readonly type?: TypeName | ReadonlyArray<TypeName>
  readonly properties?: { readonly [name: string]: Fragment }
  readonly required?: ReadonlyArray<string>
  readonly items?: Fragment
  readonly enum?: ReadonlyArray<string | number | boolean | null>
  readonly additionalProperties?: boolean
  readonly description?: string
}

const typesOf = (fragment: Fragment): ReadonlyArray<TypeName> | undefined =>
  fragment.type === undefined ? undefined : typeof fragment.type === "string" ? [fragment.type] : fragment.type

/** The JSON type of a value, as a fragment names it (an integral number is an integer). */
const typeOfValue = (value: unknown): TypeName | "other" =>
  value === null
    ? "null"
    : Array.isArray(value)
    ? "array"
    : typeof value === "string"
    ? "string"
    : typeof value === "boolean"
    ? "boolean"
    : typeof value === "number"
    ? Number.isInteger(value) ? "integer" : "number"
    : typeof value === "object"
    ? "object"
    : "other"

const accepts = (types: ReadonlyArray<TypeName>, value: unknown): boolean => {
  const actual = typeOfValue(value)
  return types.some((t) => t === actual || (t === "number" && actual === "integer"))
}

/** What is wrong with one node of a fragment (its children are checked as nodes of their own). */
const problems = (fragment: Fragment): ReadonlyArray<{ readonly path: ReadonlyArray<string>; readonly message: string }> => {
  const out: Array<{ path: ReadonlyArray<string>; message: string }> = []
  const types = typesOf(fragment)
  if (types !== undefined && types.length === 0) out.push({ path: ["type"], message: "list at least one type" })
  const can = (t: TypeName) => types === undefined || types.includes(t)
  if (!can("object")) {
    for (const key of ["properties", "required", "additionalProperties"] as const) {
      if (fragment[key] !== undefined) {
        out.push({ path: [key], message: `${key} only applies to objects, and type is ${JSON.stringify(fragment.type)}` })
      }
    }
  }
  if (!can("array") && fragment.items !== undefined) {
    out.push({ path: ["items"], message: `items only applies to arrays, and type is ${JSON.stringify(fragment.type)}` })
  }
  if (fragment.required !== undefined && fragment.properties !== undefined) {
    for (const name of fragment.required) {
      if (!Object.prototype.hasOwnProperty.call(fragment.properties, name)) {
        out.push({ path: ["required"], message: `"${name}" is required but not declared in properties` })
      }
    }
  }
  if (fragment.required !== undefined && new Set(fragment.required).size !== fragment.required.length) {
    out.push({ path: ["required"], message: "a name is listed twice" })
  }
  if (fragment.enum !== undefined) {
    if (fragment.enum.length === 0) out.push({ path: ["enum"], message: "list at least one value" })
    if (types !== undefined) {
      fragment.enum.forEach((value, i) => {
        if (!accepts(types, value)) {
          out.push({ path: ["enum", String(i)], message: `${JSON.stringify(value)} is not of type ${types.join(" or ")}` })
        }
      })
    }
  }
  return out
}

const JsonValue = Schema.Union(Schema.String, Schema.Number, Schema.Boolean, Schema.Null)

/**
 * The schema of a fragment: what `response:` accepts in a workflow file.
 *
 * @since 0.1.0
 */
export const Fragment: Schema.Schema<Fragment> = Schema.suspend(() =>
  Schema.Struct({
    type: Schema.optionalWith(Schema.Union(TypeName, Schema.Array(TypeName)), { exact: true }),
    properties: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Fragment }), { exact: true }),
    required: Schema.optionalWith(Schema.Array(Schema.String), { exact: true }),
    items: Schema.optionalWith(Fragment, { exact: true }),
    enum: Schema.optionalWith(Schema.Array(JsonValue), { exact: true }),
    additionalProperties: Schema.optionalWith(Schema.Boolean, { exact: true }),
    description: Schema.optionalWith(Schema.String, { exact: true })
  }).pipe(Schema.filter((fragment) => problems(fragment)))
).annotations({
  identifier: "JsonSchemaFragment",
  description: "a JSON Schema subset: type, properties, required, items, enum, additionalProperties (boolean), description"
})

/**
 * Where a value does not match a fragment.
 *
 * @since 0.1.0
 */
export interface Mismatch {
  /** Keys and indexes from the root of the value: `["items", 2, "id"]`. */
  readonly path: ReadonlyArray<string | number>
  readonly message: string
}

/**
 * At most this many mismatches are reported: enough to see what the service changed.
 *
 * @since 0.1.0
 */
export const maxMismatches = 10

const article: Record<TypeName | "other", string> = {
  object: "an object",
  array: "an array",
  string: "a string",
  number: "a number",
  integer: "an integer",
  boolean: "a boolean",
  null: "null",
  other: "a value that is not JSON"
}

const describe = (value: unknown): string => article[typeOfValue(value)]

/**
 * Check a JSON value against a fragment: every mismatch (up to {@link maxMismatches}), none
 * when it matches. Messages name types and keys, never quote a string of the value (the body
 * of an answer may hold personal data).
 *
 * @since 0.1.0
 */
export const validate = (fragment: Fragment, value: unknown): ReadonlyArray<Mismatch> => {
  const out: Array<Mismatch> = []
  const visit = (node: Fragment, current: unknown, path: ReadonlyArray<string | number>): void => {
    if (out.length >= maxMismatches) return
    const types = typesOf(node)
    if (types !== undefined && !accepts(types, current)) {
      out.push({ path, message: `expected ${types.join(" or ")}, got ${describe(current)}` })
      return
    }
    if (node.enum !== undefined && !node.enum.some((allowed) => allowed === current)) {
      const shown = node.enum.slice(0, 5).map((v) => JSON.stringify(v)).join(", ")
      out.push({ path, message: `expected one of ${shown}${node.enum.length > 5 ? ", ..." : ""}` })
      return
    }
    if (current !== null && typeof current === "object" && !Array.isArray(current)) {
      const object = current as Record<string, unknown>
      for (const name of node.required ?? []) {
        if (!Object.prototype.hasOwnProperty.call(object, name)) out.push({ path: [...path, name], message: "is missing" })
      }
      for (const [name, child] of Object.entries(object)) {
        const spec = node.properties !== undefined && Object.prototype.hasOwnProperty.call(node.properties, name)
          ? node.properties[name]
          : undefined
        if (spec !== undefined) visit(spec, child, [...path, name])
        else if (node.additionalProperties === false) out.push({ path: [...path, name], message: "is not expected" })
      }
    }
    if (Array.isArray(current) && node.items !== undefined) {
      current.forEach((item, i) => visit(node.items!, item, [...path, i]))
    }
  }
  visit(fragment, value, [])
  return out.slice(0, maxMismatches)
}

/**
 * `items[2].id`, or `(the body)` for the root.
 *
 * @since 0.1.0
 */
export const formatPath = (path: ReadonlyArray<string | number>): string => {
  if (path.length === 0) return "(the body)"
  return path.map((p, i) =>
    typeof p === "number" ? `[${p}]` : /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(p) ? (i === 0 ? p : `.${p}`) : `[${JSON.stringify(p)}]`
  ).join("")
}
