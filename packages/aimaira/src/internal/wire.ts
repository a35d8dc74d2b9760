/**
 * The wire form of entities: a JSON object whose declared properties decode through the entity
 * class and whose other properties (not declared, or added by AIMAIRA later) are kept in `extra`
 * and written back unchanged, so a get-modify-write never drops them. `@odata.*` annotations are
 * response metadata, not properties: they are dropped.
 */
import * as Schema from "effect/Schema"

export const Extra = Schema.Record({ key: Schema.String, value: Schema.Unknown })

const RawObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })

export interface ClassLike<A> extends Schema.Schema<A, any, never> {
  readonly fields: Schema.Struct.Fields
}

const cache = new WeakMap<object, Schema.Schema<any, Record<string, unknown>, never>>()

export const wireSchema = <A>(cls: ClassLike<A>): Schema.Schema<A, Record<string, unknown>, never> => {
  const cached = cache.get(cls)
  if (cached !== undefined) return cached
  const declared = new Set(Object.keys(cls.fields).filter((name) => name !== "extra"))
  const schema = Schema.transform(RawObject, cls, {
    strict: false,
    decode: (raw) => {
      const known: Record<string, unknown> = {}
      const extra: Record<string, unknown> = {}
      for (const [key, value] of Object.entries(raw)) {
        if (key.startsWith("@odata.") || key.startsWith("odata.")) continue
        if (declared.has(key)) known[key] = value
        else extra[key] = value
      }
      return { ...known, extra }
    },
    encode: (encoded) => {
      const { extra, ...known } = encoded as { extra?: Record<string, unknown> }
      return { ...known, ...extra }
    }
  })
  cache.set(cls, schema)
  return schema
}

/** The schema of a partial entity for creates: declared fields optional, `Id` and `extra` excluded. */
export const partialSchema = <A>(cls: ClassLike<A>): Schema.Schema<any, Record<string, unknown>, never> => {
  const fields: Record<string, Schema.Struct.Field> = {}
  for (const [name, field] of Object.entries(cls.fields)) {
    if (name !== "Id" && name !== "extra") fields[name] = field
  }
  return Schema.partialWith(Schema.Struct(fields), { exact: true }) as unknown as Schema.Schema<any, Record<string, unknown>, never>
}
