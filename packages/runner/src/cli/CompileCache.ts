/**
 * Loading a bundled command with V8's code cache. Node 20 keeps no compiled code between runs
 * of an ES module (Node 22's `module.enableCompileCache` does); a CommonJS bundle compiled
 * through `vm.Script` can reuse the code V8 produced for it last time, which spares most of the
 * parsing and the lazy compilation of every function the command calls (about a third of the
 * start-up of `relais validate`).
 *
 * The cache lives in the user's own cache directory (`$XDG_CACHE_HOME/relais` or
 * `~/.cache/relais`), one file per bundle, keyed by the bundle file's identity (inode, size and
 * change time, which no one can set back) and by Node's version; V8 checks it again and refuses
 * one that does not match (then it is written anew).
 * It is written once, when the process ends, and only when it was missing or refused (older
 * caches of the same bundle are removed then). Anything
 * that goes wrong with it (no home, a read-only disk) only means no cache.
 * `NODE_DISABLE_COMPILE_CACHE` (Node's own switch) turns it off.
 *
 * Dependency-free: it runs before anything else is loaded.
 *
 * @since 0.1.0
 */
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Path from "node:path"
import * as Vm from "node:vm"

const cacheDirectory = (env: NodeJS.ProcessEnv): string | undefined => {
  if (env.NODE_DISABLE_COMPILE_CACHE !== undefined && env.NODE_DISABLE_COMPILE_CACHE !== "") return undefined
  const base = env.XDG_CACHE_HOME !== undefined && Path.isAbsolute(env.XDG_CACHE_HOME)
    ? env.XDG_CACHE_HOME
    : env.HOME !== undefined && env.HOME !== ""
    ? Path.join(env.HOME, ".cache")
    : undefined
  return base === undefined ? undefined : Path.join(base, "relais", "compile-cache")
}

const attempt = <A>(f: () => A): A | undefined => {
  try {
    return f()
  } catch {
    return undefined
  }
}

/**
 * Load a CommonJS bundle (as `require` would) and return its exports, compiled with the code
 * cache when there is one.
 *
 * @since 0.1.0
 */
export const load = (file: string, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> => {
  const source = Fs.readFileSync(file, "utf8")
  const directory = cacheDirectory(env)
  const stat = Fs.statSync(file)
  const cacheFile = directory === undefined
    ? undefined
    : Path.join(directory, `${Path.basename(file)}-${stat.ino}-${stat.size}-${Math.trunc(stat.ctimeMs * 1000)}-${process.version}.v8`)
  const cachedData = cacheFile === undefined ? undefined : attempt(() => Fs.readFileSync(cacheFile))
  const script = new Vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(cachedData !== undefined ? { cachedData } : {})
  })
  if (cacheFile !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
    // After the command: the cache then holds every function it compiled, not only the top level.
    process.once("exit", () =>
      attempt(() => {
        Fs.mkdirSync(directory!, { recursive: true, mode: 0o700 })
        const temporary = `${cacheFile}.${process.pid}.tmp`
        Fs.writeFileSync(temporary, script.createCachedData(), { mode: 0o600 })
        Fs.renameSync(temporary, cacheFile)
        const prefix = `${Path.basename(file)}-`
        for (const old of Fs.readdirSync(directory!)) {
          if (old.startsWith(prefix) && old !== Path.basename(cacheFile) && old.endsWith(".v8")) attempt(() => Fs.rmSync(Path.join(directory!, old)))
        }
      }))
  }
  const module = { exports: {} as Record<string, unknown> }
  const wrapper = script.runInThisContext() as (...args: ReadonlyArray<unknown>) => void
  wrapper(module.exports, createRequire(file), module, file, Path.dirname(file))
  return module.exports
}
