import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import * as T from "../src/yaml/Types.js"

const fieldsOf = (t: T.Type) => (t._tag === "Object" ? t.fields : new Map<string, T.Field>())

describe("Types", () => {
  it("reads the encoded side of schemas: optional, nullable, refinements, transformations", () => {
    const t = T.fromSchema(Schema.Struct({
      a: Schema.optional(Schema.NullOr(Schema.String)),
      b: Schema.optional(Schema.Number),
      c: Schema.NullOr(Schema.Int),
      d: Schema.NumberFromString,
      e: Schema.Literal("APP", "STA"),
      f: Schema.Array(Schema.Struct({ Id: Schema.Number }))
    }))
    const fields = fieldsOf(t)
    expect(T.show(t)).toBe("object { a?, b?, c, d, e, f }")
    expect(T.show(fields.get("a")!.type)).toBe("string | null")
    expect(fields.get("a")!.optional).toBe(true)
    expect(T.show(fields.get("b")!.type)).toBe("number")
    expect(T.show(fields.get("c")!.type)).toBe("integer | null")
    expect(T.show(fields.get("d")!.type)).toBe("string")
    expect(T.show(fields.get("e")!.type)).toBe(`"APP" | "STA"`)
    expect(T.show(fields.get("f")!.type)).toBe("array of object")
  })

  it("says why a value does not fit, and lets a nullable value into a nullable slot", () => {
    expect(T.mismatch(T.string, T.integer)).toBe("expected integer, got string")
    expect(T.mismatch(T.nullable(T.string), T.string)).toContain("it may be null")
    expect(T.mismatch(T.nullable(T.string), T.nullable(T.string))).toBeUndefined()
    expect(T.mismatch(T.literal(1.5), T.integer)).toBe("expected an integer, got 1.5")
    expect(T.mismatch(T.unknown, T.integer)).toBeUndefined()
    expect(T.mismatch(T.object({ Id: T.number }), T.object({ Id: T.number, Nom: T.string }))).toBe("the field Nom is missing")
  })

  it("reads properties of optional fields as nullable", () => {
    const t = T.fromSchema(Schema.Struct({ Poste: Schema.optional(Schema.String) }))
    const poste = T.property(t, "Poste")
    expect("type" in poste && T.show(poste.type)).toBe("string | null")
  })
})
