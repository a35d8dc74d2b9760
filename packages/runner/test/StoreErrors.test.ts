/**
 * Store trouble as a user meets it, through the `relais` binary: a store that is a directory,
 * random bytes, a damaged header, a truncated or read-only file, one damaged row, a store busy
 * with another run, a run stopped before it was recorded, and a disk that is or becomes full.
 * Each gets exit 4 (or 2 for an unknown run) and a message that says what is wrong, where and
 * what to do, never a stack trace; the history stays readable wherever it can be.
 *
 * The runs go to an AIMAIRA sandbox started here, through a profile (no sandbox state files in
 * the store's directory: only the store fills the disk).
 */
import { AimairaSandbox } from "@relais/aimaira/sandbox"
import { Engine, Redactor, Run, RunStore } from "@relais/core"
import { Effect, Exit, Layer, Scope } from "effect"
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Targets from "../src/Targets.js"
import { child, collect, inProcess, spawnChild, stackTrace, tmpDir, writeFile } from "./harness/Cli.js"

const LIMIT = 240_000
const isRoot = process.getuid?.() === 0
const scope = Effect.runSync(Scope.make())
let sandbox: AimairaSandbox.Service
let dir = ""
const env = { AIMAIRA_PASSWORD: "sandbox-password" }

/** A workflow of `n` read-only steps (each journals its answer: enough of them fill a small disk). */
const readingFlow = (n: number) =>
  `version: 1
name: reading
steps:
${Array.from({ length: n }, (_, i) => `  - id: s${i}\n    uses: aimaira/list-enseignants\n    with: {}\n`).join("")}`

beforeAll(async () => {
  sandbox = await Effect.runPromise(Scope.extend(AimairaSandbox.make({}), scope))
  dir = tmpDir("relais-store-errors-")
  writeFile(dir, "relais.config.yaml", `profiles:
  school:
    aimaira: { url: ${sandbox.apiUrl}, username: sandbox, password: { env: AIMAIRA_PASSWORD } }
`)
  writeFile(dir, "one.yaml", readingFlow(1))
  writeFile(dir, "many.yaml", readingFlow(120))
}, LIMIT)

afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

/** `relais <args>` in the test directory, with the profile's password. */
const relais = (args: ReadonlyArray<string>) => child(args, { cwd: dir, env })

const expectClean = (result: { readonly stdout: string; readonly stderr: string }) => {
  expect(result.stderr).not.toMatch(stackTrace)
  expect(result.stderr).not.toContain("internal error")
  expect(result.stdout).not.toMatch(stackTrace)
}

/** A store made by a real run (the engine's tables, the history, the runner's targets), made once. */
let made: Promise<string> | undefined
const realStore = () =>
  made ??= (async () => {
    const store = Path.join(tmpDir(), "relais.db")
    const run = await relais(["run", "one.yaml", "--profile", "school", "--store", store])
    expect(run.code).toBe(0)
    return store
  })()

