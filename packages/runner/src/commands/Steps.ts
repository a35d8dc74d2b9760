/**
 * `relais steps [name]`: the catalogue of the steps the installed plugins register, and for one
 * step its inputs (`with:`) and output, from its schemas.
 *
 * @since 0.1.0
 */
import { Plugin, RetryPolicy, Step } from "@relais/core"
import { Duration, Effect, Option, Schema } from "effect"
import { Output } from "../Output.js"
import * as Report from "../Report.js"
import * as SchemaText from "../SchemaText.js"
import * as Common from "./Common.js"

const encodePolicy = Schema.encodeSync(RetryPolicy.RetryPolicy)

const infoJson = (info: Plugin.StepInfo, withSchemas: boolean) => ({
  name: info.name,
  plugin: info.plugin,
  description: info.description,
  retry: encodePolicy(info.step.retry),
  timeoutMillis: Duration.toMillis(info.step.timeout),
  compensation: info.compensation ?? null,
  reconciles: info.reconciles,
  idempotent: info.idempotent,
  ...(withSchemas ? Step.jsonSchemas(info.step) : {})
})

/**
 * The handler of `relais steps`.
 *
 * @since 0.1.0
 */
export const handler = (flags: { readonly name: Option.Option<string>; readonly config: Option.Option<string>; readonly json: boolean }) =>
  Effect.gen(function*() {
    const registry = yield* Plugin.PluginRegistry
    const output = yield* Output
    const style = output.styleOut
    if (Option.isSome(flags.name)) {
      const step = yield* registry.get(flags.name.value)
      const info = registry.steps.find((s) => s.step === step)!
      if (flags.json) {
        yield* output.writeOut(`${JSON.stringify(infoJson(info, true))}\n`)
        return
      }
      const schemas = Step.jsonSchemas(step)
      yield* output.writeOut([
        `${style.bold(info.name)} ${style.dim(`(plugin ${info.plugin})`)}`,
        `  ${info.description}`,
        "",
        `  retry         ${info.retry}`,
        `  timeout       ${Report.formatMillis(Duration.toMillis(step.timeout))} per attempt`,
        `  compensation  ${info.compensation ?? "none (nothing to undo, or cannot be undone)"}`,
        `  reconcile     ${info.reconciles ? "yes: looks for the result of an earlier attempt before creating again" : "no"}`,
        `  idempotent    ${info.idempotent ? "yes" : "no"}`,
        "",
        style.bold("input (with:)"),
        ...SchemaText.lines(schemas.input, style),
        "",
        style.bold("output (steps.<id>.output)"),
        ...SchemaText.lines(schemas.output, style)
      ].join("\n") + "\n")
      return
    }
    if (flags.json) {
      yield* output.writeOut(`${JSON.stringify(registry.steps.map((s) => infoJson(s, false)))}\n`)
      return
    }
    if (registry.steps.length === 0) {
      yield* output.writeOut("no steps are registered (no plugin is loaded)\n")
      return
    }
    const lines: Array<string> = []
    for (const info of registry.steps) {
      lines.push(`${style.bold(info.name)}  ${info.description}`)
      lines.push(style.dim(`    retry: ${info.retry}`))
      lines.push(style.dim(`    undo: ${info.compensation ?? "none"}${info.reconciles ? " · reconciles before creating again" : ""}${info.idempotent ? " · idempotent" : ""}`))
    }
    lines.push("", style.dim(`${registry.steps.length} steps; relais steps <name> shows a step's inputs and output`))
    yield* output.writeOut(`${lines.join("\n")}\n`)
  }).pipe(Common.provideRegistry({ sandbox: false, configFile: flags.config }))
