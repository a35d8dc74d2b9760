/**
 * A plugin's configuration, read the same way wherever it comes from: a profile's section of
 * `relais.config.yaml` (`profiles.<name>.<key>`) or environment variables (`<PREFIX>_<FIELD>`),
 * decoded by the plugin's one `config` schema. So `CAMPUS_SKILLS_TIMEOUT=30s` and
 * `timeout: 30s` in a profile pass or fail the same check, with the same message.
 *
 * Names are derived from the plugin's name: `campus-skills` is the section `campusSkills` and
 * the variables `CAMPUS_SKILLS_URL`, `CAMPUS_SKILLS_TOKEN`, `CAMPUS_SKILLS_MAX_RESPONSE_BYTES`;
 * a nested field `rateLimit.perSecond` is `CAMPUS_SKILLS_RATE_LIMIT_PER_SECOND`.
 *
 * @since 0.1.0
 */
import { Effect, Either, Option, ParseResult, Redacted, Schema, SchemaAST } from "effect"
import * as JSONSchema from "effect/JSONSchema"
import type * as Plugin from "./Plugin.js"
import * as Redactor from "./Redactor.js"

/**
 * A leaf of a configuration schema.
 *
 * @since 0.1.0
 */
export interface Field {
  /** The keys from the section's root: `["rateLimit", "perSecond"]`. */
  readonly path: ReadonlyArray<string>
  /** A `Redacted` value: never shown, registered with the `Redactor`. */
  readonly secret: boolean
  /** How a value of this field is written as text (in an environment variable). */
  readonly kind: "string" | "number" | "boolean" | "json"
  readonly optional: boolean
  readonly description?: string | undefined
}

/**
 * The key of a plugin's section in a profile: its name in camel case (`campus-skills` ->
 * `campusSkills`).
 *
 * @since 0.1.0
 */
export const profileKey = (pluginName: string): string => pluginName.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/**
 * The prefix of a plugin's environment variables: its name in constant case (`campus-skills`
 * -> `CAMPUS_SKILLS`).
 *
 * @since 0.1.0
 */
export const envPrefix = (pluginName: string): string => pluginName.replace(/-/g, "_").toUpperCase()

const constantCase = (key: string): string =>
  key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/[-.\s]+/g, "_").toUpperCase()

/**
 * The environment variable of a field: `envName("aimaira", ["apiKey"])` is `AIMAIRA_API_KEY`.
 *
 * @since 0.1.0
 */
export const envName = (pluginName: string, path: ReadonlyArray<string>): string =>
  [envPrefix(pluginName), ...path.map(constantCase)].join("_")

const isRedacted = (ast: SchemaAST.AST): boolean => {
  const constructor = SchemaAST.getAnnotation<{ readonly _tag: string }>(ast, SchemaAST.TypeConstructorAnnotationId)
  return Option.isSome(constructor) && constructor.value._tag === "effect/Redacted"
}

/** The schema's type side, through refinements and transformations, looking for a `Redacted`. */
const holdsSecret = (ast: SchemaAST.AST): boolean => {
  switch (ast._tag) {
    case "Declaration":
      return isRedacted(ast)
    case "Transformation":
      return holdsSecret(ast.to)
    case "Refinement":
      return holdsSecret(ast.from)
    case "Union":
      return ast.types.some(holdsSecret)
    case "Suspend":
      return false
    default:
      return false
  }
}

/** How the encoded side is written as text. */
const kindOf = (ast: SchemaAST.AST): Field["kind"] => {
  switch (ast._tag) {
    case "StringKeyword":
    case "TemplateLiteral":
      return "string"
    case "NumberKeyword":
      return "number"
    case "BooleanKeyword":
      return "boolean"
    case "Literal":
      return typeof ast.literal === "number" ? "number" : typeof ast.literal === "boolean" ? "boolean" : "string"
    case "Enums":
      return ast.enums.every(([, v]) => typeof v === "number") ? "number" : "string"
    case "Refinement":
      return kindOf(ast.from)
    case "Transformation":
      return kindOf(ast.from)
    case "Union": {
      const kinds = new Set(ast.types.filter((t) => t._tag !== "UndefinedKeyword").map(kindOf))
      return kinds.size === 1 ? [...kinds][0]! : "json"
    }
    default:
      return "json"
  }
}

/** The object shape of an AST (through refinements and transformations, on the encoded side). */
const shapeOf = (ast: SchemaAST.AST): SchemaAST.TypeLiteral | undefined => {
  switch (ast._tag) {
    case "TypeLiteral":
      return ast
    case "Refinement":
      return shapeOf(ast.from)
    case "Transformation":
      return shapeOf(ast.from)
    case "Union": {
      // `Schema.optional(Schema.Struct(...))`: the struct or undefined.
      const defined = ast.types.filter((t) => t._tag !== "UndefinedKeyword")
      return defined.length === 1 ? shapeOf(defined[0]!) : undefined
    }
    default:
      return undefined
  }
}

