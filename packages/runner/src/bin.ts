#!/usr/bin/env node
/**
 * The `relais` executable.
 *
 * The command line is parsed before anything else is loaded: `--version`, `--help` and usage
 * errors are answered from the command table alone (no Effect, no engine), in a few
 * milliseconds. Only a command that runs loads the runtime, and then only its own module.
 *
 * @since 0.1.0
 */
import * as Args from "./cli/Args.js"
import * as Commands from "./cli/Commands.js"
import * as Help from "./cli/Help.js"
import * as Style from "./Style.js"

const parsed = Args.parse(Commands.root, process.argv.slice(2))

if (parsed._tag === "Run") {
  // Modules, not barrels: a dynamic import keeps every export of what it names.
  const [NodeFileSystem, NodePath, NodeRuntime, Redactor, Effect, Layer, Cli, Output] = await Promise.all([
    import("@effect/platform-node/NodeFileSystem"),
    import("@effect/platform-node/NodePath"),
    import("@effect/platform-node/NodeRuntime"),
    import("@relais/core/Redactor"),
    import("effect/Effect"),
    import("effect/Layer"),
    import("./Cli.js"),
    import("./Output.js")
  ])
  // The edge: the redactor every secret is registered with, the terminal, the logger, Node.
  const edge = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, Output.layerNode, Output.layerLogger).pipe(
    Layer.provideMerge(Redactor.layer)
  )
  NodeRuntime.runMain(Cli.execute(parsed).pipe(Effect.provide(edge)), {
    // Errors are rendered by Cli.execute.
    disableErrorReporting: true,
    disablePrettyLogger: true,
    teardown: Cli.teardown
  })
} else {
  const answer = Help.answer(parsed, {
    styleOut: Style.forStream(process.stdout, process.env),
    styleErr: Style.forStream(process.stderr, process.env),
    columns: process.stdout.columns !== undefined && process.stdout.columns > 0 ? process.stdout.columns : 80
  })!
  if (answer.stdout !== "") process.stdout.write(answer.stdout)
  if (answer.stderr !== "") process.stderr.write(answer.stderr)
  process.exitCode = answer.code
}
