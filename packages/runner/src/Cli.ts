/**
 * The `relais` command line: the one place a parsed command line becomes a handler call, and
 * errors become messages and exit codes. `main` never fails: every error is rendered (its
 * message, no stack trace) and mapped by `ExitCode.ofError`; only a defect (a bug) is shown
 * with its trace.
 *
 * The commands are declared in `cli/Commands.ts` and parsed by `cli/Args.ts` without Effect;
 * each command's module (`commands/*.ts`) is imported only when that command runs, so that
 * `relais validate` never loads the engine, the cluster or the sandboxes. (The binary goes
 * further: each command is bundled on its own, see `bundle.mjs`, and run with `executeWith`.)
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type { Teardown } from "@effect/platform/Runtime"
import type { Redactor } from "@relais/core"
import { Cause, Effect, Exit, Option, Ref } from "effect"
import * as Args from "./cli/Args.js"
import * as Commands from "./cli/Commands.js"
import * as Help from "./cli/Help.js"
import * as ExitCode from "./ExitCode.js"
import { Output } from "./Output.js"
import * as Report from "./Report.js"

/**
 * The version `relais --version` prints.
 *
 * @since 0.1.0
 */
export const version = Commands.version

/**
 * What the commands need from the edge (the binary or a test): the file system, paths, the
 * output and the redactor.
 *
 * @since 0.1.0
 */
export type Environment = FileSystem.FileSystem | Path.Path | Output | Redactor.Redactor

type FlagValue<O> = O extends Args.Option<infer A, infer C> ? C extends "repeatable" ? ReadonlyArray<A>
  : C extends "optional" ? Option.Option<A>
  : A
  : never

type ArgumentValue<P> = P extends Args.Argument<infer A, infer N> ? N extends "atLeastOne" | "any" ? ReadonlyArray<A>
  : N extends "optional" ? Option.Option<A>
  : A
  : never

/**
 * The flags object a command's handler receives: the parsed values, with `Option` for an
 * optional option or argument.
 *
 * @since 0.1.0
 */
export type Flags<C> = C extends Args.Command<infer O, infer P>
  ? { readonly [K in keyof O]: FlagValue<O[K]> } & { readonly [K in keyof P]: ArgumentValue<P[K]> }
  : never

/**
 * What a command's module exports for it: a function of its flags.
 *
 * @since 0.1.0
 */
export type CommandHandler = (flags: any) => Effect.Effect<unknown, unknown, Environment | ExitCode.ExitStatus>

/**
 * A command's handler, loaded on demand.
 *
 * @since 0.1.0
 */
export interface Handler {
  readonly command: Args.Command<any, any>
  readonly load: () => Promise<CommandHandler>
}

// The type parameter checks that the declaration gives the handler every flag it reads.
const handler = <C extends Args.Command<any, any>>(
  command: C,
  load: () => Promise<(flags: Flags<C>) => Effect.Effect<unknown, unknown, Environment | ExitCode.ExitStatus>>
): Handler => ({ command, load })

/**
 * Each command and where its handler lives. The dynamic imports keep a command from loading
 * the others. (`@__PURE__`: a bundle that does not use this table leaves it, and every
 * command it names, out.)
 *
 * @since 0.1.0
 */
export const handlers: ReadonlyArray<Handler> = [
  /* @__PURE__ */ handler(Commands.run, () => import("./commands/Run.js").then((m) => m.handler)),
  /* @__PURE__ */ handler(Commands.validate, () => import("./commands/Validate.js").then((m) => m.handler)),
  /* @__PURE__ */ handler(Commands.resume, () => import("./commands/Resume.js").then((m) => m.handler)),
  /* @__PURE__ */ handler(Commands.cancel, () => import("./commands/Cancel.js").then((m) => m.handler)),
  /* @__PURE__ */ handler(Commands.restart, () => import("./commands/Restart.js").then((m) => m.handler)),
  /* @__PURE__ */ handler(Commands.runsList, () => import("./commands/Runs.js").then((m) => m.listHandler)),
  /* @__PURE__ */ handler(Commands.runsShow, () => import("./commands/Runs.js").then((m) => m.showHandler)),
  /* @__PURE__ */ handler(Commands.graph, () => import("./commands/Graph.js").then((m) => m.handler)),
  /* @__PURE__ */ handler(Commands.schema, () => import("./commands/Schema.js").then((m) => m.handler)),
  /* @__PURE__ */ handler(Commands.steps, () => import("./commands/Steps.js").then((m) => m.handler)),
  /* @__PURE__ */ handler(Commands.sandboxCommand, () => import("./commands/Sandbox.js").then((m) => m.handler)),
  /* @__PURE__ */ handler(Commands.configCommand, () => import("./commands/Config.js").then((m) => m.handler)),
  /* @__PURE__ */ handler(Commands.worker, () => import("./commands/Worker.js").then((m) => m.handler)),
  /* @__PURE__ */ handler(Commands.serve, () => import("./commands/Serve.js").then((m) => m.handler)),
  /* @__PURE__ */ handler(Commands.ui, () => import("./commands/Ui.js").then((m) => m.handler)),
  /* @__PURE__ */ handler(Commands.tokenCreate, () => import("./commands/Token.js").then((m) => m.createHandler)),
  /* @__PURE__ */ handler(Commands.schedules, () => import("./commands/Schedules.js").then((m) => m.handler))
]

