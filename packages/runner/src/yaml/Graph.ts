/**
 * A Mermaid flowchart of a workflow: steps in order, loops as subgraphs, parallel branches as
 * forks, conditions on the edges.
 *
 * @since 0.1.0
 */
import * as Model from "./Model.js"
import * as Source from "./Source.js"

/** An expression as written: the source inside `${{ }}` when the whole text is one, else the text. */
const expressionSource = (text: Model.Text) => text.template._tag === "Whole" ? text.template.source : text.raw

const escape = (text: string) => text.replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;")

/**
 * Render a workflow as a Mermaid `flowchart TD`.
 *
 * @since 0.1.0
 */
export const mermaid = (model: Model.WorkflowModel): string => {
  const lines: Array<string> = ["flowchart TD", `  start(["${escape(model.name)}"])`]
  let counter = 0
  const fresh = (prefix: string) => `${prefix}_${counter++}`
  const nodeId = (id: string) => `n_${id.replace(/[^A-Za-z0-9_]/g, "_")}`
  const condition = (node: Model.Node) =>
    node.if === undefined
      ? ""
      : `|"if ${escape(expressionSource(node.if))}"|`

  /** Draw nodes in sequence after `from`; returns the id the next node links from. */
  const sequence = (nodes: ReadonlyArray<Model.Node>, from: string, indent: string): string => {
    let previous = from
    for (const node of nodes) previous = draw(node, previous, indent)
    return previous
  }

  const draw = (node: Model.Node, from: string, indent: string): string => {
    const id = nodeId(node.id)
    switch (node.kind) {
      case "step": {
        const compensation = node.compensate === "off" ? "<br/><i>no compensation</i>" : ""
        lines.push(`${indent}${id}["<b>${escape(node.id)}</b><br/>${escape(node.uses)}${compensation}"]`)
        lines.push(`${indent}${from} -->${condition(node)} ${id}`)
        return id
      }
      case "group": {
        lines.push(`${indent}subgraph ${id} ["${escape(node.id)}"]`)
        const entry = fresh("g")
        lines.push(`${indent}  ${entry}(( ))`)
        const last = sequence(node.steps, entry, `${indent}  `)
        lines.push(`${indent}end`)
        lines.push(`${indent}${from} -->${condition(node)} ${entry}`)
        return last
      }
      case "parallel": {
        const fork = fresh("fork")
        const join = fresh("join")
        lines.push(`${indent}${fork}{{"${escape(node.id)}: in parallel"}}`)
        lines.push(`${indent}${from} -->${condition(node)} ${fork}`)
        lines.push(`${indent}${join}{{"${escape(node.id)}: all done"}}`)
        for (const branch of node.branches) {
          const last = draw(branch, fork, indent)
          lines.push(`${indent}${last} --> ${join}`)
        }
        return join
      }
      case "forEach": {
        const source = expressionSource(node.over)
        const label = `for each ${node.as} in ${source}${node.concurrency > 1 ? `, ${node.concurrency} at a time` : ""}${node.onItemFailure !== "fail" ? `, on failure: ${node.onItemFailure}` : ""}`
        lines.push(`${indent}subgraph ${id} ["${escape(node.id)}: ${escape(label)}"]`)
        const entry = fresh("item")
        lines.push(`${indent}  ${entry}(( ))`)
        const last = sequence(node.steps, entry, `${indent}  `)
        lines.push(`${indent}end`)
        lines.push(`${indent}${from} -->${condition(node)} ${entry}`)
        return last
      }
    }
  }

  const last = sequence(model.steps, "start", "  ")
  lines.push(`  done(["done"])`)
  lines.push(`  ${last} --> done`)
  return `${lines.join("\n")}\n`
}

/**
 * A node of a workflow's structure (`graph`), for a display that colours each node with what
 * the run's events say of it. Its `id` is the step id written in the YAML, which is unique in a
 * workflow; how it relates to the events' `step` and `path` is told at `WorkflowGraph`.
 *
 * @since 0.1.0
 */
export interface GraphNode {
  readonly id: string
  readonly kind: Model.Node["kind"]
  /** Kind `step`: the step type, e.g. `core/set`. */
  readonly uses?: string
  /** The `if:` expression's source, when there is one. */
  readonly condition?: string
  /** Kind `step`: false when `compensate: off`. */
  readonly compensates?: boolean
  /** Kinds `forEach` and `group`: the body, in order. */
  readonly steps?: ReadonlyArray<GraphNode>
  /** Kind `parallel`: one node per branch. */
  readonly branches?: ReadonlyArray<GraphNode>
}

/**
 * A workflow's structure: its steps in order, loops and groups with their bodies, parallel
 * steps with their branches.
 *
 * How the run's events name a node (`Run.RunEvent`): by their `path`, not their `step` (which
 * is the step type, `core/set`, or for a skipped loop, group or parallel node its kind).
 * - A `path` is the node's `id`, prefixed by one segment `<loopId>[<index>]/` per enclosing
 *   `forEach`, outermost first: `prepare`, `contrats[3]/convention`, `a[0]/b[2]/c`. Groups
 *   and parallel nodes add no segment: a step in a branch or a group has the path of a step
 *   beside them (`inner`, not `both/right/inner`).
 * - Step events (`StepStarted`, `AttemptFailed`, `RetryScheduled`, `StepReconciled`,
 *   `StepSucceeded`, `StepFailed`, `StepReplayed`, `Compensation*`) have the step's path;
 *   `StepSkipped` (an `if:` false) the path of the node skipped, of any kind (a loop, group or
 *   parallel node skipped whole).
 * - `ItemFailed` has the item's path `<loop path>[<index>]` (and the `index`).
 * So the node of an event is the last segment of its path, without its `[<index>]`:
 * `path.split("/").at(-1).replace(/\[\d+\]$/, "")`; the `[<index>]`s before it say which loop item.
 *
 * @since 0.1.0
 */
export interface WorkflowGraph {
  readonly name: string
  readonly steps: ReadonlyArray<GraphNode>
}

/**
 * A workflow's structure, for the dashboard (`mermaid` draws the same for a person).
 *
 * @since 0.1.0
 */
export const graph = (model: Model.WorkflowModel): WorkflowGraph => {
  const node = (n: Model.Node): GraphNode => {
    const condition = n.if !== undefined ? { condition: expressionSource(n.if) } : {}
    switch (n.kind) {
      case "step":
        return { id: n.id, kind: n.kind, uses: n.uses, ...condition, compensates: n.compensate !== "off" }
      case "forEach":
      case "group":
        return { id: n.id, kind: n.kind, ...condition, steps: n.steps.map(node) }
      case "parallel":
        return { id: n.id, kind: n.kind, ...condition, branches: n.branches.map(node) }
    }
  }
  return { name: model.name, steps: model.steps.map(node) }
}

/**
 * The structure of a workflow's text (a run's stored definition), or undefined when the text
 * is not YAML or not a workflow. Only read, not checked: the plugins its steps use need not be
 * loaded, and a definition that no longer passes today's checks still shows what it ran.
 *
 * @since 0.1.0
 */
export const graphOfText = (text: string): WorkflowGraph | undefined => {
  const parsed = Source.parse(text)
  if (parsed.problems.length > 0) return undefined
  const read = Model.read(parsed.root)
  return read.model === undefined ? undefined : graph(read.model)
}
