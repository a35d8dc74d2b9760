/**
 * The services the providers' steps need, built once at the edge: one `HttpClient`
 * (`NodeHttpClient`), the AIMAIRA client and the Campus Skills client, configured from the chosen
 * profile, or pointed at both sandboxes started in-process (`--sandbox`).
 *
 * A provider is only set up when the workflow uses one of its steps, so a missing configuration
 * for a provider the workflow does not need is not an error.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { AimairaClient, AimairaConfig } from "@relais/aimaira"
import { AimairaSandbox } from "@relais/aimaira/sandbox"
import { Client as CampusSkillsClient } from "@relais/campus-skills"
import { CampusSkillsSandbox } from "@relais/campus-skills/sandbox"
import { Redactor, Suggest } from "@relais/core"
import { Faults, type StateFile } from "@relais/sandbox-kit"
import { Context, Deferred, Effect, Either, Layer, Option } from "effect"
import * as Config from "./Config.js"
import { ProviderSetupError, UsageError } from "./Errors.js"

/**
 * Fault rules for the sandboxes, from `--fault <target>:<rule>` flags.
 *
 * @since 0.1.0
 */
export interface SandboxFaults {
  readonly aimaira: ReadonlyArray<string>
  readonly campusSkills: ReadonlyArray<string>
}

const faultTargets = ["aimaira", "campus-skills"] as const

/**
 * Read `--fault aimaira:POST /GraphV1/Convention 429:2 x1` flags: the target, then a rule in the
 * sandbox-kit text syntax (checked here, so a typo is a usage error before anything starts).
 *
 * @since 0.1.0
 */
export const parseFaults = (flags: ReadonlyArray<string>): Either.Either<SandboxFaults, UsageError> => {
  const aimaira: Array<string> = []
  const campusSkills: Array<string> = []
  for (const flag of flags) {
    const colon = flag.indexOf(":")
    const target = colon < 0 ? "" : flag.slice(0, colon).trim()
    const rule = colon < 0 ? "" : flag.slice(colon + 1).trim()
    if (target !== "aimaira" && target !== "campus-skills") {
      const suggestions = Suggest.closest(target === "" ? flag : target, faultTargets)
      return Either.left(new UsageError({
        reason: `--fault ${JSON.stringify(flag)}: expected <target>:<rule> with target aimaira or campus-skills${
          suggestions.length > 0 && target !== "" ? ` (did you mean "${suggestions[0]}"?)` : ""
        }, e.g. --fault "aimaira:POST /GraphV1/Convention 429:2 x1"`
      }))
    }
    const parsed = Faults.parse(rule)
    if (Either.isLeft(parsed)) return Either.left(new UsageError({ reason: `--fault: ${parsed.left.message}` }))
    if (parsed.right.length === 0) return Either.left(new UsageError({ reason: `--fault ${JSON.stringify(flag)}: the rule is empty` }))
    ;(target === "aimaira" ? aimaira : campusSkills).push(rule)
  }
  return Either.right({ aimaira, campusSkills })
}

/**
 * How the sandboxes behave where production depends on the vendor's setup, from
 * `--sandbox-integration` and `--sandbox-deletes` (checked by `parseSettings`). Kept as given, so
 * that a resumed run starts its sandboxes the same way.
 *
 * @since 0.1.0
 */
export interface SandboxSettings {
  /** When Campus Skills integrates the contracts it receives: `immediate`, `never` or a delay (`30s`). */
  readonly integration?: string | undefined
  /** Whether AIMAIRA serves DELETE (which its documentation does not describe) or answers 405. */
  readonly deletes?: AimairaSandbox.DeleteMode | undefined
}

/**
 * The values `--sandbox-deletes` accepts.
 *
 * @since 0.1.0
 */
export const deleteModes = ["allowed", "refused"] as const satisfies ReadonlyArray<AimairaSandbox.DeleteMode>

/**
 * Check `--sandbox-integration` (a bad value is a usage error, before anything starts).
 *
 * @since 0.1.0
 */
export const parseIntegration = (text: string): Either.Either<CampusSkillsSandbox.Integration, UsageError> =>
  Either.mapLeft(
    CampusSkillsSandbox.parseIntegration(text),
    (error) => new UsageError({ reason: `--sandbox-integration: ${error.reason}` })
  )

/**
 * The sandboxes' settings from `--sandbox-integration` and `--sandbox-deletes` (the integration
 * checked here, so that a bad value is a usage error before anything starts).
 *
 * @since 0.1.0
 */
