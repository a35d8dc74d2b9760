/**
 * The command-line parser against the real command table: values of every kind, what is
 * refused and how it is said (the typo echoed, a suggestion, exact integers), and help.
 */
import { describe, expect, it } from "vitest"
import * as Args from "../src/cli/Args.js"
import * as Commands from "../src/cli/Commands.js"

const parse = (...argv: ReadonlyArray<string>) => Args.parse(Commands.root, argv)

const run = (...argv: ReadonlyArray<string>) => {
  const parsed = parse(...argv)
  if (parsed._tag !== "Run") throw new Error(`expected a command, got ${JSON.stringify(parsed._tag === "UsageError" ? parsed.message : parsed._tag)}`)
  return parsed
}

const usageError = (...argv: ReadonlyArray<string>): string => {
  const parsed = parse(...argv)
  if (parsed._tag !== "UsageError") throw new Error(`expected a usage error, got ${parsed._tag}`)
  return parsed.message
}

describe("values", () => {
  it("a command's arguments and options, with their defaults, as a plain object", () => {
    const parsed = run("run", "flow.yaml", "--input", "a=1", "--input=b=x=y", "--sandbox", "--seed", "42", "--store", "s.db")
    expect(parsed.path).toEqual(["relais", "run"])
    expect(parsed.command).toBe(Commands.run)
    expect(parsed.values).toEqual({
      file: "flow.yaml",
      input: ["a=1", "b=x=y"],
      inputFile: undefined,
      profile: undefined,
      config: undefined,
      sandbox: true,
      seed: 42,
      fault: [],
      sandboxSet: [],
      store: "s.db",
      json: false,
      runId: undefined,
      detach: false
    })
  })

  it("groups, variadic and optional arguments, aliases, choices and defaults", () => {
    expect(run("runs", "list", "--status", "interrupted", "--status", "failed").values).toEqual({
      status: ["interrupted", "failed"],
      workflow: undefined,
      limit: 20,
      json: false,
      store: undefined
    })
    expect(run("validate", "a.yaml", "b.yaml", "--json").values).toEqual({ files: ["a.yaml", "b.yaml"], config: undefined, json: true })
    expect(run("steps").values).toEqual({ name: undefined, config: undefined, json: false })
    expect(run("schema", "-o", "-").values).toEqual({ what: undefined, output: "-", config: undefined })
    expect(run("schema", "config", "--config", "c.yaml").values).toEqual({ what: "config", output: undefined, config: "c.yaml" })
  })

  it("-- ends the options: what follows is an argument, even if it starts with a dash", () => {
    expect(run("validate", "--", "--weird.yaml").values).toEqual({ files: ["--weird.yaml"], json: false })
  })

  it("integers are exact: a value a double cannot hold is refused, never rounded", () => {
    expect(run("runs", "list", "--limit", "9007199254740991").values.limit).toBe(9007199254740991)
    const tooLarge = usageError("runs", "list", "--limit", "9007199254740993")
    expect(tooLarge).toContain(`--limit "9007199254740993": too large to be exact`)
    expect(tooLarge).not.toContain("9007199254740992")
    expect(usageError("run", "f.yaml", "--seed", "1e3")).toBe(`--seed "1e3": expected a whole number, e.g. --seed 1`)
    expect(usageError("runs", "list", "--limit", "0")).toBe(`--limit "0": must be at least 1`)
    const ported = Args.group({
      name: "relais",
      summary: "",
      commands: [Args.command({ name: "serve", summary: "", options: { port: Args.integer("port", { min: 0, max: 65535, description: "" }) } })]
    })
    const portError = Args.parse(ported, ["serve", "--port", "70000"])
    expect(portError._tag === "UsageError" && portError.message).toBe(`--port "70000": must be at most 65535 (and at least 0)`)
  })
})

describe("usage errors", () => {
  it("a mistyped command is echoed, with a suggestion", () => {
    expect(usageError("valdate", "x.yaml")).toBe(`unknown command "valdate" (did you mean "validate"?)`)
    expect(usageError("runs", "lst")).toBe(`unknown command "lst" for relais runs (did you mean "list"?)`)
    expect(usageError("frobnicate")).toBe(`unknown command "frobnicate"`)
  })

  it("a mistyped option is echoed, with a suggestion from that command's options", () => {
    expect(usageError("run", "f.yaml", "--sandbx")).toBe(`unknown option "--sandbx" for relais run (did you mean "--sandbox"?)`)
    expect(usageError("validate", "f.yaml", "--sandbox")).toBe(`unknown option "--sandbox" for relais validate`)
    expect(usageError("--json")).toContain(`unknown option "--json": a command comes first`)
  })

  it("a choice that is not one says which ones are, in words", () => {
    const message = usageError("runs", "list", "--status", "interupted")
    expect(message).toBe(
      `--status "interupted": expected one of ${Commands.runStatuses.join(", ")} (did you mean "interrupted"?)`
    )
    expect(message).not.toMatch(/Expected|actual/)
  })

  it("missing, extra and repeated values", () => {
    expect(usageError("run")).toBe("relais run needs <file>: the workflow file (YAML)")
    expect(usageError("validate")).toBe("relais validate needs at least one <file>")
    expect(usageError("run", "a.yaml", "app")).toBe(`unexpected argument "app": relais run takes <file>`)
    expect(usageError("config", "prod")).toBe(`unexpected argument "prod": relais config takes no argument`)
    expect(usageError("run", "a.yaml", "--store")).toBe("--store needs a value: --store <file|url>")
    expect(usageError("run", "a.yaml", "--store", "--json")).toBe("--store needs a value: --store <file|url>")
    expect(usageError("run", "a.yaml", "--store", "a", "--store", "b")).toBe("--store is given more than once; it takes one value")
    expect(usageError("run", "a.yaml", "--json=yes")).toBe(`--json takes no value (remove "=yes")`)
  })
})

describe("help and version", () => {
  it("--help anywhere wins over the rest of the line; help <command> is the same", () => {
    expect(parse("run", "--bogus", "--help")).toMatchObject({ _tag: "Help", path: ["relais", "run"], requested: true })
    expect(parse("help", "runs", "list")).toMatchObject({ _tag: "Help", path: ["relais", "runs", "list"], requested: true })
    expect(parse("-h")).toMatchObject({ _tag: "Help", path: ["relais"], requested: true })
    expect(parse("--version")).toEqual({ _tag: "Version" })
  })

  it("a line that stops short asks for help without having asked (stderr, exit 2)", () => {
    expect(parse()).toMatchObject({ _tag: "Help", path: ["relais"], requested: false })
    expect(parse("runs")).toMatchObject({ _tag: "Help", path: ["relais", "runs"], requested: false })
  })
})
