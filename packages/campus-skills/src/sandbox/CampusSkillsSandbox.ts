/**
 * A Campus Skills sync API simulator: a real HTTP server on a loopback port that behaves as the
 * vendor pages describe (see the package README, "Sandbox assumptions", for everything they
 * leave open).
 *
 * @since 0.1.0
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Faults, type RequestLog, SandboxServer } from "@relais/sandbox-kit"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as internalRoutes from "./internal/routes.js"
import { generateContracts } from "./internal/seed.js"
import { type IntegrationDelay, type IntegrationModel, Store } from "./internal/store.js"
import { validate } from "./internal/validate.js"

/**
 * The token the sandbox accepts unless told otherwise. Not a secret: it only opens the sandbox.
 *
 * @since 0.1.0
 */
export const defaultToken = "relais-campus-skills-sandbox-token"

/**
 * The school name `GET /api/sync/v1/test` answers with unless told otherwise.
 *
 * @since 0.1.0
 */
export const defaultSchoolName = "CFA Relais (sandbox)"

/**
 * Which groups the "integration team" has configured: a transmitted contract is integrated when
 * one model matches its `codeGroupe` and/or `nomGroupe` (`*` wildcards; every given pattern must
 * match).
 *
 * @since 0.1.0
 */
export type Model = IntegrationModel

/**
 * How long integration takes: a contract appears in `GET /api/sync/v1/contrats` once it has been
 * left out of `listCalls` calls of that route and `millis` ms have passed since it was sent.
 *
 * @since 0.1.0
 */
export type Delay = IntegrationDelay

/**
 * Options of the sandbox.
 *
 * @since 0.1.0
 */
export interface Options {
  /** `0` (default) picks a free port. */
  readonly port?: number | undefined
  /** `127.0.0.1` by default. */
  readonly host?: string | undefined
  /** Seed of the generated contracts (default `"relais"`). */
  readonly seed?: number | string | undefined
  /** Accepted bearer tokens (default: {@link defaultToken}). */
  readonly tokens?: ReadonlyArray<string | Redacted.Redacted<string>> | undefined
  /** Answered by `GET /api/sync/v1/test` as `name`. */
  readonly schoolName?: string | undefined
  /** Integration models (default: every group, `[{ codeGroupe: "*" }]`; `[]` integrates nothing). */
  readonly models?: ReadonlyArray<Model> | undefined
  /** Integration delay (default: immediate). */
  readonly integrationDelay?: Delay | undefined
  /**
   * Contracts held at start (and after a reset): a number of generated contracts, or explicit
   * wire contracts (which must pass validation). Default: none.
   */
  readonly contracts?: number | ReadonlyArray<Record<string, unknown>> | undefined
  /** Fault rules active from the start, as rules or in the kit's text syntax. */
  readonly faults?: ReadonlyArray<Faults.FaultRule | string> | undefined
}

/**
 * A contract in the sync state, as `GET /__sandbox/state` shows it.
 *
 * @since 0.1.0
 */
export class StoredContract extends Schema.Class<StoredContract>("@relais/campus-skills/sandbox/StoredContract")({
  codeContrat: Schema.String,
  status: Schema.Literal("active", "archived"),
  integration: Schema.Literal("pending", "integrated", "unmatched"),
  contrat: Schema.Record({ key: Schema.String, value: Schema.String })
}) {}

/**
 * Everything the sandbox holds.
 *
 * @since 0.1.0
 */
export class State extends Schema.Class<State>("@relais/campus-skills/sandbox/State")({
  /** The sync state, archived contracts included, in first-arrival order. */
  transmitted: Schema.Array(StoredContract),
  /** The contracts on the platform (integrated), in integration order. */
  integrated: Schema.Array(Schema.Record({ key: Schema.String, value: Schema.String })),
  /** Calls of `GET /api/sync/v1/contrats` so far. */
  integratedListCalls: Schema.Int
}) {
  /** The active (not archived) transmitted contracts. */
  get active(): ReadonlyArray<StoredContract> {
    return this.transmitted.filter((c) => c.status === "active")
  }

  /** The archived contracts. */
  get archived(): ReadonlyArray<StoredContract> {
    return this.transmitted.filter((c) => c.status === "archived")
  }
}

/**
 * Options that cannot work (an invalid initial contract, a bad fault rule).
 *
 * @since 0.1.0
 */
export class SandboxOptionsError extends Schema.TaggedError<SandboxOptionsError>()("SandboxOptionsError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `Invalid Campus Skills sandbox options: ${this.reason}`
  }
}

/**
 * A running Campus Skills sandbox.
 *
 * @since 0.1.0
 */
export interface Service {
  /** Base URL, e.g. `http://127.0.0.1:53124`: give it to the client as `url`. */
  readonly url: string
  readonly host: string
  readonly port: number
  /** The first accepted token: give it to the client as `token`. */
  readonly token: Redacted.Redacted<string>
  readonly faults: Faults.Service
  readonly requests: RequestLog.Service
  /** A snapshot of the data (pending integrations whose delay passed are integrated first). */
  readonly state: Effect.Effect<State>
  /** Back to the initial data, the initial fault rules and an empty request log. */
  readonly reset: Effect.Effect<void>
}

