/**
 * Loading a workflow file: parse with positions, check everything, compile to a core workflow.
 * This is the interface the CLI uses; the parser, checker and compiler live next to it.
 *
 * @since 0.1.0
 */
import type { Workflow } from "@relais/core"
import { Plugin, Run, Suggest } from "@relais/core"
import { Effect, Schema } from "effect"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Check from "./Check.js"
import * as Compile from "./Compile.js"
import * as Graph from "./Graph.js"
import * as JsonSchemaModule from "./JsonSchema.js"
import * as Model from "./Model.js"
import * as Source from "./Source.js"

/**
 * One problem in a workflow file, located.
 *
 * @since 0.1.0
 */
export class Diagnostic extends Schema.Class<Diagnostic>("@relais/runner/Diagnostic")({
  file: Schema.String,
  /** 1-based; 0 when the problem has no place in a file (a command-line input). */
  line: Schema.Number,
  /** 1-based. */
  column: Schema.Number,
  message: Schema.String
}) {
  /** `file:line:col: message` */
  override toString(): string {
    return this.line === 0 ? `${this.file}: ${this.message}` : `${this.file}:${this.line}:${this.column}: ${this.message}`
  }
}

/**
 * A workflow file has problems: all of them, in file order.
 *
 * @since 0.1.0
 */
export class InvalidWorkflow extends Schema.TaggedError<InvalidWorkflow>("@relais/runner/InvalidWorkflow")(
  "InvalidWorkflow",
  { file: Schema.String, diagnostics: Schema.Array(Diagnostic) }
) {
  override get message(): string {
    const n = this.diagnostics.length
    return `${this.diagnostics.map((d) => d.toString()).join("\n")}\n${n} problem${n === 1 ? "" : "s"} in ${this.file}`
  }
}

/**
 * A workflow file cannot be read.
 *
 * @since 0.1.0
 */
export class WorkflowFileError extends Schema.TaggedError<WorkflowFileError>("@relais/runner/WorkflowFileError")(
  "WorkflowFileError",
  { file: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `cannot read ${this.file}: ${this.reason}`
  }
}

/**
 * A declared input of a workflow.
 *
 * @since 0.1.0
 */
export interface InputSpec {
  readonly name: string
  readonly type: Model.InputType
  readonly required: boolean
  readonly default?: unknown
  readonly description?: string | undefined
  /** The allowed values, when the input declares `enum`. */
  readonly enum?: ReadonlyArray<string | number> | undefined
}

/**
 * A checked and compiled workflow file.
 *
 * @since 0.1.0
 */
export interface LoadedWorkflow {
  readonly name: string
  readonly description: string
  readonly file: string
  readonly inputs: ReadonlyArray<InputSpec>
  /** The text and hash the run stores, so that `resume` uses the same definition. */
  readonly definition: Run.Definition
  /**
   * The core workflow: its input is the object of workflow inputs (JSON values). Its steps need
   * the providers' services, which the engine provides from its own layer: build the engine
   * with the providers' client layers in context.
   */
  readonly workflow: Workflow.Workflow<Record<string, unknown>, Record<string, unknown>, never>
  /** A Mermaid flowchart of the steps. */
  readonly mermaid: string
  /**
   * What starts the workflow under `relais serve` (`triggers:`), checked: schedules (cron
   * parsed, time zone resolved, inputs complete) and plugins' triggers (options decoded).
   */
  readonly triggers: ReadonlyArray<Trigger>
}

/**
 * A trigger of a loaded workflow (see `Check.Trigger`).
 *
 * @since 0.1.0
 */
export type Trigger = Check.Trigger

/**
 * @since 0.1.0
 */
export type ScheduleTrigger = Check.ScheduleTrigger

/**
 * @since 0.1.0
 */
export type PluginTrigger = Check.PluginTrigger

/**
 * The hash a run stores with its definition.
 *
 * @since 0.1.0
 */
export const hashOf = (text: string): string => Crypto.createHash("sha256").update(text, "utf8").digest("hex")

/**
 * Load, check and compile a workflow from its text (`source` names it in messages).
 *
 * @since 0.1.0
 */
