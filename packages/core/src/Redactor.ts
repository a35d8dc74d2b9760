/**
 * Keeps secrets out of everything relais writes: the run store, events, logs and error
 * messages. Providers register the secret values they hold (a password, an API key, a token,
 * and derived forms such as a Basic credential); the redactor replaces them wherever they
 * appear, and also blanks the values of keys that name a secret (`password`, `token`...).
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Redacted } from "effect"

/**
 * What secrets are replaced with.
 *
 * @since 0.1.0
 */
export const mask = "[redacted]"

const SECRET_KEY = /pass(word)?|secret|token|api[-_]?key|authorization|credential/i

/**
 * A YAML or JSON text (a workflow's definition) with the value written after every key that
 * names a secret (`password: ...`, `"apiKey": "..."`: the rule `redact` applies to objects'
 * keys) replaced with `mask`, unless the value is an expression (`${{ ... }}`: a reference to a
 * secret, not the secret). A secret written in a file is not one the redactor knows; this keeps
 * it from being shown.
 *
 * @since 0.1.0
 */
export const maskKeyedValues = (text: string): string =>
  text.replace(
    /((?:^|[\s{,])["']?[\w-]*(?:pass(?:word)?|secret|token|api[-_]?key|authorization|credential)[\w-]*["']?[ \t]*:[ \t]*)("(?:[^"\\\n]|\\.)*"|'(?:[^'\n]|'')*'|[^\s,{}#"'|>][^,}#\n]*)/gim,
    (whole, key: string, value: string) => (value.includes("${{") ? whole : `${key}"${mask}"`)
  )

/**
 * @since 0.1.0
 */
export interface Service {
  /** Remember secret values so that they are masked from now on. */
  readonly register: (...secrets: ReadonlyArray<Redacted.Redacted<string> | string>) => Effect.Effect<void>
  /** A deep copy of `value` with every secret masked. */
  readonly redact: <A>(value: A) => A
  /** `text` with every secret masked. */
  readonly redactText: (text: string) => string
}

/**
 * @since 0.1.0
 * @category Tags
 */
export class Redactor extends Context.Tag("@relais/core/Redactor")<Redactor, Service>() {}

/**
 * Secrets shorter than this are not masked inside text (masking "ab" everywhere would destroy
 * every message); they are still masked as whole values under secret-named keys.
 *
 * @since 0.1.0
 */
export const minimumLength = 4

/**
 * A redactor. `make()` starts empty; secrets are registered by whoever holds them.
 *
 * @since 0.1.0
 */
export const make = (initial: ReadonlyArray<Redacted.Redacted<string> | string> = []): Service => {
  const secrets = new Set<string>()
  // The secrets to look for, longest first (so that a secret containing another is masked
  // whole): sorted again only when one is added, not for every string redacted.
  let sorted: ReadonlyArray<string> | undefined
  const add = (secret: Redacted.Redacted<string> | string) => {
    const value = typeof secret === "string" ? secret : Redacted.value(secret)
    if (value.length === 0) return
    sorted = undefined
    secrets.add(value)
    // The forms a secret takes on the wire, so a leaked header or URL is masked too.
    if (value.length >= minimumLength) {
      secrets.add(Buffer.from(value, "utf8").toString("base64").replace(/=+$/, ""))
      const encoded = encodeURIComponent(value)
      if (encoded !== value) secrets.add(encoded)
    }
  }
  initial.forEach(add)

  const redactText = (text: string): string => {
    let out = text
    sorted ??= [...secrets].filter((s) => s.length >= minimumLength).sort((a, b) => b.length - a.length)
    for (const secret of sorted) {
      if (out.includes(secret)) out = out.split(secret).join(mask)
    }
    return out
  }

  const walk = (value: unknown, seen: WeakMap<object, unknown>): unknown => {
    if (typeof value === "string") return redactText(value)
    if (value === null || typeof value !== "object") return value
    if (Redacted.isRedacted(value)) return mask
    const cached = seen.get(value)
    if (cached !== undefined) return cached
    if (Array.isArray(value)) {
      const out: Array<unknown> = []
      seen.set(value, out)
      for (const item of value) out.push(walk(item, seen))
      return out
    }
    if (value instanceof Date) return value
    const out: Record<string, unknown> = {}
    seen.set(value, out)
    for (const [key, field] of Object.entries(value)) {
      out[key] = SECRET_KEY.test(key) && (typeof field === "string" || typeof field === "number")
        ? mask
        : walk(field, seen)
    }
    return out
  }

  return {
    register: (...values) => Effect.sync(() => values.forEach(add)),
    redact: <A>(value: A): A => walk(value, new WeakMap()) as A,
    redactText
  }
}

/**
 * A layer with an empty redactor: provide it once, at the edge, so that every provider and the
 * run store share it.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<Redactor> = Layer.sync(Redactor, () => make())

/**
 * Register secrets with the redactor in context.
 *
 * @since 0.1.0
 */
export const register = (
  ...secrets: ReadonlyArray<Redacted.Redacted<string> | string>
): Effect.Effect<void, never, Redactor> => Effect.flatMap(Redactor, (redactor) => redactor.register(...secrets))
