import { describe, expect, it } from "@effect/vitest"
import * as Expression from "../src/yaml/Expression.js"
import * as T from "../src/yaml/Types.js"

const parse = (text: string) => {
  const result = Expression.parse(text)
  if ("error" in result) throw new Error(`${result.error.at}: ${result.error.message}`)
  return result.expr
}
const evaluate = (text: string, names: Record<string, unknown> = {}) =>
  Expression.evaluate(parse(text), new Map(Object.entries(names)))
const parseError = (text: string) => {
  const result = Expression.parse(text)
  return "error" in result ? `${result.error.at}: ${result.error.message}` : "no error"
}

describe("Expression", () => {
  it("evaluates paths, indexes, literals and operators", () => {
    const names = { inputs: { n: 3, s: "abc", list: [10, 20, 30], o: { "a-b": 1 } }, steps: { x: { output: { Id: 5 } } } }
    expect(evaluate("inputs.n + 1", names)).toBe(4)
    expect(evaluate("inputs.list[1]", names)).toBe(20)
    expect(() => evaluate("inputs.list[-1]", names)).toThrow("inputs.list[-1]: an index is a whole number from 0 (the first item)")
    expect(() => evaluate("inputs.list[3]", names)).toThrow("inputs.list[3]: the list has 3 items")
    expect(() => evaluate("inputs.empty[0].Id", { inputs: { empty: [] } })).toThrow("inputs.empty[0]: the list has no item")
    expect(evaluate("first(inputs.empty).Id ?? 'none'", { inputs: { empty: [] } })).toBe("none")
    expect(evaluate("inputs.o['a-b']", names)).toBe(1)
    expect(evaluate("steps.x.output.Id * 2 - 1", names)).toBe(9)
    expect(evaluate("inputs.s == 'abc' && !(inputs.n < 2)", names)).toBe(true)
    expect(evaluate("inputs.missing ?? 'default'", names)).toBe("default")
    expect(evaluate("inputs.missing.deeper", names)).toBe(null)
    expect(evaluate("inputs.n > 2 ? 'big' : 'small'", names)).toBe("big")
    expect(evaluate("'it''s' + \" ok\"")).toBe("it's ok")
    expect(evaluate("[1, 'a', null]")).toEqual([1, "a", null])
  })

  it("calls the pure functions", () => {
    const names = { inputs: { list: [{ Code: "A" }, { Code: "B" }], s: " Hello " } }
    expect(evaluate("length(inputs.list)", names)).toBe(2)
    expect(evaluate("pluck(inputs.list, 'Code')", names)).toEqual(["A", "B"])
    expect(evaluate("join(pluck(inputs.list, 'Code'), '-')", names)).toBe("A-B")
    expect(evaluate("contains(pluck(inputs.list, 'Code'), 'B')", names)).toBe(true)
    expect(evaluate("lower(trim(inputs.s))", names)).toBe("hello")
    expect(evaluate("startsWith('SAISIE', 'SAI') && endsWith('SAISIE', 'IE')")).toBe(true)
    expect(evaluate("first(inputs.list).Code", names)).toBe("A")
    expect(evaluate("number('12') + 1")).toBe(13)
    expect(evaluate("json(inputs.list[0])", names)).toBe("{\"Code\":\"A\"}")
  })

  it("cannot reach prototypes, globals or the environment", () => {
    expect(parseError("inputs.constructor")).toBe(`7: "constructor" cannot be used in expressions`)
    expect(parseError("inputs['__proto__']")).toBe(`7: "__proto__" cannot be used in expressions`)
    expect(parseError("constructor")).toBe(`0: "constructor" cannot be used in expressions`)
    // Unknown roots do not exist: there is no `process`, `globalThis`, `env`.
    expect(() => evaluate("process.env.HOME")).toThrow(`unknown name "process"`)
    // A key that is not an own property reads as null.
    expect(evaluate("inputs.toString", { inputs: {} })).toBe(null)
    expect(evaluate("inputs.list.map", { inputs: { list: [] } })).toBe(null)
    expect(evaluate("inputs.hasOwnProperty", { inputs: { a: 1 } })).toBe(null)
    // Computed keys are checked at run time too.
    expect(() => evaluate("inputs[inputs.k]", { inputs: { k: "__proto__" } })).toThrow(`"__proto__" cannot be read`)
    // Functions are a fixed list: nothing else can be called.
    expect(() => evaluate("eval('1')")).toThrow(`unknown function "eval"`)
  })

  it("reports syntax errors where they are", () => {
    expect(parseError("inputs.")).toBe("7: expected a field name after '.'")
    expect(parseError("a = 1")).toBe("2: use == to compare (a single = is not an operator)")
    expect(parseError("a & b")).toBe("2: use && (a single & is not an operator)")
    expect(parseError("'open")).toBe("0: this text is not closed: add the closing quote")
    expect(parseError("(a")).toBe("2: expected ')'")
    expect(parseError("a b")).toBe("2: unexpected text after the expression")
    expect(parseError("")).toBe("0: the expression is empty or incomplete")
  })

  it("parses templates: whole expressions keep their type, interpolation gives text", () => {
    const whole = Expression.parseTemplate("${{ inputs.n }}")
    expect("template" in whole && whole.template._tag).toBe("Whole")
    const mixed = Expression.parseTemplate("CONV-${{ inputs.n }}-${{ inputs.s }}")
    expect("template" in mixed && mixed.template._tag).toBe("Interpolated")
    if ("template" in mixed) {
      expect(Expression.evaluateTemplate(mixed.template, new Map([["inputs", { n: 1, s: "x" }]]))).toBe("CONV-1-x")
    }
    expect(Expression.parseTemplate("${{ inputs.n")).toEqual({ error: { at: 0, message: "this expression is not closed: add }}" } })
    expect(Expression.parseTemplate("{{ inputs.n }}")).toMatchObject({ error: { message: expect.stringContaining("${{ … }}") } })
  })

  it("types expressions and explains what is wrong", () => {
    const scope: Expression.Scope = {
      names: new Map<string, T.Type>([
        ["inputs", T.object({ n: T.integer, s: T.string })],
        ["steps", T.object({ seq: T.object({ output: T.array(T.object({ Id: T.number, Nom: T.string })) }) })]
      ])
    }
    const typeOf = (text: string) => {
      const result = Expression.typeOf(parse(text), scope)
      return result.errors.length > 0 ? result.errors.map((e) => e.message).join("; ") : T.show(result.type)
    }
    expect(typeOf("inputs.n")).toBe("integer")
    expect(typeOf("steps.seq.output[0].Nom")).toBe("string")
    expect(typeOf("length(steps.seq.output)")).toBe("integer")
    expect(typeOf("pluck(steps.seq.output, 'Id')")).toBe("array of number")
    expect(typeOf("steps.seq.output.Nom")).toBe("steps.seq.output is a list: use [index] to pick an item")
    expect(typeOf("steps.seq.output[0].Nmo")).toBe(`steps.seq.output[0] has no field "Nmo" (did you mean "Nom"?)`)
    expect(typeOf("input.n")).toContain(`unknown name "input" (did you mean inputs?)`)
    expect(typeOf("inputs.n + inputs.s")).toContain("+ adds two numbers or joins two texts")
    expect(typeOf("lenght(inputs.s)")).toContain(`unknown function "lenght" (did you mean length?)`)
    expect(typeOf("inputs.s ?? 1")).toBe("string | 1")
  })
})