describe.sequential("store errors through the binary", () => {
  it("a directory, random bytes, a damaged header, a truncated file: exit 4, what is wrong, no stack trace", async () => {
    const real = await realStore()
    const faults = tmpDir()
    const directory = Path.join(faults, "store-dir")
    Fs.mkdirSync(directory)
    const random = Path.join(faults, "random.db")
    Fs.writeFileSync(random, Buffer.from(Array.from({ length: 32768 }, (_, i) => (i * 7919 + 17) % 253)))
    const header = Path.join(faults, "header.db")
    Fs.copyFileSync(real, header)
    const fd = Fs.openSync(header, "r+")
    Fs.writeSync(fd, Buffer.from("garbage garbage!"), 0, 16, 0)
    Fs.closeSync(fd)
    const truncated = Path.join(faults, "truncated.db")
    Fs.copyFileSync(real, truncated)
    Fs.truncateSync(truncated, Math.floor(Fs.statSync(truncated).size / 3))

    const expected: ReadonlyArray<readonly [string, string]> = [
      [directory, `error: store ${directory} is not a file (it is a directory): give the path of a database file, e.g. ${directory}/relais.db`],
      [random, `error: ${random} is not a relais run store (file is not a database): check the store path, or move the file away`],
      [header, `error: ${header} is not a relais run store (file is not a database)`],
      [truncated, `error: store ${truncated} is damaged (database disk image is malformed): move it away (relais starts a new history) or restore it from a backup`]
    ]
    const lists = await Promise.all(expected.map(([store]) => relais(["runs", "list", "--store", store])))
    for (const [i, result] of lists.entries()) {
      expect(result.code).toBe(4)
      expect(result.stderr).toContain(expected[i]![1])
      expectClean(result)
    }
    const run = await relais(["run", "one.yaml", "--profile", "school", "--store", truncated])
    expect(run.code).toBe(4)
    expect(run.stderr).toContain(expected[3]![1])
    expectClean(run)
  }, LIMIT)

  it("a read-only store: the history is shown, a run is refused with exit 4", async () => {
    const store = Path.join(tmpDir(), "relais.db")
    Fs.copyFileSync(await realStore(), store)
    Fs.chmodSync(store, 0o444)
    // root ignores permissions: make the file immutable as well.
    if (isRoot) execFileSync("chattr", ["+i", store])
    try {
      const list = await relais(["runs", "list", "--store", store])
      expect(list.code).toBe(0)
      expect(list.stdout).toMatch(/run_\w+\s+reading\s+succeeded/)
      const run = await relais(["run", "one.yaml", "--profile", "school", "--store", store])
      expect(run.code).toBe(4)
      expect(run.stderr).toContain(`error: store ${store} is read-only (attempt to write a readonly database), and relais must write to it`)
      expectClean(run)
    } finally {
      if (isRoot) execFileSync("chattr", ["-i", store])
    }
  }, LIMIT)

  it("an empty file: an empty history to read, and a run that says it starts a new history in it", async () => {
    const store = writeFile(tmpDir(), "relais.db", "")
    const list = await relais(["runs", "list", "--store", store, "--json"])
    expect(list.code).toBe(0)
    expect(JSON.parse(list.stdout)).toEqual([])
    expect(Fs.statSync(store).size).toBe(0)
    const run = await relais(["run", "one.yaml", "--profile", "school", "--store", store])
    expect(run.code).toBe(0)
    expect(run.stderr).toContain(`store ${store} is an empty file: a new run history starts in it`)
  }, LIMIT)

  it("one damaged row: runs list shows the others and says which could not be read; runs show says it is damaged; a damaged event does not hide the timeline", async () => {
    const store = Path.join(tmpDir(), "relais.db")
    await Effect.runPromise(
      Effect.gen(function*() {
        const runs = yield* RunStore.RunStore
        for (const [id, at] of [["run-a", 1], ["run-b", 2], ["run-c", 3]] as const) {
          yield* runs.create(
            new Run.RunRecord({
              id: Run.RunId.make(id),
              workflow: "wf",
              status: "succeeded",
              input: { note: `NOTE-OF-${id}` },
              createdAt: at,
              updatedAt: at,
              executions: 1
            })
          )
        }
        for (const [execution, workflow] of ["EVENT-ONE", "EVENT-TWO"].entries()) {
          yield* runs.append({ _tag: "RunStarted", runId: Run.RunId.make("run-a"), at: 10 + execution, workflow, execution })
        }
        yield* runs.flush
      }).pipe(
        Effect.provide(RunStore.layerSql.pipe(Layer.provide(Engine.layerSqliteClient({ filename: store })))),
        Effect.provide(Redactor.layer)
      )
    )
    const bytes = Fs.readFileSync(store)
    for (const marker of ["NOTE-OF-run-b", "EVENT-TWO"]) {
      const at = bytes.indexOf(marker)
      expect(at).toBeGreaterThan(0)
      bytes.set([0x01, 0x1b, 0x02], at)
    }
    Fs.writeFileSync(store, bytes)

    const list = await relais(["runs", "list", "--store", store])
    expect(list.code).toBe(0)
    expect(list.stdout).toContain("run-a")
    expect(list.stdout).toContain("run-c")
    expect(list.stdout).not.toContain("run-b")
    expect(list.stderr).toContain(`warning: 1 run of ${store} could not be read (damaged record): run-b`)
    expect(list.stderr).toContain("the record of run run-b is damaged: Bad control character")
    expectClean(list)
    const timeline = await relais(["runs", "show", "run-a", "--store", store])
    expect(timeline.code).toBe(0)
    expect(timeline.stdout).toContain("EVENT-ONE")
    expect(timeline.stderr).toContain(`warning: 1 event of run run-a could not be read (damaged row in ${store}):`)
    expect(timeline.stderr).toContain("event 2 of run run-a is damaged: Bad control character")
    expectClean(timeline)
    const show = await relais(["runs", "show", "run-b", "--store", store])
    expect(show.code).toBe(4)
    expect(show.stderr).toContain(`error: store ${store} is damaged (the record of run run-b is damaged: Bad control character`)
    expectClean(show)
  }, LIMIT)

  it("a store busy with a run: another run and a resume of that run get exit 4 at once; the history is readable; a killed run is interrupted", async () => {
    const store = Path.join(tmpDir(), "relais.db")
    const hang = await Effect.runPromise(sandbox.faults.addText("* hang"))
    try {
      const holder = spawnChild(["run", "one.yaml", "--profile", "school", "--store", store, "--run-id", "busy-run"], { cwd: dir, env })
      const held = collect(holder, LIMIT)
      await new Promise<void>((resolve, reject) => {
        let seen = ""
        holder.stderr!.on("data", (chunk: Buffer) => {
          seen += chunk.toString("utf8")
          if (/step s0 started/.test(seen)) resolve()
        })
        void held.then((r) => reject(new Error(`the holder ended first (${r.code}): ${r.stderr}`)), reject)
      })

      const [again, resume, list] = await Promise.all([
        relais(["run", "one.yaml", "--profile", "school", "--store", store]),
        relais(["resume", "busy-run", "--profile", "school", "--store", store]),
        relais(["runs", "list", "--store", store, "--json"])
      ])
      expect(again.code).toBe(4)
      expect(again.stderr).toMatch(
        new RegExp(`error: store ${store} is in use by another relais process \\(process ${holder.pid} on [^)]+\\): wait for it to finish or stop it`)
      )
      expectClean(again)
      expect(resume.code).toBe(4)
      expect(resume.stderr).toMatch(
        new RegExp(`error: store ${store} is in use by another relais process \\(run busy-run is running in process ${holder.pid} on [^)]+\\)`)
      )
      expectClean(resume)
      expect(list.code).toBe(0)
      expect(JSON.parse(list.stdout)).toMatchObject([{ id: "busy-run", status: "running" }])

      holder.kill("SIGKILL")
      expect((await held).signal).toBe("SIGKILL")
      const after = await relais(["runs", "list", "--store", store, "--json"])
      expect(JSON.parse(after.stdout)).toMatchObject([{ id: "busy-run", status: "interrupted" }])
    } finally {
      for (const entry of hang) await Effect.runPromise(sandbox.faults.remove(entry.id))
    }
  }, LIMIT)

  it("resume of a run stopped before it was recorded says how to start it again", async () => {
    const store = Path.join(tmpDir(), "relais.db")
    // What a run killed between choosing its target and recording itself leaves behind.
    await Effect.runPromise(
      Targets.record("ghost", { kind: "profile", profile: "school", production: false, endpoints: { aimaira: sandbox.apiUrl }, labels: { aimaira: "AIMAIRA" } }).pipe(
        Effect.provide(Engine.layerSqliteClient({ filename: store }))
      )
    )
    const ghost = await Effect.runPromise(inProcess(["resume", "ghost", "--store", store]))
    expect(ghost.code).toBe(2)
    expect(ghost.stderr).toContain(
      `error: no run with id "ghost": it was being started (on profile school (AIMAIRA ${sandbox.apiUrl})) but stopped before it was recorded, so nothing was called: start it again with \`relais run <workflow file> --run-id ghost --store ${store} --profile school\``
    )
    const unknown = await Effect.runPromise(inProcess(["resume", "nobody", "--store", store]))
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain(
      `error: no run with id "nobody": there is no such run in ${store}; if \`relais run ... --run-id nobody\` was stopped before the run was recorded, nothing was called: run that command again`
    )
  }, LIMIT)

  const tmpfs = (() => {
    if (!isRoot) return "mounting a tmpfs needs root"
    const probe = tmpDir()
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", probe], { stdio: "pipe" })
      execFileSync("umount", [probe], { stdio: "pipe" })
      return undefined
    } catch (error) {
      return `cannot mount a tmpfs here (${String(error).split("\n")[0]})`
    }
  })()
  if (tmpfs !== undefined) console.log(`skipped: the full-disk tests through the binary: ${tmpfs}`)

  /** A fresh tmpfs with `free` KiB left, unmounted after `use`. */
  const onFullDisk = async (free: number, use: (mount: string, filler: string) => Promise<void>) => {
    const mount = tmpDir()
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", mount])
    try {
      const filler = Path.join(mount, "filler")
      const fd = Fs.openSync(filler, "a")
      try {
        for (const chunk = Buffer.alloc(65536, 1);;) Fs.writeSync(fd, chunk)
      } catch (error) {
        if ((error as { code?: string }).code !== "ENOSPC") throw error
      } finally {
        Fs.closeSync(fd)
      }
      Fs.truncateSync(filler, Math.max(0, Fs.statSync(filler).size - free * 1024))
      await use(mount, filler)
    } finally {
      execFileSync("umount", ["-l", mount])
    }
  }

  it.skipIf(tmpfs !== undefined)("a full disk at start: exit 4, no space left on the store's disk", async () => {
    await onFullDisk(0, async (mount) => {
      const store = Path.join(mount, "relais.db")
      const run = await relais(["run", "one.yaml", "--profile", "school", "--store", store])
      expect(run.code).toBe(4)
      expect(run.stderr).toContain(`error: no space left on ${mount} (writing the run store ${store}: `)
      expectClean(run)
    })
  }, LIMIT)

  it.skipIf(tmpfs !== undefined)("a disk that fills up during a run: exit 4 at once, the run is left to resume, and resumes once freed", async () => {
    await onFullDisk(400, async (mount, filler) => {
      const store = Path.join(mount, "relais.db")
      const run = await relais(["run", "many.yaml", "--profile", "school", "--store", store])
      expect(run.code).toBe(4)
      expect(run.stderr).toContain(`error: no space left on ${mount} (writing the run store ${store}: database or disk is full)`)
      const runId = /run (run_\w+) stops here; once the store is fixed, resume it with: relais resume \1 --store (\S+) --profile school/
        .exec(run.stderr)?.[1]
      expect(runId).toBeDefined()
      expectClean(run)

      Fs.rmSync(filler)
      const list = await relais(["runs", "list", "--store", store, "--json"])
      expect(JSON.parse(list.stdout)).toMatchObject([{ id: runId, status: "interrupted" }])
      const resumed = await relais(["resume", runId!, "--store", store, "--profile", "school", "--json"])
      expect(resumed.code).toBe(0)
      expect(JSON.parse(resumed.stdout.trim().split("\n").pop()!)).toMatchObject({ type: "result", status: "succeeded" })
    })
  }, LIMIT)
})
