/**
 * A workflow file read into a model that keeps every position, for the semantic checks that
 * follow (`Check.ts`). The format itself is described once, in `Format.ts`: this reader walks
 * the located YAML tree along that schema, so which keys exist where, their types, the required
 * ones, unknown keys with "did you mean" and every message come from there. What is left here is
 * where things are (positions), the defaults, and how the four kinds of steps are told apart.
 *
 * @since 0.1.0
 */
import { Suggest } from "@relais/core"
import { Either, Option, ParseResult, Schema, SchemaAST } from "effect"
import { globalValue } from "effect/GlobalValue"
import * as Cron from "../schedule/Cron.js"
import * as Expression from "./Expression.js"
import * as Format from "./Format.js"
import * as Source from "./Source.js"

type Pos = Source.Pos

/**
 * A problem found in a file (position and message).
 *
 * @since 0.1.0
 */
export interface Problem {
  readonly pos: Pos
  readonly message: string
}

/**
 * A string value of the file, parsed as a template.
 *
 * @since 0.1.0
 */
export interface Text {
  readonly pos: Pos
  readonly quoted: boolean
  readonly raw: string
  readonly template: Expression.Template
}

/**
 * The declared type of a workflow input.
 *
 * @since 0.1.0
 */
export type InputType = Format.InputType

/**
 * @since 0.1.0
 */
export interface Input {
  readonly name: string
  readonly pos: Pos
  readonly type: InputType
  readonly required: boolean
  readonly default?: unknown
  readonly description?: string | undefined
  readonly enum?: ReadonlyArray<string | number> | undefined
}

/**
 * A retry override: any subset of a policy's fields.
 *
 * @since 0.1.0
 */
export interface RetryPatch {
  readonly pos: Pos
  readonly maxAttempts?: number | undefined
  readonly backoff?: "constant" | "linear" | "exponential" | undefined
  readonly initialDelayMillis?: number | undefined
  readonly maxDelayMillis?: number | undefined
  readonly factor?: number | undefined
  readonly jitter?: boolean | undefined
  readonly retryOn?: ReadonlyArray<number | string> | undefined
}

/**
 * @since 0.1.0
 */
export type Node = StepNode | ForEachNode | ParallelNode | GroupNode

interface NodeBase {
  readonly id: string
  readonly pos: Pos
  readonly idPos: Pos
  readonly name?: string | undefined
  readonly description?: string | undefined
  readonly if?: Text | undefined
}

/**
 * @since 0.1.0
 */
export interface StepNode extends NodeBase {
  readonly kind: "step"
  readonly uses: string
  readonly usesPos: Pos
  readonly with: Source.Value | undefined
  /** Where `with:` is, when present (even if it is not a mapping). */
  readonly withPos?: Pos | undefined
  readonly retry?: RetryPatch | undefined
  readonly timeoutMillis?: number | undefined
  readonly compensate: "default" | "off" | CompensateWith
}

/**
 * A compensation that runs another step.
 *
 * @since 0.1.0
 */
export interface CompensateWith {
  readonly pos: Pos
  readonly uses: string
  readonly usesPos: Pos
  readonly with: Source.Value | undefined
  /** Where `with:` is, when present (even if it is not a mapping). */
  readonly withPos?: Pos | undefined
}

/**
 * @since 0.1.0
 */
export type OnItemFailure = "fail" | "compensate-item" | "continue"

/**
 * @since 0.1.0
 */
export interface ForEachNode extends NodeBase {
  readonly kind: "forEach"
  readonly over: Text
  readonly as: string
  readonly asPos: Pos
  readonly concurrency: number
  readonly onItemFailure: OnItemFailure
  readonly steps: ReadonlyArray<Node>
}

/**
 * @since 0.1.0
 */
export interface ParallelNode extends NodeBase {
  readonly kind: "parallel"
  readonly branches: ReadonlyArray<Node>
}

/**
 * @since 0.1.0
 */
export interface GroupNode extends NodeBase {
  readonly kind: "group"
  readonly steps: ReadonlyArray<Node>
}

