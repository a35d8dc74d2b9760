/**
 * OData v4 query options, parsed for real: a tokenizer and a recursive-descent parser for
 * `$filter` and `$orderby` expressions, and scanners for `$select` and `$expand` (with nested
 * options). Every malformed input throws a `QueryError` naming the problem and its position; the
 * HTTP handler turns it into a 400 OData error (anything else thrown is a bug, hence a 500).
 */

export class QueryError {
  readonly _tag = "QueryError"
  constructor(readonly message: string) {}
}

// ---------------------------------------------------------------------------------------------
// Expressions

export type LiteralType = "string" | "number" | "boolean" | "null" | "date"

export type Expr =
  | { readonly _tag: "Literal"; readonly type: LiteralType; readonly value: string | number | boolean | null; readonly pos: number }
  | { readonly _tag: "Path"; readonly segments: ReadonlyArray<string>; readonly pos: number }
  | { readonly _tag: "Binary"; readonly op: BinaryOp; readonly left: Expr; readonly right: Expr; readonly pos: number }
  | { readonly _tag: "Not"; readonly operand: Expr; readonly pos: number }
  | { readonly _tag: "Call"; readonly name: FunctionName; readonly args: ReadonlyArray<Expr>; readonly pos: number }

export type ComparisonOp = "eq" | "ne" | "gt" | "ge" | "lt" | "le"
export type BinaryOp = ComparisonOp | "and" | "or"

export const functionArity = {
  startswith: 2,
  endswith: 2,
  contains: 2,
  tolower: 1,
  toupper: 1,
  trim: 1,
  length: 1,
  year: 1,
  month: 1,
  day: 1
} as const

export type FunctionName = keyof typeof functionArity

const UNSUPPORTED_OPERATORS = new Set(["add", "sub", "mul", "div", "divby", "mod", "has", "in"])

// ---------------------------------------------------------------------------------------------
// Tokens

type Token =
  | { readonly kind: "ident"; readonly text: string; readonly pos: number }
  | { readonly kind: "string"; readonly value: string; readonly pos: number }
  | { readonly kind: "number"; readonly value: number; readonly pos: number }
  | { readonly kind: "date"; readonly value: string; readonly pos: number }
  | { readonly kind: "punct"; readonly text: "(" | ")" | "," | "/"; readonly pos: number }
  | { readonly kind: "end"; readonly pos: number }

const DATE_TOKEN = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|z|[+-]\d{2}:\d{2}))?/
const NUMBER_TOKEN = /^-?\d+(\.\d+)?([eE][+-]?\d+)?[mMdDfFlL]?/
const IDENT_TOKEN = /^[A-Za-z_][A-Za-z0-9_]*/

/** Splits an expression into tokens; positions are 1-based, as OData servers report them. */
export const tokenize = (input: string): ReadonlyArray<Token> => {
  const tokens: Array<Token> = []
  let i = 0
  while (i < input.length) {
    const c = input[i]!
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++
      continue
    }
    const pos = i + 1
    if (c === "(" || c === ")" || c === "," || c === "/") {
      tokens.push({ kind: "punct", text: c, pos })
      i++
      continue
    }
    if (c === "'") {
      let value = ""
      let j = i + 1
      for (;;) {
        if (j >= input.length) throw new QueryError(`Unterminated string literal at position ${pos} in '${input}'.`)
        const d = input[j]!
        if (d === "'") {
          if (input[j + 1] === "'") {
            value += "'"
            j += 2
            continue
          }
          break
        }
        value += d
        j++
      }
      tokens.push({ kind: "string", value, pos })
      i = j + 1
      continue
    }
    const rest = input.slice(i)
    const date = DATE_TOKEN.exec(rest)
    if (date !== null) {
      tokens.push({ kind: "date", value: date[0], pos })
      i += date[0].length
      continue
    }
    const number = NUMBER_TOKEN.exec(rest)
    if (number !== null && (c !== "-" || /\d/.test(input[i + 1] ?? ""))) {
      const text = number[0].replace(/[mMdDfFlL]$/, "")
      tokens.push({ kind: "number", value: Number(text), pos })
      i += number[0].length
      continue
    }
    const ident = IDENT_TOKEN.exec(rest)
    if (ident !== null) {
      tokens.push({ kind: "ident", text: ident[0], pos })
      i += ident[0].length
      continue
    }
    throw new QueryError(`Syntax error: character '${c}' is not valid at position ${pos} in '${input}'.`)
  }
  tokens.push({ kind: "end", pos: input.length + 1 })
  return tokens
}

