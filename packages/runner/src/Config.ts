/**
 * Where the providers are and how to authenticate: named profiles in `relais.config.yaml`, or
 * environment variables when no profile is chosen.
 *
 * ```yaml
 * defaultProfile: preprod
 * profiles:
 *   preprod:
 *     aimaira: { url: https://x-preprod.aimaira.net, username: api, password: { env: AIMAIRA_PASSWORD } }
 *     campusSkills: { url: https://app.campus-skills.com, token: { env: CAMPUS_SKILLS_TOKEN } }
 *   prod:
 *     production: true
 *     aimaira: { url: https://x.aimaira.net, apiKey: { file: /run/secrets/aimaira-key } }
 * ```
 *
 * Rules:
 * - The profile is `--profile`, else `RELAIS_PROFILE`, else `defaultProfile`, else none (then the
 *   `AIMAIRA_*` / `CAMPUS_SKILLS_*` environment variables are used).
 * - Nothing defaults silently to production: a profile with `production: true` is only used
 *   when named (`--profile` or `RELAIS_PROFILE`); naming it as `defaultProfile` is an error.
 * - Secrets (`password`, `apiKey`, `token`) are `Redacted` from the moment they are read and
 *   registered with the `Redactor`. `{ env: NAME }` and `{ file: path }` are preferred; a
 *   literal secret in the file works, with a warning.
 * - A provider that is not configured is only an error when a workflow uses it (`Target`
 *   keeps each provider's settings or its problem).
 *
 * Environment variables are read through `Config` only.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { AimairaConfig } from "@relais/aimaira"
import { CampusSkillsConfig } from "@relais/campus-skills"
import { Redactor, Suggest } from "@relais/core"
import { Config, Duration, Effect, Either, Option, Redacted } from "effect"
import * as Yaml from "yaml"
import * as Files from "./cli/Files.js"
import { ConfigError, ConfigProblem, MissingCredentials } from "./Errors.js"
import * as Source from "./yaml/Source.js"

/**
 * The configuration file looked for in the working directory.
 *
 * @since 0.1.0
 */
export const defaultFileName = "relais.config.yaml"

/**
 * The providers relais knows, by the namespace of their steps.
 *
 * @since 0.1.0
 */
export type Provider = "aimaira" | "campus-skills"

/**
 * @since 0.1.0
 */
export const providers: ReadonlyArray<Provider> = ["aimaira", "campus-skills"]

/**
 * Display names of the providers.
 *
 * @since 0.1.0
 */
export const providerLabel: Record<Provider, string> = { aimaira: "AIMAIRA", "campus-skills": "Campus Skills" }

// -----------------------------------------------------------------------------
// The file, parsed and checked (nothing resolved yet)
// -----------------------------------------------------------------------------

interface Location {
  readonly path: string
  readonly line?: number | undefined
  readonly column?: number | undefined
}

/**
 * A value in the file: a literal, or a reference to an environment variable or a file.
 *
 * @since 0.1.0
 */
export type ValueSpec =
  | { readonly _tag: "Literal"; readonly value: string; readonly at: Location }
  | { readonly _tag: "Env"; readonly name: string; readonly at: Location }
  | { readonly _tag: "File"; readonly path: string; readonly at: Location }

/**
 * @since 0.1.0
 */
export interface AimairaSpec {
  readonly url: ValueSpec
  readonly username?: ValueSpec | undefined
  readonly password?: ValueSpec | undefined
  readonly apiKey?: ValueSpec | undefined
}

/**
 * @since 0.1.0
 */
export interface CampusSkillsSpec {
  readonly url: ValueSpec
  readonly token: ValueSpec
  readonly timeout?: Duration.Duration | undefined
}

/**
 * A profile as written in the file.
 *
 * @since 0.1.0
 */
export interface ProfileSpec {
  readonly name: string
  readonly production: boolean
  readonly description?: string | undefined
  readonly aimaira?: AimairaSpec | undefined
  readonly campusSkills?: CampusSkillsSpec | undefined
}

/**
 * A checked configuration file.
 *
 * @since 0.1.0
 */