/** A description someone wrote (not the default one of a keyword: "a string"). */
const descriptionOf = (ast: SchemaAST.AST | SchemaAST.PropertySignature): string | undefined =>
  "_tag" in ast && (ast._tag.endsWith("Keyword") || ast._tag === "Union" || ast._tag === "Declaration")
    ? undefined
    : Option.getOrUndefined(SchemaAST.getDescriptionAnnotation(ast))

/**
 * The leaves of a configuration schema (an object of objects), in declaration order.
 *
 * @since 0.1.0
 */
export const fields = (schema: Schema.Schema.Any): ReadonlyArray<Field> => {
  const out: Array<Field> = []
  const visit = (ast: SchemaAST.AST, path: ReadonlyArray<string>, optional: boolean) => {
    const encoded = SchemaAST.encodedAST(ast)
    const shape = shapeOf(encoded)
    if (shape === undefined) return
    const typed = shapeOf(ast)
    for (const property of shape.propertySignatures) {
      if (typeof property.name !== "string") continue
      const typedProperty = typed?.propertySignatures.find((p) => p.name === property.name)
      const child = [...path, property.name]
      const inner = property.type
      const nested = shapeOf(inner)
      // An object with fixed keys is walked; a record (`connections: { <name>: ... }`) is one
      // JSON value.
      if (
        nested !== undefined && nested.indexSignatures.length === 0 && typedProperty !== undefined &&
        shapeOf(typedProperty.type) !== undefined
      ) {
        visit(typedProperty.type, child, optional || property.isOptional)
        continue
      }
      out.push({
        path: child,
        secret: typedProperty !== undefined && holdsSecret(typedProperty.type),
        kind: kindOf(inner),
        optional: optional || property.isOptional,
        description: (typedProperty !== undefined ? descriptionOf(typedProperty) ?? descriptionOf(typedProperty.type) : undefined) ??
          descriptionOf(property) ?? descriptionOf(inner)
      })
    }
  }
  visit(schema.ast, [], false)
  return out
}

/**
 * A problem with a configuration, at a path of the section.
 *
 * @since 0.1.0
 */
export interface Issue {
  readonly path: ReadonlyArray<string>
  readonly message: string
}

/**
 * Decode a section (plain JSON, references already resolved) with the plugin's schema. Every
 * problem is reported, at its path; a problem's message never quotes a secret's value.
 *
 * @since 0.1.0
 */
export const decode = <Config>(
  schema: Schema.Schema<Config, any, never>,
  input: unknown
): Either.Either<Config, ReadonlyArray<Issue>> => {
  const result = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" })(input)
  if (Either.isRight(result)) return Either.right(result.right)
  const secretPaths = new Set(fields(schema).filter((f) => f.secret).map((f) => f.path.join(".")))
  // Secrets anywhere in the input (in a record of connections too), masked in every message.
  const secrets = [...secretValues(schema.ast, input)].filter((s) => s.length > 0).sort((a, b) => b.length - a.length)
  const mask = (text: string) => secrets.reduce((out, secret) => out.split(secret).join("<redacted>"), text)
  const issues = ParseResult.ArrayFormatter.formatErrorSync(result.left).map((issue): Issue => {
    const path = issue.path.map(String)
    const message = secretPaths.has(path.join("."))
      ? issue._tag === "Missing" ? "is missing" : "is not a valid value (not shown: it is a secret)"
      : mask(issue.message)
    return { path, message }
  })
  return Either.left(issues)
}

/**
 * The strings of an input that sit where the schema expects a `Redacted`: the schema and the
 * input walked together (objects, records, arrays, every member of a union).
 */
const secretValues = (ast: SchemaAST.AST, input: unknown, out = new Set<string>()): Set<string> => {
  switch (ast._tag) {
    case "Transformation":
      if (holdsSecret(ast.to) && !shapeOf(ast.to)) {
        if (typeof input === "string") out.add(input)
        return out
      }
      return secretValues(ast.from, input, out)
    case "Refinement":
      return secretValues(ast.from, input, out)
    case "Declaration":
      if (isRedacted(ast) && typeof input === "string") out.add(input)
      return out
    case "Union":
      for (const member of ast.types) secretValues(member, input, out)
      return out
    case "Suspend":
      return secretValues(ast.f(), input, out)
    case "TupleType":
      if (Array.isArray(input)) {
        for (const [i, item] of input.entries()) {
          const type = ast.elements[i]?.type ?? ast.rest[0]?.type
          if (type !== undefined) secretValues(type, item, out)
        }
      }
      return out
    case "TypeLiteral":
      if (input === null || typeof input !== "object") return out
      for (const property of ast.propertySignatures) {
        if (typeof property.name === "string" && property.name in input) {
          secretValues(property.type, (input as Record<string, unknown>)[property.name], out)
        }
      }
      for (const index of ast.indexSignatures) {
        for (const value of Object.values(input)) secretValues(index.type, value, out)
      }
      return out
    default:
      return out
  }
}