/**
 * A trigger of the workflow: a schedule, or a plugin's kind of trigger (its options are checked
 * against the plugin by `Check.ts`).
 *
 * @since 0.1.0
 */
export type TriggerNode = ScheduleNode | PluginTriggerNode

/**
 * @since 0.1.0
 */
export interface ScheduleNode {
  readonly kind: "schedule"
  /** Its position in `triggers:` (0-based). */
  readonly index: number
  readonly pos: Pos
  readonly name?: string | undefined
  readonly cron: Cron.Cron
  /** The time zone, as written or the default, in its canonical spelling. */
  readonly timezone: string
  /** `inputs:`, when present (checked against the workflow's inputs by `Check.ts`). */
  readonly inputs: Source.MapValue | undefined
  readonly missed: Format.MissedPolicy
}

/**
 * @since 0.1.0
 */
export interface PluginTriggerNode {
  readonly kind: "plugin"
  readonly index: number
  readonly pos: Pos
  /** The plugin's name, the key of the trigger. */
  readonly plugin: string
  readonly pluginPos: Pos
  readonly options: Source.Value
}

/**
 * A workflow file, read.
 *
 * @since 0.1.0
 */
export interface WorkflowModel {
  readonly version: number
  readonly name: string
  readonly namePos: Pos
  readonly description: string
  readonly inputs: ReadonlyArray<Input>
  readonly defaults: { readonly retry?: RetryPatch | undefined; readonly timeoutMillis?: number | undefined }
  readonly steps: ReadonlyArray<Node>
  readonly outputs: ReadonlyArray<{ readonly name: string; readonly pos: Pos; readonly value: Source.Value }>
  readonly triggers: ReadonlyArray<TriggerNode>
}

// -----------------------------------------------------------------------------
// Walking a located tree along the format's schema
// -----------------------------------------------------------------------------

/** What a walk gives back: the decoded value, and whether every required part of it was there. */
interface Walked {
  readonly value: unknown
  readonly complete: boolean
  /** A part that is there could not be read (reported): a rule across the parts waits for it. */
  readonly partial?: boolean | undefined
}

/** Whether a schema node takes a YAML value of this kind (to tell the members of a union apart). */
const takes = (ast: SchemaAST.AST, kind: "map" | "seq" | "string" | "number" | "boolean" | "null"): boolean => {
  switch (ast._tag) {
    case "TypeLiteral":
      return kind === "map"
    case "TupleType":
      return kind === "seq"
    case "StringKeyword":
    case "TemplateLiteral":
      return kind === "string"
    case "NumberKeyword":
      return kind === "number"
    case "BooleanKeyword":
      return kind === "boolean"
    case "Literal":
      return kind === (ast.literal === null ? "null" : typeof ast.literal)
    case "Refinement":
    case "Transformation":
      return takes(ast.from, kind)
    case "Suspend":
      return takes(ast.f(), kind)
    case "Union":
      return ast.types.some((t) => takes(t, kind))
    default:
      return true
  }
}

const kindOf = (value: Source.Value) =>
  value.kind !== "scalar" ? value.kind : value.value === null ? "null" : typeof value.value as "string" | "number" | "boolean"

/** A mapping or a list under filters: read part by part (anything else is read whole). */
const isStructure = (ast: SchemaAST.AST): boolean =>
  ast._tag === "TypeLiteral" || ast._tag === "TupleType" || (ast._tag === "Refinement" && isStructure(ast.from))

/** One decoder per schema node (a schema made from an AST is a class: made once). */
const decoders = globalValue(
  Symbol.for("@relais/runner/yaml/Model/decoders"),
  () => new WeakMap<SchemaAST.AST, (u: unknown) => Either.Either<unknown, ParseResult.ParseIssue>>()
)

const decoderOf = (ast: SchemaAST.AST) => {
  let decoder = decoders.get(ast)
  if (decoder === undefined) decoders.set(ast, decoder = ParseResult.decodeUnknownEither(Schema.make(ast)))
  return decoder
}

const annotation = <A>(ast: SchemaAST.Annotated, id: symbol): A | undefined => ast.annotations[id] as A | undefined