export const parseSettings = (flags: {
  readonly sandboxIntegration: Option.Option<string>
  readonly sandboxDeletes: Option.Option<"allowed" | "refused">
}): Either.Either<SandboxSettings, UsageError> => {
  const deletes = Option.isSome(flags.sandboxDeletes) ? { deletes: flags.sandboxDeletes.value } : {}
  if (Option.isNone(flags.sandboxIntegration)) return Either.right(deletes)
  const integration = flags.sandboxIntegration.value.trim()
  return Either.map(parseIntegration(integration), () => ({ integration, ...deletes }))
}

/**
 * Options of the in-process sandboxes.
 *
 * @since 0.1.0
 */
export interface SandboxOptions {
  readonly seed?: number | undefined
  readonly faults?: SandboxFaults | undefined
  /** See {@link SandboxSettings}; the integration is read with `parseIntegration`. */
  readonly settings?: SandboxSettings | undefined
  readonly aimairaPort?: number | undefined
  readonly campusSkillsPort?: number | undefined
  /** Files where the sandboxes keep their data (restored from them when they exist). */
  readonly stateFiles?: { readonly aimaira: string; readonly campusSkills: string } | undefined
  /**
   * Failed when a sandbox cannot keep its data after a request (a disk that filled up or became
   * read-only; the request answers 500). From then on the clients (`layerSandbox`) deliver no
   * answer at all: the data in memory is ahead of the file, and a step that built on it (or
   * reconciled against it) would journal what a resumed run no longer finds. The steps in flight
   * wait until the run is stopped, and are checked again when it resumes.
   */
  readonly dataLost?: Deferred.Deferred<never, StateFile.StateFileError> | undefined
}

const stateOptions = (options: SandboxOptions, file: string) => ({
  stateFile: file,
  ...(options.dataLost !== undefined
    ? { onSaveFailure: (error: StateFile.StateFileError) => Effect.asVoid(Deferred.fail(options.dataLost!, error)) }
    : {})
})

const setupError = (provider: Config.Provider, source: string, usage = false) => (error: { readonly message: string }) =>
  new ProviderSetupError({ provider: Config.providerLabel[provider], source, reason: error.message, usage })

/**
 * A sandbox that could not start; a state file that cannot be kept (a full or read-only disk)
 * stays a `StateFileError`, which says what to do about the disk.
 */
const sandboxError = (provider: Config.Provider) =>
(
  error: { readonly _tag: string; readonly message: string }
): ProviderSetupError | StateFile.StateFileError =>
  isStateFileError(error) ? error : setupError(provider, "sandbox")(error)

const isStateFileError = (error: { readonly _tag: string }): error is StateFile.StateFileError => error._tag === "StateFileError"

