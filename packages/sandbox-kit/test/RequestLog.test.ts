import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { RequestLog } from "../src/index.js"

describe("RequestLog", () => {
  it.effect("records arrivals in order, completes them and measures duration", () =>
    Effect.gen(function*() {
      const log = yield* RequestLog.make
      const first = yield* log.begin({ method: "post", url: "/api/sync/v2/contrats?dry=1" })
      const second = yield* log.begin({ method: "GET", url: "/api/sync/v1/test" })
      yield* TestClock.adjust("250 millis")
      yield* log.complete(second, { outcome: "responded", status: 200 })
      yield* log.complete(first, { outcome: "dropped", status: 200, fault: "drop-after-commit", faultId: "f" })
      const records = yield* log.list()
      expect(records.map((r) => r.seq)).toEqual([1, 2])
      expect(records[0]).toMatchObject({
        method: "POST",
        path: "/api/sync/v2/contrats",
        query: "dry=1",
        outcome: "dropped",
        fault: "drop-after-commit",
        faultId: "f",
        durationMs: 250
      })
      expect(records[1]).toMatchObject({ outcome: "responded", status: 200, query: "" })
      expect(records[1]?.at).toBe(new Date(0).toISOString())
    }))

  it.effect("keeps a fault noted while pending when completed later", () =>
    Effect.gen(function*() {
      const log = yield* RequestLog.make
      const seq = yield* log.begin({ method: "GET", url: "/x" })
      yield* log.complete(seq, { outcome: "pending", fault: "hang" })
      yield* log.complete(seq, { outcome: "aborted" })
      const [record] = yield* log.list()
      expect(record).toMatchObject({ outcome: "aborted", fault: "hang" })
    }))

  it.effect("filters by method, path pattern and outcome; clears without reusing numbers", () =>
    Effect.gen(function*() {
      const log = yield* RequestLog.make
      for (const [method, url] of [["GET", "/a/1"], ["POST", "/a/2"], ["GET", "/b"]] as const) {
        const seq = yield* log.begin({ method, url })
        yield* log.complete(seq, { outcome: "responded", status: 200 })
      }
      expect(yield* log.count({ method: "get" })).toBe(2)
      expect(yield* log.count({ path: "/a/*" })).toBe(2)
      expect(yield* log.count({ method: "GET", path: "/a/*" })).toBe(1)
      expect(yield* log.count({ outcome: "aborted" })).toBe(0)
      yield* log.clear
      expect(yield* log.count()).toBe(0)
      expect(yield* log.begin({ method: "GET", url: "/c" })).toBe(4)
    }))

  it.effect("is available as a layer", () =>
    Effect.gen(function*() {
      const log = yield* RequestLog.RequestLog
      expect(yield* log.count()).toBe(0)
    }).pipe(Effect.provide(RequestLog.layer)))
})
