/**
 * The CLI in-process, end to end with real YAML, a real SQLite engine and the test plugin:
 * outcomes and exit codes, JSON output, run ids, interruption and resume, the run history, and
 * secrets kept out of the output and the store.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Cli from "../src/Cli.js"
import { inProcess, type InProcessOptions, edge, storeBytes, tmpDir, writeFile } from "./harness/Cli.js"
import { Ledger, makePlugin } from "./harness/Plugin.js"
import * as Counter from "./support/CounterPlugin.js"

const flow = (steps: string, extra = "") => `version: 1
name: demo-flow
inputs:
  name: { type: string, default: alpha }
${extra}steps:
${steps}`

const createThenFail = flow(`  - id: record
    uses: demo/create
    with: { name: "\${{ inputs.name }}" }
  - id: boom
    uses: demo/fail
    with: { message: "the service is down" }
`)

const setup = (text: string) => {
  const dir = tmpDir()
  const file = writeFile(dir, "flow.yaml", text)
  const db = Path.join(dir, "relais.db")
  const ledger = new Ledger()
  const options: InProcessOptions = { plugins: [makePlugin(ledger)] }
  return { dir, file, db, ledger, options }
}

describe("relais run (in-process)", () => {
  it.live("runs a workflow to success: exit 0, the outputs on stdout, plain progress on stderr", () =>
    Effect.gen(function*() {
      const t = setup(flow(`  - id: record
    uses: demo/create
    with: { name: "\${{ inputs.name }}" }
`) + "outputs:\n  recordId: ${{ steps.record.output.Id }}\n")
      const result = yield* inProcess(["run", t.file, "--input", "name=beta", "--store", t.db], t.options)
      expect(result.code).toBe(0)
      expect(result.stdout).toMatch(/✓ succeeded in .* \(run run_/)
      expect(result.stdout).toMatch(/recordId\s+1/)
      expect(result.stderr).toContain("step record started (demo/create)")
      expect(result.stderr).toContain("step record succeeded (1 attempt")
      expect(result.stderr).toMatch(/run run_\w+ finished: succeeded/)
      expect(t.ledger.log).toEqual(["create 1 beta"])
    }))

  it.live("a failure after a completed step is compensated: exit 1, what was undone", () =>
    Effect.gen(function*() {
      const t = setup(createThenFail)
      const result = yield* inProcess(["run", t.file, "--store", t.db], t.options)
      expect(result.code).toBe(1)
      expect(result.stdout).toContain("failed and compensated")
      expect(result.stdout).toContain("cause: step boom (demo/fail) gave up after its retries: HTTP 503: the service is down")
      expect(result.stdout).toMatch(/↺ record \(demo\/create\): delete the record/)
      expect(result.stderr).toContain("step boom attempt 1 failed")
      expect(result.stderr).toContain("step boom retry: attempt 2 in")
      expect(result.stderr).toContain("undo record succeeded")
      expect(t.ledger.log).toEqual(["create 1 alpha", "delete 1"])
    }))

  it.live("a compensation that fails leaves work to undo by hand: exit 3 with the ids", () =>
    Effect.gen(function*() {
      const t = setup(flow(`  - id: sticky
    uses: demo/create-sticky
    with: { name: keep-me }
  - id: boom
    uses: demo/fail
    with: { message: down }
`))
      const result = yield* inProcess(["run", t.file, "--store", t.db], t.options)
      expect(result.code).toBe(3)
      expect(result.stdout).toContain("COMPENSATION INCOMPLETE")
      expect(result.stdout).toContain("left to undo by hand (1):")
      expect(result.stdout).toContain("to undo:   delete the sticky record")
      expect(result.stdout).toContain(`result:    {"Id":1,"name":"keep-me"}`)
      expect(result.stdout).toContain("undo error: HTTP 500: the record is locked")
      expect(result.stdout).toMatch(/details: relais runs show run_\w+ --store /)
    }))

  it.live("a run that finishes with an isolated item left to undo is incomplete: exit 3", () =>
    Effect.gen(function*() {
      const t = setup(`version: 1
name: batch
inputs:
  rows: { type: array, default: [{ name: a, bad: false }, { name: b, bad: true }] }
steps:
  - id: each
    forEach: \${{ inputs.rows }}
    as: row
    onItemFailure: compensate-item
    steps:
      - id: sticky
        uses: demo/create-sticky
        with:
          name: \${{ row.name }}
      - id: check
        if: \${{ row.bad }}
        uses: demo/fail
        with:
          message: "row \${{ row.name }} is bad"
`)
      const result = yield* inProcess(["run", t.file, "--store", t.db], t.options)
      expect(result.stderr).toMatch(/item each\[1\] failed/)
      expect(result.stdout).toMatch(/finished with 1 of 2 items failed in .*, and 1 item step could not be undone/)
      expect(result.stdout).toContain("✗ each[1]/sticky (demo/create-sticky)")
      expect(result.code).toBe(3)
    }))

  it.live("an invalid workflow: exit 2, every problem as file:line:col, nothing run", () =>
    Effect.gen(function*() {
      const t = setup(flow(`  - id: record
    uses: demo/creat
    with: { name: x }
  - id: echo
    uses: demo/echo
    with: { mesage: hi }
`))
      const result = yield* inProcess(["run", t.file, "--store", t.db], t.options)
      expect(result.code).toBe(2)
      expect(result.stderr).toMatch(new RegExp(`${t.file.replace(/[.]/g, "\\.")}:7:\\d+: .*demo/create`))
      expect(result.stderr).toMatch(/:\d+:\d+: .*mesage/)
      expect(result.stderr).toMatch(/✗ \d+ problems in /)
      expect(result.stdout).toBe("")
      expect(t.ledger.log).toEqual([])
    }))

  it.live("bad inputs are usage errors: exit 2 naming the input", () =>
    Effect.gen(function*() {
      const t = setup(flow(`  - id: echo
    uses: demo/echo
    with: { message: "\${{ inputs.name }}" }
`))
      const unknown = yield* inProcess(["run", t.file, "--input", "nme=x", "--store", t.db], t.options)
      expect(unknown.code).toBe(2)
      expect(unknown.stderr).toContain(`did you mean "name"`)
      const malformed = yield* inProcess(["run", t.file, "--input", "oops", "--store", t.db], t.options)
      expect(malformed.code).toBe(2)
      expect(malformed.stderr).toContain(`--input "oops": expected name=value`)
      const inputFile = writeFile(t.dir, "inputs.json", "[1, 2]")
      const notObject = yield* inProcess(["run", t.file, "--input-file", inputFile, "--store", t.db], t.options)
      expect(notObject.code).toBe(2)
      expect(notObject.stderr).toContain("expected an object of input names and values")
    }))

  it.live("--input-file (YAML) gives inputs; --input wins over it", () =>
    Effect.gen(function*() {
      const t = setup(flow(`  - id: echo
    uses: demo/echo
    with: { message: "\${{ inputs.name }}" }
`) + "outputs:\n  said: ${{ steps.echo.output.message }}\n")
      const inputFile = writeFile(t.dir, "inputs.yaml", "name: from-file\n")
      const fromFile = yield* inProcess(["run", t.file, "--input-file", inputFile, "--store", t.db], t.options)
      expect(fromFile.code).toBe(0)
      expect(fromFile.stdout).toMatch(/said\s+"from-file"/)
      const both = yield* inProcess(["run", t.file, "--input-file", inputFile, "--input", "name=flag", "--store", t.db], t.options)
      expect(both.stdout).toMatch(/said\s+"flag"/)
    }))

  it.live("--json: stdout is only JSON lines, events then the result", () =>
    Effect.gen(function*() {
      const t = setup(createThenFail)
      const result = yield* inProcess(["run", t.file, "--store", t.db, "--json"], t.options)
      expect(result.code).toBe(1)
      const lines = result.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
      expect(lines.slice(0, -1).every((l) => l.type === "event")).toBe(true)
      expect(lines[0]).toMatchObject({ type: "event", _tag: "RunStarted", workflow: "demo-flow" })
      expect(lines.map((l) => l._tag)).toContain("CompensationSucceeded")
      const last = lines[lines.length - 1]!
      expect(last).toMatchObject({ type: "result", status: "compensated", exitCode: 1, workflow: "demo-flow" })
      expect(last.compensated).toEqual([{ path: "record", step: "demo/create", description: "delete the record" }])
    }))

  it.live("--json on an invalid workflow ends with an error object on stdout", () =>
    Effect.gen(function*() {
      const t = setup(flow(`  - id: record
    uses: demo/nope
    with: {}
`))
      const result = yield* inProcess(["run", t.file, "--store", t.db, "--json"], t.options)
      expect(result.code).toBe(2)
      const last = JSON.parse(result.stdout.trim()) as { type: string; exitCode: number; error: { diagnostics: Array<{ line: number }> } }
      expect(last.type).toBe("error")
      expect(last.exitCode).toBe(2)
      expect(last.error.diagnostics[0]!.line).toBe(7)
    }))

  it.live("--run-id: a finished run is shown again, not run twice; another workflow cannot reuse the id", () =>
    Effect.gen(function*() {
      const t = setup(flow(`  - id: record
    uses: demo/create
    with: { name: once }
`))
      const first = yield* inProcess(["run", t.file, "--store", t.db, "--run-id", "nightly-1"], t.options)
      expect(first.code).toBe(0)
      const again = yield* inProcess(["run", t.file, "--store", t.db, "--run-id", "nightly-1"], t.options)
      expect(again.code).toBe(0)
      expect(again.stderr).toContain("run nightly-1 already exists and has finished")
      expect(t.ledger.log).toEqual(["create 1 once"])
      const other = writeFile(t.dir, "other.yaml", flow(`  - id: echo
    uses: demo/echo
    with: { message: hi }
`).replace("demo-flow", "other-flow"))
      const clash = yield* inProcess(["run", other, "--store", t.db, "--run-id", "nightly-1"], t.options)
      expect(clash.code).toBe(2)
      expect(clash.stderr).toContain("run id nightly-1 is already used by a run of demo-flow")
    }))

  it.live("Ctrl-C leaves the run interrupted and says how to resume; resume finishes it", () =>
    Effect.gen(function*() {
      const t = setup(flow(`  - id: record
    uses: demo/create
    with: { name: before }
  - id: wait
    uses: demo/wait
    with: {}
`) + "outputs:\n  recordId: ${{ steps.record.output.Id }}\n")
      t.ledger.gate = yield* Deferred.make<void>()
      t.ledger.entered = yield* Deferred.make<void>()
      const { capture, layer } = edge(t.options)
      const fiber = yield* Cli.main(["node", "relais", "run", t.file, "--store", t.db]).pipe(
        Effect.provide(layer),
        Effect.fork
      )
      yield* Deferred.await(t.ledger.entered)
      yield* Fiber.interrupt(fiber)
      expect(capture.stderr()).toMatch(/■ interrupted: run (run_\w+) stops here/)
      const runId = /■ interrupted: run (run_\w+)/.exec(capture.stderr())![1]!
      expect(capture.stderr()).toContain(`resume it with: relais resume ${runId} --store ${t.db}`)

      const listed = yield* inProcess(["runs", "list", "--store", t.db, "--status", "interrupted", "--json"], t.options)
      expect((JSON.parse(listed.stdout) as Array<{ id: string }>).map((r) => r.id)).toEqual([runId])

      yield* Deferred.succeed(t.ledger.gate, undefined)
      const resumed = yield* inProcess(["resume", runId, "--store", t.db], t.options)
      expect(resumed.code).toBe(0)
      expect(resumed.stderr).toContain("step record replayed from the journal")
      expect(resumed.stdout).toMatch(/recordId\s+1/)
      expect(t.ledger.log).toEqual(["create 1 before"])

      const again = yield* inProcess(["resume", runId, "--store", t.db], t.options)
      expect(again.code).toBe(0)
      expect(again.stderr).toContain("has already finished (succeeded); nothing to resume")
    }))

  it.live("resume warns when the workflow file changed, and uses the stored definition", () =>
    Effect.gen(function*() {
      const t = setup(flow(`  - id: wait
    uses: demo/wait
    with: {}
`))
      t.ledger.gate = yield* Deferred.make<void>()
      t.ledger.entered = yield* Deferred.make<void>()
      const { capture, layer } = edge(t.options)
      const fiber = yield* Cli.main(["node", "relais", "run", t.file, "--store", t.db]).pipe(Effect.provide(layer), Effect.fork)
      yield* Deferred.await(t.ledger.entered)
      yield* Fiber.interrupt(fiber)
      const runId = /■ interrupted: run (run_\w+)/.exec(capture.stderr())![1]!
      writeFile(t.dir, "flow.yaml", flow(`  - id: echo
    uses: demo/echo
    with: { message: changed }
`))
      yield* Deferred.succeed(t.ledger.gate, undefined)
      const resumed = yield* inProcess(["resume", runId, "--store", t.db], t.options)
      expect(resumed.code).toBe(0)
      expect(resumed.stderr).toMatch(/has changed since the run started: resuming with the definition stored with the run/)
      expect(resumed.stderr).toContain("step wait")
      expect(resumed.stderr).not.toContain("step echo")
    }))
})

describe("resume against another target (in-process)", () => {
  it.live("a run started on a profile is not resumed on the sandboxes or another profile: exit 4 with the way to resume", () =>
    Effect.gen(function*() {
      const t = setup(flow(`  - id: wait
    uses: demo/wait
    with: {}
`))
      const config = writeFile(t.dir, "relais.config.yaml", `profiles:
  preprod: {}
  other: {}
`)
      t.ledger.gate = yield* Deferred.make<void>()
      t.ledger.entered = yield* Deferred.make<void>()
      const { capture, layer } = edge(t.options)
      const fiber = yield* Cli.main(["node", "relais", "run", t.file, "--store", t.db, "--config", config, "--profile", "preprod"]).pipe(
        Effect.provide(layer),
        Effect.fork
      )
      yield* Deferred.await(t.ledger.entered)
      yield* Fiber.interrupt(fiber)
      const runId = /■ interrupted: run (run_\w+)/.exec(capture.stderr())![1]!
      expect(capture.stderr()).toContain(`resume it with: relais resume ${runId} --store ${t.db} --profile preprod`)
      yield* Deferred.succeed(t.ledger.gate, undefined)
      const onSandbox = yield* inProcess(["resume", runId, "--store", t.db, "--sandbox"], t.options)
      expect(onSandbox.code).toBe(4)
      expect(onSandbox.stderr).toContain(`run ${runId} was started against profile preprod, not the in-process sandboxes: resume it with --profile preprod`)
      const onOther = yield* inProcess(["resume", runId, "--store", t.db, "--config", config, "--profile", "other"], t.options)
      expect(onOther.code).toBe(4)
      const same = yield* inProcess(["resume", runId, "--store", t.db, "--config", config, "--profile", "preprod"], t.options)
      expect(same.code).toBe(0)
    }))
})

describe("graph, schema, steps, validate (in-process)", () => {
  it.live("graph prints the Mermaid flowchart; schema writes the JSON Schema with the steps' inputs", () =>
    Effect.gen(function*() {
      const t = setup(createThenFail)
      const graph = yield* inProcess(["graph", t.file], t.options)
      expect(graph.code).toBe(0)
      expect(graph.stdout).toMatch(/^flowchart TD\n/)
      expect(graph.stdout).toContain("demo/create")
      const out = Path.join(t.dir, "relais.schema.json")
      const schema = yield* inProcess(["schema", "--output", out], t.options)
      expect(schema.code).toBe(0)
      expect(schema.stderr).toContain(`# yaml-language-server: $schema=${out}`)
      expect(Fs.readFileSync(out, "utf8")).toContain("demo/create")
      const stdout = yield* inProcess(["schema", "-o", "-"], t.options)
      expect(JSON.parse(stdout.stdout)).toHaveProperty("$schema")
    }))

  it.live("steps lists the catalogue and shows one step's fields; --json for machines", () =>
    Effect.gen(function*() {
      const t = setup(createThenFail)
      const list = yield* inProcess(["steps"], t.options)
      expect(list.stdout).toMatch(/^demo\/create  create a record\n    retry: up to 2 attempts, every 5 ms/)
      expect(list.stdout).toContain("undo: delete the record")
      const one = yield* inProcess(["steps", "demo/create"], t.options)
      expect(one.stdout).toContain("compensation  delete the record")
      expect(one.stdout).toMatch(/input \(with:\)\n  name  string  required/)
      expect(one.stdout).toMatch(/output \(steps.<id>.output\)\n  Id\s+number\s+required\n  name\s+string\s+required/)
      const json = yield* inProcess(["steps", "--json"], t.options)
      const steps = JSON.parse(json.stdout) as Array<{ name: string; compensation: string | null; retry: { maxAttempts: number } }>
      expect(steps.find((s) => s.name === "demo/create")).toMatchObject({ compensation: "delete the record", retry: { maxAttempts: 2 } })
    }))

  it.live("validate --json: one line per file", () =>
    Effect.gen(function*() {
      const t = setup(createThenFail)
      const bad = writeFile(t.dir, "bad.yaml", "version: 2\n")
      const result = yield* inProcess(["validate", t.file, bad, "--json"], t.options)
      expect(result.code).toBe(2)
      const lines = result.stdout.trim().split("\n").map((l) => JSON.parse(l) as { file: string; ok: boolean; diagnostics?: Array<unknown> })
      expect(lines.map((l) => [l.file, l.ok])).toEqual([[t.file, true], [bad, false]])
      expect(lines[1]!.diagnostics!.length).toBeGreaterThan(0)
    }))
})

describe("files and values named on the command line (in-process)", () => {
  it.live("--input-file that is a directory, missing, or not UTF-8: exit 2, said plainly", () =>
    Effect.gen(function*() {
      const t = setup(flow(`  - id: echo
    uses: demo/echo
    with: { message: "\${{ inputs.name }}" }
`))
      const directory = yield* inProcess(["run", t.file, "--input-file", t.dir, "--store", t.db], t.options)
      expect(directory.code).toBe(2)
      expect(directory.stderr).toBe(`error: ${t.dir}: it is a directory, not a file\n`)
      const missing = yield* inProcess(["run", t.file, "--input-file", Path.join(t.dir, "nope.json"), "--store", t.db], t.options)
      expect(missing.code).toBe(2)
      expect(missing.stderr).toBe(`error: ${Path.join(t.dir, "nope.json")}: no such file\n`)
      const latin1 = Path.join(t.dir, "inputs.yaml")
      Fs.writeFileSync(latin1, Buffer.from("name: Ren\xe9\n", "latin1"))
      const notUtf8 = yield* inProcess(["run", t.file, "--input-file", latin1, "--store", t.db], t.options)
      expect(notUtf8.code).toBe(2)
      expect(notUtf8.stderr).toBe(`error: ${latin1}: not UTF-8 text: save it as UTF-8\n`)
      for (const result of [directory, missing, notUtf8]) expect(result.stderr).not.toMatch(/BadResource|FileSystem\.|SystemError|ENOENT|EISDIR/)
      expect(t.ledger.log).toEqual([])
    }))

  it.live("input values outside their enum or too large to be exact: exit 2 before the run, said for a person", () =>
    Effect.gen(function*() {
      const t = setup(`version: 1
name: typed-inputs
inputs:
  kind: { type: string, enum: [APP, PRO], default: APP }
  n: { type: integer, default: 1 }
steps:
  - id: echo
    uses: demo/echo
    with: { message: "\${{ inputs.kind }}" }
`)
      const kind = yield* inProcess(["run", t.file, "--input", "kind=app", "--store", t.db], t.options)
      expect(kind.code).toBe(2)
      expect(kind.stderr).toContain(`--input kind: expects one of APP, PRO, not "app" (did you mean "APP"?)`)
      const big = yield* inProcess(["run", t.file, "--input", "n=9007199254740993", "--store", t.db], t.options)
      expect(big.code).toBe(2)
      expect(big.stderr).toContain("--input n: 9007199254740993 is too large to be exact")
      const inputs = writeFile(t.dir, "inputs.json", `{ "n": 9007199254740993, "kind": "STA" }`)
      const fromFile = yield* inProcess(["run", t.file, "--input-file", inputs, "--store", t.db], t.options)
      expect(fromFile.code).toBe(2)
      expect(fromFile.stderr).toContain(`--input-file: input "n" is a whole number too large to be exact`)
      expect(fromFile.stderr).toContain(`--input-file: input "kind" expects one of APP, PRO, not "STA"`)
      for (const result of [kind, big, fromFile]) {
        expect(result.stderr).not.toMatch(/Expected|actual|9007199254740992/)
      }
      expect(t.ledger.log).toEqual([])
    }))

  it.live("a configuration file or a secret file that is a directory: exit 4, said plainly", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      const asDirectory = yield* inProcess(["config", "--config", dir])
      expect(asDirectory.code).toBe(4)
      expect(asDirectory.stderr).toBe(`error: ${dir}: cannot read it: it is a directory, not a file\n`)
      const config = writeFile(dir, "relais.config.yaml", `profiles:
  preprod:
    aimaira: { url: https://x-preprod.aimaira.net, username: api, password: { file: secrets } }
`)
      Fs.mkdirSync(Path.join(dir, "secrets"))
      const secret = yield* inProcess(["config", "--config", config, "--profile", "preprod"])
      expect(secret.code).toBe(4)
      expect(`${secret.stdout}${secret.stderr}`).toContain("cannot read secrets: it is a directory, not a file")
      expect(`${asDirectory.stderr}${secret.stdout}${secret.stderr}`).not.toMatch(/BadResource|FileSystem\.|EISDIR/)
    }))

  it.live("schema --output where it cannot be written: exit 2, what is wrong", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      const intoDirectory = yield* inProcess(["schema", "--output", dir])
      expect(intoDirectory.code).toBe(2)
      expect(intoDirectory.stderr).toBe(`error: ${dir}: cannot write it: it is a directory, not a file\n`)
      const noDirectory = yield* inProcess(["schema", "-o", Path.join(dir, "no", "schema.json")])
      expect(noDirectory.stderr).toBe(`error: ${Path.join(dir, "no", "schema.json")}: cannot write it: its directory does not exist\n`)
    }))

  it.live("usage errors and help come from the same place as in the binary: exit 2 or 0, no internals", () =>
    Effect.gen(function*() {
      const typo = yield* inProcess(["runs", "list", "--limt", "5"])
      expect(typo.code).toBe(2)
      expect(typo.stderr).toContain(`error: unknown option "--limt" for relais runs list (did you mean "--limit"?)`)
      const big = yield* inProcess(["run", "x.yaml", "--seed", "99999999999999999999"])
      expect(big.code).toBe(2)
      expect(big.stderr).toContain(`--seed "99999999999999999999": too large to be exact`)
      expect(big.stderr).not.toContain("100000000000000000000")
      const extra = yield* inProcess(["steps", "aimaira/create-convention", "app"])
      expect(extra.stderr).toContain(`error: unexpected argument "app": relais steps takes [<name>]`)
      expect(`${typo.stderr}${big.stderr}${extra.stderr}`).not.toMatch(/Expected|actual|undefined/)
      const help = yield* inProcess(["runs", "--help"])
      expect(help.code).toBe(0)
      expect(help.stdout).toMatch(/^The run history/)
      expect(help.stdout).toMatch(/list\s+List runs, newest first/)
      const version = yield* inProcess(["--version"])
      expect(version).toEqual({ code: 0, stdout: `${Cli.version}\n`, stderr: "" })
    }))
})

describe("relais runs (in-process)", () => {
  it.live("list and show read the history: records, a timeline with attempts and compensations", () =>
    Effect.gen(function*() {
      const t = setup(createThenFail)
      const run = yield* inProcess(["run", t.file, "--store", t.db, "--run-id", "r-1"], t.options)
      expect(run.code).toBe(1)
      const list = yield* inProcess(["runs", "list", "--store", t.db], t.options)
      expect(list.code).toBe(0)
      expect(list.stdout).toMatch(/^RUN\s+WORKFLOW\s+STATUS\s+STARTED\s+DURATION/)
      expect(list.stdout).toMatch(/r-1\s+demo-flow\s+compensated/)
      const filtered = yield* inProcess(["runs", "list", "--store", t.db, "--status", "succeeded"], t.options)
      expect(filtered.stdout).toBe("no runs\n")

      const show = yield* inProcess(["runs", "show", "r-1", "--store", t.db], t.options)
      expect(show.code).toBe(0)
      expect(show.stdout).toMatch(/run r-1\s+demo-flow\s+compensated/)
      expect(show.stdout).toMatch(/target\s+environment variables/)
      expect(show.stdout).toMatch(/definition\s+.*flow\.yaml \(sha256 [0-9a-f]{12}\)/)
      expect(show.stdout).toMatch(/\+\d+\.\d{3}s\s+step boom attempt 1 failed after \d+ ms: HTTP 503: the service is down/)
      expect(show.stdout).toMatch(/step boom retry: attempt 2 in \d+ ms/)
      expect(show.stdout).toMatch(/undo record started: delete the record/)
      expect(show.stdout).toMatch(/undo record succeeded/)
      expect(show.stdout).toContain("failed and compensated")

      const json = yield* inProcess(["runs", "show", "r-1", "--store", t.db, "--json"], t.options)
      const parsed = JSON.parse(json.stdout) as { run: { status: string }; events: Array<{ _tag: string; seq: number }> }
      expect(parsed.run.status).toBe("compensated")
      expect(parsed.events.map((e) => e._tag)).toContain("RetryScheduled")

      const missing = yield* inProcess(["runs", "show", "r-404", "--store", t.db], t.options)
      expect(missing.code).toBe(2)
      expect(missing.stderr).toContain(`no run with id "r-404"`)
    }))

  it.live("list on a store that does not exist creates nothing", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      const db = Path.join(dir, "none", "relais.db")
      const result = yield* inProcess(["runs", "list", "--store", db])
      expect(result.code).toBe(0)
      expect(result.stdout).toContain("no runs (there is no run store at")
      expect(Fs.existsSync(Path.dirname(db))).toBe(false)
    }))

  it.live("RELAIS_STORE chooses the store when --store is absent", () =>
    Effect.gen(function*() {
      const t = setup(flow(`  - id: echo
    uses: demo/echo
    with: { message: hi }
`))
      const run = yield* inProcess(["run", t.file, "--run-id", "env-store"], { ...t.options, env: { RELAIS_STORE: t.db } })
      expect(run.code).toBe(0)
      const list = yield* inProcess(["runs", "list", "--json"], { ...t.options, env: { RELAIS_STORE: t.db } })
      expect((JSON.parse(list.stdout) as Array<{ id: string }>).map((r) => r.id)).toEqual(["env-store"])
    }))
})

describe("secrets", () => {
  it.live("a secret from the configuration never reaches the output or the SQLite files", () =>
    Effect.gen(function*() {
      const canary = "canary-Zx81-never-print-me"
      const t = setup(flow(`  - id: echo
    uses: demo/echo
    with: { message: "token is \${{ inputs.name }}" }
  - id: boom
    uses: demo/fail
    with: { message: "rejected \${{ inputs.name }}" }
`))
      // A plugin's secret, read from the profile (registered with the Redactor as it is read),
      // even though this workflow does not use that plugin.
      const config = writeFile(t.dir, "relais.config.yaml", `profiles:
  preprod:
    counter: { url: https://counter.example.org, token: { env: COUNTER_TOKEN } }
`)
      const result = yield* inProcess(
        ["run", t.file, "--store", t.db, "--config", config, "--profile", "preprod", "--input", `name=${canary}`, "--json"],
        { plugins: [...t.options.plugins!, Counter.make()], env: { COUNTER_TOKEN: canary } }
      )
      expect(result.code).toBe(1)
      // The run happened and recorded the (masked) values.
      expect(result.stdout).toContain("rejected [redacted]")
      expect(result.stdout).not.toContain(canary)
      expect(result.stderr).not.toContain(canary)
      const show = yield* inProcess(["runs", "show", "--store", t.db, JSON.parse(result.stdout.trim().split("\n").pop()!).id as string])
      expect(show.stdout).not.toContain(canary)
      const bytes = storeBytes(t.db)
      expect(bytes).toContain("rejected [redacted]")
      expect(bytes).not.toContain(canary)
      expect(bytes).not.toContain(Buffer.from(canary).toString("base64").replace(/=+$/, ""))
    }))
})
