/**
 * What the command handlers share: the registry, JSON errors, a taken --run-id. (The flags
 * themselves are declared in `cli/Commands.ts`.)
 *
 * It imports neither the engine nor the YAML loader, and the plugins only for
 * `provideRegistry`, so that a command that needs none of them (`runs`) loads none of them once
 * bundled (see `bundle.mjs`).
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import { Plugin, type Run } from "@relais/core"
import { Effect, Option } from "effect"
import { type ConfigError, type PluginLoadError, UsageError } from "../Errors.js"
import * as ExitCode from "../ExitCode.js"
import * as Loader from "../Loader.js"
import { Output } from "../Output.js"

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
 * The registry of the plugins, for the commands that read steps or configuration: the built-in
 * plugins and those `plugins:` of the configuration file lists (`--config`, else
 * `RELAIS_CONFIG`, else `./relais.config.yaml` when there is one: with no file, nothing is read).
 *
 * @since 0.1.0
 */
export const provideRegistry = (options: Loader.Options) =>
<A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<
  A,
  E | ConfigError | PluginLoadError,
  Exclude<R, Plugin.PluginRegistry> | FileSystem.FileSystem | Path.Path
> =>
  Effect.flatMap(Effect.serviceOption(Plugin.PluginRegistry), (existing) =>
    // A registry already in context wins: tests (and tools embedding the CLI) bring their own.
    Option.isSome(existing)
      ? Effect.provideService(effect, Plugin.PluginRegistry, existing.value)
      : Effect.flatMap(Loader.registry(options), (registry) => Effect.provideService(effect, Plugin.PluginRegistry, registry)))

interface Diagnostics {
  readonly diagnostics: ReadonlyArray<{ readonly file: string; readonly line: number; readonly column: number; readonly message: string }>
}

// By its tag rather than `instanceof`, so that reading the error does not load the YAML loader.
const isInvalidWorkflow = (error: { readonly _tag: string }): error is typeof error & Diagnostics =>
  error._tag === "InvalidWorkflow" && Array.isArray((error as Partial<Diagnostics>).diagnostics)

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
    ...(isInvalidWorkflow(error)
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

/**
 * `--run-id` names a run of another workflow or definition: it cannot be reused.
 *
 * @since 0.1.0
 */
export const runIdTaken = (
  record: Run.RunRecord,
  workflow: string,
  definition: Run.Definition
): Option.Option<UsageError> =>
  record.workflow === workflow && record.definition?.hash === definition.hash
    ? Option.none()
    : Option.some(
      new UsageError({
        reason: `run id ${record.id} is already used by a run of ${record.workflow}${
          record.definition?.source ? ` (${record.definition.source})` : ""
        } with another definition; choose another --run-id`
      })
    )
