/**
 * Help and usage messages rendered from the command table: the overview (`relais --help`), a
 * command's help (`relais run --help`), and usage errors. Every option is listed with its
 * description and says whether it is repeatable, has a default or is required; colours only
 * come from the `Style` the caller chose for the stream (none under `NO_COLOR` or in a pipe).
 *
 * Dependency-free, like `Args`: the binary renders these before it loads anything else.
 *
 * @since 0.1.0
 */
import type * as Style from "../Style.js"
import * as Args from "./Args.js"
import * as Commands from "./Commands.js"

/**
 * What the binary prints and the code it exits with, for everything that is answered without
 * running a command.
 *
 * @since 0.1.0
 */
export interface Answer {
  readonly stdout: string
  readonly stderr: string
  readonly code: number
}

/**
 * How to render: a style for each stream and the terminal's width.
 *
 * @since 0.1.0
 */
export interface Render {
  readonly styleOut: Style.Style
  readonly styleErr: Style.Style
  readonly columns: number
}

/** Exit code of a usage error (`ExitCode.invalid`, checked by a test). */
const invalid = 2

/**
 * The exit codes, as the overview lists them (`ExitCode.ts` holds the values; a test checks
 * that both agree).
 *
 * @since 0.1.0
 */
export const exitCodes: ReadonlyArray<readonly [number, string]> = [
  [0, "succeeded (or the command did what it was asked)"],
  [1, "the run failed; every completed step was undone, or nothing needed undoing"],
  [2, "invalid usage or workflow; nothing was called"],
  [3, "compensation incomplete: the output lists what to undo by hand"],
  [4, "the environment is not ready: configuration, credentials, the run store"],
  [5, "finished, but some loop items failed and were set aside (they are listed)"],
  [70, "a bug in relais (please report it)"],
  [130, "interrupted (Ctrl-C): the run can be resumed"]
]

const environment: ReadonlyArray<readonly [string, string]> = [
  ["RELAIS_STORE", `the run store, a SQLite file or postgres://user@host:port/db (default: the configuration file's store, else ${Commands.defaultStore}); --store wins`],
  ["PGPASSWORD", "the password of a PostgreSQL store whose URL has none"],
  ["RELAIS_PROFILE", "the profile to run against; --profile wins"],
  ["RELAIS_CONFIG", "the configuration file; --config wins"],
  ["NO_COLOR", "no colours (there are none either when the output is not a terminal)"]
]

/** Word-wrap `text` to `width` columns (a long word stays whole). */
const wrap = (text: string, width: number): Array<string> => {
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line === "" ? word : `${line} ${word}`
  }
  if (line !== "") lines.push(line)
  return lines.length === 0 ? [""] : lines
}

/**
 * A two-column table: labels, then their descriptions wrapped beside them (or below a label
 * too long to leave room).
 */
const table = (rows: ReadonlyArray<readonly [string, string]>, columns: number, style: Style.Style): Array<string> => {
  const labelWidth = Math.min(Math.max(...rows.map(([label]) => label.length), 0), 28)
  const indent = 2 + labelWidth + 2
  const width = Math.max(30, Math.min(columns, 100) - indent)
  const out: Array<string> = []
  for (const [label, description] of rows) {
    const text = wrap(description, width)
    if (label.length > labelWidth) {
      out.push(`  ${style.bold(label)}`)
      out.push(...text.map((l) => `${" ".repeat(indent)}${l}`))
    } else {
      out.push(`  ${style.bold(label)}${" ".repeat(labelWidth - label.length + 2)}${text[0]}`)
      out.push(...text.slice(1).map((l) => `${" ".repeat(indent)}${l}`))
    }
  }
  return out
}

/**
 * The usage line of a command or group: `relais run <file> [options]`.
 *
 * @since 0.1.0
 */
export const usage = (path: ReadonlyArray<string>, node: Args.Node): string => {
  if (node._tag === "Group") return `${path.join(" ")} <command> [options]`
  const args = Object.values(node.args as Record<string, Args.AnyArgument>).map(Args.argumentLabel)
  const hasOptions = Object.keys(node.options).length > 0
  return [...path, ...args, ...(hasOptions ? ["[options]"] : [])].join(" ")
}

