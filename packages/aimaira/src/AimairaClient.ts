/**
 * `AimairaClient`: a typed client for the AIMAIRA GraphV1 OData API.
 *
 * Built once over the abstract `HttpClient.HttpClient` with
 * `HttpClient.mapRequest(prependUrl, auth, acceptJson)`. It never retries: retries, timeouts and
 * backoff belong to the workflow step that calls it (`@relais/core`'s `RetryPolicy`), which
 * reads the `status` / `retryAfterMillis` of the errors.
 *
 * Every response body is read with a size cap (`maxResponseBytes`, 16 MiB by default, through
 * `@relais/core`'s `HttpBody`): a larger answer fails with `ResponseTooLarge` as soon as the
 * cap is passed.
 *
 * Updates are full updates: AIMAIRA resets every property a PUT omits. `update` sends the whole
 * entity (declared fields and `extra`), and `modify` reads the entity first, so nothing is reset
 * by accident.
 *
 * @since 0.1.0
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpBody from "@relais/core/HttpBody"
import * as Chunk from "effect/Chunk"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
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

interface Reply {
  readonly status: number
  readonly text: string
}

/**
 * Builds the client over the `HttpClient` in context.
 *
 * @since 0.1.0
 */
export const make = (options: AimairaConfig.Options): Effect.Effect<Service, Errors.AimairaConfigError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const apiUrl = yield* Either.match(AimairaConfig.normalizeUrl(options.url), { onLeft: Effect.fail, onRight: Effect.succeed })
    const auth = options.auth
    if (auth._tag === "Basic" && (auth.username === "" || Redacted.value(auth.password) === "")) {
      return yield* new Errors.AimairaConfigError({ reason: "the user name and the password must not be empty" })
    }
    if (auth._tag === "ApiKey" && Redacted.value(auth.apiKey) === "") {
      return yield* new Errors.AimairaConfigError({ reason: "the API key must not be empty" })
    }
    const scrub = Http.makeScrubber(auth)
    const maxBytes = options.maxResponseBytes ?? HttpBody.defaultMaxBytes
    if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
      return yield* new Errors.AimairaConfigError({ reason: `maxResponseBytes must be a positive integer, got ${maxBytes}` })
    }
    const authenticate = auth._tag === "Basic"
      ? HttpClientRequest.basicAuth(auth.username, auth.password)
      : HttpClientRequest.setHeader("X-ApiKey", Redacted.value(auth.apiKey))
    const client = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest((request) => HttpClientRequest.acceptJson(authenticate(HttpClientRequest.prependUrl(request, apiUrl))))
    )

    /** Sends a request (path relative to the API root) and reads the whole answer. */
    const send = (request: HttpClientRequest.HttpClientRequest, ctx: Http.Context): Effect.Effect<Reply, Errors.AimairaError> =>
      client.execute(request).pipe(
        Effect.mapError((error) => Http.transport(ctx, error, scrub)),
        Effect.flatMap((response) =>
          // Every body is read through the cap: a runaway answer fails at the limit instead of
          // filling the memory (a 600 MB body used to crash the process).
          HttpBody.text(response, { maxBytes }).pipe(
            Effect.mapError((error) =>
              error._tag === "ResponseTooLarge"
                ? new Errors.ResponseTooLarge({
                  responseStatus: response.status,
                  method: ctx.method,
                  path: ctx.path,
                  limit: error.limit,
                  received: error.received,
                  announced: error.announced
                })
                : Http.transport(ctx, error, scrub, response.status)
            ),
            Effect.flatMap((text): Effect.Effect<Reply, Errors.AimairaError> =>
              response.status >= 200 && response.status < 300
                ? Effect.succeed({ status: response.status, text })
                : Effect.flatMap(Http.fromResponse(ctx, response.status, response.headers, text, auth, scrub), Effect.fail)
            )
          )
        ),
        // The documented header is `X-ApiKey`; the platform only redacts `x-api-key` in traces.
        Effect.locallyWith(Headers.currentRedactedNames, (names) => [...names, "x-apikey"])
      )

    const parseJson = (reply: Reply, ctx: Http.Context): Effect.Effect<unknown, Errors.Decode> =>
      Effect.try({
        try: () => JSON.parse(reply.text) as unknown,
        catch: () =>
          Http.decodeError(ctx, reply.status, `the body is not JSON: ${JSON.stringify(scrub(reply.text.slice(0, 120)))}`)
      })

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
        const json = yield* parseJson(reply, ctx)
        const envelope = yield* decodeWith(PageEnvelope, reply, ctx)(json)
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
        return yield* Effect.flatMap(parseJson(reply, ctx), decodeWith(schema, reply, ctx))
      })
    }

    const get: Service["get"] = (entity, id) => {
      const path = entityPath(entity.entitySet, id)
      const ctx = ctxOf("GET", path, entity.entitySet, id)
      return Effect.gen(function*() {
        const reply = yield* send(HttpClientRequest.get(path), ctx)
        return yield* Effect.flatMap(parseJson(reply, ctx), decodeWith(wireSchema(entity), reply, ctx))
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
        if (reply.text.trim() === "") return yield* get(entity, value.Id)
        return yield* Effect.flatMap(parseJson(reply, ctx), decodeWith(wireSchema(entity), reply, ctx))
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
          return yield* Effect.flatMap(parseJson(reply, ctx), decodeWith(wireSchema(entity), reply, ctx))
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
        return Effect.asVoid(send(HttpClientRequest.del(path), ctxOf("DELETE", path, entity.entitySet, id)))
      },
      synchronisationAffaire: (id) => {
        const path = `/Convention/${id}/SynchronisationAffaire`
        return Effect.asVoid(send(HttpClientRequest.post(path), ctxOf("POST", path, "Convention", id)))
      }
    }
    return service
  })

/**
 * The client from options.
 *
 * @since 0.1.0
 */
export const layer = (options: AimairaConfig.Options): Layer.Layer<AimairaClient, Errors.AimairaConfigError, HttpClient.HttpClient> =>
  Layer.effect(AimairaClient, make(options))

/**
 * The client from `Config` (`AIMAIRA_URL`, `AIMAIRA_USERNAME`/`AIMAIRA_PASSWORD` or
 * `AIMAIRA_API_KEY` by default).
 *
 * @since 0.1.0
 */
export const layerConfig = (
  config: Config.Config<AimairaConfig.Options> = AimairaConfig.config()
): Layer.Layer<AimairaClient, Errors.AimairaConfigError | ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.effect(AimairaClient, Effect.flatMap(config, make))
