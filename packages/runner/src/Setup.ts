/**
 * Everything `run` and `resume` need from the environment before a run starts: which target
 * (the sandboxes, a profile, or the environment variables), the providers' layer for the
 * providers the workflow uses, and the banner that says where the run goes (loud for
 * production).
 *
 * The in-process sandboxes of `--sandbox` keep their data with the run, in
 * `<store directory>/sandboxes/<run id>/` (written after every request that changes it, so a
 * killed process loses nothing): `resume --sandbox` restores it, and it is removed when the run
 * ends. A run whose sandbox data is not there cannot be resumed, and says so.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import { AimairaSandbox } from "@relais/aimaira/sandbox"
import { CampusSkillsSandbox } from "@relais/campus-skills/sandbox"
import type { Redactor } from "@relais/core"
import { Context, Effect, Layer, type Option, Schema } from "effect"
import * as Fs from "node:fs"
import * as NodePath from "node:path"
import * as Config from "./Config.js"
import type { ConfigError, MissingCredentials, ProviderSetupError } from "./Errors.js"
import * as Output from "./Output.js"
import * as Providers from "./Providers.js"
import * as Report from "./Report.js"

/**
 * Where a run will go, and how to build its providers.
 *
 * @since 0.1.0
 */
export interface Plan {
  readonly info: Report.TargetInfo
  /** The providers' clients (and the sandboxes), built once at the edge. */
  readonly layer: Layer.Layer<never, ProviderSetupError | Config.NotConfigured, Redactor.Redactor | Output.Output>
  /** The flags that select the same target again (` --sandbox`, ` --profile prod`). */
  readonly flags: string
  /** Where the in-process sandboxes keep their data for this run (`--sandbox` only). */
  readonly sandboxState?: string | undefined
}

/**
 * What the command line says about the target.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly sandbox: boolean
  readonly seed: Option.Option<number>
  readonly faults: Providers.SandboxFaults
  readonly profile: Option.Option<string>
  readonly configFile: Option.Option<string>
  /**
   * With `sandbox`: the directory where the sandboxes keep their data (`sandboxStateDir`),
   * restored from it when it holds some. Without it, the sandboxes start from their seed and
   * keep nothing.
   */
  readonly sandboxState?: string | undefined
}

/**
 * Where the in-process sandboxes of a run keep their data: beside the run store.
 *
 * @since 0.1.0
 */
export const sandboxStateDir = (storeFile: string, runId: string): string =>
  NodePath.join(NodePath.dirname(storeFile), "sandboxes", runId)

const stateFiles = (directory: string) => ({
  aimaira: NodePath.join(directory, "aimaira.json"),
  campusSkills: NodePath.join(directory, "campus-skills.json")
})

/**
 * Whether a run's sandbox data is there to resume it (both sandboxes wrote theirs when they
 * started).
 *
 * @since 0.1.0
 */
export const sandboxStateKept = (directory: string): boolean => {
  const files = stateFiles(directory)
  return Fs.existsSync(files.aimaira) && Fs.existsSync(files.campusSkills)
}

/**
 * Remove a run's sandbox data once the run has ended (a final status): nothing will resume it.
 * An interrupted run keeps it.
 *
 * @since 0.1.0
 */
export const settle = (plan: Plan, runEnded: boolean): Effect.Effect<void, never, Output.Output> =>
  plan.sandboxState === undefined || !runEnded
    ? Effect.void
    : Effect.try(() => Fs.rmSync(plan.sandboxState!, { recursive: true, force: true })).pipe(
      Effect.catchAll(() => Output.warn(`could not remove the sandboxes' data of the finished run: ${plan.sandboxState}`))
    )

/**
 * A run started on the in-process sandboxes cannot be resumed: their data was not kept with
 * the run (it was started by a relais that did not keep it, or the directory was removed), so
 * what its first execution created is gone.
 *
 * @since 0.1.0
 */