/** The value at `path` under `value` (as far as it goes). */
const at = (value: Source.Value, path: ReadonlyArray<PropertyKey>): Source.Value => {
  let current = value
  for (const key of path) {
    const next: Source.Value | undefined = current.kind === "map"
      ? Source.get(current, String(key))?.value
      : current.kind === "seq" && typeof key === "number"
      ? current.items[key]
      : undefined
    if (next === undefined) break
    current = next
  }
  return current
}

/** What a refusal says: the words of a filter, or the schema's message. */
type Words = string | Format.Message | undefined

/** The words a filter gave for its refusal (`Schema.filter` returning a string or `{ path, message }`). */
const wordsOf = (issue: ParseResult.ParseIssue): string | undefined =>
  issue._tag === "Type" ? issue.message : issue._tag === "Pointer" ? wordsOf(issue.issue) : undefined

/**
 * Decode a value (as JSON) with a schema node that takes no mapping apart: keywords, literals,
 * filters (the schema's own predicates) and unions are checked here, anything else (a
 * transformation) by Effect's decoder. A refusal carries the innermost words found for it: a
 * text's "must be a text" for a number, its pattern's message for a text that does not match.
 */
const check = (ast: SchemaAST.AST, actual: unknown): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly words: Words } => {
  const own = annotation<Format.Message>(ast, Format.MessageId)
  const is = (ok: boolean) => (ok ? { ok, value: actual } as const : { ok, words: own } as const)
  switch (ast._tag) {
    case "UnknownKeyword":
    case "AnyKeyword":
      return is(true)
    case "StringKeyword":
      return is(typeof actual === "string")
    case "NumberKeyword":
      return is(typeof actual === "number")
    case "BooleanKeyword":
      return is(typeof actual === "boolean")
    case "Literal":
      return is(actual === ast.literal)
    case "Refinement": {
      const from = check(ast.from, actual)
      if (!from.ok) return { ok: false, words: from.words ?? own }
      const issue = ast.filter(from.value, SchemaAST.defaultParseOption, ast)
      return Option.isNone(issue) ? from : { ok: false, words: wordsOf(issue.value) ?? own }
    }
    case "Union": {
      for (const member of ast.types) {
        const result = check(member, actual)
        if (result.ok) return result
      }
      return { ok: false, words: own }
    }
    default: {
      const result = decoderOf(ast)(actual)
      return Either.isRight(result) ? { ok: true, value: result.right } : { ok: false, words: own }
    }
  }
}

/**
 * A reader of located values along a format schema, reporting to `problem`. `node` reads the
 * steps of a list (the four kinds of steps are told apart by their keys, not by trying each).
 */