export interface ConfigFile {
  /** The path as given or found (for messages). */
  readonly file: string
  /** The directory `{ file: ... }` references are relative to. */
  readonly directory: string
  readonly defaultProfile?: string | undefined
  readonly profiles: ReadonlyMap<string, ProfileSpec>
  /** Things that work but should change (literal secrets). */
  readonly warnings: ReadonlyArray<ConfigProblem>
  /** The literal secrets of every profile, to register with the redactor. */
  readonly literalSecrets: ReadonlyArray<string>
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/

/**
 * Parse and check the text of a configuration file: every problem, located.
 *
 * @since 0.1.0
 */
export const parse = (
  text: string,
  file: string,
  directory: string
): Either.Either<ConfigFile, ConfigError> => {
  // The workflow files' reader: bounded nesting, one document, core tags only, no aliases.
  const read = Source.parseDocument(text, "configuration")
  const problems: Array<ConfigProblem> = []
  const warnings: Array<ConfigProblem> = []
  const literalSecrets: Array<string> = []

  const locate = (node: unknown, path: ReadonlyArray<string>): Location => {
    const range = Yaml.isNode(node) ? node.range : undefined
    if (range === undefined || range === null) return { path: path.join(".") }
    const pos = read.posOf(range[0])
    return { path: path.join("."), line: pos.line, column: pos.column }
  }
  const problem = (at: Location, message: string) =>
    problems.push(new ConfigProblem({ file, line: at.line, column: at.column, path: at.path, message }))
  const warning = (at: Location, message: string) =>
    warnings.push(new ConfigProblem({ file, line: at.line, column: at.column, path: at.path, message }))

  for (const p of read.problems) problems.push(new ConfigProblem({ file, line: p.pos.line, column: p.pos.column, message: p.message }))
  const doc = read.document
  if (problems.length > 0 || doc === undefined) return Either.left(new ConfigError({ problems }))

  /** The pairs of a map, or a problem. Unknown keys are reported with suggestions. */
  const entries = (
    node: unknown,
    path: ReadonlyArray<string>,
    known: ReadonlyArray<string> | undefined
  ): Array<{ readonly key: string; readonly keyNode: unknown; readonly value: unknown }> | undefined => {
    if (!Yaml.isMap(node)) {
      problem(locate(node, path), "expected a map of keys and values")
      return undefined
    }
    const out: Array<{ readonly key: string; readonly keyNode: unknown; readonly value: unknown }> = []
    for (const pair of node.items) {
      const key = Yaml.isScalar(pair.key) ? String(pair.key.value) : undefined
      if (key === undefined) {
        problem(locate(pair.key, path), "keys must be plain names")
        continue
      }
      if (known !== undefined && !known.includes(key)) {
        const suggestions = Suggest.closest(key, known)
        problem(
          locate(pair.key, [...path, key]),
          `unknown key${suggestions.length > 0 ? ` (did you mean ${suggestions.map((s) => `"${s}"`).join(" or ")}?)` : ""}; expected one of ${known.join(", ")}`
        )
        continue
      }
      out.push({ key, keyNode: pair.key, value: pair.value })
    }
    return out
  }

  const scalarString = (node: unknown, path: ReadonlyArray<string>): string | undefined => {
    if (Yaml.isScalar(node) && (typeof node.value === "string" || typeof node.value === "number")) {
      const value = String(node.value)
      if (value.trim() === "") {
        problem(locate(node, path), "must not be empty")
        return undefined
      }
      return value
    }
    problem(locate(node, path), "expected a text value")
    return undefined
  }

  const valueSpec = (node: unknown, path: ReadonlyArray<string>, secret: boolean): ValueSpec | undefined => {
    const at = locate(node, path)
    if (Yaml.isMap(node)) {
      const items = entries(node, path, ["env", "file"])
      if (items === undefined) return undefined
      if (items.length !== 1) {
        problem(at, "a reference is { env: NAME } or { file: path }")
        return undefined
      }
      const [item] = items
      const ref = scalarString(item!.value, [...path, item!.key])
      if (ref === undefined) return undefined
      if (item!.key === "env") {
        if (!ENV_NAME.test(ref)) {
          problem(locate(item!.value, [...path, "env"]), `"${ref}" is not an environment variable name`)
          return undefined
        }
        return { _tag: "Env", name: ref, at }
      }
      return { _tag: "File", path: ref, at }
    }
    const value = scalarString(node, path)
    if (value === undefined) return undefined
    if (secret) {
      literalSecrets.push(value)
      warning(at, "a literal secret in the configuration file; prefer { env: NAME } or { file: path } and keep the file out of version control")
    }
    return { _tag: "Literal", value, at }
  }

  const aimaira = (node: unknown, path: ReadonlyArray<string>): AimairaSpec | undefined => {
    const items = entries(node, path, ["url", "username", "password", "apiKey"])
    if (items === undefined) return undefined
    const values: Record<string, ValueSpec | undefined> = {}
    for (const { key, value } of items) values[key] = valueSpec(value, [...path, key], key === "password" || key === "apiKey")
    const at = locate(node, path)
    const has = (key: string) => items.some((i) => i.key === key)
    if (!has("url")) problem(at, "missing url (the API root, e.g. https://myapi.aimaira.net/GraphV1)")
    if (has("apiKey") && (has("username") || has("password"))) {
      problem(at, "give either apiKey, or username and password, not both")
    } else if (!has("apiKey") && !(has("username") && has("password"))) {
      problem(at, has("username") ? "missing password (or use apiKey)" : has("password") ? "missing username" : "missing credentials: apiKey, or username and password")
    }
    if (values.url?._tag === "Literal") {
      const checked = AimairaConfig.normalizeUrl(values.url.value)
      if (Either.isLeft(checked)) problem(values.url.at, checked.left.reason)
    }
    return values.url === undefined ? undefined : {
      url: values.url,
      username: values.username,
      password: values.password,
      apiKey: values.apiKey
    }
  }

  const campusSkills = (node: unknown, path: ReadonlyArray<string>): CampusSkillsSpec | undefined => {
    const items = entries(node, path, ["url", "token", "timeout"])
    if (items === undefined) return undefined
    const values: Record<string, ValueSpec | undefined> = {}
    let timeout: Duration.Duration | undefined
    for (const { key, value } of items) {
      if (key === "timeout") {
        const text = scalarString(value, [...path, key])
        if (text === undefined) continue
        const decoded = parseDuration(text)
        if (decoded === undefined) problem(locate(value, [...path, key]), `"${text}" is not a duration (e.g. 30s, 2m, 500ms)`)
        timeout = decoded
        continue
      }
      values[key] = valueSpec(value, [...path, key], key === "token")
    }
    const at = locate(node, path)
    if (!items.some((i) => i.key === "url")) problem(at, "missing url (e.g. https://app.campus-skills.com)")
    if (!items.some((i) => i.key === "token")) problem(at, "missing token")
    if (values.url?._tag === "Literal") {
      const checked = CampusSkillsConfig.validateUrl(values.url.value)
      if (Either.isLeft(checked)) problem(values.url.at, checked.left.reason)
    }
    return values.url === undefined || values.token === undefined
      ? undefined
      : { url: values.url, token: values.token, timeout }
  }

  const profiles = new Map<string, ProfileSpec>()
  let defaultProfile: { readonly name: string; readonly at: Location } | undefined
  const root = doc.contents
  if (root === null || (Yaml.isScalar(root) && root.value === null)) {
    return Either.left(new ConfigError({ problems: [new ConfigProblem({ file, message: "the file is empty; expected profiles: { <name>: { aimaira: ..., campusSkills: ... } }" })] }))
  }
  for (const { key, value } of entries(root, [], ["defaultProfile", "profiles"]) ?? []) {
    if (key === "defaultProfile") {
      const name = scalarString(value, ["defaultProfile"])
      if (name !== undefined) defaultProfile = { name, at: locate(value, ["defaultProfile"]) }
      continue
    }
    for (const entry of entries(value, ["profiles"], undefined) ?? []) {
      const path = ["profiles", entry.key]
      if (!PROFILE_NAME.test(entry.key)) {
        problem(locate(entry.keyNode, path), "profile names are letters, digits, dots, dashes and underscores")
        continue
      }
      let production = false
      let description: string | undefined
      let aimairaSpec: AimairaSpec | undefined
      let campusSpec: CampusSkillsSpec | undefined
      for (const item of entries(entry.value, path, ["production", "description", "aimaira", "campusSkills"]) ?? []) {
        const itemPath = [...path, item.key]
        switch (item.key) {
          case "production":
            if (Yaml.isScalar(item.value) && typeof item.value.value === "boolean") production = item.value.value
            else problem(locate(item.value, itemPath), "expected true or false")
            break
          case "description":
            description = scalarString(item.value, itemPath)
            break
          case "aimaira":
            aimairaSpec = aimaira(item.value, itemPath)
            break
          case "campusSkills":
            campusSpec = campusSkills(item.value, itemPath)
            break
        }
      }
      profiles.set(entry.key, { name: entry.key, production, description, aimaira: aimairaSpec, campusSkills: campusSpec })
    }
  }
  if (defaultProfile !== undefined) {
    const chosen = profiles.get(defaultProfile.name)
    if (chosen === undefined) {
      problem(defaultProfile.at, unknownProfileMessage(defaultProfile.name, [...profiles.keys()]))
    } else if (chosen.production) {
      problem(
        defaultProfile.at,
        `profile "${chosen.name}" is marked production: true and cannot be the default; nothing runs against production unless it is named (--profile ${chosen.name} or RELAIS_PROFILE=${chosen.name})`
      )
    }
  }
  if (problems.length > 0) {
    // In file order, like the workflow diagnostics.
    const ordered = [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0))
    return Either.left(new ConfigError({ problems: ordered }))
  }
  return Either.right({
    file,
    directory,
    defaultProfile: defaultProfile?.name,
    profiles,
    warnings,
    literalSecrets
  })
}

