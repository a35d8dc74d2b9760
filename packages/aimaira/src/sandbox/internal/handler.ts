/**
 * The GraphV1 HTTP surface: resource-path parsing (`Convention/123`, `Convention(123)`,
 * navigation and action segments), authentication, query options, the OData JSON shapes
 * (`@odata.context`, `value`, `@odata.count`, `@odata.nextLink`) and OData error bodies.
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { Buffer } from "node:buffer"
import { timingSafeEqual } from "node:crypto"
import { metadataXml } from "./metadata.js"
import { type CollectionName, entities, entitySets, type EntityDef } from "./model.js"
import * as Engine from "./odataEngine.js"
import { parseQueryOptions, QueryError, type QueryOptions } from "./odataParser.js"
import * as Ops from "./operations.js"
import type { Change, Row, Store } from "./store.js"

export interface Credentials {
  readonly username: string
  readonly password: Redacted.Redacted<string>
  readonly apiKey: Redacted.Redacted<string>
}

/** Whether the sandbox serves the (undocumented) DELETE, or refuses it as AIMAIRA may. */
export type DeleteMode = "allowed" | "refused"

export interface HandlerConfig {
  readonly store: Store
  readonly pageSize: number
  readonly credentials: Credentials
  /** Read on every DELETE, so that it can change while the server runs. */
  readonly deletes: () => DeleteMode
  /** The webhooks `GET /GraphV1/Webhook` lists (never a secret). */
  readonly webhooks?: (() => ReadonlyArray<Record<string, unknown>>) | undefined
  /** Called with the entities a request created, changed or deleted (for the webhooks). */
  readonly onChanges?: ((changes: ReadonlyArray<Change>) => void) | undefined
  /** The legacy name of a collection (`Type` of `Object/{id}`). */
  readonly legacyName?: ((collection: CollectionName) => string) | undefined
}

const ODATA_JSON = "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8"

const json = (status: number, body: unknown, headers: Record<string, string> = {}): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson(body, { status, contentType: ODATA_JSON, headers: { "OData-Version": "4.0", ...headers } })

/** An OData error body: `{ "error": { "code", "message", "target"?, "details"? } }`. */
export const errorBody = (error: { readonly code: string; readonly message: string; readonly target?: string }) => ({
  error: {
    code: error.code,
    message: error.message,
    ...(error.target === undefined ? {} : { target: error.target, details: [{ code: error.code, message: error.message, target: error.target }] })
  }
})

export const errorResponse = (
  error: { readonly status: number; readonly code: string; readonly message: string; readonly target?: string }
): HttpServerResponse.HttpServerResponse =>
  json(error.status, errorBody(error))

const queryError = (error: QueryError): Ops.ApiError => ({ status: 400, code: "BadRequest", message: error.message })

const notFoundSegment = (segment: string): Ops.ApiError => ({
  status: 404,
  code: "NotFound",
  message: `No HTTP resource was found for the segment '${segment}'.`
})

const methodNotAllowed = (method: string, what: string): Ops.ApiError => ({
  status: 405,
  code: "MethodNotAllowed",
  message: `The method ${method} is not allowed on ${what}.`
})

// ---------------------------------------------------------------------------------------------
// Authentication

