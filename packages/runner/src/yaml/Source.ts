/**
 * Files to a tree of located values: every mapping, sequence and scalar keeps where it came
 * from, so that every later problem can be reported as `file:line:col`.
 *
 * This is the one reader of the files a person gives relais (workflow files, `--input-file`,
 * `relais.config.yaml`), and it refuses up front what would otherwise surprise later:
 *
 * - bytes that are not UTF-8 (Latin-1, Windows-1252, UTF-16: "save it as UTF-8"); a UTF-8
 *   byte-order mark is fine;
 * - lines ended by a carriage return alone (old Mac style): refused rather than guessed at;
 * - several YAML documents (`---`) in one file: one file holds one workflow;
 * - YAML directives (`%YAML 1.1` would change what `yes` or `<<` mean) and tags other than the
 *   plain core ones (`!!binary`, `!!timestamp`, custom `!foo`); aliases (`*name`, so nothing can
 *   expand exponentially) and merge keys (`<<`);
 * - nesting deeper than {@link maxDepth} levels, checked on the parser's flat token stream before
 *   anything walks the tree recursively, so that no later walk can exhaust the stack;
 * - mapping keys named `__proto__`, which JavaScript objects cannot hold as plain data.
 *
 * @since 0.1.0
 */
import {
  Composer,
  type CST,
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  Parser,
  Scalar,
  visit
} from "yaml"

/**
 * How deep mappings and lists may nest in a file (a workflow needs about ten levels). Deeper
 * files are refused with a located error before any recursive walk.
 *
 * @since 0.1.0
 */
export const maxDepth = 64

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
 * Set an own, enumerable property, whatever its name (`__proto__` included): a plain assignment
 * would run the `Object.prototype` setter instead.
 *
 * @since 0.1.0
 */
export const setOwn = (object: Record<string, unknown>, key: string, value: unknown): void => {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true })
}

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
      for (const entry of value.entries) setOwn(out, entry.key, toJs(entry.value))
      return out
    }
  }
}

// -----------------------------------------------------------------------------
// Bytes to text
// -----------------------------------------------------------------------------

const SAVE_AS_UTF8 = "save it as UTF-8 (in most editors: \"Save with encoding\" or \"Reopen/Save as\", then UTF-8)"

/**
 * The offset of the first byte that is not part of a well-formed UTF-8 sequence (overlong forms,
 * surrogates and code points past U+10FFFF included), or `undefined`.
 */
const firstInvalidUtf8 = (bytes: Uint8Array): number | undefined => {
  let i = 0
  while (i < bytes.length) {
    const b = bytes[i]!
    if (b < 0x80) {
      i++
      continue
    }
    // The length of the sequence, and the range its second byte must be in.
    const [length, low, high] = b >= 0xc2 && b <= 0xdf
      ? [2, 0x80, 0xbf]
      : b === 0xe0
      ? [3, 0xa0, 0xbf]
      : b === 0xed
      ? [3, 0x80, 0x9f]
      : b >= 0xe1 && b <= 0xef
      ? [3, 0x80, 0xbf]
      : b === 0xf0
      ? [4, 0x90, 0xbf]
      : b >= 0xf1 && b <= 0xf3
      ? [4, 0x80, 0xbf]
      : b === 0xf4
      ? [4, 0x80, 0x8f]
      : [0, 0, 0]
    if (length === 0 || i + length > bytes.length) return i
    const second = bytes[i + 1]!
    if (second < low || second > high) return i
    for (let k = 2; k < length; k++) {
      const next = bytes[i + k]!
      if (next < 0x80 || next > 0xbf) return i
    }
    i += length
  }
  return undefined
}

/** The position of a character of a text. */
const posInText = (text: string, offset: number): Pos => {
  let line = 1
  let lineStart = 0
  for (let i = text.indexOf("\n"); i >= 0 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++
    lineStart = i + 1
  }
  return { line, column: offset - lineStart + 1 }
}

