import { describe, expect, it } from "@effect/vitest"
import { Temporal } from "temporal-polyfill"
import { Entities, Ids, Query } from "../src/index.js"
import { parseExpand, parseFilter, parseQueryOptions } from "../src/sandbox/internal/odataParser.js"

const literalOf = (filter: string): unknown => {
  const expr = parseFilter(filter)
  return expr._tag === "Binary" && expr.right._tag === "Literal" ? expr.right.value : undefined
}

describe("Query", () => {
  it("renders comparisons with typed literals", () => {
    const f = Query.filters<Entities.Convention>()
    expect(Query.render(f.eq("ApprenantId", Ids.ApprenantId.make(2220513)))).toBe("ApprenantId eq 2220513")
    expect(Query.render(f.ne("EntrepriseId", null))).toBe("EntrepriseId ne null")
    expect(Query.render(f.eq("Avenant", false))).toBe("Avenant eq false")
    expect(Query.render(f.ge("DateDebut", Temporal.PlainDate.from("2025-11-14")))).toBe("DateDebut ge 2025-11-14T00:00:00+01:00")
    expect(Query.render(f.lt("DateFin", Temporal.PlainDate.from("2026-08-31")))).toBe("DateFin lt 2026-08-31T00:00:00+02:00")
    expect(Query.render(f.gt(f.path("Remuneration"), 1261.76))).toBe("Remuneration gt 1261.76")
  })

  it("escapes quotes in string literals so they round-trip through an OData parser", () => {
    const f = Query.filters<Entities.Apprenant>()
    for (const value of ["D'ALMEIDA", "'", "''", "a''b'", "O'Neil & Co (Lyon), 50%", ""]) {
      const rendered = Query.render(f.eq("Nom", value))
      expect(literalOf(rendered)).toBe(value)
    }
    expect(Query.render(f.startsWith("Nom", "D'A"))).toBe("startswith(Nom,'D''A')")
  })

  it("combines with and/or/not, always parenthesized", () => {
    const f = Query.filters<Entities.Sequence>()
    const filter = f.or(f.and(f.eq("Nom", "a"), f.not(f.contains("Code", "x"))), f.startsWith(f.path("TypeSequence/Code"), "S"))
    const rendered = Query.render(filter)
    expect(rendered).toBe("((Nom eq 'a') and (not (contains(Code,'x')))) or (startswith(TypeSequence/Code,'S'))")
    expect(() => parseFilter(rendered)).not.toThrow()
    expect(Query.render(f.and(f.eq("Nom", "only")))).toBe("Nom eq 'only'")
  })

  it("refuses what would render a malformed query", () => {
    const f = Query.filters<Entities.Convention>()
    expect(() => f.eq(f.path("Sequence/"), 1)).toThrow(RangeError)
    expect(() => f.path("Nom eq 'x' or Id")).toThrow(RangeError)
    expect(() => f.eq("Remuneration", Number.NaN)).toThrow(RangeError)
    expect(() => f.gt("Remuneration", Number.POSITIVE_INFINITY)).toThrow(RangeError)
    expect(() => Query.from(Entities.Convention).top(-1)).toThrow(RangeError)
    expect(() => Query.from(Entities.Convention).skip(1.5)).toThrow(RangeError)
    expect(() => Query.from(Entities.Convention).select("Id,Nom")).toThrow(RangeError)
    expect(() => Query.from(Entities.Convention).expand("Sequence($top=1)")).toThrow(RangeError)
  })

  it("builds every query option, nested $expand included, that the sandbox parser accepts", () => {
    const query = Query.from(Entities.InscriptionSequence)
      .where((f) => f.startsWith(f.path("Sequence/TypeSequence/Code"), "S"))
      .where((f) => f.eq(f.path("InscriptionId"), 42))
      .select("Id", "Sequence")
      .expand("Sequence", (q) => q.select("Id", "Nom").expand("TypeSequence", (t) => t.select("Code")))
      .orderBy("SequenceId", "desc")
      .orderBy("Id")
      .top(10)
      .skip(20)
      .withCount()
    const params = Object.fromEntries(query.toParams())
    expect(params).toEqual({
      $filter: "(startswith(Sequence/TypeSequence/Code,'S')) and (InscriptionId eq 42)",
      $select: "Id,Sequence",
      $expand: "Sequence($select=Id,Nom;$expand=TypeSequence($select=Code))",
      $orderby: "SequenceId desc,Id asc",
      $top: "10",
      $skip: "20",
      $count: "true"
    })
    const parsed = parseQueryOptions(new URLSearchParams(query.toSearch()))
    expect(parsed.top).toBe(10)
    expect(parsed.skip).toBe(20)
    expect(parsed.count).toBe(true)
    expect(parseExpand(params.$expand!)[0]!.options.expand?.[0]?.options.select).toEqual(["Code"])
    expect(query.toSearch()).toContain("%24filter=")
    expect(Query.from(Entities.Convention).toSearch()).toBe("")
  })

  it("keeps branded ids apart at compile time", () => {
    const f = Query.filters<Entities.Convention>()
    const entrepriseId = Ids.EntrepriseId.make(1)
    // @ts-expect-error an EntrepriseId is not an ApprenantId
    const wrong = f.eq("ApprenantId", entrepriseId)
    expect(Query.render(wrong)).toBe("ApprenantId eq 1")
    // @ts-expect-error a string is not a number field's value
    expect(() => f.eq("Remuneration", "12")).not.toThrow()
    // @ts-expect-error not a declared field (use f.path for undeclared ones)
    expect(() => f.eq("Nope", 1)).not.toThrow()
  })
})
