/**
 * Everything `run` and `resume` need from the environment before a run starts: which target
 * (the sandboxes, a profile, or the environment variables), the providers' layer for the
 * providers the workflow uses, and the banner that says where the run goes (loud for
 * production).
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import { AimairaSandbox } from "@relais/aimaira/sandbox"
import { CampusSkillsSandbox } from "@relais/campus-skills/sandbox"
import type { Redactor } from "@relais/core"
import { Context, Effect, Layer, type Option } from "effect"
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
      const sandboxes = Providers.layerSandbox({
        seed: options.seed._tag === "Some" ? options.seed.value : undefined,
        faults: options.faults
      }).pipe(
        Layer.tap((context) => {
          const aimaira = Context.get(context, AimairaSandbox.AimairaSandbox)
          const campus = Context.get(context, CampusSkillsSandbox.CampusSkillsSandbox)
          const faults = [...options.faults.aimaira.map((f) => `aimaira: ${f}`), ...options.faults.campusSkills.map((f) => `campus-skills: ${f}`)]
          return Output.note(
            `sandboxes: AIMAIRA ${aimaira.apiUrl}, Campus Skills ${campus.url}${faults.length > 0 ? `; faults: ${faults.join("; ")}` : ""}`
          )
        })
      )
      return {
        info: { kind: "sandbox", production: false, endpoints: {} },
        layer: sandboxes as unknown as Plan["layer"],
        flags: " --sandbox"
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
