/**
 * The `relais` command line: the commands, and the one place errors become messages and exit
 * codes. `main` never fails: every error is rendered (its message, no stack trace) and mapped
 * by `ExitCode.ofError`; only a defect (a bug) is shown with its trace.
 *
 * @since 0.1.0
 */
import { Command, ValidationError } from "@effect/cli"
import type * as CliApp from "@effect/cli/CliApp"
import type { Teardown } from "@effect/platform/Runtime"
import type { Redactor } from "@relais/core"
import { Cause, Effect, Exit, Ref } from "effect"
import * as ConfigCommand from "./commands/Config.js"
import * as Graph from "./commands/Graph.js"
import * as Resume from "./commands/Resume.js"
import * as RunCommand from "./commands/Run.js"
import * as Runs from "./commands/Runs.js"
import * as Sandbox from "./commands/Sandbox.js"
import * as SchemaCommand from "./commands/Schema.js"
import * as Steps from "./commands/Steps.js"
import * as Validate from "./commands/Validate.js"
import * as ExitCode from "./ExitCode.js"
import { Output } from "./Output.js"
import * as Report from "./Report.js"

/**
 * The version `relais --version` prints.
 *
 * @since 0.1.0
 */
export const version = "0.1.0"

const overview = [
  "relais: typed, durable workflows between AIMAIRA and Campus Skills",
  "",
  "usage: relais <command> [options]",
  "",
  "  run <file>          check a workflow file and run it",
  "  validate <file>...  check workflow files (no credentials, no database)",
  "  resume <runId>      resume an interrupted run",
  "  runs list|show      the run history",
  "  graph <file>        the workflow as a Mermaid flowchart",
  "  schema              write the JSON Schema of workflow files for editors",
  "  steps [name]        the available steps and their inputs",
  "  sandbox             serve both simulators until Ctrl-C",
  "  config              which profile and credentials a run would use",
  "",
  "relais <command> --help shows a command's options; relais --help shows everything."
]

const root = Command.make("relais", {}, () =>
  Effect.gen(function*() {
    const output = yield* Output
    yield* output.writeErr(`${overview.join("\n")}\n`)
    yield* ExitCode.set(ExitCode.invalid)
  })).pipe(
    Command.withDescription("Typed, durable workflows for the convention lifecycle between AIMAIRA and Campus Skills"),
    Command.withSubcommands([
      RunCommand.command,
      Validate.command,
      Resume.command,
      Runs.command,
      Graph.command,
      SchemaCommand.command,
      Steps.command,
      Sandbox.command,
      ConfigCommand.command
    ])
  )

const cli = Command.run(root, { name: "relais", version })

/**
 * Render an error that ended a command, on stderr.
 *
 * @since 0.1.0
 */
export const renderError = (error: unknown): Effect.Effect<number, never, Output> =>
  Effect.gen(function*() {
    const output = yield* Output
    const style = output.styleErr
    if (ValidationError.isValidationError(error)) {
      // @effect/cli has printed what is wrong already.
      if (!ValidationError.isHelpRequested(error)) {
        yield* output.writeErr(`${style.dim("(relais --help lists the commands; relais <command> --help their options)")}\n`)
      }
      return ExitCode.invalid
    }
    const tagged = error as { readonly _tag?: unknown; readonly message?: unknown; readonly usage?: boolean }
    const tag = typeof tagged._tag === "string" ? tagged._tag : "UnknownError"
    const code = ExitCode.ofError({ _tag: tag, usage: tagged.usage })
    switch (tag) {
      case "InvalidWorkflow": {
        const invalid = error as { readonly file: string; readonly diagnostics: ReadonlyArray<Parameters<typeof Report.diagnosticLine>[0]> }
        const n = invalid.diagnostics.length
        yield* output.writeErr(
          `${invalid.diagnostics.map((d) => Report.diagnosticLine(d)).join("\n")}\n${style.red("✗")} ${n} problem${n === 1 ? "" : "s"} in ${invalid.file}\n`
        )
        return code
      }
      case "ConfigError": {
        const problems = (error as { readonly problems: ReadonlyArray<{ toString(): string }> }).problems
        yield* output.writeErr(problems.map((p) => `${style.red("error:")} ${p.toString()}\n`).join(""))
        return code
      }
      case "RunNotFound":
        yield* output.writeErr(`${style.red("error:")} ${String(tagged.message)}\n${style.dim("relais runs list shows the runs of this store")}\n`)
        return code
    }
    if (code === ExitCode.internal) {
      yield* output.writeErr(`${style.red("internal error")} (${tag}): ${String(tagged.message ?? error)}\nThis is a bug in relais; please report it.\n`)
      return code
    }
    yield* output.writeErr(`${style.red("error:")} ${typeof tagged.message === "string" ? tagged.message : String(error)}\n`)
    return code
  })

/**
 * Run the command line `argv` (as `process.argv`: node, script, arguments...) and return its
 * exit code. Interruption (Ctrl-C) is left to propagate, so that scopes close and the caller maps
 * it to 130.
 *
 * @since 0.1.0
 */
export const main = (
  argv: ReadonlyArray<string>
): Effect.Effect<number, never, CliApp.CliApp.Environment | Output | Redactor.Redactor> =>
  Effect.gen(function*() {
    const status = yield* Ref.make<number>(ExitCode.succeeded)
    const result = yield* cli(argv).pipe(Effect.provideService(ExitCode.ExitStatus, status), Effect.either)
    if (result._tag === "Right") return yield* Ref.get(status)
    return yield* renderError(result.left)
  }).pipe(
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause as Cause.Cause<never>)
        : Effect.flatMap(Output, (output) =>
          output.writeErr(
            `${output.styleErr.red("internal error")}: ${Cause.pretty(cause)}\nThis is a bug in relais; please report it.\n`
          )).pipe(Effect.as(ExitCode.internal))
    )
  ) as Effect.Effect<number, never, CliApp.CliApp.Environment | Output | Redactor.Redactor>

/**
 * How `bin.ts` ends the process: the command's code, 130 when interrupted, 70 for a defect.
 *
 * @since 0.1.0
 */
export const teardown: Teardown = (exit, onExit) => {
  if (Exit.isSuccess(exit)) {
    onExit(typeof exit.value === "number" ? exit.value : ExitCode.succeeded)
    return
  }
  onExit(Cause.isInterruptedOnly(exit.cause) ? ExitCode.interrupted : ExitCode.internal)
}