const unknownProfileMessage = (name: string, known: ReadonlyArray<string>): string => {
  const suggestions = Suggest.closest(name, known)
  return `no profile named "${name}"${suggestions.length > 0 ? ` (did you mean ${suggestions.map((s) => `"${s}"`).join(" or ")}?)` : ""}; ${
    known.length > 0 ? `the profiles are ${known.join(", ")}` : "no profile is defined"
  }`
}

/**
 * `30s`, `2m`, `500ms`, `1.5 s`, `30 seconds`: a duration, or `undefined`.
 *
 * @since 0.1.0
 */
export const parseDuration = (text: string): Duration.Duration | undefined => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|millis|milliseconds?|s|secs?|seconds?|m|mins?|minutes?)\s*$/i.exec(text)
  if (match === null) return undefined
  const n = Number(match[1])
  const unit = match[2]!.toLowerCase()
  if (unit === "ms" || unit.startsWith("milli")) return Duration.millis(n)
  if (unit.startsWith("s")) return Duration.millis(n * 1000)
  return Duration.millis(n * 60_000)
}

/**
 * Read the configuration file: the one named (`--config` or `RELAIS_CONFIG`, which must exist),
 * or `relais.config.yaml` in the working directory if there is one.
 *
 * @since 0.1.0
 */
