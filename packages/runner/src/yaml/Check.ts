/**
 * The semantic checks of a workflow, before anything runs: unknown steps, duplicate ids,
 * `with` against each step's input schema, references to steps that do not exist, come later,
 * run in parallel or sit inside a loop, and the type of every expression against the step
 * output schemas (`steps.convention.output.Idd` is an error with a suggestion).
 *
 * @since 0.1.0
 */
import type { Plugin } from "@relais/core"
import { Step, Suggest } from "@relais/core"
import { Either, Option, ParseResult, Schema, type SchemaAST } from "effect"
import type * as Cron from "../schedule/Cron.js"
import * as Expression from "./Expression.js"
import * as Format from "./Format.js"
import * as Model from "./Model.js"
import * as Source from "./Source.js"
import * as T from "./Types.js"

/**
 * What the checker resolved, for the compiler.
 *
 * @since 0.1.0
 */
export interface Resolved {
  /** The step of each `uses` node, by node id. */
  readonly steps: ReadonlyMap<string, Step.Any>
  /** The step of each `compensate: { uses }`, by node id. */
  readonly compensations: ReadonlyMap<string, Step.Any>
  /** The triggers, checked, in the order of the file. */
  readonly triggers: ReadonlyArray<Trigger>
}

/**
 * A trigger of a workflow, checked: a schedule with its cron parsed, its time zone resolved and
 * its inputs complete (defaults applied), or a plugin's kind of trigger with its options decoded
 * by the plugin's `trigger.options` schema.
 *
 * @since 0.1.0
 */
export type Trigger = ScheduleTrigger | PluginTrigger

/**
 * @since 0.1.0
 */
export interface ScheduleTrigger {
  readonly _tag: "Schedule"
  /** Its position in `triggers:` (0-based). */
  readonly index: number
  readonly name?: string | undefined
  readonly cron: Cron.Cron
  /** An IANA name (or UTC, or an offset), in its canonical spelling. */
  readonly timezone: string
  /** The workflow's inputs for each run, defaults applied (JSON values). */
  readonly inputs: Readonly<Record<string, unknown>>
  readonly missed: Format.MissedPolicy
}

/**
 * @since 0.1.0
 */
export interface PluginTrigger {
  readonly _tag: "Plugin"
  readonly index: number
  /** The plugin whose kind of trigger it is. */
  readonly plugin: string
  /** The options, decoded by the plugin's `trigger.options` (what its `matches` takes). */
  readonly options: unknown
}

interface Declared {
  readonly id: string
  readonly pos: Source.Pos
  /** Ids of the forEach bodies this node is inside, outermost first. */
  readonly loops: ReadonlyArray<string>
  /** For each parallel this node is inside: the parallel id and the branch index. */
  readonly branches: ReadonlyArray<readonly [string, number]>
  readonly order: number
}

/** The type of an input in expressions: its allowed values, or the format's schema of its type. */
const inputType = (input: Model.Input): T.Type =>
  input.enum !== undefined ? T.union(input.enum.map(T.literal)) : T.fromSchema(Format.inputValue[input.type])

/**
 * The type of `inputs` in expressions.
 *
 * @since 0.1.0
 */
export const inputsType = (inputs: ReadonlyArray<Model.Input>): T.Type =>
  ({
    _tag: "Object",
    fields: new Map(
      inputs.map((input) => [input.name, {
        type: input.required || input.default !== undefined ? inputType(input) : T.nullable(inputType(input)),
        optional: false,
        description: input.description
      }])
    ),
    rest: undefined
  })

/**
 * The key of a run's input that carries what started it (`trigger.*` in expressions): an input
 * name cannot start with `$`, so no declared input takes it.
 *
 * @since 0.1.0
 */
export const triggerInput = "$trigger"

/** What every start says of itself in `trigger.kind`: `manual` (the CLI), `api`, `schedule`, a plugin. */
const triggerKindField = { type: T.string, optional: false, description: "What started the run: manual, api, schedule, or the name of a plugin whose trigger fired" }

/** The fields a schedule's firing gives `trigger.*`. */
const scheduleFields: ReadonlyArray<readonly [string, T.Type, string]> = [
  ["slot", T.string, "The schedule's slot: an ISO instant (UTC)"],
  ["cron", T.string, "The schedule's cron expression"],
  ["timezone", T.string, "The schedule's time zone"]
]

