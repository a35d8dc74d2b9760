/**
 * The expression language of `${{ … }}`: data in, data out. Paths over `inputs`, `steps`,
 * loop variables; literals; comparison, boolean, arithmetic and `??` operators; a fixed set of
 * pure functions. Expressions are parsed when the file is loaded and type-checked against the
 * step schemas; they never evaluate JavaScript and cannot reach prototypes, globals or the
 * environment: a member access reads only an own property of a JSON object or an array item.
 *
 * @since 0.1.0
 */
import { Suggest } from "@relais/core"
import * as T from "./Types.js"

// -----------------------------------------------------------------------------
// Syntax
// -----------------------------------------------------------------------------

/**
 * @since 0.1.0
 */
export type Expr =
  | { readonly _tag: "Literal"; readonly at: number; readonly value: string | number | boolean | null }
  | { readonly _tag: "Name"; readonly at: number; readonly name: string }
  | { readonly _tag: "Member"; readonly at: number; readonly object: Expr; readonly name: string }
  | { readonly _tag: "Index"; readonly at: number; readonly object: Expr; readonly index: Expr }
  | { readonly _tag: "Call"; readonly at: number; readonly name: string; readonly args: ReadonlyArray<Expr> }
  | { readonly _tag: "Unary"; readonly at: number; readonly op: "!" | "-"; readonly operand: Expr }
  | { readonly _tag: "Binary"; readonly at: number; readonly op: BinaryOp; readonly left: Expr; readonly right: Expr }
  | { readonly _tag: "Conditional"; readonly at: number; readonly test: Expr; readonly then: Expr; readonly else: Expr }
  | { readonly _tag: "List"; readonly at: number; readonly items: ReadonlyArray<Expr> }

/**
 * @since 0.1.0
 */
export type BinaryOp = "??" | "||" | "&&" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "+" | "-" | "*" | "/" | "%"

/**
 * A syntax or type error, at an offset in the expression text.
 *
 * @since 0.1.0
 */
export interface ExprError {
  readonly at: number
  readonly message: string
}

type Token =
  | { readonly kind: "num"; readonly at: number; readonly value: number }
  | { readonly kind: "str"; readonly at: number; readonly value: string }
  | { readonly kind: "ident"; readonly at: number; readonly value: string }
  | { readonly kind: "op"; readonly at: number; readonly value: string }
  | { readonly kind: "end"; readonly at: number }

const OPERATORS = ["??", "||", "&&", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "!", ".", "(", ")", "[", "]", ",", "?", ":"]

/**
 * Names that would reach into JavaScript objects: refused in expressions, and as the name of an
 * input, a step, a loop variable or an output (expressions could not read them).
 *
 * @since 0.1.0
 */
export const reserved: ReadonlySet<string> = new Set([
  "__proto__",
  "constructor",
  "prototype",
  "__defineGetter__",
  "__defineSetter__",
  "__lookupGetter__",
  "__lookupSetter__"
])
const FORBIDDEN = reserved

/**
 * How deeply an expression may nest: parentheses, brackets, calls, lists, `!` and `-`, and the
 * branches of `? :` inside each other. Checked while parsing, so that no walk of an expression
 * (type checking, evaluation) can exhaust the stack.
 *
 * @since 0.1.0
 */
export const maxNesting = 64

/**
 * How many parts (names, values, operators, calls, field accesses) an expression may have: a
 * chain `a + b + c + …` nests one level per term in the tree the later walks recurse over.
 *
 * @since 0.1.0
 */
export const maxParts = 1000

class SyntaxError extends Error {
  constructor(readonly at: number, message: string) {
    super(message)
  }
}

const tokenize = (text: string): Array<Token> => {
  const tokens: Array<Token> = []
  // Sticky: each match starts exactly at `lastIndex`, without copying the rest of the text.
  const number = /[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/y
  const identifier = /[A-Za-z_][A-Za-z0-9_-]*/y
  let i = 0
  while (i < text.length) {
    const c = text[i]!
    if (/\s/.test(c)) {
      i++
      continue
    }
    if (/[0-9]/.test(c)) {
      number.lastIndex = i
      const match = number.exec(text)!
      tokens.push({ kind: "num", at: i, value: Number(match[0]) })
      i += match[0].length
      continue
    }
    if (c === "'" || c === "\"") {
      let j = i + 1
      let value = ""
      while (j < text.length) {
        if (text[j] === c) {
          // '' inside a single-quoted text is one quote, as in YAML and SQL.
          if (c === "'" && text[j + 1] === "'") {
            value += "'"
            j += 2
            continue
          }
          break
        }
        if (text[j] === "\\" && j + 1 < text.length) {
          const next = text[j + 1]!
          value += next === "n" ? "\n" : next === "t" ? "\t" : next
          j += 2
        } else {
          value += text[j]
          j++
        }
      }
      if (j >= text.length) throw new SyntaxError(i, "this text is not closed: add the closing quote")
      tokens.push({ kind: "str", at: i, value })
      i = j + 1
      continue
    }
    if (/[A-Za-z_]/.test(c)) {
      identifier.lastIndex = i
      const match = identifier.exec(text)!
      // A trailing dash belongs to an operator (`a -1`), not to the name. Trimmed by hand: a
      // regular expression would backtrack quadratically over a long run of dashes.
      let end = match[0].length
      while (match[0][end - 1] === "-") end--
      const name = match[0].slice(0, end)
      tokens.push({ kind: "ident", at: i, value: name })
      i += name.length
      continue
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i))
    if (op === undefined) {
      if (c === "=") throw new SyntaxError(i, "use == to compare (a single = is not an operator)")
      if (c === "&" || c === "|") throw new SyntaxError(i, `use ${c}${c} (a single ${c} is not an operator)`)
      throw new SyntaxError(i, `unexpected character ${JSON.stringify(c)}`)
    }
    tokens.push({ kind: "op", at: i, value: op })
    i += op.length
  }
  tokens.push({ kind: "end", at: text.length })
  return tokens
}

