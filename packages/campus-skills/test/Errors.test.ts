import { describe, expect, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { Contract, Errors } from "../src/index.js"

describe("errors", () => {
  it("carry status and readable messages, and round-trip through their schema", () => {
    const invalid = new Errors.InvalidRequest({
      status: 400,
      method: "POST",
      path: "/api/sync/v1/contrats",
      error: "Invalid request",
      invalidContrats: [
        new Contract.InvalidContract({
          codeContrat: "C2",
          index: 1,
          reasons: [new Contract.Violation({ rule: "required", field: "nomSite", message: "nomSite is required" })]
        })
      ]
    })
    expect(invalid.message).toBe(
      "Campus Skills refused POST /api/sync/v1/contrats (HTTP 400): Invalid request. 1 invalid contract(s): C2: nomSite is required"
    )
    const errors: ReadonlyArray<Errors.CampusSkillsError> = [
      invalid,
      new Errors.RateLimited({ status: 429, method: "GET", path: "/x", retryAfterMillis: 2000 }),
      new Errors.Unavailable({ status: 503, method: "GET", path: "/x" }),
      new Errors.Unauthorized({ status: 401, method: "GET", path: "/x", reason: "nope" }),
      new Errors.NotFound({ status: 404, method: "GET", path: "/x" }),
      new Errors.Transport({ method: "GET", path: "/x", reason: "reset", detail: "other side closed" }),
      new Errors.Decode({ status: 200, method: "GET", path: "/x", detail: "bad" }),
      new Errors.ResponseTooLarge({
        responseStatus: 200,
        method: "GET",
        path: "/x",
        limit: 1024,
        received: 2048,
        announced: true
      })
    ]
    const encode = Schema.encodeSync(Errors.CampusSkillsError)
    const decode = Schema.decodeUnknownSync(Errors.CampusSkillsError)
    for (const error of errors) {
      const back = decode(JSON.parse(JSON.stringify(encode(error))))
      expect(back._tag).toBe(error._tag)
      expect(back.message).toBe(error.message)
    }
    expect(errors[1]!.message).toContain("retry after 2000 ms")
    expect(errors[5]!.message).toContain("may or may not have been applied")
  })
})
