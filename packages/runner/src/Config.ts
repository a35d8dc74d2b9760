/**
 * Where the plugins' services are and how to authenticate: named profiles in
 * `relais.config.yaml`, or environment variables when no profile is chosen; and which plugins
 * besides the built-in ones are loaded (`plugins:`, read by `Loader.ts`).
 *
 * ```yaml
 * plugins:
 *   - ./plugins/esign/index.js                 # a built ES module, relative to this file
 *   - { use: "@acme/relais-hr", options: { region: eu } }
 * defaultProfile: preprod
 * profiles:
 *   preprod:
 *     description: the school's pre-production instances
 *     esign: { url: https://preprod.esign.example, apiKey: { env: ESIGN_API_KEY } }
 *     hrSystem: { url: https://hr.example, username: api, password: { file: secrets/hr-password } }
 *   prod:
 *     production: true
 *     esign: { url: https://esign.example, apiKey: { file: /run/secrets/esign-key } }
 * ```
 *
 * The runner knows no plugin by name here: a profile holds `production`, `description` and one
 * section per plugin of the registry, under `PluginConfig.profileKey(plugin.name)`, decoded by
 * that plugin's own `config` schema (`PluginConfig.decode`). Rules:
 * - The profile is `--profile`, else `RELAIS_PROFILE`, else `defaultProfile`, else none (then each
 *   plugin's section comes from its `<PLUGIN>_<FIELD>` environment variables,
 *   `PluginConfig.fromEnv`).
 * - Nothing defaults silently to production: a profile with `production: true` is only used
 *   when named (`--profile` or `RELAIS_PROFILE`); naming it as `defaultProfile` is an error.
 * - Inside a section, a text or number value may be written `{ env: NAME }` or
 *   `{ file: path }` (relative to the configuration file's directory), read before decoding;
 *   for a number field the text is read as a number, as from an environment variable.
 * - Secrets (the `Redacted` fields of a plugin's schema) are registered with the `Redactor` as
 *   soon as they are read. `{ env: NAME }` and `{ file: path }` are preferred; a literal secret
 *   in the file works, with a warning.
 * - Every problem is located (`file:line:col`) and names the key path; an unknown section
 *   gets "did you mean" against the sections of the loaded plugins.
 * - A plugin that is not configured is only an error when a workflow uses it (`Target` keeps
 *   each plugin's configuration or its problem; see {@link requirePlugin}).
 *
 * Environment variables are read through `Config` only (tests set them with a
 * `ConfigProvider`).
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Plugin, PluginConfig, Redactor, Suggest } from "@relais/core"
import { Config, Effect, Either, Option, SchemaAST } from "effect"
import * as NodePath from "node:path"
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
 * A plugin's name (the namespace of its steps), where the runner refers to a plugin.
 *
 * @since 0.1.0
 */
export type Provider = string

// -----------------------------------------------------------------------------
// The file, parsed and checked (sections not decoded yet)
// -----------------------------------------------------------------------------

/**
 * A place in the configuration file: the key path, and the position when there is one.
 *
 * @since 0.1.0
 */
export interface Location {
  readonly path: string
  readonly line?: number | undefined
  readonly column?: number | undefined
}

/**
 * An entry of `plugins:`: a built-in name, an npm package name or a relative path to an ES
 * module, with the options its factory receives.
 *
 * @since 0.1.0
 */
export interface PluginEntry {
  /** Its index in the list (`plugins[2]`). */
  readonly index: number
  readonly use: string
  /** `options:` as written (plain JSON), if the entry has any. */
  readonly options?: Readonly<Record<string, unknown>> | undefined
  readonly at: Location
}

/**
 * A plugin's section in a profile, as written (decoded by `resolve`, with the plugins known).
 *
 * @since 0.1.0
 */
export interface Section {
  readonly key: string
  /** Where the key is written. */
  readonly keyAt: Location
  readonly value: Source.Value
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
  readonly sections: ReadonlyArray<Section>
}

/**
 * A checked configuration file.
 *
 * @since 0.1.0
 */
export interface ConfigFile {
  /** The path as given or found (for messages). */
  readonly file: string
  /** The directory `{ file: ... }` references and plugin paths are relative to. */
  readonly directory: string
  readonly defaultProfile?: string | undefined
  readonly profiles: ReadonlyMap<string, ProfileSpec>
  readonly plugins: ReadonlyArray<PluginEntry>
  /** `store:` as written: a SQLite file or a PostgreSQL URL, and the URL's password if given apart. */
  readonly store?: StoreSpec | undefined
  /** `serve:`, the settings of `relais serve`, checked. */
  readonly serve?: ServeSpec | undefined
}

/**
 * What an API token may do: `read` (the GET routes), `run` (start and resume runs), `admin`
 * (everything).
 *
 * @since 0.1.0
 */
export const tokenScopes = ["read", "run", "admin"] as const

/**
 * @since 0.1.0
 */
export type TokenScope = (typeof tokenScopes)[number]

/**
 * An API token of `serve.tokens`: its name (it says who calls, in the server's log), the hash
 * of its value (never the value: `relais token create` prints both once) and its scopes.
 *
 * @since 0.1.0
 */
export interface TokenSpec {
  readonly name: string
  /** The SHA-256 of the token's value, in lower-case hex (written `sha256:<hex>`). */
  readonly sha256: string
  readonly scopes: ReadonlyArray<TokenScope>
  readonly at: Location
}

/**
 * `serve:` of the configuration file: where `relais serve` listens and whom it answers.
 *
 * ```yaml
 * serve:
 *   listen: 127.0.0.1:8080          # host:port
 *   workflows: ./workflows          # the workflow files it serves (relative to this file)
 *   bodyLimit: 1MiB                 # the largest request body (bytes, or KiB / MiB)
 *   trustProxy: false               # true: off loopback without tls, behind a TLS proxy
 *   tls: { cert: tls/cert.pem, key: tls/key.pem }
 *   tokens:
 *     - { name: portal, hash: "sha256:3f0c...", scopes: [read, run] }
 * ```
 *
 * File paths are relative to the configuration file's directory, resolved here.
 *
 * @since 0.1.0
 */
export interface ServeSpec {
  readonly listen?: string | undefined
  readonly workflows?: string | undefined
  /** Bytes. */
  readonly bodyLimit?: number | undefined
  readonly trustProxy: boolean
  readonly tls?: { readonly cert: string; readonly key: string } | undefined
  readonly tokens: ReadonlyArray<TokenSpec>
  /** `serve.webhooks`: the plugins' webhooks the server receives, by plugin. */
  readonly webhooks: ReadonlyArray<WebhookSpec>
  readonly at: Location
}

/**
 * A webhook of `serve.webhooks`: the OAuth client its sender authenticates as (the secret as a
 * reference, read when the server starts), the plugin's settings, and the timings.
 *
 * ```yaml
 * serve:
 *   webhooks:
 *     erp:                                                     # a plugin with a webhook
 *       clientId: erp-hooks
 *       clientSecret: { env: RELAIS_ERP_WEBHOOK_SECRET }       # or { file: secrets/... }
 *       settings: { customerName: ECOLE }                      # the plugin's own
 *       debounce: 2s                                           # a burst about one object: one run
 *       tokenLifetime: 10m
 * ```
 *
 * @since 0.1.0
 */
export interface WebhookSpec {
  readonly plugin: string
  readonly clientId: string
  /** `{ env: NAME }` or `{ file: path }` (read by `webhookSecretOf`). */
  readonly clientSecret: Source.Value
  /** The plugin's settings, as written (decoded with the plugin's `webhook.settings`). */
  readonly settings?: unknown
  readonly debounceMillis: number
  readonly tokenLifetimeMillis: number
  readonly at: Location
}