const PRECEDENCE: ReadonlyArray<ReadonlyArray<BinaryOp>> = [
  ["??"],
  ["||"],
  ["&&"],
  ["==", "!="],
  ["<", "<=", ">", ">="],
  ["+", "-"],
  ["*", "/", "%"]
]

/**
 * Parse an expression (the text between `${{` and `}}`). Chains of one operator (`a + b + c`)
 * are read in a loop; nesting is bounded by {@link maxNesting} and size by {@link maxParts}.
 *
 * @since 0.1.0
 */
export const parse = (text: string): { readonly expr: Expr } | { readonly error: ExprError } => {
  try {
    const tokens = tokenize(text)
    let p = 0
    let depth = 0
    let parts = 0
    const peek = () => tokens[p]!
    const isOp = (value: string) => {
      const t = peek()
      return t.kind === "op" && t.value === value
    }
    const expectOp = (value: string, what: string) => {
      if (!isOp(value)) throw new SyntaxError(peek().at, `expected ${what}`)
      p++
    }
    /** Every node of the tree goes through here: the count bounds the tree's height. */
    const node = <E extends Expr>(e: E): E => {
      if (++parts > maxParts) {
        throw new SyntaxError(e.at, `this expression is too long (more than ${maxParts} names, values and operators): shorten it`)
      }
      return e
    }
    /** Parse something nested in the current construct, one level deeper. */
    const nested = <A>(at: number, inner: () => A): A => {
      if (++depth > maxNesting) {
        throw new SyntaxError(
          at,
          `expression nested too deeply (more than ${maxNesting} levels of parentheses, brackets, calls or operators): simplify it`
        )
      }
      const result = inner()
      depth--
      return result
    }
    const conditional = (): Expr => {
      const test = binary(0)
      if (!isOp("?")) return test
      const at = peek().at
      p++
      const then = nested(at, conditional)
      expectOp(":", "':' (a ? b : c)")
      return node({ _tag: "Conditional", at, test, then, else: nested(at, conditional) })
    }
    const binary = (level: number): Expr => {
      if (level >= PRECEDENCE.length) return unary()
      let left = binary(level + 1)
      for (;;) {
        const t = peek()
        if (t.kind === "op" && (PRECEDENCE[level] as ReadonlyArray<string>).includes(t.value)) {
          p++
          left = node({ _tag: "Binary", at: t.at, op: t.value as BinaryOp, left, right: binary(level + 1) })
        } else {
          return left
        }
      }
    }
    const unary = (): Expr => {
      const t = peek()
      if (t.kind === "op" && (t.value === "!" || t.value === "-")) {
        p++
        return node({ _tag: "Unary", at: t.at, op: t.value, operand: nested(t.at, unary) })
      }
      return postfix()
    }
    const postfix = (): Expr => {
      let expr = primary()
      for (;;) {
        const t = peek()
        if (t.kind === "op" && t.value === ".") {
          p++
          const name = peek()
          if (name.kind !== "ident") throw new SyntaxError(name.at, "expected a field name after '.'")
          if (FORBIDDEN.has(name.value)) throw new SyntaxError(name.at, `"${name.value}" cannot be used in expressions`)
          p++
          expr = node({ _tag: "Member", at: name.at, object: expr, name: name.value })
        } else if (t.kind === "op" && t.value === "[") {
          p++
          const index = nested(t.at, conditional)
          expectOp("]", "']'")
          if (index._tag === "Literal" && typeof index.value === "string" && FORBIDDEN.has(index.value)) {
            throw new SyntaxError(index.at, `"${index.value}" cannot be used in expressions`)
          }
          expr = node({ _tag: "Index", at: t.at, object: expr, index })
        } else {
          return expr
        }
      }
    }
    /** `(a, b, c)` or `[a, b, c]` after its opening token, up to the closing one. */
    const items = (at: number, close: string, what: string): Array<Expr> => {
      const out: Array<Expr> = []
      if (!isOp(close)) {
        for (;;) {
          out.push(nested(at, conditional))
          if (isOp(",")) {
            p++
            continue
          }
          break
        }
      }
      expectOp(close, what)
      return out
    }
    const primary = (): Expr => {
      const t = peek()
      switch (t.kind) {
        case "num":
          p++
          return node({ _tag: "Literal", at: t.at, value: t.value })
        case "str":
          p++
          return node({ _tag: "Literal", at: t.at, value: t.value })
        case "ident": {
          p++
          if (t.value === "true" || t.value === "false") return node({ _tag: "Literal", at: t.at, value: t.value === "true" })
          if (t.value === "null") return node({ _tag: "Literal", at: t.at, value: null })
          if (FORBIDDEN.has(t.value)) throw new SyntaxError(t.at, `"${t.value}" cannot be used in expressions`)
          if (isOp("(")) {
            p++
            const args = items(t.at, ")", "')' to close the call")
            return node({ _tag: "Call", at: t.at, name: t.value, args })
          }
          return node({ _tag: "Name", at: t.at, name: t.value })
        }
        case "op":
          if (t.value === "(") {
            p++
            const inner = nested(t.at, conditional)
            expectOp(")", "')'")
            return inner
          }
          if (t.value === "[") {
            p++
            return node({ _tag: "List", at: t.at, items: items(t.at, "]", "']' to close the list") })
          }
          throw new SyntaxError(t.at, `unexpected '${t.value}'`)
        case "end":
          throw new SyntaxError(t.at, "the expression is empty or incomplete")
      }
    }
    const expr = conditional()
    const rest = peek()
    if (rest.kind !== "end") {
      throw new SyntaxError(rest.at, `unexpected ${rest.kind === "op" ? `'${rest.value}'` : "text"} after the expression`)
    }
    return { expr }
  } catch (error) {
    if (error instanceof SyntaxError) return { error: { at: error.at, message: error.message } }
    throw error
  }
}