const sameSecret = (given: string, expected: string): boolean => {
  const a = Buffer.from(given, "utf8")
  const b = Buffer.from(expected, "utf8")
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * Basic (`Authorization: Basic base64(user:password)`) or `X-ApiKey`, as documented. The answer
 * never repeats what the client sent.
 */
const authenticate = (headers: Readonly<Record<string, string | undefined>>, credentials: Credentials): Ops.ApiError | undefined => {
  const apiKey = headers["x-apikey"]
  if (apiKey !== undefined && sameSecret(apiKey, Redacted.value(credentials.apiKey))) return undefined
  const authorization = headers["authorization"]
  if (authorization !== undefined && /^basic /i.test(authorization)) {
    const decoded = Buffer.from(authorization.slice(6).trim(), "base64").toString("utf8")
    const colon = decoded.indexOf(":")
    if (
      colon !== -1 &&
      sameSecret(decoded.slice(0, colon), credentials.username) &&
      sameSecret(decoded.slice(colon + 1), Redacted.value(credentials.password))
    ) {
      return undefined
    }
  }
  const message = apiKey === undefined && authorization === undefined
    ? "Authentication is required: send 'Authorization: Basic …' or an 'X-ApiKey' header."
    : authorization !== undefined && !/^basic /i.test(authorization) && apiKey === undefined
    ? "Unsupported authentication scheme: use HTTP Basic or an 'X-ApiKey' header."
    : "The credentials are not valid."
  return { status: 401, code: "Unauthorized", message }
}

// ---------------------------------------------------------------------------------------------
// Resource paths

interface ResourcePath {
  readonly setName: string
  readonly collection: CollectionName
  readonly key?: number
  /** Segments after the entity set (and key). */
  readonly rest: ReadonlyArray<string>
}

const SET_SEGMENT = /^([A-Za-z_][A-Za-z0-9_]*)(?:\((.*)\))?$/

const parseKey = (raw: string, set: string): number | Ops.ApiError => {
  const match = /^(?:Id=)?(\d{1,15})$/.exec(raw.trim())
  if (match === null) return Ops.badRequest(`The key '${raw}' of '${set}' is not valid: an integer Id is expected.`)
  return Number(match[1])
}

const parsePath = (segments: ReadonlyArray<string>): ResourcePath | Ops.ApiError => {
  const [first, ...rest] = segments
  const match = SET_SEGMENT.exec(first ?? "")
  if (match === null) return notFoundSegment(first ?? "")
  const setName = match[1]!
  const collection = entitySets[setName]
  if (collection === undefined) return notFoundSegment(setName)
  if (match[2] !== undefined) {
    const key = parseKey(match[2], setName)
    return typeof key === "number" ? { setName, collection, key, rest } : key
  }
  const [second, ...after] = rest
  if (second !== undefined && /^\d+$/.test(second)) {
    const key = parseKey(second, setName)
    return typeof key === "number" ? { setName, collection, key, rest: after } : key
  }
  return { setName, collection, rest }
}

// ---------------------------------------------------------------------------------------------
// The handler

interface Incoming {
  readonly method: string
  readonly url: URL
  readonly base: string
  readonly body: string
}

const parseBody = (text: string): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: Ops.ApiError } => {
  if (text.trim() === "") return { ok: true, value: undefined }
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (error) {
    return { ok: false, error: Ops.badRequest(`The request body is not valid JSON: ${(error as Error).message}`) }
  }
}

const attempt = <A>(f: () => A): { readonly ok: true; readonly value: A } | { readonly ok: false; readonly error: Ops.ApiError } => {
  try {
    return { ok: true, value: f() }
  } catch (error) {
    if (error instanceof QueryError) return { ok: false, error: queryError(error) }
    throw error
  }
}

const SINGLE_ENTITY_OPTIONS = ["filter", "orderby", "top", "skip", "count"] as const

/** The rows of a set the API shows (a voie d'entrée needs a référence externe). */
const visibleRows = (store: Store, entity: EntityDef): ReadonlyArray<Row> => {
  const rows = store.rows(entity.collection)
  return entity.visible === undefined ? rows : rows.filter(entity.visible)
}

/** One row, when it exists and the API shows it. */
const visibleRow = (store: Store, entity: EntityDef, id: number): Row | undefined => {
  const row = store.get(entity.collection, id)
  return row === undefined || (entity.visible !== undefined && !entity.visible(row)) ? undefined : row
}

const entityResponse = (
  store: Store,
  entity: EntityDef,
  row: Row,
  options: QueryOptions,
  context: string,
  status = 200,
  headers: Record<string, string> = {}
) => json(status, { "@odata.context": context, ...Engine.project(store, entity, row, options) }, headers)

const collectionResponse = (
  config: HandlerConfig,
  incoming: Incoming,
  entity: EntityDef,
  candidates: ReadonlyArray<Row>,
  options: QueryOptions,
  context: string,
  more: { readonly defaultExpand?: ReadonlyArray<string>; readonly extraFilter?: string } = {}
) => {
  const page = Engine.runCollection(config.store, entity, candidates, options, config.pageSize, more.defaultExpand)
  const body: Record<string, unknown> = { "@odata.context": context }
  if (options.count === true) body["@odata.count"] = page.count
  body.value = page.rows
  if (page.next !== undefined) {
    const params = new URLSearchParams(incoming.url.search)
    params.set("$skip", String(page.next.skip))
    if (page.next.top !== undefined) params.set("$top", String(page.next.top))
    if (more.extraFilter !== undefined) {
      // A GET body cannot travel in a link: its restriction becomes part of the filter.
      const filter = params.get("$filter")
      params.set("$filter", filter === null ? more.extraFilter : `(${filter}) and ${more.extraFilter}`)
    }
    const path = incoming.url.pathname.slice(incoming.url.pathname.indexOf("/GraphV1") + "/GraphV1".length)
    body["@odata.nextLink"] = `${incoming.base}${path}?${params.toString()}`
  }
  return json(200, body)
}

