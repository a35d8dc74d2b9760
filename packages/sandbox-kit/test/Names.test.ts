import { describe, expect, it } from "@effect/vitest"
import { Names, Prng } from "../src/index.js"

describe("Names", () => {
  it("draws people whose first name fits the civilité", () => {
    const p = Prng.make(3)
    for (let i = 0; i < 50; i++) {
      const who = Names.person(p)
      expect(Names.firstNames[who.civilite]).toContain(who.prenom)
      expect(Names.lastNames).toContain(who.nom)
    }
    expect(Names.person(Prng.make(8))).toEqual(Names.person(Prng.make(8)))
  })

  it("builds ASCII e-mail addresses", () => {
    expect(Names.email({ prenom: "Héloïse", nom: "Le Gall" }, "ecole.fr")).toBe("heloise.legall@ecole.fr")
    expect(Names.email({ prenom: "Raphaël", nom: "Lefèvre" }, "x.fr", "2")).toBe("raphael.lefevre2@x.fr")
    expect(Names.slug("  Électricité Noël & Fils ")).toBe("electricite-noel-fils")
  })

  it("draws company names", () => {
    expect(Names.companyName(Prng.make(1))).toMatch(/^\S+ .+ (SARL|SAS|SA|EURL|SASU)$/)
  })
})
