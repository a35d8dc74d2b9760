/**
 * `relais sandbox`: serve the simulators of the plugins that have one (all of them, or those
 * named with `--plugin`) on loopback ports until Ctrl-C, and say how to reach them: each one's
 * address, the configuration that points its plugin at it (its credentials only open this local
 * simulator) and the environment variables that hold it. `--list` says what each sandbox
 * offers (its settings and a fault example) without starting any.
 *
 * @since 0.1.0
 */
import { Plugin, PluginConfig, Suggest } from "@relais/core"
import { Effect, Either, Option, Schema } from "effect"
import { UsageError } from "../Errors.js"
import { Output } from "../Output.js"
import * as Providers from "../Providers.js"
import * as Common from "./Common.js"

/**
 * The flags of `relais sandbox`.
 *
 * @since 0.1.0
 */
export interface Flags {
  readonly plugin: ReadonlyArray<string>
  readonly port: ReadonlyArray<string>
  readonly seed: Option.Option<number>
  readonly fault: ReadonlyArray<string>
  readonly sandboxSet: ReadonlyArray<string>
  readonly list: boolean
  readonly config: Option.Option<string>
  readonly json: boolean
}

/** The plugins named with `--plugin` (each must have a sandbox), else every plugin with one. */
const choose = (registry: Plugin.Registry, names: ReadonlyArray<string>): Either.Either<ReadonlyArray<Plugin.Plugin>, UsageError> => {
  const available = Providers.withSandbox(registry)
  if (names.length === 0) return Either.right(available)
  const chosen: Array<Plugin.Plugin> = []
  for (const name of names) {
    const plugin = available.find((p) => p.name === name)
    if (plugin === undefined) {
      const suggestion = Suggest.closest(name, available.map((p) => p.name))[0]
      return Either.left(new UsageError({
        reason: `--plugin ${name}: ${registry.plugin(name) !== undefined ? "this plugin has no sandbox" : "no such plugin"}; plugins with a sandbox: ${
          available.map((p) => p.name).join(", ") || "none"
        }${suggestion !== undefined ? ` (did you mean "${suggestion}"?)` : ""}`
      }))
    }
    if (!chosen.includes(plugin)) chosen.push(plugin)
  }
  return Either.right(chosen)
}

/** `--port <plugin>:<port>` flags, for the plugins chosen. */
const parsePorts = (
  flags: ReadonlyArray<string>,
  chosen: ReadonlyArray<Plugin.Plugin>
): Either.Either<Readonly<Record<string, number>>, UsageError> => {
  const ports: Record<string, number> = {}
  for (const flag of flags) {
    const colon = flag.lastIndexOf(":")
    const name = colon < 0 ? "" : flag.slice(0, colon).trim()
    const text = flag.slice(colon + 1).trim()
    const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN
    if (!chosen.some((p) => p.name === name)) {
      return Either.left(new UsageError({
        reason: `--port ${JSON.stringify(flag)}: expected <plugin>:<port> for a sandbox served here (${chosen.map((p) => p.name).join(", ") || "none"}), e.g. --port ${
          chosen[0]?.name ?? "<plugin>"
        }:8081`
      }))
    }
    if (!(port >= 0 && port <= 65535)) {
      return Either.left(new UsageError({ reason: `--port ${JSON.stringify(flag)}: a port is between 0 and 65535` }))
    }
    ports[name] = port
  }
  return Either.right(ports)
}

/** Faults and settings must aim at a sandbox served here. */
const checkServed = (
  chosen: ReadonlyArray<Plugin.Plugin>,
  faults: Providers.FaultRules,
  settings: Providers.SandboxSettings
): Either.Either<void, UsageError> => {
  for (const [flag, names] of [["--fault", Object.keys(faults)], ["--sandbox-set", Object.keys(settings)]] as const) {
    const other = names.find((name) => !chosen.some((p) => p.name === name))
    if (other !== undefined) {
      return Either.left(new UsageError({ reason: `${flag} ${other}:...: the ${other} sandbox is not served here; add --plugin ${other}` }))
    }
  }
  return Either.right(undefined)
}

/** A configuration value as one line of text (a JSON value for objects and lists). */
const text = (value: unknown): string => typeof value === "string" ? value : JSON.stringify(value)

/**
 * The configuration a sandbox hands back, field by field (encoded: a secret in clear, since
 * it only opens this local simulator), with the environment variable of each field.
 */
const configFields = (plugin: Plugin.Plugin, config: unknown) => {
  const schema = plugin.config
  if (schema === undefined) return { encoded: undefined, fields: [] }
  const encoded = Either.getOrUndefined(Schema.encodeEither(schema)(config))
  const fields = PluginConfig.fields(schema).flatMap((field) => {
    let value: unknown = encoded
    for (const key of field.path) value = value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined
    return value === undefined ? [] : [{ path: field.path.join("."), env: PluginConfig.envName(plugin.name, field.path), value: text(value) }]
  })
  return { encoded, fields }
}

