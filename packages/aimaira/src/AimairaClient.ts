/**
 * `AimairaClient`: a typed client for the AIMAIRA GraphV1 OData API.
 *
 * Built once over the abstract `HttpClient.HttpClient` with
 * `HttpClient.mapRequest(prependUrl, auth, acceptJson)` and `filterStatusOk`. It never retries:
 * retries, timeouts and backoff belong to the workflow step that calls it (`@relais/core`'s
 * `RetryPolicy`), which reads the `status` / `retryAfterMillis` of the errors.
 *
 * Every response body is read with a size cap (`maxResponseBytes`, 16 MiB by default, through
 * `@relais/core`'s `HttpBody`): a larger answer fails with `ResponseTooLarge` as soon as the
 * cap is passed. Bodies are decoded with schemas; refused statuses become the package's errors
 * (the OData error message, `Retry-After`).
 *
 * Updates are full updates: AIMAIRA resets every property a PUT omits. `update` sends the whole
 * entity (declared fields and `extra`), and `modify` reads the entity first, so nothing is reset
 * by accident.
 *
 * @since 0.1.0
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { HttpBody } from "@relais/core"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as AimairaConfig from "./AimairaConfig.js"
import type { CreateInput, Entity, EntitySet, IdOf } from "./Entities.js"
import * as Errors from "./Errors.js"
import type { ConventionId } from "./Ids.js"
import * as Http from "./internal/http.js"
import { partialSchema, wireSchema } from "./internal/wire.js"
import type { Query } from "./Query.js"

/**
 * One page of a collection.
 *
 * @since 0.1.0
 */
export interface Page<A> {
  readonly value: ReadonlyArray<A>
  /** `@odata.count`, when the query asked for it. */
  readonly count: number | undefined
  /** The next page's path relative to the API root, when there is one. */
  readonly next: string | undefined
}

/**
 * @since 0.1.0
 */
export interface ListOptions {
  /**
   * A JSON body sent with the GET. The documented way to list the sequences of one inscription
   * is `GET InscriptionSequence` with `{"Id": <inscription id>}` as body.
   */
  readonly body?: unknown
}

/**
 * @since 0.1.0
 */
export interface Service {
  /** The API root requests go to. */
  readonly apiUrl: string
  /** `GET {set}/{id}`. */
  readonly get: <A extends Entity>(entity: EntitySet<A>, id: IdOf<A>) => Effect.Effect<A, Errors.AimairaError>
  /**
   * `GET {set}/{id}?$select=…&$expand=…`: one entity with its navigation properties, decoded with
   * your schema (e.g. the documented `Parcours/{id}?$expand=ParcoursPeriodes`).
   */
  readonly getAs: <A extends Entity, B, I>(
    entity: EntitySet<A>,
    id: IdOf<A>,
    schema: Schema.Schema<B, I>,
    query?: Query<A, boolean>
  ) => Effect.Effect<B, Errors.AimairaError>
  /**
   * `GET {set}/{id}/{navigation}`: a collection-valued navigation property, every page (e.g. the
   * documented `Inscription/{id}/InscriptionPeriodes`).
   */
  readonly streamRelated: <A extends Entity, B extends Entity>(
    entity: EntitySet<A>,
    id: IdOf<A>,
    navigation: string,
    target: EntitySet<B>,
    query?: Query<B>
  ) => Stream.Stream<B, Errors.AimairaError>
  /** One page of `GET {set}?…`. */
  readonly list: <A extends Entity>(entity: EntitySet<A>, query?: Query<A>) => Effect.Effect<Page<A>, Errors.AimairaError>
  /** Every entity, page after page, following `@odata.nextLink`. */
  readonly stream: <A extends Entity>(entity: EntitySet<A>, query?: Query<A>) => Stream.Stream<A, Errors.AimairaError>
  /** One page of a projected query (`$select`/`$expand`), decoded with your schema. */
  readonly listAs: <A extends Entity, B, I>(
    entity: EntitySet<A>,
    schema: Schema.Schema<B, I>,
    query?: Query<A, boolean>,
    options?: ListOptions
  ) => Effect.Effect<Page<B>, Errors.AimairaError>
  /** Every row of a projected query, following `@odata.nextLink`. */
  readonly streamAs: <A extends Entity, B, I>(
    entity: EntitySet<A>,
    schema: Schema.Schema<B, I>,
    query?: Query<A, boolean>,
    options?: ListOptions
  ) => Stream.Stream<B, Errors.AimairaError>
  /** `POST {set}`: omitted fields take AIMAIRA's defaults. */
  readonly create: <A extends Entity>(entity: EntitySet<A>, input: CreateInput<A>) => Effect.Effect<A, Errors.AimairaError>
  /** `PUT {set}/{id}` with the complete entity (declared fields and `extra`). */
  readonly update: <A extends Entity>(entity: EntitySet<A>, value: A) => Effect.Effect<A, Errors.AimairaError>
  /**
   * Get-modify-write: reads the entity, applies `f`, writes the complete result. Use
   * `Entities.copy(current, { Field: value })` in `f`.
   */
  readonly modify: <A extends Entity>(
    entity: EntitySet<A>,
    id: IdOf<A>,
    f: (current: A) => A
  ) => Effect.Effect<A, Errors.AimairaError>
  /** `DELETE {set}/{id}`. */
  readonly delete: <A extends Entity>(entity: EntitySet<A>, id: IdOf<A>) => Effect.Effect<void, Errors.AimairaError>
  /** `POST Convention/{id}/SynchronisationAffaire`: creates the billing structure (clients). */
  readonly synchronisationAffaire: (id: ConventionId) => Effect.Effect<void, Errors.AimairaError>
}

