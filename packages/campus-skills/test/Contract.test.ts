import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { Temporal } from "temporal-polyfill"
import { Contract } from "../src/index.js"
import { wire } from "./fixtures.js"

const decodeDate = Schema.decodeUnknownEither(Contract.WireDate)
const encodeDate = Schema.encodeSync(Contract.WireDate)
const decodeContract = Schema.decodeUnknownEither(Contract.Contract, { errors: "all" })
const message = <A>(result: Either.Either<A, ParseResult.ParseError>) =>
  Either.isLeft(result) ? ParseResult.TreeFormatter.formatErrorSync(result.left) : "(decoded)"

describe("WireDate", () => {
  it("decodes DD/MM/YYYY to a PlainDate and back, ends of month included", () => {
    for (
      const [text, iso] of [
        ["01/09/2025", "2025-09-01"],
        ["31/01/2026", "2026-01-31"],
        ["30/04/2026", "2026-04-30"],
        ["31/12/2025", "2025-12-31"],
        ["29/02/2024", "2024-02-29"],
        ["29/02/2000", "2000-02-29"],
        ["28/02/2025", "2025-02-28"]
      ]
    ) {
      const date = Either.getOrThrow(decodeDate(text))
      expect(date).toBeInstanceOf(Temporal.PlainDate)
      expect(date.toString()).toBe(iso)
      expect(encodeDate(date)).toBe(text)
    }
  })

  it("refuses impossible dates with a clear message", () => {
    for (const text of ["29/02/2025", "29/02/1900", "31/04/2026", "31/02/2025", "00/01/2025", "15/13/2025"]) {
      expect(message(decodeDate(text)), text).toContain(`"${text}" is not a date that exists in the calendar`)
    }
  })

  it("refuses other formats", () => {
    for (const text of ["2025-09-01", "1/9/2025", "01/09/25", "01-09-2025", ""]) {
      expect(message(decodeDate(text)), text).toContain("is not a date in the DD/MM/YYYY format")
    }
  })

  it("parseWireDate and formatWireDate are usable on their own", () => {
    expect(Contract.parseWireDate("29/02/2024").pipe(Either.map((d) => d.dayOfWeek))).toEqual(Either.right(4))
    expect(Contract.formatWireDate(Temporal.PlainDate.from("0999-03-05"))).toBe("05/03/0999")
  })
})

describe("Contract", () => {
  it("decodes the wire form and encodes it back unchanged", () => {
    const input = wire(1, { missionTitle: "Vente", rncp: "RNCP38362" })
    const contract = Either.getOrThrow(decodeContract(input))
    expect(contract).toBeInstanceOf(Contract.Contract)
    expect(contract.dateDebut.equals(Temporal.PlainDate.from("2025-09-01"))).toBe(true)
    expect(Schema.encodeSync(Contract.Contract)(contract)).toEqual(input)
  })

  it("requires the documented fields, the dates included", () => {
    const { codeApprenant: _, dateFin: _d, ...rest } = wire(1)
    const text = message(decodeContract(rest))
    expect(text).toContain(`["codeApprenant"]`)
    expect(text).toContain(`["dateFin"]`)
    expect(text).toContain("is missing")
  })

  it("refuses blank fields, bad e-mails, and an end before the start", () => {
    expect(message(decodeContract(wire(1, { nomSite: "  " })))).toContain("must not be blank")
    expect(message(decodeContract(wire(1, { codeContrat: "" })))).toContain("codeContrat must not be blank")
    expect(message(decodeContract(wire(1, { emailApprenant: "a@b" })))).toContain(`"a@b" is not an e-mail address`)
    expect(message(decodeContract(wire(1, { dateDebut: "01/07/2026" })))).toContain(
      "dateFin (30/06/2026) must come after dateDebut (01/07/2026)"
    )
    expect(message(decodeContract(wire(1, { dateFin: "29/02/2027" })))).toContain("29/02/2027")
  })

  it("builds from typed values", () => {
    const contract = Contract.Contract.make({
      ...(wire(1) as any),
      codeContrat: Contract.CodeContrat.make("C-typed"),
      dateDebut: Temporal.PlainDate.from("2024-02-29"),
      dateFin: Temporal.PlainDate.from("2025-02-28")
    })
    expect(Schema.encodeSync(Contract.Contract)(contract)).toMatchObject({
      codeContrat: "C-typed",
      dateDebut: "29/02/2024",
      dateFin: "28/02/2025"
    })
  })
})

describe("TransmittedContract", () => {
  it("accepts contracts without dates or with extra fields", () => {
    const { dateDebut: _a, dateFin: _b, nomSite: _c, ...rest } = wire(1)
    const decoded = Either.getOrThrow(Schema.decodeUnknownEither(Contract.TransmittedContract)({ ...rest, extra: 1 }))
    expect(decoded.codeContrat).toBe("C1")
    expect(decoded.dateDebut).toBeUndefined()
    expect(decoded.nomSite).toBeUndefined()
  })

  it("still refuses an impossible date", () => {
    expect(message(Schema.decodeUnknownEither(Contract.TransmittedContract)(wire(1, { dateFin: "31/06/2026" }))))
      .toContain("31/06/2026")
  })
})

describe("Changes", () => {
  it("defaults each list to empty", () => {
    const changes = Schema.decodeUnknownSync(Contract.Changes)({ removed: ["C1"] })
    expect(changes.added).toEqual([])
    expect(changes.updated).toEqual([])
    expect(changes.removed).toEqual(["C1"])
  })
})
