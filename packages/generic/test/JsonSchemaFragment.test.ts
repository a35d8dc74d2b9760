/**
 * The inline JSON Schema fragments of `http/request`'s `response`: what is checked in the
 * fragment itself, and how a value is matched.
 */
import { describe, expect, it } from "@effect/vitest"
import { Either, ParseResult, Schema } from "effect"
import { JsonSchemaFragment } from "../src/index.js"

const decode = (input: unknown) =>
  Schema.decodeUnknownEither(JsonSchemaFragment.Fragment, { errors: "all", onExcessProperty: "error" })(input).pipe(
    Either.mapLeft((e) => ParseResult.ArrayFormatter.formatErrorSync(e).map((i) => `${i.path.join(".")}: ${i.message}`).join("\n"))
  )

const refused = (input: unknown) => {
  const result = decode(input)
  if (Either.isRight(result)) throw new Error("expected the fragment to be refused")
  return result.left
}

describe("JsonSchemaFragment", () => {
  it("refuses keywords outside the subset, and inconsistent fragments", () => {
    expect(refused({ type: "object", $ref: "#/x" })).toContain("$ref: is unexpected")
    expect(refused({ oneOf: [] })).toContain("oneOf: is unexpected")
    expect(refused({ type: "strin" })).toContain("type")
    expect(refused({ type: "object", properties: { id: {} }, required: ["id", "name"] })).toContain(
      "required: \"name\" is required but not declared in properties"
    )
    expect(refused({ type: "string", items: { type: "string" } })).toContain("items only applies to arrays")
    expect(refused({ type: "array", properties: {} })).toContain("properties only applies to objects")
    expect(refused({ type: "integer", enum: [1, "two"] })).toContain("enum.1: \"two\" is not of type integer")
    expect(refused({ properties: { a: { type: "array", items: { type: "nope" } } } })).toContain("properties.a.items.type")
  })

  it("matches types, required keys, nested items, enums and closed objects", () => {
    const fragment = Either.getOrThrow(decode({
      type: "object",
      required: ["id", "items"],
      additionalProperties: false,
      properties: {
        id: { type: "integer" },
        state: { enum: ["open", "closed"] },
        ratio: { type: ["number", "null"] },
        items: { type: "array", items: { type: "object", required: ["name"], properties: { name: { type: "string" } } } }
      }
    }))
    expect(JsonSchemaFragment.validate(fragment, { id: 1, items: [{ name: "a" }], ratio: 0.5, state: "open" })).toEqual([])
    expect(JsonSchemaFragment.validate(fragment, { id: 1, items: [], ratio: null })).toEqual([])
    const mismatches = JsonSchemaFragment.validate(fragment, { id: 1.5, items: [{}, { name: 2 }], state: "gone", extra: true })
      .map((m) => `${JsonSchemaFragment.formatPath(m.path)}: ${m.message}`)
    expect(mismatches).toEqual([
      "id: expected integer, got a number",
      "items[0].name: is missing",
      "items[1].name: expected string, got an integer",
      "state: expected one of \"open\", \"closed\"",
      "extra: is not expected"
    ])
    expect(JsonSchemaFragment.validate(fragment, "text").map((m) => JsonSchemaFragment.formatPath(m.path))).toEqual(["(the body)"])
  })

  it("reports at most maxMismatches", () => {
    const fragment = Either.getOrThrow(decode({ type: "array", items: { type: "string" } }))
    expect(JsonSchemaFragment.validate(fragment, Array.from({ length: 50 }, (_, i) => i))).toHaveLength(JsonSchemaFragment.maxMismatches)
  })
})
