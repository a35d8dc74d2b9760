/**
 * A small seeded pseudo-random generator, so a sandbox started with the same seed serves the
 * same data every time (and a test can rely on it).
 *
 * It is a plain synchronous object on purpose: seed data is generated once, while a layer is
 * built, and threading an Effect `Random` service through that code would buy nothing.
 * It is not for cryptography.
 *
 * @since 0.1.0
 */

/**
 * A seeded generator. Each call advances its state.
 *
 * @since 0.1.0
 */
export interface Prng {
  /** The 32-bit seed this generator started from. */
  readonly seed: number
  /** A float in [0, 1). */
  readonly next: () => number
  /** An integer in [min, max], both included. */
  readonly int: (min: number, max: number) => number
  /** `true` with the given probability (0.5 by default). */
  readonly bool: (probability?: number) => boolean
  /** One element of a non-empty array. */
  readonly pick: <A>(items: ReadonlyArray<A>) => A
  /** A copy of `items` in a random order. */
  readonly shuffle: <A>(items: ReadonlyArray<A>) => Array<A>
  /** A string of `length` decimal digits (leading zeros allowed). */
  readonly digits: (length: number) => string
  /**
   * An independent generator derived from this one's seed and a label, so adding draws in one
   * part of the seed data does not shift another part.
   */
  readonly fork: (label: string) => Prng
}

/**
 * Hashes a string to a 32-bit seed (FNV-1a).
 *
 * @since 0.1.0
 */
export const hashSeed = (text: string): number => {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/**
 * A generator from a numeric or text seed.
 *
 * @since 0.1.0
 */
export const make = (seed: number | string): Prng => {
  const initial = typeof seed === "string" ? hashSeed(seed) : seed >>> 0
  let state = initial
  // SplitMix32-style step: add a large odd constant, then mix the bits thoroughly.
  const nextUint32 = (): number => {
    state = (state + 0x9e3779b9) >>> 0
    let z = state
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad)
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97)
    return (z ^ (z >>> 15)) >>> 0
  }
  const next = () => nextUint32() / 0x1_0000_0000
  const int = (min: number, max: number) => {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) {
      throw new RangeError(`Prng.int needs integers with min <= max, got ${min} and ${max}`)
    }
    return min + Math.floor(next() * (max - min + 1))
  }
  const pick = <A>(items: ReadonlyArray<A>): A => {
    if (items.length === 0) throw new RangeError("Prng.pick needs a non-empty array")
    return items[int(0, items.length - 1)]!
  }
  const shuffle = <A>(items: ReadonlyArray<A>): Array<A> => {
    const copy = [...items]
    for (let i = copy.length - 1; i > 0; i--) {
      const j = int(0, i)
      const tmp = copy[i]!
      copy[i] = copy[j]!
      copy[j] = tmp
    }
    return copy
  }
  return {
    seed: initial,
    next,
    int,
    bool: (probability = 0.5) => next() < probability,
    pick,
    shuffle,
    digits: (length) => Array.from({ length }, () => String(int(0, 9))).join(""),
    fork: (label) => make(hashSeed(`${initial}:${label}`))
  }
}