const settingsOf = (sandbox: Plugin.Sandbox, given: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries((sandbox.settings ?? []).map((s) => [s.name, given[s.name] ?? s.default]))

/** `relais sandbox --list`: what each sandbox offers. */
const list = (sandboxes: ReadonlyArray<Providers.WithSandbox>, json: boolean) =>
  Effect.gen(function*() {
    const output = yield* Output
    if (json) {
      yield* output.writeOut(`${JSON.stringify({
        type: "sandboxes",
        sandboxes: sandboxes.map(({ plugin, sandbox }) => ({
          plugin: plugin.name,
          label: Plugin.label(plugin),
          description: sandbox.description,
          ...(sandbox.faultExample !== undefined ? { faultExample: sandbox.faultExample } : {}),
          settings: (sandbox.settings ?? []).map(({ default: byDefault, description, name, values }) => ({ name, description, values, default: byDefault }))
        }))
      })}\n`)
      return
    }
    const style = output.styleOut
    const lines = sandboxes.flatMap(({ plugin, sandbox }) => [
      `${style.bold(`${Plugin.label(plugin)} sandbox`)} ${style.dim(`(${plugin.name})`)}: ${sandbox.description}`,
      ...(sandbox.faultExample !== undefined ? [`  fault, e.g.  --fault "${plugin.name}:${sandbox.faultExample}"`] : []),
      ...(sandbox.settings ?? []).flatMap((s) => [
        `  --sandbox-set ${plugin.name}:${s.name}=<value>  (${s.values}; default ${s.default})`,
        `      ${s.description}`
      ]),
      ...((sandbox.settings ?? []).length === 0 ? ["  no settings"] : [])
    ])
    yield* output.writeOut(`${(lines.length > 0 ? lines : ["no plugin has a sandbox"]).join("\n")}\n`)
  })

/**
 * The handler of `relais sandbox`.
 *
 * @since 0.1.0
 */
export const handler = (flags: Flags) =>
  Effect.gen(function*() {
    const registry = yield* Plugin.PluginRegistry
    const chosen = yield* choose(registry, flags.plugin)
    const ports = yield* parsePorts(flags.port, chosen)
    const faults = yield* Providers.parseFaults(registry, flags.fault)
    const settings = yield* Providers.parseSettings(registry, flags.sandboxSet)
    yield* checkServed(chosen, faults, settings)
    const sandboxes = yield* Providers.loadSandboxes(chosen)
    if (flags.list) return yield* list(sandboxes, flags.json)
    for (const { plugin, sandbox } of sandboxes) yield* Providers.checkSettings(plugin, sandbox, settings[plugin.name] ?? {})
    const started = yield* Providers.startSandboxes(sandboxes, {
      seed: Option.getOrUndefined(flags.seed),
      faults,
      settings,
      ports
    })
    const output = yield* Output
    const served = started.map(({ plugin, running, sandbox }) => ({
      plugin,
      running,
      settings: settingsOf(sandbox, settings[plugin.name] ?? {}),
      faults: faults[plugin.name] ?? [],
      ...configFields(plugin, running.config)
    }))
    if (flags.json) {
      yield* output.writeOut(`${JSON.stringify({
        type: "sandbox",
        sandboxes: served.map((s) => ({
          plugin: s.plugin.name,
          label: Plugin.label(s.plugin),
          url: s.running.url,
          ...(s.running.summary !== undefined ? { summary: s.running.summary } : {}),
          settings: s.settings,
          faults: s.faults,
          ...(s.encoded !== undefined ? { config: s.encoded } : {}),
          env: Object.fromEntries(s.fields.map((f) => [f.env, f.value]))
        }))
      })}\n`)
    } else {
      const style = output.styleOut
      // Each sandbox: its configuration field by field, then its settings and faults.
      const rows = served.map((s) => [
        ...s.fields.map((f) => [f.path, f.value] as const),
        ...Object.entries(s.settings).map(([name, value]) => ["setting", `${name}=${value}`] as const),
        ...s.faults.map((rule) => ["fault", rule] as const)
      ])
      const width = Math.max(0, ...rows.flat().map(([label]) => label.length)) + 2
      const exports = served.filter((s) => s.fields.length > 0).map((s) =>
        `  export ${s.fields.map((f) => `${f.env}=${Common.shellWord(f.value)}`).join(" ")}`
      )
      yield* output.writeOut([
        ...served.flatMap((s, i) => [
          `${style.bold(`${Plugin.label(s.plugin)} sandbox`)}  ${s.running.url}`,
          ...rows[i]!.map(([label, value]) => `  ${label.padEnd(width)}${value}`)
        ]),
        ...(served.length === 0 ? ["no plugin has a sandbox"] : []),
        "",
        style.dim("These credentials only open the local simulators: they are not secrets."),
        ...(exports.length > 0 ? [style.dim("To run workflows against them from another shell (no profile):"), ...exports] : []),
        style.dim("Sandboxes built on the sandbox kit also serve an admin API at http://127.0.0.1:<port>/__sandbox/ (faults, requests, state, reset)."),
        "",
        "Press Ctrl-C to stop."
      ].join("\n") + "\n")
    }
    return yield* Effect.never.pipe(Effect.onInterrupt(() => output.writeErr("sandboxes stopped\n")))
  }).pipe(Effect.scoped, Common.jsonErrors(flags.json), Common.provideRegistry({ sandbox: true, configFile: flags.config }))
