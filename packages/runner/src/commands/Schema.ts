/**
 * `relais schema`: write the JSON Schema of the workflow format, with every registered step's
 * `with`, for editors (`# yaml-language-server: $schema=./relais.schema.json`).
 *
 * @since 0.1.0
 */
import { Command, Options } from "@effect/cli"
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect } from "effect"
import { FileError } from "../Errors.js"
import * as Output from "../Output.js"
import * as Load from "../yaml/Load.js"
import * as Common from "./Common.js"

const outputFile = Options.text("output").pipe(
  Options.withAlias("o"),
  Options.withDescription("Where to write it; - for stdout"),
  Options.withDefault("relais.schema.json")
)

/**
 * @since 0.1.0
 */
export const command = Command.make("schema", { output: outputFile }, ({ output }) =>
  Effect.gen(function*() {
    const schema = yield* Load.jsonSchema
    const text = `${JSON.stringify(schema, null, 2)}\n`
    if (output === "-") {
      yield* Output.out(text.trimEnd())
      return
    }
    const fs = yield* FileSystem.FileSystem
    yield* fs.writeFileString(output, text).pipe(
      Effect.mapError((e) => new FileError({ file: output, reason: `cannot write it: ${e.message}` }))
    )
    yield* Output.err(`wrote ${output}; point your editor at it with the first line of a workflow:`)
    yield* Output.err(`# yaml-language-server: $schema=${output.startsWith("/") || output.startsWith(".") ? output : `./${output}`}`)
  }).pipe(Common.provideRegistry({ sandbox: false }))).pipe(
    Command.withDescription("Write the JSON Schema of workflow files (with every step's inputs) for editors")
  )
