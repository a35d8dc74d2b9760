import { describe, expect, it } from "@effect/vitest"
import { check, typeOf } from "../src/sandbox/internal/odataEngine.js"
import {
  type Expr,
  parseExpand,
  parseFilter,
  parseOrderBy,
  parseQueryOptions,
  parseSelect,
  QueryError,
  tokenize
} from "../src/sandbox/internal/odataParser.js"
import { entities } from "../src/sandbox/internal/model.js"

/** A compact rendering of an expression tree, to assert precedence and structure. */
const show = (expr: Expr): string => {
  switch (expr._tag) {
    case "Literal":
      return expr.type === "string" ? `'${String(expr.value)}'` : String(expr.value)
    case "Path":
      return expr.segments.join("/")
    case "Not":
      return `(not ${show(expr.operand)})`
    case "Binary":
      return `(${show(expr.left)} ${expr.op} ${show(expr.right)})`
    case "Call":
      return `${expr.name}(${expr.args.map(show).join(", ")})`
  }
}

const parseError = (f: () => unknown): string => {
  try {
    f()
  } catch (error) {
    if (error instanceof QueryError) return error.message
    throw error
  }
  throw new Error("expected a QueryError")
}

describe("OData $filter parser", () => {
  it("parses comparisons with every operator", () => {
    for (const op of ["eq", "ne", "gt", "ge", "lt", "le"]) {
      expect(show(parseFilter(`Id ${op} 12`))).toBe(`(Id ${op} 12)`)
    }
  })

  it("gives 'and' precedence over 'or', and honours parentheses", () => {
    expect(show(parseFilter("A eq 1 or B eq 2 and C eq 3"))).toBe("((A eq 1) or ((B eq 2) and (C eq 3)))")
    expect(show(parseFilter("(A eq 1 or B eq 2) and C eq 3"))).toBe("(((A eq 1) or (B eq 2)) and (C eq 3))")
  })

  it("parses not, functions and navigation paths", () => {
    expect(show(parseFilter("not startswith(Sequence/TypeSequence/Code, 'S')"))).toBe(
      "(not startswith(Sequence/TypeSequence/Code, 'S'))"
    )
    expect(show(parseFilter("not (Nom eq 'A') and contains(tolower(Nom),'du')"))).toBe(
      "((not (Nom eq 'A')) and contains(tolower(Nom), 'du'))"
    )
    expect(show(parseFilter("endswith(Mail/Adresse,'@ecole.fr')"))).toBe("endswith(Mail/Adresse, '@ecole.fr')")
  })

  it("reads string literals with doubled quotes", () => {
    const expr = parseFilter("Nom eq 'D''ALMEIDA'")
    expect(expr._tag === "Binary" && expr.right._tag === "Literal" ? expr.right.value : undefined).toBe("D'ALMEIDA")
    expect(show(parseFilter("Nom eq ''''"))).toBe("(Nom eq ''')")
  })

  it("reads numbers, null, booleans and dates", () => {
    const tokens = tokenize("-12 3.5 2023-09-01 2023-09-01T00:00:00+02:00 2024-01-10T10:00:00.5Z null true")
    expect(tokens.map((token) => token.kind)).toEqual(["number", "number", "date", "date", "date", "ident", "ident", "end"])
    expect(show(parseFilter("DateDebut ge 2023-09-01T00:00:00+02:00 and Remuneration gt -1.5"))).toBe(
      "((DateDebut ge 2023-09-01T00:00:00+02:00) and (Remuneration gt -1.5))"
    )
    expect(show(parseFilter("Nom eq null or Valide eq true"))).toBe("((Nom eq null) or (Valide eq true))")
  })

  it("rejects malformed filters with a message naming the position", () => {
    expect(parseError(() => parseFilter("Nom eq"))).toMatch(/expression expected.*position 7/)
    expect(parseError(() => parseFilter("Nom eq 'Dupont"))).toMatch(/Unterminated string literal at position 8/)
    expect(parseError(() => parseFilter("(Nom eq 'a'"))).toMatch(/'\)' expected/)
    expect(parseError(() => parseFilter("Nom eq 'a')"))).toMatch(/unexpected '\)'/)
    expect(parseError(() => parseFilter("Nom eq 'a' Code"))).toMatch(/unexpected 'Code'/)
    expect(parseError(() => parseFilter("Nom == 'a'"))).toMatch(/character '=' is not valid/)
    expect(parseError(() => parseFilter("frobnicate(Nom)"))).toMatch(/Unknown function 'frobnicate'/)
    expect(parseError(() => parseFilter("startswith(Nom)"))).toMatch(/takes 2 argument/)
    expect(parseError(() => parseFilter("Id add 1 eq 2"))).toMatch(/operator 'add' is not supported/)
    expect(parseError(() => parseFilter("Sequence/'S' eq 1"))).toMatch(/property name expected after '\/'/)
    expect(parseError(() => parseFilter(""))).toMatch(/must not be empty/)
  })
})

