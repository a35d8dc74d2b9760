/**
 * Loading the plugins of `plugins:` in `relais.config.yaml`, beside the built-in ones, into the
 * one registry every command works from.
 *
 * An entry is a built-in's name (to pass it options), an npm package name (resolved from the
 * configuration file's directory: `node_modules/<name>/package.json`, its `exports` with the
 * `import`/`node`/`default` conditions, else `main`), or a relative path to a built ES module
 * (`./plugins/esign/index.js`). The module's default export, or its export named `plugin`, is a
 * plugin (`Plugin.make({...})`) or a factory `(options) => plugin` (it may return a promise).
 *
 * The built-ins are on by default, in their order, then the loaded plugins in the order of the
 * list. Every problem is reported at its entry (`file:line:col`), naming the plugin, as a
 * `PluginLoadError` (exit 4): a module that cannot be found; no plugin export (and what was
 * found instead); a module or factory that throws (its message, never a stack trace); a name
 * that is invalid or already taken; a step outside the plugin's namespace; a plugin API version
 * missing or of another major.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import { Plugin, Step, Suggest } from "@relais/core"
import { Effect, Option } from "effect"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as NodePath from "node:path"
import * as Url from "node:url"
import * as Config from "./Config.js"
import { type ConfigError, ConfigProblem, PluginLoadError } from "./Errors.js"
import * as Plugins from "./Plugins.js"

/**
 * What the commands pass: the run's options for the plugin factories, and `--config`.
 *
 * @since 0.1.0
 */
export interface Options extends Plugins.Options {
  /** `--config`; absent, `RELAIS_CONFIG` or `./relais.config.yaml` (when there is one). */
  readonly configFile?: Option.Option<string> | undefined
}

/** A problem of one entry, said once, at the entry. */
class EntryProblem {
  constructor(readonly reason: string, readonly name?: string) {}
}

const describe = (value: unknown): string => {
  if (value === null) return "null"
  if (Array.isArray(value)) return `a list of ${value.length} item${value.length === 1 ? "" : "s"}`
  switch (typeof value) {
    case "function":
      return "a function"
    case "object": {
      const keys = Object.keys(value as object)
      return keys.length === 0 ? "an empty object" : `an object with ${keys.slice(0, 8).join(", ")}${keys.length > 8 ? ", ..." : ""}`
    }
    case "string":
      return `a text (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)})`
    case "undefined":
      return "undefined"
    default:
      return `a ${typeof value}`
  }
}

/** The message of something thrown, first line only (never a stack trace). */
const thrown = (error: unknown): string => {
  const message = error instanceof Error ? error.message : typeof error === "string" ? error : describe(error)
  return (message.split("\n")[0] ?? "").trim() || (error instanceof Error ? error.name : "an error without a message")
}

const isRelative = (spec: string) => spec.startsWith("./") || spec.startsWith("../") || NodePath.isAbsolute(spec)

const PACKAGE_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/

/** The file a package.json's `exports` gives for a subpath (`.` or `./x`), with Node's conditions for `import`. */
const fromExports = (exports: unknown, subpath: string): string | null | undefined => {
  const conditions = ["node", "import", "default"]
  const target = (value: unknown): string | null | undefined => {
    if (typeof value === "string") return value
    if (value === null) return null
    if (Array.isArray(value)) {
      for (const item of value) {
        const found = target(item)
        if (found !== undefined) return found
      }
      return undefined
    }
    if (typeof value === "object") {
      for (const [key, inner] of Object.entries(value as object)) {
        if (conditions.includes(key)) {
          const found = target(inner)
          if (found !== undefined) return found
        }
      }
    }
    return undefined
  }
  if (typeof exports === "string" || Array.isArray(exports)) return subpath === "." ? target(exports) : undefined
  if (exports === null || typeof exports !== "object") return undefined
  const keys = Object.keys(exports)
  const bySubpath = keys.length > 0 && keys.every((k) => k.startsWith("."))
  if (!bySubpath) return subpath === "." ? target(exports) : undefined
  return Object.prototype.hasOwnProperty.call(exports, subpath) ? target((exports as Record<string, unknown>)[subpath]) : undefined
}

