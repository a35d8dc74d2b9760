/**
 * A checked workflow file to a core `Workflow`. Values flow between steps in their encoded
 * (JSON) form: a step's output is encoded with its schema, expressions read it, and the next
 * step's `with` is decoded by that step's input schema.
 *
 * @since 0.1.0
 */
import { RetryPolicy, Step, Workflow } from "@relais/core"
import { Duration, Effect, Schema } from "effect"
import { type Resolved, triggerInput } from "./Check.js"
import * as Expression from "./Expression.js"
import * as Model from "./Model.js"
import * as Source from "./Source.js"
import * as T from "./Types.js"

/**
 * An expression failed while the workflow ran, or a step's `with` did not decode: located in
 * the workflow file.
 *
 * @since 0.1.0
 */
export class WorkflowRuntimeError extends Schema.TaggedError<WorkflowRuntimeError>("@relais/runner/WorkflowRuntimeError")(
  "WorkflowRuntimeError",
  { location: Schema.String, detail: Schema.String }
) {
  override get message(): string {
    return `${this.location}: ${this.detail}`
  }
}

interface Scope {
  readonly inputs: unknown
  /** What started the run (`trigger.*`): `{ kind: "manual" }` when nothing said. */
  readonly trigger: unknown
  readonly steps: Map<string, { readonly output: unknown; readonly failed?: unknown }>
  readonly loopVars: ReadonlyMap<string, unknown>
}

const child = (scope: Scope, loopVars: ReadonlyMap<string, unknown>): Scope => ({
  inputs: scope.inputs,
  trigger: scope.trigger,
  steps: new Map(scope.steps),
  loopVars
})

const namesOf = (scope: Scope): Map<string, unknown> =>
  new Map<string, unknown>([
    ["inputs", scope.inputs],
    ["steps", Object.fromEntries(scope.steps)],
    ["trigger", scope.trigger],
    ...scope.loopVars
  ])

/**
 * The core schema of a workflow's inputs.
 *
 * @since 0.1.0
 */
export const inputSchema = (inputs: ReadonlyArray<Model.Input>): Schema.Schema<Record<string, unknown>, any> => {
  const fields: Record<string, Schema.Schema.All | Schema.PropertySignature.All> = {}
  for (const input of inputs) {
    const base: Schema.Schema.Any = input.enum !== undefined
      ? Schema.Literal(...(input.enum as Array<string | number>))
      : input.type === "string"
      ? Schema.String
      : input.type === "integer"
      ? Schema.Int
      : input.type === "number"
      ? Schema.Number
      : input.type === "boolean"
      ? Schema.Boolean
      : input.type === "array"
      ? Schema.Array(Schema.Unknown)
      : Schema.Record({ key: Schema.String, value: Schema.Unknown })
    fields[input.name] = input.required ? base : Schema.optional(base)
  }
  // What started the run, kept with its input (see `Check.triggerInput`).
  fields[triggerInput] = Schema.optional(Schema.Struct({ kind: Schema.String }, Schema.Record({ key: Schema.String, value: Schema.Unknown })))
  return Schema.Struct(fields as Schema.Struct.Fields) as unknown as Schema.Schema<Record<string, unknown>, any>
}

/**
 * The policy of one use of a step: the step's own, patched by the workflow's `defaults.retry`
 * and then by the step's `retry`. A polling step's policy (`Step.polls`: one poll per attempt
 * until its deadline) is how it works, not a defence against transient failures: the defaults
 * leave it alone (five quick attempts would end a five-minute wait in seconds), and only a
 * `retry` written on the step changes it.
 */
const retryFor = (step: Step.Any, defaults: Model.RetryPatch | undefined, own: Model.RetryPatch | undefined) => {
  let policy = step.retry
  for (const patch of [step.polls ? undefined : defaults, own]) {
    if (patch === undefined) continue
    policy = RetryPolicy.merge(policy, {
      ...(patch.maxAttempts !== undefined ? { maxAttempts: patch.maxAttempts } : {}),
      ...(patch.backoff !== undefined ? { backoff: patch.backoff } : {}),
      ...(patch.initialDelayMillis !== undefined ? { initialDelay: patch.initialDelayMillis } : {}),
      ...(patch.maxDelayMillis !== undefined ? { maxDelay: patch.maxDelayMillis } : {}),
      ...(patch.factor !== undefined ? { factor: patch.factor } : {}),
      ...(patch.jitter !== undefined ? { jitter: patch.jitter } : {}),
      ...(patch.retryOn !== undefined ? { retryOn: patch.retryOn as ReadonlyArray<RetryPolicy.RetryOn> } : {})
    })
  }
  return policy
}

/**
 * Leave out the keys whose value is null where the field is optional and null is not one of its
 * values: in a workflow file, `Nom: ${{ inputs.nom }}` with no `nom` given means "no Nom".
 *
 * @since 0.1.0
 */
