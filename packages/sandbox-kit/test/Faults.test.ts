import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { Faults } from "../src/index.js"

const rule = (text: string) => Either.getOrThrow(Faults.parseRule(text))
const syntaxError = (text: string) => {
  const result = Faults.parse(text)
  if (Either.isRight(result)) throw new Error(`expected "${text}" to be refused`)
  return result.left
}

describe("Faults.parse", () => {
  it("reads the documented examples", () => {
    expect(rule("POST /GraphV1/Convention 429:2 x1")).toMatchObject({
      method: "POST",
      path: "/GraphV1/Convention",
      kind: "rate-limit",
      retryAfterSeconds: 2,
      times: 1
    })
    expect(rule("GET /api/sync/v1/test 503 x2")).toMatchObject({
      method: "GET",
      kind: "status",
      status: 503,
      times: 2
    })
    expect(rule("* latency:200")).toMatchObject({ path: "*", kind: "latency", delayMs: 200 })
    expect(rule("* latency:200").method).toBeUndefined()
    expect(rule("* latency:2s").delayMs).toBe(2000)
    expect(rule("POST /GraphV1/Entreprise drop-after-commit x1")).toMatchObject({
      kind: "drop-after-commit",
      times: 1
    })
    expect(rule("* hang x1 after 3")).toMatchObject({ kind: "hang", times: 1, skip: 3 })
    expect(rule("get /x drop #boom")).toMatchObject({ method: "GET", kind: "drop", id: "boom" })
    expect(rule("/x 429")).toMatchObject({ kind: "rate-limit" })
    expect(rule("/x 429").effectiveRetryAfterSeconds).toBe(1)
    expect(rule("/x status").effectiveStatus).toBe(503)
    expect(rule("/x status:504").status).toBe(504)
    expect(rule("/x rate-limit:7").retryAfterSeconds).toBe(7)
  })

  it("reads several rules separated by newlines or semicolons, with comments", () => {
    const rules = Either.getOrThrow(Faults.parse("GET /a 500 // first\n\n POST /b drop ; * hang"))
    expect(rules.map((r) => r.kind)).toEqual(["status", "drop", "hang"])
  })

  it("round-trips through toText", () => {
    for (const text of ["POST /a 429:2 x1", "/b latency:150 after 2", "GET /c 502 x3 after 1 #c", "* hang"]) {
      expect(rule(text).toText()).toBe(text)
    }
  })

  it("refuses bad input with a message naming the problem and the input", () => {
    const cases: ReadonlyArray<readonly [string, RegExp]> = [
      ["", /no fault rule given/],
      ["POST", /missing path/],
      ["POST api/x 503", /invalid path "api\/x"/],
      ["POST /x", /missing fault kind/],
      ["POST /x 404", /unsupported status 404/],
      ["POST /x explode", /unknown fault kind "explode"/],
      ["POST /x latency", /latency needs a delay/],
      ["POST /x latency:fast", /invalid latency "fast"/],
      ["POST /x 429:soon", /invalid Retry-After "soon"/],
      ["POST /x status:418", /invalid status "418"/],
      ["POST /x hang:3", /"hang" takes no argument/],
      ["POST /x 503 x2 x3", /"xN" given twice/],
      ["POST /x 503 after", /"after" needs a number/],
      ["POST /x 503 twice", /unexpected "twice"/]
    ]
    for (const [input, reason] of cases) {
      const error = syntaxError(input)
      expect(error._tag).toBe("FaultSyntaxError")
      expect(error.message, input).toMatch(reason)
      expect(error.message).toContain(`Invalid fault "${input}`)
    }
  })

  it("parseRule refuses several rules", () => {
    expect(Either.isLeft(Faults.parseRule("/a 500; /b 500"))).toBe(true)
  })
})

describe("Faults.decodeJson", () => {
  it("accepts one rule or an array", () => {
    const one = Either.getOrThrow(Faults.decodeJson({ path: "/a", kind: "rate-limit", retryAfterSeconds: 3 }))
    expect(one).toHaveLength(1)
    expect(one[0]).toBeInstanceOf(Faults.FaultRule)
    const many = Either.getOrThrow(Faults.decodeJson([{ path: "/a", kind: "hang" }, { path: "*", kind: "drop" }]))
    expect(many.map((r) => r.kind)).toEqual(["hang", "drop"])
  })

  it("refuses inconsistent rules", () => {
    for (
      const [json, reason] of [
        [{ path: "/a", kind: "latency" }, /needs "delayMs"/],
        [{ path: "/a", kind: "hang", status: 503 }, /"status" only applies/],
        [{ path: "/a", kind: "status", status: 418 }, /418/],
        [{ path: "a", kind: "drop" }, /must start with/],
        [{ path: "/a", kind: "drop", times: -1 }, /times/],
        [{ path: "/a", kind: "drop", method: "TRACE" }, /TRACE/]
      ] as const
    ) {
      const result = Faults.decodeJson(json)
      expect(Either.isLeft(result), JSON.stringify(json)).toBe(true)
      if (Either.isLeft(result)) expect(result.left.message).toMatch(reason)
    }
  })
})