/**
 * Both sandboxes, started when the layer is built and stopped when it is released.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerSandboxes = (
  options: SandboxOptions
): Layer.Layer<
  AimairaSandbox.AimairaSandbox | CampusSkillsSandbox.CampusSkillsSandbox,
  ProviderSetupError | StateFile.StateFileError
> => {
  const integration = options.settings?.integration === undefined
    ? Either.right(undefined)
    : parseIntegration(options.settings.integration)
  if (Either.isLeft(integration)) {
    return Layer.fail(setupError("campus-skills", "sandbox", true)(integration.left))
  }
  return Layer.merge(
    AimairaSandbox.layer({
      port: options.aimairaPort ?? 0,
      ...(options.stateFiles !== undefined ? stateOptions(options, options.stateFiles.aimaira) : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.settings?.deletes !== undefined ? { deletes: options.settings.deletes } : {}),
      ...(options.faults !== undefined && options.faults.aimaira.length > 0 ? { faults: options.faults.aimaira.join("\n") } : {})
    }).pipe(Layer.mapError(sandboxError("aimaira"))),
    CampusSkillsSandbox.layer({
      port: options.campusSkillsPort ?? 0,
      ...(options.stateFiles !== undefined ? stateOptions(options, options.stateFiles.campusSkills) : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(integration.right !== undefined ? { integration: integration.right } : {}),
      ...(options.faults !== undefined ? { faults: options.faults.campusSkills } : {})
    }).pipe(Layer.mapError(sandboxError("campus-skills")))
  )
}

/**
 * The provider clients, pointed at sandboxes started in-process. Nothing to configure.
 *
 * The output type is `never` on purpose: a workflow compiled from YAML requires `any`, and the
 * engine hands its whole context to the steps; the sandboxes themselves are exposed so that the
 * command can print where they listen.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerSandbox = (
  options: SandboxOptions
): Layer.Layer<
  AimairaSandbox.AimairaSandbox | CampusSkillsSandbox.CampusSkillsSandbox,
  ProviderSetupError | StateFile.StateFileError,
  Redactor.Redactor
> => {
  const aimaira = Layer.unwrapEffect(
    Effect.gen(function*() {
      const sandbox = yield* AimairaSandbox.AimairaSandbox
      yield* Redactor.register(sandbox.credentials.password, sandbox.credentials.apiKey)
      return AimairaClient.layer({
        url: sandbox.apiUrl,
        auth: AimairaConfig.basic(sandbox.credentials.username, sandbox.credentials.password)
      }).pipe(Layer.mapError(setupError("aimaira", "sandbox")))
    })
  )
  const campusSkills = Layer.unwrapEffect(
    Effect.gen(function*() {
      const sandbox = yield* CampusSkillsSandbox.CampusSkillsSandbox
      yield* Redactor.register(sandbox.token)
      return CampusSkillsClient.layer({ url: sandbox.url, token: sandbox.token }).pipe(
        Layer.mapError(setupError("campus-skills", "sandbox"))
      )
    })
  )
  const dataLost = options.dataLost
  return Layer.mergeAll(aimaira, campusSkills).pipe(
    Layer.provide(dataLost === undefined ? httpClient : Layer.map(httpClient, (context) =>
      Context.add(context, HttpClient.HttpClient, withheldAfter(Context.get(context, HttpClient.HttpClient), dataLost)))),
    Layer.provideMerge(layerSandboxes(options))
  ) as unknown as Layer.Layer<
    AimairaSandbox.AimairaSandbox | CampusSkillsSandbox.CampusSkillsSandbox,
    ProviderSetupError | StateFile.StateFileError,
    Redactor.Redactor
  >
}

/** A client that delivers no answer (success or failure) once `dataLost` is done. */
const withheldAfter = (client: HttpClient.HttpClient, dataLost: Deferred.Deferred<never, StateFile.StateFileError>) =>
  HttpClient.transformResponse(client, (response) =>
    Effect.flatMap(Effect.exit(response), (exit) =>
      Effect.flatMap(Deferred.isDone(dataLost), (lost) => lost ? Effect.never : exit)))

/**
 * The one HTTP client of the process (node:http with its own agent, closed with the layer).
 *
 * @since 0.1.0
 * @category Layers
 */
export const httpClient: Layer.Layer<HttpClient.HttpClient> = NodeHttpClient.layer

/**
 * The provider clients the workflow needs, from a resolved target. Fails with the provider's
 * configuration problem only for a provider in `needed`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerTarget = (
  target: Config.Target,
  needed: ReadonlySet<Config.Provider>
): Layer.Layer<never, ProviderSetupError | Config.NotConfigured> => {
  const source = Config.describeTarget(target)
  const aimaira = Layer.unwrapEffect(
    Effect.map(Config.requireAimaira(target), (settings) =>
      AimairaClient.layer({ url: settings.url, auth: settings.auth }).pipe(
        Layer.mapError(setupError("aimaira", source))
      ))
  )
  const campusSkills = Layer.unwrapEffect(
    Effect.map(Config.requireCampusSkills(target), (settings) =>
      CampusSkillsClient.layer({
        url: settings.url,
        token: settings.token,
        ...(settings.timeout !== undefined ? { timeout: settings.timeout } : {})
      }).pipe(Layer.mapError(setupError("campus-skills", source))))
  )
  const both = needed.has("aimaira") && needed.has("campus-skills")
    ? Layer.merge(aimaira, campusSkills)
    : needed.has("aimaira")
    ? aimaira
    : needed.has("campus-skills")
    ? campusSkills
    : Layer.empty
  // See `layerSandbox` for why the output is typed `never`.
  return Layer.provide(both, httpClient) as Layer.Layer<never, ProviderSetupError | Config.NotConfigured>
}

/**
 * The URLs a target points at, for banners and the run history (no secret in them: the
 * providers refuse URLs with credentials).
 *
 * @since 0.1.0
 */
export const endpoints = (target: Config.Target, needed: ReadonlySet<Config.Provider>): Record<string, string> => {
  const out: Record<string, string> = {}
  if (needed.has("aimaira") && Either.isRight(target.aimaira)) out.aimaira = target.aimaira.right.url
  if (needed.has("campus-skills") && Either.isRight(target.campusSkills)) out.campusSkills = target.campusSkills.right.url
  return out
}