/**
 * The type of `trigger` in expressions: `kind`, and the fields of each kind of trigger the
 * workflow declares (null when another started the run: by hand, over the API, another trigger).
 *
 * @since 0.1.0
 */
export const triggerType = (model: Model.WorkflowModel, registry: Plugin.Registry): T.Type => {
  const fields = new Map<string, T.Field>([["kind", triggerKindField]])
  const add = (name: string, type: T.Type, description?: string) => {
    const before = fields.get(name)
    const merged = before === undefined ? T.nullable(type) : T.union([before.type, T.nullable(type)])
    fields.set(name, { type: merged, optional: false, ...(description !== undefined ? { description } : {}) })
  }
  for (const trigger of model.triggers) {
    if (trigger.kind === "schedule") {
      for (const [name, type, description] of scheduleFields) add(name, type, description)
      continue
    }
    const kind = registry.plugin(trigger.plugin)?.trigger
    if (kind === undefined) continue
    const event = T.fromSchema(kind.event)
    if (event._tag === "Object") for (const [name, field] of event.fields) add(name, field.type, field.description)
  }
  return { _tag: "Object", fields, rest: undefined }
}

/**
 * Check a read workflow against the registry.
 *
 * @since 0.1.0
 */
export const check = (
  model: Model.WorkflowModel,
  registry: Plugin.Registry
): { readonly problems: ReadonlyArray<Model.Problem>; readonly resolved: Resolved } => {
  const problems: Array<Model.Problem> = []
  const problem = (pos: Source.Pos, message: string) => problems.push({ pos, message })
  const steps = new Map<string, Step.Any>()
  const compensations = new Map<string, Step.Any>()

  // 1. Every id, where it is, and duplicates.
  const declared = new Map<string, Declared>()
  let order = 0
  const declare = (
    nodes: ReadonlyArray<Model.Node>,
    loops: ReadonlyArray<string>,
    branches: ReadonlyArray<readonly [string, number]>
  ) => {
    for (const node of nodes) {
      if (node.id !== "") {
        const first = declared.get(node.id)
        if (first) {
          problem(node.idPos, `the id "${node.id}" is already used at line ${first.pos.line}: ids are unique in a file`)
        } else {
          declared.set(node.id, { id: node.id, pos: node.idPos, loops, branches, order: order++ })
        }
      }
      if (node.kind === "forEach") declare(node.steps, [...loops, node.id], branches)
      if (node.kind === "group") declare(node.steps, loops, branches)
      if (node.kind === "parallel") {
        node.branches.forEach((branch, index) => declare([branch], loops, [...branches, [node.id, index]]))
      }
    }
  }
  declare(model.steps, [], [])
  const triggered = triggerType(model, registry)

  // 2. Walk in order with the names visible at each point.
  interface Env {
    readonly visible: Map<string, T.Type>
    readonly loopVars: ReadonlyMap<string, T.Type>
    readonly current: Declared | undefined
  }

  const scopeOf = (env: Env, selfId?: string): Expression.Scope => {
    const stepsFields = new Map<string, T.Field>()
    for (const [id, type] of env.visible) stepsFields.set(id, { type, optional: false })
    const names = new Map<string, T.Type>([
      ["inputs", inputsType(model.inputs)],
      ["steps", { _tag: "Object", fields: stepsFields, rest: undefined }],
      ["trigger", triggered],
      ...env.loopVars
    ])
    return {
      names,
      explain: (path) => {
        if (path[0] === "trigger" && path.length >= 2 && triggered._tag === "Object" && !triggered.fields.has(path[1]!)) {
          const kinds = model.triggers.map((t) => t.kind === "schedule" ? "schedule" : t.plugin)
          return kinds.length === 0
            ? `trigger.${path[1]}: this workflow declares no triggers: only trigger.kind is known (manual or api)`
            : `trigger.${path[1]}: none of this workflow's triggers (${[...new Set(kinds)].join(", ")}) gives "${path[1]}"; known: ${[...triggered.fields.keys()].join(", ")}`
        }
        if (path[0] !== "steps" || path.length < 2) return undefined
        const id = path[1]!
        if (env.visible.has(id)) return undefined
        const target = declared.get(id)
        if (target === undefined) {
          const suggestions = Suggest.closest(id, declared.keys())
          return `there is no step "${id}"${suggestions.length ? ` (did you mean "${suggestions[0]}"?)` : ""}`
        }
        if (id === selfId || (env.current && id === env.current.id)) {
          return `step "${id}" cannot use its own output (a step that refers to itself is a cycle)`
        }
        const current = env.current
        const innerLoop = target.loops.find((loop) => !(current?.loops ?? []).includes(loop))
        if (innerLoop !== undefined) {
          return `step "${id}" runs inside forEach "${innerLoop}": use steps.${innerLoop}.output (a list with one entry per item)`
        }
        const parallel = target.branches.find(([p, b]) =>
          (current?.branches ?? []).some(([cp, cb]) => cp === p && cb !== b)
        )
        if (parallel !== undefined) {
          return `step "${id}" runs in parallel with this one (in "${parallel[0]}"), so its output is not known here`
        }
        if (current === undefined || target.order > current.order) {
          return `step "${id}" comes later (line ${target.pos.line}): a step can only use the outputs of steps before it`
        }
        return `step "${id}" is not available here`
      }
    }
  }

  const checkTemplate = (text: Model.Text, value: Source.Value, scope: Expression.Scope): T.Type => {
    const result = Expression.typeOfTemplate(text.template, scope)
    for (const error of result.errors) problem(Model.offsetPos(value, error.at), error.message)
    return result.errors.length > 0 ? T.unknown : result.type
  }

  /** `if:` takes true or false, never a value taken for true ("false" is a non-empty text). */
  const checkCondition = (condition: Model.Text, scope: Expression.Scope) => {
    const type = checkTemplate(condition, Model.scalarOf(condition), scope)
    const source = condition.template._tag === "Whole" ? condition.template.source : condition.raw
    const why = Expression.notBoolean(source, type, (example) => `\${{ ${example} }}`)
    if (why !== undefined) problem(condition.pos, `if must be true or false; ${why}`)
  }

  const templateOf = (value: Source.ScalarValue & { value: string }): Model.Text | undefined => {
    const parsed = Expression.parseTemplate(value.value)
    if ("error" in parsed) {
      problem(Model.offsetPos(value, parsed.error.at), parsed.error.message)
      return undefined
    }
    return { pos: value.pos, quoted: value.quoted, raw: value.value, template: parsed.template }
  }

  /** The type of a value of the file (a literal, an expression, or a structure of them). */
  const typeOfValue = (value: Source.Value, scope: Expression.Scope): T.Type => {
    switch (value.kind) {
      case "scalar": {
        if (typeof value.value === "string") {
          const text = templateOf(value as Source.ScalarValue & { value: string })
          if (text === undefined) return T.unknown
          return text.template._tag === "Text" ? T.literal(value.value) : checkTemplate(text, value, scope)
        }
        return value.value === null ? T.nullType : T.literal(value.value)
      }
      case "seq":
        return T.array(T.union(value.items.map((item) => typeOfValue(item, scope))))
      case "map":
        return T.object(Object.fromEntries(value.entries.map((e) => [e.key, typeOfValue(e.value, scope)])))
    }
  }

  /**
   * Check a `with` value against the type the step expects, reporting at the right places.
   * `ast` is the step's schema for this value, when known: the parts of the value that hold no
   * expression are decoded with it, so ranges, patterns and rules across fields are checked
   * before the run whatever else is an expression. A value that holds no expression is given
   * back (`literal`) for its parent to decode whole; the parts of a value that cannot be decoded
   * whole are decoded one by one here.
   */
  const checkValue = (
    value: Source.Value,
    expected: T.Type,
    where: string,
    scope: Expression.Scope,
    ast: SchemaAST.AST | undefined
  ): Checked => {
    if (expected._tag === "Unknown") {
      typeOfValue(value, scope)
      return containsExpression(value) ? { ok: true } : { ok: true, literal: { value: Source.toJs(value) } }
    }
    const isExpression = value.kind === "scalar" && typeof value.value === "string" && Expression.hasExpression(value.value)
    if (value.kind === "map" && !isExpression) {
      const candidates = expected._tag === "Object"
        ? [expected]
        : expected._tag === "Union"
        ? expected.members.filter((m): m is Extract<T.Type, { _tag: "Object" }> => m._tag === "Object")
        : []
      if (candidates.length === 0) {
        problem(value.pos, `${where}: expected ${T.show(expected)}, got a mapping`)
        return { ok: false }
      }
      const keys = value.entries.map((e) => e.key)
      const target = candidates.reduce((best, c) =>
        keys.filter((k) => c.fields.has(k)).length > keys.filter((k) => best.fields.has(k)).length ? c : best
      )
      const shape = ast === undefined ? undefined : objectShape(ast)
      /** Fields an unknown key was taken for (a typo): not reported missing as well. */
      const suggested = new Set<string>()
      const fields: Array<{ readonly entry: Source.Entry; readonly checked: Checked; readonly ast: SchemaAST.AST | undefined }> = []
      let ok = true
      for (const entry of value.entries) {
        const field = target.fields.get(entry.key)
        if (field === undefined) {
          if (target.rest !== undefined) {
            const checked = checkValue(entry.value, target.rest, `${where}.${entry.key}`, scope, shape?.rest)
            fields.push({ entry, checked, ast: shape?.rest })
            ok = checked.ok && ok
            continue
          }
          const suggestions = Suggest.closest(entry.key, target.fields.keys(), 1)
          suggestions.forEach((s) => suggested.add(s))
          problem(
            entry.keyPos,
            `${where} has no field "${entry.key}"${suggestions.length ? ` (did you mean "${suggestions[0]}"?)` : `; its fields are ${[...target.fields.keys()].join(", ")}`}`
          )
          ok = false
          continue
        }
        const fieldAst = shape?.properties.get(entry.key)
        if (entry.value.kind === "scalar" && entry.value.value === null && field.optional) {
          // null for an optional field means "leave it out" (the compiled step drops the key),
          // unless null is one of its values.
          if (T.mismatch(T.nullType, field.type) === undefined) fields.push({ entry, checked: { ok: true, literal: { value: null } }, ast: fieldAst })
          continue
        }
        const expectedHere = field.optional ? T.nullable(field.type) : field.type
        const checked = checkValue(entry.value, expectedHere, `${where}.${entry.key}`, scope, fieldAst)
        fields.push({ entry, checked, ast: fieldAst })
        ok = checked.ok && ok
      }
      const missing = [...target.fields.entries()]
        .filter(([k, f]) => !f.optional && !keys.includes(k) && !suggested.has(k))
        .map(([k]) => k)
      if (missing.length > 0) {
        problem(value.pos, `${where} is missing ${missing.length === 1 ? "the field" : "the fields"} ${missing.join(", ")}`)
        ok = false
      }
      if (ok && fields.every((f) => f.checked.literal !== undefined)) {
        return { ok, literal: { value: Object.fromEntries(fields.map((f) => [f.entry.key, f.checked.literal!.value])) } }
      }
      // Not decodable whole: decode each literal field, then the rules across fields whose
      // fields are all literal and valid, or absent.
      const decoded = new Map<string, unknown>()
      const unknownHere = new Set<string>()
      for (const f of fields) {
        const result = f.checked.ok && f.checked.literal !== undefined && f.ast !== undefined
          ? decodeAt(f.entry.value, f.checked.literal.value, f.ast, `${where}.${f.entry.key}`)
          : undefined
        if (result === undefined) unknownHere.add(f.entry.key)
        else decoded.set(f.entry.key, result.value)
      }
      if (shape !== undefined && !checkRules(value, shape, decoded, unknownHere, where)) ok = false
      return { ok }
    }
    if (value.kind === "seq" && !isExpression) {
      const element = expected._tag === "Array"
        ? expected.element
        : expected._tag === "Union"
        ? T.union(expected.members.flatMap((m) => (m._tag === "Array" ? [m.element] : [])))
        : undefined
      if (element === undefined || element._tag === "Never") {
        problem(value.pos, `${where}: expected ${T.show(expected)}, got a list`)
        return { ok: false }
      }
      const elementAst = ast === undefined ? undefined : arrayElement(ast)
      const items = value.items.map((item, i) => checkValue(item, element, `${where}[${i}]`, scope, elementAst))
      const ok = items.every((c) => c.ok)
      if (ok && items.every((c) => c.literal !== undefined)) return { ok, literal: { value: items.map((c) => c.literal!.value) } }
      if (elementAst !== undefined) {
        items.forEach((c, i) => {
          if (c.ok && c.literal !== undefined) decodeAt(value.items[i]!, c.literal.value, elementAst, `${where}[${i}]`)
        })
      }
      return { ok }
    }
    const actual = typeOfValue(value, scope)
    const why = T.mismatch(actual, expected)
    if (why !== undefined) {
      const source = isExpression ? ` (${(value as Source.ScalarValue).value})` : ""
      problem(value.pos, `${where}: ${why}${source}`)
      return { ok: false }
    }
    return containsExpression(value) ? { ok: true } : { ok: true, literal: { value: Source.toJs(value) } }
  }

  /** Decode a literal value with its schema, reporting each issue where it is in the file. */
  const decodeAt = (
    value: Source.Value,
    js: unknown,
    ast: SchemaAST.AST,
    where: string
  ): { readonly value: unknown } | undefined => {
    const result = Schema.decodeUnknownEither(Schema.make(ast) as Schema.Schema<unknown, unknown>, { errors: "all" })(js)
    if (Either.isRight(result)) return { value: result.right }
    report(value, ParseResult.ArrayFormatter.formatErrorSync(result.left), where)
    return undefined
  }

  const report = (value: Source.Value, issues: ReadonlyArray<ParseResult.ArrayFormatterIssue>, where: string) => {
    for (const issue of issues) {
      const path = issue.path.map(String).join(".")
      problem(locate(value, issue.path) ?? value.pos, `${where}${path ? `.${path}` : ""}: ${issue.message}`)
    }
  }

  /**
   * Run the rules across the fields of a mapping (`Step.InputRule`: "give one of CiviliteId,
   * CiviliteCode") whose fields are all decoded or absent; a rule that reads a field known only
   * at run time waits for the run.
   */
  const checkRules = (
    value: Source.MapValue,
    shape: ObjectShape,
    decoded: ReadonlyMap<string, unknown>,
    unknownHere: ReadonlySet<string>,
    where: string
  ): boolean => {
    let ok = true
    for (const { refinement, rule } of shape.rules) {
      if (rule.fields.some((f) => unknownHere.has(f))) continue
      const input = Object.fromEntries(rule.fields.filter((f) => decoded.has(f)).map((f) => [f, decoded.get(f)]))
      const issue = refinement.filter(input, {}, refinement)
      if (Option.isSome(issue)) {
        report(value, ParseResult.ArrayFormatter.formatIssueSync(issue.value), where)
        ok = false
      }
    }
    return ok
  }

  /** A step's `with` (or a compensation's): its types, its literal parts, its required fields. */
  const checkWith = (
    step: Step.Any,
    uses: string,
    value: Source.Value | undefined,
    pos: Source.Pos,
    where: string,
    scope: Expression.Scope
  ) => {
    const expected = T.fromSchema(step.input)
    if (value === undefined || (value.kind === "scalar" && value.value === null)) {
      // No `with:`, or `with:` with nothing after it: the step gets no field at all.
      const missing = expected._tag === "Object"
        ? [...expected.fields.entries()].filter(([, f]) => !f.optional).map(([k]) => k)
        : []
      if (missing.length > 0) problem(pos, `${uses} needs \`with:\` ${missing.join(", ")}`)
      const shape = objectShape(step.input.ast)
      if (shape !== undefined) checkRules({ kind: "map", pos, entries: [] }, shape, new Map(), new Set(), where)
      return
    }
    const checked = checkValue(value, expected, where, scope, step.input.ast)
    if (checked.ok && checked.literal !== undefined) decodeAt(value, checked.literal.value, step.input.ast, where)
  }

  const checkStep = (node: Model.StepNode, env: Env) => {
    const step = registry.find(node.uses)
    if (step === undefined) {
      const suggestions = Suggest.closest(node.uses, registry.steps.map((s) => s.name))
      const namespace = node.uses.includes("/") ? node.uses.slice(0, node.uses.indexOf("/")) : undefined
      const hint = suggestions.length > 0
        ? ` (did you mean ${suggestions.map((s) => `"${s}"`).join(" or ")}?)`
        : namespace !== undefined && registry.plugin(namespace) === undefined
        ? `: no plugin "${namespace}" is loaded; a plugin of your own is listed under plugins: in relais.config.yaml (or the file given with --config)`
        : node.uses.includes("/")
        ? "; `relais steps` lists the available steps"
        : "; step names look like provider/step-name (see `relais steps`)"
      problem(node.usesPos, `unknown step "${node.uses}"${hint}`)
      return T.unknown
    }
    steps.set(node.id, step)
    // A `with:` that is not a mapping was reported when the file was read.
    if (node.with !== undefined || node.withPos === undefined) checkWith(step, node.uses, node.with, node.usesPos, "with", scopeOf(env))

    const output = T.fromSchema(step.output)
    if (typeof node.compensate === "object") {
      const compensation = registry.find(node.compensate.uses)
      if (compensation === undefined) {
        const suggestions = Suggest.closest(node.compensate.uses, registry.steps.map((s) => s.name))
        problem(node.compensate.usesPos, `unknown step "${node.compensate.uses}"${suggestions.length ? ` (did you mean "${suggestions[0]}"?)` : ""}`)
      } else {
        compensations.set(node.id, compensation)
        const visible = new Map(env.visible)
        visible.set(node.id, T.object({ output }))
        const compensationScope = scopeOf({ ...env, visible })
        // A `with:` that is not a mapping was reported when the file was read.
        if (node.compensate.with !== undefined || node.compensate.withPos === undefined) {
          checkWith(compensation, node.compensate.uses, node.compensate.with, node.compensate.usesPos, "compensate.with", compensationScope)
        }
      }
    }
    return output
  }

  const walk = (nodes: ReadonlyArray<Model.Node>, env: Env): void => {
    for (const node of nodes) {
      const current = declared.get(node.id)
      const here: Env = { ...env, current: current ?? env.current }
      if (node.if !== undefined) checkCondition(node.if, scopeOf(here, node.id))
      const output = nodeType(node, here)
      if (node.id !== "") {
        env.visible.set(node.id, node.if !== undefined ? T.nullable(output) : output)
      }
    }
  }

  /** Check a node and return the type of `steps.<id>` after it. */
  const nodeType = (node: Model.Node, env: Env): T.Type => {
    switch (node.kind) {
      case "step":
        return T.object({ output: checkStep(node, env) })
      case "group": {
        const inner: Env = { ...env, visible: new Map(env.visible) }
        walk(node.steps, inner)
        for (const [id, t] of inner.visible) env.visible.set(id, t)
        return T.object({ output: T.object(Object.fromEntries(node.steps.map((s) => [s.id, outputOf(inner.visible.get(s.id))]))) })
      }
      case "parallel": {
        const outputs: Record<string, T.Type> = {}
        const after = new Map<string, T.Type>()
        for (const branch of node.branches) {
          const inner: Env = { ...env, visible: new Map(env.visible) }
          walk([branch], inner)
          for (const [id, t] of inner.visible) if (!env.visible.has(id)) after.set(id, t)
          outputs[branch.id] = outputOf(inner.visible.get(branch.id))
        }
        for (const [id, t] of after) env.visible.set(id, t)
        return T.object({ output: T.object(outputs) })
      }
      case "forEach": {
        const overValue = Model.scalarOf(node.over)
        const overType = checkTemplate(node.over, overValue, scopeOf(env))
        const element = T.element(overType)
        let itemType: T.Type = T.unknown
        const source = node.over.template._tag === "Whole" ? node.over.template.source : "this"
        if (T.isNullable(overType)) {
          problem(node.over.pos, `forEach needs a list, but ${source} may be null (a skipped step, or a missing value): give a default, e.g. \${{ ${source} ?? [] }}`)
        } else if ("error" in element) {
          problem(node.over.pos, `forEach needs a list, but ${node.over.template._tag === "Whole" ? node.over.template.source : "this"} ${element.error}`)
        } else {
          itemType = element.type._tag === "Union"
            ? T.union(element.type.members.filter((m) => m._tag !== "Null"))
            : element.type
        }
        const loopVars = new Map(env.loopVars)
        loopVars.set(node.as, itemType)
        loopVars.set("loop", T.object({ index: T.integer }))
        const inner: Env = { ...env, visible: new Map(env.visible), loopVars }
        walk(node.steps, inner)
        const item = T.object(Object.fromEntries(node.steps.map((s) => [s.id, outputOf(inner.visible.get(s.id))])))
        const failed = T.array(T.object({ index: T.integer, item: itemType, error: T.object({ message: T.string }, T.unknown) }))
        return T.object({ output: T.array(item), failed })
      }
    }
  }

  /** A schedule's inputs against the workflow's: every value a plain one of its type, none missing. */
  const checkScheduleInputs = (trigger: Model.ScheduleNode): Record<string, unknown> | undefined => {
    const declaredInputs = new Map(model.inputs.map((input) => [input.name, input]))
    const values = new Map<string, unknown>()
    let ok = true
    for (const entry of trigger.inputs?.entries ?? []) {
      const input = declaredInputs.get(entry.key)
      if (input === undefined) {
        const suggestions = Suggest.closest(entry.key, declaredInputs.keys(), 1)
        problem(
          entry.keyPos,
          `schedule.inputs: the workflow has no input "${entry.key}"${
            suggestions.length > 0
              ? ` (did you mean "${suggestions[0]}"?)`
              : declaredInputs.size > 0
              ? `; its inputs are ${[...declaredInputs.keys()].join(", ")}`
              : "; it declares no inputs:"
          }`
        )
        ok = false
        continue
      }
      const where = `schedule.inputs.${entry.key}`
      if (containsExpression(entry.value)) {
        problem(entry.value.pos, `${where} is a plain value: a schedule has no expressions to read`)
        ok = false
        continue
      }
      const value = Source.toJs(entry.value)
      if (!Model.matchesInputType(value, input.type) || (input.type === "integer" && !Number.isSafeInteger(value))) {
        problem(entry.value.pos, `${where} must be ${/^[aeiou]/.test(input.type) ? "an" : "a"} ${input.type}, not ${Format.describe(value)}`)
        ok = false
        continue
      }
      if (input.enum !== undefined && !input.enum.includes(value as string | number)) {
        problem(entry.value.pos, `${where} is one of ${input.enum.join(", ")}, not ${JSON.stringify(value)}`)
        ok = false
        continue
      }
      values.set(entry.key, value)
    }
    for (const input of model.inputs) {
      if (values.has(input.name) || trigger.inputs?.entries.some((e) => e.key === input.name)) continue
      if (input.default !== undefined) values.set(input.name, input.default)
      else if (input.required) {
        problem(
          trigger.inputs?.pos ?? trigger.pos,
          `schedule.inputs is missing the input "${input.name}" (${input.type}${input.description ? `: ${input.description}` : ""}), which the workflow requires`
        )
        ok = false
      }
    }
    return ok ? Object.fromEntries(values) : undefined
  }

  const top: Env = { visible: new Map(), loopVars: new Map(), current: undefined }
  walk(model.steps, top)

  // 3. Outputs see every step of the top level.
  const outputScope = scopeOf(top)
  for (const output of model.outputs) typeOfValue(output.value, outputScope)

  // 4. Triggers.
  const triggers: Array<Trigger> = []
  let saidUnfilled = false
  for (const trigger of model.triggers) {
    if (trigger.kind === "schedule") {
      const inputs = checkScheduleInputs(trigger)
      if (inputs !== undefined) {
        triggers.push({
          _tag: "Schedule",
          index: trigger.index,
          ...(trigger.name !== undefined ? { name: trigger.name } : {}),
          cron: trigger.cron,
          timezone: trigger.timezone,
          inputs,
          missed: trigger.missed
        })
      }
      continue
    }
    const kind = registry.plugin(trigger.plugin)?.trigger
    if (kind === undefined) {
      const kinds = ["schedule", ...registry.plugins.filter((p) => p.trigger !== undefined).map((p) => p.name)]
      const suggestions = Suggest.closest(trigger.plugin, kinds, 1)
      const declares = registry.plugin(trigger.plugin) !== undefined ? `the plugin "${trigger.plugin}" declares no trigger` : `unknown trigger "${trigger.plugin}"`
      problem(
        trigger.pluginPos,
        `${declares}${suggestions.length > 0 ? ` (did you mean "${suggestions[0]}"?)` : `; the kinds of trigger are ${kinds.join(", ")}`}`
      )
      continue
    }
    // Options are plain data: decoded whole, an unknown key refused, each issue where it is.
    const decoded = Schema.decodeUnknownEither(kind.options, { errors: "all", onExcessProperty: "error" })(Source.toJs(trigger.options))
    if (Either.isLeft(decoded)) report(trigger.options, ParseResult.ArrayFormatter.formatErrorSync(decoded.left), trigger.plugin)
    else triggers.push({ _tag: "Plugin", index: trigger.index, plugin: trigger.plugin, options: decoded.right })
    // A firing carries no inputs: every input needs a value without one (its `trigger.*` is what it says).
    const unfilled = model.inputs.filter((input) => input.required && input.default === undefined)
    if (unfilled.length > 0 && !saidUnfilled) {
      saidUnfilled = true
      problem(
        trigger.pluginPos,
        `a run started by the ${trigger.plugin} trigger gets no inputs, and ${unfilled.map((i) => `"${i.name}"`).join(", ")} ${
          unfilled.length > 1 ? "are" : "is"
        } required: give ${unfilled.length > 1 ? "them defaults" : "it a default"}, and read the firing from trigger.*`
      )
    }
  }

  return { problems, resolved: { steps, compensations, triggers } }
}

