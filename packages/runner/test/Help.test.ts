/**
 * Help and usage messages, rendered from the command table: every option described, how often
 * it may be given said in words, nothing relais does not support, colours only when asked.
 */
import { Engine, Run } from "@relais/core"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"
import type * as Args from "../src/cli/Args.js"
import * as Commands from "../src/cli/Commands.js"
import * as Help from "../src/cli/Help.js"
import * as ExitCode from "../src/ExitCode.js"
import * as Style from "../src/Style.js"

const leaves = (node: Args.Node, path: ReadonlyArray<string>): Array<readonly [ReadonlyArray<string>, Args.Command]> =>
  node._tag === "Group"
    ? node.commands.flatMap((c) => leaves(c, [...path, c.name]))
    : [[path, node]]

const everyCommand = leaves(Commands.root, ["relais"])

const plain = { styleOut: Style.plain, styleErr: Style.plain, columns: 100 }

/** The help's table rows, each with its wrapped description joined back into one line. */
const rows = (text: string): Array<string> =>
  text.split("\n").reduce<Array<string>>((acc, line) => {
    if (/^ {6,}\S/.test(line) && acc.length > 0) acc[acc.length - 1] = `${acc[acc.length - 1]} ${line.trim()}`
    else acc.push(line)
    return acc
  }, [])

describe("help", () => {
  it("the overview lists every command with its arguments, and nothing relais does not explain", () => {
    const text = Help.help(["relais"], Commands.root, Style.plain, 100)
    for (const [path, command] of everyCommand) {
      expect(text).toContain(`${path.slice(1).join(" ")}`)
      expect(text).toContain(command.summary.slice(0, 40))
    }
    expect(text).not.toMatch(/--wizard|--completions|--log-level|user-defined piece of text/i)
  })

  it("every option of every command is listed with its own description and how often it may be given", () => {
    for (const [path, command] of everyCommand) {
      const text = Help.help(path, command, Style.plain, 80)
      for (const option of Object.values(command.options as Record<string, Args.AnyOption>)) {
        expect(option.description.length, `${path.join(" ")} --${option.name}`).toBeGreaterThan(10)
        const line = rows(text.slice(text.indexOf("\noptions\n"))).find((l) => l.trimStart().replace(/^-\w, /, "").startsWith(`--${option.name}`))
        expect(line, `${path.join(" ")} --${option.name}`).toBeDefined()
        expect(line!.replace(/\s+/g, " ")).toContain(option.description.replace(/\s+/g, " "))
        const note = option.cardinality === "repeatable"
          ? "Optional, repeatable."
          : option.cardinality === "optional"
          ? "Optional."
          : option.cardinality === "default"
          ? `Optional, default ${String(option.default)}.`
          : ""
        expect(line).toContain(note)
      }
    }
  })

  it("repeatable options say so and are not shown as required", () => {
    const text = rows(Help.help(["relais", "run"], Commands.run, Style.plain, 80)).join("\n")
    expect(text).toMatch(/--input <name=value>\s+A workflow input.*Optional, repeatable\./)
    expect(text).toMatch(/--fault <plugin:rule>\s+.*Optional, repeatable\./)
    expect(text).toMatch(/--sandbox-set <plugin:name=value>\s+.*Optional, repeatable\./)
    expect(text).toMatch(/--store <file\|url>\s+.*Optional\./)
    expect(text).toContain("usage: relais run <file> [options]")
    expect(text).not.toMatch(/required/i)
  })

  it("no escape sequence in plain style; colours only with the ANSI style", () => {
    for (const [path, command] of [[["relais"], Commands.root] as const, ...everyCommand]) {
      expect(Help.help(path, command, Style.plain, 80)).not.toContain("\x1b")
    }
    expect(Help.help(["relais"], Commands.root, Style.ansi, 80)).toContain("\x1b[1m")
  })
})

describe("answers", () => {
  it("--version prints the package's version", () => {
    const pkg = JSON.parse(Fs.readFileSync(Path.join(import.meta.dirname, "../package.json"), "utf8")) as { version: string }
    expect(Help.answer({ _tag: "Version" }, plain)).toEqual({ stdout: `${pkg.version}\n`, stderr: "", code: 0 })
  })

  it("a usage error: the problem, the usage line, where to look; on stderr, exit 2", () => {
    const answer = Help.answer({ _tag: "UsageError", path: ["relais", "run"], node: Commands.run, message: `unknown option "--bogus" for relais run` }, plain)!
    expect(answer).toEqual({
      stdout: "",
      stderr: `error: unknown option "--bogus" for relais run\nusage: relais run <file> [options]\nrelais run --help shows its arguments and options\n`,
      code: ExitCode.invalid
    })
  })

  it("help asked for goes to stdout (exit 0); help because the line stopped short to stderr (exit 2)", () => {
    expect(Help.answer({ _tag: "Help", path: ["relais"], node: Commands.root, requested: true }, plain)).toMatchObject({ stderr: "", code: 0 })
    expect(Help.answer({ _tag: "Help", path: ["relais"], node: Commands.root, requested: false }, plain)).toMatchObject({ stdout: "", code: 2 })
  })
})

describe("the table agrees with the rest of relais", () => {
  it("the default store, the run statuses and the exit codes", () => {
    expect(Commands.defaultStore).toBe(Engine.defaultFilename)
    expect([...Commands.runStatuses].sort()).toEqual([...Run.RunStatus.literals].sort())
    // Every code ExitCode defines is listed, once.
    const defined = Object.values(ExitCode as Record<string, unknown>).filter((v): v is number => typeof v === "number").sort((a, b) => a - b)
    expect(Help.exitCodes.map(([code]) => code)).toEqual(defined)
  })
})

describe("Style.forStream", () => {
  it("colours only on a terminal, and never under NO_COLOR or TERM=dumb", () => {
    expect(Style.forStream({ isTTY: true }, {})).toBe(Style.ansi)
    expect(Style.forStream({ isTTY: false }, {})).toBe(Style.plain)
    expect(Style.forStream({}, {})).toBe(Style.plain)
    expect(Style.forStream({ isTTY: true }, { NO_COLOR: "1" })).toBe(Style.plain)
    expect(Style.forStream({ isTTY: true }, { NO_COLOR: "" })).toBe(Style.ansi)
    expect(Style.forStream({ isTTY: true }, { TERM: "dumb" })).toBe(Style.plain)
  })
})