describe("FaultRule.matches", () => {
  it("matches exact paths, wildcards and OData keys literally", () => {
    expect(rule("/GraphV1/Convention 503").matches("GET", "/GraphV1/Convention")).toBe(true)
    expect(rule("/GraphV1/Convention 503").matches("GET", "/GraphV1/Conventions")).toBe(false)
    expect(rule("/GraphV1/Convention 503").matches("GET", "/GraphV1/Convention(12)")).toBe(false)
    expect(rule("/GraphV1/Convention(12) 503").matches("PATCH", "/GraphV1/Convention(12)")).toBe(true)
    expect(rule("/GraphV1/Convention(12) 503").matches("PATCH", "/GraphV1/Convention(13)")).toBe(false)
    expect(rule("/GraphV1/Convention(*) 503").matches("GET", "/GraphV1/Convention(99)")).toBe(true)
    expect(rule("/api/sync/*/contrats 503").matches("GET", "/api/sync/v2/contrats")).toBe(true)
    expect(rule("/api/* 503").matches("GET", "/api/sync/v1/test")).toBe(true)
    expect(rule("/a.b 503").matches("GET", "/aXb")).toBe(false)
    expect(rule("* 503").matches("DELETE", "/anything")).toBe(true)
  })

  it("restricts to the method when given", () => {
    expect(rule("POST /a 503").matches("post", "/a")).toBe(true)
    expect(rule("POST /a 503").matches("GET", "/a")).toBe(false)
  })
})

describe("Faults.matchesPattern", () => {
  it("matches wildcards and literals", () => {
    expect(Faults.matchesPattern("BTS*", "BTS MCO")).toBe(true)
    expect(Faults.matchesPattern("BTS*", "Licence")).toBe(false)
    expect(Faults.matchesPattern("G(1)", "G(1)")).toBe(true)
    expect(Faults.matchesPattern("*", "")).toBe(true)
  })
})

describe("Faults service", () => {
  it.effect("applies skip then times, and counts what it saw", () =>
    Effect.gen(function*() {
      const faults = yield* Faults.make([rule("POST /a 503 x2 after 1")])
      const kinds: Array<string> = []
      for (let i = 0; i < 5; i++) {
        const taken = yield* faults.take("POST", "/a")
        kinds.push(Option.match(taken, { onNone: () => "pass", onSome: (r) => r.kind }))
      }
      expect(kinds).toEqual(["pass", "status", "status", "pass", "pass"])
      const [entry] = yield* faults.list
      expect(entry).toMatchObject({ id: "fault-1", matched: 3, applied: 2, remaining: 0 })
    }))

  it.effect("lets the next rule decide while one is skipping, and ignores other paths", () =>
    Effect.gen(function*() {
      const faults = yield* Faults.make()
      yield* faults.add([rule("* hang after 1"), rule("GET /b 500")])
      expect(Option.isNone(yield* faults.take("GET", "/other"))).toBe(true) // skipped by the first, no second match
      expect(Option.map(yield* faults.take("GET", "/b"), (r) => r.kind)).toEqual(Option.some("hang"))
      const entries = yield* faults.list
      expect(entries.map((e) => e.id)).toEqual(["fault-1", "fault-2"])
      expect(entries[1]?.remaining).toBeUndefined()
    }))

  it.effect("adds from text, removes by id and clears", () =>
    Effect.gen(function*() {
      const faults = yield* Faults.make()
      const added = yield* faults.addText("GET /a 500 #first; POST /b drop")
      expect(added.map((e) => e.id)).toEqual(["first", "fault-1"])
      expect(yield* faults.remove("first")).toBe(true)
      expect(yield* faults.remove("first")).toBe(false)
      expect((yield* faults.list).map((e) => e.id)).toEqual(["fault-1"])
      yield* faults.clear
      expect(yield* faults.list).toEqual([])
      const error = yield* Effect.flip(faults.addText("GET /a nope"))
      expect(error._tag).toBe("FaultSyntaxError")
    }))

  it.effect("is available as a layer", () =>
    Effect.gen(function*() {
      const faults = yield* Faults.Faults
      expect((yield* faults.list).map((e) => e.rule.kind)).toEqual(["drop"])
    }).pipe(Effect.provide(Faults.layer([rule("* drop")]))))
})
