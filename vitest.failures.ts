import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import type { Reporter, TestModule } from "vitest/node"

/**
 * Where each package's failed tests are written, for `scripts/test-failures.mjs` to print them
 * again at the very end of `pnpm test`. turbo streams every package's output as it comes, so a
 * failure printed early by one package is buried under the others' thousands of lines; CI shows
 * only the tail of the output. Cleared by `pnpm test` before it runs.
 */
const repoRoot = Path.dirname(fileURLToPath(import.meta.url))
export const failuresDir = Path.join(repoRoot, ".test-failures")

/** A few lines of an error: its message, and the first stack frame in the project's own tests or sources. */
const describeError = (error: { readonly message?: string; readonly stack?: string } | undefined): Array<string> => {
  if (error === undefined) return ["(no error recorded)"]
  const message = (error.message ?? String(error)).split("\n").slice(0, 8).map((line) => `    ${line}`)
  const frame = (error.stack ?? "").split("\n").find((line) => /^\s*at .*\/(test|src)\//.test(line) && !line.includes("node_modules"))
  return frame === undefined ? message : [...message, `    ${frame.trim()}`]
}

/**
 * A vitest reporter that writes, once the run ended, what failed: the failed tests with their
 * first error, a hook or a module that failed, and errors that escaped every test.
 */
export class FailureSummary implements Reporter {
  private root = process.cwd()

  onInit(vitest: { readonly config: { readonly root: string } }) {
    this.root = vitest.config.root
  }

  onTestRunEnd(
    modules: ReadonlyArray<TestModule>,
    unhandled: ReadonlyArray<{ readonly message?: string; readonly stack?: string }>
  ) {
    const lines: Array<string> = []
    for (const module of modules) {
      const file = Path.relative(this.root, module.moduleId)
      for (const error of module.errors()) lines.push(`✗ ${file} (the file itself)`, ...describeError(error))
      for (const suite of module.children.allSuites()) {
        for (const error of suite.errors()) lines.push(`✗ ${file} > ${suite.fullName} (a hook)`, ...describeError(error))
      }
      for (const test of module.children.allTests("failed")) {
        const errors = test.result().errors ?? []
        lines.push(`✗ ${file} > ${test.fullName}`, ...describeError(errors[0]))
        if (errors.length > 1) lines.push(`    (and ${errors.length - 1} more error(s))`)
      }
    }
    // The same error outside the tests often comes many times (a worker's timeouts): once, counted.
    const outside = new Map<string, { readonly error: (typeof unhandled)[number]; count: number }>()
    for (const error of unhandled) {
      const key = error.message ?? String(error)
      const seen = outside.get(key)
      if (seen === undefined) outside.set(key, { error, count: 1 })
      else seen.count += 1
    }
    for (const { count, error } of outside.values()) {
      lines.push(count === 1 ? "✗ an error outside every test" : `✗ ${count} errors outside every test`, ...describeError(error))
    }
    const name = Path.relative(repoRoot, this.root)
    const target = Path.join(failuresDir, `${name.replaceAll(Path.sep, "-")}.txt`)
    if (lines.length === 0) {
      Fs.rmSync(target, { force: true })
      return
    }
    Fs.mkdirSync(failuresDir, { recursive: true })
    Fs.writeFileSync(target, [`${name}:`, ...lines, ""].join("\n"))
  }
}
