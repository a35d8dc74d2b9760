/**
 * `relais graph <file>`: the workflow as a Mermaid flowchart, on stdout.
 *
 * @since 0.1.0
 */
import { Effect, type Option } from "effect"
import * as Output from "../Output.js"
import * as Load from "../yaml/Load.js"
import * as Common from "./Common.js"

/**
 * The handler of `relais graph`.
 *
 * @since 0.1.0
 */
export const handler = (flags: { readonly file: string; readonly config: Option.Option<string> }) =>
  Load.loadFile(flags.file).pipe(
    Effect.flatMap((loaded) => Output.out(loaded.mermaid.replace(/\n$/, ""))),
    Common.provideRegistry({ sandbox: false, configFile: flags.config })
  )