export class SandboxStateLost extends Schema.TaggedError<SandboxStateLost>("@relais/runner/SandboxStateLost")(
  "SandboxStateLost",
  {
    runId: Schema.String,
    directory: Schema.String,
    /** The command that starts the workflow again. */
    rerun: Schema.String
  }
) {
  override get message(): string {
    return `run ${this.runId} used in-process sandboxes whose data ended with the process (nothing was kept in ${this.directory}), so it cannot be resumed: what its first execution created is gone. Start it again instead: ${this.rerun}`
  }
}

/**
 * Decide the target. Configuration problems of a provider the workflow uses fail here, before
 * anything is opened or called; the others are ignored.
 *
 * @since 0.1.0
 */
export const plan = (
  options: Options,
  needed: ReadonlySet<Config.Provider>
): Effect.Effect<
  Plan,
  ConfigError | MissingCredentials,
  FileSystem.FileSystem | Path.Path | Redactor.Redactor | Output.Output
> =>
  Effect.gen(function*() {
    if (options.sandbox) {
      const restored = options.sandboxState !== undefined && sandboxStateKept(options.sandboxState)
      const sandboxes = Providers.layerSandbox({
        seed: options.seed._tag === "Some" ? options.seed.value : undefined,
        faults: options.faults,
        ...(options.sandboxState !== undefined ? { stateFiles: stateFiles(options.sandboxState) } : {})
      }).pipe(
        Layer.tap((context) => {
          const aimaira = Context.get(context, AimairaSandbox.AimairaSandbox)
          const campus = Context.get(context, CampusSkillsSandbox.CampusSkillsSandbox)
          const faults = [...options.faults.aimaira.map((f) => `aimaira: ${f}`), ...options.faults.campusSkills.map((f) => `campus-skills: ${f}`)]
          return Output.note(
            `sandboxes: AIMAIRA ${aimaira.apiUrl}, Campus Skills ${campus.url}${faults.length > 0 ? `; faults: ${faults.join("; ")}` : ""}${
              restored ? `; their data restored from ${options.sandboxState}` : ""
            }`
          )
        })
      )
      return {
        info: { kind: "sandbox", production: false, endpoints: {} },
        layer: sandboxes as unknown as Plan["layer"],
        flags: " --sandbox",
        sandboxState: options.sandboxState
      }
    }
    const { target, warnings } = yield* Config.resolve({ profile: options.profile, configFile: options.configFile })
    for (const warning of warnings) yield* Output.warn(warning.toString())
    if (needed.has("aimaira")) yield* Config.requireAimaira(target)
    if (needed.has("campus-skills")) yield* Config.requireCampusSkills(target)
    return {
      info: {
        kind: target.kind,
        profile: target.profile,
        production: target.production,
        endpoints: Providers.endpoints(target, needed)
      },
      layer: Providers.layerTarget(target, needed),
      flags: target.kind === "profile" ? ` --profile ${target.profile}` : ""
    }
  })

/**
 * Say where the run goes, on stderr. A production target gets a banner that cannot be missed.
 *
 * @since 0.1.0
 */
export const announce = (info: Report.TargetInfo, verb: string): Effect.Effect<void, never, Output.Output> =>
  Effect.gen(function*() {
    const output = yield* Output.Output
    const style = output.styleErr
    if (info.production) {
      const urls = Object.entries(info.endpoints).map(([k, v]) => `${k === "aimaira" ? "AIMAIRA" : "Campus Skills"} ${v}`)
      const lines = [
        `PRODUCTION: ${verb} against profile "${info.profile}"`,
        ...urls,
        "Real conventions and contracts are created, changed and deleted."
      ]
      const width = Math.max(...lines.map((l) => l.length)) + 2
      const bar = "!".repeat(width + 4)
      yield* output.writeErr(
        [bar, ...lines.map((l) => `!! ${l.padEnd(width - 1)}!!`), bar].map((l) => style.inverseRed(l)).join("\n") + "\n"
      )
      return
    }
    yield* output.writeErr(`${style.dim(`target: ${Report.targetText(info)}`)}\n`)
  })
