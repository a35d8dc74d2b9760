/**
 * `relais config`: which configuration file and profile a run would use, and for each plugin
 * (the built-in ones and those of `plugins:`) its fields and where each value comes from (never
 * the values of secrets, never any value but the address the plugin declares), or what is
 * missing, located. Exit 0 when every plugin is configured, 4 otherwise.
 *
 * @since 0.1.0
 */
import { Plugin, PluginConfig } from "@relais/core"
import { Effect, Either, type Option } from "effect"
import * as Config from "../Config.js"
import * as ExitCode from "../ExitCode.js"
import * as Output from "../Output.js"
import * as Common from "./Common.js"

interface FieldLine {
  readonly path: string
  readonly secret: boolean
  readonly optional: boolean
  /** Where its value comes from, or `undefined` when it is not set. */
  readonly source: string | undefined
}

/** Each field of the plugin's schema with its source; a map of values (connections) lists its entries. */
const fieldLines = (plugin: Plugin.Plugin, sources: PluginConfig.Sources): ReadonlyArray<FieldLine> => {
  if (plugin.config === undefined) return []
  const lines: Array<FieldLine> = []
  const shown = new Set<string>()
  for (const field of PluginConfig.fields(plugin.config)) {
    const path = field.path.join(".")
    const inside = Object.keys(sources).filter((key) => key === path || key.startsWith(`${path}.`))
    if (inside.length === 0) lines.push({ path, secret: field.secret, optional: field.optional, source: undefined })
    for (const key of inside) {
      shown.add(key)
      lines.push({ path: key, secret: field.secret, optional: field.optional, source: sources[key] })
    }
  }
  for (const [key, source] of Object.entries(sources)) {
    if (!shown.has(key)) lines.push({ path: key, secret: false, optional: true, source })
  }
  return lines
}

/** The address the plugin says its configuration points at (plugin code: a failure shows nothing). */
const endpointOf = (plugin: Plugin.Plugin, config: unknown): string | undefined => {
  try {
    return plugin.endpoint?.(config)
  } catch {
    return undefined
  }
}

/**
 * The handler of `relais config`.
 *
 * @since 0.1.0
 */
export const handler = (flags: {
  readonly profile: Option.Option<string>
  readonly config: Option.Option<string>
  readonly json: boolean
}) =>
  Effect.gen(function*() {
    const registry = yield* Plugin.PluginRegistry
    const { target, warnings } = yield* Config.resolve({ profile: flags.profile, configFile: flags.config })
    for (const warning of warnings) yield* Output.warn(warning.toString())
    const plugins = registry.plugins.flatMap((plugin) => {
      const state = target.plugins.get(plugin.name)
      return state === undefined ? [] : [{ plugin, state }]
    })
    const complete = plugins.every(({ state }) => Either.isRight(state))
    if (flags.json) {
      yield* Output.out(JSON.stringify({
        type: "config",
        configFile: target.configFile ?? null,
        profile: target.profile ?? null,
        chosenBy: target.chosenBy ?? null,
        production: target.production,
        plugins: plugins.map(({ plugin, state }) => ({
          name: plugin.name,
          label: Plugin.label(plugin),
          ...Either.match(state, {
            onLeft: (error) => ({ configured: false, error: error.message }),
            onRight: ({ config, sources }) => ({
              configured: true,
              endpoint: endpointOf(plugin, config) ?? null,
              fields: fieldLines(plugin, sources).map((f) => ({ ...f, source: f.source ?? null }))
            })
          })
        }))
      }))
    } else {
      const output = yield* Output.Output
      const style = output.styleOut
      const width = Math.max(14, ...plugins.map(({ plugin }) => Plugin.label(plugin).length + 2))
      const describe = (plugin: Plugin.Plugin, state: (typeof plugins)[number]["state"]): Array<string> =>
        Either.match(state, {
          onLeft: (error): Array<string> => [
            `${Plugin.label(plugin).padEnd(width)}${style.red("not configured")}`,
            ...error.message.split("\n").map((l) => `  ${l}`)
          ],
          onRight: ({ config, sources }): Array<string> => {
            const fields = fieldLines(plugin, sources)
            const column = Math.max(12, ...fields.map((f) => f.path.length + 2))
            return [
              `${Plugin.label(plugin).padEnd(width)}${
                plugin.config === undefined ? style.dim("no configuration needed") : endpointOf(plugin, config) ?? "configured"
              }`,
              ...fields.map((f) =>
                `  ${f.path.padEnd(column)}${f.source !== undefined ? `set, from ${f.source}` : style.dim(f.optional ? "not set (optional)" : "not set")}`
              )
            ]
          }
        })
      yield* Output.out(
        [
          `${"configuration".padEnd(width)}${target.configFile ?? `(none: no ${Config.defaultFileName} here)`}`,
          `${"target".padEnd(width)}${
            target.kind === "profile" ? `profile ${target.profile} (chosen by ${target.chosenBy})` : "environment variables (no profile chosen)"
          }`,
          `${"production".padEnd(width)}${target.production ? style.red("YES") : "no"}`,
          ...plugins.flatMap(({ plugin, state }) => describe(plugin, state))
        ].join("\n")
      )
    }
    yield* ExitCode.set(complete ? ExitCode.succeeded : ExitCode.environment)
  }).pipe(Common.provideRegistry({ sandbox: false, configFile: flags.config }), Common.jsonErrors(flags.json))
