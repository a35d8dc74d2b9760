/**
 * The command line, declared as data and parsed without any dependency: options and arguments
 * with their types, descriptions and how often they may be given; commands and groups of
 * commands; and `parse`, which turns `argv` into the chosen command and a plain object of
 * values, or into a usage error that says what is wrong and what was meant.
 *
 * It imports nothing but `Suggest` (itself dependency-free), so that `relais --version`,
 * `--help` and every usage error are answered before Effect or any command is loaded.
 *
 * @since 0.1.0
 */
import * as Suggest from "@relais/core/Suggest"

/**
 * What an option's or argument's value is: free text, an integer (exact: at most 2^53 - 1 in
 * size), one of a list of words, or nothing at all (a boolean flag).
 *
 * @since 0.1.0
 */
export type Kind = "text" | "integer" | "choice" | "boolean"

/**
 * How often an option may be given, and what its value is when it is absent:
 * - `flag`: a boolean, `false` when absent;
 * - `optional`: at most once, absent when not given;
 * - `default`: at most once, its default when not given;
 * - `required`: exactly once;
 * - `repeatable`: any number of times, a list in the order given.
 *
 * @since 0.1.0
 */
export type Cardinality = "flag" | "optional" | "default" | "required" | "repeatable"

declare const ValueType: unique symbol

/**
 * An option (`--name value`, `--name=value`, `-a value`, or `--name` for a flag).
 *
 * @since 0.1.0
 */
export interface Option<A, C extends Cardinality> {
  readonly _tag: "Option"
  /** The long name, without `--`. */
  readonly name: string
  /** A one-letter alias, without `-`. */
  readonly alias: string | undefined
  readonly kind: Kind
  /** What the value looks like in help and messages: `<file>`, `<name=value>`. */
  readonly placeholder: string
  readonly description: string
  readonly choices: ReadonlyArray<string> | undefined
  readonly min: number | undefined
  readonly max: number | undefined
  readonly cardinality: C
  readonly default: A | undefined
  /** Type-level only: the type of one value. */
  readonly [ValueType]?: A
}

/**
 * How many values a positional argument takes.
 *
 * @since 0.1.0
 */
export type Arity = "one" | "optional" | "atLeastOne" | "any"

/**
 * A positional argument (`<file>`).
 *
 * @since 0.1.0
 */
export interface Argument<A, N extends Arity> {
  readonly _tag: "Argument"
  /** The name shown in help and messages, without the angle brackets. */
  readonly name: string
  readonly kind: "text"
  readonly description: string
  readonly arity: N
  readonly [ValueType]?: A
}

/** @since 0.1.0 */
export type AnyOption = Option<any, Cardinality>
/** @since 0.1.0 */
export type AnyArgument = Argument<any, Arity>

/**
 * A command: what it is for (a one-line summary for the overview, a longer description for its
 * own help), its positional arguments in order, its options, and examples.
 *
 * @since 0.1.0
 */
export interface Command<
  O extends Readonly<Record<string, AnyOption>> = Readonly<Record<string, AnyOption>>,
  P extends Readonly<Record<string, AnyArgument>> = Readonly<Record<string, AnyArgument>>
> {
  readonly _tag: "Command"
  readonly name: string
  readonly summary: string
  readonly description: ReadonlyArray<string>
  readonly args: P
  readonly options: O
  readonly examples: ReadonlyArray<string>
}

/**
 * A group of commands (`relais runs list|show`, and `relais` itself).
 *
 * @since 0.1.0
 */
export interface Group {
  readonly _tag: "Group"
  readonly name: string
  readonly summary: string
  readonly description: ReadonlyArray<string>
  readonly commands: ReadonlyArray<Command<any, any> | Group>
}

/** @since 0.1.0 */
export type Node = Command<any, any> | Group

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

interface OptionConfig {
  readonly description: string
  readonly placeholder?: string | undefined
  readonly alias?: string | undefined
}

const option = <A>(name: string, kind: Kind, config: OptionConfig, placeholder: string, extra: Partial<Pick<AnyOption, "choices" | "min" | "max">> = {}): Option<A, "required"> => ({
  _tag: "Option",
  name,
  alias: config.alias,
  kind,
  placeholder: config.placeholder ?? placeholder,
  description: config.description,
  choices: extra.choices,
  min: extra.min,
  max: extra.max,
  cardinality: "required",
  default: undefined
})

/**
 * A text option, given exactly once unless made `optional`, `repeatable` or given a default.
 *
 * @since 0.1.0
 */
export const text = (name: string, config: OptionConfig): Option<string, "required"> => option(name, "text", config, "<text>")

