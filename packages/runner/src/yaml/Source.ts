/**
 * YAML text to a tree of located values: every mapping, sequence and scalar keeps where it
 * came from, so that every later problem can be reported as `file:line:col`.
 *
 * @since 0.1.0
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument, Scalar } from "yaml"

/**
 * A position in a file, 1-based.
 *
 * @since 0.1.0
 */
export interface Pos {
  readonly line: number
  readonly column: number
}

/**
 * @since 0.1.0
 */
export type Value = MapValue | SeqValue | ScalarValue

/**
 * @since 0.1.0
 */
export interface MapValue {
  readonly kind: "map"
  readonly pos: Pos
  readonly entries: ReadonlyArray<Entry>
}

/**
 * @since 0.1.0
 */
export interface Entry {
  readonly key: string
  readonly keyPos: Pos
  readonly value: Value
}

/**
 * @since 0.1.0
 */
export interface SeqValue {
  readonly kind: "seq"
  readonly pos: Pos
  readonly items: ReadonlyArray<Value>
}

/**
 * @since 0.1.0
 */
export interface ScalarValue {
  readonly kind: "scalar"
  readonly pos: Pos
  readonly value: string | number | boolean | null
  /** The scalar was quoted (or a block scalar) in the source: always a string. */
  readonly quoted: boolean
}

/**
 * A problem found while reading the text.
 *
 * @since 0.1.0
 */
export interface Problem {
  readonly pos: Pos
  readonly message: string
}

/**
 * @since 0.1.0
 */
export interface Parsed {
  readonly root: Value | undefined
  readonly problems: ReadonlyArray<Problem>
}

/**
 * The entry of a map under `key`, if present.
 *
 * @since 0.1.0
 */
export const get = (map: MapValue, key: string): Entry | undefined => map.entries.find((e) => e.key === key)

/**
 * The plain JavaScript value of a located value.
 *
 * @since 0.1.0
 */
export const toJs = (value: Value): unknown => {
  switch (value.kind) {
    case "scalar":
      return value.value
    case "seq":
      return value.items.map(toJs)
    case "map": {
      const out: Record<string, unknown> = {}
      for (const entry of value.entries) out[entry.key] = toJs(entry.value)
      return out
    }
  }
}

const FLOW_EXPRESSION = /[{[][^\n]*\$\{\{/

/**
 * Parse YAML text. Syntax errors are reported with their position; a few common mistakes get
 * a message of their own (an unquoted `${{ … }}` inside `{ }` or `[ ]`, tabs, duplicate keys).
 *
 * @since 0.1.0
 */
export const parse = (text: string): Parsed => {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true })
  const posOf = (offset: number): Pos => {
    const { col, line } = lineCounter.linePos(offset)
    return { line, column: col }
  }
  const lines = text.split("\n")
  const problems: Array<Problem> = []
  const seenLines = new Set<number>()
  for (const error of doc.errors) {
    const pos = posOf(error.pos[0])
    const source = lines[pos.line - 1] ?? ""
    if (FLOW_EXPRESSION.test(source)) {
      if (seenLines.has(pos.line)) continue
      seenLines.add(pos.line)
      problems.push({
        pos,
        message: "an expression inside { } or [ ] must be quoted: write '${{ … }}' (or use the block style, one key per line)"
      })
      continue
    }
    // One problem per line: the parser often reports the consequences of the first one.
    if (seenLines.has(pos.line)) continue
    seenLines.add(pos.line)
    const detail = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+.*$/, "")
    const indentation = /indent|Nested mappings|Implicit keys|compact mapping/i.test(detail)
    const message = error.code === "DUPLICATE_KEY"
      ? "this key appears twice in the same mapping"
      : error.code === "TAB_AS_INDENT"
      ? "tabs cannot indent YAML: use spaces"
      : `invalid YAML: ${detail}${indentation ? " (check the indentation around here)" : ""}`
    problems.push({ pos, message })
  }
  if (problems.length > 0) return { root: undefined, problems }

  const convert = (node: Node | null | undefined, fallback: number): Value => {
    const start = node?.range?.[0] ?? fallback
    const pos = posOf(start)
    if (node === null || node === undefined) return { kind: "scalar", pos, value: null, quoted: false }
    if (isAlias(node)) {
      problems.push({ pos, message: "YAML aliases (*name) are not supported in workflow files" })
      return { kind: "scalar", pos, value: null, quoted: false }
    }
    if (isScalar(node)) {
      const raw = node.value
      const quoted = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE ||
        node.type === Scalar.BLOCK_FOLDED || node.type === Scalar.BLOCK_LITERAL
      const value = typeof raw === "string" || typeof raw === "number" || typeof raw === "boolean" || raw === null
        ? raw
        : String(raw)
      return { kind: "scalar", pos, value, quoted }
    }
    if (isMap(node)) {
      const entries: Array<Entry> = []
      for (const item of node.items) {
        if (!isPair(item)) continue
        const keyNode = item.key as Node | null
        const keyPos = posOf(keyNode?.range?.[0] ?? start)
        if (!isScalar(keyNode) || (typeof keyNode.value !== "string" && typeof keyNode.value !== "number")) {
          problems.push({ pos: keyPos, message: "keys must be plain names" })
          continue
        }
        entries.push({
          key: String(keyNode.value),
          keyPos,
          value: convert(item.value as Node | null, keyNode.range?.[1] ?? start)
        })
      }
      return { kind: "map", pos, entries }
    }
    if (isSeq(node)) {
      return { kind: "seq", pos, items: node.items.map((item) => convert(item as Node | null, start)) }
    }
    problems.push({ pos, message: "unsupported YAML node" })
    return { kind: "scalar", pos, value: null, quoted: false }
  }
  const root = doc.contents === null ? undefined : convert(doc.contents as Node, 0)
  return { root, problems }
}