export const load = (
  explicit: Option.Option<string>
): Effect.Effect<Option.Option<ConfigFile>, ConfigError, FileSystem.FileSystem | Path.Path | Redactor.Redactor> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const fromEnv = yield* Config.option(Config.string("RELAIS_CONFIG")).pipe(
      Effect.orElseSucceed(() => Option.none<string>())
    )
    const named = Option.orElse(explicit, () => Option.filter(fromEnv, (s) => s !== ""))
    const file = Option.getOrElse(named, () => defaultFileName)
    const exists = yield* fs.exists(file).pipe(Effect.orElseSucceed(() => false))
    if (!exists) {
      if (Option.isNone(named)) return Option.none()
      return yield* new ConfigError({
        problems: [new ConfigProblem({ file, message: `the configuration file does not exist${Option.isSome(explicit) ? " (--config)" : " (RELAIS_CONFIG)"}` })]
      })
    }
    const bytes = yield* fs.readFile(file).pipe(
      Effect.mapError((e) => new ConfigError({ problems: [new ConfigProblem({ file, message: `cannot read it: ${Files.problem(e)}` })] }))
    )
    // Strictly UTF-8, like workflow files: a Latin-1 password would otherwise be sent garbled.
    const decoded = Source.decode(bytes)
    if ("problem" in decoded) {
      const { message, pos } = decoded.problem
      return yield* new ConfigError({ problems: [new ConfigProblem({ file, line: pos.line, column: pos.column, message })] })
    }
    const text = decoded.text
    const parsed = yield* parse(text, file, path.dirname(path.resolve(file)))
    yield* Redactor.register(...parsed.literalSecrets)
    return Option.some(parsed)
  })

