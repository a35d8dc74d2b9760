// Prints, at the end of a failed `pnpm test`, what each package's tests wrote in .test-failures/
// (vitest.failures.ts), then exits 1: the failures are the last thing in the output, where a CI
// log's tail shows them. Build and type-check failures are above, in turbo's own output.
import * as Fs from "node:fs"
import * as Path from "node:path"

const MAX_LINES = 70
const dir = Path.join(import.meta.dirname, "..", ".test-failures")
const files = Fs.existsSync(dir) ? Fs.readdirSync(dir).filter((f) => f.endsWith(".txt")).sort() : []
const lines = files.flatMap((f) => Fs.readFileSync(Path.join(dir, f), "utf8").trimEnd().split("\n"))
console.error("")
console.error("pnpm test failed. What failed:")
if (lines.length === 0) console.error("  no test failed: a build or type check did (see turbo's \"Failed:\" line above)")
for (const line of lines.slice(0, MAX_LINES)) console.error(`  ${line}`)
if (lines.length > MAX_LINES) console.error(`  … ${lines.length - MAX_LINES} more lines in .test-failures/`)
process.exit(1)