describe("OData $select, $expand, $orderby", () => {
  it("parses $select lists", () => {
    expect(parseSelect("Id, Nom,Code")).toEqual(["Id", "Nom", "Code"])
    expect(parseError(() => parseSelect("Id,,Nom"))).toMatch(/Empty item/)
    expect(parseError(() => parseSelect("Id,No-m"))).toMatch(/Invalid property name 'No-m'/)
  })

  it("parses $expand with nested options, commas inside strings included", () => {
    const items = parseExpand("Sequence($select=Id,Nom;$expand=TypeSequence($select=Code)),Apprenant")
    expect(items.map((item) => item.navigation)).toEqual(["Sequence", "Apprenant"])
    expect(items[0]!.options.select).toEqual(["Id", "Nom"])
    expect(items[0]!.options.expand?.[0]?.navigation).toBe("TypeSequence")
    expect(items[0]!.options.expand?.[0]?.options.select).toEqual(["Code"])
    const filtered = parseExpand("Inscriptions($filter=Nom eq 'a,b;c)';$top=2)")
    expect(filtered[0]!.options.top).toBe(2)
    expect(filtered[0]!.options.filter && show(filtered[0]!.options.filter)).toBe("(Nom eq 'a,b;c)')")
  })

  it("rejects malformed $expand", () => {
    expect(parseError(() => parseExpand("Sequence($select=Id"))).toMatch(/Unbalanced '\('/)
    expect(parseError(() => parseExpand("Sequence($bogus=1)"))).toMatch(/'\$bogus' is not supported/)
    expect(parseError(() => parseExpand("Sequence(select)"))).toMatch(/Expected '\$option=value'/)
    expect(parseError(() => parseExpand(",Sequence"))).toMatch(/Empty item/)
  })

  it("parses $orderby with directions and several keys", () => {
    const items = parseOrderBy("Nom desc, Prenoms,Sequence/Debut asc")
    expect(items.map((item) => `${show(item.expr)} ${item.direction}`)).toEqual([
      "Nom desc",
      "Prenoms asc",
      "Sequence/Debut asc"
    ])
    expect(parseError(() => parseOrderBy("Nom sideways"))).toMatch(/unexpected 'sideways'/)
  })

  it("parses the whole query string and rejects unknown or repeated options", () => {
    const options = parseQueryOptions(new URLSearchParams("$top=10&$skip=5&$count=true&$format=json&other=ignored"))
    expect(options).toEqual({ top: 10, skip: 5, count: true })
    expect(parseError(() => parseQueryOptions(new URLSearchParams("$top=-1")))).toMatch(/non-negative integer/)
    expect(parseError(() => parseQueryOptions(new URLSearchParams("$count=yes")))).toMatch(/'true' or 'false'/)
    expect(parseError(() => parseQueryOptions(new URLSearchParams("$search=x")))).toMatch(/'\$search' is not supported/)
    expect(parseError(() => parseQueryOptions(new URLSearchParams("$top=1&$top=2")))).toMatch(/more than once/)
  })
})

describe("OData type checking against the model", () => {
  it("types paths through single-valued navigation properties", () => {
    expect(typeOf(entities.InscriptionSequence, parseFilter("startswith(Sequence/TypeSequence/Code, 'S')"))).toBe("boolean")
    expect(typeOf(entities.Apprenant, parseFilter("Mail/Adresse"))).toBe("string")
    expect(typeOf(entities.InscriptionSequence, parseFilter("InscriptionId"))).toBe("number")
  })

  it("rejects unknown properties, incompatible operands and collection paths", () => {
    expect(parseError(() => typeOf(entities.Convention, parseFilter("Nope eq 1")))).toBe(
      "Could not find a property named 'Nope' on type 'GraphV1.Convention'."
    )
    expect(parseError(() => typeOf(entities.Convention, parseFilter("ApprenantId eq 'x'")))).toMatch(
      /incompatible types.*'Edm.Decimal' and 'Edm.String'.*'Equal'/
    )
    expect(parseError(() => typeOf(entities.Convention, parseFilter("Avenant gt true")))).toMatch(/incompatible types/)
    expect(parseError(() => typeOf(entities.Apprenant, parseFilter("Inscriptions/Id eq 1")))).toMatch(/any\/all/)
    expect(parseError(() => typeOf(entities.Convention, parseFilter("Nom/Code eq 'x'")))).toMatch(/not a navigation property/)
    expect(parseError(() => typeOf(entities.Convention, parseFilter("startswith(ApprenantId, 'S')")))).toMatch(
      /Argument 1 of 'startswith'/
    )
    expect(parseError(() => typeOf(entities.Convention, parseFilter("DateDebut gt 2023-13-45")))).toMatch(/Invalid date literal/)
  })

  it("checks $filter, $select, $expand and $orderby together", () => {
    expect(parseError(() => check(entities.Convention, parseQueryOptions(new URLSearchParams("$filter=Nom"))))).toMatch(
      /must evaluate to a boolean/
    )
    expect(parseError(() => check(entities.Convention, parseQueryOptions(new URLSearchParams("$select=Id,Bogus"))))).toMatch(
      /'Bogus'/
    )
    expect(parseError(() => check(entities.Convention, parseQueryOptions(new URLSearchParams("$expand=Nom"))))).toMatch(
      /navigation property named 'Nom'/
    )
    expect(
      parseError(() => check(entities.InscriptionSequence, parseQueryOptions(new URLSearchParams("$expand=Sequence($top=1)"))))
    ).toMatch(/Only \$select and \$expand/)
    expect(() =>
      check(entities.InscriptionSequence, parseQueryOptions(new URLSearchParams("$expand=Sequence($select=Id,Nom)&$select=Sequence")))
    ).not.toThrow()
  })
})