// -----------------------------------------------------------------------------
// Resolution: the chosen profile's values, read and checked
// -----------------------------------------------------------------------------

/**
 * AIMAIRA settings, resolved.
 *
 * @since 0.1.0
 */
export interface AimairaSettings {
  readonly url: string
  readonly auth: AimairaConfig.Auth
  /** Where each value came from, for `relais config` ("env AIMAIRA_PASSWORD"...). */
  readonly sources: Readonly<Record<string, string>>
}

/**
 * Campus Skills settings, resolved.
 *
 * @since 0.1.0
 */
export interface CampusSkillsSettings {
  readonly url: string
  readonly token: Redacted.Redacted<string>
  readonly timeout?: Duration.Duration | undefined
  readonly sources: Readonly<Record<string, string>>
}

/**
 * Why a provider cannot be used.
 *
 * @since 0.1.0
 */
export type NotConfigured = MissingCredentials | ConfigError

/**
 * Where runs go: the chosen profile (or the environment), and each provider's settings or the
 * reason it cannot be used.
 *
 * @since 0.1.0
 */
export interface Target {
  readonly kind: "profile" | "environment"
  readonly profile?: string | undefined
  /** How the profile was chosen (`--profile`, `RELAIS_PROFILE`, `defaultProfile`). */
  readonly chosenBy?: string | undefined
  readonly production: boolean
  readonly configFile?: string | undefined
  readonly aimaira: Either.Either<AimairaSettings, NotConfigured>
  readonly campusSkills: Either.Either<CampusSkillsSettings, NotConfigured>
}

/**
 * A short description of a target: `profile preprod` or `environment variables`.
 *
 * @since 0.1.0
 */
export const describeTarget = (target: Target): string =>
  target.kind === "profile" ? `profile ${target.profile}${target.production ? " (PRODUCTION)" : ""}` : "environment variables"

const readEnv = (name: string): Effect.Effect<Option.Option<Redacted.Redacted<string>>> =>
  Config.option(Config.redacted(name)).pipe(
    Effect.map(Option.filter((value) => Redacted.value(value) !== "")),
    Effect.orElseSucceed(() => Option.none())
  )

const readValue = (
  spec: ValueSpec,
  config: ConfigFile
): Effect.Effect<Either.Either<{ readonly value: Redacted.Redacted<string>; readonly source: string }, ConfigProblem>, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fail = (message: string) =>
      Either.left(new ConfigProblem({ file: config.file, line: spec.at.line, column: spec.at.column, path: spec.at.path, message }))
    switch (spec._tag) {
      case "Literal":
        return Either.right({ value: Redacted.make(spec.value), source: `${config.file}` })
      case "Env": {
        const value = yield* readEnv(spec.name)
        return Option.isSome(value)
          ? Either.right({ value: value.value, source: `env ${spec.name}` })
          : fail(`the environment variable ${spec.name} is not set`)
      }
      case "File": {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const file = path.resolve(config.directory, spec.path)
        const text = yield* Effect.either(fs.readFileString(file))
        if (Either.isLeft(text)) return fail(`cannot read ${spec.path}: ${Files.problem(text.left)}`)
        const value = text.right.replace(/\r?\n$/, "")
        if (value.trim() === "") return fail(`${spec.path} is empty`)
        return Either.right({ value: Redacted.make(value), source: `file ${spec.path}` })
      }
    }
  })

