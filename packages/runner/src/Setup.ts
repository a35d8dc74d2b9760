/**
 * Everything `run` and `resume` need from the environment before a run starts: which target
 * (the sandboxes, a profile, or the environment variables), the providers' layer for the
 * providers the workflow uses, and the banner that says where the run goes (loud for
 * production).
 *
 * The in-process sandboxes of `--sandbox` keep their data with the run, in
 * `<store directory>/sandboxes/<run id>/` (written after every request that changes it, so a
 * killed process loses nothing): `resume --sandbox` restores it, and it is removed when the run
 * ends. A run whose sandbox data is not there cannot be resumed, and says so. Their settings
 * (`--sandbox-integration`, `--sandbox-deletes`) are kept there too, so that a resumed run meets
 * the same sandboxes; faults and the seed are not (faults are for one execution, and the data
 * restored replaces the seeded data).
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import { AimairaSandbox } from "@relais/aimaira/sandbox"
import { CampusSkillsSandbox } from "@relais/campus-skills/sandbox"
import type { Redactor } from "@relais/core"
import { StateFile } from "@relais/sandbox-kit"
import { Context, Deferred, Duration, Effect, Either, Layer, Option, Schema } from "effect"
import * as Fs from "node:fs"
import * as NodePath from "node:path"
import * as Config from "./Config.js"
import { type ConfigError, type MissingCredentials, type ProviderSetupError, UsageError } from "./Errors.js"
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
  readonly layer: Layer.Layer<
    never,
    ProviderSetupError | Config.NotConfigured | StateFile.StateFileError,
    Redactor.Redactor | Output.Output
  >
  /** The flags that select the same target again (` --sandbox`, ` --profile prod`). */
  readonly flags: string
  /** Where the in-process sandboxes keep their data for this run (`--sandbox` only). */
  readonly sandboxState?: string | undefined
  /**
   * Fails when a sandbox could not keep its data after a request (a disk that filled up or
   * became read-only): the run must stop there, so that what is kept matches its journal and it
   * can be resumed once the disk is fixed. Never completes otherwise.
   */
  readonly stopped: Effect.Effect<never, StateFile.StateFileError>
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
  /** With `sandbox`: how the sandboxes behave (only what the command line gave). */
  readonly settings: Providers.SandboxSettings
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

const settingsFile = (directory: string) => NodePath.join(directory, "settings.json")

const Settings = Schema.Struct({
  integration: Schema.optional(Schema.String),
  deletes: Schema.optional(Schema.Literal(...Providers.deleteModes))
})

const flagOf = { integration: "--sandbox-integration", deletes: "--sandbox-deletes" } as const

/**
 * The settings of a run's sandboxes: those it started with when its data is kept (a setting
 * given again must be the same: the sandboxes are the instance the run started on), else those
 * of the command line. Data kept by a relais that did not keep settings had the defaults.
 */
const keptSettings = (
  directory: string,
  given: Providers.SandboxSettings
): Effect.Effect<Providers.SandboxSettings, UsageError | StateFile.StateFileError> =>
  Effect.gen(function*() {
    const file = settingsFile(directory)
    const kept = yield* StateFile.read(file, "settings")
    const decoded: Option.Option<Providers.SandboxSettings> = Option.isNone(kept)
      ? Option.some({})
      : Schema.decodeUnknownOption(Settings)(kept.value)
    if (Option.isNone(decoded)) {
      return yield* new StateFile.StateFileError({ file, operation: "read", reason: "it does not hold the sandboxes' settings (damaged)" })
    }
    const started = decoded.value
    for (const key of ["integration", "deletes"] as const) {
      const now = given[key]
      if (now !== undefined && !sameSetting(key, now, started[key])) {
        return yield* new UsageError({
          reason: `${flagOf[key]} ${now}: this run's sandboxes were started with ${
            started[key] === undefined ? "the default" : `${flagOf[key]} ${started[key]}`
          }, and a resumed run goes on with the same sandboxes; leave the flag out`
        })
      }
    }
    return started
  })

const sameSetting = (key: "integration" | "deletes", given: string, started: string | undefined): boolean =>
  key === "deletes"
    ? given === (started ?? "allowed")
    : integrationValue(given) === integrationValue(started ?? "immediate")

/** `30s` and `30000ms` are the same setting. */
const integrationValue = (text: string): string =>
  Either.match(Providers.parseIntegration(text), {
    onLeft: () => text,
    onRight: (value) => typeof value === "string" ? value : `${Duration.toMillis(Duration.decode(value.delay))}ms`
  })

/** What a setting says in the sandboxes' line, when it is not the default. */
const settingsText = (settings: Providers.SandboxSettings): ReadonlyArray<string> => [
  ...(settings.integration !== undefined ? [`Campus Skills integration: ${settings.integration}`] : []),
  ...(settings.deletes !== undefined ? [`AIMAIRA deletes: ${settings.deletes}`] : [])
]

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
  ConfigError | MissingCredentials | UsageError | StateFile.StateFileError,
  FileSystem.FileSystem | Path.Path | Redactor.Redactor | Output.Output
> =>
  Effect.gen(function*() {
    if (options.sandbox) {
      const directory = options.sandboxState
      const restored = directory !== undefined && sandboxStateKept(directory)
      const settings = restored ? yield* keptSettings(directory, options.settings) : options.settings
      // Written before the sandboxes write their data: kept data always has its settings.
      const keep = directory === undefined || restored
        ? Effect.void
        : StateFile.write(settingsFile(directory), "settings", Schema.encodeSync(Settings)(settings))
      const saveFailed = yield* Deferred.make<never, StateFile.StateFileError>()
      const sandboxes = Layer.unwrapEffect(Effect.as(
        keep,
        Providers.layerSandbox({
          seed: options.seed._tag === "Some" ? options.seed.value : undefined,
          faults: options.faults,
          settings,
          ...(directory !== undefined ? { stateFiles: stateFiles(directory), dataLost: saveFailed } : {})
        })
      )).pipe(
        Layer.tap((context) => {
          const aimaira = Context.get(context, AimairaSandbox.AimairaSandbox)
          const campus = Context.get(context, CampusSkillsSandbox.CampusSkillsSandbox)
          const faults = [...options.faults.aimaira.map((f) => `aimaira: ${f}`), ...options.faults.campusSkills.map((f) => `campus-skills: ${f}`)]
          const described = settingsText(settings)
          return Output.note(
            `sandboxes: AIMAIRA ${aimaira.apiUrl}, Campus Skills ${campus.url}${described.length > 0 ? `; ${described.join("; ")}` : ""}${
              faults.length > 0 ? `; faults: ${faults.join("; ")}` : ""
            }${restored ? `; their data restored from ${directory}` : ""}`
          )
        })
      )
      return {
        info: { kind: "sandbox", production: false, endpoints: {} },
        layer: sandboxes as unknown as Plan["layer"],
        flags: " --sandbox",
        sandboxState: directory,
        stopped: Deferred.await(saveFailed)
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
      flags: target.kind === "profile" ? ` --profile ${target.profile}` : "",
      stopped: Effect.never
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
