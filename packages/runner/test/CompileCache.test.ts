/**
 * Loading a CommonJS bundle with V8's code cache: the cache is written after a first load and
 * written anew when the bundle changes. (A cache V8 refuses is tested through the binary in
 * `Bin.test.ts`: in one process V8 reuses its own compiled code and never reads the file.)
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"
import * as CompileCache from "../src/cli/CompileCache.js"
import { tmpDir } from "./harness/Cli.js"

const bundle = (dir: string, value: string) => {
  const file = Path.join(dir, "demo.cjs")
  Fs.writeFileSync(file, `const Path = require("node:path"); exports.value = ${JSON.stringify(value)}; exports.where = Path.basename(__dirname); exports.self = module.exports === exports`)
  return file
}

const cacheFiles = (home: string) => {
  const dir = Path.join(home, "relais", "compile-cache")
  return Fs.existsSync(dir) ? Fs.readdirSync(dir) : []
}

describe("CompileCache.load", () => {
  it("loads a bundle as require would (exports, require, module, __dirname)", () => {
    const dir = tmpDir()
    const exports = CompileCache.load(bundle(dir, "one"), { NODE_DISABLE_COMPILE_CACHE: "1" })
    expect(exports).toEqual({ value: "one", where: Path.basename(dir), self: true })
  })

  it("writes the cache when the process ends, in XDG_CACHE_HOME, one file per bundle, and replaces it when the bundle changes", () => {
    const dir = tmpDir()
    const cache = tmpDir()
    const env = { XDG_CACHE_HOME: cache }
    const file = bundle(dir, "one")
    CompileCache.load(file, env)
    expect(cacheFiles(cache)).toEqual([])
    process.emit("exit", 0)
    const first = cacheFiles(cache)
    expect(first).toHaveLength(1)
    expect(first[0]).toMatch(new RegExp(`^demo\\.cjs-\\d+-\\d+-\\d+-${process.version.replace(/\./g, "\\.")}\\.v8$`))
    expect(Fs.statSync(Path.join(cache, "relais", "compile-cache")).mode & 0o777).toBe(0o700)
    // A second load uses it and has nothing to write.
    expect(CompileCache.load(file, env).value).toBe("one")
    process.emit("exit", 0)
    expect(cacheFiles(cache)).toEqual(first)
    // A new build of the bundle gets its own cache, even with its old time put back; the old
    // cache goes.
    const { atime, mtime } = Fs.statSync(file)
    Fs.writeFileSync(file, Fs.readFileSync(file, "utf8").replace("\"one\"", "\"two\""))
    Fs.utimesSync(file, atime, mtime)
    expect(CompileCache.load(file, env).value).toBe("two")
    process.emit("exit", 0)
    const second = cacheFiles(cache)
    expect(second).toHaveLength(1)
    expect(second).not.toEqual(first)
  })
})