const resolveAimairaProfile = (
  profile: ProfileSpec,
  config: ConfigFile
): Effect.Effect<Either.Either<AimairaSettings, NotConfigured>, never, FileSystem.FileSystem | Path.Path | Redactor.Redactor> =>
  Effect.gen(function*() {
    const spec = profile.aimaira
    if (spec === undefined) {
      return Either.left(new MissingCredentials({
        provider: "aimaira",
        reason: `AIMAIRA is not configured in profile "${profile.name}" of ${config.file}: add an aimaira section (url, and apiKey or username + password)`
      }))
    }
    const problems: Array<ConfigProblem> = []
    const sources: Record<string, string> = {}
    const get = function*(key: string, value: ValueSpec | undefined) {
      if (value === undefined) return undefined
      const read = yield* readValue(value, config)
      if (Either.isLeft(read)) {
        problems.push(read.left)
        return undefined
      }
      sources[key] = read.right.source
      return read.right.value
    }
    const url = yield* get("url", spec.url)
    const username = yield* get("username", spec.username)
    const password = yield* get("password", spec.password)
    const apiKey = yield* get("apiKey", spec.apiKey)
    let normalized: string | undefined
    if (url !== undefined) {
      const checked = AimairaConfig.normalizeUrl(Redacted.value(url))
      if (Either.isLeft(checked)) {
        problems.push(new ConfigProblem({ file: config.file, line: spec.url.at.line, column: spec.url.at.column, path: spec.url.at.path, message: checked.left.reason }))
      } else normalized = checked.right
    }
    if (problems.length > 0 || normalized === undefined) return Either.left(new ConfigError({ problems }))
    return Either.right(yield* aimairaSettings(normalized, username, password, apiKey, sources))
  })

const aimairaSettings = (
  url: string,
  username: Redacted.Redacted<string> | undefined,
  password: Redacted.Redacted<string> | undefined,
  apiKey: Redacted.Redacted<string> | undefined,
  sources: Record<string, string>
): Effect.Effect<AimairaSettings, never, Redactor.Redactor> =>
  Effect.gen(function*() {
    if (apiKey !== undefined) {
      yield* Redactor.register(apiKey)
      return { url, auth: AimairaConfig.apiKey(apiKey), sources }
    }
    const user = Redacted.value(username!)
    // The Basic credential travels as base64("user:password"): register that form too.
    yield* Redactor.register(password!, `${user}:${Redacted.value(password!)}`)
    return { url, auth: AimairaConfig.basic(user, password!), sources }
  })

const resolveCampusProfile = (
  profile: ProfileSpec,
  config: ConfigFile
): Effect.Effect<Either.Either<CampusSkillsSettings, NotConfigured>, never, FileSystem.FileSystem | Path.Path | Redactor.Redactor> =>
  Effect.gen(function*() {
    const spec = profile.campusSkills
    if (spec === undefined) {
      return Either.left(new MissingCredentials({
        provider: "campus-skills",
        reason: `Campus Skills is not configured in profile "${profile.name}" of ${config.file}: add a campusSkills section (url and token)`
      }))
    }
    const problems: Array<ConfigProblem> = []
    const sources: Record<string, string> = {}
    const url = yield* readValue(spec.url, config)
    const token = yield* readValue(spec.token, config)
    let normalized: string | undefined
    if (Either.isLeft(url)) problems.push(url.left)
    else {
      sources.url = url.right.source
      const checked = CampusSkillsConfig.validateUrl(Redacted.value(url.right.value))
      if (Either.isLeft(checked)) {
        problems.push(new ConfigProblem({ file: config.file, line: spec.url.at.line, column: spec.url.at.column, path: spec.url.at.path, message: checked.left.reason }))
      } else normalized = checked.right
    }
    if (Either.isLeft(token)) problems.push(token.left)
    else sources.token = token.right.source
    if (problems.length > 0 || normalized === undefined || Either.isLeft(token)) return Either.left(new ConfigError({ problems }))
    yield* Redactor.register(token.right.value)
    return Either.right({ url: normalized, token: token.right.value, timeout: spec.timeout, sources })
  })