/**
 * An integer option: digits with an optional sign, exact (a value that a double cannot hold
 * exactly, over 2^53 - 1, is refused rather than rounded), within `min`..`max` if given.
 *
 * @since 0.1.0
 */
export const integer = (
  name: string,
  config: OptionConfig & { readonly min?: number | undefined; readonly max?: number | undefined }
): Option<number, "required"> => option(name, "integer", config, "<n>", { min: config.min, max: config.max })

/**
 * An option whose value is one of `choices`.
 *
 * @since 0.1.0
 */
export const choice = <const C extends string>(
  name: string,
  choices: ReadonlyArray<C>,
  config: OptionConfig
): Option<C, "required"> => option(name, "choice", config, `<${choices.join("|")}>`, { choices })

/**
 * A boolean flag: `--name` sets it; absent, it is false.
 *
 * @since 0.1.0
 */
export const boolean = (name: string, config: OptionConfig): Option<boolean, "flag"> => ({
  ...option<boolean>(name, "boolean", config, ""),
  placeholder: "",
  cardinality: "flag",
  default: false
})

/**
 * At most once; absent when not given.
 *
 * @since 0.1.0
 */
export const optional = <A>(self: Option<A, "required">): Option<A, "optional"> => ({ ...self, cardinality: "optional" })

/**
 * Any number of times; the values in the order given.
 *
 * @since 0.1.0
 */
export const repeatable = <A>(self: Option<A, "required">): Option<A, "repeatable"> => ({ ...self, cardinality: "repeatable" })

/**
 * At most once; `value` when not given.
 *
 * @since 0.1.0
 */
export const withDefault = <A>(self: Option<A, "required">, value: A): Option<A, "default"> => ({
  ...self,
  cardinality: "default",
  default: value
})

/**
 * A positional argument.
 *
 * @since 0.1.0
 */
export const argument: {
  (name: string, config: { readonly description: string }): Argument<string, "one">
  <N extends Arity>(name: string, config: { readonly description: string; readonly arity: N }): Argument<string, N>
} = (name: string, config: { readonly description: string; readonly arity?: Arity }): Argument<string, any> => ({
  _tag: "Argument",
  name,
  kind: "text",
  description: config.description,
  arity: config.arity ?? "one"
})

/**
 * A command.
 *
 * @since 0.1.0
 */
export const command = <
  const O extends Readonly<Record<string, AnyOption>>,
  const P extends Readonly<Record<string, AnyArgument>> = {}
>(spec: {
  readonly name: string
  readonly summary: string
  readonly description?: ReadonlyArray<string> | undefined
  readonly args?: P | undefined
  readonly options: O
  readonly examples?: ReadonlyArray<string> | undefined
}): Command<O, P> => ({
  _tag: "Command",
  name: spec.name,
  summary: spec.summary,
  description: spec.description ?? [],
  args: spec.args ?? ({} as P),
  options: spec.options,
  examples: spec.examples ?? []
})

/**
 * A group of commands.
 *
 * @since 0.1.0
 */
export const group = (spec: {
  readonly name: string
  readonly summary: string
  readonly description?: ReadonlyArray<string> | undefined
  readonly commands: ReadonlyArray<Node>
}): Group => ({ _tag: "Group", name: spec.name, summary: spec.summary, description: spec.description ?? [], commands: spec.commands })

// -----------------------------------------------------------------------------
// Values
// -----------------------------------------------------------------------------

type OptionValue<O> = O extends Option<infer A, infer C> ? C extends "repeatable" ? ReadonlyArray<A>
  : C extends "optional" ? A | undefined
  : A
  : never

type ArgumentValue<P> = P extends Argument<infer A, infer N> ? N extends "atLeastOne" | "any" ? ReadonlyArray<A>
  : N extends "optional" ? A | undefined
  : A
  : never

/**
 * The plain values `parse` gives for a command: a boolean for a flag, a list for a repeatable
 * option or a variadic argument, `undefined` for an absent optional one.
 *
 * @since 0.1.0
 */
export type Values<C> = C extends Command<infer O, infer P>
  ? { readonly [K in keyof O]: OptionValue<O[K]> } & { readonly [K in keyof P]: ArgumentValue<P[K]> }
  : never

// -----------------------------------------------------------------------------
// Parsing
// -----------------------------------------------------------------------------

/**
 * What the command line asks for.
 *
 * - `Version`: `relais --version`.
 * - `Help`: help on a command or group; `requested` is false when it is shown because the
 *   command line stopped short (`relais`, `relais runs`): it then goes to stderr with exit 2.
 * - `UsageError`: a located problem, with the command it concerns (for its usage line).
 * - `Run`: a command and its values.
 *
 * @since 0.1.0
 */