const outputOf = (t: T.Type | undefined): T.Type => {
  if (t === undefined) return T.unknown
  const nullableResult = t._tag === "Union" && t.members.some((m) => m._tag === "Null")
  const base = t._tag === "Union" ? T.union(t.members.filter((m) => m._tag !== "Null")) : t
  const output = T.property(base, "output")
  const type = "type" in output ? output.type : T.unknown
  return nullableResult ? T.nullable(type) : type
}

/** What checking a value of a `with` found (see `checkValue`). */
interface Checked {
  readonly ok: boolean
  /** The value as JSON, when it holds no expression (nulls for optional fields left out). */
  readonly literal?: { readonly value: unknown } | undefined
}

/** A schema seen as an object: its fields' schemas, the schema of other keys, its rules. */
interface ObjectShape {
  readonly properties: ReadonlyMap<string, SchemaAST.AST>
  readonly rest: SchemaAST.AST | undefined
  readonly rules: ReadonlyArray<{ readonly rule: Step.InputRule; readonly refinement: SchemaAST.Refinement }>
}

/**
 * The object a schema decodes from, through filters (collecting their declared rules), classes
 * and other transformations (their encoded side) and suspensions; `undefined` when it is not
 * one object (a union of several).
 */
const objectShape = (ast: SchemaAST.AST, depth = 0): ObjectShape | undefined => {
  if (depth > 16) return undefined
  switch (ast._tag) {
    case "Refinement": {
      const inner = objectShape(ast.from, depth + 1)
      const rule = Step.getInputRule(ast)
      return inner === undefined || rule === undefined ? inner : { ...inner, rules: [...inner.rules, { rule, refinement: ast }] }
    }
    case "Transformation":
      return objectShape(ast.from, depth + 1)
    case "Suspend":
      return objectShape(ast.f(), depth + 1)
    case "TypeLiteral":
      return {
        properties: new Map(
          ast.propertySignatures.flatMap((p) => (typeof p.name === "string" ? [[p.name, p.type] as const] : []))
        ),
        rest: ast.indexSignatures[0]?.type,
        rules: []
      }
    case "Union": {
      const objects = ast.types.flatMap((t) => {
        const shape = objectShape(t, depth + 1)
        return shape === undefined ? [] : [shape]
      })
      return objects.length === 1 ? objects[0] : undefined
    }
    default:
      return undefined
  }
}

