/**
 * CLI start-up benchmark (figures, not a test): the median wall-clock time of `relais` commands
 * as a user runs them (`node packages/runner/dist/bin.js ...`, after `pnpm build`), beside bare
 * `node -e 0`, with the goals of issue 8.
 *
 * run: pnpm bench:cli            (or: node --import tsx bench/cli.ts [--runs N] [--bin path])
 *
 * Each command runs once before it is timed (a first run writes the compile cache, as a user's
 * first command of a new version does).
 */
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const root = Path.resolve(import.meta.dirname, "..")
const argv = process.argv.slice(2)
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}
const runs = Number(flag("--runs") ?? 7)
const bin = Path.resolve(root, flag("--bin") ?? "packages/runner/dist/bin.js")
if (!Fs.existsSync(bin)) {
  console.error(`${bin} does not exist: run pnpm build first`)
  process.exit(2)
}

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-bench-cli-"))
const store = Path.join(dir, "relais.db")
// The example of the binary's own checkout (--bin may name another one, e.g. an older build).
const example = Path.resolve(Path.dirname(bin), "../../../examples/convention-apprentissage.yaml")

interface Sample {
  readonly ms: number
  readonly code: number | null
  readonly stderr: string
}

/** One child, timed from spawn to exit; its output is drained (as a pipe reader would). */
const once = (args: ReadonlyArray<string>): Promise<Sample> =>
  new Promise((resolve, reject) => {
    const start = performance.now()
    const child = spawn(process.execPath, args, {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stderr = ""
    child.stdout.resume()
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
    })
    child.on("error", reject)
    child.on("close", (code) => resolve({ ms: performance.now() - start, code, stderr }))
  })

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

interface Case {
  readonly label: string
  readonly args: ReadonlyArray<string>
  /** The goal in milliseconds, or a factor of bare node (`x2`). */
  readonly goal?: number | `x${number}`
  readonly expectCode?: number
}

const cases: ReadonlyArray<Case> = [
  { label: "node -e 0", args: ["-e", "0"] },
  { label: "relais --version", args: [bin, "--version"], goal: "x2" },
  { label: "relais --help", args: [bin, "--help"], goal: "x2" },
  { label: "relais validate <example>", args: [bin, "validate", example], goal: 400 },
  { label: "relais graph <example>", args: [bin, "graph", example], goal: 400 },
  { label: "relais steps", args: [bin, "steps"], goal: 400 },
  { label: "relais steps <one step>", args: [bin, "steps", "aimaira/create-convention"], goal: 400 },
  { label: "relais schema -o -", args: [bin, "schema", "-o", "-"], goal: 400 },
  { label: "relais run --sandbox <example>", args: [bin, "run", example, "--sandbox", "--store", store], goal: 1500 },
  { label: "relais runs list", args: [bin, "runs", "list", "--store", store], goal: 500 }
]

const rows: Array<ReadonlyArray<string>> = [["command", "median", "min", "max", "goal", ""]]
let node = 0
let missed = 0
console.error(`${runs} runs of each command, ${Os.cpus().length} CPUs, load ${Os.loadavg().map((l) => l.toFixed(2)).join(" ")}`)
for (const c of cases) {
  const samples: Array<Sample> = []
  await once(c.args)
  for (let i = 0; i < runs; i++) {
    const sample = await once(c.args)
    if (sample.code !== (c.expectCode ?? 0)) {
      console.error(`${c.label}: exit ${sample.code}\n${sample.stderr}`)
      process.exit(1)
    }
    samples.push(sample)
  }
  const ms = samples.map((s) => s.ms)
  const med = median(ms)
  if (c.label === "node -e 0") node = med
  const goal = c.goal === undefined ? undefined : typeof c.goal === "number" ? c.goal : node * Number(c.goal.slice(1))
  const ok = goal === undefined ? "" : med <= goal ? "ok" : "MISSED"
  if (ok === "MISSED") missed++
  rows.push([
    c.label,
    `${med.toFixed(0)} ms`,
    `${Math.min(...ms).toFixed(0)} ms`,
    `${Math.max(...ms).toFixed(0)} ms`,
    goal === undefined ? "" : `< ${goal.toFixed(0)} ms${typeof c.goal === "string" ? ` (${c.goal} node)` : ""}`,
    ok
  ])
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
for (const row of rows) console.log(row.map((cell, i) => i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)).join("  ").trimEnd())
Fs.rmSync(dir, { recursive: true, force: true })
process.exitCode = missed > 0 ? 1 : 0