const makeReader = (problem: (pos: Pos, message: string) => void, node: (value: Source.Value) => Node | undefined) => {
  /** Say that `value` does not fit `ast`: in the words found for it, else the schema's or the caller's. */
  const report = (value: Source.Value, ast: SchemaAST.AST, what: string, fallback: Format.Message | undefined, words?: Words) => {
    const actual = Source.toJs(value)
    const own = annotation<Format.Message>(ast, Format.MessageId)
    const message = typeof words === "string" ? words : (words ?? own ?? fallback)?.(actual, what)
    problem(value.pos, message ?? `${what} cannot be ${Format.describe(actual)}`)
  }

  /** A value read whole by the schema (texts, numbers, durations...). */
  const leaf = (ast: SchemaAST.AST, value: Source.Value, what: string, fallback: Format.Message | undefined): Walked | undefined => {
    // An expression: its template, with a syntax error located in the text.
    if (annotation(ast, Format.TemplateId) === true && value.kind === "scalar" && typeof value.value === "string") {
      const parsed = Expression.parseTemplate(value.value)
      if ("error" in parsed) {
        problem(offsetPos(value, parsed.error.at), `${what}: ${parsed.error.message}`)
        return undefined
      }
      if (parsed.template._tag !== "Whole") {
        report(value, ast, what, fallback)
        return undefined
      }
      const text: Text = { pos: value.pos, quoted: value.quoted, raw: value.value, template: parsed.template }
      return { value: text, complete: true }
    }
    const checked = check(ast, Source.toJs(value))
    if (checked.ok) return { value: checked.value, complete: true }
    // A text whose problem is at a place in it (a cron's field): reported there.
    const offset = annotation<Format.Locate>(ast, Format.LocateId)?.(Source.toJs(value))
    report(offset === undefined ? value : { ...value, pos: offsetPos(value, offset) }, ast, what, fallback, checked.words)
    return undefined
  }

  const walk = (ast: SchemaAST.AST, value: Source.Value, what: string, fallback?: Format.Message): Walked | undefined => {
    if (ast === Format.Node.ast) {
      const n = node(value)
      return n === undefined ? undefined : { value: n, complete: true }
    }
    switch (ast._tag) {
      case "Suspend":
        return walk(ast.f(), value, what, fallback)
      case "TypeLiteral": {
        if (value.kind !== "map") return void report(value, ast, what, fallback)
        const read = fields(ast, value, what)
        return read.complete ? read : undefined
      }
      case "TupleType": {
        if (value.kind !== "seq") return void report(value, ast, what, fallback)
        const item = ast.rest[0]?.type
        if (item === undefined) return leaf(ast, value, what, fallback)
        const items: Array<unknown> = []
        let complete = true
        for (const v of value.items) {
          const read = walk(item, v, what)
          if (read === undefined) complete = false
          else items.push(read.value)
        }
        return { value: items, complete }
      }
      case "Refinement": {
        if (!isStructure(ast)) return leaf(ast, value, what, fallback)
        // A mapping or a list with a rule across its parts: the parts first, each where it is.
        const read = walk(ast.from, value, what, fallback)
        if (read === undefined || !read.complete) return read
        if (read.partial === true && annotation(ast, Format.AllPartsId) === true) return read
        const issue = ast.filter(read.value, SchemaAST.defaultParseOption, ast)
        if (Option.isSome(issue)) {
          const issues = issue.value._tag === "Composite" && Array.isArray(issue.value.issues) ? issue.value.issues : [issue.value]
          for (const one of issues) {
            const path = one._tag === "Pointer" ? (Array.isArray(one.path) ? one.path : [one.path]) : []
            report(at(value, path), ast, what, fallback, wordsOf(one) ?? annotation(ast, Format.MessageId))
          }
        }
        return read
      }
      case "Union": {
        const own = annotation<Format.Message>(ast, Format.MessageId) ?? fallback
        const kind = kindOf(value)
        const candidates = ast.types.filter((t) => takes(t, kind))
        if (candidates.length === 0) return void report(value, ast, what, fallback)
        if (candidates.length === 1) return walk(candidates[0]!, value, what, own)
        return leaf(ast, value, what, fallback)
      }
      default:
        return leaf(ast, value, what, fallback)
    }
  }

  /** Report the keys of `map` not in `allowed`, with "did you mean"; whether there were any. */
  const unknownKeys = (map: Source.MapValue, allowed: ReadonlyArray<string>, where: string): boolean => {
    let found = false
    for (const entry of map.entries) {
      if (allowed.includes(entry.key)) continue
      found = true
      const suggestions = Suggest.closest(entry.key, allowed, 1)
      problem(
        entry.keyPos,
        `unknown key "${entry.key}" in ${where}${suggestions.length > 0 ? ` (did you mean "${suggestions[0]}"?)` : `; expected one of: ${allowed.join(", ")}`}`
      )
    }
    return found
  }

  /**
   * The fields of a mapping: each declared key read along its schema (in the schema's order, so
   * that a name made from `id` is known for the rest), the missing ones and the unknown ones
   * reported. `only` reads some keys and leaves the others alone.
   */
  const fields = (
    ast: SchemaAST.TypeLiteral,
    map: Source.MapValue,
    what: string,
    only?: ReadonlyArray<string>
  ): { readonly value: Record<string, unknown>; readonly complete: boolean; readonly partial: boolean } => {
    const naming = annotation<Format.Naming>(ast, Format.NamingId)
    const out: Record<string, unknown> = {}
    let complete = true
    let partial = false
    const where = () => naming?.where?.(out, what) ?? what
    const name = (key: string) => naming?.field?.(key, where()) ?? key
    const byKey = new Map(map.entries.map((e) => [e.key, e]))
    const declared = ast.propertySignatures.map((p) => String(p.name))
    const missing: Array<SchemaAST.PropertySignature> = []
    for (const signature of ast.propertySignatures) {
      const key = String(signature.name)
      if (only !== undefined && !only.includes(key)) continue
      const entry = byKey.get(key)
      if (entry === undefined) {
        if (!signature.isOptional) missing.push(signature)
        continue
      }
      const read = walk(signature.type, entry.value, name(key))
      if (read !== undefined) out[key] = read.value
      else if (!signature.isOptional) complete = false
      else partial = true
    }
    const index = ast.indexSignatures[0]
    if (only === undefined && index === undefined) unknownKeys(map, declared, where())
    // After the unknown keys: `stpes:` is a typo before `steps` is missing.
    for (const signature of missing) {
      complete = false
      const message = annotation<(where: string) => string>(signature, Format.MissingId)
      problem(map.pos, message?.(where()) ?? `${where()} needs \`${String(signature.name)}\``)
    }
    if (only !== undefined || index === undefined) return { value: out, complete, partial }
    for (const entry of map.entries) {
      if (declared.includes(entry.key)) continue
      const key: Source.ScalarValue = { kind: "scalar", pos: entry.keyPos, value: entry.key, quoted: false }
      if (walk(index.parameter, key, name(entry.key)) === undefined) {
        partial = true
        continue
      }
      const read = walk(index.type, entry.value, name(entry.key))
      if (read !== undefined) Source.setOwn(out, entry.key, read.value)
      else partial = true
    }
    return { value: out, complete, partial }
  }

  return {
    walk,
    unknownKeys,
    /** The fields of a mapping of `schema` (its fields as far as they could be read). */
    fields: <A>(schema: Schema.Schema<A, any>, map: Source.MapValue, what: string, only?: ReadonlyArray<string>) => {
      const ast = schema.ast as SchemaAST.TypeLiteral
      const read = fields(ast, map, what, only)
      return { value: read.value as Partial<A>, complete: read.complete }
    },
    report
  }
}

