/**
 * The runner works from the plugin contract alone: a plugin it has never heard of (the counter
 * plugin of `support/CounterPlugin.ts`, written as an outside team would) gets its layer built
 * from its configuration (environment variables, a profile) or from its sandbox (`--sandbox`),
 * its sandbox's settings and faults from `--sandbox-set` and `--fault`, its data kept with the
 * run for `resume`, and its label in banners and errors. In-process, with a real SQLite engine
 * and the plugin's real HTTP sandbox.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Cli from "../src/Cli.js"
import { edge, inProcess, type InProcessOptions, storeBytes, tmpDir, writeFile } from "./harness/Cli.js"
import * as Counter from "./support/CounterPlugin.js"

const workflow = `version: 1
name: counting
steps:
  - id: first
    uses: counter/bump
    with: { name: a }
  - id: second
    uses: counter/bump
    with: { name: b }
outputs:
  a: \${{ steps.first.output.value }}
  b: \${{ steps.second.output.value }}
`

const setup = (plugin = Counter.make()) => {
  const dir = tmpDir("relais-plugin-")
  const file = writeFile(dir, "counting.yaml", workflow)
  const db = Path.join(dir, "relais.db")
  const options: InProcessOptions = { plugins: [plugin] }
  return { dir, file, db, options }
}

/** Until the captured text matches (a line the command writes when it gets there). */
const waitFor = (read: () => string, pattern: RegExp) =>
  Effect.gen(function*() {
    while (!pattern.test(read())) yield* Effect.sleep("20 millis")
    return pattern.exec(read())!
  }).pipe(Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error(`no ${pattern} in:\n${read()}`) }))