const WEBHOOK_DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/
const webhookMillis = (value: Source.Value): number | undefined => {
  if (value.kind !== "scalar") return undefined
  if (typeof value.value === "number" && Number.isFinite(value.value) && value.value >= 0) return value.value
  const match = typeof value.value === "string" ? WEBHOOK_DURATION.exec(value.value) : null
  return match === null ? undefined : Number(match[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as Record<string, number>)[match[2]!]!
}

/**
 * A size: a whole number of bytes, or a number with `KiB`, `MiB` (or `kB`, `MB`); `undefined`
 * when the text is not one.
 *
 * @since 0.1.0
 */
export const parseSize = (text: string | number): number | undefined => {
  if (typeof text === "number") return Number.isSafeInteger(text) && text > 0 ? text : undefined
  const match = /^\s*(\d+(?:\.\d+)?)\s*(B|KiB|MiB|kB|KB|MB)?\s*$/.exec(text)
  if (match === null) return undefined
  const unit = { B: 1, KiB: 1024, MiB: 1024 * 1024, kB: 1000, KB: 1000, MB: 1000 * 1000 }[match[2] ?? "B"]!
  const bytes = Math.floor(Number(match[1]) * unit)
  return bytes > 0 && Number.isSafeInteger(bytes) ? bytes : undefined
}

/**
 * What a token's name may be.
 *
 * @since 0.1.0
 */
export const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/
const TOKEN_HASH = /^sha256:([0-9a-f]{64})$/

/**
 * The run store named in the configuration file:
 *
 * ```yaml
 * store: .relais/relais.db                  # a SQLite file (relative to the working directory)
 * store:                                     # PostgreSQL, the password apart
 *   url: postgres://relais@db.example:5432/relais
 *   password: { env: RELAIS_DB_PASSWORD }   # or { file: secrets/db-password }
 * ```
 *
 * @since 0.1.0
 */
export interface StoreSpec {
  readonly url: string
  readonly password?: Source.Value | undefined
  readonly at: Location
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/
const profileKeys = ["production", "description"] as const

const joinPath = (path: ReadonlyArray<string | number>): string =>
  path.reduce<string>((out, key) => typeof key === "number" ? `${out}[${key}]` : out === "" ? key : `${out}.${key}`, "")

const quoted = (names: ReadonlyArray<string>): string => names.map((s) => `"${s}"`).join(" or ")

const didYouMean = (name: string, known: ReadonlyArray<string>): string => {
  const suggestions = Suggest.closest(name, known)
  return suggestions.length > 0 ? ` (did you mean ${quoted(suggestions)}?)` : ""
}

/**
 * Parse and check the text of a configuration file: every problem of its structure, located.
 * The plugins' sections are checked by `resolve`, which knows the plugins.
 *
 * @since 0.1.0
 */
export const parse = (
  text: string,
  file: string,
  directory: string
): Either.Either<ConfigFile, ConfigError> => {
  // The workflow files' reader: bounded nesting, one document, core tags only, no aliases.
  const read = Source.parse(text, "configuration")
  const problems: Array<ConfigProblem> = read.problems.map((p) =>
    new ConfigProblem({ file, line: p.pos.line, column: p.pos.column, message: p.message })
  )
  if (problems.length > 0) return Either.left(new ConfigError({ problems }))
  const root = read.root
  if (root === undefined || (root.kind === "scalar" && root.value === null)) {
    return Either.left(
      new ConfigError({
        problems: [new ConfigProblem({ file, message: "the file is empty; expected profiles: { <name>: { <plugin section>: { ... } } } and, if any, plugins: [ ... ]" })]
      })
    )
  }

  const at = (pos: Source.Pos, path: ReadonlyArray<string | number>): Location => ({ path: joinPath(path), line: pos.line, column: pos.column })
  const problem = (where: Location, message: string) =>
    problems.push(new ConfigProblem({ file, line: where.line, column: where.column, path: where.path, message }))

  /** The entries of a map, or a problem; unknown keys are reported with suggestions. */
  const entries = (value: Source.Value, path: ReadonlyArray<string | number>, known?: ReadonlyArray<string>): ReadonlyArray<Source.Entry> => {
    if (value.kind !== "map") {
      problem(at(value.pos, path), "expected a map of keys and values")
      return []
    }
    if (known === undefined) return value.entries
    return value.entries.filter((entry) => {
      if (known.includes(entry.key)) return true
      problem(at(entry.keyPos, [...path, entry.key]), `unknown key${didYouMean(entry.key, known)}; expected one of ${known.join(", ")}`)
      return false
    })
  }

  const textValue = (value: Source.Value, path: ReadonlyArray<string | number>): string | undefined => {
    if (value.kind === "scalar" && (typeof value.value === "string" || typeof value.value === "number")) {
      const s = String(value.value)
      if (s.trim() !== "") return s
      problem(at(value.pos, path), "must not be empty")
      return undefined
    }
    problem(at(value.pos, path), "expected a text value")
    return undefined
  }

  const pluginEntry = (value: Source.Value, index: number): PluginEntry | undefined => {
    const path = ["plugins", index] as const
    const where = at(value.pos, path)
    if (value.kind === "scalar") {
      const use = textValue(value, path)
      return use === undefined ? undefined : { index, use, at: where }
    }
    if (value.kind !== "map") {
      problem(where, "expected a plugin: a package name, a ./path to an ES module, or { use: <one of those>, options: { ... } }")
      return undefined
    }
    let use: string | undefined
    let options: Record<string, unknown> | undefined
    for (const entry of entries(value, path, ["use", "options"])) {
      if (entry.key === "use") use = textValue(entry.value, [...path, "use"])
      else if (entry.value.kind === "map") options = Source.toJs(entry.value) as Record<string, unknown>
      else problem(at(entry.value.pos, [...path, "options"]), "expected a map of options (the plugin factory's argument)")
    }
    if (Source.get(value, "use") === undefined) problem(where, "missing use: the plugin's package name or ./path")
    return use === undefined ? undefined : { index, use, options, at: where }
  }

  const plugins: Array<PluginEntry> = []
  const profiles = new Map<string, ProfileSpec>()
  let defaultProfile: { readonly name: string; readonly at: Location } | undefined
  let store: StoreSpec | undefined
  let serve: ServeSpec | undefined

  const serveSection = (value: Source.Value): ServeSpec | undefined => {
    const path = ["serve"]
    let listen: string | undefined
    let workflows: string | undefined
    let bodyLimit: number | undefined
    let trustProxy = false
    let tls: ServeSpec["tls"]
    const tokens: Array<TokenSpec> = []
    const names = new Set<string>()
    const fileIn = (text: string) => NodePath.resolve(directory, text)
    const webhooks: Array<WebhookSpec> = []
    for (const entry of entries(value, path, ["listen", "workflows", "bodyLimit", "trustProxy", "tls", "tokens", "webhooks"])) {
      const here = [...path, entry.key]
      switch (entry.key) {
        case "listen":
          listen = textValue(entry.value, here)
          break
        case "workflows": {
          const text = textValue(entry.value, here)
          if (text !== undefined) workflows = fileIn(text)
          break
        }
        case "bodyLimit": {
          const raw = entry.value.kind === "scalar" ? entry.value.value : undefined
          bodyLimit = typeof raw === "string" || typeof raw === "number" ? parseSize(raw) : undefined
          if (bodyLimit === undefined) problem(at(entry.value.pos, here), "expected a size: bytes, or a number with KiB or MiB (e.g. 1MiB)")
          break
        }
        case "trustProxy":
          if (entry.value.kind === "scalar" && typeof entry.value.value === "boolean") trustProxy = entry.value.value
          else problem(at(entry.value.pos, here), "expected true or false")
          break
        case "tls": {
          let cert: string | undefined
          let key: string | undefined
          for (const item of entries(entry.value, here, ["cert", "key"])) {
            const text = textValue(item.value, [...here, item.key])
            if (text === undefined) continue
            if (item.key === "cert") cert = fileIn(text)
            else key = fileIn(text)
          }
          if (entry.value.kind === "map" && (cert === undefined || key === undefined)) {
            if (Source.get(entry.value, "cert") === undefined) problem(at(entry.value.pos, here), "missing cert: the certificate file (PEM)")
            if (Source.get(entry.value, "key") === undefined) problem(at(entry.value.pos, here), "missing key: the private key file (PEM)")
          }
          if (cert !== undefined && key !== undefined) tls = { cert, key }
          break
        }
        case "webhooks": {
          if (entry.value.kind === "scalar" && entry.value.value === null) break
          for (const hook of entries(entry.value, here)) {
            const hookPath = [...here, hook.key]
            let clientId: string | undefined
            let clientSecret: Source.Value | undefined
            let settings: unknown
            let debounceMillis = 2000
            let tokenLifetimeMillis = 600_000
            for (const field of entries(hook.value, hookPath, ["clientId", "clientSecret", "settings", "debounce", "tokenLifetime"])) {
              const fieldPath = [...hookPath, field.key]
              switch (field.key) {
                case "clientId":
                  clientId = textValue(field.value, fieldPath)
                  break
                case "clientSecret":
                  // Never the text itself: the configuration file is shared, the secret is not.
                  if (!isReference(field.value) || field.value.entries.length !== 1) {
                    problem(at(field.value.pos, fieldPath), "expected { env: NAME } or { file: path }: the secret itself is never written in this file")
                  } else clientSecret = field.value
                  break
                case "settings":
                  settings = Source.toJs(field.value)
                  break
                case "debounce":
                case "tokenLifetime": {
                  const millis = webhookMillis(field.value)
                  if (millis === undefined || (field.key === "tokenLifetime" && millis < 1000)) {
                    problem(at(field.value.pos, fieldPath), `expected a duration such as ${field.key === "debounce" ? "2s" : "10m"} (ms, s, m, h)${field.key === "tokenLifetime" ? ", at least 1s" : ""}`)
                  } else if (field.key === "debounce") debounceMillis = millis
                  else tokenLifetimeMillis = millis
                  break
                }
              }
            }
            if (hook.value.kind === "map") {
              for (const required of ["clientId", "clientSecret"] as const) {
                if (Source.get(hook.value, required) === undefined) {
                  problem(at(hook.value.pos, hookPath), `missing ${required}: the OAuth client the sender authenticates as`)
                }
              }
            }
            if (clientId !== undefined && clientSecret !== undefined) {
              webhooks.push({
                plugin: hook.key,
                clientId,
                clientSecret,
                ...(settings !== undefined ? { settings } : {}),
                debounceMillis,
                tokenLifetimeMillis,
                at: at(hook.value.pos, hookPath)
              })
            }
          }
          break
        }
        case "tokens": {
          if (entry.value.kind === "scalar" && entry.value.value === null) break
          if (entry.value.kind !== "seq") {
            problem(at(entry.value.pos, here), "expected a list of tokens: - { name, hash: \"sha256:<hex>\", scopes: [read, run] } (relais token create prints one)")
            break
          }
          entry.value.items.forEach((item, index) => {
            const itemPath = [...here, index]
            let name: string | undefined
            let sha256: string | undefined
            let scopes: Array<TokenScope> | undefined
            for (const field of entries(item, itemPath, ["name", "hash", "scopes"])) {
              const fieldPath = [...itemPath, field.key]
              if (field.key === "name") {
                name = textValue(field.value, fieldPath)
                if (name !== undefined && !TOKEN_NAME.test(name)) {
                  problem(at(field.value.pos, fieldPath), "a token name is letters, digits, dots, dashes and underscores (at most 64)")
                  name = undefined
                } else if (name !== undefined && names.has(name)) {
                  problem(at(field.value.pos, fieldPath), `another token is already named "${name}": each token has its own name`)
                  name = undefined
                }
                if (name !== undefined) names.add(name)
              } else if (field.key === "hash") {
                const text = textValue(field.value, fieldPath)
                const match = text === undefined ? null : TOKEN_HASH.exec(text.trim())
                // Never quoted: a token's value pasted here by mistake would be shown.
                if (text !== undefined && match === null) {
                  problem(at(field.value.pos, fieldPath), "expected sha256:<64 lower-case hex digits>, the hash relais token create prints (never the token itself)")
                }
                if (match !== null) sha256 = match[1]
              } else {
                const items = field.value.kind === "seq" ? field.value.items : [field.value]
                const found: Array<TokenScope> = []
                for (const scope of items) {
                  const text = scope.kind === "scalar" && typeof scope.value === "string" ? scope.value : undefined
                  if (text !== undefined && (tokenScopes as ReadonlyArray<string>).includes(text)) found.push(text as TokenScope)
                  else problem(at(scope.pos, fieldPath), `expected scopes among ${tokenScopes.join(", ")}${text !== undefined ? didYouMean(text, tokenScopes) : ""}`)
                }
                if (found.length === 0 && items.length === 0) problem(at(field.value.pos, fieldPath), `expected at least one scope: ${tokenScopes.join(", ")}`)
                scopes = found
              }
            }
            if (item.kind === "map") {
              for (const required of ["name", "hash", "scopes"] as const) {
                if (Source.get(item, required) === undefined) problem(at(item.pos, itemPath), `missing ${required}`)
              }
            }
            if (name !== undefined && sha256 !== undefined && scopes !== undefined && scopes.length > 0) {
              tokens.push({ name, sha256, scopes, at: at(item.pos, itemPath) })
            }
          })
          break
        }
      }
    }
    return { listen, workflows, bodyLimit, trustProxy, tls, tokens, webhooks, at: at(value.pos, path) }
  }

  for (const top of entries(root, [], ["plugins", "defaultProfile", "profiles", "store", "serve"])) {
    switch (top.key) {
      case "serve": {
        if (top.value.kind === "scalar" && top.value.value === null) break
        serve = serveSection(top.value)
        break
      }
      case "store": {
        const where = at(top.value.pos, ["store"])
        if (top.value.kind === "scalar") {
          const url = textValue(top.value, ["store"])
          if (url !== undefined) store = { url, at: where }
          break
        }
        let url: string | undefined
        let password: Source.Value | undefined
        for (const entry of entries(top.value, ["store"], ["url", "password"])) {
          if (entry.key === "url") url = textValue(entry.value, ["store", "url"])
          else password = entry.value
        }
        if (top.value.kind === "map" && Source.get(top.value, "url") === undefined) {
          problem(where, "missing url: a SQLite file or postgres://user@host:port/database")
        }
        if (url !== undefined) store = { url, password, at: where }
        break
      }
      case "plugins": {
        if (top.value.kind === "scalar" && top.value.value === null) break
        if (top.value.kind !== "seq") {
          problem(at(top.value.pos, ["plugins"]), "expected a list of plugins (- ./path/to/plugin.js, - package-name, or - { use: ..., options: { ... } })")
          break
        }
        top.value.items.forEach((item, index) => {
          const entry = pluginEntry(item, index)
          if (entry !== undefined) plugins.push(entry)
        })
        break
      }
      case "defaultProfile": {
        const name = textValue(top.value, ["defaultProfile"])
        if (name !== undefined) defaultProfile = { name, at: at(top.value.pos, ["defaultProfile"]) }
        break
      }
      case "profiles": {
        if (top.value.kind === "scalar" && top.value.value === null) break
        for (const entry of entries(top.value, ["profiles"])) {
          const path = ["profiles", entry.key]
          if (!PROFILE_NAME.test(entry.key)) {
            problem(at(entry.keyPos, path), "profile names are letters, digits, dots, dashes and underscores")
            continue
          }
          let production = false
          let description: string | undefined
          const sections: Array<Section> = []
          for (const item of entries(entry.value, path)) {
            const itemPath = [...path, item.key]
            if (item.key === "production") {
              if (item.value.kind === "scalar" && typeof item.value.value === "boolean") production = item.value.value
              else problem(at(item.value.pos, itemPath), "expected true or false")
            } else if (item.key === "description") {
              description = textValue(item.value, itemPath)
            } else {
              sections.push({ key: item.key, keyAt: at(item.keyPos, itemPath), value: item.value })
            }
          }
          profiles.set(entry.key, { name: entry.key, production, description, sections })
        }
        break
      }
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
  if (problems.length > 0) return Either.left(new ConfigError({ problems: inFileOrder(problems) }))
  return Either.right({ file, directory, defaultProfile: defaultProfile?.name, profiles, plugins, store, serve })
}

/**
 * Problems in file order, like the workflow diagnostics.
 *
 * @since 0.1.0
 */
export const inFileOrder = (problems: ReadonlyArray<ConfigProblem>): Array<ConfigProblem> =>
  [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0))

const unknownProfileMessage = (name: string, known: ReadonlyArray<string>): string =>
  `no profile named "${name}"${didYouMean(name, known)}; ${known.length > 0 ? `the profiles are ${known.join(", ")}` : "no profile is defined"}`

/**
 * The file named by `--config` (or `RELAIS_CONFIG`), which must exist, else
 * `relais.config.yaml` in the working directory if there is one.
 */
const locate = (
  explicit: Option.Option<string>
): Effect.Effect<Option.Option<{ readonly file: string; readonly named: Option.Option<"--config" | "RELAIS_CONFIG"> }>, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const fromEnv = yield* Config.option(Config.string("RELAIS_CONFIG")).pipe(
      Effect.map(Option.filter((s) => s !== "")),
      Effect.orElseSucceed(() => Option.none<string>())
    )
    if (Option.isSome(explicit)) return Option.some({ file: explicit.value, named: Option.some("--config" as const) })
    if (Option.isSome(fromEnv)) return Option.some({ file: fromEnv.value, named: Option.some("RELAIS_CONFIG" as const) })
    const exists = yield* fs.exists(defaultFileName).pipe(Effect.orElseSucceed(() => false))
    return exists ? Option.some({ file: defaultFileName, named: Option.none() }) : Option.none()
  })

/**
 * Read the configuration file: the one named (`--config` or `RELAIS_CONFIG`, which must exist),
 * or `relais.config.yaml` in the working directory if there is one. Strictly UTF-8.
 *
 * @since 0.1.0
 */
export const load = (
  explicit: Option.Option<string>
): Effect.Effect<Option.Option<ConfigFile>, ConfigError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const found = yield* locate(explicit)
    if (Option.isNone(found)) return Option.none()
    const { file, named } = found.value
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    if (Option.isSome(named) && !(yield* fs.exists(file).pipe(Effect.orElseSucceed(() => false)))) {
      return yield* new ConfigError({
        problems: [new ConfigProblem({ file, message: `the configuration file does not exist (${named.value})` })]
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
    return Option.some(yield* parse(decoded.text, file, path.dirname(path.resolve(file))))
  })

// -----------------------------------------------------------------------------
// The plugins' sections
// -----------------------------------------------------------------------------

/**
 * A plugin's configuration, decoded by its schema (`undefined` for a plugin that declares
 * none), and where each value came from.
 *
 * @since 0.1.0
 */
export interface Configured {
  readonly config: unknown
  /** Where each value came from, by dotted path ("env ESIGN_API_KEY"...): never values. */
  readonly sources: PluginConfig.Sources
}

/**
 * Why a plugin cannot be used.
 *
 * @since 0.1.0
 */
export type NotConfigured = MissingCredentials | ConfigError

/** The leaves of a plugin's schema by dotted path, and the paths of the objects holding them. */
const shapeOf = (plugin: Plugin.Plugin) => {
  const fields = plugin.config === undefined ? [] : PluginConfig.fields(plugin.config)
  const byPath = new Map(fields.map((f) => [f.path.join("."), f]))
  const interior = new Set(fields.flatMap((f) => f.path.slice(0, -1).map((_, i) => f.path.slice(0, i + 1).join("."))))
  return { fields, byPath, interior }
}

/** `inner` is `outer` or below it. */
const within = (outer: ReadonlyArray<string>, inner: ReadonlyArray<string>) =>
  inner.length >= outer.length && outer.every((k, i) => inner[i] === k)

/**
 * The issues of a decoding, one per path: the first message for a path, without the
 * "Expected undefined" alternative of an optional field when the field itself has an issue.
 */
const tidy = (issues: ReadonlyArray<PluginConfig.Issue>): ReadonlyArray<PluginConfig.Issue> => {
  const seen = new Set<string>()
  return issues.filter((issue) => {
    if (/^Expected undefined, actual /.test(issue.message) && issues.some((o) => o !== issue && within(issue.path, o.path))) return false
    const key = issue.path.join(".")
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/**
 * An issue about a key the input does not have (a schema may word "is missing" its own way:
 * "missing url (e.g. https://...)").
 */
const isMissingIn = (input: unknown) => (issue: PluginConfig.Issue): boolean => {
  let value = input
  for (const key of issue.path) {
    if (value === null || typeof value !== "object" || !Object.prototype.hasOwnProperty.call(value, key)) return true
    value = (value as Record<string, unknown>)[key]
  }
  return false
}

/** `a`, `a and b`, `a, b and c`. */
const andList = (items: ReadonlyArray<string>): string =>
  items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`

/** The fields a section cannot do without (those an empty section is missing). */
const requiredPaths = (plugin: Plugin.Plugin): ReadonlyArray<ReadonlyArray<string>> =>
  plugin.config === undefined
    ? []
    : Either.match(PluginConfig.decode(plugin.config, {}), { onLeft: (issues) => tidy(issues).filter(isMissingIn({})).map((i) => i.path), onRight: () => [] })

const readEnv = (name: string): Effect.Effect<Option.Option<string>> =>
  Config.option(Config.string(name)).pipe(
    Effect.map(Option.filter((value) => value !== "")),
    Effect.orElseSucceed(() => Option.none<string>())
  )

/** Decoded, or every issue; the secrets of a decoded configuration are registered at once. */
const decodeAndRegister = (plugin: Plugin.Plugin, input: unknown) =>
  Effect.gen(function*() {
    const decoded = PluginConfig.decode(plugin.config!, input)
    if (Either.isRight(decoded)) yield* PluginConfig.registerSecrets(decoded.right)
    return Either.mapLeft(decoded, tidy)
  })

const orChooseProfile = (config: Option.Option<ConfigFile>): string =>
  Option.match(config, {
    onNone: () => `, or create ${defaultFileName} with a profile (--sandbox needs neither)`,
    onSome: (c) =>
      c.profiles.size > 0 ? `, or choose a profile of ${c.file} with --profile (${[...c.profiles.keys()].join(", ")})` : `, or add a profile to ${c.file}`
  })

/**
 * A plugin's section from its environment variables (no profile chosen).
 */
const fromEnvironment = (
  plugin: Plugin.Plugin,
  config: Option.Option<ConfigFile>
): Effect.Effect<Either.Either<Configured, NotConfigured>, never, Redactor.Redactor> =>
  Effect.gen(function*() {
    if (plugin.config === undefined) return Either.right({ config: undefined, sources: {} })
    const { fields } = shapeOf(plugin)
    const env: Record<string, string> = {}
    for (const field of fields) {
      const name = PluginConfig.envName(plugin.name, field.path)
      const value = yield* readEnv(name)
      if (Option.isSome(value)) env[name] = value.value
    }
    const read = PluginConfig.fromEnv(plugin, env)
    const sectionNeeds = plugin.config === undefined
      ? undefined
      : Option.getOrUndefined(SchemaAST.getDescriptionAnnotation(plugin.config.ast))
    const nameOf = (path: ReadonlyArray<string>) =>
      path.length === 0 ? `${PluginConfig.envPrefix(plugin.name)}_*` : PluginConfig.envName(plugin.name, path)
    const notConfigured = (missing: ReadonlyArray<ReadonlyArray<string>>) =>
      new MissingCredentials({
        provider: Plugin.label(plugin),
        reason: `${Plugin.label(plugin)} is not configured: set ${
          // A section that says what it needs ("url, and apiKey or username + password", the
          // description of its schema) is clearer than a list of variables.
          Option.isNone(read) && sectionNeeds !== undefined
            ? inVariables(sectionNeeds)
            : `${andList(missing.map(nameOf))}${
              // Optional secrets are often alternatives (an API key, or a user and password).
              Option.isNone(read) ? asNeeded(fields.filter((f) => f.secret && f.optional).map((f) => nameOf(f.path))) : ""
            }`
        }${orChooseProfile(config)}`
      })
    // A message about the whole section ("missing password (or use apiKey)") names its
    // fields; here they are variables.
    const inVariables = (message: string) =>
      fields.reduce(
        (text, field) => field.path.length === 1 ? text.replace(new RegExp(`\\b${field.path[0]!.replace(/[^A-Za-z0-9_]/g, "\\$&")}\\b`, "g"), nameOf(field.path)) : text,
        message
      )
    const environmentError = (issues: ReadonlyArray<PluginConfig.Issue>) =>
      new ConfigError({
        problems: issues.map((issue) =>
          new ConfigProblem({ file: "environment", path: nameOf(issue.path), message: issue.path.length === 0 ? inVariables(issue.message) : issue.message })
        )
      })
    if (Option.isNone(read)) {
      // None of its variables is set: configured only if it needs nothing.
      const decoded = yield* decodeAndRegister(plugin, {})
      if (Either.isRight(decoded)) return Either.right({ config: decoded.right, sources: {} })
      const missing = decoded.left.filter(isMissingIn({})).map((i) => i.path)
      return Either.left(missing.length > 0 ? notConfigured(missing) : environmentError(decoded.left))
    }
    if (read.value.issues.length > 0) {
      // Its own messages name the variable already (`CAMPUS_SKILLS_TIMEOUT: expected a number`).
      return Either.left(
        new ConfigError({ problems: read.value.issues.map((issue) => new ConfigProblem({ file: "environment", message: issue.message })) })
      )
    }
    const decoded = yield* decodeAndRegister(plugin, read.value.input)
    if (Either.isRight(decoded)) return Either.right({ config: decoded.right, sources: read.value.sources })
    const missing = decoded.left.filter(isMissingIn(read.value.input))
    if (missing.length === decoded.left.length) return Either.left(notConfigured(missing.map((i) => i.path)))
    // Only the whole section's own checks failed (credentials given by halves).
    const whole = decoded.left.filter((i) => i.path.length === 0)
    if (whole.length + missing.length === decoded.left.length) {
      return Either.left(
        new MissingCredentials({
          provider: Plugin.label(plugin),
          reason: `${Plugin.label(plugin)} is not configured: ${[...missing.map((i) => `set ${nameOf(i.path)}`), ...whole.map((i) => inVariables(i.message))].join("; ")}${orChooseProfile(config)}`
        })
      )
    }
    return Either.left(environmentError(decoded.left))
  })

const asNeeded = (names: ReadonlyArray<string>): string => names.length > 0 ? ` (and as needed ${names.join(", ")})` : ""

/** A literal value of a section, for the warning about literal secrets. */
interface Literal {
  readonly path: string
  readonly value: string
  readonly at: Location
}

/** A section with its references read: the input to decode, and where everything is. */
interface ReadSection {
  readonly input: unknown
  readonly sources: Record<string, string>
  /** Where each value (and each key) is, by dotted path in the section ("" is the section). */
  readonly values: ReadonlyMap<string, Location>
  readonly keys: ReadonlyMap<string, Location>
  readonly literals: ReadonlyArray<Literal>
  readonly problems: ReadonlyArray<ConfigProblem>
  /** The paths of the values that could not be read (their problems are said already). */
  readonly failed: ReadonlyArray<ReadonlyArray<string>>
}

const isReference = (value: Source.Value): value is Source.MapValue =>
  value.kind === "map" && value.entries.length > 0 && value.entries.every((e) => e.key === "env" || e.key === "file")

/**
 * Read a section as written: references (`{ env: NAME }`, `{ file: path }`) are read and their
 * text converted by the kind of their field; a number written where text is expected is text.
 */
const readSection = (
  plugin: Plugin.Plugin,
  section: Section,
  file: ConfigFile
): Effect.Effect<ReadSection, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const nodePath = yield* Path.Path
    const shape = shapeOf(plugin)
    const base = section.keyAt.path
    const sources: Record<string, string> = {}
    const values = new Map<string, Location>()
    const keys = new Map<string, Location>()
    const literals: Array<Literal> = []
    const problems: Array<ConfigProblem> = []
    const failed: Array<ReadonlyArray<string>> = []
    const locationOf = (pos: Source.Pos, path: ReadonlyArray<string | number>): Location => ({
      path: joinPath([base, ...path]),
      line: pos.line,
      column: pos.column
    })
    const problem = (where: Location, message: string) =>
      problems.push(new ConfigProblem({ file: file.file, line: where.line, column: where.column, path: where.path, message }))

    /** The text a reference points at, or a problem at the reference. */
    const dereference = (node: Source.MapValue, path: ReadonlyArray<string | number>) =>
      Effect.gen(function*() {
        const where = locationOf(node.pos, path)
        if (node.entries.length !== 1) {
          problem(where, "a reference is { env: NAME } or { file: path }, not both")
          return undefined
        }
        const [entry] = node.entries
        const target = entry!.value
        const text = target.kind === "scalar" && (typeof target.value === "string" || typeof target.value === "number")
          ? String(target.value).trim()
          : ""
        if (entry!.key === "env") {
          if (!ENV_NAME.test(text)) {
            problem(locationOf(target.pos, [...path, "env"]), `expected the name of an environment variable (letters, digits and _), e.g. { env: ${PluginConfig.envName(plugin.name, path.map(String))} }`)
            return undefined
          }
          const value = yield* readEnv(text)
          if (Option.isNone(value)) {
            problem(where, `the environment variable ${text} is not set`)
            return undefined
          }
          return { text: value.value, source: `env ${text}` }
        }
        if (text === "") {
          problem(locationOf(target.pos, [...path, "file"]), "expected a file path (relative to the configuration file)")
          return undefined
        }
        const bytes = yield* Effect.either(fs.readFile(nodePath.resolve(file.directory, text)))
        if (Either.isLeft(bytes)) {
          problem(where, `cannot read ${text}: ${Files.problem(bytes.left)}`)
          return undefined
        }
        // Strictly UTF-8, like the configuration file itself.
        const decoded = Source.decode(bytes.right)
        if ("problem" in decoded) {
          problem(where, `${text}: ${decoded.problem.message}`)
          return undefined
        }
        const value = decoded.text.replace(/^\uFEFF/, "").replace(/\r?\n$/, "")
        if (value.trim() === "") {
          problem(where, `${text} is empty`)
          return undefined
        }
        return { text: value, source: `file ${text}` }
      })

    /** The value a reference's text stands for, read as its field's kind. */
    const convert = (read: { readonly text: string; readonly source: string }, path: ReadonlyArray<string | number>, where: Location): unknown => {
      const { source, text } = read
      const field = shape.byPath.get(path.join("."))
      if (field === undefined || field.kind === "string") return text
      const shown = field.secret ? "a value not shown (a secret)" : JSON.stringify(text)
      const refuse = (what: string) => {
        problem(where, `expected ${what}, got ${shown} (from ${source})`)
        failed.push(path.map(String))
        return undefined
      }
      switch (field.kind) {
        case "number": {
          const n = text.trim() === "" ? Number.NaN : Number(text)
          return Number.isNaN(n) ? refuse("a number") : n
        }
        case "boolean":
          return text === "true" ? true : text === "false" ? false : refuse("true or false")
        case "json":
          try {
            return JSON.parse(text)
          } catch {
            return refuse("a JSON value")
          }
      }
    }

    const walk = (value: Source.Value, path: ReadonlyArray<string | number>): Effect.Effect<unknown, never, FileSystem.FileSystem | Path.Path> =>
      Effect.gen(function*() {
        const key = path.join(".")
        const where = locationOf(value.pos, path)
        values.set(key, where)
        switch (value.kind) {
          case "scalar": {
            sources[key] = file.file
            const field = shape.byPath.get(key)
            if (typeof value.value === "string") literals.push({ path: key, value: value.value, at: where })
            // A number where text is expected (an unquoted `username: 1234`) is that text.
            if (typeof value.value === "number" && field?.kind === "string") {
              literals.push({ path: key, value: String(value.value), at: where })
              return String(value.value)
            }
            return value.value
          }
          case "seq": {
            const out: Array<unknown> = []
            for (let i = 0; i < value.items.length; i++) out.push(yield* walk(value.items[i]!, [...path, i]))
            return out
          }
          case "map": {
            if (path.length > 0 && isReference(value) && !shape.interior.has(key)) {
              const read = yield* dereference(value, path)
              if (read === undefined) {
                failed.push(path.map(String))
                return undefined
              }
              sources[key] = read.source
              return convert(read, path, where)
            }
            const out: Record<string, unknown> = {}
            for (const entry of value.entries) {
              keys.set([...path, entry.key].join("."), locationOf(entry.keyPos, [...path, entry.key]))
              Source.setOwn(out, entry.key, yield* walk(entry.value, [...path, entry.key]))
            }
            return out
          }
        }
      })

    const input = yield* walk(section.value, [])
    return { input, sources, values, keys, literals, problems, failed }
  })

/** The literal secrets of a section written in the file (no reference read), by the schema's fields. */
const literalSecrets = (plugin: Plugin.Plugin, section: Section): ReadonlyArray<Literal> => {
  const shape = shapeOf(plugin)
  const out: Array<Literal> = []
  for (const field of shape.fields) {
    if (!field.secret) continue
    let node: Source.Value | undefined = section.value
    for (const key of field.path) node = node?.kind === "map" ? Source.get(node, key)?.value : undefined
    if (node?.kind === "scalar" && (typeof node.value === "string" || typeof node.value === "number")) {
      out.push({
        path: field.path.join("."),
        value: String(node.value),
        at: { path: joinPath([section.keyAt.path, ...field.path]), line: node.pos.line, column: node.pos.column }
      })
    }
  }
  return out
}

const literalWarning = (file: string, literal: Literal) =>
  new ConfigProblem({
    file,
    line: literal.at.line,
    column: literal.at.column,
    path: literal.at.path,
    message: "a literal secret in the configuration file; prefer { env: NAME } or { file: path } and keep the file out of version control"
  })

/** A plugin's section of the chosen profile, read and decoded. */
const fromProfile = (
  plugin: Plugin.Plugin,
  profile: ProfileSpec,
  file: ConfigFile,
  warnings: Array<ConfigProblem>
): Effect.Effect<Either.Either<Configured, NotConfigured>, never, FileSystem.FileSystem | Path.Path | Redactor.Redactor> =>
  Effect.gen(function*() {
    if (plugin.config === undefined) return Either.right({ config: undefined, sources: {} })
    const key = PluginConfig.profileKey(plugin.name)
    const section = profile.sections.find((s) => s.key === key)
    if (section === undefined) {
      // Configured only if it needs nothing.
      const decoded = yield* decodeAndRegister(plugin, {})
      if (Either.isRight(decoded)) return Either.right({ config: decoded.right, sources: {} })
      const required = requiredPaths(plugin).map((p) => p.join("."))
      return Either.left(
        new MissingCredentials({
          provider: Plugin.label(plugin),
          reason: `${Plugin.label(plugin)} is not configured in profile "${profile.name}" of ${file.file}: add ${/^[aeiou]/i.test(key) ? "an" : "a"} ${key} section${
            required.length > 0 ? ` (${andList(required)})` : ""
          }`
        })
      )
    }
    const read = yield* readSection(plugin, section, file)
    const decoded = yield* decodeAndRegister(plugin, read.input)
    if (Either.isRight(decoded) && read.problems.length === 0) {
      // Literal secrets at any depth (a connection's token inside a map of connections).
      const secrets = new Set(PluginConfig.secretTexts(decoded.right))
      const bySchema = new Set(literalSecrets(plugin, section).map((l) => l.path))
      for (const literal of read.literals) {
        if (bySchema.has(literal.path) || secrets.has(literal.value)) warnings.push(literalWarning(file.file, literal))
      }
      return Either.right({ config: decoded.right, sources: read.sources })
    }
    // Every problem at once: those of reading, and the schema's about everything else.
    const issues = Either.match(decoded, { onLeft: (issues) => issues, onRight: () => [] })
      .filter((issue) => !read.failed.some((path) => within(path, issue.path)))
    return Either.left(new ConfigError({ problems: inFileOrder([...read.problems, ...issues.map((issue) => issueProblem(issue, read, section, file))]) }))
  })

/** A decoding issue at the place it is about: the key of an unknown key, the value, else the closest object. */
const issueProblem = (issue: PluginConfig.Issue, read: ReadSection, section: Section, file: ConfigFile): ConfigProblem => {
  const path = joinPath([section.keyAt.path, ...issue.path])
  const unexpected = /^is unexpected, expected: (.*)$/.exec(issue.message)
  if (unexpected !== null) {
    const known = [...unexpected[1]!.matchAll(/"([^"]*)"/g)].map((m) => m[1]!)
    const name = issue.path[issue.path.length - 1] ?? ""
    const where = read.keys.get(issue.path.join(".")) ?? section.keyAt
    return new ConfigProblem({
      file: file.file,
      line: where.line,
      column: where.column,
      path,
      message: `unknown key${didYouMean(name, known)}; expected one of ${known.join(", ")}`
    })
  }
  let where: Location | undefined
  for (let n = issue.path.length; n >= 0 && where === undefined; n--) where = read.values.get(issue.path.slice(0, n).join("."))
  return new ConfigProblem({ file: file.file, line: where?.line, column: where?.column, path, message: issue.message })
}

/**
 * Every profile's sections against the plugins: unknown sections are problems (with "did you
 * mean"); literal secrets are registered with the redactor and warned about (by profile).
 */
const checkSections = (
  file: ConfigFile,
  plugins: ReadonlyArray<Plugin.Plugin>
): Effect.Effect<ReadonlyMap<string, ReadonlyArray<ConfigProblem>>, ConfigError, Redactor.Redactor> =>
  Effect.gen(function*() {
    const byKey = new Map(plugins.map((p) => [PluginConfig.profileKey(p.name), p]))
    const known = [...profileKeys, ...byKey.keys()]
    const problems: Array<ConfigProblem> = []
    const warnings = new Map<string, Array<ConfigProblem>>()
    for (const profile of file.profiles.values()) {
      const mine: Array<ConfigProblem> = []
      warnings.set(profile.name, mine)
      for (const section of profile.sections) {
        const plugin = byKey.get(section.key)
        if (plugin === undefined) {
          const hint = didYouMean(section.key, known)
          problems.push(
            new ConfigProblem({
              file: file.file,
              line: section.keyAt.line,
              column: section.keyAt.column,
              path: section.keyAt.path,
              message: `unknown key${hint}; expected one of ${known.join(", ")}${
                hint === "" ? " (a plugin's section is its name in camel case; is the plugin listed under plugins:?)" : ""
              }`
            })
          )
          continue
        }
        if (plugin.config === undefined) {
          problems.push(
            new ConfigProblem({
              file: file.file,
              line: section.keyAt.line,
              column: section.keyAt.column,
              path: section.keyAt.path,
              message: `the plugin ${plugin.name} takes no configuration: remove this section`
            })
          )
          continue
        }
        const literals = literalSecrets(plugin, section)
        yield* Redactor.register(...literals.map((l) => l.value))
        for (const literal of literals) mine.push(literalWarning(file.file, literal))
      }
    }
    if (problems.length > 0) return yield* new ConfigError({ problems: inFileOrder(problems) })
    return warnings
  })

// -----------------------------------------------------------------------------
// The target
// -----------------------------------------------------------------------------

/**
 * Where runs go: the chosen profile (or the environment), and each plugin's configuration or
 * the reason it cannot be used, by plugin name.
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
  readonly plugins: ReadonlyMap<string, Either.Either<Configured, NotConfigured>>
}

/**
 * A short description of a target: `profile preprod` or `environment variables`.
 *
 * @since 0.1.0
 */
export const describeTarget = (target: Target): string =>
  target.kind === "profile" ? `profile ${target.profile}${target.production ? " (PRODUCTION)" : ""}` : "environment variables"

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
 * Choose the profile and read every plugin's configuration (the plugins of the registry in
 * context). Fails only for problems of the file or of the profile choice; a plugin that cannot
 * be used is reported in the `Target`. The warnings are those of the profile used.
 *
 * @since 0.1.0
 */
export const resolve = (
  options: ResolveOptions
): Effect.Effect<
  { readonly target: Target; readonly warnings: ReadonlyArray<ConfigProblem> },
  ConfigError,
  FileSystem.FileSystem | Path.Path | Redactor.Redactor | Plugin.PluginRegistry
> =>
  Effect.gen(function*() {
    const { plugins } = yield* Plugin.PluginRegistry
    const config = yield* load(options.configFile)
    const warningsByProfile = Option.isSome(config) ? yield* checkSections(config.value, plugins) : new Map<string, ReadonlyArray<ConfigProblem>>()
    const fromEnv = yield* readEnv("RELAIS_PROFILE")
    const chosen: Option.Option<readonly [string, string]> = Option.isSome(options.profile)
      ? Option.some([options.profile.value, "--profile"] as const)
      : Option.isSome(fromEnv)
      ? Option.some([fromEnv.value, "RELAIS_PROFILE"] as const)
      : Option.flatMap(config, (c) => c.defaultProfile !== undefined ? Option.some([c.defaultProfile, "defaultProfile"] as const) : Option.none())
    if (Option.isNone(chosen)) {
      const byPlugin = new Map<string, Either.Either<Configured, NotConfigured>>()
      for (const plugin of plugins) byPlugin.set(plugin.name, yield* fromEnvironment(plugin, config))
      return {
        warnings: [],
        target: {
          kind: "environment",
          production: false,
          configFile: Option.getOrUndefined(Option.map(config, (c) => c.file)),
          plugins: byPlugin
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
    const warnings = [...(warningsByProfile.get(name) ?? [])]
    const byPlugin = new Map<string, Either.Either<Configured, NotConfigured>>()
    for (const plugin of plugins) byPlugin.set(plugin.name, yield* fromProfile(plugin, profile, file, warnings))
    // A literal found both by its field and by its value is warned about once.
    const unique = [...new Map(warnings.map((w) => [w.toString(), w])).values()]
    return {
      warnings: inFileOrder(unique),
      target: { kind: "profile", profile: name, chosenBy, production: profile.production, configFile: file.file, plugins: byPlugin }
    }
  })

/**
 * The configuration of a plugin, or why it cannot be used: what a workflow that uses the plugin
 * needs before anything starts.
 *
 * @since 0.1.0
 */
export const requirePlugin = (target: Target, name: string): Effect.Effect<Configured, NotConfigured> =>
  target.plugins.get(name) ??
    Effect.fail(new MissingCredentials({ provider: name, reason: `no plugin named "${name}" is loaded` }))

// -----------------------------------------------------------------------------
// The JSON Schema of the file
// -----------------------------------------------------------------------------

/**
 * The JSON Schema of `relais.config.yaml` for editors (`relais schema config`), with each
 * plugin's section from its configuration schema.
 *
 * @since 0.1.0
 */
export const jsonSchema = (plugins: ReadonlyArray<Plugin.Plugin>): object => {
  const defs: Record<string, unknown> = {}
  const sections: Record<string, unknown> = {}
  for (const plugin of plugins) {
    if (plugin.config === undefined) continue
    const key = PluginConfig.profileKey(plugin.name)
    const { $defs, ...schema } = PluginConfig.jsonSchema(plugin.config) as { readonly $defs?: Record<string, unknown> }
    // Each plugin's definitions under a name of its own, so that two plugins cannot clash.
    const rename = (name: string) => `${key}.${name}`
    const relink = (node: unknown): unknown =>
      Array.isArray(node)
        ? node.map(relink)
        : node !== null && typeof node === "object"
        ? Object.fromEntries(Object.entries(node).map(([k, v]) =>
          k === "$ref" && typeof v === "string" && v.startsWith("#/$defs/")
            ? [k, `#/$defs/${rename(v.slice("#/$defs/".length))}`]
            : [k, relink(v)]
        ))
        : node
    for (const [name, def] of Object.entries($defs ?? {})) defs[rename(name)] = relink(def)
    sections[key] = { ...(relink(schema) as object), description: `${Plugin.label(plugin)}: ${plugin.description}` }
  }
  const reference = { type: "string", minLength: 1 }
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: "https://relais.dev/schema/config-v1.json",
    title: "relais configuration (relais.config.yaml)",
    type: "object",
    additionalProperties: false,
    properties: {
      plugins: {
        description: "Plugins to load besides the built-in ones: an npm package name (resolved from this file's directory), a ./path to a built ES module, or { use, options }; a built-in's name passes it options",
        type: "array",
        items: {
          anyOf: [
            reference,
            {
              type: "object",
              required: ["use"],
              additionalProperties: false,
              properties: {
                use: reference,
                options: { type: "object", description: "The argument of the plugin's factory" }
              }
            }
          ]
        }
      },
      defaultProfile: { type: "string", description: "The profile used when neither --profile nor RELAIS_PROFILE names one (never a production profile)" },
      store: {
        description: "The run store when neither --store nor RELAIS_STORE names one: a SQLite file, or postgres://user@host:port/database (shared by relais worker processes) with its password apart",
        anyOf: [
          reference,
          {
            type: "object",
            required: ["url"],
            additionalProperties: false,
            properties: {
              url: reference,
              password: {
                description: "The database password: { env: NAME } or { file: path } (preferred), or the text",
                anyOf: [
                  reference,
                  { type: "object", additionalProperties: false, properties: { env: reference }, required: ["env"] },
                  { type: "object", additionalProperties: false, properties: { file: reference }, required: ["file"] }
                ]
              }
            }
          }
        ]
      },
      serve: {
        description: "relais serve: where it listens, the workflows it serves, who may call it",
        type: "object",
        additionalProperties: false,
        properties: {
          listen: { type: "string", description: "host:port (default 127.0.0.1:8080); off loopback, tokens are required, and tls unless trustProxy" },
          workflows: { type: "string", description: "The directory of the workflow files served (relative to this file)" },
          bodyLimit: {
            description: "The largest request body: bytes, or a number with KiB or MiB (default 1MiB)",
            anyOf: [{ type: "integer", minimum: 1 }, { type: "string", pattern: "^\\s*\\d+(\\.\\d+)?\\s*(B|KiB|MiB|kB|KB|MB)?\\s*$" }]
          },
          trustProxy: { type: "boolean", description: "Off loopback without tls: true when a TLS proxy stands in front (default false)" },
          tls: {
            type: "object",
            additionalProperties: false,
            required: ["cert", "key"],
            description: "Serve HTTPS with this certificate and key (PEM files, relative to this file)",
            properties: { cert: reference, key: reference }
          },
          tokens: {
            type: "array",
            description: "API tokens (relais token create prints one): with none, the API is open on loopback only",
            items: {
              type: "object",
              additionalProperties: false,
              required: ["name", "hash", "scopes"],
              properties: {
                name: { type: "string", pattern: TOKEN_NAME.source },
                hash: { type: "string", pattern: TOKEN_HASH.source, description: "sha256:<hex> of the token (never the token itself)" },
                scopes: { type: "array", minItems: 1, items: { enum: [...tokenScopes] }, description: "read (GET), run (start and resume runs), admin (everything)" }
              }
            }
          },
          webhooks: {
            type: "object",
            description: "Plugins' webhooks received at POST /hooks/<plugin> (OAuth client credentials at POST /hooks/<plugin>/token)",
            propertyNames: { enum: plugins.filter((p) => p.trigger?.webhook !== undefined).map((p) => p.name) },
            additionalProperties: {
              type: "object",
              additionalProperties: false,
              required: ["clientId", "clientSecret"],
              properties: {
                clientId: { type: "string", description: "The OAuth client id the sender authenticates as" },
                clientSecret: {
                  description: "Its secret: { env: NAME } or { file: path }, never the text",
                  oneOf: [
                    { type: "object", additionalProperties: false, properties: { env: { type: "string" } }, required: ["env"] },
                    { type: "object", additionalProperties: false, properties: { file: { type: "string" } }, required: ["file"] }
                  ]
                },
                settings: { type: "object", description: "The plugin's own settings of its webhook (see the plugin's documentation)" },
                debounce: { type: ["string", "number"], description: "How long a message waits for a newer one about the same object (default 2s)" },
                tokenLifetime: { type: ["string", "number"], description: "How long an access token lives (default 10m)" }
              }
            }
          }
        }
      },
      profiles: {
        type: "object",
        propertyNames: { pattern: PROFILE_NAME.source },
        additionalProperties: {
          type: "object",
          additionalProperties: false,
          properties: {
            production: { type: "boolean", description: "A production profile is only used when named (--profile or RELAIS_PROFILE)" },
            description: { type: "string" },
            ...sections
          }
        }
      }
    },
    ...(Object.keys(defs).length > 0 ? { $defs: defs } : {})
  }
}

