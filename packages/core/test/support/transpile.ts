/**
 * Child processes in tests run plain JavaScript: the package's TypeScript sources (and the
 * test's fixtures) transpiled once per test file, types erased without a type check.
 * `node --import tsx` costs seconds of CPU per process start on a loaded machine (every module
 * goes through its loader hooks); a transpiled child starts in a fraction of that.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import ts from "typescript"

export interface Transpiled {
  /** The output directory: `<dir>/src/index.js` for `<packageDir>/src/index.ts`, and so on. */
  readonly dir: string
  /** The transpiled file of a source file given relative to the package directory. */
  readonly file: (relative: string) => string
  readonly remove: () => void
}

const sourcesUnder = (dir: string): Array<string> =>
  Fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = Path.join(dir, entry.name)
    if (entry.isDirectory()) return sourcesUnder(path)
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : []
  })

/**
 * Transpile every `.ts` file under the given folders of a package into a fresh temporary
 * directory that resolves the package's dependencies (its `node_modules` is linked there).
 */
export const transpile = (packageDir: string, folders: ReadonlyArray<string>): Transpiled => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-transpiled-"))
  Fs.symlinkSync(Path.join(packageDir, "node_modules"), Path.join(dir, "node_modules"), "dir")
  Fs.writeFileSync(Path.join(dir, "package.json"), JSON.stringify({ type: "module" }))
  const compilerOptions: ts.CompilerOptions = {
    module: ts.ModuleKind.ESNext,
    target: ts.ScriptTarget.ES2022,
    verbatimModuleSyntax: true,
    sourceMap: false
  }
  for (const source of folders.flatMap((folder) => sourcesUnder(Path.join(packageDir, folder)))) {
    const { outputText } = ts.transpileModule(Fs.readFileSync(source, "utf8"), { compilerOptions, fileName: source })
    const target = Path.join(dir, Path.relative(packageDir, source)).replace(/\.ts$/, ".js")
    Fs.mkdirSync(Path.dirname(target), { recursive: true })
    Fs.writeFileSync(target, outputText)
  }
  return {
    dir,
    file: (relative) => Path.join(dir, relative).replace(/\.ts$/, ".js"),
    remove: () => Fs.rmSync(dir, { recursive: true, force: true })
  }
}
