/**
 * `relais serve` as a child process for the Serve*.test.ts files: started with `spawnChild`,
 * ready once its stderr says where it listens (never a sleep), stopped with a signal; its
 * output kept whole, to look for stack traces and secrets.
 */
import { type ChildProcess } from "node:child_process"
import { spawnChild } from "./Cli.js"

export interface Served {
  readonly proc: ChildProcess
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly stdout: () => string
  readonly stderr: () => string
  /** Send a signal and resolve with the exit code once the process has exited. */
  readonly stop: (signal?: NodeJS.Signals) => Promise<number | null>
  /** Resolve once stderr matches (now or later). */
  readonly waitForStderr: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>
  /** Resolve once `check` holds of stderr (now or later), e.g. a count of lines. */
  readonly waitUntil: (what: string, check: (stderr: string) => boolean, timeoutMs?: number) => Promise<void>
}

const exited = (proc: ChildProcess): Promise<number | null> =>
  proc.exitCode !== null || proc.signalCode !== null
    ? Promise.resolve(proc.exitCode)
    : new Promise((resolve) => proc.once("close", (code) => resolve(code)))

/** Start `relais serve <args>` (or `relais ui`, with `command`) and wait for its "listening on" line. */
export const serve = (
  args: ReadonlyArray<string>,
  options: {
    readonly env?: Record<string, string>
    readonly cwd?: string
    readonly timeoutMs?: number
    readonly command?: "serve" | "ui"
  } = {}
): Promise<Served> => {
  const proc = spawnChild([options.command ?? "serve", ...args], { env: options.env, cwd: options.cwd })
  let stdout = ""
  let stderr = ""
  const waiters = new Set<() => void>()
  proc.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8")
  })
  proc.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8")
    for (const wake of waiters) wake()
  })
  proc.on("close", () => {
    for (const wake of waiters) wake()
  })
  const waitUntil = (what: string, holds: (stderr: string) => boolean, timeoutMs = 120_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (holds(stderr)) {
          done()
          resolve()
        } else if (proc.exitCode !== null || proc.signalCode !== null) {
          done()
          reject(new Error(`relais serve exited (${proc.exitCode ?? proc.signalCode}) before ${what}:\n${stderr}`))
        }
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`no ${what} on stderr within ${timeoutMs} ms:\n${stderr.slice(-4000)}`))
      }, timeoutMs)
      const done = () => {
        clearTimeout(timer)
        waiters.delete(check)
      }
      waiters.add(check)
      check()
    })
  const waitForStderr = (pattern: RegExp, timeoutMs = 120_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = stderr.match(pattern)
        if (match !== null) {
          done()
          resolve(match)
        } else if (proc.exitCode !== null || proc.signalCode !== null) {
          done()
          reject(new Error(`relais serve exited (${proc.exitCode ?? proc.signalCode}) before ${pattern}:\n${stderr}`))
        }
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`no ${pattern} on stderr within ${timeoutMs} ms:\n${stderr}`))
      }, timeoutMs)
      const done = () => {
        clearTimeout(timer)
        waiters.delete(check)
      }
      waiters.add(check)
      check()
    })
  return waitForStderr(/listening on (https?:\/\/\S+)/, options.timeoutMs).then((match) => ({
    proc,
    url: match[1]!,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForStderr,
    waitUntil,
    stop: (signal: NodeJS.Signals = "SIGTERM") => {
      proc.kill(signal)
      return exited(proc)
    }
  }))
}

/** Kill what is left of a served process (afterAll). */
export const kill = async (served: Served | undefined): Promise<void> => {
  if (served === undefined || served.proc.exitCode !== null || served.proc.signalCode !== null) return
  served.proc.kill("SIGKILL")
  await exited(served.proc)
}

export interface Answer {
  readonly status: number
  readonly contentType: string
  readonly headers: Headers
  readonly text: string
  readonly json: any
}

/** A request and its whole answer (the body as text, and as JSON when it is). */
export const call = async (
  url: string,
  init: { readonly method?: string; readonly body?: unknown; readonly headers?: Record<string, string>; readonly raw?: string } = {}
): Promise<Answer> => {
  const headers: Record<string, string> = { ...init.headers }
  let body: string | undefined
  if (init.raw !== undefined) body = init.raw
  else if (init.body !== undefined) {
    body = JSON.stringify(init.body)
    headers["content-type"] ??= "application/json"
  }
  const response = await fetch(url, { method: init.method ?? (body !== undefined ? "POST" : "GET"), headers, ...(body !== undefined ? { body } : {}) })
  const text = await response.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", headers: response.headers, text, json }
}

/** Read a server-sent event stream to its end: its raw text and the events parsed. */
export const readEvents = async (
  url: string,
  headers: Record<string, string> = {}
): Promise<{ readonly status: number; readonly contentType: string; readonly text: string; readonly events: ReadonlyArray<{ readonly id: number; readonly event: string; readonly data: any }> }> => {
  const response = await fetch(url, { headers: { accept: "text/event-stream", ...headers } })
  const text = await response.text()
  const events = text.split("\n\n").flatMap((block) => {
    const fields = Object.fromEntries(block.split("\n").filter((l) => !l.startsWith(":") && l.includes(": ")).map((l) => [l.slice(0, l.indexOf(": ")), l.slice(l.indexOf(": ") + 2)]))
    return fields.data === undefined ? [] : [{ id: Number(fields.id), event: fields.event ?? "message", data: JSON.parse(fields.data) }]
  })
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", text, events }
}

/** Every problem answer has the RFC 9457 members, and nothing of a stack trace. */
export const isProblem = (answer: Answer, status: number): boolean =>
  answer.status === status &&
  answer.contentType.startsWith("application/problem+json") &&
  typeof answer.json?.type === "string" && typeof answer.json?.title === "string" &&
  answer.json?.status === status && typeof answer.json?.detail === "string" &&
  !/\n\s+at .+[(:]\d+/.test(answer.text)

/** Run `tasks` with at most `concurrency` at a time; the results in order. */
export const pool = async <A>(tasks: ReadonlyArray<() => Promise<A>>, concurrency: number): Promise<Array<A>> => {
  const results: Array<A> = new Array(tasks.length)
  let next = 0
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++
      results[index] = await tasks[index]!()
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker))
  return results
}
