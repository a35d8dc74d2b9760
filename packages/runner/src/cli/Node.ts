/**
 * The edge of the `relais` process: the layers a command runs on (Node's file system and
 * paths, the terminal, the logger, the redactor every secret is registered with), and the one
 * place the program is handed to `NodeRuntime.runMain`.
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Redactor from "@relais/core/Redactor"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Cli from "../Cli.js"
import * as Output from "../Output.js"

/**
 * What `Cli` needs, from Node.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer: Layer.Layer<Cli.Environment> = Layer.mergeAll(
  NodeFileSystem.layer,
  NodePath.layer,
  Output.layerNode,
  Output.layerLogger
).pipe(Layer.provideMerge(Redactor.layer))

const runMain = (program: Effect.Effect<number, never, Cli.Environment>): void =>
  NodeRuntime.runMain(program.pipe(Effect.provide(layer)), {
    // Errors are rendered by Cli; the teardown maps interruption to 130 and defects to 70.
    disableErrorReporting: true,
    disablePrettyLogger: true,
    teardown: Cli.teardown
  })

/**
 * Run a parsed command, its handler loaded from `Cli.handlers`.
 *
 * @since 0.1.0
 */
export const run = (parsed: Cli.Parsed): void => runMain(Cli.execute(parsed))

/**
 * Run a parsed command with the handler given (each bundled command passes its own).
 *
 * @since 0.1.0
 */
export const runWith = (handler: Cli.CommandHandler, parsed: Cli.Parsed): void => runMain(Cli.executeWith(handler, parsed))
