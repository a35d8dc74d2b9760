/**
 * `relais validate <file>...`: check workflow files completely (structure, steps, expressions,
 * types) and report every problem of every file. Needs no credentials and no database.
 *
 * @since 0.1.0
 */
import { Effect, type Option } from "effect"
import * as ExitCode from "../ExitCode.js"
import { Output } from "../Output.js"
import * as Report from "../Report.js"
import * as Load from "../yaml/Load.js"
import * as Common from "./Common.js"

/**
 * The handler of `relais validate`.
 *
 * @since 0.1.0
 */
export const handler = (flags: { readonly files: ReadonlyArray<string>; readonly config: Option.Option<string>; readonly json: boolean }) =>
  Effect.gen(function*() {
    const output = yield* Output
    let invalid = 0
    for (const file of flags.files) {
      const result = yield* Effect.either(Load.loadFile(file))
      if (result._tag === "Right") {
        const loaded = result.right
        if (flags.json) {
          yield* output.writeOut(`${JSON.stringify({ type: "validation", file, ok: true, workflow: loaded.name, inputs: loaded.inputs })}\n`)
        } else {
          yield* output.writeOut(`${output.styleOut.green("✓")} ${file}: ${loaded.name}\n`)
        }
        continue
      }
      invalid++
      const error = result.left
      const diagnostics = error._tag === "InvalidWorkflow"
        ? error.diagnostics.map((d) => ({ file: d.file, line: d.line, column: d.column, message: d.message }))
        : [{ file, line: 0, column: 0, message: `cannot read it: ${error.reason}` }]
      if (flags.json) {
        yield* output.writeOut(`${JSON.stringify({ type: "validation", file, ok: false, diagnostics })}\n`)
      }
      yield* output.writeErr(diagnostics.map((d) => `${Report.diagnosticLine(d)}\n`).join(""))
      yield* output.writeErr(`${output.styleErr.red("✗")} ${file}: ${diagnostics.length} problem${diagnostics.length === 1 ? "" : "s"}\n`)
    }
    if (flags.files.length > 1 && !flags.json) {
      yield* output.writeErr(`${flags.files.length} files checked, ${invalid === 0 ? "all valid" : `${invalid} with problems`}\n`)
    }
    yield* ExitCode.set(invalid === 0 ? ExitCode.succeeded : ExitCode.invalid)
  }).pipe(Common.provideRegistry({ sandbox: false, configFile: flags.config }))
