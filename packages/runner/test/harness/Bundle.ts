/**
 * The bundled binary the child-process tests run (`dist/bin.js` and `dist/bundle/*.cjs`, made
 * by `bundle.mjs` from the sources of every workspace package), rebuilt when a source is newer.
 * Dependency-free, for vitest's global setup as well as the harness.
 */
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"

const packageDir = Path.resolve(import.meta.dirname, "../..")

/** The bundled binary (`bundle.mjs`), as `pnpm build` leaves it. */
export const binary = Path.join(packageDir, "dist", "bin.js")

const bundleOutputs = (): ReadonlyArray<string> => {
  const dir = Path.join(packageDir, "dist", "bundle")
  return [binary, ...(Fs.existsSync(dir) ? Fs.readdirSync(dir).filter((f) => f.endsWith(".cjs")).map((f) => Path.join(dir, f)) : [])]
}

/** The newest modification time among the files the bundle is made of. */
const newestSource = (): number => {
  const workspace = Path.resolve(packageDir, "..")
  let newest = Math.max(Fs.statSync(Path.join(packageDir, "bundle.mjs")).mtimeMs, Fs.statSync(Path.join(packageDir, "package.json")).mtimeMs)
  const visit = (dir: string): void => {
    for (const entry of Fs.readdirSync(dir, { withFileTypes: true })) {
      const path = Path.join(dir, entry.name)
      if (entry.isDirectory()) visit(path)
      else if (entry.name.endsWith(".ts")) newest = Math.max(newest, Fs.statSync(path).mtimeMs)
    }
  }
  for (const pkg of Fs.readdirSync(workspace)) {
    const src = Path.join(workspace, pkg, "src")
    if (Fs.existsSync(src)) visit(src)
  }
  return newest
}

const isFresh = (): boolean => {
  const outputs = bundleOutputs()
  if (outputs.length < 2 || !outputs.every((f) => Fs.existsSync(f))) return false
  return Math.min(...outputs.map((f) => Fs.statSync(f).mtimeMs)) >= newestSource()
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

let checked = false

/**
 * Make sure `dist/bin.js` is the bundle of the current sources: rebuild it if any source is
 * newer (one test worker at a time; the others wait for it).
 */
export const ensureBundle = (): void => {
  if (checked) return
  const lock = Path.join(packageDir, "dist", ".bundle-lock")
  for (let waited = 0; !isFresh(); waited += 250) {
    Fs.mkdirSync(Path.dirname(lock), { recursive: true })
    let mine = false
    try {
      Fs.mkdirSync(lock)
      mine = true
    } catch {
      // Another worker is building; a lock older than 5 minutes was left by a killed one.
      const held = Fs.statSync(lock, { throwIfNoEntry: false })
      if (held !== undefined && Date.now() - held.mtimeMs > 300_000) Fs.rmSync(lock, { recursive: true, force: true })
    }
    if (mine) {
      try {
        if (!isFresh()) execFileSync(process.execPath, [Path.join(packageDir, "bundle.mjs")], { cwd: packageDir, stdio: "pipe", timeout: 600_000 })
      } finally {
        Fs.rmSync(lock, { recursive: true, force: true })
      }
      break
    }
    if (waited > 600_000) throw new Error(`waited 10 minutes for another test worker to bundle relais (${lock})`)
    sleep(250)
  }
  checked = true
}

