/**
 * The JSON Schema of the workflow format, including each registered step's `with`, for
 * editors: with `# yaml-language-server: $schema=./relais.schema.json` at the top of a file,
 * VS Code's YAML extension completes keys and step names and checks `with` values.
 *
 * @since 0.1.0
 */
import type { Plugin } from "@relais/core"
import { Step } from "@relais/core"
import * as SchemaText from "../SchemaText.js"
import * as Expression from "./Expression.js"
import * as Model from "./Model.js"

type Json = Record<string, unknown>

const expression: Json = {
  type: "string",
  pattern: "\\$\\{\\{.*\\}\\}",
  description: "An expression: ${{ inputs.x }}, ${{ steps.<id>.output.<field> }}"
}

const duration: Json = {
  anyOf: [
    { type: "string", pattern: "^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h)\\s*$" },
    { type: "number", minimum: 0 }
  ],
  description: "A duration: 500ms, 30s, 2m, 1h (or milliseconds)"
}

const retry: Json = {
  type: "object",
  additionalProperties: false,
  description: "Retry policy (overrides the step's default)",
  properties: {
    maxAttempts: { type: "integer", minimum: 1, maximum: 100, description: "Attempts in all, the first included" },
    backoff: { enum: ["constant", "linear", "exponential"] },
    initialDelay: duration,
    maxDelay: duration,
    factor: { type: "number", minimum: 1 },
    jitter: { type: "boolean" },
    retryOn: {
      type: "array",
      items: { anyOf: [{ type: "integer", minimum: 100, maximum: 599 }, { type: "string" }] },
      description: "HTTP statuses (429), 4xx, 5xx, timeout, or error names (Transport)"
    }
  }
}

/** Let every value of a step's input be an expression too, and move its definitions. */
const withExpressions = (schema: unknown, rename: (ref: string) => string): unknown => {
  if (Array.isArray(schema)) return schema.map((s) => withExpressions(s, rename))
  if (schema === null || typeof schema !== "object") return schema
  const source = schema as Json
  const out: Json = {}
  for (const [key, value] of Object.entries(source)) {
    if (key === "$schema" || key === "$defs") continue
    if (key === "$ref" && typeof value === "string") out[key] = rename(value)
    else if (key === "properties" && value !== null && typeof value === "object") {
      out[key] = Object.fromEntries(
        Object.entries(value as Json).map(([k, v]) => [k, { anyOf: [withExpressions(v, rename), expression] }])
      )
    } else if (key === "items" || key === "additionalProperties") {
      out[key] = typeof value === "object" ? { anyOf: [withExpressions(value, rename), expression] } : value
    } else out[key] = withExpressions(value, rename)
  }
  return out
}

/**
 * Build the schema.
 *
 * @since 0.1.0
 */
export const make = (registry: Plugin.Registry): Json => {
  const defs: Json = {}
  const conditionals: Array<Json> = []
  for (const info of registry.steps) {
    const input = Step.jsonSchemas(info.step).input as Json
    const prefix = info.name.replace(/[^A-Za-z0-9]/g, "_")
    const rename = (ref: string) => ref.replace(/^#\/\$defs\//, `#/$defs/${prefix}__`)
    for (const [name, def] of Object.entries((input.$defs as Json | undefined) ?? {})) {
      defs[`${prefix}__${name}`] = withExpressions(def, rename)
    }
    // Rules across fields (`x-relais-rules`, from the filters that enforce them) go into the
    // description an editor shows on hover; "one of these is required" is also checked as
    // you type. "Exactly one" is not: a field given `${{ inputs.x }}` may be null and left out.
    const { ["x-relais-rules"]: _rules, ...inputSchema } = withExpressions(input, rename) as Json
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
  const common = {
    id: { type: "string", pattern: "^[A-Za-z][A-Za-z0-9_-]*$", description: "Unique in the file; steps.<id>.output reads its output" },
    name: { type: "string" },
    description: { type: "string" },
    if: {
      anyOf: [expression, { type: "boolean" }],
      description: "Run this only when the expression is true. It must be true or false: compare a text, e.g. ${{ inputs.publish == 'true' }}"
    }
  }
  const node = { $ref: "#/$defs/node" }
  defs.node = {
    type: "object",
    required: ["id"],
    oneOf: [
      {
        required: ["uses"],
        additionalProperties: false,
        properties: {
          ...common,
          uses: { enum: registry.steps.map((s) => s.name), description: "The step to run (provider/step-name)" },
          with: { type: "object", description: "The step's inputs" },
          retry,
          timeout: duration,
          compensate: {
            anyOf: [
              { type: "boolean" },
              {
                type: "object",
                required: ["uses"],
                additionalProperties: false,
                properties: { uses: { enum: registry.steps.map((s) => s.name) }, with: { type: "object" } }
              }
            ],
            description: "true: the step's own compensation (default); false: none; { uses, with }: another step"
          }
        },
        allOf: conditionals
      },
      {
        required: ["forEach", "steps"],
        additionalProperties: false,
        properties: {
          ...common,
          forEach: { ...expression, description: "The list to iterate over" },
          as: { type: "string", description: "The loop variable (default: item)" },
          concurrency: { type: "integer", minimum: 1, maximum: 64 },
          onItemFailure: { enum: ["fail", "compensate-item", "continue"] },
          steps: { type: "array", items: node, minItems: 1 }
        }
      },
      {
        required: ["parallel"],
        additionalProperties: false,
        properties: { ...common, parallel: { type: "array", items: node, minItems: 2 } }
      },
      {
        required: ["steps"],
        not: { anyOf: [{ required: ["uses"] }, { required: ["forEach"] }, { required: ["parallel"] }] },
        additionalProperties: false,
        properties: { ...common, steps: { type: "array", items: node, minItems: 1 } }
      }
    ]
  }
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: "https://relais.dev/schema/workflow-v1.json",
    title: "relais workflow",
    description: `A relais workflow (version 1). Expressions: ${Expression.functions.join(", ")}`,
    type: "object",
    required: ["version", "name", "steps"],
    additionalProperties: false,
    properties: {
      version: { const: 1 },
      name: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*$" },
      description: { type: "string" },
      inputs: {
        type: "object",
        additionalProperties: {
          anyOf: [
            { enum: Model.inputTypes },
            {
              type: "object",
              required: ["type"],
              additionalProperties: false,
              properties: {
                type: { enum: Model.inputTypes },
                default: {},
                description: { type: "string" },
                required: { type: "boolean" },
                enum: { type: "array", items: { type: ["string", "number"] } }
              }
            }
          ]
        }
      },
      defaults: { type: "object", additionalProperties: false, properties: { retry, timeout: duration } },
      steps: { type: "array", items: node, minItems: 1 },
      outputs: { type: "object" }
    },
    $defs: defs
  }
}
