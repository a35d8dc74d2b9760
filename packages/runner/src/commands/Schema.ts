/**
 * `relais schema`: write the JSON Schema of the workflow format, with every registered step's
 * `with`, for editors (`# yaml-language-server: $schema=./relais.schema.json`); `relais schema
 * config`: the JSON Schema of `relais.config.yaml`, with each plugin's section. Both see the
 * plugins of the configuration file's `plugins:` as well as the built-in ones.
 *
 * @since 0.1.0
 */
import { Plugin } from "@relais/core"
import { Effect, Option } from "effect"
import * as Files from "../cli/Files.js"
import * as Config from "../Config.js"
import { UsageError } from "../Errors.js"
import * as Output from "../Output.js"
import * as Load from "../yaml/Load.js"
import * as Common from "./Common.js"

const defaults = { workflow: "relais.schema.json", config: "relais.config.schema.json" } as const

/**
 * The handler of `relais schema`.
 *
 * @since 0.1.0
 */
export const handler = (flags: {
  readonly what: Option.Option<string>
  readonly output: Option.Option<string>
  readonly config: Option.Option<string>
}) =>
  Effect.gen(function*() {
    const what = Option.getOrElse(flags.what, () => "workflow")
    if (what !== "workflow" && what !== "config") {
      return yield* new UsageError({ reason: `relais schema ${what}: expected workflow (the default) or config (the schema of ${Config.defaultFileName})` })
    }
    const schema = what === "config" ? Config.jsonSchema((yield* Plugin.PluginRegistry).plugins) : yield* Load.jsonSchema
    const output = Option.getOrElse(flags.output, () => defaults[what])
    const text = `${JSON.stringify(schema, null, 2)}\n`
    if (output === "-") {
      yield* Output.out(text.trimEnd())
      return
    }
    yield* Files.writeText(output, text)
    yield* Output.err(`wrote ${output}; point your editor at it with the first line of ${what === "config" ? Config.defaultFileName : "a workflow"}:`)
    yield* Output.err(`# yaml-language-server: $schema=${output.startsWith("/") || output.startsWith(".") ? output : `./${output}`}`)
  }).pipe(Common.provideRegistry({ sandbox: false, configFile: flags.config }))
