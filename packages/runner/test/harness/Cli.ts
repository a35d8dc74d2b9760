/**
 * Running the `relais` CLI in tests: in-process (`Cli.main` with a captured output, a test
 * plugin registry and a fixed environment: fast, for most behaviour) or as a child process
 * (`node dist/bin.js`, the bundled binary a user runs, for what only a real process shows:
 * exit codes, signals, stdout/stderr, colours, no stack traces). The bundle is rebuilt first
 * when a source file is newer than it (`pnpm build` has usually done it already).
 *
 * Adding an end-to-end test of a workflow: write it with `workflowFile(dir, text)`, then
 * `inProcess(["run", file, "--store", db, ...], { plugins })` or
 * `child(["run", file, "--sandbox", ...])` for the real providers.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Plugin, Redactor } from "@relais/core"
import { ConfigProvider, Effect, Layer } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Cli from "../../src/Cli.js"
import * as Output from "../../src/Output.js"
import { binary, ensureBundle } from "./Bundle.js"

export { binary, ensureBundle }

export const packageDir = Path.resolve(import.meta.dirname, "../..")

/** A fresh temporary directory. */
export const tmpDir = (prefix = "relais-cli-"): string => Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))

/** Write a file in `dir` and return its path. */
export const writeFile = (dir: string, name: string, text: string): string => {
  const file = Path.join(dir, name)
  Fs.mkdirSync(Path.dirname(file), { recursive: true })
  Fs.writeFileSync(file, text)
  return file
}

export interface Result {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export interface InProcessOptions {
  /** The plugins of the registry (default: the application's own, from `Plugins.ts`). */
  readonly plugins?: ReadonlyArray<Plugin.Plugin> | undefined
  /** The environment `Config` reads (nothing else leaks in from the test process). */
  readonly env?: Readonly<Record<string, string>> | undefined
  readonly interactive?: boolean | undefined
}

/** The layers `Cli.main` runs on in-process, with the captured output. */
export const edge = (options: InProcessOptions = {}) => {
  const capture = Output.capture({ interactive: options.interactive === true })
  const registry = options.plugins !== undefined ? Plugin.layer(options.plugins) : Layer.empty
  const layer = Layer.mergeAll(NodeContext.layer, capture.layer, Layer.orDie(registry)).pipe(
    Layer.provideMerge(Redactor.layer)
  )
  return { layer, capture }
}

/** Run `relais <args>` in-process and return its exit code and output. */
export const inProcess = (args: ReadonlyArray<string>, options: InProcessOptions = {}): Effect.Effect<Result> => {
  const { capture, layer } = edge(options)
  return Cli.main(["node", "relais", ...args]).pipe(
    Effect.provide(layer),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(options.env ?? {})))),
    Effect.map((code) => ({ code, stdout: capture.stdout(), stderr: capture.stderr() }))
  )
}

/** The environment of a child: no provider variables of the developer's shell leak in. */
const childEnv = (env: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: process.env.HOME ?? Os.tmpdir(),
  ...env
})

export interface ChildOptions {
  readonly env?: Readonly<Record<string, string>> | undefined
  readonly cwd?: string | undefined
}

/** Start `relais <args>` (the bundled binary) as a child process. */
export const spawnChild = (args: ReadonlyArray<string>, options: ChildOptions = {}): ChildProcess => {
  ensureBundle()
  return spawn(process.execPath, [binary, ...args], {
    cwd: options.cwd ?? packageDir,
    env: childEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"]
  })
}

/** Collect a child's output and exit code. */
export const collect = (child: ChildProcess, timeoutMs = 120_000): Promise<Result & { readonly signal: NodeJS.Signals | null }> =>
  new Promise((resolve, reject) => {
    let stdout = ""
    let stderr = ""
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8")
    })
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
    })
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`relais did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, timeoutMs)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, signal, stdout, stderr })
    })
  })

/**
 * `relais <args>` in a child process, to its end. The working directory is the package's
 * unless `cwd` says otherwise.
 */
export const child = (args: ReadonlyArray<string>, options: ChildOptions = {}) => collect(spawnChild(args, options))

/** Resolve once a child's stderr shows `pattern`; reject if it exits first. */
export const waitForStderr = (process: ChildProcess, pattern: RegExp, timeoutMs = 120_000): Promise<void> =>
  new Promise((resolve, reject) => {
    let seen = ""
    const timer = setTimeout(() => reject(new Error(`no ${pattern} on stderr within ${timeoutMs} ms:\n${seen}`)), timeoutMs)
    process.stderr?.on("data", (chunk: Buffer) => {
      seen += chunk.toString("utf8")
      if (pattern.test(seen)) {
        clearTimeout(timer)
        resolve()
      }
    })
    process.on("close", () => {
      clearTimeout(timer)
      if (!pattern.test(seen)) reject(new Error(`relais exited before ${pattern}:\n${seen}`))
    })
  })

/** Wait until a child's stdout matches. */
export const waitForStdout = (process: ChildProcess, pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> =>
  new Promise((resolve, reject) => {
    let seen = ""
    const timer = setTimeout(() => reject(new Error(`no ${pattern} on stdout within ${timeoutMs} ms: ${seen}`)), timeoutMs)
    process.stdout?.on("data", (chunk: Buffer) => {
      seen += chunk.toString("utf8")
      const match = seen.match(pattern)
      if (match) {
        clearTimeout(timer)
        resolve(match)
      }
    })
  })

/** Every file of a SQLite store (the database, its WAL and shared memory), as text. */
export const storeBytes = (db: string): string =>
  [db, `${db}-wal`, `${db}-shm`, `${db}-journal`]
    .filter((f) => Fs.existsSync(f))
    .map((f) => Fs.readFileSync(f).toString("latin1"))
    .join("\n")

/** What a stack trace looks like in output. */
export const stackTrace = /\n\s+at .+[(:]\d+/