export const withoutNulls = (value: unknown, type: T.Type): unknown => {
  if (value === null || typeof value !== "object") return value
  if (Array.isArray(value)) {
    const element = type._tag === "Array" ? type.element : undefined
    return element === undefined ? value : value.map((item) => withoutNulls(item, element))
  }
  const object = type._tag === "Object"
    ? type
    : type._tag === "Union"
    ? type.members.find((m): m is Extract<T.Type, { _tag: "Object" }> => m._tag === "Object")
    : undefined
  if (object === undefined) return value
  const out: Record<string, unknown> = {}
  for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
    const spec = object.fields.get(key)
    if (field === null && spec?.optional === true && T.mismatch(T.nullType, spec.type) !== undefined) continue
    Source.setOwn(out, key, spec === undefined ? field : withoutNulls(field, spec.type))
  }
  return out
}

/**
 * Compile a checked workflow.
 *
 * @since 0.1.0
 */
export const compile = (
  model: Model.WorkflowModel,
  resolved: Resolved,
  file: string
): Workflow.Workflow<Record<string, unknown>, Record<string, unknown>, never> => {
  const templates = new WeakMap<Source.Value, Expression.Template>()
  const at = (pos: Source.Pos) => `${file}:${pos.line}:${pos.column}`

  const templateOf = (value: Source.ScalarValue & { value: string }): Expression.Template => {
    let template = templates.get(value)
    if (template === undefined) {
      const parsed = Expression.parseTemplate(value.value)
      // The checker refused files with syntax errors.
      template = "template" in parsed ? parsed.template : { _tag: "Text", text: value.value }
      templates.set(value, template)
    }
    return template
  }

  const evaluate = (value: Source.Value, names: ReadonlyMap<string, unknown>): unknown => {
    switch (value.kind) {
      case "scalar":
        if (typeof value.value !== "string") return value.value
        try {
          return Expression.evaluateTemplate(templateOf(value as Source.ScalarValue & { value: string }), names)
        } catch (error) {
          throw new WorkflowRuntimeError({
            location: at(value.pos),
            detail: error instanceof Error ? error.message : String(error)
          })
        }
      case "seq":
        return value.items.map((item) => evaluate(item, names))
      case "map":
        return Object.fromEntries(value.entries.map((e) => [e.key, evaluate(e.value, names)]))
    }
  }

  const evaluateIn = (value: Source.Value, scope: Scope) =>
    Effect.try({
      try: () => evaluate(value, namesOf(scope)),
      catch: (error) =>
        error instanceof WorkflowRuntimeError
          ? error
          : new WorkflowRuntimeError({ location: at(value.pos), detail: String(error) })
    })

  const inputTypes = new Map<Step.Any, T.Type>()
  const decodeWith = (step: Step.Any, node: { readonly id: string; readonly pos: Source.Pos }, raw: unknown) => {
    let type = inputTypes.get(step)
    if (type === undefined) {
      type = T.fromSchema(step.input)
      inputTypes.set(step, type)
    }
    return Step.decodeInput(step, node.id, withoutNulls(raw, type)).pipe(
      Effect.mapError((error) =>
        new WorkflowRuntimeError({
          location: at(node.pos),
          detail: `the values given to ${step.name} do not fit its input: ${error.issues.map((i) => `${i.location}: ${i.message}`).join("; ")}`
        })
      )
    )
  }

  const runStep = (node: Model.StepNode, scope: Scope) =>
    Effect.gen(function*() {
      const step = resolved.steps.get(node.id)!
      const raw = node.with === undefined ? {} : yield* evaluateIn(node.with, scope)
      const input = yield* decodeWith(step, node, raw)
      const compensationStep = resolved.compensations.get(node.id)
      const compensate: false | Step.Compensation<unknown, unknown, unknown> | undefined = node.compensate === "off"
        ? false
        : typeof node.compensate === "object" && compensationStep !== undefined
        ? compensationWith(node, node.compensate, compensationStep, step, scope)
        : undefined
      const output = yield* Workflow.step(step, input, {
        id: node.id,
        retry: retryFor(step, model.defaults.retry, node.retry),
        // The workflow's default replaces the generic one (`Step.defaultTimeout`), not a step's
        // own: `core/sleep` has none, `http/request` waits as long as its connection allows.
        timeout: node.timeoutMillis ??
          (Duration.equals(Duration.decode(step.timeout), Step.defaultTimeout) ? model.defaults.timeoutMillis : undefined) ??
          step.timeout,
        compensate
      })
      const encoded = yield* Schema.encode(step.output as Schema.Schema<unknown, unknown>)(output).pipe(Effect.orDie)
      scope.steps.set(node.id, { output: encoded })
    })

  /** A compensation that runs another step, its `with` evaluated when it runs. */
  const compensationWith = (
    node: Model.StepNode,
    spec: Model.CompensateWith,
    compensation: Step.Any,
    step: Step.Any,
    scope: Scope
  ): Step.Compensation<unknown, unknown, unknown> => ({
    description: `${compensation.name}: ${compensation.description}`,
    retry: compensation.retry,
    timeout: compensation.timeout,
    run: (_input, output) =>
      Effect.gen(function*() {
        const encoded = yield* Schema.encode(step.output as Schema.Schema<unknown, unknown>)(output).pipe(Effect.orDie)
        const own = child(scope, scope.loopVars)
        own.steps.set(node.id, { output: encoded })
        const raw = spec.with === undefined ? {} : yield* evaluateIn(spec.with, own)
        const input = yield* decodeWith(compensation, { id: `${node.id} (compensation)`, pos: spec.pos }, raw)
        yield* compensation.run(input)
      })
  })

  const runNodes = (nodes: ReadonlyArray<Model.Node>, scope: Scope): Effect.Effect<void, unknown, any> =>
    Effect.forEach(nodes, (node) => runNode(node, scope), { discard: true })

  const runNode = (node: Model.Node, scope: Scope): Effect.Effect<void, unknown, any> =>
    Effect.gen(function*() {
      if (node.if !== undefined) {
        const condition = yield* evaluateIn(Model.scalarOf(node.if), scope)
        // Checked boolean before the run where the type is known; a value known only now (an
        // item of an untyped list) is not taken for true or false either.
        if (typeof condition !== "boolean") {
          return yield* new WorkflowRuntimeError({
            location: at(node.if.pos),
            detail: `if must be true or false, got ${Expression.describeValue(condition)}`
          })
        }
        if (!condition) {
          const source = node.if.template._tag === "Whole" ? node.if.template.source : node.if.raw
          yield* Workflow.skipped(node.id, node.kind === "step" ? node.uses : node.kind, `if ${source} was false`)
          scope.steps.set(node.id, { output: null })
          return
        }
      }
      switch (node.kind) {
        case "step":
          return yield* runStep(node, scope)
        case "group": {
          const inner = child(scope, scope.loopVars)
          yield* runNodes(node.steps, inner)
          for (const [id, value] of inner.steps) scope.steps.set(id, value)
          scope.steps.set(node.id, {
            output: Object.fromEntries(node.steps.map((s) => [s.id, inner.steps.get(s.id)?.output ?? null]))
          })
          return
        }
        case "parallel": {
          const inners = node.branches.map(() => child(scope, scope.loopVars))
          yield* Workflow.parallel(
            Object.fromEntries(node.branches.map((branch, i) => [branch.id, runNode(branch, inners[i]!)])),
            { segments: false }
          )
          const output: Record<string, unknown> = {}
          node.branches.forEach((branch, i) => {
            for (const [id, value] of inners[i]!.steps) scope.steps.set(id, value)
            Source.setOwn(output, branch.id, inners[i]!.steps.get(branch.id)?.output ?? null)
          })
          scope.steps.set(node.id, { output })
          return
        }
        case "forEach": {
          const items = yield* evaluateIn(Model.scalarOf(node.over), scope)
          if (!Array.isArray(items)) {
            return yield* new WorkflowRuntimeError({
              location: at(node.over.pos),
              detail: `forEach needs a list, but ${node.over.template._tag === "Whole" ? node.over.template.source : "the value"} is ${JSON.stringify(items)?.slice(0, 80)}`
            })
          }
          const body = (item: unknown, index: number) =>
            Effect.gen(function*() {
              const inner = child(scope, new Map([...scope.loopVars, [node.as, item], ["loop", { index }]]))
              yield* runNodes(node.steps, inner)
              return Object.fromEntries(node.steps.map((s) => [s.id, inner.steps.get(s.id)?.output ?? null]))
            })
          const options = { concurrency: node.concurrency }
          if (node.onItemFailure === "fail") {
            const outputs = yield* Workflow.forEach(node.id, items, body, options)
            scope.steps.set(node.id, { output: outputs, failed: [] })
          } else {
            const outcomes = yield* Workflow.forEach(node.id, items, body, { ...options, onItemFailure: node.onItemFailure })
            scope.steps.set(node.id, {
              output: outcomes.flatMap((o) => (o._tag === "Succeeded" ? [o.value] : [])),
              failed: outcomes.flatMap((o) =>
                o._tag === "Failed"
                  ? [{ index: o.index, item: items[o.index], error: { ...o.error }, compensated: o.compensated }]
                  : []
              )
            })
          }
          return
        }
      }
    })

  // The steps' services come from the engine's context (see `LoadedWorkflow.workflow`).
  return Workflow.make<Record<string, unknown>, any, Record<string, unknown>, any, never>({
    name: model.name,
    description: model.description,
    input: inputSchema(model.inputs),
    output: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
    run: (inputs) =>
      Effect.gen(function*() {
        const { [triggerInput]: trigger, ...declared } = inputs
        const scope: Scope = { inputs: declared, trigger: trigger ?? { kind: "manual" }, steps: new Map(), loopVars: new Map() }
        yield* runNodes(model.steps, scope)
        const outputs: Record<string, unknown> = {}
        for (const output of model.outputs) Source.setOwn(outputs, output.name, yield* evaluateIn(output.value, scope))
        return outputs
      }) as Effect.Effect<Record<string, unknown>, unknown, never>
  })
}