const orChooseProfile = (config: Option.Option<ConfigFile>): string =>
  Option.match(config, {
    onNone: () => `, or create ${defaultFileName} with a profile (--sandbox needs neither)`,
    onSome: (c) => c.profiles.size > 0 ? `, or choose a profile of ${c.file} with --profile (${[...c.profiles.keys()].join(", ")})` : ""
  })

const resolveAimairaEnv = (
  config: Option.Option<ConfigFile>
): Effect.Effect<Either.Either<AimairaSettings, NotConfigured>, never, Redactor.Redactor> =>
  Effect.gen(function*() {
    const url = yield* readEnv("AIMAIRA_URL")
    const username = yield* readEnv("AIMAIRA_USERNAME")
    const password = yield* readEnv("AIMAIRA_PASSWORD")
    const apiKey = yield* readEnv("AIMAIRA_API_KEY")
    const missing: Array<string> = []
    if (Option.isNone(url)) missing.push("AIMAIRA_URL")
    const hasCredentials = Option.isSome(apiKey) || (Option.isSome(username) && Option.isSome(password))
    if (!hasCredentials) {
      if (Option.isSome(username)) missing.push("AIMAIRA_PASSWORD")
      else if (Option.isSome(password)) missing.push("AIMAIRA_USERNAME")
      else missing.push("AIMAIRA_API_KEY (or AIMAIRA_USERNAME and AIMAIRA_PASSWORD)")
    }
    if (missing.length > 0 || Option.isNone(url)) {
      return Either.left(new MissingCredentials({
        provider: "aimaira",
        reason: `AIMAIRA is not configured: set ${missing.join(" and ")}${orChooseProfile(config)}`
      }))
    }
    const checked = AimairaConfig.normalizeUrl(Redacted.value(url.value))
    if (Either.isLeft(checked)) {
      return Either.left(new ConfigError({ problems: [new ConfigProblem({ file: "environment", path: "AIMAIRA_URL", message: checked.left.reason })] }))
    }
    const sources: Record<string, string> = Option.isSome(apiKey)
      ? { url: "env AIMAIRA_URL", apiKey: "env AIMAIRA_API_KEY" }
      : { url: "env AIMAIRA_URL", username: "env AIMAIRA_USERNAME", password: "env AIMAIRA_PASSWORD" }
    return Either.right(
      yield* aimairaSettings(checked.right, Option.getOrUndefined(username), Option.getOrUndefined(password), Option.getOrUndefined(apiKey), sources)
    )
  })

const resolveCampusEnv = (
  config: Option.Option<ConfigFile>
): Effect.Effect<Either.Either<CampusSkillsSettings, NotConfigured>, never, Redactor.Redactor> =>
  Effect.gen(function*() {
    const url = yield* readEnv("CAMPUS_SKILLS_URL")
    const token = yield* readEnv("CAMPUS_SKILLS_TOKEN")
    const timeout = yield* readEnv("CAMPUS_SKILLS_TIMEOUT")
    const missing = [
      ...(Option.isNone(url) ? ["CAMPUS_SKILLS_URL"] : []),
      ...(Option.isNone(token) ? ["CAMPUS_SKILLS_TOKEN"] : [])
    ]
    if (Option.isNone(url) || Option.isNone(token)) {
      return Either.left(new MissingCredentials({
        provider: "campus-skills",
        reason: `Campus Skills is not configured: set ${missing.join(" and ")}${orChooseProfile(config)}`
      }))
    }
    const problems: Array<ConfigProblem> = []
    const checked = CampusSkillsConfig.validateUrl(Redacted.value(url.value))
    if (Either.isLeft(checked)) problems.push(new ConfigProblem({ file: "environment", path: "CAMPUS_SKILLS_URL", message: checked.left.reason }))
    let duration: Duration.Duration | undefined
    if (Option.isSome(timeout)) {
      duration = parseDuration(Redacted.value(timeout.value))
      if (duration === undefined) {
        problems.push(new ConfigProblem({ file: "environment", path: "CAMPUS_SKILLS_TIMEOUT", message: "not a duration (e.g. 30s)" }))
      }
    }
    if (problems.length > 0 || Either.isLeft(checked)) return Either.left(new ConfigError({ problems }))
    yield* Redactor.register(token.value)
    return Either.right({
      url: checked.right,
      token: token.value,
      timeout: duration,
      sources: { url: "env CAMPUS_SKILLS_URL", token: "env CAMPUS_SKILLS_TOKEN" }
    })
  })