/** `GET /GraphV1/Webhook`: the configured webhooks, as the documentation shows them. */
const handleWebhooks = (config: HandlerConfig, incoming: Incoming, segments: ReadonlyArray<string>) => {
  if (segments.length > 1) return errorResponse(notFoundSegment(segments[1]!))
  if (incoming.method !== "GET") return errorResponse(methodNotAllowed(incoming.method, "Webhook"))
  return json(200, { "@odata.context": `${incoming.base}/$metadata#Webhook/$entity`, value: config.webhooks?.() ?? [] })
}

/**
 * `GET /GraphV1/Object/{id}` (or `Object({id})`): the metadata of any entity, deleted ones
 * included (`Actif` false, `DateSuppression` set), as "Récupérer les métadonnées d'une entité"
 * shows them.
 */
const handleObject = (config: HandlerConfig, incoming: Incoming, segments: ReadonlyArray<string>) => {
  const match = SET_SEGMENT.exec(segments[0]!)!
  const rest = segments.slice(1)
  const rawKey = match[2] ?? rest.shift()
  if (rawKey === undefined) return errorResponse(methodNotAllowed(incoming.method, "Object: GET Object/{id} reads one object"))
  if (rest.length > 0) return errorResponse(notFoundSegment(rest[0]!))
  const key = parseKey(rawKey, "Object")
  if (typeof key !== "number") return errorResponse(key)
  if (incoming.method !== "GET") return errorResponse(methodNotAllowed(incoming.method, `Object(${key})`))
  const object = config.store.object(key)
  if (object === undefined) return errorResponse({ status: 404, code: "NotFound", message: `No Object with key ${key} was found.` })
  return json(200, {
    "@odata.context": `${incoming.base}/$metadata#Object/$entity`,
    Id: object.id,
    Nom: object.nom,
    Code: object.code,
    DateCreation: object.created,
    DateModification: object.modified,
    DateSuppression: object.deleted,
    Actif: object.deleted === null,
    Type: config.legacyName?.(object.type) ?? object.type
  })
}

