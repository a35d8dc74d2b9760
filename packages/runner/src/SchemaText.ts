/**
 * JSON Schemas (as `Step.jsonSchemas` gives them) rendered as an aligned list of fields, for
 * `relais steps <name>`: name, type, whether it is required, constraints and description, with
 * nested objects indented, then the rules across fields (`x-relais-rules`: "give exactly one of
 * CiviliteId, CiviliteCode"), which a field-by-field list cannot show.
 *
 * @since 0.1.0
 */
import type { Style } from "./Style.js"

type Json = { readonly [key: string]: unknown }

const isObject = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value)

/**
 * A rule across fields, as `Step.jsonSchemas` lists it under `x-relais-rules`.
 *
 * @since 0.1.0
 */
export interface Rule {
  readonly fields: ReadonlyArray<string>
  readonly description: string
  readonly requiresOne: boolean
}

/**
 * The rules across fields of a JSON Schema object (`x-relais-rules`).
 *
 * @since 0.1.0
 */
export const rulesOf = (schema: unknown): ReadonlyArray<Rule> => {
  const list = isObject(schema) && Array.isArray(schema["x-relais-rules"]) ? schema["x-relais-rules"] : []
  return list.flatMap((rule): Array<Rule> =>
    isObject(rule) && typeof rule.description === "string" && Array.isArray(rule.fields)
      ? [{ fields: rule.fields.map(String), description: rule.description, requiresOne: rule.requiresOne === true }]
      : []
  )
}

interface Row {
  readonly name: string
  readonly type: string
  readonly notes: string
}

/**
 * The rows of a schema: one per field (nested fields indented), or a single row for a schema
 * that is not an object.
 *
 * @since 0.1.0
 */
export const rows = (schema: unknown, maxDepth = 4): ReadonlyArray<Row> => {
  const root = isObject(schema) ? schema : {}
  const defs = isObject(root.$defs) ? root.$defs : isObject(root.definitions) ? root.definitions : {}

  const deref = (s: unknown, seen: ReadonlySet<string> = new Set()): { readonly schema: Json; readonly name?: string } => {
    if (!isObject(s)) return { schema: {} }
    if (typeof s.$ref === "string") {
      const name = s.$ref.split("/").pop() ?? s.$ref
      const target = defs[name]
      if (seen.has(name) || !isObject(target)) return { schema: {}, name }
      const inner = deref(target, new Set([...seen, name]))
      return { schema: { ...inner.schema, ...(typeof s.description === "string" ? { description: s.description } : {}) }, name: inner.name ?? name }
    }
    return { schema: s }
  }

  const typeOf = (s: unknown, depth = 0): string => {
    const { schema: d, name } = deref(s)
    if (depth > 3) return name ?? "…"
    if (Array.isArray(d.enum)) {
      const values = d.enum.slice(0, 8).map((v) => JSON.stringify(v))
      return values.join(" | ") + (d.enum.length > 8 ? " | …" : "")
    }
    if (d.const !== undefined) return JSON.stringify(d.const)
    const union = Array.isArray(d.anyOf) ? d.anyOf : Array.isArray(d.oneOf) ? d.oneOf : undefined
    if (union !== undefined) return [...new Set(union.map((m) => typeOf(m, depth + 1)))].join(" | ")
    if (Array.isArray(d.type)) return d.type.join(" | ")
    if (d.type === "array") {
      const items = d.items === undefined ? "any" : typeOf(d.items, depth + 1)
      return `array of ${items.includes(" | ") ? `(${items})` : items}`
    }
    if (typeof d.type === "string") return d.type === "object" && name ? `${name} (object)` : d.type
    if (isObject(d.properties)) return name ? `${name} (object)` : "object"
    return name ?? "any"
  }

  const constraints = (d: Json): Array<string> => {
    const out: Array<string> = []
    if (typeof d.format === "string") out.push(`format ${d.format}`)
    if (typeof d.pattern === "string") out.push(`pattern ${d.pattern}`)
    if (typeof d.minLength === "number") out.push(`min length ${d.minLength}`)
    if (typeof d.maxLength === "number") out.push(`max length ${d.maxLength}`)
    if (typeof d.minimum === "number") out.push(`≥ ${d.minimum}`)
    if (typeof d.exclusiveMinimum === "number") out.push(`> ${d.exclusiveMinimum}`)
    if (typeof d.maximum === "number") out.push(`≤ ${d.maximum}`)
    if (typeof d.exclusiveMaximum === "number") out.push(`< ${d.exclusiveMaximum}`)
    if (typeof d.minItems === "number") out.push(`at least ${d.minItems} item${d.minItems === 1 ? "" : "s"}`)
    return out
  }

  /** The object whose fields should be listed under a field, if any. */
  const fieldsOf = (s: unknown): Json | undefined => {
    const { schema: d } = deref(s)
    if (isObject(d.properties)) return d
    if (d.type === "array" && d.items !== undefined) {
      const items = deref(d.items).schema
      if (isObject(items.properties)) return items
    }
    const union = Array.isArray(d.anyOf) ? d.anyOf : undefined
    if (union !== undefined) {
      const objects = union.map((m) => deref(m).schema).filter((m) => isObject(m.properties))
      if (objects.length === 1) return objects[0]
    }
    return undefined
  }

  const out: Array<Row> = []
  const walk = (object: Json, prefix: string, depth: number, seen: ReadonlySet<Json>) => {
    const properties = isObject(object.properties) ? object.properties : {}
    const required = new Set(Array.isArray(object.required) ? object.required.map(String) : [])
    const rules = rulesOf(object)
    for (const [key, value] of Object.entries(properties)) {
      const { schema: d } = deref(value)
      // A field that is optional alone but one of a required set: say so where it is listed.
      const oneOf = rules.find((r) => r.requiresOne && r.fields.includes(key))
      const notes = [
        required.has(key) ? "required" : oneOf !== undefined ? `required: one of ${oneOf.fields.join(", ")}` : "optional",
        ...constraints(d),
        ...(typeof d.description === "string" ? [d.description] : typeof d.title === "string" ? [d.title] : [])
      ]
      out.push({ name: `${prefix}${key}`, type: typeOf(value), notes: notes.join(", ") })
      const nested = fieldsOf(value)
      if (nested !== undefined && depth < maxDepth && !seen.has(nested)) walk(nested, `${prefix}  `, depth + 1, new Set([...seen, nested]))
    }
    for (const rule of rules) out.push({ name: `${prefix}(rule)`, type: "", notes: rule.description })
    if (object.additionalProperties !== undefined && object.additionalProperties !== false && isObject(object.additionalProperties)) {
      out.push({ name: `${prefix}<any key>`, type: typeOf(object.additionalProperties), notes: "" })
    }
  }
  const top = fieldsOf(root)
  if (top !== undefined) walk(top, "", 1, new Set([top]))
  else out.push({ name: "(value)", type: typeOf(root), notes: constraints(deref(root).schema).join(", ") })
  return out
}

/**
 * The rows as aligned lines.
 *
 * @since 0.1.0
 */
export const lines = (schema: unknown, style: Style, indent = "  "): ReadonlyArray<string> => {
  const all = rows(schema)
  if (all.length === 0) return [`${indent}${style.dim("(no fields)")}`]
  const nameWidth = Math.min(36, Math.max(...all.map((r) => r.name.length)))
  const typeWidth = Math.min(40, Math.max(...all.map((r) => r.type.length)))
  return all.map((r) =>
    `${indent}${r.name.padEnd(nameWidth)}  ${style.cyan(r.type.padEnd(typeWidth))}  ${style.dim(r.notes)}`.trimEnd()
  )
}