/** The schema of the items of a list schema, when it has one. */
const arrayElement = (ast: SchemaAST.AST, depth = 0): SchemaAST.AST | undefined => {
  if (depth > 16) return undefined
  switch (ast._tag) {
    case "Refinement":
      return arrayElement(ast.from, depth + 1)
    case "Transformation":
      return arrayElement(ast.from, depth + 1)
    case "Suspend":
      return arrayElement(ast.f(), depth + 1)
    case "TupleType":
      return ast.elements.length === 0 && ast.rest.length === 1 ? ast.rest[0]!.type : undefined
    case "Union": {
      const lists = ast.types.flatMap((t) => {
        const element = arrayElement(t, depth + 1)
        return element === undefined ? [] : [element]
      })
      return lists.length === 1 ? lists[0] : undefined
    }
    default:
      return undefined
  }
}

const containsExpression = (value: Source.Value): boolean => {
  switch (value.kind) {
    case "scalar":
      return typeof value.value === "string" && Expression.hasExpression(value.value)
    case "seq":
      return value.items.some(containsExpression)
    case "map":
      return value.entries.some((e) => containsExpression(e.value))
  }
}

const locate = (value: Source.Value, path: ReadonlyArray<PropertyKey>): Source.Pos | undefined => {
  let current: Source.Value = value
  let pos: Source.Pos = value.pos
  for (const key of path) {
    if (current.kind === "map") {
      const entry = current.entries.find((e) => e.key === String(key))
      if (entry === undefined) return pos
      pos = entry.keyPos
      current = entry.value
    } else if (current.kind === "seq" && typeof key === "number") {
      const item = current.items[key]
      if (item === undefined) return pos
      current = item
      pos = item.pos
    } else {
      return pos
    }
  }
  return current.kind === "scalar" ? current.pos : pos
}
