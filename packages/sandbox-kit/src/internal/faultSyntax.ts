import * as Either from "effect/Either"

/** Fields of a rule as the text gave them, validated later by the `FaultRule` schema. */
export interface ParsedLine {
  readonly input: string
  readonly fields: Record<string, unknown>
}

export interface SyntaxFailure {
  readonly input: string
  readonly reason: string
}

const METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE"])
const STATUSES = new Set([500, 502, 503, 504])
const KINDS_HELP =
  "expected latency:<ms>, 429[:<seconds>], rate-limit[:<seconds>], 500, 502, 503, 504, status[:<code>], hang, drop or drop-after-commit"

const isDigits = (s: string) => /^\d+$/.test(s)

const parseDuration = (text: string): number | undefined => {
  const match = /^(\d+)(ms|s)?$/.exec(text)
  if (match === null) return undefined
  const n = Number(match[1])
  return match[2] === "s" ? n * 1000 : n
}

const parseKind = (token: string): Either.Either<Record<string, unknown>, string> => {
  const colon = token.indexOf(":")
  const head = (colon === -1 ? token : token.slice(0, colon)).toLowerCase()
  const arg = colon === -1 ? undefined : token.slice(colon + 1)
  switch (head) {
    case "latency": {
      if (arg === undefined) return Either.left(`latency needs a delay, e.g. "latency:200" (milliseconds)`)
      const delayMs = parseDuration(arg)
      return delayMs === undefined
        ? Either.left(`invalid latency "${arg}": expected milliseconds like 200, 200ms or 2s`)
        : Either.right({ kind: "latency", delayMs })
    }
    case "429":
    case "rate-limit": {
      if (arg === undefined) return Either.right({ kind: "rate-limit" })
      return isDigits(arg)
        ? Either.right({ kind: "rate-limit", retryAfterSeconds: Number(arg) })
        : Either.left(`invalid Retry-After "${arg}": expected whole seconds, e.g. "429:2"`)
    }
    case "status": {
      if (arg === undefined) return Either.right({ kind: "status" })
      const status = Number(arg)
      return isDigits(arg) && STATUSES.has(status)
        ? Either.right({ kind: "status", status })
        : Either.left(`invalid status "${arg}": expected 500, 502, 503 or 504`)
    }
    case "hang":
    case "drop":
    case "drop-after-commit":
      return arg === undefined ? Either.right({ kind: head }) : Either.left(`"${head}" takes no argument`)
    default: {
      if (isDigits(head) && arg === undefined) {
        const status = Number(head)
        if (STATUSES.has(status)) return Either.right({ kind: "status", status })
        return Either.left(`unsupported status ${head}: ${KINDS_HELP}`)
      }
      return Either.left(`unknown fault kind "${token}": ${KINDS_HELP}`)
    }
  }
}

const parseLine = (input: string): Either.Either<ParsedLine, SyntaxFailure> => {
  const fail = (reason: string) => Either.left<SyntaxFailure>({ input, reason })
  const tokens = input.split(/\s+/).filter((t) => t.length > 0)
  let i = 0
  const fields: Record<string, unknown> = {}
  const first = tokens[i]
  if (first !== undefined && METHODS.has(first.toUpperCase()) && first !== "*") {
    fields.method = first.toUpperCase()
    i++
  }
  const path = tokens[i]
  if (path === undefined) return fail(`missing path: expected "[METHOD] PATH KIND", e.g. "POST /api/x 503"`)
  if (path !== "*" && !path.startsWith("/")) {
    return fail(`invalid path "${path}": expected a path starting with "/" or "*"`)
  }
  fields.path = path
  i++
  const kindToken = tokens[i]
  if (kindToken === undefined) return fail(`missing fault kind after "${path}": ${KINDS_HELP}`)
  const kind = parseKind(kindToken)
  if (Either.isLeft(kind)) return fail(kind.left)
  Object.assign(fields, kind.right)
  i++
  while (i < tokens.length) {
    const token = tokens[i]!
    const times = /^x(\d+)$/i.exec(token)
    if (times !== null) {
      if (fields.times !== undefined) return fail(`"xN" given twice`)
      fields.times = Number(times[1])
      i++
      continue
    }
    if (token.toLowerCase() === "after") {
      const n = tokens[i + 1]
      if (n === undefined || !isDigits(n)) return fail(`"after" needs a number of requests, e.g. "after 3"`)
      if (fields.skip !== undefined) return fail(`"after" given twice`)
      fields.skip = Number(n)
      i += 2
      continue
    }
    if (token.startsWith("#") && token.length > 1) {
      if (fields.id !== undefined) return fail(`"#id" given twice`)
      fields.id = token.slice(1)
      i++
      continue
    }
    return fail(`unexpected "${token}": expected xN, "after N" or #id`)
  }
  return Either.right({ input, fields })
}

/** Splits on newlines and `;`, drops blanks and `//` comments, parses each rule. */
export const parse = (text: string): Either.Either<ReadonlyArray<ParsedLine>, SyntaxFailure> => {
  const lines = text
    .split(/[\n;]/)
    .map((line) => line.replace(/\/\/.*$/, "").trim())
    .filter((line) => line.length > 0)
  if (lines.length === 0) return Either.left({ input: text, reason: "no fault rule given" })
  return Either.all(lines.map(parseLine))
}

const escapeRegExp = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")
const patternCache = new Map<string, RegExp>()

/** `*` matches any run of characters; everything else is literal. */
export const pathMatches = (pattern: string, path: string): boolean => {
  if (pattern === "*") return true
  if (!pattern.includes("*")) return pattern === path
  let regexp = patternCache.get(pattern)
  if (regexp === undefined) {
    regexp = new RegExp(`^${pattern.split("*").map(escapeRegExp).join(".*")}$`)
    patternCache.set(pattern, regexp)
  }
  return regexp.test(path)
}

interface FormattableRule {
  readonly id?: string | undefined
  readonly method?: string | undefined
  readonly path: string
  readonly kind: string
  readonly status?: number | undefined
  readonly retryAfterSeconds?: number | undefined
  readonly delayMs?: number | undefined
  readonly times?: number | undefined
  readonly skip?: number | undefined
}

export const format = (rule: FormattableRule): string => {
  const kind = rule.kind === "latency"
    ? `latency:${rule.delayMs ?? 0}`
    : rule.kind === "rate-limit"
    ? `429:${rule.retryAfterSeconds ?? 1}`
    : rule.kind === "status"
    ? String(rule.status ?? 503)
    : rule.kind
  return [
    rule.method,
    rule.path,
    kind,
    rule.times === undefined ? undefined : `x${rule.times}`,
    rule.skip === undefined ? undefined : `after ${rule.skip}`,
    rule.id === undefined ? undefined : `#${rule.id}`
  ].filter((part) => part !== undefined).join(" ")
}
