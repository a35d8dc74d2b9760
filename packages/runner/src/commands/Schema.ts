/**
 * `relais schema`: write the JSON Schema of the workflow format, with every registered step's
 * `with`, for editors (`# yaml-language-server: $schema=./relais.schema.json`).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as Files from "../cli/Files.js"
import * as Output from "../Output.js"
import * as Load from "../yaml/Load.js"
import * as Common from "./Common.js"

/**
 * The handler of `relais schema`.
 *
 * @since 0.1.0
 */
export const handler = ({ output }: { readonly output: string }) =>
  Effect.gen(function*() {
    const schema = yield* Load.jsonSchema
    const text = `${JSON.stringify(schema, null, 2)}\n`
    if (output === "-") {
      yield* Output.out(text.trimEnd())
      return
    }
    yield* Files.writeText(output, text)
    yield* Output.err(`wrote ${output}; point your editor at it with the first line of a workflow:`)
    yield* Output.err(`# yaml-language-server: $schema=${output.startsWith("/") || output.startsWith(".") ? output : `./${output}`}`)
  }).pipe(Common.provideRegistry({ sandbox: false }))