/**
 * Where each value of a section came from, by dotted path (`"env AIMAIRA_PASSWORD"`,
 * `"file secrets/key"`, `"relais.config.yaml"`), for `relais config`: sources, never values.
 *
 * @since 0.1.0
 */
export type Sources = Readonly<Record<string, string>>

/**
 * A plugin's section read from environment variables, or `None` when none of its variables is
 * set. Values are converted by the kind of their field (`30` is a number for a number field);
 * empty variables count as unset.
 *
 * @since 0.1.0
 */
export const fromEnv = (
  plugin: Pick<Plugin.Plugin, "name" | "config">,
  env: Readonly<Record<string, string | undefined>>
): Option.Option<{ readonly input: Record<string, unknown>; readonly sources: Sources; readonly issues: ReadonlyArray<Issue> }> => {
  if (plugin.config === undefined) return Option.none()
  const input: Record<string, unknown> = {}
  const sources: Record<string, string> = {}
  const issues: Array<Issue> = []
  for (const field of fields(plugin.config)) {
    const name = envName(plugin.name, field.path)
    const text = env[name]
    if (text === undefined || text === "") continue
    let value: unknown = text
    if (field.kind === "number") {
      const n = text.trim() === "" ? Number.NaN : Number(text)
      if (Number.isNaN(n)) issues.push({ path: field.path, message: `${name}: expected a number, got ${field.secret ? "a value not shown" : JSON.stringify(text)}` })
      value = n
    } else if (field.kind === "boolean") {
      if (text !== "true" && text !== "false") issues.push({ path: field.path, message: `${name}: expected true or false` })
      value = text === "true"
    } else if (field.kind === "json") {
      try {
        value = JSON.parse(text)
      } catch {
        issues.push({ path: field.path, message: `${name}: expected a JSON value` })
      }
    }
    let target = input
    for (const key of field.path.slice(0, -1)) {
      target = (target[key] ??= {}) as Record<string, unknown>
    }
    target[field.path[field.path.length - 1]!] = value
    sources[field.path.join(".")] = `env ${name}`
  }
  return Object.keys(sources).length === 0 ? Option.none() : Option.some({ input, sources, issues })
}

/**
 * Every `Redacted` value of a decoded configuration (at any depth), to register with the
 * `Redactor` before anything can print them.
 *
 * @since 0.1.0
 */
export const secretsOf = (config: unknown): ReadonlyArray<Redacted.Redacted<unknown>> => {
  const out: Array<Redacted.Redacted<unknown>> = []
  const seen = new Set<unknown>()
  const visit = (value: unknown) => {
    if (value === null || typeof value !== "object" || seen.has(value)) return
    seen.add(value)
    if (Redacted.isRedacted(value)) {
      out.push(value)
      return
    }
    for (const child of Array.isArray(value) ? value : Object.values(value)) visit(child)
  }
  visit(config)
  return out
}

/**
 * Register every secret of a decoded configuration with the `Redactor` (as text: a secret that
 * is not a string is registered as its JSON).
 *
 * @since 0.1.0
 */
export const registerSecrets = (config: unknown): Effect.Effect<void, never, Redactor.Redactor> => {
  const texts = secretTexts(config)
  return texts.length === 0 ? Effect.void : Redactor.register(...texts)
}

/**
 * The secrets of a decoded configuration ({@link secretsOf}) as the texts the `Redactor` masks.
 *
 * @since 0.1.0
 */
export const secretTexts = (config: unknown): ReadonlyArray<string> =>
  secretsOf(config).map((secret) => {
    const value = Redacted.value(secret)
    return typeof value === "string" ? value : JSON.stringify(value) ?? String(value)
  })

/**
 * The JSON Schema of a plugin's section (its encoded side), for the configuration file's
 * schema. Every string may also be written `{ env: NAME }` or `{ file: path }`.
 *
 * @since 0.1.0
 */
export const jsonSchema = (schema: Schema.Schema.Any): object => {
  const made = JSONSchema.make(Schema.encodedSchema(schema), { target: "jsonSchema7" }) as unknown as Record<string, unknown>
  const { $schema: _, ...rest } = made
  return withReferences(rest)
}

const reference = {
  type: "object",
  description: "read from an environment variable ({ env: NAME }) or a file ({ file: path }, relative to the configuration file)",
  oneOf: [
    { required: ["env"], properties: { env: { type: "string", pattern: "^[A-Za-z_][A-Za-z0-9_]*$" } }, additionalProperties: false },
    { required: ["file"], properties: { file: { type: "string", minLength: 1 } }, additionalProperties: false }
  ]
}

const withReferences = (node: unknown): any => {
  if (Array.isArray(node)) return node.map(withReferences)
  if (node === null || typeof node !== "object") return node
  const object = node as Record<string, unknown>
  if (object.type === "string" || object.type === "number" || object.type === "integer") {
    return { anyOf: [object, reference] }
  }
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, withReferences(v)]))
}
