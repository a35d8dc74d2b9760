/**
 * The workflow graph of a run (`definition.graph`) as nested boxes: the steps in order, the
 * branches of a parallel block side by side, a forEach or a group framed around its body, a
 * condition as a label. Each node says how far the run got with it, from the run's events: not
 * reached, running, succeeded, failed, stopped (by a cancellation), undone, undoing failed,
 * skipped or replayed, in words and an icon as well as a colour (a legend lists them).
 *
 * The events name invocations by path: a step `convention` in the forEach `contrats` runs as
 * `contrats[0]/convention`, `contrats[1]/convention`...; groups and parallel blocks add nothing
 * to the paths of the steps they hold. A node's key is the path without the item indexes.
 */
import type { GraphNode, RunEvent, WorkflowGraph } from "./Api.js"
import { type Key, t } from "./I18n.js"

export type NodeState =
  | "notReached"
  | "running"
  | "succeeded"
  | "failed"
  | "stopped"
  | "compensated"
  | "compensationFailed"
  | "skipped"
  | "replayed"

const label: Record<NodeState, Key> = {
  notReached: "nodeNotReached",
  running: "nodeRunning",
  succeeded: "nodeSucceeded",
  failed: "nodeFailed",
  stopped: "nodeStopped",
  compensated: "nodeCompensated",
  compensationFailed: "nodeCompensationFailed",
  skipped: "nodeSkipped",
  replayed: "nodeReplayed"
}

/** A shape for each state, so that colour is never the only sign. */
const icon: Record<NodeState, string> = {
  notReached: "○",
  running: "◔",
  succeeded: "✓",
  failed: "✗",
  stopped: "■",
  compensated: "↺",
  compensationFailed: "⚠",
  skipped: "⤼",
  replayed: "⟲"
}

/** When several invocations (loop items) of one node differ, the one that matters most shows. */
const weight: Record<NodeState, number> = {
  compensationFailed: 8,
  failed: 7,
  stopped: 6,
  running: 5,
  compensated: 4,
  succeeded: 3,
  replayed: 2,
  skipped: 1,
  notReached: 0
}

const worst = (states: Iterable<NodeState>): NodeState => {
  let result: NodeState = "notReached"
  for (const state of states) if (weight[state] > weight[result]) result = state
  return result
}

/** `contrats[3]/convention` → `contrats/convention`. */
export const keyOf = (path: string): string => path.split("/").map((segment) => segment.replace(/\[[^\]]*\]$/, "")).join("/")

/** The state of each invocation (by path) the events tell of, and each invocation's node key. */
export const invocationStates = (events: ReadonlyArray<RunEvent>): Map<string, NodeState> => {
  const states = new Map<string, NodeState>()
  for (const event of events) {
    switch (event._tag) {
      case "StepStarted":
        // A resumed run starts a step again after an interruption: running until it ends.
        states.set(event.path, "running")
        break
      case "StepReplayed":
        states.set(event.path, "replayed")
        break
      case "StepSkipped":
        states.set(event.path, "skipped")
        break
      case "StepSucceeded":
        states.set(event.path, "succeeded")
        break
      case "StepFailed":
        // A cancellation stopped it while it waited: not the step's failure.
        states.set(event.path, event.reason === "cancelled" ? "stopped" : "failed")
        break
      case "CompensationSucceeded":
        states.set(event.path, "compensated")
        break
      case "CompensationFailed":
        states.set(event.path, "compensationFailed")
        break
    }
  }
  return states
}

/** The state of each node key: the invocations of a key folded (the most telling first). */
export const nodeStates = (events: ReadonlyArray<RunEvent>): Map<string, NodeState> => {
  const byKey = new Map<string, Array<NodeState>>()
  for (const [path, state] of invocationStates(events)) {
    const key = keyOf(path)
    byKey.set(key, [...(byKey.get(key) ?? []), state])
  }
  return new Map([...byKey].map(([key, states]) => [key, worst(states)]))
}

interface Context {
  readonly states: Map<string, NodeState>
  /** The path of the forEach blocks around the node (`contrats/`), "" at the top. */
  readonly prefix: string
}

/** A node's own state, or for a block, its own (skipped) else the most telling of its body's. */
const stateOf = (node: GraphNode, context: Context): NodeState => {
  const own = context.states.get(`${context.prefix}${node.id}`)
  if (node.kind === "step" || own === "skipped") return own ?? "notReached"
  const inner = node.kind === "forEach" ? { ...context, prefix: `${context.prefix}${node.id}/` } : context
  return worst([...(node.steps ?? []), ...(node.branches ?? [])].map((child) => stateOf(child, inner)))
}

const kindLabel = (node: GraphNode): string =>
  node.kind === "forEach" ? t("kindForEach") : node.kind === "parallel" ? t("kindParallel") : node.kind === "group" ? t("kindGroup") : node.uses ?? ""

const StateBadge = ({ state }: { readonly state: NodeState }) => (
  <span class="node-state" data-node-state={state}>
    <span aria-hidden="true">{icon[state]}</span> {t(label[state])}
  </span>
)

const Node = ({ node, context }: { readonly node: GraphNode; readonly context: Context }) => {
  const state = stateOf(node, context)
  const key = `${context.prefix}${node.id}`
  const head = (
    <div class="node-head">
      {node.condition !== undefined && <span class="node-condition">{t("condition", { expr: node.condition })}</span>}
      <span class="node-id">{node.id}</span> <span class="node-kind">{kindLabel(node)}</span>
      {node.kind === "step" && node.compensates === false && <span class="node-note"> · {t("noCompensation")}</span>}
      {" "}<StateBadge state={state} />
    </div>
  )
  if (node.kind === "step") {
    return <li class={`node node-step state-${state}`} data-node={key}>{head}</li>
  }
  const inner = node.kind === "forEach" ? { ...context, prefix: `${context.prefix}${node.id}/` } : context
  return (
    <li class={`node node-block node-${node.kind} state-${state}`} data-node={key}>
      {head}
      {node.kind === "parallel"
        ? (
          <ul class="branches" aria-label={`${node.id}: ${t("kindParallel")}`}>
            {(node.branches ?? []).map((branch) => (
              <li class="branch" key={branch.id}>
                <ol class="graph-steps" aria-label={`${t("branch")} ${branch.id}`}>
                  <Node node={branch} context={inner} />
                </ol>
              </li>
            ))}
          </ul>
        )
        : (
          <ol class="graph-steps" aria-label={`${node.id}: ${kindLabel(node)}`}>
            {(node.steps ?? []).map((child) => <Node node={child} context={inner} key={child.id} />)}
          </ol>
        )}
    </li>
  )
}

const legendStates: ReadonlyArray<NodeState> = [
  "notReached",
  "running",
  "succeeded",
  "failed",
  "stopped",
  "compensated",
  "compensationFailed",
  "skipped",
  "replayed"
]

/** The graph with each node's state, and the legend of the states. */
export const GraphView = ({ graph, events }: { readonly graph: WorkflowGraph; readonly events: ReadonlyArray<RunEvent> }) => {
  const context: Context = { states: nodeStates(events), prefix: "" }
  return (
    <div class="graph" data-graph={graph.name}>
      <ol class="graph-steps" aria-label={graph.name}>
        {graph.steps.map((node) => <Node node={node} context={context} key={node.id} />)}
      </ol>
      <div class="legend" role="group" aria-label={t("legend")}>
        <strong>{t("legend")}</strong>
        <ul>
          {legendStates.map((state) => (
            <li key={state} class={`state-${state}`}>
              <StateBadge state={state} />
            </li>
          ))}
        </ul>
      </div>
    </div>
  )
}