class Parser {
  private index = 0
  constructor(private readonly tokens: ReadonlyArray<Token>, private readonly input: string) {}

  private peek(): Token {
    return this.tokens[this.index]!
  }

  private next(): Token {
    const token = this.tokens[this.index]!
    if (token.kind !== "end") this.index++
    return token
  }

  private isIdent(text: string): boolean {
    const token = this.peek()
    return token.kind === "ident" && token.text === text
  }

  private isPunct(text: string): boolean {
    const token = this.peek()
    return token.kind === "punct" && token.text === text
  }

  private describe(token: Token): string {
    switch (token.kind) {
      case "end":
        return "end of input"
      case "ident":
      case "punct":
        return `'${token.text}'`
      case "string":
        return `string literal`
      case "number":
        return `number ${token.value}`
      case "date":
        return `date ${token.value}`
    }
  }

  fail(message: string, token: Token = this.peek()): never {
    throw new QueryError(`${message} at position ${token.pos} in '${this.input}'.`)
  }

  private expectPunct(text: "(" | ")" | ","): void {
    if (!this.isPunct(text)) this.fail(`Syntax error: '${text}' expected, found ${this.describe(this.peek())}`)
    this.next()
  }

  atEnd(): boolean {
    return this.peek().kind === "end"
  }

  expectEnd(): void {
    if (!this.atEnd()) this.fail(`Syntax error: unexpected ${this.describe(this.peek())}`)
  }

  /** The trailing `asc`/`desc` of an `$orderby` item, if present. */
  direction(): "asc" | "desc" | undefined {
    if (this.isIdent("asc") || this.isIdent("desc")) {
      return (this.next() as { text: "asc" | "desc" }).text
    }
    return undefined
  }

  expression(): Expr {
    return this.or()
  }

  private or(): Expr {
    let left = this.and()
    while (this.isIdent("or")) {
      const pos = this.next().pos
      left = { _tag: "Binary", op: "or", left, right: this.and(), pos }
    }
    return left
  }

  private and(): Expr {
    let left = this.equality()
    while (this.isIdent("and")) {
      const pos = this.next().pos
      left = { _tag: "Binary", op: "and", left, right: this.equality(), pos }
    }
    return left
  }

  private equality(): Expr {
    let left = this.relational()
    while (this.isIdent("eq") || this.isIdent("ne")) {
      const token = this.next() as { text: "eq" | "ne"; pos: number }
      left = { _tag: "Binary", op: token.text, left, right: this.relational(), pos: token.pos }
    }
    return left
  }

  private relational(): Expr {
    let left = this.unary()
    for (;;) {
      const token = this.peek()
      if (token.kind !== "ident") break
      if (token.text === "gt" || token.text === "ge" || token.text === "lt" || token.text === "le") {
        this.next()
        left = { _tag: "Binary", op: token.text, left, right: this.unary(), pos: token.pos }
        continue
      }
      if (UNSUPPORTED_OPERATORS.has(token.text)) this.fail(`The operator '${token.text}' is not supported`, token)
      break
    }
    return left
  }

  private unary(): Expr {
    if (this.isIdent("not")) {
      const pos = this.next().pos
      return { _tag: "Not", operand: this.unary(), pos }
    }
    return this.primary()
  }

