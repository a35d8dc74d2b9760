/**
 * The workflow format, and the structural reading of a YAML tree into it: which keys exist
 * where, their types, required ones, unknown keys with "did you mean". The result keeps every
 * position for the semantic checks that follow (`Check.ts`).
 *
 * @since 0.1.0
 */
import { Suggest } from "@relais/core"
import * as Expression from "./Expression.js"
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
export type InputType = "string" | "integer" | "number" | "boolean" | "object" | "array"

/**
 * @since 0.1.0
 */
export const inputTypes: ReadonlyArray<InputType> = ["string", "integer", "number", "boolean", "object", "array"]

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
}

// -----------------------------------------------------------------------------
// Keys, for unknown-key messages and the JSON Schema
// -----------------------------------------------------------------------------

/** @since 0.1.0 */
export const topKeys = ["version", "name", "description", "inputs", "defaults", "steps", "outputs"] as const
/** @since 0.1.0 */
export const inputKeys = ["type", "default", "description", "required", "enum"] as const
/** @since 0.1.0 */
export const defaultsKeys = ["retry", "timeout"] as const
/** @since 0.1.0 */
export const retryKeys = ["maxAttempts", "backoff", "initialDelay", "maxDelay", "factor", "jitter", "retryOn"] as const
/** @since 0.1.0 */
export const commonNodeKeys = ["id", "name", "description", "if"] as const
/** @since 0.1.0 */
export const stepKeys = [...commonNodeKeys, "uses", "with", "retry", "timeout", "compensate"] as const
/** @since 0.1.0 */
export const forEachKeys = [...commonNodeKeys, "forEach", "as", "concurrency", "onItemFailure", "steps"] as const
/** @since 0.1.0 */
export const parallelKeys = [...commonNodeKeys, "parallel"] as const
/** @since 0.1.0 */
export const groupKeys = [...commonNodeKeys, "steps"] as const
/** @since 0.1.0 */
export const compensateKeys = ["uses", "with"] as const

const allNodeKeys = [...new Set([...stepKeys, ...forEachKeys, ...parallelKeys, ...groupKeys])]

const ID = /^[A-Za-z][A-Za-z0-9_-]*$/

/**
 * Read a duration: `500ms`, `30s`, `2m`, `1h`, `1.5s`, or a number of milliseconds.
 *
 * @since 0.1.0
 */
