/**
 * What the runner reads from a checked workflow definition besides the compiled workflow: the
 * plugins its steps come from (to set up only those), and the attempts each step is allowed
 * (for `attempt N/M` in the live progress). The definition (a run keeps its YAML text) is read
 * again by the loader's own reader (`Model.read`, along the format's one description), without
 * the registry: nothing here needs the steps to exist. A text that does not parse yields nothing.
 *
 * @since 0.1.0
 */
import * as Model from "./yaml/Model.js"
import * as Source from "./yaml/Source.js"

/** A definition as the loader reads it; nothing when the text does not parse. */
const read = (text: string): Model.WorkflowModel | undefined => {
  const parsed = Source.parse(text)
  return parsed.problems.length > 0 ? undefined : Model.read(parsed.root).model
}

/** Every step node, depth first (loop bodies, parallel branches and groups included). */
const walk = (nodes: ReadonlyArray<Model.Node>, f: (node: Model.StepNode) => void): void => {
  for (const node of nodes) {
    switch (node.kind) {
      case "step":
        f(node)
        break
      case "parallel":
        walk(node.branches, f)
        break
      case "forEach":
      case "group":
        walk(node.steps, f)
    }
  }
}

/**
 * The namespaces of the steps a definition uses (`esign/send-for-signature` uses `esign`),
 * compensation steps included: the plugins a run of it needs.
 *
 * @since 0.1.0
 */
export const pluginsUsed = (text: string): ReadonlySet<string> => {
  const used = new Set<string>()
  const add = (uses: string) => {
    const slash = uses.indexOf("/")
    if (slash > 0) used.add(uses.slice(0, slash))
  }
  walk(read(text)?.steps ?? [], (step) => {
    add(step.uses)
    if (typeof step.compensate === "object") add(step.compensate.uses)
  })
  return used
}

/**
 * The steps of a definition by id: the step each uses (`greet` → `core/set`),
 * loop bodies, branches and groups included.
 *
 * @since 0.1.0
 */
export const stepsById = (text: string): ReadonlyMap<string, string> => {
  const steps = new Map<string, string>()
  walk(read(text)?.steps ?? [], (step) => {
    if (step.id !== "") steps.set(step.id, step.uses)
  })
  return steps
}

/**
 * The attempts a definition allows: `defaults.retry.maxAttempts` and each step's own
 * `retry.maxAttempts`, by step id.
 *
 * @since 0.1.0
 */
export interface Attempts {
  readonly defaults?: number | undefined
  readonly byId: ReadonlyMap<string, number>
}

/**
 * @since 0.1.0
 */
export const attempts = (text: string): Attempts => {
  const model = read(text)
  const byId = new Map<string, number>()
  walk(model?.steps ?? [], (step) => {
    if (step.id !== "" && step.retry?.maxAttempts !== undefined) byId.set(step.id, step.retry.maxAttempts)
  })
  return { defaults: model?.defaults.retry?.maxAttempts, byId }
}

/**
 * The attempts of the invocation at `path` (`contrats[3]/convention` is step `convention`): its
 * own, else the definition's default (not for a step whose policy is its polling, as when it
 * runs), else the step's policy.
 *
 * @since 0.1.0
 */
export const attemptsAt = (
  self: Attempts,
  path: string,
  step: { readonly polls: boolean; readonly retry: { readonly maxAttempts?: number | undefined } } | undefined
): number | undefined => {
  const id = (path.split("/").pop() ?? path).replace(/\[\d+\]$/, "")
  return self.byId.get(id) ?? (step?.polls === true ? undefined : self.defaults) ?? step?.retry.maxAttempts
}
