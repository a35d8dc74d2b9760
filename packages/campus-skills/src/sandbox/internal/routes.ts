import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InvalidContract, Violation } from "../../Contract.js"
import { paginate, type Store } from "./store.js"
import { validate, type WireContract } from "./validate.js"

export const INVALID_TOKEN_REASON = "Your token is invalid please contact the administrator"

export interface RouteConfig {
  readonly store: Store
  readonly tokens: ReadonlySet<string>
  readonly schoolName: string
  /** The live clock: integration delays are real time. */
  readonly clock: Clock.Clock
}

const json = (body: unknown, status = 200) => HttpServerResponse.unsafeJson(body, { status })

const encodeInvalid = Schema.encodeSync(Schema.Array(InvalidContract))

/** `{"error": "Invalid request"}` (documented), with a `reason` to help whoever reads it. */
const invalidRequest = (reason: string, extra: Record<string, unknown> = {}) =>
  json({ error: "Invalid request", reason, ...extra }, 400)

class BadBody {
  constructor(readonly reason: string) {}
}

const readJson = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const text = yield* Effect.orElseSucceed(request.text, () => "")
  if (text.trim().length === 0) return yield* Effect.fail(new BadBody("the body is empty: expected JSON"))
  try {
    return JSON.parse(text) as unknown
  } catch {
    return yield* Effect.fail(new BadBody("the body is not valid JSON"))
  }
})

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** A full list: `{"contrats": [...]}` or a bare array (the vendor page shows both). */
const readContractList = Effect.flatMap(readJson, (body) => {
  if (Array.isArray(body)) return Effect.succeed(body as ReadonlyArray<unknown>)
  if (isRecord(body) && Array.isArray(body.contrats)) return Effect.succeed(body.contrats as ReadonlyArray<unknown>)
  return Effect.fail(new BadBody(`expected {"contrats": [...]} or an array of contracts`))
})

const readChanges = Effect.flatMap(readJson, (body) => {
  const changes = isRecord(body) ? body.changes : undefined
  if (!isRecord(changes)) {
    return Effect.fail(new BadBody(`expected {"changes": {"added": [...], "updated": [...], "removed": [...]}}`))
  }
  const list = (key: string): ReadonlyArray<unknown> | BadBody => {
    const value = changes[key]
    if (value === undefined || value === null) return []
    return Array.isArray(value) ? value : new BadBody(`changes.${key} must be an array`)
  }
  const added = list("added")
  const updated = list("updated")
  const removed = list("removed")
  for (const part of [added, updated, removed]) if (part instanceof BadBody) return Effect.fail(part)
  const removedCodes = removed as ReadonlyArray<unknown>
  if (!removedCodes.every((code) => typeof code === "string" && code.trim().length > 0)) {
    return Effect.fail(new BadBody("changes.removed must be an array of codeContrat strings"))
  }
  return Effect.succeed({
    upserts: [...(added as ReadonlyArray<unknown>), ...(updated as ReadonlyArray<unknown>)],
    removed: removedCodes as ReadonlyArray<string>
  })
})

const PositiveInt = /^[1-9]\d*$/

const readPage = Effect.gen(function*() {
  const params = yield* HttpServerRequest.ParsedSearchParams
  const one = (name: string): number | undefined | BadBody => {
    const raw = params[name]
    if (raw === undefined || raw === "") return undefined
    if (typeof raw !== "string" || !PositiveInt.test(raw)) return new BadBody(`${name} must be a positive integer`)
    return Number(raw)
  }
  const page = one("page")
  const limit = one("limit")
  if (page instanceof BadBody) return yield* Effect.fail(page)
  if (limit instanceof BadBody) return yield* Effect.fail(limit)
  return { page: page ?? 1, limit }
})

const badBody = (e: BadBody) => Effect.succeed(invalidRequest(e.reason))

const v1Refusal = (invalid: ReadonlyArray<InvalidContract>) =>
  invalidRequest(`${invalid.length} invalid contract(s): nothing was changed`, {
    invalidContrats: encodeInvalid(invalid)
  })