/**
 * The sandbox as a service.
 *
 * @since 0.1.0
 */
export class CampusSkillsSandbox extends Context.Tag("@relais/campus-skills/sandbox/CampusSkillsSandbox")<
  CampusSkillsSandbox,
  Service
>() {}

const encodeState = Schema.encodeSync(State)

const resolveFaults = (
  rules: ReadonlyArray<Faults.FaultRule | string>
): Either.Either<ReadonlyArray<Faults.FaultRule>, SandboxOptionsError> =>
  Either.all(rules.map((rule) =>
    typeof rule === "string"
      ? Either.mapLeft(Faults.parse(rule), (e) => new SandboxOptionsError({ reason: e.message }))
      : Either.right([rule])
  )).pipe(Either.map((lists) => lists.flat()))

/**
 * Starts the sandbox for the lifetime of the scope.
 *
 * @since 0.1.0
 */
export const make = (
  options: Options = {}
): Effect.Effect<Service, SandboxServer.ServerStartError | SandboxOptionsError, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = Clock.make()
    const tokens = (options.tokens ?? [defaultToken]).map((t) => (Redacted.isRedacted(t) ? Redacted.value(t) : t))
    const firstToken = tokens[0]
    if (firstToken === undefined) return yield* new SandboxOptionsError({ reason: "at least one token is needed" })
    const initialFaults = yield* resolveFaults(options.faults ?? [])
    const config = {
      models: options.models ?? [{ codeGroupe: "*" }],
      delay: options.integrationDelay ?? {}
    }

    // the initial data, built once and copied on every reset
    const initial = new Store(config)
    const seedContracts = typeof options.contracts === "number"
      ? generateContracts(options.seed ?? "relais", options.contracts)
      : options.contracts ?? []
    const checked = validate(seedContracts, { datesRequired: false })
    if (checked.invalid.length > 0) {
      const first = checked.invalid[0]!
      return yield* new SandboxOptionsError({
        reason: `${checked.invalid.length} initial contract(s) are invalid; the first (index ${first.index}): ${
          first.reasons.map((r) => r.message).join("; ")
        }`
      })
    }
    const startedAt = yield* clock.currentTimeMillis
    initial.snapshot(checked.valid.map((v) => v.contract), new Set(), startedAt)
    initial.integratePending() // seeded contracts start integrated (when a model matches)

    const store = new Store(config)
    store.copyFrom(initial)

    const tokenSet = new Set(tokens)
    const router = internalRoutes.apiRouter({ store, tokens: tokenSet, schoolName: options.schoolName ?? defaultSchoolName, clock })
    const api = internalRoutes.withAuth(
      tokenSet,
      router.pipe(
        Effect.catchTag("RouteNotFound", (e) => Effect.succeed(internalRoutes.notFound(e.request.url.split("?")[0] ?? "")))
      )
    )

    const readState = Effect.flatMap(clock.currentTimeMillis, (now) =>
      Effect.sync(() => {
        store.promote(now)
        return new State({
          transmitted: [...store.transmitted.values()].map((t) =>
            new StoredContract({
              codeContrat: t.contract.codeContrat,
              status: t.status,
              integration: t.integration,
              contrat: t.contract
            })
          ),
          integrated: [...store.integrated.values()],
          integratedListCalls: store.integratedListCalls
        })
      }))

    // set once the server runs: the admin reset route needs the server's faults and log
    let resetAll: Effect.Effect<void> = Effect.void

    const admin = HttpRouter.empty.pipe(
      HttpRouter.get("/__sandbox/state", Effect.map(readState, (s) => HttpServerResponse.unsafeJson(encodeState(s)))),
      HttpRouter.post(
        "/__sandbox/reset",
        Effect.suspend(() => resetAll).pipe(Effect.as(HttpServerResponse.unsafeJson({ reset: true })))
      )
    )

    const server = yield* SandboxServer.make({
      app: api,
      admin,
      host: options.host,
      port: options.port,
      faults: initialFaults
    })

    resetAll = Effect.gen(function*() {
      yield* Effect.sync(() => store.copyFrom(initial))
      yield* server.faults.clear
      if (initialFaults.length > 0) yield* server.faults.add(initialFaults)
      yield* server.requests.clear
    })

    return {
      url: server.url,
      host: server.host,
      port: server.port,
      token: Redacted.make(firstToken),
      faults: server.faults,
      requests: server.requests,
      state: readState,
      reset: resetAll
    } satisfies Service
  })

/**
 * The sandbox as a layer.
 *
 * @since 0.1.0
 */
export const layer = (
  options: Options = {}
): Layer.Layer<CampusSkillsSandbox, SandboxServer.ServerStartError | SandboxOptionsError> =>
  Layer.scoped(CampusSkillsSandbox, make(options))