/**
 * The AIMAIRA client service.
 *
 * @since 0.1.0
 */
export class AimairaClient extends Context.Tag("@relais/aimaira/AimairaClient")<AimairaClient, Service>() {}

const PageEnvelope = Schema.Struct({
  value: Schema.Array(Schema.Unknown),
  "@odata.count": Schema.optional(Schema.Number),
  "@odata.nextLink": Schema.optional(Schema.String)
})

/** A 2xx answer: its status, and its body read as JSON (`null` when empty). */
interface Reply {
  readonly status: number
  readonly json: unknown
}

/**
 * Builds the client over the `HttpClient` in context. Fails when the options do not pass the
 * checks of `AimairaConfig.Options` (a URL that is not HTTPS outside loopback hosts, an empty
 * password...).
 *
 * @since 0.1.0
 */
export const make = (options: AimairaConfig.Options): Effect.Effect<Service, Errors.InvalidConfiguration, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const { auth, url: apiUrl } = yield* AimairaConfig.validate(options)
    const scrub = Http.makeScrubber(auth)
    const maxBytes = options.maxResponseBytes ?? HttpBody.defaultMaxBytes
    const authenticate = auth._tag === "Basic"
      ? HttpClientRequest.basicAuth(auth.username, auth.password)
      : HttpClientRequest.setHeader("X-ApiKey", Redacted.value(auth.apiKey))
    const client = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest((request) => HttpClientRequest.acceptJson(authenticate(HttpClientRequest.prependUrl(request, apiUrl)))),
      HttpClient.filterStatusOk
    )

    /** A body larger than the cap, as the package's error. */
    const tooLarge = (ctx: Http.Context, status: number, error: HttpBody.ResponseTooLarge) =>
      new Errors.ResponseTooLarge({
        responseStatus: status,
        method: ctx.method,
        path: ctx.path,
        limit: error.limit,
        received: error.received,
        announced: error.announced
      })

    /**
     * A refused status (`filterStatusOk`): the body read through the cap (a runaway error body is
     * reported as such), then the OData error it holds.
     */
    const refused = (ctx: Http.Context, response: HttpClientResponse.HttpClientResponse): Effect.Effect<never, Errors.AimairaError> =>
      HttpBody.text(response, { maxBytes }).pipe(
        Effect.catchTags({
          ResponseTooLarge: (error) => Effect.fail(tooLarge(ctx, response.status, error)),
          ResponseError: () => Effect.succeed("")
        }),
        Effect.flatMap((text) => Http.fromResponse(ctx, response.status, response.headers, text, auth, scrub)),
        Effect.flatMap(Effect.fail)
      )

    /**
     * Sends a request (path relative to the API root) and reads its 2xx answer as JSON, never
     * more than the cap (a 600 MB body used to crash the process).
     */
    const send = (
      request: HttpClientRequest.HttpClientRequest,
      ctx: Http.Context,
      body: "json" | "ignored" = "json"
    ): Effect.Effect<Reply, Errors.AimairaError> =>
      client.execute(request).pipe(
        Effect.catchTags({
          RequestError: (error) => Effect.fail(Http.transport(ctx, error, scrub)),
          ResponseError: (error): Effect.Effect<never, Errors.AimairaError> =>
            error.reason === "StatusCode"
              ? refused(ctx, error.response)
              : Effect.fail(Http.transport(ctx, error, scrub, error.response.status))
        }),
        Effect.flatMap((response) =>
          (body === "json" ? HttpBody.json(response, { maxBytes }) : Effect.as(HttpBody.bytes(response, { maxBytes }), null)).pipe(
            Effect.map((json): Reply => ({ status: response.status, json })),
            Effect.catchTags({
              ResponseTooLarge: (error) => Effect.fail(tooLarge(ctx, response.status, error)),
              ResponseError: (error: HttpClientError.ResponseError) =>
                Effect.fail(
                  error.cause instanceof SyntaxError
                    ? Http.decodeError(ctx, response.status, `the body is not JSON: ${scrub(error.cause.message)}`)
                    : Http.transport(ctx, error, scrub, response.status)
                )
            })
          )
        ),
        // The documented header is `X-ApiKey`; the platform only redacts `x-api-key` in traces.
        Effect.locallyWith(Headers.currentRedactedNames, (names) => [...names, "x-apikey"])
      )

    const decodeWith = <B, I>(schema: Schema.Schema<B, I>, reply: Reply, ctx: Http.Context, prefix: ReadonlyArray<PropertyKey> = []) =>
      (json: unknown): Effect.Effect<B, Errors.Decode> =>
        Schema.decodeUnknown(schema)(json).pipe(Effect.mapError((error) => Http.decodeError(ctx, reply.status, error, prefix)))

    const entityPath = (set: string, id: number) => `/${set}/${id}`
    const ctxOf = (method: string, path: string, entitySet: string, key?: number): Http.Context => ({
      method,
      path: `${new URL(apiUrl).pathname}${path.split("?")[0]}`,
      entitySet,
      ...(key === undefined ? {} : { key })
    })

    /** A `@odata.nextLink` as a path relative to the API root; links elsewhere are refused. */
    const relativeNext = (link: string | undefined, reply: Reply, ctx: Http.Context): Effect.Effect<string | undefined, Errors.Decode> => {
      if (link === undefined) return Effect.succeed(undefined)
      if (link.startsWith("/")) return Effect.succeed(link)
      if (link.toLowerCase().startsWith(`${apiUrl.toLowerCase()}/`) || link.toLowerCase().startsWith(`${apiUrl.toLowerCase()}?`)) {
        return Effect.succeed(link.slice(apiUrl.length))
      }
      return Effect.fail(
        Http.decodeError(ctx, reply.status, `@odata.nextLink points outside the API root (${apiUrl}); not followed, so credentials are not sent elsewhere`)
      )
    }

    const fetchPage = <B, I>(
      set: string,
      schema: Schema.Schema<B, I>,
      target: string,
      body: unknown
    ): Effect.Effect<Page<B>, Errors.AimairaError> => {
      const ctx = ctxOf("GET", target, set)
      let request = HttpClientRequest.get(target)
      if (body !== undefined) request = HttpClientRequest.bodyUnsafeJson(request, body)
      return Effect.gen(function*() {
        const reply = yield* send(request, ctx)
        const envelope = yield* decodeWith(PageEnvelope, reply, ctx)(reply.json)
        const value = yield* Effect.forEach(envelope.value, (row, index) => decodeWith(schema, reply, ctx, ["value", index])(row))
        const next = yield* relativeNext(envelope["@odata.nextLink"], reply, ctx)
        return { value, count: envelope["@odata.count"], next }
      })
    }

    const firstTarget = (set: string, query: Query<any, boolean> | undefined) => {
      const search = query?.toSearch() ?? ""
      return search === "" ? `/${set}` : `/${set}?${search}`
    }

    const listAs: Service["listAs"] = (entity, schema, query, listOptions) =>
      fetchPage(entity.entitySet, schema, firstTarget(entity.entitySet, query), listOptions?.body)

    /** Every page from `first`, following `@odata.nextLink`; `body` goes with the first request only. */
    const pages = <B, I>(set: string, schema: Schema.Schema<B, I>, first: string, body: unknown) =>
      Stream.paginateChunkEffect(first, (target) =>
        Effect.map(
          // The GET body of the first request restricts the query; the server carries that
          // restriction into its nextLink, so later pages are plain GETs.
          fetchPage(set, schema, target, target === first ? body : undefined),
          (page) => [Chunk.fromIterable(page.value), Option.fromNullable(page.next)] as const
        ))

    const streamAs: Service["streamAs"] = (entity, schema, query, listOptions) =>
      pages(entity.entitySet, schema, firstTarget(entity.entitySet, query), listOptions?.body)

    const streamRelated: Service["streamRelated"] = (entity, id, navigation, target, query) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(navigation)) {
        throw new RangeError(`Invalid OData navigation property ${JSON.stringify(navigation)}`)
      }
      const search = query?.toSearch() ?? ""
      const path = `${entityPath(entity.entitySet, id)}/${navigation}`
      return pages(entity.entitySet, wireSchema(target), search === "" ? path : `${path}?${search}`, undefined)
    }

    const getAs: Service["getAs"] = (entity, id, schema, query) => {
      const search = query?.toSearch() ?? ""
      const path = entityPath(entity.entitySet, id)
      const ctx = ctxOf("GET", path, entity.entitySet, id)
      return Effect.gen(function*() {
        const reply = yield* send(HttpClientRequest.get(search === "" ? path : `${path}?${search}`), ctx)
        return yield* decodeWith(schema, reply, ctx)(reply.json)
      })
    }

    const get: Service["get"] = (entity, id) => {
      const path = entityPath(entity.entitySet, id)
      const ctx = ctxOf("GET", path, entity.entitySet, id)
      return Effect.gen(function*() {
        const reply = yield* send(HttpClientRequest.get(path), ctx)
        return yield* decodeWith(wireSchema(entity), reply, ctx)(reply.json)
      })
    }

    const update: Service["update"] = (entity, value) => {
      const path = entityPath(entity.entitySet, value.Id)
      const ctx = ctxOf("PUT", path, entity.entitySet, value.Id)
      return Effect.gen(function*() {
        // Encoding a constructed entity cannot fail unless the value bypassed its class: a defect.
        const encoded = yield* Effect.orDie(Schema.encode(wireSchema(entity))(value))
        const { Id: _id, ...body } = encoded
        const reply = yield* send(HttpClientRequest.bodyUnsafeJson(HttpClientRequest.put(path), body), ctx)
        // An empty answer (204) says nothing of the entity as stored: read it back.
        if (reply.json === null) return yield* get(entity, value.Id)
        return yield* decodeWith(wireSchema(entity), reply, ctx)(reply.json)
      })
    }

    const service: Service = {
      apiUrl,
      get,
      getAs,
      streamRelated,
      list: (entity, query) => listAs(entity, wireSchema(entity), query),
      stream: (entity, query) => streamAs(entity, wireSchema(entity), query),
      listAs,
      streamAs,
      create: (entity, input) => {
        const path = `/${entity.entitySet}`
        const ctx = ctxOf("POST", path, entity.entitySet)
        return Effect.gen(function*() {
          const { extra, ...fields } = input as { extra?: Record<string, unknown> }
          const encoded = yield* Effect.orDie(Schema.encode(partialSchema(entity))(fields))
          const reply = yield* send(HttpClientRequest.bodyUnsafeJson(HttpClientRequest.post(path), { ...extra, ...encoded }), ctx)
          return yield* decodeWith(wireSchema(entity), reply, ctx)(reply.json)
        })
      },
      update,
      modify: (entity, id, f) =>
        Effect.flatMap(get(entity, id), (current) => {
          const next = f(current)
          if (next.Id !== current.Id) {
            return Effect.dieMessage(`modify(${entity.entitySet}, ${id}): the function changed the Id to ${next.Id}`)
          }
          return update(entity, next)
        }),
      delete: (entity, id) => {
        const path = entityPath(entity.entitySet, id)
        return Effect.asVoid(send(HttpClientRequest.del(path), ctxOf("DELETE", path, entity.entitySet, id), "ignored"))
      },
      synchronisationAffaire: (id) => {
        const path = `/Convention/${id}/SynchronisationAffaire`
        return Effect.asVoid(send(HttpClientRequest.post(path), ctxOf("POST", path, "Convention", id), "ignored"))
      }
    }
    return service
  })

/**
 * The client from options. `AimairaPlugin.layer` also registers the credentials with the
 * `Redactor`: hosts use that one.
 *
 * @since 0.1.0
 */
export const layer = (options: AimairaConfig.Options): Layer.Layer<AimairaClient, Errors.InvalidConfiguration, HttpClient.HttpClient> =>
  Layer.effect(AimairaClient, make(options))