export const apiRouter = ({ clock, schoolName, store }: RouteConfig) => {
  const now = clock.currentTimeMillis
  const promote = Effect.flatMap(now, (t) => Effect.sync(() => store.promote(t)))

  return HttpRouter.empty.pipe(
    HttpRouter.get("/api/sync/v1/test", Effect.succeed(json({ value: "token valid", name: schoolName }))),

    // v1: the full list; one invalid contract refuses the whole batch (nothing archived).
    HttpRouter.post(
      "/api/sync/v1/contrats",
      Effect.gen(function*() {
        const raws = yield* readContractList
        const { invalid, valid } = validate(raws, { datesRequired: false })
        if (invalid.length > 0) return v1Refusal(invalid)
        const t = yield* now
        const contracts = valid.map((v) => v.contract)
        const archived = store.snapshot(contracts, new Set(), t)
        return json({
          success: true,
          total: contracts.length,
          contrats: contracts,
          ...(archived.length === 0 ? {} : {
            warning: `${archived.length} contract(s) archived because they were absent from this call: ${
              archived.join(", ")
            }`
          })
        })
      }).pipe(Effect.catchIf((e): e is BadBody => e instanceof BadBody, badBody))
    ),

    // v2: the full list; invalid contracts are reported, the valid ones applied.
    HttpRouter.post(
      "/api/sync/v2/contrats",
      Effect.gen(function*() {
        const raws = yield* readContractList
        const { invalid, valid } = validate(raws, { datesRequired: true })
        const t = yield* now
        const keep = new Set(invalid.flatMap((i) => (typeof i.codeContrat === "string" ? [i.codeContrat] : [])))
        store.snapshot(valid.map((v) => v.contract), keep, t)
        return json({
          success: invalid.length === 0,
          validContrats: valid.map((v) => v.contract),
          invalidContrats: encodeInvalid(invalid)
        })
      }).pipe(Effect.catchIf((e): e is BadBody => e instanceof BadBody, badBody))
    ),

    HttpRouter.post(
      "/api/sync/v2/contrats/changes",
      Effect.gen(function*() {
        const { removed, upserts } = yield* readChanges
        const touched = new Set<string>(removed)
        for (const raw of upserts) {
          if (isRecord(raw)) {
            const code = raw.codeContrat ?? raw.ccodeContrat
            if (typeof code === "string") touched.add(code)
          }
        }
        const context = store.active().filter((c) => !touched.has(c.codeContrat))
        const result = validate(upserts, { datesRequired: true, context })
        // a contract both changed and removed is contradictory: refuse it
        const removedSet = new Set(removed)
        const valid: Array<WireContract> = []
        const invalid = [...result.invalid]
        for (const { contract, index } of result.valid) {
          if (removedSet.has(contract.codeContrat)) {
            invalid.push(
              new InvalidContract({
                codeContrat: contract.codeContrat,
                index,
                contrat: upserts[index],
                reasons: [
                  new Violation({
                    rule: "duplicate-contract",
                    field: "codeContrat",
                    message: `codeContrat "${contract.codeContrat}" is both changed and listed in changes.removed`,
                    value: contract.codeContrat
                  })
                ]
              })
            )
          } else {
            valid.push(contract)
          }
        }
        invalid.sort((a, b) => (a.index ?? 0) - (b.index ?? 0))
        const t = yield* now
        for (const contract of valid) store.upsert(contract, t)
        const invalidCodes = new Set(invalid.map((i) => i.codeContrat))
        for (const code of removed) if (!invalidCodes.has(code)) store.archive(code)
        return json({ success: invalid.length === 0, validContrats: valid, invalidContrats: encodeInvalid(invalid) })
      }).pipe(Effect.catchIf((e): e is BadBody => e instanceof BadBody, badBody))
    ),

    // a dry run of the v1 sync: same rules, nothing changes.
    HttpRouter.post(
      "/api/sync/v1/contrats-diff",
      Effect.gen(function*() {
        const raws = yield* readContractList
        const { invalid, valid } = validate(raws, { datesRequired: false })
        if (invalid.length > 0) return v1Refusal(invalid)
        return json(store.diff(valid.map((v) => v.contract)))
      }).pipe(Effect.catchIf((e): e is BadBody => e instanceof BadBody, badBody))
    ),

    HttpRouter.get(
      "/api/sync/v1/contrats",
      Effect.gen(function*() {
        const { limit, page } = yield* readPage
        yield* promote
        const body = paginate([...store.integrated.values()], page, limit)
        store.countListCall()
        return json(body)
      }).pipe(Effect.catchIf((e): e is BadBody => e instanceof BadBody, badBody))
    ),

    HttpRouter.get(
      "/api/sync/v1/contrats-get-all",
      Effect.gen(function*() {
        const { limit, page } = yield* readPage
        yield* promote
        return json(paginate(store.active(), page, limit))
      }).pipe(Effect.catchIf((e): e is BadBody => e instanceof BadBody, badBody))
    ),

    // "Supprimer tous les contrats" (documented for the sandbox only): both lists are emptied.
    HttpRouter.del(
      "/api/sync/v1/contrats",
      Effect.sync(() => {
        store.deleteAll()
        return json({ success: true, total: 0, contrats: [] })
      })
    )
  )
}

/** Bearer auth in front of the API, with the documented error body. */
export const withAuth = <E, R>(
  tokens: ReadonlySet<string>,
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const header = request.headers.authorization ?? ""
    const match = /^Bearer\s+(.+)$/i.exec(header.trim())
    const token = match?.[1]?.trim()
    if (token === undefined || !tokens.has(token)) {
      return Effect.succeed(json({ error: "invalid token", reason: INVALID_TOKEN_REASON }, 401))
    }
    return app
  })

export const notFound = (path: string) => json({ error: "Not found", reason: `no route for ${path}` }, 404)
