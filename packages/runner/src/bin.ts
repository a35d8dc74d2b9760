#!/usr/bin/env node
/**
 * The `relais` executable.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Redactor } from "@relais/core"
import { Effect, Layer } from "effect"
import * as Cli from "./Cli.js"
import * as Output from "./Output.js"

// The edge: the redactor every secret is registered with, the terminal, the logger, Node.
const edge = Layer.mergeAll(NodeContext.layer, Output.layerNode, Output.layerLogger).pipe(
  Layer.provideMerge(Redactor.layer)
)

NodeRuntime.runMain(Cli.main(process.argv).pipe(Effect.provide(edge)), {
  // Errors are rendered by Cli.main; @effect/cli has printed its own usage errors already.
  disableErrorReporting: true,
  disablePrettyLogger: true,
  teardown: Cli.teardown
})