const has = (value: Record<string, unknown>, key: string): boolean => Object.hasOwn(value, key)

// -----------------------------------------------------------------------------
// Reading
// -----------------------------------------------------------------------------

/**
 * Read a parsed YAML tree as a workflow. Every problem is collected; the model is returned
 * when the structure is usable enough to check further.
 *
 * @since 0.1.0
 */
export const read = (root: Source.Value | undefined): { readonly model: WorkflowModel | undefined; readonly problems: ReadonlyArray<Problem> } => {
  const problems: Array<Problem> = []
  const problem = (pos: Pos, message: string) => problems.push({ pos, message })
  if (root === undefined) {
    problem({ line: 1, column: 1 }, "the file is empty: a workflow needs at least `version: 1`, a `name` and `steps`")
    return { model: undefined, problems }
  }

  const retryPatch = (retry: typeof Format.Retry.Type | undefined, map: Source.MapValue, key: string): RetryPatch | undefined =>
    retry === undefined ? undefined : {
      pos: Source.get(map, key)!.value.pos,
      maxAttempts: retry.maxAttempts,
      backoff: retry.backoff,
      initialDelayMillis: retry.initialDelay,
      maxDelayMillis: retry.maxDelay,
      factor: retry.factor,
      jitter: retry.jitter,
      retryOn: retry.retryOn
    }

  const node = (value: Source.Value): Node | undefined => {
    if (value.kind !== "map") {
      reader.report(value, Format.Node.ast, "", undefined)
      return undefined
    }
    const present = (key: string) => Source.get(value, key) !== undefined
    const base = (f: Partial<typeof Format.Group.Type>) => ({
      id: f.id ?? "",
      pos: value.pos,
      idPos: Source.get(value, "id")?.value.pos ?? value.pos,
      name: f.name,
      description: f.description,
      if: f.if === undefined ? undefined : condition(f.if as Text | boolean, Source.get(value, "if")!.value)
    })
    const kinds = (["uses", "forEach", "parallel"] as const).filter(present)
    const kind = kinds.length === 1 ? kinds[0] : kinds.length === 0 && present("steps") ? "steps" : undefined
    if (kind === undefined) {
      // Neither one kind nor another: read what every step has, and say what is wrong.
      const f = reader.fields(Format.Group, value, "", Format.commonKeys).value
      base(f)
      if (kinds.length > 1) problem(value.pos, `a step has one of uses, forEach or parallel, not ${kinds.join(" and ")}`)
      else {
        const allowed = Format.keysOf(Format.Node.ast)
        const where = `step "${f.id ?? ""}"`
        if (!reader.unknownKeys(value, allowed, where)) {
          problem(value.pos, `${where} says nothing to do: add \`uses: provider/step\`, \`forEach\`, \`parallel\` or \`steps\``)
        }
      }
      return undefined
    }
    switch (kind) {
      case "uses": {
        const f = reader.fields(Format.Step, value, "").value
        const withEntry = Source.get(value, "with")
        const compensate = f.compensate
        const compensateEntry = Source.get(value, "compensate")
        return {
          ...base(f),
          kind: "step",
          uses: f.uses ?? "",
          usesPos: Source.get(value, "uses")!.value.pos,
          // `with:` with nothing after it (null) gives the step no field, as an empty mapping does.
          with: withEntry === undefined || !has(f, "with")
            ? undefined
            : withEntry.value.kind === "map"
            ? withEntry.value
            : { kind: "map", pos: withEntry.keyPos, entries: [] },
          withPos: withEntry?.keyPos,
          retry: retryPatch(f.retry, value, "retry"),
          timeoutMillis: f.timeout,
          compensate: compensate === undefined || compensate === true
            ? "default"
            : compensate === false
            ? "off"
            : compensateWith(compensate, compensateEntry!.value as Source.MapValue)
        }
      }
      case "forEach": {
        const f = reader.fields(Format.ForEach, value, "").value
        if (f.forEach === undefined) return undefined
        return {
          ...base(f),
          kind: "forEach",
          over: f.forEach as unknown as Text,
          as: f.as ?? Format.defaults.as,
          asPos: Source.get(value, "as")?.value.pos ?? value.pos,
          concurrency: f.concurrency ?? Format.defaults.concurrency,
          onItemFailure: f.onItemFailure ?? Format.defaults.onItemFailure,
          steps: f.steps ?? []
        }
      }
      case "parallel": {
        const f = reader.fields(Format.Parallel, value, "").value
        return { ...base(f), kind: "parallel", branches: f.parallel ?? [] }
      }
      case "steps": {
        const f = reader.fields(Format.Group, value, "").value
        return { ...base(f), kind: "group", steps: f.steps ?? [] }
      }
    }
  }

  const compensateWith = (compensate: typeof Format.Compensate.Type, map: Source.MapValue): CompensateWith => {
    const withEntry = Source.get(map, "with")
    return {
      pos: map.pos,
      uses: compensate.uses,
      usesPos: Source.get(map, "uses")!.value.pos,
      with: withEntry === undefined || !has(compensate, "with") ? undefined : withEntry.value,
      withPos: withEntry?.keyPos
    }
  }

  /** `if:` true or false as written, or an expression (already parsed by the reader). */
  const condition = (read: Text | boolean, value: Source.Value): Text =>
    typeof read !== "boolean" ? read : {
      pos: value.pos,
      quoted: false,
      raw: String(read),
      template: { _tag: "Whole", expr: { _tag: "Literal", at: 0, value: read }, offset: 0, source: String(read) }
    }

  const reader = makeReader(problem, node)
  if (root.kind !== "map") {
    reader.report(root, Format.Workflow.ast, "", undefined)
    return { model: undefined, problems }
  }
  const top = reader.fields(Format.Workflow, root, "").value

  const inputs: Array<Input> = []
  const inputsValue = Source.get(root, "inputs")?.value
  if (inputsValue?.kind === "map" && top.inputs) {
    for (const entry of inputsValue.entries) {
      if (!has(top.inputs, entry.key)) continue
      const spec = top.inputs[entry.key]!
      if (typeof spec === "string") {
        inputs.push({ name: entry.key, pos: entry.keyPos, type: spec, required: true })
        continue
      }
      inputs.push({
        name: entry.key,
        pos: entry.keyPos,
        type: spec.type,
        required: spec.default === undefined && spec.required !== false,
        ...(spec.default !== undefined ? { default: spec.default } : {}),
        description: spec.description,
        enum: spec.enum
      })
    }
  }

  const outputs: Array<{ name: string; pos: Pos; value: Source.Value }> = []
  const outputsValue = Source.get(root, "outputs")?.value
  if (outputsValue?.kind === "map" && top.outputs) {
    for (const entry of outputsValue.entries) {
      if (has(top.outputs, entry.key)) outputs.push({ name: entry.key, pos: entry.keyPos, value: entry.value })
    }
  }

  const triggers: Array<TriggerNode> = []
  const triggersValue = Source.get(root, "triggers")?.value
  if (triggersValue?.kind === "seq" && top.triggers) {
    triggersValue.items.forEach((item, index) => {
      // Only the items read without a problem (their problems are reported).
      if (item.kind !== "map" || item.entries.length !== 1) return
      const entry = item.entries[0]!
      if (entry.key === "schedule") {
        if (entry.value.kind !== "map") return
        // Read again, quietly: its problems were reported with the rest of the file.
        const f = makeReader(() => undefined, node).fields(Format.Schedule, entry.value, "schedule").value
        if (f.cron === undefined) return
        const cron = Cron.parse(f.cron)
        const zone = Cron.timeZone(f.timezone ?? Format.scheduleDefaults.timezone)
        if (Either.isLeft(cron) || Either.isLeft(zone)) return
        const inputsEntry = Source.get(entry.value, "inputs")
        triggers.push({
          kind: "schedule",
          index,
          pos: item.pos,
          name: f.name,
          cron: cron.right,
          timezone: zone.right,
          inputs: inputsEntry?.value.kind === "map" ? inputsEntry.value : undefined,
          missed: f.missed ?? Format.scheduleDefaults.missed
        })
      } else {
        triggers.push({ kind: "plugin", index, pos: item.pos, plugin: entry.key, pluginPos: entry.keyPos, options: entry.value })
      }
    })
  }

  const defaultsValue = Source.get(root, "defaults")?.value
  return {
    model: {
      version: top.version ?? 0,
      name: top.name ?? "",
      namePos: Source.get(root, "name")?.value.pos ?? root.pos,
      description: top.description ?? "",
      inputs,
      defaults: {
        retry: defaultsValue?.kind === "map" ? retryPatch(top.defaults?.retry, defaultsValue, "retry") : undefined,
        timeoutMillis: top.defaults?.timeout
      },
      steps: top.steps ?? [],
      outputs,
      triggers
    },
    problems
  }
}

/**
 * Whether a JSON value fits an input type.
 *
 * @since 0.1.0
 */
export const matchesInputType = (value: unknown, type: InputType): boolean => Schema.is(Format.inputValue[type])(value)

/**
 * The scalar a parsed text came from (to locate problems in it).
 *
 * @since 0.1.0
 */
export const scalarOf = (text: Text): Source.ScalarValue => ({ kind: "scalar", pos: text.pos, value: text.raw, quoted: text.quoted })

/**
 * The position of a character of a scalar's text, when it can be told (one-line scalars).
 *
 * @since 0.1.0
 */
export const offsetPos = (value: Source.Value, offset: number): Pos =>
  value.kind === "scalar" && typeof value.value === "string" && !value.value.includes("\n")
    ? { line: value.pos.line, column: value.pos.column + (value.quoted ? 1 : 0) + offset }
    : value.pos