describe("--sandbox with any plugin", () => {
  it.live("starts the sandbox of each plugin the workflow uses, with its settings, and builds the plugin's layer from the configuration it hands back", () =>
    Effect.gen(function*() {
      const t = setup()
      const result = yield* inProcess(["run", t.file, "--sandbox", "--sandbox-set", "counter:step=5", "--store", t.db, "--run-id", "run_set"], t.options)
      expect(result.stderr).toMatch(/sandboxes: Counter service http:\/\/127\.0\.0\.1:\d+; step: 5\n/)
      expect(result.stdout).toMatch(/a\s+5\n\s+b\s+5/)
      expect(result.code).toBe(0)
      // The sandbox's own credentials are registered secrets: never in the output or the store.
      expect(result.stdout + result.stderr).not.toContain(Counter.sandboxToken)
      expect(storeBytes(t.db)).not.toContain(Counter.sandboxToken)
      // The run has ended: nothing is kept for a resume.
      expect(Fs.existsSync(Path.join(t.dir, "sandboxes", "run_set"))).toBe(false)
    }))

  it.live("a fault goes to the plugin's sandbox: the step fails (exit 1), the banner lists the fault", () =>
    Effect.gen(function*() {
      const t = setup()
      const result = yield* inProcess(["run", t.file, "--sandbox", "--fault", "counter:POST /counters/b 503 x1", "--store", t.db], t.options)
      expect(result.stderr).toContain("; faults: counter: POST /counters/b 503 x1")
      expect(result.stdout).toContain("cause: step second (counter/bump)")
      expect(result.code).toBe(1)
    }))

  it.live("usage errors name the plugins and settings there are (exit 2, before anything starts)", () =>
    Effect.gen(function*() {
      const t = setup()
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [
          ["--sandbox", "--sandbox-set", "counter:stp=5"],
          `error: --sandbox-set counter:stp=5: the Counter service sandbox has no setting "stp" (did you mean "step"?); its settings: step (a positive integer; default 1)`
        ],
        [["--sandbox", "--sandbox-set", "counter:step=zero"], `error: --sandbox-set counter:step=zero: step "zero" is not a positive integer`],
        [
          ["--sandbox", "--sandbox-set", "countr:step=2"],
          `error: --sandbox-set "countr:step=2": expected <plugin>:<name>=<value>, where <plugin> is one with a sandbox: counter (did you mean "counter"?)`
        ],
        [["--sandbox", "--sandbox-set", "counter:step"], `error: --sandbox-set "counter:step": expected <plugin>:<name>=<value>`],
        [
          ["--sandbox", "--fault", "countr:* 503"],
          `error: --fault "countr:* 503": expected <plugin>:<rule>, where <plugin> is one with a sandbox: counter (did you mean "counter"?), e.g. --fault "counter:* latency:200"`
        ],
        [["--sandbox", "--fault", "counter:POST /x 404"], `error: --fault: Invalid fault "POST /x 404"`],
        [["--sandbox-set", "counter:step=2"], "error: --sandbox-set sets how a sandbox behaves: add --sandbox"]
      ]
      for (const [args, message] of cases) {
        const result = yield* inProcess(["run", t.file, ...args, "--store", t.db], t.options)
        expect([args.join(" "), result.stderr]).toEqual([args.join(" "), expect.stringContaining(message)])
        expect(result.code).toBe(2)
      }
      expect(Fs.existsSync(t.db)).toBe(false)
    }))

  it.live("a plugin that needs services but has no sandbox cannot run under --sandbox (exit 2, named by its label)", () =>
    Effect.gen(function*() {
      const t = setup(Counter.make({ withSandbox: false }))
      const result = yield* inProcess(["run", t.file, "--sandbox", "--store", t.db], t.options)
      expect(result.stderr).toContain("error: Counter service (sandbox): it has no sandbox, and the workflow uses its steps")
      expect(result.code).toBe(2)
    }))

  it.scopedLive("a resumed run meets the same sandbox: its data restored from <store>/sandboxes/<run>/<plugin>.json, its settings kept; another setting is refused", () =>
    Effect.gen(function*() {
      const t = setup()
      const runId = "run_resumed"
      const { capture, layer } = edge(t.options)
      // The second bump hangs: the run is stopped there, after the first committed.
      const fiber = yield* Cli.main([
        "node", "relais", "run", t.file, "--sandbox", "--store", t.db, "--run-id", runId,
        "--sandbox-set", "counter:step=5", "--fault", "counter:POST /counters/b hang"
      ]).pipe(Effect.provide(layer), Effect.fork)
      yield* Effect.addFinalizer(() => Fiber.interrupt(fiber))
      yield* waitFor(capture.stderr, /step second started/)
      yield* Fiber.interrupt(fiber)
      const kept = Path.join(t.dir, "sandboxes", runId)
      expect(JSON.parse(Fs.readFileSync(Path.join(kept, "settings.json"), "utf8"))).toMatchObject({ state: { counter: { step: "5" } } })
      expect(Fs.existsSync(Path.join(kept, "counter.json"))).toBe(true)

      const other = yield* inProcess(["resume", runId, "--sandbox", "--sandbox-set", "counter:step=3", "--store", t.db], t.options)
      expect(other.stderr).toContain(
        "error: --sandbox-set counter:step=3: this run's sandboxes were started with --sandbox-set counter:step=5, and a resumed run goes on with the same sandboxes; leave the flag out"
      )
      expect(other.code).toBe(2)

      // The same setting written another way (its canonical form is the same) is accepted.
      const resumed = yield* inProcess(["resume", runId, "--sandbox", "--sandbox-set", "counter:step=05", "--store", t.db], t.options)
      expect(resumed.stderr).toMatch(/sandboxes: Counter service http:\/\/127\.0\.0\.1:\d+; step: 5; their data restored from /)
      // `a` was bumped once by the first execution (5, replayed), `b` once now (5, not 10: the
      // hung request never reached the counters).
      expect(resumed.stdout).toMatch(/a\s+5\n\s+b\s+5/)
      expect(resumed.code).toBe(0)
      expect(Fs.existsSync(kept)).toBe(false)
    }))

  it.scopedLive("a run whose plugin's sandbox data is missing cannot be resumed (exit 4, what to do instead)", () =>
    Effect.gen(function*() {
      const t = setup()
      const runId = "run_lost"
      const { capture, layer } = edge(t.options)
      const fiber = yield* Cli.main([
        "node", "relais", "run", t.file, "--sandbox", "--store", t.db, "--run-id", runId, "--fault", "counter:POST /counters/b hang"
      ]).pipe(Effect.provide(layer), Effect.fork)
      yield* Effect.addFinalizer(() => Fiber.interrupt(fiber))
      yield* waitFor(capture.stderr, /step second started/)
      yield* Fiber.interrupt(fiber)
      Fs.rmSync(Path.join(t.dir, "sandboxes", runId, "counter.json"))
      const result = yield* inProcess(["resume", runId, "--sandbox", "--store", t.db], t.options)
      expect(result.stderr).toContain(`error: run ${runId} used in-process sandboxes whose data ended with the process`)
      expect(result.stderr).toContain(`Start it again instead: relais run ${t.file} --sandbox --store ${t.db}`)
      expect(result.code).toBe(4)
    }))
})