  private primary(): Expr {
    const token = this.next()
    switch (token.kind) {
      case "punct": {
        if (token.text !== "(") this.fail(`Syntax error: expression expected, found '${token.text}'`, token)
        const inner = this.expression()
        this.expectPunct(")")
        return inner
      }
      case "string":
        return { _tag: "Literal", type: "string", value: token.value, pos: token.pos }
      case "number":
        return { _tag: "Literal", type: "number", value: token.value, pos: token.pos }
      case "date":
        return { _tag: "Literal", type: "date", value: token.value, pos: token.pos }
      case "end":
        return this.fail("Syntax error: expression expected, found end of input", token)
      case "ident": {
        if (token.text === "true" || token.text === "false") {
          return { _tag: "Literal", type: "boolean", value: token.text === "true", pos: token.pos }
        }
        if (token.text === "null") return { _tag: "Literal", type: "null", value: null, pos: token.pos }
        if (this.isPunct("(")) return this.call(token.text, token.pos)
        if (["and", "or", "eq", "ne", "gt", "ge", "lt", "le"].includes(token.text)) {
          this.fail(`Syntax error: expression expected, found '${token.text}'`, token)
        }
        const segments = [token.text]
        while (this.isPunct("/")) {
          this.next()
          const segment = this.next()
          if (segment.kind !== "ident") this.fail(`Syntax error: property name expected after '/'`, segment)
          segments.push(segment.text)
        }
        return { _tag: "Path", segments, pos: token.pos }
      }
    }
  }

  private call(name: string, pos: number): Expr {
    if (!Object.prototype.hasOwnProperty.call(functionArity, name)) {
      this.fail(`Unknown function '${name}'`, this.tokens[this.index - 1]!)
    }
    const fn = name as FunctionName
    this.expectPunct("(")
    const args: Array<Expr> = []
    if (!this.isPunct(")")) {
      args.push(this.expression())
      while (this.isPunct(",")) {
        this.next()
        args.push(this.expression())
      }
    }
    this.expectPunct(")")
    if (args.length !== functionArity[fn]) {
      throw new QueryError(
        `The function '${fn}' takes ${functionArity[fn]} argument(s), got ${args.length} at position ${pos} in '${this.input}'.`
      )
    }
    return { _tag: "Call", name: fn, args, pos }
  }
}

/** Parses a `$filter` expression. */
export const parseFilter = (input: string): Expr => {
  if (input.trim() === "") throw new QueryError("The query option '$filter' must not be empty.")
  const parser = new Parser(tokenize(input), input)
  const expr = parser.expression()
  parser.expectEnd()
  return expr
}

// ---------------------------------------------------------------------------------------------
// $select, $expand, $orderby

/** Splits on a separator at nesting depth 0, outside string literals. */
const splitTopLevel = (input: string, separator: "," | ";", option: string): ReadonlyArray<string> => {
  const parts: Array<string> = []
  let depth = 0
  let quoted = false
  let start = 0
  for (let i = 0; i < input.length; i++) {
    const c = input[i]
    if (quoted) {
      if (c === "'") {
        if (input[i + 1] === "'") i++
        else quoted = false
      }
      continue
    }
    if (c === "'") quoted = true
    else if (c === "(") depth++
    else if (c === ")") {
      depth--
      if (depth < 0) throw new QueryError(`Unbalanced ')' at position ${i + 1} in ${option} '${input}'.`)
    } else if (c === separator && depth === 0) {
      parts.push(input.slice(start, i))
      start = i + 1
    }
  }
  if (quoted) throw new QueryError(`Unterminated string literal in ${option} '${input}'.`)
  if (depth !== 0) throw new QueryError(`Unbalanced '(' in ${option} '${input}'.`)
  parts.push(input.slice(start))
  return parts
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

export const parseSelect = (input: string): ReadonlyArray<string> =>
  splitTopLevel(input, ",", "$select").map((raw) => {
    const item = raw.trim()
    if (item === "*") return item
    if (!IDENTIFIER.test(item)) {
      throw new QueryError(
        item === "" ? `Empty item in $select '${input}'.` : `Invalid property name '${item}' in $select '${input}'.`
      )
    }
    return item
  })

export interface OrderItem {
  readonly expr: Expr
  readonly direction: "asc" | "desc"
}

export const parseOrderBy = (input: string): ReadonlyArray<OrderItem> =>
  splitTopLevel(input, ",", "$orderby").map((raw) => {
    if (raw.trim() === "") throw new QueryError(`Empty item in $orderby '${input}'.`)
    const parser = new Parser(tokenize(raw), raw)
    const expr = parser.expression()
    const direction = parser.direction() ?? "asc"
    parser.expectEnd()
    return { expr, direction }
  })

export interface ExpandItem {
  readonly navigation: string
  readonly options: QueryOptions
}

export const parseExpand = (input: string): ReadonlyArray<ExpandItem> =>
  splitTopLevel(input, ",", "$expand").map((raw) => {
    const item = raw.trim()
    const open = item.indexOf("(")
    const navigation = (open === -1 ? item : item.slice(0, open)).trim()
    if (!IDENTIFIER.test(navigation)) {
      throw new QueryError(
        navigation === "" ? `Empty item in $expand '${input}'.` : `Invalid navigation property '${navigation}' in $expand '${input}'.`
      )
    }
    if (open === -1) return { navigation, options: {} }
    if (!item.endsWith(")")) throw new QueryError(`Syntax error: ')' expected at the end of '${item}' in $expand.`)
    const inner = item.slice(open + 1, -1)
    const entries: Array<[string, string]> = []
    if (inner.trim() !== "") {
      for (const part of splitTopLevel(inner, ";", `$expand options of '${navigation}'`)) {
        const eq = part.indexOf("=")
        if (eq === -1) throw new QueryError(`Expected '$option=value' in the $expand options of '${navigation}', got '${part}'.`)
        entries.push([part.slice(0, eq).trim(), part.slice(eq + 1)])
      }
    }
    return { navigation, options: parseOptionEntries(entries, NESTED_OPTIONS) }
  })

// ---------------------------------------------------------------------------------------------
// The whole query string

export interface QueryOptions {
  readonly filter?: Expr
  readonly select?: ReadonlyArray<string>
  readonly expand?: ReadonlyArray<ExpandItem>
  readonly orderby?: ReadonlyArray<OrderItem>
  readonly top?: number
  readonly skip?: number
  readonly count?: boolean
}

const TOP_OPTIONS = new Set(["$filter", "$select", "$expand", "$orderby", "$top", "$skip", "$count", "$format"])
const NESTED_OPTIONS = new Set(["$filter", "$select", "$expand", "$orderby", "$top", "$skip", "$count"])
const KNOWN_UNSUPPORTED = new Set(["$search", "$apply", "$compute", "$skiptoken", "$levels", "$deltatoken", "$id", "$schemaversion"])

const nonNegativeInt = (name: string, value: string): number => {
  const trimmed = value.trim()
  if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(Number(trimmed))) {
    throw new QueryError(`Invalid value '${value}' for the query option '${name}': a non-negative integer is expected.`)
  }
  return Number(trimmed)
}

