/**
 * What the commands share: common flags, the run store's file, the registry, JSON errors.
 *
 * @since 0.1.0
 */
import { Options } from "@effect/cli"
import { Engine, Plugin } from "@relais/core"
import { Config, Effect, Layer, Option } from "effect"
import * as ExitCode from "../ExitCode.js"
import { Output } from "../Output.js"
import * as Plugins from "../Plugins.js"
import { InvalidWorkflow } from "../yaml/Load.js"

/** `--json` @since 0.1.0 */
export const json = Options.boolean("json").pipe(
  Options.withDescription("Machine-readable output on stdout (JSON); messages stay on stderr")
)

/** `--store` @since 0.1.0 */
export const store = Options.text("store").pipe(
  Options.withDescription(`The run store (SQLite file). Default: RELAIS_STORE, else ${Engine.defaultFilename}`),
  Options.optional
)

/** `--profile` @since 0.1.0 */
export const profile = Options.text("profile").pipe(
  Options.withDescription("The profile of relais.config.yaml to use (default: RELAIS_PROFILE, else defaultProfile)"),
  Options.optional
)

/** `--config` @since 0.1.0 */
export const config = Options.text("config").pipe(
  Options.withDescription("The configuration file (default: RELAIS_CONFIG, else ./relais.config.yaml if present)"),
  Options.optional
)

/** `--sandbox` @since 0.1.0 */
export const sandbox = Options.boolean("sandbox").pipe(
  Options.withDescription("Run against both simulators started in-process with seeded data: no configuration needed")
)

/** `--seed` @since 0.1.0 */
export const seed = Options.integer("seed").pipe(
  Options.withDescription("Seed of the sandboxes' generated data (default: their own)"),
  Options.optional
)

/** `--fault` @since 0.1.0 */
export const fault = Options.text("fault").pipe(
  Options.withDescription(
    "Inject a sandbox fault: <aimaira|campus-skills>:<rule>, e.g. \"aimaira:POST /GraphV1/Convention 429:2 x1\" (repeatable)"
  ),
  Options.repeated
)

/**
 * The run store's file: `--store`, else `RELAIS_STORE`, else `.relais/relais.db`.
 *
 * @since 0.1.0
 */
export const storeFile = (flag: Option.Option<string>): Effect.Effect<{ readonly file: string; readonly explicit: boolean }> =>
  Option.match(flag, {
    onSome: (file) => Effect.succeed({ file, explicit: true }),
    onNone: () =>
      Config.option(Config.string("RELAIS_STORE")).pipe(
        Effect.orElseSucceed(() => Option.none<string>()),
        Effect.map(Option.filter((s) => s !== "")),
        Effect.map(Option.match({
          onNone: () => ({ file: Engine.defaultFilename, explicit: false }),
          onSome: (file) => ({ file, explicit: true })
        }))
      )
  })

/**
 * Quote a word for a shell command line shown to the user.
 *
 * @since 0.1.0
 */
export const shellWord = (word: string): string => /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`

/**
 * The flags that reach the same store and target again (for `resume` and `runs show` hints).
 *
 * @since 0.1.0
 */
export const storeFlag = (storeInfo: { readonly file: string; readonly explicit: boolean }): string =>
  storeInfo.explicit ? ` --store ${shellWord(storeInfo.file)}` : ""

/**
 * The registry of the plugins, for the commands that read steps.
 *
 * @since 0.1.0
 */
export const provideRegistry = (options: Plugins.Options) =>
<A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.serviceOption(Plugin.PluginRegistry), (existing) =>
    Effect.provide(
      effect,
      // A registry already in context wins: tests (and tools embedding the CLI) bring their own.
      Option.isSome(existing) ? Layer.succeed(Plugin.PluginRegistry, existing.value) : Plugins.layer(options)
    ))

/**
 * The JSON form of an error, for `--json` output.
 *
 * @since 0.1.0
 */
export const errorJson = (error: { readonly _tag: string; readonly message: string; readonly usage?: boolean | undefined }) => ({
  type: "error",
  exitCode: ExitCode.ofError(error),
  error: {
    _tag: error._tag,
    message: error.message,
    ...(error instanceof InvalidWorkflow
      ? { diagnostics: error.diagnostics.map((d) => ({ file: d.file, line: d.line, column: d.column, message: d.message })) }
      : {})
  }
})

/**
 * With `--json`, an error that ends the command is also written to stdout as the last line
 * (`{"type":"error",...}`); it is then rendered on stderr as usual.
 *
 * @since 0.1.0
 */
export const jsonErrors = (enabled: boolean) =>
<A, E extends { readonly _tag: string; readonly message: string }, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R | Output> =>
  enabled
    ? Effect.tapError(effect, (error) => Effect.flatMap(Output, (o) => o.writeOut(`${JSON.stringify(errorJson(error))}\n`)))
    : effect
