import { describe, expect, it } from "@effect/vitest"
import { Prng } from "../src/index.js"

describe("Prng", () => {
  it("is deterministic for a seed and differs between seeds", () => {
    const a = Prng.make(42)
    const b = Prng.make(42)
    const c = Prng.make(43)
    const draw = (p: Prng.Prng) => Array.from({ length: 20 }, () => p.int(0, 1_000_000))
    const fromA = draw(a)
    expect(draw(b)).toEqual(fromA)
    expect(draw(c)).not.toEqual(fromA)
    expect(Prng.make("demo").seed).toBe(Prng.make("demo").seed)
    expect(Prng.make("demo").seed).not.toBe(Prng.make("other").seed)
  })

  it("stays in range and covers it", () => {
    const p = Prng.make(1)
    const seen = new Set<number>()
    for (let i = 0; i < 2000; i++) {
      const n = p.int(3, 7)
      expect(n).toBeGreaterThanOrEqual(3)
      expect(n).toBeLessThanOrEqual(7)
      seen.add(n)
      const f = p.next()
      expect(f).toBeGreaterThanOrEqual(0)
      expect(f).toBeLessThan(1)
    }
    expect([...seen].sort()).toEqual([3, 4, 5, 6, 7])
  })

  it("picks, shuffles and draws digits", () => {
    const p = Prng.make(7)
    const items = ["a", "b", "c", "d"]
    expect(items).toContain(p.pick(items))
    const shuffled = p.shuffle(items)
    expect([...shuffled].sort()).toEqual(items)
    expect(p.digits(12)).toMatch(/^\d{12}$/)
    expect(() => p.pick([])).toThrow(RangeError)
    expect(() => p.int(5, 1)).toThrow(RangeError)
  })

  it("forks independent streams", () => {
    const p = Prng.make(99)
    const f1 = p.fork("companies").int(0, 1e9)
    p.next() // drawing from the parent does not move a fork
    expect(p.fork("companies").int(0, 1e9)).toBe(f1)
    expect(p.fork("people").int(0, 1e9)).not.toBe(f1)
  })
})