export type Parsed =
  | { readonly _tag: "Version" }
  | { readonly _tag: "Help"; readonly path: ReadonlyArray<string>; readonly node: Node; readonly requested: boolean }
  | { readonly _tag: "UsageError"; readonly path: ReadonlyArray<string>; readonly node: Node; readonly message: string }
  | {
    readonly _tag: "Run"
    readonly path: ReadonlyArray<string>
    readonly command: Command<any, any>
    readonly values: Readonly<Record<string, unknown>>
  }

const didYouMean = (candidates: ReadonlyArray<string>): string =>
  candidates.length === 0 ? "" : ` (did you mean ${candidates.map((c) => `"${c}"`).join(" or ")}?)`

/**
 * How an option is named in messages: `--name`.
 *
 * @since 0.1.0
 */
export const optionLabel = (o: AnyOption): string => `--${o.name}`

/**
 * How an argument is shown: `<file>`, `[<name>]` when optional, `<file>...` for one or more.
 *
 * @since 0.1.0
 */
export const argumentLabel = (a: AnyArgument): string =>
  a.arity === "optional" ? `[<${a.name}>]` : a.arity === "atLeastOne" ? `<${a.name}>...` : a.arity === "any" ? `[<${a.name}>...]` : `<${a.name}>`

const isHelp = (token: string) => token === "--help" || token === "-h"

/**
 * Check and convert one value of an option.
 *
 * @since 0.1.0
 */
export const convert = (o: AnyOption, raw: string): { readonly value: unknown } | { readonly error: string } => {
  const label = `${optionLabel(o)} ${JSON.stringify(raw)}`
  switch (o.kind) {
    case "text":
      return { value: raw }
    case "boolean":
      return { value: true }
    case "choice": {
      if (o.choices!.includes(raw)) return { value: raw }
      return { error: `${label}: expected one of ${o.choices!.join(", ")}${didYouMean(Suggest.closest(raw, o.choices!, 1))}` }
    }
    case "integer": {
      const trimmed = raw.trim()
      if (!/^[+-]?\d+$/.test(trimmed)) return { error: `${label}: expected a whole number, e.g. ${optionLabel(o)} ${o.min ?? 1}` }
      const value = Number(trimmed)
      // Refused rather than rounded: 9007199254740993 would silently become ...992.
      if (!Number.isSafeInteger(value)) {
        return { error: `${label}: too large to be exact; give a whole number between ${o.min ?? -Number.MAX_SAFE_INTEGER} and ${o.max ?? Number.MAX_SAFE_INTEGER}` }
      }
      if (o.min !== undefined && value < o.min) return { error: `${label}: must be at least ${o.min}${o.max !== undefined ? ` (and at most ${o.max})` : ""}` }
      if (o.max !== undefined && value > o.max) return { error: `${label}: must be at most ${o.max}${o.min !== undefined ? ` (and at least ${o.min})` : ""}` }
      return { value: Object.is(value, -0) ? 0 : value }
    }
  }
}

/**
 * Parse the arguments after `relais` (`process.argv.slice(2)`) against the root group.
 *
 * @since 0.1.0
 */
export const parse = (root: Group, argv: ReadonlyArray<string>): Parsed => {
  const path: Array<string> = [root.name]
  let node: Node = root
  let i = 0
  // Walk down the groups: relais [runs] [list]
  while (node._tag === "Group") {
    const token = argv[i]
    if (token === undefined) return { _tag: "Help", path, node, requested: false }
    if (isHelp(token)) return { _tag: "Help", path, node, requested: true }
    if (node === root && (token === "--version" || token === "-V")) return { _tag: "Version" }
    if (node === root && token === "help") {
      // `relais help [command...]`, as `relais [command...] --help`.
      const rest = parse(root, [...argv.slice(i + 1), "--help"])
      return rest._tag === "Run" ? { _tag: "Help", path, node, requested: true } : rest
    }
    const names = node.commands.map((c) => c.name)
    if (token.startsWith("-")) {
      return {
        _tag: "UsageError",
        path,
        node,
        message: path.length === 1
          ? `unknown option ${JSON.stringify(token)}: a command comes first (${names.join(", ")})`
          : `${path.join(" ")} needs a subcommand before any option: ${names.join(" or ")}`
      }
    }
    const next: Node | undefined = node.commands.find((c) => c.name === token)
    if (next === undefined) {
      return {
        _tag: "UsageError",
        path,
        node,
        message: `unknown command ${JSON.stringify(token)}${path.length > 1 ? ` for ${path.join(" ")}` : ""}${didYouMean(Suggest.closest(token, names, 2))}`
      }
    }
    path.push(next.name)
    node = next
    i++
  }
  return parseCommand(node, path, argv.slice(i))
}