const handleGraph = (config: HandlerConfig, incoming: Incoming, segments: ReadonlyArray<string>): HttpServerResponse.HttpServerResponse => {
  const { method, base } = incoming
  const store = config.store
  const first = segments.length === 0 ? undefined : SET_SEGMENT.exec(segments[0]!)?.[1]
  if (first === "Webhook") return handleWebhooks(config, incoming, segments)
  if (first === "Object") return handleObject(config, incoming, segments)
  if (segments.length === 0) {
    if (method !== "GET") return errorResponse(methodNotAllowed(method, "the service document"))
    return json(200, {
      "@odata.context": `${base}/$metadata`,
      value: Object.keys(entitySets).map((name) => ({ name, kind: "EntitySet", url: name }))
    })
  }
  if (segments[0] === "$metadata") {
    if (method !== "GET") return errorResponse(methodNotAllowed(method, "$metadata"))
    return HttpServerResponse.text(metadataXml(), { contentType: "application/xml; charset=utf-8", headers: { "OData-Version": "4.0" } })
  }

  const path = parsePath(segments)
  if ("status" in path) return errorResponse(path)
  const entity = entities[path.collection]
  const parsed = attempt(() => parseQueryOptions(incoming.url.searchParams))
  if (!parsed.ok) return errorResponse(parsed.error)
  const options = parsed.value
  const body = parseBody(incoming.body)

  // Collection: GET list, GET $count, POST create.
  if (path.key === undefined) {
    const [segment, ...extra] = path.rest
    if (segment === "$count" && extra.length === 0) {
      if (method !== "GET") return errorResponse(methodNotAllowed(method, `${path.setName}/$count`))
      const counted = attempt(() => {
        Engine.check(entity, options)
        return Engine.filterRows(store, entity, visibleRows(store, entity), options.filter).length
      })
      if (!counted.ok) return errorResponse(counted.error)
      return HttpServerResponse.text(String(counted.value), { headers: { "OData-Version": "4.0" } })
    }
    if (segment !== undefined) return errorResponse(notFoundSegment(segment))
    switch (method) {
      case "GET": {
        let candidates = visibleRows(store, entity)
        let extraFilter: string | undefined
        // The documented InscriptionSequence query sends `{"Id": <inscription>}` as the body of a GET.
        if (path.collection === "InscriptionSequence") {
          if (!body.ok) return errorResponse(body.error)
          if (body.value !== undefined) {
            const id = (body.value as { Id?: unknown } | null)?.Id
            if (typeof body.value !== "object" || body.value === null || !Number.isSafeInteger(id)) {
              return errorResponse(Ops.badRequest(`The body of this request must be {"Id": <inscription id>}.`, "Id"))
            }
            candidates = candidates.filter((row) => row.InscriptionId === id)
            extraFilter = `InscriptionId eq ${String(id)}`
          }
        }
        if (path.collection === "Remuneration" && !mentionsConvention(options)) {
          return errorResponse(
            Ops.badRequest("Remuneration can only be listed for one convention: add $filter=ConventionId eq <id>.", "ConventionId")
          )
        }
        const defaultExpand = entity.defaultCollectionExpand ?? []
        const checked = attempt(() => Engine.check(entity, options))
        if (!checked.ok) return errorResponse(checked.error)
        const context = `${base}/$metadata#${path.setName}${Engine.contextProjection(options, defaultExpand)}`
        return collectionResponse(config, incoming, entity, candidates, options, context, {
          defaultExpand,
          ...(extraFilter === undefined ? {} : { extraFilter })
        })
      }
      case "POST": {
        if (!body.ok) return errorResponse(body.error)
        const created = Ops.create(store, entity, body.value)
        if (!created.ok) return errorResponse(created.error)
        return entityResponse(store, entity, created.value, {}, `${base}/$metadata#${path.setName}/$entity`, 201, {
          Location: `${base}/${path.setName}(${created.value.Id})`
        })
      }
      default:
        return errorResponse(methodNotAllowed(method, `the entity set ${path.setName}`))
    }
  }

  // One entity.
  const id = path.key
  const [segment, ...extra] = path.rest
  if (extra.length > 0) return errorResponse(notFoundSegment(extra[0]!))
  if (segment === undefined) {
    switch (method) {
      case "GET": {
        const misplaced = SINGLE_ENTITY_OPTIONS.find((name) => options[name] !== undefined)
        if (misplaced !== undefined) {
          return errorResponse(Ops.badRequest(`The query option '$${misplaced}' does not apply to a single entity.`))
        }
        const checked = attempt(() => Engine.check(entity, options))
        if (!checked.ok) return errorResponse(checked.error)
        const row = visibleRow(store, entity, id)
        if (row === undefined) return errorResponse(Ops.notFound(entity, id))
        return entityResponse(store, entity, row, options, `${base}/$metadata#${path.setName}${Engine.contextProjection(options)}/$entity`)
      }
      case "PUT":
      case "PATCH":
      case "POST": {
        if (!body.ok) return errorResponse(body.error)
        const updated = Ops.update(store, entity, id, body.value)
        if (!updated.ok) return errorResponse(updated.error)
        return entityResponse(store, entity, updated.value, {}, `${base}/$metadata#${path.setName}/$entity`)
      }
      case "DELETE": {
        if (config.deletes() === "refused") {
          // AIMAIRA documents no DELETE; an instance that has none answers like any ASP.NET
          // OData service without the route.
          return HttpServerResponse.setHeader(
            errorResponse({
              status: 405,
              code: "MethodNotAllowed",
              message: "The requested resource does not support http method 'DELETE'."
            }),
            "Allow",
            "GET, PUT, PATCH, POST"
          )
        }
        const removed = Ops.remove(store, entity, id)
        if (!removed.ok) return errorResponse(removed.error)
        return HttpServerResponse.empty({ status: 204, headers: { "OData-Version": "4.0" } })
      }
      default:
        return errorResponse(methodNotAllowed(method, `${path.setName}(${id})`))
    }
  }

  // Actions.
  if (path.collection === "Convention" && segment === "SynchronisationAffaire") {
    if (method !== "POST") return errorResponse(methodNotAllowed(method, "SynchronisationAffaire"))
    const synced = Ops.synchronisationAffaire(store, id)
    if (!synced.ok) return errorResponse(synced.error)
    return HttpServerResponse.empty({ status: 200, headers: { "OData-Version": "4.0" } })
  }
  if (path.collection === "Apprenant" && segment === "Client") {
    if (method !== "POST") return errorResponse(methodNotAllowed(method, `Apprenant(${id})/Client`))
    if (!body.ok) return errorResponse(body.error)
    const created = Ops.createClientFromApprenant(store, id, body.value)
    if (!created.ok) return errorResponse(created.error)
    return entityResponse(store, entities.Client, created.value, {}, `${base}/$metadata#Client/$entity`, 201, {
      Location: `${base}/Client(${created.value.Id})`
    })
  }

  // Navigation properties and single properties.
  const row = visibleRow(store, entity, id)
  const navigation = entity.navigation[segment]
  const field = entity.fields[segment]
  if (navigation === undefined && (field === undefined || field.hidden === true) && segment !== "Id") {
    return errorResponse(notFoundSegment(segment))
  }
  if (method !== "GET") return errorResponse(methodNotAllowed(method, `${path.setName}(${id})/${segment}`))
  if (row === undefined) return errorResponse(Ops.notFound(entity, id))
  if (navigation === undefined) {
    if (Object.keys(options).length > 0) return errorResponse(Ops.badRequest("Query options do not apply to a property."))
    return json(200, { "@odata.context": `${base}/$metadata#${path.setName}(${id})/${segment}`, value: row[segment] })
  }
  const target = entities[navigation.target]
  const checked = attempt(() => Engine.check(target, options))
  if (!checked.ok) return errorResponse(checked.error)
  const context = `${base}/$metadata#${path.setName}(${id})/${segment}${Engine.contextProjection(options)}`
  if (navigation.kind === "one") {
    const misplaced = SINGLE_ENTITY_OPTIONS.find((name) => options[name] !== undefined)
    if (misplaced !== undefined) {
      return errorResponse(Ops.badRequest(`The query option '$${misplaced}' does not apply to a single entity.`))
    }
    const related = store.get(navigation.target, row[navigation.fk])
    if (related === undefined) return HttpServerResponse.empty({ status: 204, headers: { "OData-Version": "4.0" } })
    return entityResponse(store, target, related, options, `${context}/$entity`)
  }
  const related = store.rows(navigation.target).filter((candidate) => candidate[navigation.fk] === id)
  return collectionResponse(config, incoming, target, related, options, context)
}