const readJson = (file: string): unknown => JSON.parse(Fs.readFileSync(file, "utf8"))

/** The entry file of a package directory (its `exports`, else `main`, else `index.js`). */
const packageEntry = (directory: string, subpath: string, name: string): string => {
  const manifest = NodePath.join(directory, "package.json")
  let json: Record<string, unknown> = {}
  if (Fs.existsSync(manifest)) {
    try {
      json = readJson(manifest) as Record<string, unknown>
    } catch (error) {
      throw new EntryProblem(`its package.json cannot be read: ${thrown(error)}`)
    }
  }
  if (json.exports !== undefined) {
    const target = fromExports(json.exports, subpath)
    if (typeof target !== "string") {
      throw new EntryProblem(
        `the package ${name} does not export ${subpath === "." ? "its root" : subpath} for import (its package.json "exports" has no "import" or "default" entry for "${subpath}")`
      )
    }
    return NodePath.resolve(directory, target)
  }
  if (subpath !== ".") return NodePath.resolve(directory, subpath)
  return NodePath.resolve(directory, typeof json.main === "string" && json.main !== "" ? json.main : "index.js")
}

/** The file of an entry: a path relative to the configuration file, or a package found from its directory. */
const resolveFile = (spec: string, directory: string): string => {
  if (isRelative(spec)) {
    const file = NodePath.resolve(directory, spec)
    const stat = Fs.statSync(file, { throwIfNoEntry: false })
    if (stat === undefined) throw new EntryProblem(`module not found: there is no ${file} (a path is relative to the configuration file's directory)`)
    if (stat.isDirectory()) return packageEntry(file, ".", spec)
    return file
  }
  const parts = spec.split("/")
  const name = spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!
  const rest = parts.slice(spec.startsWith("@") ? 2 : 1)
  if (!PACKAGE_NAME.test(name)) {
    throw new EntryProblem(`"${spec}" is neither a built-in plugin (${Plugins.builtins.map((b) => b.name).join(", ")}), a package name, nor a ./relative path`)
  }
  for (let dir = directory;;) {
    const candidate = NodePath.join(dir, "node_modules", name)
    if (Fs.existsSync(NodePath.join(candidate, "package.json"))) return packageEntry(candidate, rest.length > 0 ? `./${rest.join("/")}` : ".", name)
    const parent = NodePath.dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  const suggestions = Suggest.closest(spec, Plugins.builtins.map((b) => b.name))
  throw new EntryProblem(
    `module not found: no package ${name} in node_modules of ${directory} or a directory above it${
      suggestions.length > 0 ? ` (did you mean the built-in plugin "${suggestions[0]}"?)` : `; install it there (npm install ${name})`
    }`
  )
}

/**
 * Where the entry point (an ES module) may leave its own `import`, for code that cannot use
 * `import()` itself: `globalThis[Symbol.for("@relais/runner/import")] = (url) => import(url)`.
 *
 * @since 0.1.0
 */
export const importHook: symbol = Symbol.for("@relais/runner/import")

/**
 * Import an ES module. The bundled binary runs its code through `vm.Script` (for V8's code
 * cache, `cli/CompileCache.ts`), where Node 20 has no `import()` without an experimental flag:
 * there the entry point's {@link importHook} is used when it has set one, else `require`, which
 * loads ES modules on Node 20.19+ (except a module using top-level await, which says so).
 */
const importModule = async (file: string): Promise<Record<string, unknown>> => {
  const url = Url.pathToFileURL(file).href
  const hook = (globalThis as Record<symbol, unknown>)[importHook]
  if (typeof hook === "function") return await (hook as (url: string) => Promise<Record<string, unknown>>)(url)
  try {
    return await import(url) as Record<string, unknown>
  } catch (error) {
    if ((error as { readonly code?: unknown } | null)?.code !== "ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING") throw error
    return createRequire(file)(file) as Record<string, unknown>
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value)

/** What a value that should be a plugin is instead, or nothing when it is one. */
const notAPlugin = (value: unknown): string | undefined => {
  if (!isObject(value)) return describe(value)
  const missing = [
    typeof value.name !== "string" ? "name" : undefined,
    typeof value.description !== "string" ? "description" : undefined,
    !Array.isArray(value.steps) ? "steps" : undefined
  ].filter((m) => m !== undefined)
  return missing.length > 0 ? `${describe(value)} (no ${missing.join(", no ")})` : undefined
}

const expected = "expected a plugin (Plugin.make({ name, description, steps }) from @relais/core) or a factory (options) => plugin"

/** Load one entry's plugin and check it, or throw the entry's problem. */
const loadEntry = async (entry: Config.PluginEntry, directory: string): Promise<Plugin.Plugin> => {
  const file = resolveFile(entry.use, directory)
  if (!Fs.existsSync(file)) throw new EntryProblem(`module not found: ${file} does not exist (is the plugin built?)`)
  let module: Record<string, unknown>
  try {
    module = await importModule(file)
  } catch (error) {
    const code = (error as { readonly code?: unknown } | null)?.code
    throw new EntryProblem(
      code === "ERR_REQUIRE_ASYNC_MODULE"
        ? "it uses top-level await, which this relais cannot load: move the awaited work into the plugin's factory"
        : error instanceof SyntaxError || (typeof code === "string" && code.startsWith("ERR_"))
        ? `it could not be loaded: ${error instanceof SyntaxError ? "SyntaxError: " : ""}${thrown(error)}`
        : `it threw while loading: ${thrown(error)}`
    )
  }
  const exported = module.default !== undefined ? module.default : module.plugin
  if (exported === undefined) {
    const names = Object.keys(module).filter((k) => k !== "__esModule")
    throw new EntryProblem(
      `no valid plugin export: ${names.length > 0 ? `the module exports ${names.join(", ")}` : "the module exports nothing"}, and neither a default export nor "plugin"; ${expected}`
    )
  }
  let plugin: unknown = exported
  if (typeof exported === "function") {
    try {
      plugin = await (exported as (options: unknown) => unknown)(entry.options ?? {})
    } catch (error) {
      throw new EntryProblem(`its factory threw: ${thrown(error)}`)
    }
    const found = notAPlugin(plugin)
    if (found !== undefined) throw new EntryProblem(`no valid plugin export: its factory returned ${found}; ${expected}`)
  } else {
    const found = notAPlugin(exported)
    if (found !== undefined) {
      throw new EntryProblem(`no valid plugin export: its ${module.default !== undefined ? "default export" : "export \"plugin\""} is ${found}; ${expected}`)
    }
    if (entry.options !== undefined) {
      throw new EntryProblem(`options were given, but the module exports a plugin, not a factory taking options`, (exported as Plugin.Plugin).name)
    }
  }
  return plugin as Plugin.Plugin
}

/** The contract checks relais makes on a loaded plugin (beyond the registry's). */
const checkPlugin = (plugin: Plugin.Plugin): string | undefined => {
  if (plugin.apiVersion === undefined) {
    return `it does not declare the plugin API version it was built for (apiVersion): define it with Plugin.make from @relais/core (plugin API ${Plugin.apiVersion})`
  }
  if (typeof plugin.apiVersion !== "number" || Math.trunc(plugin.apiVersion) !== Plugin.apiVersion) {
    return `it was built for version ${String(plugin.apiVersion)} of the plugin API, and this relais implements version ${Plugin.apiVersion}; use a release of the plugin built for @relais/core with plugin API ${Plugin.apiVersion}`
  }
  if (!Plugin.isValidName(plugin.name)) {
    return `"${plugin.name}" is not a valid plugin name: lower case letters, digits and dashes, starting with a letter (e.g. "esign")`
  }
  for (const step of plugin.steps as ReadonlyArray<unknown>) {
    const name = isObject(step) ? step.name : undefined
    if (typeof name !== "string") return `one of its steps is ${describe(step)}, not a step (Step.make from @relais/core)`
    if (!name.startsWith(`${plugin.name}/`)) {
      return `its step "${name}" is outside its namespace: a plugin only registers steps under "${plugin.name}/"`
    }
    if (!Step.isValidName(name)) return `its step "${name}" has an invalid name: step names look like "${plugin.name}/step-name" (lower case, digits, dashes)`
  }
  return undefined
}

/**
 * The plugins: the built-ins (with the options of their entries) and those of `plugins:`, or
 * every problem, located at its entry.
 *
 * @since 0.1.0
 */
export const plugins = (
  file: Option.Option<Config.ConfigFile>,
  options: Plugins.Options
): Effect.Effect<ReadonlyArray<Plugin.Plugin>, PluginLoadError> =>
  Effect.gen(function*() {
    if (Option.isNone(file) || file.value.plugins.length === 0) return Plugins.plugins(options)
    const configFile = file.value
    const entries = configFile.plugins
    const isBuiltin = (entry: Config.PluginEntry) => Plugins.builtins.some((b) => b.name === entry.use)
    const problems: Array<ConfigProblem> = []
    const problem = (entry: Config.PluginEntry, plugin: string, reason: string) =>
      problems.push(
        new ConfigProblem({ file: configFile.file, line: entry.at.line, column: entry.at.column, path: entry.at.path, message: `plugin ${plugin}: ${reason}` })
      )
    const named = (entry: Config.PluginEntry, name?: string) =>
      name === undefined || name === entry.use ? `"${entry.use}"` : `"${name}" (${entry.use})`

    // The built-ins, with the options of their entries.
    const builtinOptions = new Map<string, Config.PluginEntry>()
    for (const entry of entries) {
      if (!isBuiltin(entry)) continue
      const earlier = builtinOptions.get(entry.use)
      if (earlier !== undefined) problem(entry, named(entry), `listed twice (first at ${earlier.at.path}); give its options in one entry`)
      else builtinOptions.set(entry.use, entry)
    }
    const loaded: Array<Plugin.Plugin> = []
    const takenBy = new Map<string, string>()
    for (const builtin of Plugins.builtins) {
      const entry = builtinOptions.get(builtin.name)
      try {
        loaded.push(builtin.make(entry?.options ?? {}, options))
        takenBy.set(builtin.name, `the built-in plugin "${builtin.name}"`)
      } catch (error) {
        if (entry === undefined) throw error
        problem(entry, named(entry), `its factory threw with these options: ${thrown(error)}`)
      }
    }

    for (const entry of entries) {
      if (isBuiltin(entry)) continue
      const result = yield* Effect.promise(() =>
        loadEntry(entry, configFile.directory).then(
          (plugin) => ({ plugin }),
          (error: unknown) => ({ error })
        )
      )
      if ("error" in result) {
        const error = result.error
        if (error instanceof EntryProblem) problem(entry, named(entry, error.name), error.reason)
        else problem(entry, named(entry), `it could not be loaded: ${thrown(error)}`)
        continue
      }
      const plugin = result.plugin
      const refused = checkPlugin(plugin)
      if (refused !== undefined) {
        problem(entry, named(entry, plugin.name), refused)
        continue
      }
      const taken = takenBy.get(plugin.name)
      if (taken !== undefined) {
        problem(entry, named(entry, plugin.name), `the name "${plugin.name}" is already taken by ${taken}`)
        continue
      }
      takenBy.set(plugin.name, `the plugin of ${entry.at.path} (${entry.use})`)
      loaded.push(plugin)
    }
    if (problems.length > 0) return yield* new PluginLoadError({ problems: Config.inFileOrder(problems) })
    return loaded
  })

/**
 * The registry of the built-in plugins and of those the configuration file lists (the file is
 * read only when there is one). What the registry still refuses (two plugins registering the
 * same step) is reported the same way.
 *
 * @since 0.1.0
 */
export const registry = (
  options: Options
): Effect.Effect<Plugin.Registry, ConfigError | PluginLoadError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const file = yield* Config.load(options.configFile ?? Option.none())
    const list = yield* plugins(file, options)
    return yield* Plugin.makeRegistry(list).pipe(
      Effect.mapError((error) =>
        new PluginLoadError({
          problems: [new ConfigProblem({ file: Option.match(file, { onNone: () => "plugins", onSome: (f) => f.file }), message: error.message })]
        })
      )
    )
  })
