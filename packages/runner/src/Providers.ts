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
import type * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { AimairaClient, AimairaConfig } from "@relais/aimaira"
import { AimairaSandbox } from "@relais/aimaira/sandbox"
import { Client as CampusSkillsClient } from "@relais/campus-skills"
import { CampusSkillsSandbox } from "@relais/campus-skills/sandbox"
import { Redactor, Suggest } from "@relais/core"
import { Faults } from "@relais/sandbox-kit"
import { Effect, Either, Layer } from "effect"
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
 * Options of the in-process sandboxes.
 *
 * @since 0.1.0
 */
export interface SandboxOptions {
  readonly seed?: number | undefined
  readonly faults?: SandboxFaults | undefined
  readonly aimairaPort?: number | undefined
  readonly campusSkillsPort?: number | undefined
  /** Files where the sandboxes keep their data (restored from them when they exist). */
  readonly stateFiles?: { readonly aimaira: string; readonly campusSkills: string } | undefined
}

const setupError = (provider: Config.Provider, source: string, usage = false) => (error: { readonly message: string }) =>
  new ProviderSetupError({ provider: Config.providerLabel[provider], source, reason: error.message, usage })

/**
 * Both sandboxes, started when the layer is built and stopped when it is released.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerSandboxes = (
  options: SandboxOptions
): Layer.Layer<AimairaSandbox.AimairaSandbox | CampusSkillsSandbox.CampusSkillsSandbox, ProviderSetupError> =>
  Layer.merge(
    AimairaSandbox.layer({
      port: options.aimairaPort ?? 0,
      ...(options.stateFiles !== undefined ? { stateFile: options.stateFiles.aimaira } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.faults !== undefined && options.faults.aimaira.length > 0 ? { faults: options.faults.aimaira.join("\n") } : {})
    }).pipe(Layer.mapError(setupError("aimaira", "sandbox"))),
    CampusSkillsSandbox.layer({
      port: options.campusSkillsPort ?? 0,
      ...(options.stateFiles !== undefined ? { stateFile: options.stateFiles.campusSkills } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.faults !== undefined ? { faults: options.faults.campusSkills } : {})
    }).pipe(Layer.mapError(setupError("campus-skills", "sandbox")))
  )

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
  ProviderSetupError,
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
  return Layer.mergeAll(aimaira, campusSkills).pipe(
    Layer.provide(httpClient),
    Layer.provideMerge(layerSandboxes(options))
  ) as unknown as Layer.Layer<
    AimairaSandbox.AimairaSandbox | CampusSkillsSandbox.CampusSkillsSandbox,
    ProviderSetupError,
    Redactor.Redactor
  >
}

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

