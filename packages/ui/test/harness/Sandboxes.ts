/**
 * The plugins' sandboxes as a user starts them, each in its own process: `relais sandbox
 * --json --plugin <name>` (the runner's bundle) on a free loopback port, ready once it prints
 * its JSON line (never a sleep). What a test needs of them goes through their admin API under
 * `/__sandbox/` (faults, request log, state), which is never faulted nor logged.
 */
import { type ChildProcess } from "node:child_process"
import { spawnChild, waitForStdout } from "../../../runner/test/harness/Cli.js"

export interface Sandbox {
  readonly plugin: string
  readonly proc: ChildProcess
  /** `http://127.0.0.1:<port>`: the admin API is under `/__sandbox/`. */
  readonly url: string
  /** The environment variables that point the plugin at it (its credentials included). */
  readonly env: Readonly<Record<string, string>>
  /** The configuration it hands back (`url`, credentials). */
  readonly config: Readonly<Record<string, unknown>>
  readonly stderr: () => string
}

/** One line of the sandbox's request log. */
export interface RequestRecord {
  readonly seq: number
  readonly method: string
  readonly path: string
  readonly outcome: string
  readonly status?: number
  readonly fault?: string
  readonly faultId?: string
}

/** Start `relais sandbox --json --plugin <plugin>` in `cwd` and wait for its address. */
export const startSandbox = async (plugin: string, options: { readonly cwd: string; readonly timeoutMs?: number }): Promise<Sandbox> => {
  const proc = spawnChild(["sandbox", "--json", "--plugin", plugin], { cwd: options.cwd })
  let stderr = ""
  proc.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8")
  })
  const [line] = await waitForStdout(proc, /\{"type":"sandbox".*\}\n/, options.timeoutMs ?? 120_000)
  const served = (JSON.parse(line) as { sandboxes: ReadonlyArray<{ plugin: string; url: string; env: Record<string, string>; config: Record<string, unknown> }> })
    .sandboxes.find((s) => s.plugin === plugin)
  if (served === undefined) throw new Error(`relais sandbox --plugin ${plugin} did not serve it: ${line}`)
  return { plugin, proc, url: served.url, env: served.env, config: served.config, stderr: () => stderr }
}

/** Stop a sandbox process (afterAll): SIGTERM, and wait for its exit. */
export const stopSandbox = async (sandbox: Sandbox | undefined): Promise<void> => {
  if (sandbox === undefined || sandbox.proc.exitCode !== null || sandbox.proc.signalCode !== null) return
  const exited = new Promise((resolve) => sandbox.proc.once("close", resolve))
  sandbox.proc.kill("SIGTERM")
  await exited
}

const admin = async (sandbox: Sandbox, method: string, path: string, body?: string): Promise<any> => {
  const response = await fetch(`${sandbox.url}/__sandbox/${path}`, { method, ...(body !== undefined ? { body } : {}) })
  const text = await response.text()
  if (!response.ok) throw new Error(`${method} ${sandbox.plugin} /__sandbox/${path}: ${response.status} ${text}`)
  return text === "" ? undefined : JSON.parse(text)
}

/** Add fault rules in the kit's text syntax (`POST /GraphV1/Remuneration 503 #pay-down`). */
export const addFault = (sandbox: Sandbox, rule: string): Promise<ReadonlyArray<{ readonly id: string }>> =>
  admin(sandbox, "POST", "faults", rule)

/** Remove one fault rule by its id: the sandbox answers normally again. */
export const removeFault = (sandbox: Sandbox, id: string): Promise<void> => admin(sandbox, "DELETE", `faults/${encodeURIComponent(id)}`)

/** The fault rules with their counters (`applied`: how many requests they answered). */
export const faults = (sandbox: Sandbox): Promise<ReadonlyArray<{ readonly id: string; readonly matched: number; readonly applied: number }>> =>
  admin(sandbox, "GET", "faults")

/** The request log, filtered (`{ method: "POST", path: "/GraphV1/Convention" }`, `*` wildcards). */
export const requests = (sandbox: Sandbox, filter: { readonly method?: string; readonly path?: string } = {}): Promise<ReadonlyArray<RequestRecord>> =>
  admin(sandbox, "GET", `requests?${new URLSearchParams(filter as Record<string, string>).toString()}`)

/** Empty the request log (each scenario counts its own requests). */
export const clearRequests = (sandbox: Sandbox): Promise<void> => admin(sandbox, "DELETE", "requests")

/** The sandbox's whole state, as it holds it (hidden fields included). */
export const state = <A = any>(sandbox: Sandbox): Promise<A> => admin(sandbox, "GET", "state")