// -----------------------------------------------------------------------------
// The run store
// -----------------------------------------------------------------------------

/**
 * The client secret of a webhook of `serve.webhooks` (`{ env: NAME }` or `{ file: path }`,
 * relative to the file).
 *
 * @since 0.1.0
 */
export const webhookSecretOf = (
  config: ConfigFile,
  spec: WebhookSpec
): Effect.Effect<string, ConfigError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const path = `serve.webhooks.${spec.plugin}.clientSecret`
    const value = spec.clientSecret
    const fail = (where: Source.Pos, message: string) =>
      new ConfigError({ problems: [new ConfigProblem({ file: config.file, line: where.line, column: where.column, path, message })] })
    if (!isReference(value) || value.entries.length !== 1) return yield* fail(value.pos, "expected { env: NAME } or { file: path }")
    const [entry] = value.entries
    const target = entry!.value
    const text = target.kind === "scalar" && (typeof target.value === "string" || typeof target.value === "number") ? String(target.value).trim() : ""
    if (entry!.key === "env") {
      if (!ENV_NAME.test(text)) return yield* fail(target.pos, "expected the name of an environment variable (letters, digits and _)")
      const read = yield* readEnv(text)
      if (Option.isNone(read) || read.value === "") return yield* fail(value.pos, `the environment variable ${text} is not set`)
      return read.value
    }
    const fs = yield* FileSystem.FileSystem
    const nodePath = yield* Path.Path
    const bytes = yield* Effect.either(fs.readFile(nodePath.resolve(config.directory, text)))
    if (Either.isLeft(bytes)) return yield* fail(value.pos, `cannot read ${text}: ${Files.problem(bytes.left)}`)
    const decoded = Source.decode(bytes.right)
    if ("problem" in decoded) return yield* fail(value.pos, `${text}: ${decoded.problem.message}`)
    const secret = decoded.text.replace(/^\uFEFF/, "").replace(/\r?\n$/, "")
    if (secret === "") return yield* fail(value.pos, `${text} is empty`)
    return secret
  })