/** UTF-16 or UTF-32, told by a byte-order mark or by the NUL bytes of mostly-ASCII text. */
const wideEncoding = (bytes: Uint8Array): string | undefined => {
  const [a, b, c, d] = [bytes[0], bytes[1], bytes[2], bytes[3]]
  if (a === 0xff && b === 0xfe && c === 0 && d === 0) return "UTF-32 (it starts with a UTF-32 byte-order mark)"
  if (a === 0 && b === 0 && c === 0xfe && d === 0xff) return "UTF-32 (it starts with a UTF-32 byte-order mark)"
  if (a === 0xff && b === 0xfe) return "UTF-16 (it starts with a UTF-16 byte-order mark)"
  if (a === 0xfe && b === 0xff) return "UTF-16 (it starts with a UTF-16 byte-order mark)"
  const n = Math.min(bytes.length, 256) & ~1
  if (n < 2) return undefined
  let evenZeros = 0
  let oddZeros = 0
  for (let i = 0; i < n; i += 2) {
    if (bytes[i] === 0) evenZeros++
    if (bytes[i + 1] === 0) oddZeros++
  }
  const pairs = n / 2
  if (oddZeros >= pairs / 2 && evenZeros <= pairs / 8) return "UTF-16 (every other byte is zero)"
  if (evenZeros >= pairs / 2 && oddZeros <= pairs / 8) return "UTF-16 (every other byte is zero)"
  return undefined
}

/**
 * Decode the bytes of a file, strictly as UTF-8 (a UTF-8 byte-order mark is kept in the text
 * and ignored by {@link parse}). A file in another encoding is refused with its position and
 * what to do, rather than read as mojibake that would end up in the vendors' systems.
 *
 * @since 0.1.0
 */
export const decode = (bytes: Uint8Array): { readonly text: string } | { readonly problem: Problem } => {
  const start: Pos = { line: 1, column: 1 }
  const wide = wideEncoding(bytes)
  if (wide !== undefined) return { problem: { pos: start, message: `this file is ${wide}, not UTF-8: ${SAVE_AS_UTF8}` } }
  let text: string
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes)
  } catch {
    const at = firstInvalidUtf8(bytes) ?? 0
    const before = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes.subarray(0, at))
    const pos = posInText(before.replace(/^\uFEFF/, ""), before.replace(/^\uFEFF/, "").length)
    // No byte value in the message: it may be part of a secret (a configuration file's password).
    return {
      problem: {
        pos,
        message: `this file is not UTF-8: the character here is not valid UTF-8 (the file is probably Latin-1 or Windows-1252); ${SAVE_AS_UTF8}`
      }
    }
  }
  const nul = text.indexOf("\0")
  if (nul >= 0) {
    return { problem: { pos: posInText(text, nul), message: "this file contains a NUL character here: it is not a text file saved as UTF-8" } }
  }
  return { text }
}

// -----------------------------------------------------------------------------
// Text to a YAML document
// -----------------------------------------------------------------------------