export const loadText = (
  text: string,
  source: string
): Effect.Effect<LoadedWorkflow, InvalidWorkflow, Plugin.PluginRegistry> =>
  Effect.gen(function*() {
    const registry = yield* Plugin.PluginRegistry
    const parsed = Source.parse(text)
    const problems: Array<Model.Problem> = [...parsed.problems]
    let loaded: LoadedWorkflow | undefined
    if (parsed.problems.length === 0) {
      const read = Model.read(parsed.root)
      problems.push(...read.problems)
      if (read.model !== undefined) {
        const checked = Check.check(read.model, registry)
        problems.push(...checked.problems)
        if (problems.length === 0) {
          const model = read.model
          loaded = {
            name: model.name,
            description: model.description,
            file: source,
            inputs: model.inputs.map((input) => ({
              name: input.name,
              type: input.type,
              required: input.required,
              ...(input.default !== undefined ? { default: input.default } : {}),
              ...(input.enum !== undefined ? { enum: input.enum } : {}),
              description: input.description
            })),
            definition: new Run.Definition({ hash: hashOf(text), text, source }),
            workflow: Compile.compile(model, checked.resolved, source),
            mermaid: Graph.mermaid(model),
            triggers: checked.resolved.triggers
          }
        }
      }
    }
    if (loaded === undefined || problems.length > 0) {
      const sorted = [...problems].sort((a, b) => a.pos.line - b.pos.line || a.pos.column - b.pos.column)
      const unique = sorted.filter((p, i) =>
        i === 0 || p.message !== sorted[i - 1]!.message || p.pos.line !== sorted[i - 1]!.pos.line
      )
      return yield* new InvalidWorkflow({
        file: source,
        diagnostics: unique.map((p) => new Diagnostic({ file: source, line: p.pos.line, column: p.pos.column, message: p.message }))
      })
    }
    return loaded
  })

/**
 * Load, check and compile a workflow file. Its bytes must be UTF-8 (see `Source.decode`).
 *
 * @since 0.1.0
 */
export const loadFile = (
  path: string
): Effect.Effect<LoadedWorkflow, InvalidWorkflow | WorkflowFileError, Plugin.PluginRegistry> =>
  Effect.try({
    try: () => Fs.readFileSync(path),
    catch: (error) => {
      const code = (error as { code?: string }).code
      return new WorkflowFileError({
        file: path,
        reason: code === "ENOENT"
          ? "no such file"
          : code === "EISDIR"
          ? "it is a directory"
          : code === "EACCES"
          ? "permission denied"
          : String((error as Error).message ?? error)
      })
    }
  }).pipe(Effect.flatMap((bytes) => {
    const decoded = Source.decode(bytes)
    if ("problem" in decoded) {
      const { pos, message } = decoded.problem
      return Effect.fail(
        new InvalidWorkflow({ file: path, diagnostics: [new Diagnostic({ file: path, line: pos.line, column: pos.column, message })] })
      )
    }
    return loadText(decoded.text, path)
  }))

const tooLarge = (shown: string) =>
  `${shown} is too large to be exact: give a whole number between -${Number.MAX_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`

// A number from a JSON or YAML file was rounded when it was read: say so without the rounded value.
const tooLargeInFile = `is a whole number too large to be exact (over ${Number.MAX_SAFE_INTEGER} in size): it cannot be passed on unchanged`

/** A value that has the input's type but is not allowed: outside its `enum`, or an inexact integer. */
const valueProblem = (spec: InputSpec, value: unknown): string | undefined => {
  if (spec.type === "integer" && typeof value === "number" && !Number.isSafeInteger(value)) return tooLargeInFile
  if (spec.enum !== undefined && !spec.enum.includes(value as string | number)) {
    const close = typeof value === "string" ? spec.enum.filter((e) => typeof e === "string" && e.toLowerCase() === value.toLowerCase()) : []
    return `expects one of ${spec.enum.join(", ")}, not ${JSON.stringify(value)}${close.length > 0 ? ` (did you mean ${JSON.stringify(close[0])}?)` : ""}`
  }
  return undefined
}

const convertInput = (spec: InputSpec, raw: string): { readonly value: unknown } | { readonly error: string } => {
  switch (spec.type) {
    case "string":
      return { value: raw }
    case "integer": {
      if (!/^-?\d+$/.test(raw.trim())) return { error: `expects a whole number, not "${raw}"` }
      const value = Number(raw.trim())
      // Refused, not rounded: 9007199254740993 would silently become ...992.
      return Number.isSafeInteger(value) ? { value } : { error: tooLarge(raw.trim()) }
    }
    case "number": {
      const n = Number(raw.trim())
      return raw.trim() !== "" && Number.isFinite(n) ? { value: n } : { error: `expects a number, not "${raw}"` }
    }
    case "boolean":
      return raw === "true" ? { value: true } : raw === "false" ? { value: false } : { error: `expects true or false, not "${raw}"` }
    case "array":
    case "object":
      try {
        const value = JSON.parse(raw)
        return Model.matchesInputType(value, spec.type) ? { value } : { error: `expects a JSON ${spec.type}` }
      } catch {
        return { error: `expects a JSON ${spec.type}, e.g. ${spec.type === "array" ? "[1,2]" : "{\"a\":1}"}` }
      }
  }
}

