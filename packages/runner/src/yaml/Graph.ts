/**
 * A Mermaid flowchart of a workflow: steps in order, loops as subgraphs, parallel branches as
 * forks, conditions on the edges.
 *
 * @since 0.1.0
 */
import type * as Model from "./Model.js"

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
      : `|"if ${escape(node.if.template._tag === "Whole" ? node.if.template.source : node.if.raw)}"|`

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
        const source = node.over.template._tag === "Whole" ? node.over.template.source : node.over.raw
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