/** A `{` or `[` with `${{` after it on the line (a linear test: the line may be long). */
const flowExpression = (line: string): boolean => {
  const open = line.search(/[{[]/)
  return open >= 0 && line.includes("${{", open + 1)
}

/**
 * A YAML document, with the problems of its text: what the `yaml` library reports, and what
 * relais refuses on top (see the module comment). `document` is set when the text could be
 * composed (it may still have problems).
 *
 * @since 0.1.0
 */
export interface ParsedDocument {
  readonly document: Document.Parsed | undefined
  readonly problems: ReadonlyArray<Problem>
  /** The position of an offset in the text (after a byte-order mark, which is dropped). */
  readonly posOf: (offset: number) => Pos
}

/**
 * Parse YAML text into one document. Syntax errors are reported with their position; a few
 * common mistakes get a message of their own (an unquoted `${{ … }}` inside `{ }` or `[ ]`,
 * tabs, duplicate keys). `holds` names what a file holds, for the message about a second
 * document ("one file holds one workflow").
 *
 * @since 0.1.0
 */
export const parseDocument = (source: string, holds = "workflow"): ParsedDocument => {
  const text = source.startsWith("\uFEFF") ? source.slice(1) : source
  const lineCounter = new LineCounter()
  const posOf = (offset: number): Pos => {
    const { col, line } = lineCounter.linePos(offset)
    return { line, column: col }
  }
  const problems: Array<Problem> = []

  const loneCr = /\r(?!\n)/.exec(text)
  if (loneCr !== null) {
    const pos = posInText(text, loneCr.index)
    problems.push({
      pos,
      message: "this line ends with a carriage return alone (old Mac OS style), which YAML reads ambiguously: save the file with LF (or CRLF) line endings"
    })
    return { document: undefined, problems, posOf: (offset) => posInText(text, offset) }
  }

  // The parser builds a flat stream of tokens without recursion; it is checked before the
  // composer (which recurses once per level) and every later walk see it.
  const tokens = [...new Parser(lineCounter.addNewLine).parse(text)]
  const scanned = scan(tokens)
  if (scanned.directive !== undefined) {
    problems.push({
      pos: posOf(scanned.directive),
      message: "YAML directives (%YAML, %TAG) are not supported: remove this line (relais reads YAML 1.2)"
    })
  }
  if (scanned.documents.length > 1) {
    problems.push({
      pos: posOf(scanned.documents[1]!),
      message: `a second YAML document starts here: one file holds one ${holds}; move this one to a file of its own (or remove the ---)`
    })
  }
  if (scanned.tooDeep !== undefined) {
    problems.push({
      pos: posOf(scanned.tooDeep),
      message: `YAML nested more than ${maxDepth} levels (mappings and lists inside each other): flatten this part`
    })
  }
  if (problems.length > 0) return { document: undefined, problems, posOf }

  // Duplicate keys are found by `checkNodes` in linear time (the library's check is quadratic:
  // a minute for a mapping of 30,000 keys).
  const composer = new Composer({ uniqueKeys: false, prettyErrors: false, strict: true, resolveKnownTags: false })
  const document = [...composer.compose(tokens, true, text.length)][0]
  if (document === undefined) return { document: undefined, problems, posOf }

  const lines = text.split("\n")
  const seenLines = new Set<number>()
  for (const error of document.errors) {
    const pos = posOf(error.pos[0])
    // One problem per line: the parser often reports the consequences of the first one.
    if (seenLines.has(pos.line)) continue
    seenLines.add(pos.line)
    if (flowExpression(lines[pos.line - 1] ?? "")) {
      problems.push({
        pos,
        message: "an expression inside { } or [ ] must be quoted: write '${{ … }}' (or use the block style, one key per line)"
      })
      continue
    }
    const detail = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+.*$/, "")
    const indentation = /indent|Nested mappings|Implicit keys|compact mapping/i.test(detail)
    const message = error.code === "TAB_AS_INDENT"
      ? "tabs cannot indent YAML: use spaces"
      : `invalid YAML: ${detail}${indentation ? " (check the indentation around here)" : ""}`
    problems.push({ pos, message })
  }
  if (problems.length === 0) problems.push(...checkNodes(document, posOf))
  return { document, problems, posOf }
}

const unsupportedTag = (tag: string) =>
  `the YAML tag ${showTag(tag)} is not supported: write the value plainly (quote it to make it a text)`
const unfitTag = (tag: string) => `the YAML tag ${showTag(tag)} does not fit this value: remove the tag, or fix the value`

const CORE = "tag:yaml.org,2002:"

/** The plain core tags, and whether a node's value fits each one. */
const CORE_TAGS: Record<string, (node: Node) => boolean> = {
  [`${CORE}str`]: (node) => isScalar(node) && typeof node.value === "string",
  [`${CORE}int`]: (node) => isScalar(node) && typeof node.value === "number" && Number.isInteger(node.value),
  [`${CORE}float`]: (node) => isScalar(node) && typeof node.value === "number",
  [`${CORE}bool`]: (node) => isScalar(node) && typeof node.value === "boolean",
  [`${CORE}null`]: (node) => isScalar(node) && node.value === null,
  [`${CORE}map`]: (node) => isMap(node),
  [`${CORE}seq`]: (node) => isSeq(node)
}

const showTag = (tag: string) => (tag.startsWith(CORE) ? `!!${tag.slice(CORE.length)}` : tag)

/**
 * Tags other than the plain core ones (or that do not fit their value), aliases, merge keys and
 * duplicate keys. `visit` recurses, but only over a document whose depth `scan` has bounded.
 */
const checkNodes = (document: Document.Parsed, posOf: (offset: number) => Pos): Array<Problem> => {
  const problems: Array<Problem> = []
  // With the YAML 1.1 tags turned off, every tag but the core ones fails to resolve, and so does
  // a core tag that does not fit its value (`!!int abc`): the warning is located at the tag.
  const tags: Array<Problem> = []
  for (const warning of document.warnings) {
    if (warning.code !== "TAG_RESOLVE_FAILED") continue
    const tag = /Unresolved tag: (\S+)/.exec(warning.message)?.[1] ?? "?"
    tags.push({ pos: posOf(warning.pos[0]), message: Object.hasOwn(CORE_TAGS, tag) ? unfitTag(tag) : unsupportedTag(tag) })
  }
  const at = (node: Node) => posOf(node.range?.[0] ?? 0)
  /** Also checked on the nodes, in case a tag resolved without a warning. */
  const checkTag = (node: Node) => {
    const tag = node.tag
    if (tag === undefined || tags.length > 0) return
    const fits = Object.hasOwn(CORE_TAGS, tag) ? CORE_TAGS[tag]! : undefined
    if (fits === undefined) problems.push({ pos: at(node), message: unsupportedTag(tag) })
    else if (!fits(node)) problems.push({ pos: at(node), message: unfitTag(tag) })
  }
  visit(document, {
    Alias: (_, node) => {
      problems.push({ pos: at(node), message: "YAML aliases (*name) are not supported: write the value out" })
    },
    Scalar: (_, node) => checkTag(node),
    Seq: (_, node) => checkTag(node),
    Map: (_, map) => {
      checkTag(map)
      const keys = new Set<string>()
      for (const pair of map.items) {
        const key = pair.key as Node | null
        if (!isScalar(key)) continue
        // Keys are read as text (see `convert`): `1` and `"1"` are the same key.
        const id = String(key.value)
        if (keys.has(id)) problems.push({ pos: at(key), message: "this key appears twice in the same mapping" })
        keys.add(id)
      }
    },
    Pair: (_, pair) => {
      const key = pair.key as Node | null
      if (isScalar(key) && key.value === "<<" && key.type === Scalar.PLAIN) {
        problems.push({ pos: at(key), message: "YAML merge keys (<<) are not supported: write the keys out" })
      }
    }
  })
  return [...tags, ...problems]
}

/** Directives, documents and the first collection nested too deep, from the token stream. */
const scan = (tokens: ReadonlyArray<CST.Token>): {
  readonly directive: number | undefined
  readonly documents: ReadonlyArray<number>
  readonly tooDeep: number | undefined
} => {
  let directive: number | undefined
  let tooDeep: number | undefined
  const documents: Array<number> = []
  const stack: Array<readonly [CST.Token, number]> = []
  for (const token of tokens) {
    if (token.type === "directive") directive ??= token.offset
    if (token.type === "document") {
      documents.push(token.offset)
      if (token.value !== undefined) stack.push([token.value, 0])
    }
  }
  // Iterative on purpose: the depth is what is being checked.
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!
    if (token.type !== "block-map" && token.type !== "block-seq" && token.type !== "flow-collection") continue
    if (depth + 1 > maxDepth) {
      tooDeep = tooDeep === undefined ? token.offset : Math.min(tooDeep, token.offset)
      continue
    }
    for (const item of token.items) {
      if (item.key !== undefined && item.key !== null) stack.push([item.key, depth + 1])
      if (item.value !== undefined) stack.push([item.value, depth + 1])
    }
  }
  return { directive, documents, tooDeep }
}

