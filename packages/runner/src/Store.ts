/**
 * Where the run history and the journal are: a SQLite file (the default, one process at a
 * time) or a PostgreSQL database shared by workers (`postgres://user:password@host:port/db`).
 *
 * The location is `--store`, else `RELAIS_STORE`, else the configuration file's `store:`, else
 * `.relais/relais.db`. A PostgreSQL URL's
 * password is a secret: registered with the redactor as soon as it is read, never shown (hints
 * and messages name `postgres://user@host:port/db`). Without a password in the URL,
 * `PGPASSWORD` gives it, as for PostgreSQL's own tools, so that the password need not be on a
 * command line.
 *
 * This module imports neither the engine nor a SQL driver.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import { Redactor } from "@relais/core"
import { Config, Effect, Option, Redacted } from "effect"
import { defaultStore } from "./cli/Commands.js"
import * as RelaisConfig from "./Config.js"
import { type ConfigError, UsageError } from "./Errors.js"

/**
 * @since 0.1.0
 */
export type Location =
  | { readonly kind: "sqlite"; readonly file: string; readonly explicit: boolean }
  | {
    readonly kind: "postgres"
    readonly url: Redacted.Redacted<string>
    /** The URL without its password. */
    readonly display: string
    readonly explicit: boolean
  }

/**
 * Whether a store location is a PostgreSQL URL.
 *
 * @since 0.1.0
 */
export const isPostgres = (text: string): boolean => /^postgres(ql)?:\/\//i.test(text)

/**
 * A PostgreSQL URL without its password.
 *
 * @since 0.1.0
 */
export const displayUrl = (url: URL): string =>
  `${url.protocol}//${url.username !== "" ? `${decodeURIComponent(url.username)}@` : ""}${url.host}${url.pathname}`

const readEnv = (name: string) =>
  Config.option(Config.string(name)).pipe(
    Effect.orElseSucceed(() => Option.none<string>()),
    Effect.map(Option.filter((s) => s !== ""))
  )

/**
 * Read a PostgreSQL URL: checked, its password (or `PGPASSWORD`) registered as a secret.
 *
 * @since 0.1.0
 */
export const parsePostgres = (
  text: string,
  from: string,
  password?: string | undefined
): Effect.Effect<Location & { readonly kind: "postgres" }, UsageError, Redactor.Redactor> =>
  Effect.gen(function*() {
    let url: URL
    try {
      url = new URL(text)
    } catch {
      // The text may hold a password: never quote it.
      return yield* new UsageError({
        reason: `${from}: not a valid PostgreSQL URL; expected postgres://user:password@host:port/database`
      })
    }
    const display = displayUrl(url)
    const redactor = yield* Redactor.Redactor
    if (url.password !== "") yield* redactor.register(decodeURIComponent(url.password))
    const problems: Array<string> = []
    if (url.hostname === "") problems.push("it names no host")
    if (url.pathname === "" || url.pathname === "/") problems.push("it names no database (postgres://user@host:port/database)")
    if (url.username === "") problems.push("it names no user (postgres://user@host:port/database)")
    if (problems.length > 0) return yield* new UsageError({ reason: `${from} ${display}: ${problems.join("; ")}` })
    if (password !== undefined) {
      yield* redactor.register(password)
      url.password = encodeURIComponent(password)
    }
    if (url.password === "") {
      const password = yield* readEnv("PGPASSWORD")
      if (Option.isSome(password)) {
        yield* redactor.register(password.value)
        url.password = encodeURIComponent(password.value)
      }
    }
    return { kind: "postgres", url: Redacted.make(url.toString()), display, explicit: true }
  })

/**
 * The store: `--store`, else `RELAIS_STORE`, else the `store:` of the configuration file
 * (`--config`, else `RELAIS_CONFIG`, else `./relais.config.yaml` if there is one), else
 * `.relais/relais.db`.
 *
 * @since 0.1.0
 */
export const locate = (
  flag: Option.Option<string>,
  configFile: Option.Option<string> = Option.none()
): Effect.Effect<Location, UsageError | ConfigError, Redactor.Redactor | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const given: Option.Option<Given> =
      Option.isSome(flag)
        ? Option.some({ text: flag.value, from: "--store" })
        : Option.map(yield* readEnv("RELAIS_STORE"), (text) => ({ text, from: "RELAIS_STORE" }))
    const chosen = Option.isSome(given) ? given : yield* fromConfig(configFile)
    if (Option.isNone(chosen)) return { kind: "sqlite", file: defaultStore, explicit: false }
    const { configured, from, password, text } = chosen.value
    if (isPostgres(text)) return { ...(yield* parsePostgres(text, from, password)), explicit: configured !== true }
    if (password !== undefined) {
      return yield* new UsageError({ reason: `${from}: a password only goes with a PostgreSQL URL (postgres://...), not with the SQLite file ${text}` })
    }
    // A store named by the configuration file is found without a flag: hints need none.
    return { kind: "sqlite", file: text, explicit: configured !== true }
  })

interface Given {
  readonly text: string
  readonly from: string
  readonly password?: string | undefined
  /** Named by the configuration file (found again without a flag). */
  readonly configured?: boolean | undefined
}

const fromConfig = (
  configFile: Option.Option<string>
): Effect.Effect<Option.Option<Given>, ConfigError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const config = yield* RelaisConfig.load(configFile)
    if (Option.isNone(config)) return Option.none()
    const found = yield* RelaisConfig.storeOf(config.value)
    return Option.map(found, (f): Given => ({ text: f.url, from: f.from, password: f.password, configured: true }))
  })

/**
 * What to show of a store: its file, or its URL without the password.
 *
 * @since 0.1.0
 */
export const describe = (location: Location): string => location.kind === "sqlite" ? location.file : location.display

/**
 * The `--store` flag that reaches the same store again, for hints (never with a password: it
 * comes from `PGPASSWORD` or `RELAIS_STORE` then).
 *
 * @since 0.1.0
 */
export const flag = (location: Location): string => {
  if (!location.explicit) return ""
  const text = describe(location)
  return ` --store ${/^[A-Za-z0-9_./:=@%+-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`}`
}