// -----------------------------------------------------------------------------
// Templates: text with ${{ … }} inside
// -----------------------------------------------------------------------------

/**
 * A string value from the file: plain text, one whole expression (which keeps its type), or
 * text with expressions inside (always a string).
 *
 * @since 0.1.0
 */
export type Template =
  | { readonly _tag: "Text"; readonly text: string }
  | { readonly _tag: "Whole"; readonly expr: Expr; readonly offset: number; readonly source: string }
  | {
    readonly _tag: "Interpolated"
    readonly parts: ReadonlyArray<
      { readonly _tag: "Text"; readonly text: string } | {
        readonly _tag: "Expr"
        readonly expr: Expr
        readonly offset: number
        readonly source: string
      }
    >
  }

/**
 * Whether a string contains an expression.
 *
 * @since 0.1.0
 */
export const hasExpression = (text: string): boolean => text.includes("${{")

/**
 * Parse a string value into a template. Offsets are positions in `text`.
 *
 * @since 0.1.0
 */
export const parseTemplate = (text: string): { readonly template: Template } | { readonly error: ExprError } => {
  if (!hasExpression(text)) {
    if (/\$\{[^{]/.test(text) || /\{\{/.test(text)) {
      const at = Math.max(text.indexOf("${"), text.indexOf("{{"))
      return { error: { at, message: "expressions are written ${{ … }} (a dollar sign and two braces)" } }
    }
    return { template: { _tag: "Text", text } }
  }
  const parts: Array<
    { _tag: "Text"; text: string } | { _tag: "Expr"; expr: Expr; offset: number; source: string }
  > = []
  let i = 0
  while (i < text.length) {
    const start = text.indexOf("${{", i)
    if (start < 0) {
      parts.push({ _tag: "Text", text: text.slice(i) })
      break
    }
    if (start > i) parts.push({ _tag: "Text", text: text.slice(i, start) })
    const end = text.indexOf("}}", start + 3)
    if (end < 0) return { error: { at: start, message: "this expression is not closed: add }}" } }
    const source = text.slice(start + 3, end)
    const parsed = parse(source)
    if ("error" in parsed) return { error: { at: start + 3 + parsed.error.at, message: parsed.error.message } }
    parts.push({ _tag: "Expr", expr: parsed.expr, offset: start + 3, source: source.trim() })
    i = end + 2
  }
  const only = parts[0]
  if (parts.length === 1 && only !== undefined && only._tag === "Expr") {
    return { template: { _tag: "Whole", expr: only.expr, offset: only.offset, source: only.source } }
  }
  return { template: { _tag: "Interpolated", parts } }
}

// -----------------------------------------------------------------------------
// Functions
// -----------------------------------------------------------------------------

/** What a function's argument must be: a list, a text, a number, an object, or any value. */
type Param = "list" | "text" | "number" | "object" | "any"

interface FunctionSpec {
  readonly arity: readonly [number, number]
  readonly describe: string
  /**
   * What each argument must be. An argument that may be null is refused unless its param
   * is `any`: `length(x)` of a skipped step is a mistake, `length(x ?? [])` is not.
   */
  readonly params: ReadonlyArray<ReadonlyArray<Param>>
  /** The result type, given arguments that fit `params` (and are not null). */
  readonly type: (args: ReadonlyArray<T.Type>) => T.Type | string
  readonly apply: (args: ReadonlyArray<unknown>) => unknown
}

const kindOf = (t: T.Type): Param | "boolean" | "null" | "unknown" | "other" => {
  switch (t._tag) {
    case "Array":
      return "list"
    case "String":
      return "text"
    case "Number":
      return "number"
    case "Object":
      return "object"
    case "Boolean":
      return "boolean"
    case "Null":
      return "null"
    case "Literal":
      return typeof t.value === "string" ? "text" : typeof t.value === "number" ? "number" : "boolean"
    case "Unknown":
      return "unknown"
    default:
      return "other"
  }
}

/** Whether every value of `t` (null aside) is one of `kinds`; unknown values are checked when the workflow runs. */
const fits = (t: T.Type, kinds: ReadonlyArray<Param>): boolean => {
  if (kinds.includes("any")) return true
  const members = t._tag === "Union" ? t.members : [t]
  return members.every((m) => {
    const kind = kindOf(m)
    return kind === "unknown" || kind === "null" || (kinds as ReadonlyArray<string>).includes(kind)
  })
}
const isText = (t: T.Type) => fits(t, ["text"])
const stripNull = T.nonNull
const PARAM_NAMES: Record<Param, string> = { list: "a list", text: "a text", number: "a number", object: "an object", any: "a value" }
const DEFAULTS: Record<Param, string> = { list: "[]", text: "''", number: "0", object: "{}", any: "null" }
const kindsText = (kinds: ReadonlyArray<Param>) => {
  const names = kinds.map((k) => PARAM_NAMES[k])
  return names.length <= 1 ? names.join("") : `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`
}

const text = (value: unknown): string =>
  value === null || value === undefined ? "" : typeof value === "string" ? value : typeof value === "object"
    ? JSON.stringify(value)
    : String(value)

const FUNCTIONS: Record<string, FunctionSpec> = {
  length: {
    arity: [1, 1],
    describe: "length(list, text or object)",
    params: [["list", "text", "object"]],
    type: () => T.integer,
    apply: ([a]) =>
      Array.isArray(a) ? a.length : typeof a === "string" ? a.length : a !== null && typeof a === "object" ? Object.keys(a).length : 0
  },
  contains: {
    arity: [2, 2],
    describe: "contains(list or text, value)",
    params: [["list", "text"], ["any"]],
    type: () => T.boolean,
    apply: ([a, b]) =>
      Array.isArray(a) ? a.some((x) => deepEqual(x, b)) : typeof a === "string" ? a.includes(text(b)) : false
  },
  startsWith: {
    arity: [2, 2],
    describe: "startsWith(text, prefix)",
    params: [["text"], ["text"]],
    type: () => T.boolean,
    apply: ([a, b]) => text(a).startsWith(text(b))
  },
  endsWith: {
    arity: [2, 2],
    describe: "endsWith(text, suffix)",
    params: [["text"], ["text"]],
    type: () => T.boolean,
    apply: ([a, b]) => text(a).endsWith(text(b))
  },
  lower: { arity: [1, 1], describe: "lower(text)", params: [["text"]], type: () => T.string, apply: ([a]) => text(a).toLowerCase() },
  upper: { arity: [1, 1], describe: "upper(text)", params: [["text"]], type: () => T.string, apply: ([a]) => text(a).toUpperCase() },
  trim: { arity: [1, 1], describe: "trim(text)", params: [["text"]], type: () => T.string, apply: ([a]) => text(a).trim() },
  string: { arity: [1, 1], describe: "string(value)", params: [["any"]], type: () => T.string, apply: ([a]) => text(a) },
  number: {
    arity: [1, 1],
    describe: "number(text)",
    params: [["text", "number"]],
    type: () => T.number,
    apply: ([a]) => {
      const n = typeof a === "number" ? a : Number(text(a))
      if (Number.isNaN(n)) throw new EvalError(`number(): ${JSON.stringify(a)} is not a number`)
      return n
    }
  },
  json: { arity: [1, 1], describe: "json(value)", params: [["any"]], type: () => T.string, apply: ([a]) => JSON.stringify(a ?? null) },
  join: {
    arity: [1, 2],
    describe: "join(list, separator)",
    params: [["list"], ["text"]],
    type: () => T.string,
    apply: ([a, sep]) => (Array.isArray(a) ? a.map(text).join(sep === undefined ? "," : text(sep)) : "")
  },
  first: {
    arity: [1, 1],
    describe: "first(list)",
    params: [["list"]],
    // null for an empty list: `first(list).Id ?? 0`.
    type: ([a]) => {
      const r = T.element(a!)
      return "type" in r ? T.nullable(r.type) : "expects a list"
    },
    apply: ([a]) => (Array.isArray(a) && a.length > 0 ? a[0] : null)
  },
  last: {
    arity: [1, 1],
    describe: "last(list)",
    params: [["list"]],
    type: ([a]) => {
      const r = T.element(a!)
      return "type" in r ? T.nullable(r.type) : "expects a list"
    },
    apply: ([a]) => (Array.isArray(a) && a.length > 0 ? a[a.length - 1] : null)
  },
  pluck: {
    arity: [2, 2],
    describe: "pluck(list of objects, 'field')",
    params: [["list"], ["text"]],
    type: ([a, b]) => {
      const item = T.element(a!)
      if (!("type" in item)) return "expects a list"
      if (b!._tag === "Literal" && typeof b!.value === "string") {
        const field = T.property(stripNull(item.type), b!.value)
        if ("error" in field) return `the items ${field.error}`
        return T.array(field.type)
      }
      return T.array(T.unknown)
    },
    apply: ([a, b]) => (Array.isArray(a) ? a.map((item) => read(item, text(b))) : [])
  }
}

/**
 * The functions expressions may call, with their usage.
 *
 * @since 0.1.0
 */
export const functions: ReadonlyArray<string> = Object.values(FUNCTIONS).map((f) => f.describe)

/** The function called `name`: an own entry of the table, never `Object.prototype.toString`. */
const functionNamed = (name: string): FunctionSpec | undefined => Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined

// -----------------------------------------------------------------------------
// Types
// -----------------------------------------------------------------------------

/**
 * What names mean while checking an expression.
 *
 * @since 0.1.0
 */
export interface Scope {
  readonly names: ReadonlyMap<string, T.Type>
  /** Why a name is not available here, for names that exist elsewhere (a later step...). */
  readonly explain?: ((path: ReadonlyArray<string>) => string | undefined) | undefined
}

/**
 * The type of an expression, or the problems found in it (offsets in the expression text).
 *
 * @since 0.1.0
 */
export const typeOf = (expr: Expr, scope: Scope): { readonly type: T.Type; readonly errors: ReadonlyArray<ExprError> } => {
  const errors: Array<ExprError> = []
  const pathOf = (e: Expr): Array<string> | undefined => {
    if (e._tag === "Name") return [e.name]
    if (e._tag === "Member") {
      const base = pathOf(e.object)
      return base ? [...base, e.name] : undefined
    }
    if (e._tag === "Index" && e.index._tag === "Literal") {
      const base = pathOf(e.object)
      return base ? [...base, String(e.index.value)] : undefined
    }
    return undefined
  }
  const display = (e: Expr): string | undefined => {
    if (e._tag === "Name") return e.name
    if (e._tag === "Member") {
      const base = display(e.object)
      return base === undefined ? undefined : `${base}.${e.name}`
    }
    if (e._tag === "Index") {
      const base = display(e.object)
      if (base === undefined) return undefined
      if (e.index._tag === "Literal") {
        return typeof e.index.value === "number" ? `${base}[${e.index.value}]` : `${base}[${JSON.stringify(e.index.value)}]`
      }
      return `${base}[…]`
    }
    return undefined
  }
  const go = (e: Expr): T.Type => {
    switch (e._tag) {
      case "Literal":
        return e.value === null ? T.nullType : T.literal(e.value)
      case "List":
        return T.array(T.union(e.items.map(go)))
      case "Name": {
        const t = scope.names.get(e.name)
        if (t !== undefined) return t
        const suggestions = Suggest.closest(e.name, scope.names.keys())
        errors.push({
          at: e.at,
          message: `unknown name "${e.name}"${suggestions.length > 0 ? ` (did you mean ${suggestions.join(" or ")}?)` : ""}; expressions start with ${[...scope.names.keys()].join(", ")}`
        })
        return T.unknown
      }
      case "Member": {
        const base = go(e.object)
        const result = T.property(base, e.name)
        if ("type" in result) return result.type
        const path = pathOf(e)
        const explained = path && scope.explain?.(path)
        if (explained) {
          errors.push({ at: e.at, message: explained })
          return T.unknown
        }
        const suggestions = Suggest.closest(e.name, result.candidates)
        const where = display(e.object) ?? "this value"
        errors.push({
          at: e.at,
          message: `${where} ${result.error}${suggestions.length > 0 ? ` (did you mean "${suggestions[0]}"?)` : ""}`
        })
        return T.unknown
      }
      case "Index": {
        const base = go(e.object)
        if (e.index._tag === "Literal" && typeof e.index.value === "string") {
          const result = T.property(base, e.index.value)
          if ("type" in result) return result.type
          errors.push({ at: e.at, message: `${display(e.object) ?? "this value"} ${result.error}` })
          return T.unknown
        }
        const problem = indexProblem(e.index, T.nonNull(base))
        if (problem !== undefined) {
          const index = e.index._tag === "Literal"
            ? String(e.index.value)
            : e.index._tag === "Unary" && e.index.operand._tag === "Literal"
            ? `-${e.index.operand.value}`
            : display(e.index) ?? "…"
          errors.push({ at: startOf(e.index), message: `${display(e.object) ?? "this value"}[${index}]: ${problem}` })
          return T.unknown
        }
        const result = T.element(base)
        if ("type" in result) return result.type
        errors.push({ at: e.at, message: `${display(e.object) ?? "this value"} ${result.error}` })
        return T.unknown
      }
      case "Call": {
        const spec = functionNamed(e.name)
        const args = e.args.map(go)
        if (spec === undefined) {
          const suggestions = Suggest.closest(e.name, Object.keys(FUNCTIONS))
          errors.push({
            at: e.at,
            message: `unknown function "${e.name}"${suggestions.length > 0 ? ` (did you mean ${suggestions[0]}?)` : ""}; available: ${functions.join(", ")}`
          })
          return T.unknown
        }
        if (args.length < spec.arity[0] || args.length > spec.arity[1]) {
          errors.push({ at: e.at, message: `${e.name} takes ${spec.arity[0] === spec.arity[1] ? spec.arity[0] : `${spec.arity[0]} or ${spec.arity[1]}`} argument(s): ${spec.describe}` })
          return T.unknown
        }
        let fit = true
        args.forEach((arg, i) => {
          const kinds = spec.params[i] ?? ["any"]
          if (kinds.includes("any")) return
          const argument = e.args[i]!
          const what = display(argument) ?? (args.length === 1 ? "its argument" : `its ${i === 0 ? "first" : "second"} argument`)
          if (T.isNullable(arg)) {
            errors.push({ at: startOf(argument), message: `${e.name} needs ${kindsText(kinds)}, but ${mayBeNull(what, DEFAULTS[kinds[0]!])}` })
            fit = false
          } else if (!fits(arg, kinds)) {
            errors.push({ at: startOf(argument), message: `${e.name} needs ${kindsText(kinds)}, but ${what} is ${aType(arg)}: ${spec.describe}` })
            fit = false
          }
        })
        if (!fit) return T.unknown
        const result = spec.type(args)
        if (typeof result === "string") {
          errors.push({ at: e.at, message: `${e.name} ${result}: ${spec.describe}` })
          return T.unknown
        }
        return result
      }
      case "Unary": {
        const operand = go(e.operand)
        if (e.op === "!") {
          condition(e.operand, operand, "!")
          return T.boolean
        }
        const what = display(e.operand) ?? "the value"
        if (T.isNullable(operand)) errors.push({ at: e.at, message: `- needs a number, but ${mayBeNull(what, "0")}` })
        else if (!numeric(operand)) errors.push({ at: e.at, message: `- expects a number, got ${T.show(operand)}` })
        return T.isInteger(operand) ? T.integer : T.number
      }
      case "Conditional": {
        condition(e.test, go(e.test), "a ? b : c")
        return T.union([go(e.then), go(e.else)])
      }
      case "Binary": {
        const left = go(e.left)
        const right = go(e.right)
        const nullSide = (fallback: string) => {
          const side = T.isNullable(left) ? e.left : T.isNullable(right) ? e.right : undefined
          if (side === undefined) return false
          const what = display(side) ?? (side === e.left ? "the left side" : "the right side")
          errors.push({ at: e.at, message: `${e.op} ${e.op === "+" ? "adds numbers or joins texts" : "needs numbers"}${e.op === "<" || e.op === "<=" || e.op === ">" || e.op === ">=" ? " or texts" : ""}, but ${mayBeNull(what, fallback)}` })
          return true
        }
        switch (e.op) {
          case "??":
            return T.union([stripNull(left), right])
          case "||":
          case "&&":
            condition(e.left, left, e.op)
            condition(e.right, right, e.op)
            return T.boolean
          case "==":
          case "!=":
            return T.boolean
          case "<":
          case "<=":
          case ">":
          case ">=":
            if (nullSide(isText(left) && isText(right) ? "''" : "0")) return T.boolean
            if (!(numeric(left) && numeric(right)) && !(isText(left) && isText(right))) {
              errors.push({ at: e.at, message: `${e.op} compares two numbers or two texts, not ${T.show(left)} and ${T.show(right)}` })
            }
            return T.boolean
          case "+":
            if (nullSide(isText(left) || isText(right) ? "''" : "0")) return T.unknown
            if (isText(left) && isText(right) && left._tag !== "Unknown") return T.string
            if (numeric(left) && numeric(right)) return T.isInteger(left) && T.isInteger(right) ? T.integer : T.number
            if (left._tag === "Unknown" || right._tag === "Unknown") return T.unknown
            errors.push({ at: e.at, message: `+ adds two numbers or joins two texts, not ${T.show(left)} and ${T.show(right)} (use string() to convert)` })
            return T.unknown
          default:
            if (nullSide("0")) return T.number
            if (!numeric(left) || !numeric(right)) {
              errors.push({ at: e.at, message: `${e.op} expects numbers, not ${T.show(left)} and ${T.show(right)}` })
            }
            // Whole numbers stay whole (an index can be computed: list[length(list) - 1]);
            // a division may not.
            return e.op !== "/" && T.isInteger(left) && T.isInteger(right) ? T.integer : T.number
        }
      }
    }
  }

  /** Where an expression starts (a member's `at` is its name; a binary's, its operator). */
  const startOf = (e: Expr): number => {
    switch (e._tag) {
      case "Member":
      case "Index":
        return startOf(e.object)
      case "Binary":
        return startOf(e.left)
      case "Conditional":
        return startOf(e.test)
      default:
        return e.at
    }
  }

  /** `!`, `&&`, `||` and the test of `a ? b : c` take true or false: no truthiness. */
  const condition = (e: Expr, t: T.Type, what: string) => {
    const why = notBoolean(display(e) ?? "this value", t, (x) => x)
    if (why !== undefined) errors.push({ at: startOf(e), message: `${what} takes true or false; ${why}` })
  }

  /**
   * Why this index cannot be used, or `undefined`: a literal index is a whole number from 0
   * (a safe integer); a computed one is typed integer (a text key for an object).
   */
  const indexProblem = (index: Expr, base: T.Type): string | undefined => {
    const negative = index._tag === "Unary" && index.op === "-" && index.operand._tag === "Literal" &&
      typeof index.operand.value === "number"
    if (negative) return "an index counts from 0 (the first item) and is never negative; last(list) gives the last item"
    if (index._tag === "Literal") {
      const value = index.value
      if (typeof value !== "number") {
        return `an index is a whole number from 0, or a 'field' name in quotes, not ${JSON.stringify(value)}`
      }
      if (!Number.isInteger(value)) return `an index is a whole number from 0, not ${value}`
      if (!Number.isSafeInteger(value)) return `${value} is too large for an index (at most ${Number.MAX_SAFE_INTEGER})`
      return undefined
    }
    const t = go(index)
    const what = display(index) ?? "the index"
    if (T.isNullable(t)) return `an index cannot be null, but ${mayBeNull(what, "0")}`
    if (t._tag === "Unknown") return undefined
    // A computed key reads a field of an object (a record); a list needs a whole number.
    const object = base._tag === "Object" || (base._tag === "Union" && base.members.some((m) => m._tag === "Object"))
    if (object && fits(t, ["text", "number"])) return undefined
    if (base._tag === "Unknown" && fits(t, ["text"])) return undefined
    if (T.isInteger(t)) return undefined
    return `an index is a whole number from 0, but ${what} is ${aType(t)}${fits(t, ["number"]) ? " (declare it integer, or compute it from whole numbers)" : ""}`
  }

  const type = go(expr)
  return { type, errors }
}

/** Numbers (or values only known when the workflow runs); null is checked apart. */
const numeric = (t: T.Type): boolean => fits(t, ["number"])

/** `a string`, `an integer`, `an array of …`: a type in a sentence. */
const aType = (t: T.Type): string => {
  const shown = T.show(t)
  if (t._tag === "Union" || t._tag === "Literal") return `a value of type ${shown}`
  return /^[aeiou]/.test(shown) ? `an ${shown}` : `a ${shown}`
}

/** The sentence for a value that may be null where it may not, with the default to give. */
const mayBeNull = (what: string, fallback: string): string =>
  `${what} may be null (a skipped step, or a missing value): give a default, e.g. ${what} ?? ${fallback}`

/**
 * Why a value of type `t` is not a condition (true or false), with what to write instead, or
 * `undefined` when it is one (or is only known at run time). `wrap` shows an example as the
 * user would write it (`${{ … }}` around it in an `if:`).
 *
 * @since 0.1.0
 */
export const notBoolean = (what: string, t: T.Type, wrap: (example: string) => string): string | undefined => {
  if (T.mismatch(t, T.boolean) === undefined) return undefined
  const rest = T.nonNull(t)
  if (rest._tag === "Never") return `${what} is always null`
  if (T.mismatch(rest, T.boolean) === undefined) {
    return `${what} may be null (a skipped step, or a missing value): give a default, e.g. ${wrap(`${what} ?? false`)}`
  }
  const example = fits(rest, ["text"])
    ? `compare it, e.g. ${wrap(`${what} == 'true'`)}`
    : fits(rest, ["number"])
    ? `compare it, e.g. ${wrap(`${what} > 0`)}`
    : fits(rest, ["list"])
    ? `test its length, e.g. ${wrap(`length(${what}) > 0`)}`
    : "compare it with ==, !=, <, <=, > or >="
  return `${what} is ${aType(rest)}${T.isNullable(t) ? " that may be null" : ""}: ${example}`
}

// -----------------------------------------------------------------------------
// Evaluation
// -----------------------------------------------------------------------------

/**
 * An expression failed while the workflow ran (a value of an unexpected shape).
 *
 * @since 0.1.0
 */
export class EvalError extends Error {}

const own = (object: object, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key)

/** Read a field of a JSON value: own properties only, null when absent. */
const read = (value: unknown, key: string): unknown => {
  if (FORBIDDEN.has(key)) throw new EvalError(`"${key}" cannot be read`)
  if (value === null || value === undefined) return null
  if (Array.isArray(value)) {
    if (key === "length") return value.length
    const index = Number(key)
    return Number.isInteger(index) && index >= 0 && index < value.length ? value[index] : null
  }
  if (typeof value === "object") return own(value, key) ? (value as Record<string, unknown>)[key] ?? null : null
  return null
}

/**
 * A value in a message: its JSON, cut short, and what it is (`"false" (a text)`).
 *
 * @since 0.1.0
 */
export const describeValue = (value: unknown): string => {
  const json = JSON.stringify(value) ?? "null"
  const shown = json.length > 60 ? `${json.slice(0, 57)}...` : json
  const kind = value === null || value === undefined
    ? "null"
    : typeof value === "string"
    ? "a text"
    : typeof value === "number"
    ? "a number"
    : typeof value === "boolean"
    ? "a boolean"
    : Array.isArray(value)
    ? "a list"
    : "an object"
  return kind === "null" ? "null" : `${shown} (${kind})`
}

/** `!`, `&&`, `||` and `a ? b : c` take true or false: no other value is taken for one. */
const truthy = (value: unknown): boolean => {
  if (typeof value === "boolean") return value
  throw new EvalError(`a condition (!, &&, ||, a ? b : c) must be true or false, got ${describeValue(value)}`)
}

const deepEqual = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false
  return JSON.stringify(a) === JSON.stringify(b)
}

const describePath = (e: Expr): string =>
  e._tag === "Name"
    ? e.name
    : e._tag === "Member"
    ? `${describePath(e.object)}.${e.name}`
    : e._tag === "Index"
    ? `${describePath(e.object)}[${e.index._tag === "Literal" ? JSON.stringify(e.index.value) : "…"}]`
    : "the value"

/**
 * Evaluate an expression over plain JSON values.
 *
 * @since 0.1.0
 */
export const evaluate = (expr: Expr, names: ReadonlyMap<string, unknown>): unknown => {
  switch (expr._tag) {
    case "Literal":
      return expr.value
    case "List":
      return expr.items.map((item) => evaluate(item, names))
    case "Name":
      if (!names.has(expr.name)) throw new EvalError(`unknown name "${expr.name}"`)
      return names.get(expr.name) ?? null
    case "Member":
      return read(evaluate(expr.object, names), expr.name)
    case "Index": {
      const base = evaluate(expr.object, names)
      const index = evaluate(expr.index, names)
      if (typeof index === "number" && Array.isArray(base)) {
        // Indexing is typed as always finding an item: a list too short is an error here, not
        // a silent null (use first() or ?? when the list may be empty).
        // An index counts from 0; a negative one is refused, not read from the end.
        if (!Number.isSafeInteger(index) || index < 0) {
          throw new EvalError(`${describePath(expr.object)}[${index}]: an index is a whole number from 0 (the first item)`)
        }
        const at = index
        if (at >= base.length) {
          throw new EvalError(
            `${describePath(expr.object)}[${index}]: the list has ${base.length === 0 ? "no item" : base.length === 1 ? "1 item" : `${base.length} items`}`
          )
        }
        return base[at] ?? null
      }
      if (typeof index === "number") return read(base, String(index))
      if (typeof index === "string") return read(base, index)
      throw new EvalError(`an index must be a number or a text, not ${JSON.stringify(index)}`)
    }
    case "Call": {
      const spec = functionNamed(expr.name)
      if (spec === undefined) throw new EvalError(`unknown function "${expr.name}"`)
      return spec.apply(expr.args.map((arg) => evaluate(arg, names)))
    }
    case "Unary": {
      const value = evaluate(expr.operand, names)
      if (expr.op === "!") return !truthy(value)
      if (typeof value !== "number") throw new EvalError(`- expects a number, got ${JSON.stringify(value)}`)
      return -value
    }
    case "Conditional":
      return truthy(evaluate(expr.test, names)) ? evaluate(expr.then, names) : evaluate(expr.else, names)
    case "Binary": {
      if (expr.op === "&&") return truthy(evaluate(expr.left, names)) && truthy(evaluate(expr.right, names))
      if (expr.op === "||") return truthy(evaluate(expr.left, names)) || truthy(evaluate(expr.right, names))
      const left = evaluate(expr.left, names)
      if (expr.op === "??") return left === null || left === undefined ? evaluate(expr.right, names) : left
      const right = evaluate(expr.right, names)
      switch (expr.op) {
        case "==":
          return deepEqual(left, right)
        case "!=":
          return !deepEqual(left, right)
        case "<":
        case "<=":
        case ">":
        case ">=": {
          if (!((typeof left === "number" && typeof right === "number") || (typeof left === "string" && typeof right === "string"))) {
            throw new EvalError(`${expr.op} compares two numbers or two texts, not ${JSON.stringify(left)} and ${JSON.stringify(right)}`)
          }
          const l = left as number | string
          const r = right as number | string
          return expr.op === "<" ? l < r : expr.op === "<=" ? l <= r : expr.op === ">" ? l > r : l >= r
        }
        case "+":
          if (typeof left === "number" && typeof right === "number") return left + right
          if (typeof left === "string" && typeof right === "string") return left + right
          throw new EvalError(`+ adds two numbers or joins two texts, not ${JSON.stringify(left)} and ${JSON.stringify(right)}`)
        default: {
          if (typeof left !== "number" || typeof right !== "number") {
            throw new EvalError(`${expr.op} expects numbers, not ${JSON.stringify(left)} and ${JSON.stringify(right)}`)
          }
          if ((expr.op === "/" || expr.op === "%") && right === 0) throw new EvalError("division by zero")
          return expr.op === "-" ? left - right : expr.op === "*" ? left * right : expr.op === "/" ? left / right : left % right
        }
      }
    }
  }
}

/**
 * Evaluate a template: a whole expression keeps its value, interpolation gives a string.
 *
 * @since 0.1.0
 */
export const evaluateTemplate = (template: Template, names: ReadonlyMap<string, unknown>): unknown => {
  switch (template._tag) {
    case "Text":
      return template.text
    case "Whole":
      return evaluate(template.expr, names)
    case "Interpolated":
      return template.parts.map((part) => (part._tag === "Text" ? part.text : text(evaluate(part.expr, names)))).join("")
  }
}

/**
 * The type of a template.
 *
 * @since 0.1.0
 */
export const typeOfTemplate = (
  template: Template,
  scope: Scope
): { readonly type: T.Type; readonly errors: ReadonlyArray<ExprError> } => {
  switch (template._tag) {
    case "Text":
      return { type: T.literal(template.text), errors: [] }
    case "Whole": {
      const result = typeOf(template.expr, scope)
      return { type: result.type, errors: result.errors.map((e) => ({ ...e, at: e.at + template.offset })) }
    }
    case "Interpolated": {
      const errors: Array<ExprError> = []
      for (const part of template.parts) {
        if (part._tag === "Expr") {
          errors.push(...typeOf(part.expr, scope).errors.map((e) => ({ ...e, at: e.at + part.offset })))
        }
      }
      return { type: T.string, errors }
    }
  }
}

/**
 * The names an expression reads from the root (`steps.x.output.Id` reads `steps.x`), for
 * dependency checks and graphs.
 *
 * @since 0.1.0
 */
export const references = (expr: Expr): ReadonlyArray<{ readonly path: ReadonlyArray<string>; readonly at: number }> => {
  const out: Array<{ path: Array<string>; at: number }> = []
  const chain = (e: Expr): { path: Array<string>; at: number } | undefined => {
    if (e._tag === "Name") return { path: [e.name], at: e.at }
    if (e._tag === "Member") {
      const base = chain(e.object)
      if (base) return { path: [...base.path, e.name], at: base.at }
    }
    if (e._tag === "Index") {
      const base = chain(e.object)
      visit(e.index)
      if (base) return { path: [...base.path, e.index._tag === "Literal" ? String(e.index.value) : "*"], at: base.at }
    }
    return undefined
  }
  const visit = (e: Expr): void => {
    switch (e._tag) {
      case "Name":
      case "Member":
      case "Index": {
        const c = chain(e)
        if (c) out.push(c)
        else if (e._tag !== "Name") visit(e.object)
        return
      }
      case "Call":
        e.args.forEach(visit)
        return
      case "List":
        e.items.forEach(visit)
        return
      case "Unary":
        visit(e.operand)
        return
      case "Binary":
        visit(e.left)
        visit(e.right)
        return
      case "Conditional":
        visit(e.test)
        visit(e.then)
        visit(e.else)
        return
      case "Literal":
        return
    }
  }
  visit(expr)
  return out
}

/**
 * The references of a template, with offsets in the template's text.
 *
 * @since 0.1.0
 */
export const templateReferences = (
  template: Template
): ReadonlyArray<{ readonly path: ReadonlyArray<string>; readonly at: number }> => {
  switch (template._tag) {
    case "Text":
      return []
    case "Whole":
      return references(template.expr).map((r) => ({ ...r, at: r.at + template.offset }))
    case "Interpolated":
      return template.parts.flatMap((part) =>
        part._tag === "Expr" ? references(part.expr).map((r) => ({ ...r, at: r.at + part.offset })) : []
      )
  }
}
