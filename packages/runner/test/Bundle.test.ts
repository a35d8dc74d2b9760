/**
 * What each file of the bundled binary is made of (`dist/bundle/inputs.json`, written by
 * `bundle.mjs`): the entry holds nothing from node_modules, and the commands that run no
 * workflow hold none of the engine, the cluster, SQL, the sandboxes or an HTTP server.
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
      ["config", "graph", "resume", "run", "runs-list", "runs-show", "sandbox", "schema", "steps", "validate"].map((c) => `bundle/${c}.cjs`)
    )
    for (const command of ["validate", "graph", "steps", "schema", "config"]) {
      const packages = packagesOf(all[`bundle/${command}.cjs`]!)
      for (const heavy of ["@effect/cluster", "@effect/sql", "@effect/sql-sqlite-node", "@effect/rpc", "@relais/sandbox-kit", "ws", "better-sqlite3"]) {
        expect(packages.has(heavy), `${command} holds ${heavy}`).toBe(false)
      }
      expect(all[`bundle/${command}.cjs`]!.some((f) => /\/sandbox\/|Engine\.ts$|NodeHttpServer/.test(f)), command).toBe(false)
    }
    expect(packagesOf(all["bundle/run.cjs"]!).has("@effect/cluster")).toBe(true)
  }, 600_000)
})
