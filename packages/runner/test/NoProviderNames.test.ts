/**
 * The runner knows no provider by name (issue 9): outside `src/Plugins.ts`, the one list of the
 * built-in plugins, no source file of the runner mentions AIMAIRA or Campus Skills, in code or in
 * comments. Everything else works from the plugin registry (labels, configuration sections,
 * sandboxes, faults), so a provider can be added, removed or replaced without touching it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Path from "node:path"

const src = Path.resolve(import.meta.dirname, "..", "src")
const allowed = new Set([Path.join(src, "Plugins.ts")])
const names = /aimaira|campus[- ]?skills/i

const sources = (dir: string): ReadonlyArray<string> =>
  Fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = Path.join(dir, entry.name)
    return entry.isDirectory() ? sources(path) : /\.[cm]?[jt]s$/.test(entry.name) ? [path] : []
  })

describe("the runner names no provider", () => {
  it("finds the sources it checks, and the names where they are allowed", () => {
    expect(sources(src).length).toBeGreaterThan(20)
    expect(Fs.readFileSync(Path.join(src, "Plugins.ts"), "utf8")).toMatch(names)
  })

  it("no file of src/ but Plugins.ts mentions aimaira, campus-skills, campusSkills, AIMAIRA or Campus Skills", () => {
    const found = sources(src)
      .filter((file) => !allowed.has(file))
      .flatMap((file) =>
        Fs.readFileSync(file, "utf8").split("\n").flatMap((line, i) =>
          names.test(line) ? [`src/${Path.relative(src, file)}:${i + 1}: ${line.trim()}`] : []
        )
      )
    expect(found).toEqual([])
  })
})