/**
 * The handler's flags from the parsed values: `Option` where a value may be absent.
 *
 * @since 0.1.0
 */
export const toFlags = (command: Args.Command<any, any>, values: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const flags: Record<string, unknown> = { ...values }
  for (const [key, o] of Object.entries(command.options as Record<string, Args.AnyOption>)) {
    if (o.cardinality === "optional") flags[key] = Option.fromNullable(values[key])
  }
  for (const [key, a] of Object.entries(command.args as Record<string, Args.AnyArgument>)) {
    if (a.arity === "optional") flags[key] = Option.fromNullable(values[key])
  }
  return flags
}

/**
 * Render an error that ended a command, on stderr.
 *
 * @since 0.1.0
 */
export const renderError = (error: unknown): Effect.Effect<number, never, Output> =>
  Effect.gen(function*() {
    const output = yield* Output
    const style = output.styleErr
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
      case "ConfigError":
      case "PluginLoadError": {
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

const renderDefects = <R>(effect: Effect.Effect<number, never, R>): Effect.Effect<number, never, R | Output> =>
  Effect.catchAllCause(effect, (cause) =>
    Cause.isInterruptedOnly(cause)
      ? Effect.failCause(cause as Cause.Cause<never>)
      : Effect.flatMap(Output, (output) =>
        output.writeErr(
          `${output.styleErr.red("internal error")}: ${Cause.pretty(cause)}\nThis is a bug in relais; please report it.\n`
        )).pipe(Effect.as(ExitCode.internal))) as Effect.Effect<number, never, R | Output>

/**
 * A parsed command line that names a command to run.
 *
 * @since 0.1.0
 */
export type Parsed = Extract<Args.Parsed, { readonly _tag: "Run" }>

/**
 * Run a parsed command with its handler and return the exit code the handler set, or the code
 * of the error that ended it. Interruption (Ctrl-C) is left to propagate, so that scopes close
 * and the caller maps it to 130.
 *
 * @since 0.1.0
 */
export const executeWith = (handler: CommandHandler, parsed: Parsed): Effect.Effect<number, never, Environment> =>
  Effect.gen(function*() {
    const status = yield* Ref.make<number>(ExitCode.succeeded)
    const result = yield* handler(toFlags(parsed.command, parsed.values)).pipe(
      Effect.provideService(ExitCode.ExitStatus, status),
      Effect.either
    )
    if (result._tag === "Right") return yield* Ref.get(status)
    return yield* renderError(result.left)
  }).pipe(renderDefects)

/**
 * Run a parsed command: load its handler from `handlers`, then as `executeWith`.
 *
 * @since 0.1.0
 */
export const execute = (parsed: Parsed): Effect.Effect<number, never, Environment> =>
  Effect.gen(function*() {
    const found = handlers.find((h) => h.command === parsed.command)
    if (found === undefined) return yield* Effect.dieMessage(`no handler for ${parsed.path.join(" ")}`)
    // A module that cannot be imported is a bug in the build, not a user error.
    const handler = yield* Effect.orDie(Effect.tryPromise(found.load))
    return yield* executeWith(handler, parsed)
  }).pipe(renderDefects)

/**
 * Run the command line `argv` (as `process.argv`: node, script, arguments...) and return its
 * exit code: the version, help and usage errors are answered here; a command is executed.
 *
 * @since 0.1.0
 */
export const main = (argv: ReadonlyArray<string>): Effect.Effect<number, never, Environment> =>
  Effect.gen(function*() {
    const parsed = Args.parse(Commands.root, argv.slice(2))
    if (parsed._tag === "Run") return yield* execute(parsed)
    const output = yield* Output
    const answer = Help.answer(parsed, { styleOut: output.styleOut, styleErr: output.styleErr, columns: output.columns })!
    if (answer.stdout !== "") yield* output.writeOut(answer.stdout)
    if (answer.stderr !== "") yield* output.writeErr(answer.stderr)
    return answer.code
  }).pipe(renderDefects)

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