// -----------------------------------------------------------------------------
// A YAML document to located values
// -----------------------------------------------------------------------------

/**
 * Parse YAML text into located values. `holds` names what a file holds (see
 * {@link parseDocument}).
 *
 * @since 0.1.0
 */
export const parse = (text: string, holds = "workflow"): Parsed => {
  const parsed = parseDocument(text, holds)
  const problems: Array<Problem> = [...parsed.problems]
  const document = parsed.document
  if (document === undefined || problems.length > 0) return { root: undefined, problems }
  const posOf = parsed.posOf

  // Recursive, but bounded: `parseDocument` refused anything nested deeper than `maxDepth`, and
  // reported aliases and tags.
  const convert = (node: Node | null | undefined, fallback: number): Value => {
    const start = node?.range?.[0] ?? fallback
    const pos = posOf(start)
    const nothing: ScalarValue = { kind: "scalar", pos, value: null, quoted: false }
    if (node === null || node === undefined) return nothing
    if (isScalar(node)) {
      const raw = node.value
      const quoted = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE ||
        node.type === Scalar.BLOCK_FOLDED || node.type === Scalar.BLOCK_LITERAL
      if (typeof raw === "string" || typeof raw === "number" || typeof raw === "boolean" || raw === null) {
        return { kind: "scalar", pos, value: raw, quoted: quoted && typeof raw === "string" }
      }
      // Not reachable with the core schema and known tags off; refused rather than stringified.
      problems.push({ pos, message: "this value cannot be read as text, a number, true/false or null" })
      return nothing
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
        const key = String(keyNode.value)
        if (key === "__proto__") {
          problems.push({ pos: keyPos, message: "\"__proto__\" cannot be used as a key: choose another name" })
          continue
        }
        entries.push({ key, keyPos, value: convert(item.value as Node | null, keyNode.range?.[1] ?? start) })
      }
      return { kind: "map", pos, entries }
    }
    if (isSeq(node)) {
      return { kind: "seq", pos, items: node.items.map((item) => convert(item as Node | null, start)) }
    }
    problems.push({ pos, message: "unsupported YAML node" })
    return nothing
  }
  const root = document.contents === null ? undefined : convert(document.contents as Node, 0)
  return { root, problems }
}

