/**
 * Loading a workflow file: parse with positions, check everything, compile to a core workflow.
 * This is the interface the CLI uses; the parser, checker and compiler live next to it.
 *
 * @since 0.1.0
 */
import type { Plugin, Workflow } from "@relais/core"
import { Run } from "@relais/core"
import { Effect, Schema } from "effect"

/**
 * One problem in a workflow file, located.
 *
 * @since 0.1.0
 */
export class Diagnostic extends Schema.Class<Diagnostic>("@relais/runner/Diagnostic")({
  file: Schema.String,
  /** 1-based. */
  line: Schema.Number,
  /** 1-based. */
  column: Schema.Number,
  message: Schema.String
}) {
  /** `file:line:col: message` */
  override toString(): string {
    return `${this.file}:${this.line}:${this.column}: ${this.message}`
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
  readonly type: "string" | "integer" | "number" | "boolean" | "object" | "array"
  readonly required: boolean
  readonly default?: unknown
  readonly description?: string | undefined
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
  /** The core workflow: its input is the object of workflow inputs (JSON values). */
  readonly workflow: Workflow.Workflow<Record<string, unknown>, unknown, any>
  /** A Mermaid flowchart of the steps. */
  readonly mermaid: string
}

/**
 * Load, check and compile a workflow file.
 *
 * @since 0.1.0
 */
export const loadFile = (
  path: string
): Effect.Effect<LoadedWorkflow, InvalidWorkflow | WorkflowFileError, Plugin.PluginRegistry> =>
  Effect.fail(new WorkflowFileError({ file: path, reason: "the YAML loader is being written (see issue 5)" }))

/**
 * Load, check and compile a workflow from its text (`source` names it in messages).
 *
 * @since 0.1.0
 */
export const loadText = (
  _text: string,
  source: string
): Effect.Effect<LoadedWorkflow, InvalidWorkflow, Plugin.PluginRegistry> =>
  Effect.fail(
    new InvalidWorkflow({
      file: source,
      diagnostics: [new Diagnostic({ file: source, line: 1, column: 1, message: "the YAML loader is being written" })]
    })
  )

/**
 * Turn `--input k=v` pairs and an `--input-file` object into the workflow's input object,
 * converting each value to its declared type and applying defaults; every problem is reported.
 *
 * @since 0.1.0
 */
export const parseInputs = (
  _loaded: LoadedWorkflow,
  _pairs: ReadonlyArray<readonly [string, string]>,
  _fromFile: Record<string, unknown> | undefined
): Effect.Effect<Record<string, unknown>, InvalidWorkflow> => Effect.succeed({})

/**
 * The JSON Schema of the workflow format, including each registered step's `with`.
 *
 * @since 0.1.0
 */
export const jsonSchema: Effect.Effect<object, never, Plugin.PluginRegistry> = Effect.succeed({})

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
        diagnostics: [new Diagnostic({ file: record.workflow, line: 1, column: 1, message: "the run has no stored definition" })]
      })
    )
    : loadText(record.definition.text, record.definition.source ?? record.workflow)

export { Run }