/**
 * Options of `resolve`: what the command line says.
 *
 * @since 0.1.0
 */
export interface ResolveOptions {
  /** `--profile`. */
  readonly profile: Option.Option<string>
  /** `--config`. */
  readonly configFile: Option.Option<string>
}

/**
 * Choose the profile and read its values. Fails only for problems of the file or of the
 * profile choice; a provider that cannot be used is reported in the `Target`.
 *
 * @since 0.1.0
 */
export const resolve = (
  options: ResolveOptions
): Effect.Effect<
  { readonly target: Target; readonly warnings: ReadonlyArray<ConfigProblem> },
  ConfigError,
  FileSystem.FileSystem | Path.Path | Redactor.Redactor
> =>
  Effect.gen(function*() {
    const config = yield* load(options.configFile)
    const fromEnv = yield* Config.option(Config.string("RELAIS_PROFILE")).pipe(
      Effect.map(Option.filter((s) => s !== "")),
      Effect.orElseSucceed(() => Option.none<string>())
    )
    const chosen: Option.Option<readonly [string, string]> = Option.isSome(options.profile)
      ? Option.some([options.profile.value, "--profile"] as const)
      : Option.isSome(fromEnv)
      ? Option.some([fromEnv.value, "RELAIS_PROFILE"] as const)
      : Option.flatMap(config, (c) => c.defaultProfile !== undefined ? Option.some([c.defaultProfile, "defaultProfile"] as const) : Option.none())
    // Warnings about a profile are only worth repeating when that profile is used.
    const warningsFor = (profile: string | undefined) =>
      Option.match(config, {
        onNone: () => [],
        onSome: (c) => c.warnings.filter((w) => profile === undefined || (w.path ?? "").startsWith(`profiles.${profile}.`))
      })
    if (Option.isNone(chosen)) {
      return {
        warnings: [],
        target: {
          kind: "environment",
          production: false,
          configFile: Option.getOrUndefined(Option.map(config, (c) => c.file)),
          aimaira: yield* resolveAimairaEnv(config),
          campusSkills: yield* resolveCampusEnv(config)
        }
      }
    }
    const [name, chosenBy] = chosen.value
    if (Option.isNone(config)) {
      return yield* new ConfigError({
        problems: [new ConfigProblem({ file: defaultFileName, message: `profile "${name}" was asked for (${chosenBy}) but there is no ${defaultFileName} here (or pass --config <file>)` })]
      })
    }
    const file = config.value
    const profile = file.profiles.get(name)
    if (profile === undefined) {
      return yield* new ConfigError({
        problems: [new ConfigProblem({ file: file.file, message: `${unknownProfileMessage(name, [...file.profiles.keys()])} (asked for by ${chosenBy})` })]
      })
    }
    return {
      warnings: warningsFor(name),
      target: {
        kind: "profile",
        profile: name,
        chosenBy,
        production: profile.production,
        configFile: file.file,
        aimaira: yield* resolveAimairaProfile(profile, file),
        campusSkills: yield* resolveCampusProfile(profile, file)
      }
    }
  })

/**
 * The settings of a provider, or why it cannot be used.
 *
 * @since 0.1.0
 */
export const requireAimaira = (target: Target): Effect.Effect<AimairaSettings, NotConfigured> => target.aimaira

/**
 * @since 0.1.0
 */
export const requireCampusSkills = (target: Target): Effect.Effect<CampusSkillsSettings, NotConfigured> =>
  target.campusSkills