export const parseDuration = (value: unknown): number | undefined => {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : undefined
  if (typeof value !== "string") return undefined
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(value)
  if (!match) return undefined
  const n = Number(match[1])
  const unit = match[2]
  return Math.round(n * (unit === "ms" ? 1 : unit === "s" ? 1000 : unit === "m" ? 60_000 : 3_600_000))
}

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
  const start: Pos = { line: 1, column: 1 }
  if (root === undefined) {
    problem(start, "the file is empty: a workflow needs at least `version: 1`, a `name` and `steps`")
    return { model: undefined, problems }
  }
  if (root.kind !== "map") {
    problem(root.pos, `a workflow file is a mapping (version, name, steps...), not ${describeKind(root)}`)
    return { model: undefined, problems }
  }

  /**
   * Names like `constructor` or `__proto__` reach into JavaScript objects: expressions refuse
   * them, so they are refused as names too. Every other name (`toString`, `valueOf`...) is
   * looked up as an own property or in a map, and works like any other.
   */
  const reservedName = (name: string, pos: Pos, what: string): boolean => {
    if (!Expression.reserved.has(name)) return false
    problem(pos, `"${name}" cannot be the name of ${what}: expressions cannot read it; choose another name`)
    return true
  }

  const unknownKeys = (map: Source.MapValue, allowed: ReadonlyArray<string>, where: string) => {
    for (const entry of map.entries) {
      if (allowed.includes(entry.key)) continue
      const suggestions = Suggest.closest(entry.key, allowed, 1)
      problem(
        entry.keyPos,
        `unknown key "${entry.key}" in ${where}${suggestions.length > 0 ? ` (did you mean "${suggestions[0]}"?)` : `; expected one of: ${allowed.join(", ")}`}`
      )
    }
  }

  const text = (value: Source.Value, what: string): Text | undefined => {
    if (value.kind !== "scalar" || typeof value.value !== "string") {
      problem(value.pos, `${what} must be a text, not ${describeKind(value)}`)
      return undefined
    }
    const parsed = Expression.parseTemplate(value.value)
    if ("error" in parsed) {
      problem(offsetPos(value, parsed.error.at), `${what}: ${parsed.error.message}`)
      return undefined
    }
    return { pos: value.pos, quoted: value.quoted, raw: value.value, template: parsed.template }
  }

  const expression = (value: Source.Value, what: string): Text | undefined => {
    if (value.kind === "scalar" && typeof value.value === "boolean") {
      return { pos: value.pos, quoted: false, raw: String(value.value), template: { _tag: "Whole", expr: { _tag: "Literal", at: 0, value: value.value }, offset: 0, source: String(value.value) } }
    }
    const t = text(value, what)
    if (t && t.template._tag !== "Whole") {
      problem(value.pos, `${what} must be one expression written \${{ … }}, not ${t.template._tag === "Text" ? "plain text" : "text with expressions inside"}`)
      return undefined
    }
    return t
  }

  const plainString = (value: Source.Value, what: string): string | undefined => {
    if (value.kind !== "scalar" || typeof value.value !== "string") {
      problem(value.pos, `${what} must be a text, not ${describeKind(value)}`)
      return undefined
    }
    if (Expression.hasExpression(value.value)) {
      problem(value.pos, `${what} cannot contain expressions`)
      return undefined
    }
    return value.value
  }

  const integer = (value: Source.Value, what: string, min: number, max: number): number | undefined => {
    if (value.kind !== "scalar" || typeof value.value !== "number" || !Number.isInteger(value.value)) {
      problem(value.pos, `${what} must be a whole number, not ${describeKind(value)}`)
      return undefined
    }
    if (value.value < min || value.value > max) {
      problem(value.pos, `${what} must be between ${min} and ${max}, not ${value.value}`)
      return undefined
    }
    return value.value
  }

  const duration = (value: Source.Value, what: string): number | undefined => {
    const js = value.kind === "scalar" ? value.value : undefined
    const millis = parseDuration(js)
    if (millis === undefined) {
      problem(value.pos, `${what} must be a duration like 500ms, 30s, 2m or 1h, not ${describeKind(value)}`)
    }
    return millis
  }

  const retry = (value: Source.Value): RetryPatch | undefined => {
    if (value.kind !== "map") {
      problem(value.pos, `retry must be a mapping (maxAttempts, backoff, initialDelay, maxDelay, jitter, retryOn), not ${describeKind(value)}`)
      return undefined
    }
    unknownKeys(value, retryKeys, "retry")
    const out: { -readonly [K in keyof RetryPatch]: RetryPatch[K] } = { pos: value.pos }
    for (const entry of value.entries) {
      switch (entry.key) {
        case "maxAttempts":
          out.maxAttempts = integer(entry.value, "retry.maxAttempts", 1, 100)
          break
        case "backoff": {
          const b = plainString(entry.value, "retry.backoff")
          if (b !== undefined && b !== "constant" && b !== "linear" && b !== "exponential") {
            const s = Suggest.closest(b, ["constant", "linear", "exponential"], 1)
            problem(entry.value.pos, `retry.backoff is constant, linear or exponential, not "${b}"${s.length ? ` (did you mean "${s[0]}"?)` : ""}`)
          } else if (b !== undefined) out.backoff = b
          break
        }
        case "initialDelay":
          out.initialDelayMillis = duration(entry.value, "retry.initialDelay")
          break
        case "maxDelay":
          out.maxDelayMillis = duration(entry.value, "retry.maxDelay")
          break
        case "factor":
          if (entry.value.kind !== "scalar" || typeof entry.value.value !== "number" || entry.value.value < 1) {
            problem(entry.value.pos, "retry.factor must be a number of at least 1")
          } else out.factor = entry.value.value
          break
        case "jitter":
          if (entry.value.kind !== "scalar" || typeof entry.value.value !== "boolean") {
            problem(entry.value.pos, "retry.jitter must be true or false")
          } else out.jitter = entry.value.value
          break
        case "retryOn": {
          if (entry.value.kind !== "seq") {
            problem(entry.value.pos, "retry.retryOn must be a list, e.g. [429, 503, timeout]")
            break
          }
          const items: Array<number | string> = []
          for (const item of entry.value.items) {
            if (item.kind === "scalar" && typeof item.value === "number" && Number.isInteger(item.value) && item.value >= 100 && item.value <= 599) {
              items.push(item.value)
            } else if (item.kind === "scalar" && typeof item.value === "string" && /^[A-Za-z][A-Za-z0-9_]*$/.test(item.value)) {
              items.push(item.value)
            } else {
              problem(item.pos, "retry.retryOn items are HTTP statuses (429), 4xx, 5xx, timeout, or error names (Transport)")
            }
          }
          out.retryOn = items
          break
        }
      }
    }
    if (out.initialDelayMillis !== undefined && out.maxDelayMillis !== undefined && out.maxDelayMillis < out.initialDelayMillis) {
      problem(value.pos, "retry.maxDelay is shorter than retry.initialDelay")
    }
    return out
  }

  const nodes = (value: Source.Value, where: string): Array<Node> => {
    if (value.kind !== "seq") {
      problem(value.pos, `${where} must be a list of steps (each item starting with "- id: ..."), not ${describeKind(value)}`)
      return []
    }
    if (value.items.length === 0) problem(value.pos, `${where} is empty: add at least one step`)
    return value.items.flatMap((item) => {
      const n = node(item)
      return n ? [n] : []
    })
  }

  const node = (value: Source.Value): Node | undefined => {
    if (value.kind !== "map") {
      problem(value.pos, `a step is a mapping (id, uses, with...), not ${describeKind(value)}`)
      return undefined
    }
    const get = (key: string) => value.entries.find((e) => e.key === key)
    const idEntry = get("id")
    let id = ""
    let idPos = value.pos
    if (idEntry === undefined) {
      problem(value.pos, "this step has no id: add `id: <name>` (letters, digits, - and _)")
    } else {
      idPos = idEntry.value.pos
      const raw = plainString(idEntry.value, "id")
      if (raw !== undefined && !ID.test(raw)) {
        problem(idEntry.value.pos, `the id "${raw}" must start with a letter and contain only letters, digits, - and _`)
      } else if (raw !== undefined && !reservedName(raw, idEntry.value.pos, "a step")) id = raw
    }
    const kinds = (["uses", "forEach", "parallel"] as const).filter((k) => get(k) !== undefined)
    const base = {
      id,
      pos: value.pos,
      idPos,
      name: get("name") ? plainString(get("name")!.value, "name") : undefined,
      description: get("description") ? plainString(get("description")!.value, "description") : undefined,
      if: get("if") ? expression(get("if")!.value, "if") : undefined
    }
    if (kinds.length > 1) {
      problem(value.pos, `a step has one of uses, forEach or parallel, not ${kinds.join(" and ")}`)
      return undefined
    }
    const kind = kinds[0]
    if (kind === undefined && get("steps") === undefined) {
      const unknown = value.entries.filter((e) => !allNodeKeys.includes(e.key as typeof allNodeKeys[number]))
      unknownKeys(value, allNodeKeys, `step "${id}"`)
      if (unknown.length === 0) {
        problem(value.pos, `step "${id}" says nothing to do: add \`uses: provider/step\`, \`forEach\`, \`parallel\` or \`steps\``)
      }
      return undefined
    }
    if (kind === "uses") {
      unknownKeys(value, stepKeys, `step "${id}"`)
      const usesEntry = get("uses")!
      const uses = plainString(usesEntry.value, "uses") ?? ""
      const withEntry = get("with")
      if (withEntry && withEntry.value.kind !== "map" && !(withEntry.value.kind === "scalar" && withEntry.value.value === null)) {
        problem(withEntry.value.pos, `with must be a mapping of the step's inputs, not ${describeKind(withEntry.value)}`)
      }
      const compensateEntry = get("compensate")
      let compensate: StepNode["compensate"] = "default"
      if (compensateEntry) {
        const v = compensateEntry.value
        if (v.kind === "scalar" && typeof v.value === "boolean") {
          compensate = v.value ? "default" : "off"
        } else if (v.kind === "map") {
          unknownKeys(v, compensateKeys, "compensate")
          const cu = v.entries.find((e) => e.key === "uses")
          const cw = v.entries.find((e) => e.key === "with")
          if (cu === undefined) problem(v.pos, "compensate needs `uses: provider/step` (or write `compensate: false` to turn it off)")
          else {
            compensate = {
              pos: v.pos,
              uses: plainString(cu.value, "compensate.uses") ?? "",
              usesPos: cu.value.pos,
              with: cw?.value
            }
          }
        } else {
          problem(v.pos, "compensate is true (the step's own), false (none), or { uses, with } (another step)")
        }
      }
      return {
        ...base,
        kind: "step",
        uses,
        usesPos: usesEntry.value.pos,
        // `with:` with nothing after it (null) gives the step no field, as an empty mapping does.
        with: withEntry === undefined
          ? undefined
          : withEntry.value.kind === "map"
          ? withEntry.value
          : withEntry.value.kind === "scalar" && withEntry.value.value === null
          ? { kind: "map", pos: withEntry.keyPos, entries: [] }
          : undefined,
        withPos: withEntry?.keyPos,
        retry: get("retry") ? retry(get("retry")!.value) : undefined,
        timeoutMillis: get("timeout") ? duration(get("timeout")!.value, "timeout") : undefined,
        compensate
      }
    }
    if (kind === "forEach") {
      unknownKeys(value, forEachKeys, `forEach "${id}"`)
      const over = expression(get("forEach")!.value, "forEach")
      const asEntry = get("as")
      let as = "item"
      if (asEntry) {
        const raw = plainString(asEntry.value, "as")
        if (raw !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(raw)) {
          problem(asEntry.value.pos, `as names the loop variable: letters, digits and _ (not "${raw}")`)
        } else if (raw !== undefined && ["inputs", "steps", "loop"].includes(raw)) {
          problem(asEntry.value.pos, `"${raw}" is already a name in expressions: choose another loop variable`)
        } else if (raw !== undefined && !reservedName(raw, asEntry.value.pos, "a loop variable")) as = raw
      }
      const onEntry = get("onItemFailure")
      let onItemFailure: OnItemFailure = "fail"
      if (onEntry) {
        const raw = plainString(onEntry.value, "onItemFailure")
        const allowed = ["fail", "compensate-item", "continue"]
        if (raw !== undefined && !allowed.includes(raw)) {
          const s = Suggest.closest(raw, allowed, 1)
          problem(onEntry.value.pos, `onItemFailure is fail, compensate-item or continue, not "${raw}"${s.length ? ` (did you mean "${s[0]}"?)` : ""}`)
        } else if (raw !== undefined) onItemFailure = raw as OnItemFailure
      }
      const stepsEntry = get("steps")
      if (stepsEntry === undefined) problem(value.pos, `forEach "${id}" needs \`steps:\`, the steps to run for each item`)
      if (over === undefined) return undefined
      return {
        ...base,
        kind: "forEach",
        over,
        as,
        asPos: asEntry?.value.pos ?? value.pos,
        concurrency: get("concurrency") ? integer(get("concurrency")!.value, "concurrency", 1, 64) ?? 1 : 1,
        onItemFailure,
        steps: stepsEntry ? nodes(stepsEntry.value, `the steps of forEach "${id}"`) : []
      }
    }
    if (kind === "parallel") {
      unknownKeys(value, parallelKeys, `parallel "${id}"`)
      const branches = nodes(get("parallel")!.value, `parallel "${id}"`)
      if (branches.length === 1) problem(get("parallel")!.value.pos, `parallel "${id}" has one branch: list two or more, or make it a plain step`)
      return { ...base, kind: "parallel", branches }
    }
    unknownKeys(value, groupKeys, `group "${id}"`)
    return { ...base, kind: "group", steps: nodes(get("steps")!.value, `the steps of "${id}"`) }
  }

  unknownKeys(root, topKeys, "the workflow")
  const get = (key: string) => root.entries.find((e) => e.key === key)

  let version = 1
  const versionEntry = get("version")
  if (versionEntry === undefined) problem(root.pos, "add `version: 1` at the top of the file")
  else if (versionEntry.value.kind !== "scalar" || versionEntry.value.value !== 1) {
    problem(versionEntry.value.pos, `this relais understands version 1 of the format, not ${describeKind(versionEntry.value)}`)
    version = 0
  }

  const nameEntry = get("name")
  let name = ""
  if (nameEntry === undefined) problem(root.pos, "add a `name` (e.g. name: convention-apprentissage)")
  else {
    const raw = plainString(nameEntry.value, "name")
    if (raw !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(raw)) {
      problem(nameEntry.value.pos, `the name "${raw}" may contain only letters, digits, ., - and _`)
    } else if (raw !== undefined) name = raw
  }
  const description = get("description") ? plainString(get("description")!.value, "description") ?? "" : ""

  const inputs: Array<Input> = []
  const inputsEntry = get("inputs")
  if (inputsEntry) {
    const v = inputsEntry.value
    if (v.kind !== "map") {
      if (!(v.kind === "scalar" && v.value === null)) problem(v.pos, `inputs is a mapping of input names to their types, not ${describeKind(v)}`)
    } else {
      for (const entry of v.entries) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(entry.key)) {
          problem(entry.keyPos, `the input name "${entry.key}" may contain only letters, digits and _`)
          continue
        }
        if (reservedName(entry.key, entry.keyPos, "an input")) continue
        const spec = entry.value
        // Shorthand: `apprenantId: integer`.
        if (spec.kind === "scalar" && typeof spec.value === "string") {
          if (!inputTypes.includes(spec.value as InputType)) {
            const s = Suggest.closest(spec.value, inputTypes, 1)
            problem(spec.pos, `the type of input "${entry.key}" is one of ${inputTypes.join(", ")}, not "${spec.value}"${s.length ? ` (did you mean "${s[0]}"?)` : ""}`)
            continue
          }
          inputs.push({ name: entry.key, pos: entry.keyPos, type: spec.value as InputType, required: true })
          continue
        }
        if (spec.kind !== "map") {
          problem(spec.pos, `input "${entry.key}" is described by a mapping ({ type: integer, default: ..., description: ... })`)
          continue
        }
        unknownKeys(spec, inputKeys, `input "${entry.key}"`)
        const typeEntry = spec.entries.find((e) => e.key === "type")
        const type = typeEntry ? plainString(typeEntry.value, "type") : undefined
        if (typeEntry === undefined) problem(spec.pos, `input "${entry.key}" needs a type (${inputTypes.join(", ")})`)
        if (type !== undefined && !inputTypes.includes(type as InputType)) {
          const s = Suggest.closest(type, inputTypes, 1)
          problem(typeEntry!.value.pos, `the type of input "${entry.key}" is one of ${inputTypes.join(", ")}, not "${type}"${s.length ? ` (did you mean "${s[0]}"?)` : ""}`)
          continue
        }
        if (type === undefined) continue
        const defaultEntry = spec.entries.find((e) => e.key === "default")
        const requiredEntry = spec.entries.find((e) => e.key === "required")
        const enumEntry = spec.entries.find((e) => e.key === "enum")
        const input: { -readonly [K in keyof Input]: Input[K] } = {
          name: entry.key,
          pos: entry.keyPos,
          type: type as InputType,
          required: defaultEntry === undefined
        }
        if (requiredEntry) {
          if (requiredEntry.value.kind !== "scalar" || typeof requiredEntry.value.value !== "boolean") {
            problem(requiredEntry.value.pos, "required is true or false")
          } else input.required = requiredEntry.value.value && defaultEntry === undefined
        }
        if (defaultEntry) {
          const d = defaultEntry.value
          const js = Source.toJs(d)
          if (d.kind === "scalar" && typeof d.value === "string" && Expression.hasExpression(d.value)) {
            problem(d.pos, "a default is a plain value, not an expression")
          } else if (!matchesInputType(js, input.type)) {
            problem(d.pos, `the default of input "${entry.key}" must be ${articleFor(input.type)}, not ${describeKind(d)}`)
          } else input.default = js
        }
        const descriptionEntry = spec.entries.find((e) => e.key === "description")
        if (descriptionEntry) input.description = plainString(descriptionEntry.value, "description")
        if (enumEntry) {
          if (enumEntry.value.kind !== "seq" || enumEntry.value.items.some((i) => i.kind !== "scalar" || (typeof i.value !== "string" && typeof i.value !== "number"))) {
            problem(enumEntry.value.pos, "enum is a list of allowed values, e.g. [APP, STA, PRO]")
          } else {
            input.enum = enumEntry.value.items.map((i) => (i as Source.ScalarValue).value as string | number)
            if (input.default !== undefined && !input.enum.includes(input.default as string | number)) {
              problem(defaultEntry!.value.pos, `the default of input "${entry.key}" is not one of its enum values`)
            }
          }
        }
        inputs.push(input)
      }
    }
  }

  const defaults: { retry?: RetryPatch | undefined; timeoutMillis?: number | undefined } = {}
  const defaultsEntry = get("defaults")
  if (defaultsEntry) {
    const v = defaultsEntry.value
    if (v.kind !== "map") problem(v.pos, "defaults is a mapping with retry and timeout")
    else {
      unknownKeys(v, defaultsKeys, "defaults")
      const r = v.entries.find((e) => e.key === "retry")
      const t = v.entries.find((e) => e.key === "timeout")
      if (r) defaults.retry = retry(r.value)
      if (t) defaults.timeoutMillis = duration(t.value, "defaults.timeout")
    }
  }

  const stepsEntry = get("steps")
  let steps: Array<Node> = []
  if (stepsEntry === undefined) problem(root.pos, "add `steps:`, the list of steps to run")
  else steps = nodes(stepsEntry.value, "steps")

  const outputs: Array<{ name: string; pos: Pos; value: Source.Value }> = []
  const outputsEntry = get("outputs")
  if (outputsEntry) {
    const v = outputsEntry.value
    if (v.kind !== "map") problem(v.pos, "outputs is a mapping of names to values, usually expressions")
    else {
      for (const entry of v.entries) {
        if (!reservedName(entry.key, entry.keyPos, "an output")) outputs.push({ name: entry.key, pos: entry.keyPos, value: entry.value })
      }
    }
  }

  return {
    model: { version, name, namePos: nameEntry?.value.pos ?? root.pos, description, inputs, defaults, steps, outputs },
    problems
  }
}

/**
 * Whether a JSON value fits an input type.
 *
 * @since 0.1.0
 */
export const matchesInputType = (value: unknown, type: InputType): boolean => {
  switch (type) {
    case "string":
      return typeof value === "string"
    case "integer":
      return typeof value === "number" && Number.isInteger(value)
    case "number":
      return typeof value === "number"
    case "boolean":
      return typeof value === "boolean"
    case "array":
      return Array.isArray(value)
    case "object":
      return value !== null && typeof value === "object" && !Array.isArray(value)
  }
}

const articleFor = (type: InputType) => (type === "integer" || type === "object" || type === "array" ? `an ${type}` : `a ${type}`)

/**
 * A short description of a value, for messages.
 *
 * @since 0.1.0
 */
export const describeKind = (value: Source.Value): string => {
  switch (value.kind) {
    case "map":
      return "a mapping"
    case "seq":
      return "a list"
    case "scalar":
      if (value.value === null) return "nothing"
      if (typeof value.value === "string") return `the text "${value.value.length > 30 ? `${value.value.slice(0, 27)}...` : value.value}"`
      return `${typeof value.value === "number" ? "the number" : "the boolean"} ${value.value}`
  }
}

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