/**
 * The store the configuration file names, its password read (`{ env: NAME }` or
 * `{ file: path }`, relative to the file). None when the file names none.
 *
 * @since 0.1.0
 */
export const storeOf = (
  config: ConfigFile
): Effect.Effect<
  Option.Option<{ readonly url: string; readonly password?: string | undefined; readonly from: string }>,
  ConfigError,
  FileSystem.FileSystem | Path.Path
> =>
  Effect.gen(function*() {
    const spec = config.store
    if (spec === undefined) return Option.none()
    const from = `${config.file}:${spec.at.line ?? 0}:${spec.at.column ?? 0} store`
    const fail = (where: Source.Pos, path: string, message: string) =>
      new ConfigError({ problems: [new ConfigProblem({ file: config.file, line: where.line, column: where.column, path, message })] })
    const value = spec.password
    if (value === undefined) return Option.some({ url: spec.url, from })
    if (value.kind === "scalar" && typeof value.value === "string" && value.value !== "") {
      return Option.some({ url: spec.url, password: value.value, from })
    }
    if (!isReference(value) || value.entries.length !== 1) {
      return yield* fail(value.pos, "store.password", "expected { env: NAME }, { file: path } or the password as text")
    }
    const [entry] = value.entries
    const target = entry!.value
    const text = target.kind === "scalar" && (typeof target.value === "string" || typeof target.value === "number") ? String(target.value).trim() : ""
    if (entry!.key === "env") {
      if (!ENV_NAME.test(text)) return yield* fail(target.pos, "store.password.env", "expected the name of an environment variable (letters, digits and _)")
      const read = yield* readEnv(text)
      if (Option.isNone(read)) return yield* fail(value.pos, "store.password", `the environment variable ${text} is not set`)
      return Option.some({ url: spec.url, password: read.value, from })
    }
    const fs = yield* FileSystem.FileSystem
    const nodePath = yield* Path.Path
    const bytes = yield* Effect.either(fs.readFile(nodePath.resolve(config.directory, text)))
    if (Either.isLeft(bytes)) return yield* fail(value.pos, "store.password", `cannot read ${text}: ${Files.problem(bytes.left)}`)
    const decoded = Source.decode(bytes.right)
    if ("problem" in decoded) return yield* fail(value.pos, "store.password", `${text}: ${decoded.problem.message}`)
    const password = decoded.text.replace(/^\uFEFF/, "").replace(/\r?\n$/, "")
    if (password === "") return yield* fail(value.pos, "store.password", `${text} is empty`)
    return Option.some({ url: spec.url, password, from })
  })
