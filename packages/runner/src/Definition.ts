/**
 * What the runner reads from a checked workflow definition besides the compiled workflow: the
 * providers its steps come from (to set up only those), and the attempts each step is allowed
 * (for `attempt N/M` in the live progress). The definition has been checked by the loader; a
 * text that does not parse yields nothing.
 *
 * @since 0.1.0
 */
import type { Provider } from "./Config.js"
import * as Source from "./yaml/Source.js"

/** The loader's reader (linear in the size of the text, bounded depth); problems yield nothing. */
const parse = (text: string): unknown => {
  const parsed = Source.parse(text)
  return parsed.root === undefined || parsed.problems.length > 0 ? undefined : Source.toJs(parsed.root)
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value)

const walkSteps = (value: unknown, f: (step: Record<string, unknown>) => void): void => {
  if (Array.isArray(value)) {
    value.forEach((v) => walkSteps(v, f))
    return
  }
  if (!isObject(value)) return
  if (typeof value.uses === "string") f(value)
  for (const [key, field] of Object.entries(value)) {
    if (key === "with" || key === "outputs" || key === "inputs") continue
    walkSteps(field, f)
  }
}

/**
 * The providers whose steps a definition uses, from the namespaces of its `uses:` values
 * (`aimaira/create-convention` uses `aimaira`), compensation steps included.
 *
 * @since 0.1.0
 */
export const providersUsed = (text: string): ReadonlySet<Provider> => {
  const used = new Set<Provider>()
  walkSteps(parse(text), (step) => {
    const namespace = String(step.uses).split("/")[0]
    if (namespace === "aimaira" || namespace === "campus-skills") used.add(namespace)
  })
  return used
}

/**
 * The attempts a definition allows: `defaults.retry.maxAttempts` and each step's own
 * `retry.maxAttempts`, by step id.
 *
 * @since 0.1.0
 */
export interface Attempts {
  readonly defaults?: number | undefined
  readonly byId: ReadonlyMap<string, number>
}

/**
 * @since 0.1.0
 */
export const attempts = (text: string): Attempts => {
  const doc = parse(text)
  const byId = new Map<string, number>()
  const maxOf = (retry: unknown) => (isObject(retry) && typeof retry.maxAttempts === "number" ? retry.maxAttempts : undefined)
  const defaults = isObject(doc) && isObject(doc.defaults) ? maxOf(doc.defaults.retry) : undefined
  walkSteps(doc, (step) => {
    const max = maxOf(step.retry)
    if (typeof step.id === "string" && max !== undefined) byId.set(step.id, max)
  })
  return { defaults, byId }
}

/**
 * The attempts of the invocation at `path` (`contrats[3]/convention` is step `convention`): its
 * own, else the definition's default, else the step's policy (`fallback`).
 *
 * @since 0.1.0
 */
export const attemptsAt = (self: Attempts, path: string, fallback: number | undefined): number | undefined => {
  const id = (path.split("/").pop() ?? path).replace(/\[\d+\]$/, "")
  return self.byId.get(id) ?? self.defaults ?? fallback
}