/** Whether a `$filter` pins `ConventionId eq <n>` (at the top level or inside an `and`). */
const mentionsConvention = (options: QueryOptions): boolean => {
  const visit = (expr: QueryOptions["filter"]): boolean => {
    if (expr === undefined) return false
    if (expr._tag !== "Binary") return false
    if (expr.op === "and") return visit(expr.left) || visit(expr.right)
    if (expr.op !== "eq") return false
    const isConvention = (e: typeof expr.left) => e._tag === "Path" && e.segments.length === 1 && e.segments[0] === "ConventionId"
    const isNumber = (e: typeof expr.left) => e._tag === "Literal" && e.type === "number"
    return (isConvention(expr.left) && isNumber(expr.right)) || (isConvention(expr.right) && isNumber(expr.left))
  }
  return visit(options.filter)
}

/**
 * The sandbox's API as an `HttpApp`: everything under `/GraphV1`, authenticated; anything else is
 * an OData 404.
 */
export const makeApp = (config: HandlerConfig) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const host = request.headers["host"] ?? "127.0.0.1"
    const url = new URL(request.url, `http://${host}`)
    const base = `http://${host}/GraphV1`
    let segments: Array<string>
    try {
      segments = url.pathname.split("/").filter((segment) => segment !== "").map((segment) => decodeURIComponent(segment))
    } catch {
      return errorResponse(Ops.badRequest("The request path is not valid percent-encoding."))
    }
    if (segments[0] !== "GraphV1") return errorResponse(notFoundSegment(segments[0] ?? "/"))
    const denied = authenticate(request.headers, config.credentials)
    if (denied !== undefined) {
      return json(401, errorBody(denied), { "WWW-Authenticate": `Basic realm="GraphV1", charset="UTF-8"` })
    }
    const body = yield* Effect.orElseSucceed(request.text, () => "")
    // The store is read and written in one synchronous step, so each request is atomic; what it
    // changed goes to the webhooks (queued: their deliveries never hold the answer up).
    return yield* Effect.sync(() => {
      const response = handleGraph(config, { method: request.method, url, base, body }, segments.slice(1))
      const changes = config.store.takeChanges()
      if (changes.length > 0) config.onChanges?.(changes)
      return response
    })
  })