const optionRow = (o: Args.AnyOption): readonly [string, string] => {
  const label = `${o.alias !== undefined ? `-${o.alias}, ` : ""}--${o.name}${o.placeholder !== "" ? ` ${o.placeholder}` : ""}`
  // How often it may be given, said in words (a flag is optional by nature: nothing to say).
  const note = o.cardinality === "repeatable"
    ? " Optional, repeatable."
    : o.cardinality === "required"
    ? " Required."
    : o.cardinality === "default"
    ? ` Optional, default ${typeof o.default === "string" ? o.default : String(o.default)}.`
    : o.cardinality === "optional"
    ? " Optional."
    : ""
  return [label, `${o.description.endsWith(".") ? o.description : `${o.description}.`}${note}`]
}

const helpRow: readonly [string, string] = ["-h, --help", "Show this help"]

/** The commands of a group, with their arguments, as rows. */
const commandRows = (prefix: ReadonlyArray<string>, node: Args.Group): Array<readonly [string, string]> =>
  node.commands.flatMap((c): Array<readonly [string, string]> =>
    c._tag === "Group"
      ? commandRows([...prefix, c.name], c)
      : [[[...prefix, c.name, ...Object.values(c.args as Record<string, Args.AnyArgument>).map(Args.argumentLabel)].join(" "), c.summary]]
  )

/**
 * The help of a command or a group (the root group gives the overview).
 *
 * @since 0.1.0
 */
export const help = (path: ReadonlyArray<string>, node: Args.Node, style: Style.Style, columns: number): string => {
  const lines: Array<string> = []
  const width = Math.max(40, Math.min(columns, 100) - 2)
  if (path.length === 1) {
    lines.push(`relais ${Commands.version}: ${node.summary.charAt(0).toLowerCase()}${node.summary.slice(1)}`, "")
  } else {
    lines.push(...wrap(`${node.summary}.`, width), "")
  }
  lines.push(`${style.bold("usage:")} ${usage(path, node)}`)
  if (node.description.length > 0) lines.push("", ...node.description)
  if (node._tag === "Group") {
    lines.push("", style.bold("commands"), ...table(commandRows([], node), columns, style))
    lines.push("", style.bold("options"))
    lines.push(...table(path.length === 1 ? [helpRow, ["-V, --version", "Print the version"]] : [helpRow], columns, style))
    if (path.length === 1) {
      lines.push("", style.bold("environment"), ...table(environment, columns, style))
      lines.push("", style.bold("exit codes"), ...table(exitCodes.map(([code, text]) => [String(code), text]), columns, style))
      lines.push("", `${path[0]} <command> --help (or ${path[0]} help <command>) shows a command's arguments and options.`)
    } else {
      lines.push("", `${path.join(" ")} <command> --help shows a command's arguments and options.`)
    }
    return `${lines.join("\n")}\n`
  }
  const args = Object.values(node.args as Record<string, Args.AnyArgument>)
  if (args.length > 0) {
    lines.push("", style.bold("arguments"), ...table(args.map((a) => [Args.argumentLabel(a), a.arity === "optional" ? `${a.description} (optional)` : a.arity === "atLeastOne" ? `${a.description} (one or more)` : a.arity === "any" ? `${a.description} (any number)` : a.description]), columns, style))
  }
  const options = Object.values(node.options as Record<string, Args.AnyOption>)
  lines.push("", style.bold("options"), ...table([...options.map(optionRow), helpRow], columns, style))
  if (node.examples.length > 0) lines.push("", style.bold("examples"), ...node.examples.map((e) => `  ${e}`))
  return `${lines.join("\n")}\n`
}

/**
 * What the binary answers without running a command: the version, help, usage errors. `Run`
 * gives `undefined`: the command is to be run.
 *
 * @since 0.1.0
 */
export const answer = (parsed: Args.Parsed, render: Render): Answer | undefined => {
  switch (parsed._tag) {
    case "Version":
      return { stdout: `${Commands.version}\n`, stderr: "", code: 0 }
    case "Help":
      return parsed.requested
        ? { stdout: help(parsed.path, parsed.node, render.styleOut, render.columns), stderr: "", code: 0 }
        : { stdout: "", stderr: help(parsed.path, parsed.node, render.styleErr, render.columns), code: invalid }
    case "UsageError": {
      const style = render.styleErr
      const where = parsed.path.join(" ")
      return {
        stdout: "",
        stderr: [
          `${style.red("error:")} ${parsed.message}`,
          `${style.bold("usage:")} ${usage(parsed.path, parsed.node)}`,
          style.dim(`${where} --help shows ${parsed.node._tag === "Group" ? "the commands" : "its arguments and options"}`)
        ].join("\n") + "\n",
        code: invalid
      }
    }
    case "Run":
      return undefined
  }
}
