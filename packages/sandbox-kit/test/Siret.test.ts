import { describe, expect, it } from "@effect/vitest"
import { Prng, Siret } from "../src/index.js"

describe("Siret", () => {
  it("checks Luhn on known numbers", () => {
    // SIREN and SIRET of well-known public records
    expect(Siret.isValidSiren("732829320")).toBe(true)
    expect(Siret.isValidSiren("732829321")).toBe(false)
    expect(Siret.luhnValid("79927398713")).toBe(true)
    expect(Siret.luhnValid("79927398710")).toBe(false)
    expect(Siret.luhnValid("12a")).toBe(false)
    expect(Siret.luhnCheckDigit("7992739871")).toBe("3")
  })

  it("generates valid, deterministic SIREN and SIRET", () => {
    const p = Prng.make(2024)
    for (let i = 0; i < 200; i++) {
      const siren = Siret.siren(p)
      expect(siren).toMatch(/^[1-9]\d{8}$/)
      expect(Siret.isValidSiren(siren)).toBe(true)
      const siret = Siret.siret(p, siren)
      expect(siret.startsWith(siren)).toBe(true)
      expect(Siret.isValidSiret(siret)).toBe(true)
    }
    expect(Siret.siret(Prng.make(5))).toBe(Siret.siret(Prng.make(5)))
    expect(Siret.isValidSiret("73282932000074")).toBe(true)
    expect(Siret.isValidSiret("73282932000075")).toBe(false)
    expect(() => Siret.siret(p, "123")).toThrow(RangeError)
  })
})