const parseOptionEntries = (
  entries: ReadonlyArray<readonly [string, string]>,
  allowed: ReadonlySet<string>
): QueryOptions => {
  const seen = new Set<string>()
  const out: {
    filter?: Expr
    select?: ReadonlyArray<string>
    expand?: ReadonlyArray<ExpandItem>
    orderby?: ReadonlyArray<OrderItem>
    top?: number
    skip?: number
    count?: boolean
  } = {}
  for (const [name, value] of entries) {
    if (seen.has(name)) throw new QueryError(`The query option '${name}' was specified more than once.`)
    seen.add(name)
    if (!allowed.has(name)) {
      if (KNOWN_UNSUPPORTED.has(name) || name.startsWith("$")) {
        throw new QueryError(`The query option '${name}' is not supported.`)
      }
      throw new QueryError(`Unknown query option '${name}'.`)
    }
    switch (name) {
      case "$filter":
        out.filter = parseFilter(value)
        break
      case "$select":
        out.select = parseSelect(value)
        break
      case "$expand":
        out.expand = parseExpand(value)
        break
      case "$orderby":
        out.orderby = parseOrderBy(value)
        break
      case "$top":
        out.top = nonNegativeInt(name, value)
        break
      case "$skip":
        out.skip = nonNegativeInt(name, value)
        break
      case "$count":
        if (value !== "true" && value !== "false") {
          throw new QueryError(`Invalid value '${value}' for the query option '$count': 'true' or 'false' is expected.`)
        }
        out.count = value === "true"
        break
      case "$format":
        if (value !== "json" && !value.startsWith("application/json")) {
          throw new QueryError(`The format '${value}' is not supported; only JSON is.`)
        }
        break
    }
  }
  return out
}

/**
 * Parses the OData system query options of a request. Parameters that do not start with `$` are
 * not OData options and are ignored, as OData servers do.
 */
export const parseQueryOptions = (params: URLSearchParams): QueryOptions =>
  parseOptionEntries(
    [...params.entries()].filter(([name]) => name.startsWith("$")),
    TOP_OPTIONS
  )
