/**
 * The JSON Schema of the workflow format, including each registered step's `with`, for
 * editors: with `# yaml-language-server: $schema=./relais.schema.json` at the top of a file,
 * VS Code's YAML extension completes keys and step names and checks `with` values.
 *
 * The format's part is derived from its Effect Schema (`Format.Workflow`); what is added here is
 * what only the registry knows: the step names `uses` takes, and each step's `with`.
 *
 * @since 0.1.0
 */
import type { Plugin } from "@relais/core"
import { Step } from "@relais/core"
import { JSONSchema } from "effect"
import * as SchemaText from "../SchemaText.js"
import * as Expression from "./Expression.js"
import * as Format from "./Format.js"

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value)

/**
 * The format's JSON Schema, made plain for editors that read draft-07: a `$ref` beside other
 * keywords (Effect's for `Schema.Int` with a range) is inlined, since draft-07 ignores those
 * keywords; `unknown` is `{}`; titles of Effect's own filters (`between(100, 599)`) go.
 */
const plain = (schema: unknown, defs: Json, inlined: Set<string>): unknown => {
  if (Array.isArray(schema)) return schema.map((s) => plain(s, defs, inlined))
  if (!isObject(schema)) return schema
  if (schema.$id === "/schemas/unknown") return {}
  const { $ref, ...rest } = schema
  if (typeof rest.title === "string") delete rest.title
  const out: Json = {}
  if (typeof $ref === "string" && Object.keys(rest).length > 0) {
    const name = $ref.replace(/^#\/\$defs\//, "")
    inlined.add(name)
    Object.assign(out, plain(defs[name], defs, inlined))
  } else if ($ref !== undefined) out.$ref = $ref
  for (const [key, value] of Object.entries(rest)) out[key] = plain(value, defs, inlined)
  return out
}

/** Let every value of a step's input be an expression too, and move its definitions. */
const withExpressions = (schema: unknown, expression: Json, rename: (ref: string) => string): unknown => {
  if (Array.isArray(schema)) return schema.map((s) => withExpressions(s, expression, rename))
  if (schema === null || typeof schema !== "object") return schema
  const source = schema as Json
  const out: Json = {}
  for (const [key, value] of Object.entries(source)) {
    if (key === "$schema" || key === "$defs") continue
    if (key === "$ref" && typeof value === "string") out[key] = rename(value)
    else if (key === "properties" && value !== null && typeof value === "object") {
      out[key] = Object.fromEntries(
        Object.entries(value as Json).map(([k, v]) => [k, { anyOf: [withExpressions(v, expression, rename), expression] }])
      )
    } else if (key === "items" || key === "additionalProperties") {
      out[key] = typeof value === "object" ? { anyOf: [withExpressions(value, expression, rename), expression] } : value
    } else out[key] = withExpressions(value, expression, rename)
  }
  return out
}

/**
 * Build the schema.
 *
 * @since 0.1.0
 */
export const make = (registry: Plugin.Registry): Json => {
  const generated = JSONSchema.make(Format.Workflow) as unknown as Json
  const { $schema: _, ...expression } = JSONSchema.make(Format.ExpressionText) as unknown as Json
  const generatedDefs = generated.$defs as Json
  const inlined = new Set<string>()
  const { $schema, $defs: _defs, ...document } = plain(generated, generatedDefs, inlined) as Json
  const defs: Json = Object.fromEntries(
    Object.entries(generatedDefs).map(([name, def]) => [name, plain(def, generatedDefs, inlined)])
  )
  for (const name of inlined) delete defs[name]

  const conditionals: Array<Json> = []
  for (const info of registry.steps) {
    const input = Step.jsonSchemas(info.step).input as Json
    const prefix = info.name.replace(/[^A-Za-z0-9]/g, "_")
    const rename = (ref: string) => ref.replace(/^#\/\$defs\//, `#/$defs/${prefix}__`)
    for (const [name, def] of Object.entries((input.$defs as Json | undefined) ?? {})) {
      defs[`${prefix}__${name}`] = withExpressions(def, expression, rename)
    }
    // Rules across fields (`x-relais-rules`, from the filters that enforce them) go into the
    // description an editor shows on hover; "one of these is required" is also checked as
    // you type. "Exactly one" is not: a field given `${{ inputs.x }}` may be null and left out.
    const { ["x-relais-rules"]: _rules, ...inputSchema } = withExpressions(input, expression, rename) as Json
    const rules = SchemaText.rulesOf(input)
    const requiresOne = rules.filter((r) => r.requiresOne).map((r) => ({ anyOf: r.fields.map((f) => ({ required: [f] })) }))
    conditionals.push({
      if: { properties: { uses: { const: info.name } }, required: ["uses"] },
      then: {
        properties: {
          with: {
            ...inputSchema,
            ...(requiresOne.length > 0
              ? { allOf: [...(Array.isArray(inputSchema.allOf) ? inputSchema.allOf : []), ...requiresOne] }
              : {}),
            description: [info.description, ...rules.map((r) => `Rule: ${r.description}.`)].join("\n")
          }
        }
      }
    })
  }
  // `uses` names a registered step; its `with` is that step's input.
  const names = registry.steps.map((s) => s.name)
  const properties = (def: unknown) => (def as { properties: Record<string, Json> }).properties
  properties(defs.step).uses = { ...properties(defs.step).uses, enum: names }
  properties(defs.compensate).uses = { ...properties(defs.compensate).uses, enum: names }
  if (conditionals.length > 0) (defs.step as Json).allOf = conditionals

  // A plugin's kind of trigger is written under the plugin's name, with its options.
  const trigger = defs.trigger as Json
  const triggerProperties = (trigger.properties ?? (trigger.properties = {})) as Json
  for (const plugin of registry.plugins) {
    if (plugin.trigger === undefined) continue
    const { $schema: _s, $defs: optionDefs, ...options } = JSONSchema.make(plugin.trigger.options) as unknown as Json
    const prefix = `${plugin.name.replace(/[^A-Za-z0-9]/g, "_")}__trigger__`
    const rename = (schema: unknown): unknown =>
      Array.isArray(schema)
        ? schema.map(rename)
        : isObject(schema)
        ? Object.fromEntries(Object.entries(schema).map(([k, v]) => [
          k,
          k === "$ref" && typeof v === "string" ? v.replace(/^#\/\$defs\//, `#/$defs/${prefix}`) : rename(v)
        ]))
        : schema
    for (const [name, def] of Object.entries((optionDefs as Json | undefined) ?? {})) defs[`${prefix}${name}`] = rename(def)
    triggerProperties[plugin.name] = { ...(rename(options) as Json), description: plugin.trigger.description }
  }

  return {
    $schema,
    $id: "https://relais.dev/schema/workflow-v1.json",
    title: generated.title,
    description: `A relais workflow (version 1). Expressions: ${Expression.functions.join(", ")}`,
    ...document,
    $defs: defs
  }
}
