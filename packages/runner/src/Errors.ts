/**
 * The errors of the `relais` application itself (usage, configuration, plugins, files). The
 * errors of the YAML loader (`yaml/Load.ts`) and of core (`@relais/core` `Errors`) are rendered
 * next to these by `Cli.ts`; `ExitCode.ofError` maps every one of them to an exit code.
 *
 * Every message is written for the person at the terminal: what is wrong, where, and what to do.
 * None of them ever holds a secret value (only the names of variables and files).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * The command line asks for something that cannot work (a malformed `--input`, an unknown
 * `--fault` target, `--profile` with `--sandbox`...).
 *
 * @since 0.1.0
 */
export class UsageError extends Schema.TaggedError<UsageError>("@relais/runner/UsageError")("UsageError", {
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

/**
 * One located problem in the configuration.
 *
 * @since 0.1.0
 */
export class ConfigProblem extends Schema.Class<ConfigProblem>("@relais/runner/ConfigProblem")({
  /** The configuration file, or `environment` for variables read without a file. */
  file: Schema.String,
  /** 1-based, when the problem has a place in the file. */
  line: Schema.optional(Schema.Number),
  column: Schema.optional(Schema.Number),
  /** The key path in the file, e.g. `profiles.preprod.esign.url`. */
  path: Schema.optional(Schema.String),
  message: Schema.String
}) {
  /** `relais.config.yaml:7:12: profiles.preprod.esign.url: message` */
  override toString(): string {
    const where = this.line !== undefined ? `${this.file}:${this.line}:${this.column ?? 1}` : this.file
    return `${where}: ${this.path !== undefined && this.path !== "" ? `${this.path}: ` : ""}${this.message}`
  }
}

/**
 * The configuration file or the environment is wrong: every problem found, located.
 *
 * @since 0.1.0
 */
export class ConfigError extends Schema.TaggedError<ConfigError>("@relais/runner/ConfigError")("ConfigError", {
  problems: Schema.Array(ConfigProblem)
}) {
  override get message(): string {
    return this.problems.map((p) => p.toString()).join("\n")
  }
}

/**
 * A plugin the workflow uses has no configuration (no profile section, no environment
 * variables). The message names the variables or the profile keys to set.
 *
 * @since 0.1.0
 */
export class MissingCredentials extends Schema.TaggedError<MissingCredentials>("@relais/runner/MissingCredentials")(
  "MissingCredentials",
  {
    /** The plugin's label (`Plugin.label`). */
    provider: Schema.String,
    reason: Schema.String
  }
) {
  override get message(): string {
    return this.reason
  }
}

/**
 * A plugin's services or sandbox cannot be set up with the values given (a URL that is not
 * HTTPS, an empty token, a port in use, a sandbox that cannot be loaded, a plugin without a
 * sandbox under `--sandbox`...).
 *
 * @since 0.1.0
 */
export class ProviderSetupError extends Schema.TaggedError<ProviderSetupError>("@relais/runner/ProviderSetupError")(
  "ProviderSetupError",
  {
    /** The plugin's label (`Plugin.label`). */
    provider: Schema.String,
    /** Where the values came from ("profile preprod", "environment variables", "sandbox"). */
    source: Schema.String,
    reason: Schema.String,
    /** True when the user can fix it on the command line (a bad `--fault`): exit 2 rather than 4. */
    usage: Schema.optionalWith(Schema.Boolean, { default: () => false })
  }
) {
  override get message(): string {
    return `${this.provider} (${this.source}): ${this.reason}`
  }
}

/**
 * A run cannot be resumed against the target asked for: it was started against another one
 * (another profile, production, the sandbox).
 *
 * @since 0.1.0
 */
export class TargetMismatch extends Schema.TaggedError<TargetMismatch>("@relais/runner/TargetMismatch")(
  "TargetMismatch",
  {
    runId: Schema.String,
    started: Schema.String,
    requested: Schema.String,
    hint: Schema.String
  }
) {
  override get message(): string {
    return `run ${this.runId} was started against ${this.started}, not ${this.requested}: ${this.hint}`
  }
}

/**
 * A file the command reads or writes (an `--input-file`, the schema output) cannot be used.
 *
 * @since 0.1.0
 */
export class FileError extends Schema.TaggedError<FileError>("@relais/runner/FileError")("FileError", {
  file: Schema.String,
  reason: Schema.String,
  /** True when it is a file named on the command line (exit 2), false for the environment. */
  usage: Schema.optionalWith(Schema.Boolean, { default: () => true })
}) {
  override get message(): string {
    return `${this.file}: ${this.reason}`
  }
}

/**
 * A plugin listed under `plugins:` in the configuration file cannot be used: its module cannot
 * be found or loaded, exports no plugin, or declares a name, steps or a plugin API version that
 * relais refuses. Every problem is located at its entry and names the plugin.
 *
 * @since 0.1.0
 */
export class PluginLoadError extends Schema.TaggedError<PluginLoadError>("@relais/runner/PluginLoadError")(
  "PluginLoadError",
  {
    problems: Schema.Array(ConfigProblem)
  }
) {
  override get message(): string {
    return this.problems.map((p) => p.toString()).join("\n")
  }
}

/**
 * No worker is alive on a PostgreSQL store: a run submitted there would wait silently.
 *
 * @since 0.1.0
 */
export class NoWorkers extends Schema.TaggedError<NoWorkers>("@relais/runner/NoWorkers")("NoWorkers", {
  store: Schema.String
}) {
  override get message(): string {
    return `no relais worker is running on ${this.store}, so nothing would execute the run: start one with \`relais worker --store ${this.store}\` (and its credentials: PGPASSWORD or RELAIS_STORE), then try again`
  }
}