// -----------------------------------------------------------------------------
// Data files (`--input-file`)
// -----------------------------------------------------------------------------

/**
 * The path of the first place a JSON value nests deeper than `max` levels (`["a", 0, "b"]`), or
 * `undefined`. Iterative: it is what guards the recursive walks that come later (journaling,
 * expressions).
 *
 * @since 0.1.0
 */
export const tooDeep = (value: unknown, max: number = maxDepth): ReadonlyArray<string | number> | undefined => {
  const stack: Array<readonly [unknown, ReadonlyArray<string | number>]> = [[value, []]]
  while (stack.length > 0) {
    const [current, path] = stack.pop()!
    if (current === null || typeof current !== "object") continue
    if (path.length >= max) return path
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push([current[i], [...path, i]])
    } else {
      const keys = Object.keys(current)
      for (let i = keys.length - 1; i >= 0; i--) {
        stack.push([(current as Record<string, unknown>)[keys[i]!], [...path, keys[i]!]])
      }
    }
  }
  return undefined
}

/** Where JSON text first nests deeper than `maxDepth` (strings skipped), by scanning it. */
const jsonTooDeep = (text: string): number | undefined => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === "\\") i++
      else if (c === "\"") inString = false
    } else if (c === "\"") inString = true
    else if (c === "[" || c === "{") {
      if (++depth > maxDepth) return i
    } else if (c === "]" || c === "}") depth--
  }
  return undefined
}

/**
 * Read a data file's text (JSON or YAML) into a plain value, with the same refusals as a
 * workflow file (depth, several documents, tags, aliases). `holds` names what the file holds.
 *
 * @since 0.1.0
 */
export const readData = (
  source: string,
  format: "json" | "yaml",
  holds: string
): { readonly value: unknown } | { readonly problems: ReadonlyArray<Problem> } => {
  if (format === "yaml") {
    const parsed = parse(source, holds)
    if (parsed.problems.length > 0) return { problems: parsed.problems }
    return { value: parsed.root === undefined ? null : toJs(parsed.root) }
  }
  const text = source.startsWith("\uFEFF") ? source.slice(1) : source
  const deep = jsonTooDeep(text)
  if (deep !== undefined) {
    return {
      problems: [{
        pos: posInText(text, deep),
        message: `JSON nested more than ${maxDepth} levels (objects and arrays inside each other): flatten this part`
      }]
    }
  }
  try {
    return { value: JSON.parse(text) }
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0]! : String(error)
    const at = /at position (\d+)/.exec(message)
    return {
      problems: [{
        pos: at ? posInText(text, Number(at[1])) : { line: 1, column: 1 },
        message: `invalid JSON: ${message.replace(/ in JSON at position \d+.*$/, "")}`
      }]
    }
  }
}