/**
 * Turn `--input k=v` pairs and an `--input-file` object into the workflow's input object,
 * converting each value to its declared type and applying defaults; every problem is reported.
 *
 * @since 0.1.0
 */
export const parseInputs = (
  loaded: LoadedWorkflow,
  pairs: ReadonlyArray<readonly [string, string]>,
  fromFile: Record<string, unknown> | undefined
): Effect.Effect<Record<string, unknown>, InvalidWorkflow> =>
  Effect.gen(function*() {
    const problems: Array<string> = []
    // A map, not an object: an input may be called `toString` or `valueOf`.
    const values = new Map<string, unknown>()
    /** Inputs given (even with a wrong value, already reported): not reported missing too. */
    const given = new Set<string>()
    const specs = new Map(loaded.inputs.map((input) => [input.name, input]))
    /** Input values are journaled and read by expressions, which walk them recursively. */
    const tooDeep = (name: string, value: unknown, where: string) => {
      const path = Source.tooDeep(value, Source.maxDepth)
      if (path === undefined) return false
      problems.push(`${where}: input "${name}" is nested more than ${Source.maxDepth} levels (at ${[name, ...path.slice(0, 3)].join(".")}...): flatten it`)
      return true
    }
    const unknown = (name: string, where: string) => {
      const suggestions = Suggest.closest(name, specs.keys(), 1)
      problems.push(
        `${where}: ${loaded.name} has no input "${name}"${suggestions.length ? ` (did you mean "${suggestions[0]}"?)` : specs.size ? `; its inputs are ${[...specs.keys()].join(", ")}` : "; it takes no input"}`
      )
    }
    for (const [name, value] of Object.entries(fromFile ?? {})) {
      const spec = specs.get(name)
      given.add(name)
      if (spec === undefined) unknown(name, "--input-file")
      // A whole number too large to be exact is not "not an integer": say what it is.
      else if (spec.type === "integer" && Number.isInteger(value) && !Number.isSafeInteger(value)) {
        problems.push(`--input-file: input "${name}" ${tooLargeInFile}`)
      } else if (!Model.matchesInputType(value, spec.type)) {
        problems.push(`--input-file: input "${name}" expects ${spec.type === "integer" ? "an integer" : `a ${spec.type}`}, not ${JSON.stringify(value)}`)
      } else if (valueProblem(spec, value) !== undefined) problems.push(`--input-file: input "${name}" ${valueProblem(spec, value)}`)
      else if (!tooDeep(name, value, "--input-file")) values.set(name, value)
    }
    for (const [name, raw] of pairs) {
      const spec = specs.get(name)
      given.add(name)
      if (spec === undefined) {
        unknown(name, `--input ${name}`)
        continue
      }
      const converted = convertInput(spec, raw)
      if ("error" in converted) problems.push(`--input ${name}: ${converted.error}`)
      else if (valueProblem(spec, converted.value) !== undefined) problems.push(`--input ${name}: ${valueProblem(spec, converted.value)}`)
      else if (!tooDeep(name, converted.value, `--input ${name}`)) values.set(name, converted.value)
    }
    for (const spec of loaded.inputs) {
      if (values.has(spec.name) || given.has(spec.name)) continue
      if (spec.default !== undefined) values.set(spec.name, spec.default)
      else if (spec.required) {
        problems.push(`the input "${spec.name}" (${spec.type}${spec.description ? `: ${spec.description}` : ""}) is required: pass --input ${spec.name}=...`)
      }
    }
    if (problems.length > 0) {
      return yield* new InvalidWorkflow({
        file: loaded.file,
        diagnostics: problems.map((message) => new Diagnostic({ file: loaded.file, line: 0, column: 0, message }))
      })
    }
    return Object.fromEntries(values)
  })

/**
 * The JSON Schema of the workflow format, including each registered step's `with`.
 *
 * @since 0.1.0
 */
export const jsonSchema: Effect.Effect<object, never, Plugin.PluginRegistry> = Effect.map(
  Plugin.PluginRegistry,
  JsonSchemaModule.make
)

/**
 * For the engine's `resolve` option: compile a stored run's definition again.
 *
 * @since 0.1.0
 */
export const resolveRun = (
  record: Run.RunRecord
): Effect.Effect<LoadedWorkflow, InvalidWorkflow, Plugin.PluginRegistry> =>
  record.definition === undefined
    ? Effect.fail(
      new InvalidWorkflow({
        file: record.workflow,
        diagnostics: [new Diagnostic({ file: record.workflow, line: 0, column: 0, message: "the run has no stored definition" })]
      })
    )
    : loadText(record.definition.text, record.definition.source ?? record.workflow)

export { Run }
