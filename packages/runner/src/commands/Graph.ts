/**
 * `relais graph <file>`: the workflow as a Mermaid flowchart, on stdout.
 *
 * @since 0.1.0
 */
import { Args, Command } from "@effect/cli"
import { Effect } from "effect"
import * as Output from "../Output.js"
import * as Load from "../yaml/Load.js"
import * as Common from "./Common.js"

const file = Args.text({ name: "file" }).pipe(Args.withDescription("The workflow file"))

/**
 * @since 0.1.0
 */
export const command = Command.make("graph", { file }, ({ file }) =>
  Load.loadFile(file).pipe(
    Effect.flatMap((loaded) => Output.out(loaded.mermaid.replace(/\n$/, ""))),
    Common.provideRegistry({ sandbox: false })
  )).pipe(Command.withDescription("Print the workflow as a Mermaid flowchart"))
