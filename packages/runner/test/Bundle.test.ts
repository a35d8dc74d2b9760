/**
 * What each file of the bundled binary is made of (`dist/bundle/inputs.json`, written by
 * `bundle.mjs`): the entry holds nothing from node_modules, the commands that run no workflow
 * hold none of the engine, the cluster, SQL, the sandboxes or an HTTP server, and only `run`,
 * `resume` and `sandbox` hold the plugins' sandboxes (loaded by a dynamic import, which the
 * other commands' bundles answer with a stub that says so).
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"
import { ensureBundle, packageDir } from "./harness/Cli.js"

const inputs = (): Record<string, ReadonlyArray<string>> => {
  ensureBundle()
  return JSON.parse(Fs.readFileSync(Path.join(packageDir, "dist", "bundle", "inputs.json"), "utf8")) as Record<string, ReadonlyArray<string>>
}

const packagesOf = (files: ReadonlyArray<string>) =>
  new Set(files.map((f) => /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(f)?.[1] ?? f.replace(/^\.\.\/([^/]+)\/src\/.*/, "@relais/$1").replace(/^src\/.*/, "@relais/runner")))

describe("the bundled binary", () => {
  it("bin.js answers --version, --help and usage errors with its own code only", () => {
    const bin = inputs()["bin.js"]!
    expect(bin.filter((f) => f.includes("node_modules"))).toEqual([])
    expect(bin).toContain("src/cli/Args.ts")
  }, 600_000)

  it("one file per command; those that run no workflow leave the engine, cluster, SQL and sandboxes out", () => {
    const all = inputs()
    expect(Object.keys(all).filter((k) => k.startsWith("bundle/")).sort()).toEqual(
      ["cancel", "config", "graph", "restart", "resume", "run", "runs-list", "runs-show", "sandbox", "schedules", "schema", "serve", "steps", "token-create", "ui", "validate", "worker"].map((c) => `bundle/${c}.cjs`)
    )
    for (const command of ["validate", "graph", "steps", "schema", "config"]) {
      const packages = packagesOf(all[`bundle/${command}.cjs`]!)
      for (const heavy of ["@effect/cluster", "@effect/sql", "@effect/sql-sqlite-node", "@effect/rpc", "@relais/sandbox-kit", "ws", "better-sqlite3"]) {
        expect(packages.has(heavy), `${command} holds ${heavy}`).toBe(false)
      }
      expect(all[`bundle/${command}.cjs`]!.some((f) => !f.startsWith("relais-unavailable:") && /\/sandbox\/|Engine\.ts$|NodeHttpServer/.test(f)), command)
        .toBe(false)
    }
    expect(packagesOf(all["bundle/run.cjs"]!).has("@effect/cluster")).toBe(true)
  }, 600_000)

  it("the plugins' sandboxes are in run, resume, cancel (it may continue a run) and sandbox only; elsewhere their dynamic import is a stub that says why", () => {
    const all = inputs()
    const sandboxModule = (f: string) => /^\.\.\/[^/]+\/src\/sandbox\/index\.ts$/.test(f)
    for (const command of ["run", "resume", "cancel", "restart", "sandbox"]) {
      const files = all[`bundle/${command}.cjs`]!
      expect(files.filter(sandboxModule).length, command).toBeGreaterThan(0)
      expect(packagesOf(files).has("@relais/sandbox-kit"), command).toBe(true)
      expect(files.some((f) => f.startsWith("relais-unavailable:")), command).toBe(false)
    }
    // `serve` and `ui` too: HTTP servers, but they start no sandbox.
    for (const command of ["validate", "graph", "steps", "schema", "config", "runs-list", "runs-show", "serve", "ui", "token-create"]) {
      const files = all[`bundle/${command}.cjs`]!
      expect(files.filter((f) => !f.startsWith("relais-unavailable:") && /\/sandbox\/|sandbox-kit\//.test(f)), command).toEqual([])
      expect(packagesOf(files).has("@relais/sandbox-kit"), command).toBe(false)
    }
    // The commands that load the plugins reach their `sandbox` imports, answered by the stub.
    for (const command of ["validate", "steps", "schema"]) {
      expect(all[`bundle/${command}.cjs`]!.filter((f) => f.startsWith("relais-unavailable:")).length, command).toBeGreaterThan(0)
      const text = Fs.readFileSync(Path.join(packageDir, "dist", "bundle", `${command}.cjs`), "utf8")
      expect(text, command).toContain("sandboxes are not available to this command")
    }
  }, 600_000)
})