const parseCommand = (command: Command<any, any>, path: ReadonlyArray<string>, argv: ReadonlyArray<string>): Parsed => {
  const options = Object.entries(command.options as Record<string, AnyOption>)
  const byName = new Map<string, readonly [string, AnyOption]>()
  for (const entry of options) {
    byName.set(`--${entry[1].name}`, entry)
    if (entry[1].alias !== undefined) byName.set(`-${entry[1].alias}`, entry)
  }
  const fail = (message: string): Parsed => ({ _tag: "UsageError", path, node: command, message })
  const values: Record<string, unknown> = {}
  const given = new Set<string>()
  const positionals: Array<string> = []
  // Help wins over any other problem on the line: `relais run --bogus --help` shows the help.
  for (const token of argv) {
    if (token === "--") break
    if (isHelp(token)) return { _tag: "Help", path, node: command, requested: true }
  }
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    if (token === "--") {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (!token.startsWith("-") || token === "-") {
      positionals.push(token)
      continue
    }
    const eq = token.startsWith("--") ? token.indexOf("=") : -1
    const flag = eq > 0 ? token.slice(0, eq) : token
    const entry = byName.get(flag)
    if (entry === undefined) {
      if (/^-\d/.test(token)) return fail(`${JSON.stringify(token)} looks like a negative number, but no argument of ${path.join(" ")} takes one`)
      const suggestions = Suggest.closest(flag.replace(/^-+/, ""), options.map(([, o]) => o.name), 2).map((n) => `--${n}`)
      return fail(`unknown option ${JSON.stringify(flag)} for ${path.join(" ")}${didYouMean(suggestions)}`)
    }
    const [key, o] = entry
    if (given.has(key) && o.cardinality !== "repeatable") {
      return fail(`${optionLabel(o)} is given more than once; it takes ${o.kind === "boolean" ? "no value" : "one value"}`)
    }
    given.add(key)
    if (o.kind === "boolean") {
      if (eq > 0) return fail(`${optionLabel(o)} takes no value (remove ${JSON.stringify(token.slice(eq))})`)
      values[key] = true
      continue
    }
    let raw: string
    if (eq > 0) raw = token.slice(eq + 1)
    else {
      const next = argv[i + 1]
      if (next === undefined || (next.startsWith("--") && next.length > 2)) {
        return fail(`${optionLabel(o)} needs a value: ${optionLabel(o)} ${o.placeholder}`)
      }
      raw = next
      i++
    }
    const converted = convert(o, raw)
    if ("error" in converted) return fail(converted.error)
    if (o.cardinality === "repeatable") values[key] = [...((values[key] as ReadonlyArray<unknown> | undefined) ?? []), converted.value]
    else values[key] = converted.value
  }
  for (const [key, o] of options) {
    if (values[key] !== undefined) continue
    switch (o.cardinality) {
      case "flag":
        values[key] = false
        break
      case "repeatable":
        values[key] = []
        break
      case "default":
        values[key] = o.default
        break
      case "required":
        return fail(`${optionLabel(o)} is required: ${optionLabel(o)} ${o.placeholder}`)
      case "optional":
        values[key] = undefined
    }
  }
  const args = Object.entries(command.args as Record<string, AnyArgument>)
  let next = 0
  for (const [key, a] of args) {
    switch (a.arity) {
      case "one":
        if (next >= positionals.length) return fail(`${path.join(" ")} needs <${a.name}>: ${a.description.charAt(0).toLowerCase()}${a.description.slice(1)}`)
        values[key] = positionals[next++]
        break
      case "optional":
        values[key] = positionals[next++]
        break
      case "atLeastOne":
        if (next >= positionals.length) return fail(`${path.join(" ")} needs at least one <${a.name}>`)
        values[key] = positionals.slice(next)
        next = positionals.length
        break
      case "any":
        values[key] = positionals.slice(next)
        next = positionals.length
    }
  }
  if (next < positionals.length) {
    const extra = positionals.slice(next)
    const takes = args.length === 0 ? "takes no argument" : `takes ${args.map(([, a]) => argumentLabel(a)).join(" ")}`
    return fail(`unexpected argument${extra.length > 1 ? "s" : ""} ${extra.map((e) => JSON.stringify(e)).join(" ")}: ${path.join(" ")} ${takes}`)
  }
  return { _tag: "Run", path, command, values }
}
