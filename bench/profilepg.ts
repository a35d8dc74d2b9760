/**
 * Where a relais run's CPU goes on PostgreSQL: a sampling CPU profile (the inspector's
 * `Profiler`) around runs of a workflow of no-op steps on `Engine.layerPostgres` (a worker engine
 * that starts, executes and awaits its own runs, as `bench:pg`'s grid does), in this process,
 * on an embedded PostgreSQL. Prints CPU ms per run and the self time grouped by package, then the
 * functions that take most. Figures only.
 *
 * usage: node --conditions=@relais/source --import tsx profilepg.ts [--steps 1] [--runs 400] [--in-flight 1] [--no-profile]
 */
import { Postgres } from "@relais/testing"
import * as Inspector from "node:inspector"
import * as Os from "node:os"
import { pool } from "./pg-worker.js"
import { relaisRunner } from "./pg-worker.js"

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`)
  return at >= 0 ? Number(process.argv[at + 1]) : fallback
}
const steps = arg("steps", 1)
const runs = arg("runs", 400)
const inFlight = arg("in-flight", 1)
const profile = !process.argv.includes("--no-profile")

interface Node {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: ReadonlyArray<number>
}

const where = (url: string): string => {
  if (url === "") return "(native/gc/idle)"
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg !== null) return pkg[1]!
  const own = /\/packages\/([^/]+)\//.exec(url)
  if (own !== null) return `@relais/${own[1]} (own)`
  if (url.startsWith("node:")) return "node"
  return url.replace(/^file:\/\/.*\/work\/main\//, "")
}

const main = async () => {
  const server = await Postgres.start({ durability: "durable" })
  const runner = await relaisRunner(await server.database("bench_profile"))
  try {
    await pool(Math.max(20, Math.round(400 / steps)), inFlight, () => runner.runOne(steps))
    const session = new Inspector.Session()
    session.connect()
    const post = (method: string, params?: object) =>
      new Promise<any>((resolve, reject) => session.post(method, params ?? {}, (error, result) => error ? reject(error) : resolve(result)))
    if (profile) {
      await post("Profiler.enable")
      await post("Profiler.setSamplingInterval", { interval: 200 })
      await post("Profiler.start")
    }
    const cpu = process.cpuUsage()
    const start = performance.now()
    await pool(runs, inFlight, () => runner.runOne(steps))
    const millis = performance.now() - start
    const used = process.cpuUsage(cpu)
    console.log(
      `${runs} runs of ${steps} step(s), ${inFlight} in flight: ${(millis / runs).toFixed(3)} ms/run wall, ` +
        `${((used.user + used.system) / 1000 / runs).toFixed(3)} ms/run CPU; load ${Os.loadavg().map((l) => l.toFixed(1)).join(" ")}`
    )
    if (profile) {
      const { profile: result } = await post("Profiler.stop")
      const nodes = new Map<number, Node>(result.nodes.map((n: Node) => [n.id, n]))
      const self = new Map<number, number>()
      const samples: Array<number> = result.samples
      const deltas: Array<number> = result.timeDeltas
      for (let i = 0; i < samples.length; i++) self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + (deltas[i] ?? 0))
      const byPackage = new Map<string, number>()
      const byFunction = new Map<string, number>()
      let total = 0
      for (const [id, micros] of self) {
        const node = nodes.get(id)!
        const name = node.callFrame.functionName
        if (name === "(idle)" || name === "(program)") continue
        total += micros
        const pkg = name === "(garbage collector)" ? "(gc)" : where(node.callFrame.url)
        byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + micros)
        const own = /\/packages\/([^?]+)/.exec(node.callFrame.url)
        const fn = `${name || "(anonymous)"} ${own !== null && !node.callFrame.url.includes("node_modules") ? own[1] : where(node.callFrame.url)}:${node.callFrame.lineNumber + 1}:${(node.callFrame as any).columnNumber + 1}`
        byFunction.set(fn, (byFunction.get(fn) ?? 0) + micros)
      }
      console.log(`sampled busy time ${(total / 1000 / runs).toFixed(3)} ms/run; by package (ms/run):`)
      for (const [pkg, micros] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 16)) {
        console.log(`  ${(micros / 1000 / runs).toFixed(3).padStart(7)}  ${pkg}`)
      }
      console.log("top functions (self, ms/run):")
      for (const [fn, micros] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
        console.log(`  ${(micros / 1000 / runs).toFixed(3).padStart(7)}  ${fn}`)
      }
      // Effect's own frames are the runtime working for whoever built the effect: a sample is
      // charged to the nearest frame up its stack that is not in \`effect\` (the code it runs for).
      const parent = new Map<number, number>()
      for (const node of nodes.values()) for (const child of node.children ?? []) parent.set(child, node.id)
      const byCaller = new Map<string, number>()
      for (const [id, micros] of self) {
        const leaf = nodes.get(id)!
        if (leaf.callFrame.functionName === "(idle)" || leaf.callFrame.functionName === "(program)") continue
        let at: number | undefined = id
        let caller = "(the runtime alone)"
        while (at !== undefined) {
          const node = nodes.get(at)!
          const pkg = where(node.callFrame.url)
          if (node.callFrame.url !== "" && pkg !== "effect") {
            caller = `${pkg} ${node.callFrame.functionName || "(anonymous)"}:${node.callFrame.lineNumber + 1}`
            break
          }
          at = parent.get(at)
        }
        if (leaf.callFrame.functionName === "(garbage collector)") caller = "(gc)"
        byCaller.set(caller, (byCaller.get(caller) ?? 0) + micros)
      }
      // Who calls the native frames that take most (writev, dispatch): their callers' chains.
      const chains = new Map<string, number>()
      for (const [id, micros] of self) {
        const leaf = nodes.get(id)!
        if (leaf.callFrame.functionName !== "writev" && leaf.callFrame.functionName !== "dispatch") continue
        const chain: Array<string> = []
        for (let at = parent.get(id); at !== undefined && chain.length < 8; at = parent.get(at)) {
          const node = nodes.get(at)!
          chain.push(`${node.callFrame.functionName || "(anon)"}@${where(node.callFrame.url)}`)
        }
        const key = `${leaf.callFrame.functionName} <- ${chain.join(" <- ")}`
        chains.set(key, (chains.get(key) ?? 0) + micros)
      }
      for (const [chain, micros] of [...chains].sort((a, b) => b[1] - a[1]).slice(0, 6)) {
        console.log(`  ${(micros / 1000 / runs).toFixed(3).padStart(7)}  ${chain}`)
      }
      console.log("by nearest caller outside effect (ms/run):")
      for (const [fn, micros] of [...byCaller].sort((a, b) => b[1] - a[1]).slice(0, 40)) {
        console.log(`  ${(micros / 1000 / runs).toFixed(3).padStart(7)}  ${fn}`)
      }
    }
  } finally {
    await runner.close()
    await server.stop()
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