describe("a plugin configured from the environment", () => {
  /** The plugin's sandbox, started here as a service the run is pointed at by variables. */
  const service = Effect.map(Counter.sandbox.start({ faults: [], settings: {} }), (running) => running.url)

  it.scopedLive("its layer is built from its decoded section, its endpoint is in the banner by its label, its token never shown", () =>
    Effect.gen(function*() {
      const url = yield* service
      const t = setup()
      const env = { COUNTER_URL: url, COUNTER_TOKEN: Counter.sandboxToken }
      const result = yield* inProcess(["run", t.file, "--store", t.db], { ...t.options, env })
      expect(result.stderr).toContain(`target: environment variables (Counter service ${url})`)
      expect(result.stdout).toMatch(/a\s+1\n\s+b\s+1/)
      expect(result.code).toBe(0)
      expect(result.stdout + result.stderr).not.toContain(Counter.sandboxToken)
      expect(storeBytes(t.db)).not.toContain(Counter.sandboxToken)
    }))

  it.scopedLive("a layer that refuses its configuration is a setup error naming the plugin and where the values came from (exit 4)", () =>
    Effect.gen(function*() {
      const t = setup()
      const env = { COUNTER_URL: "ftp://counter.example.org", COUNTER_TOKEN: "secret-token-value" }
      const result = yield* inProcess(["run", t.file, "--store", t.db], { ...t.options, env })
      expect(result.stderr).toContain(`error: Counter service (environment variables): url "ftp://counter.example.org" is not an http(s) URL`)
      expect(result.stderr).not.toContain("secret-token-value")
      expect(result.code).toBe(4)
    }))

  it.live("a plugin the workflow does not use needs no configuration; one it uses does (exit 4)", () =>
    Effect.gen(function*() {
      const t = setup()
      const other = writeFile(t.dir, "other.yaml", "version: 1\nname: nothing\nsteps: []\n")
      const unused = yield* inProcess(["run", other, "--store", t.db], t.options)
      expect(unused.stderr).not.toContain("Counter")
      const used = yield* inProcess(["run", t.file, "--store", t.db], t.options)
      expect(used.code).toBe(4)
      expect(used.stderr).toContain("COUNTER_URL")
    }))
})

describe("relais sandbox with any plugin", () => {
  it.live("--list says what each sandbox offers: its settings with their values and defaults, a fault example", () =>
    Effect.gen(function*() {
      const t = setup()
      const result = yield* inProcess(["sandbox", "--list"], t.options)
      expect(result.stdout).toContain("Counter service sandbox (counter): a counter service on 127.0.0.1")
      expect(result.stdout).toContain(`fault, e.g.  --fault "counter:POST /counters/a 503 x1"`)
      expect(result.stdout).toContain("--sandbox-set counter:step=<value>  (a positive integer; default 1)")
      expect(result.code).toBe(0)
      const json = yield* inProcess(["sandbox", "--list", "--json"], t.options)
      expect(JSON.parse(json.stdout)).toEqual({
        type: "sandboxes",
        sandboxes: [{
          plugin: "counter",
          label: "Counter service",
          description: "a counter service on 127.0.0.1",
          faultExample: "POST /counters/a 503 x1",
          settings: [{ name: "step", description: "how much each bump adds", values: "a positive integer", default: "1" }]
        }]
      })
    }))

  it.scopedLive("serves the sandboxes with their settings and faults, and gives their configuration as variables", () =>
    Effect.gen(function*() {
      const t = setup()
      const { capture, layer } = edge(t.options)
      const fiber = yield* Cli.main(["node", "relais", "sandbox", "--json", "--sandbox-set", "counter:step=2", "--fault", "counter:POST /counters/x 503 x1"])
        .pipe(Effect.provide(layer), Effect.fork)
      // Stopped however the test ends.
      yield* Effect.addFinalizer(() => Fiber.interrupt(fiber))
      const [line] = yield* waitFor(capture.stdout, /\{"type":"sandbox".*\}\n/)
      const info = JSON.parse(line) as {
        sandboxes: ReadonlyArray<{ plugin: string; url: string; settings: object; faults: Array<string>; env: Record<string, string> }>
      }
      const served = info.sandboxes[0]!
      expect(served).toMatchObject({ plugin: "counter", settings: { step: "2" }, faults: ["POST /counters/x 503 x1"] })
      expect(served.env).toEqual({ COUNTER_URL: served.url, COUNTER_TOKEN: Counter.sandboxToken })
      const bump = () =>
        Effect.promise(() => fetch(`${served.env.COUNTER_URL}/counters/x`, { method: "POST", headers: { authorization: `Bearer ${served.env.COUNTER_TOKEN}` } }))
      expect((yield* bump()).status).toBe(503) // the fault, once
      const second = yield* bump()
      expect(yield* Effect.promise(() => second.json())).toEqual({ value: 2 })
      yield* Fiber.interrupt(fiber)
    }))

  it.live("--plugin and --port name sandboxes there are (exit 2 otherwise)", () =>
    Effect.gen(function*() {
      const t = setup()
      const unknown = yield* inProcess(["sandbox", "--plugin", "countr"], t.options)
      expect(unknown.stderr).toContain(`error: --plugin countr: no such plugin; plugins with a sandbox: counter (did you mean "counter"?)`)
      expect(unknown.code).toBe(2)
      const port = yield* inProcess(["sandbox", "--port", "other:8080"], t.options)
      expect(port.stderr).toContain(`error: --port "other:8080": expected <plugin>:<port> for a sandbox served here (counter)`)
      expect(port.code).toBe(2)
      const range = yield* inProcess(["sandbox", "--port", "counter:70000"], t.options)
      expect(range.stderr).toContain(`error: --port "counter:70000": a port is between 0 and 65535`)
      expect(range.code).toBe(2)
    }))
})
