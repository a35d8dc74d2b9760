/**
 * A Campus Skills sync API simulator: a real HTTP server on a loopback port that behaves as the
 * vendor pages describe (see the package README, "Sandbox assumptions", for everything they
 * leave open).
 *
 * @since 0.1.0
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { type Plugin, ProviderKit } from "@relais/core"
import { Faults, type RequestLog, SandboxServer, StateFile } from "@relais/sandbox-kit"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as CampusSkillsConfig from "../CampusSkillsConfig.js"
import * as internalRoutes from "./internal/routes.js"
import { generateContracts } from "./internal/seed.js"
import { type IntegrationDelay, type IntegrationModel, persisted, restoreInto, Store, type StoreConfig } from "./internal/store.js"
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
 * When the sandbox integrates the contracts it receives (associates them with a session, so
 * that they appear in `GET /api/sync/v1/contrats`). In production this needs integration
 * models, which the Campus Skills integration team configures for the school's groups: a
 * contract of a group without a model is transmitted and never integrated.
 *
 * - `"immediate"` (default): at once, as if a model matched every group.
 * - `{ delay }`: once `delay` has passed since the contract was sent (integration is a
 *   background job in production).
 * - `"never"`: no model is configured: every contract stays transmitted and is never
 *   integrated, the seeded ones included.
 *
 * `models` narrows which groups integrate (with `"immediate"` or a delay); `parseIntegration`
 * reads the option from text (a CLI flag).
 *
 * @since 0.1.0
 */
export type Integration = "immediate" | "never" | { readonly delay: Duration.DurationInput }

/**
 * Reads the integration option from text: `immediate`, `never`, or a delay such as `30s`,
 * `500ms`, `2m`, `2 minutes` (also `delay:30s`).
 *
 * @example
 * ```ts
 * parseIntegration("45s") // Either.right({ delay: Duration.seconds(45) })
 * ```
 *
 * @since 0.1.0
 */
export const parseIntegration = (text: string): Either.Either<Integration, SandboxOptionsError> => {
  const value = text.trim().toLowerCase()
  if (value === "immediate" || value === "never") return Either.right(value)
  return Either.match(ProviderKit.parseDuration(value.replace(/^delay\s*:\s*/, "")), {
    onLeft: () =>
      Either.left(
        new SandboxOptionsError({
          reason: `integration ${JSON.stringify(text)} is not one of immediate, never, or a delay such as 30s, 500ms, ` +
            "2m (contracts are integrated that long after they are sent)"
        })
      ),
    onRight: (delay) => Either.right({ delay })
  })
}

/**
 * The canonical text of an integration option: `immediate`, `never`, or the delay in its
 * canonical form (`30s` and `30000ms` are both `30s`), so that two spellings of the same
 * setting compare equal (a resumed run keeps its sandbox's settings).
 *
 * @since 0.1.0
 */
export const formatIntegration = (integration: Integration): string =>
  typeof integration === "string" ? integration : ProviderKit.formatDuration(Duration.decode(integration.delay))

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
  /** When received contracts are integrated: see {@link Integration} (default `"immediate"`). */
  readonly integration?: Integration | undefined
  /** Integration models (default: every group, `[{ codeGroupe: "*" }]`; `[]` integrates nothing). */
  readonly models?: ReadonlyArray<Model> | undefined
  /** Integration delay in list calls and/or milliseconds (default: immediate); not with `integration`. */
  readonly integrationDelay?: Delay | undefined
  /**
   * Contracts held at start (and after a reset): a number of generated contracts, or explicit
   * wire contracts (which must pass validation). Default: none.
   */
  readonly contracts?: number | ReadonlyArray<Record<string, unknown>> | undefined
  /** Fault rules active from the start, as rules or in the kit's text syntax. */
  readonly faults?: ReadonlyArray<Faults.FaultRule | string> | undefined
  /**
   * Keep the contracts in this file (see `StateFile`): restored from it when it exists (instead
   * of `contracts`), written when the sandbox starts and after every request that may change
   * data, before its answer leaves. `relais run --sandbox` keeps one per run, for `resume`.
   */
  readonly stateFile?: string | undefined
  /**
   * Called when the state file cannot be written after a request (a full or read-only disk),
   * before the request answers 500: the data in memory is then ahead of the file, so whoever
   * relies on the file (a run to be resumed) should stop.
   */
  readonly onSaveFailure?: ((error: StateFile.StateFileError) => Effect.Effect<void>) | undefined
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

const storeConfig = (options: Options): Either.Either<StoreConfig, SandboxOptionsError> => {
  const fail = (reason: string) => Either.left(new SandboxOptionsError({ reason }))
  const integration = options.integration ?? "immediate"
  const models = options.models ?? [{ codeGroupe: "*" }]
  if (integration === "never") {
    if (options.models !== undefined) {
      return fail(`integration "never" means that no model is configured: do not give models as well`)
    }
    return Either.right({ models: [], delay: options.integrationDelay ?? {} })
  }
  if (integration === "immediate") return Either.right({ models, delay: options.integrationDelay ?? {} })
  if (options.integrationDelay !== undefined) {
    return fail("give the integration delay once: integration: { delay } or integrationDelay, not both")
  }
  // Duration clamps a negative number of milliseconds to zero: refuse it instead.
  const raw = integration.delay
  const decoded = typeof raw === "number" && raw < 0 ? Option.none() : Duration.decodeUnknown(raw)
  const millis = Option.isSome(decoded) ? Duration.toMillis(decoded.value) : Number.NaN
  if (!Number.isFinite(millis) || millis < 0) {
    return fail(`integration delay ${JSON.stringify(String(integration.delay))} is not a finite duration`)
  }
  return Either.right({ models, delay: { millis } })
}

/**
 * Starts the sandbox for the lifetime of the scope.
 *
 * @since 0.1.0
 */
export const make = (
  options: Options = {}
): Effect.Effect<Service, SandboxServer.ServerStartError | SandboxOptionsError | StateFile.StateFileError, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = Clock.make()
    const tokens = (options.tokens ?? [defaultToken]).map((t) => (Redacted.isRedacted(t) ? Redacted.value(t) : t))
    const firstToken = tokens[0]
    if (firstToken === undefined) return yield* new SandboxOptionsError({ reason: "at least one token is needed" })
    const initialFaults = yield* resolveFaults(options.faults ?? [])
    const config = yield* storeConfig(options)

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
    const stateFile = options.stateFile
    const kept = stateFile === undefined ? Option.none() : yield* StateFile.read(stateFile, "campus-skills")
    if (Option.isSome(kept)) {
      const restored = restoreInto(store, kept.value)
      if (Either.isLeft(restored)) {
        return yield* new StateFile.StateFileError({ file: stateFile!, operation: "read", reason: restored.left })
      }
    }
    // A state that cannot be saved would make a resumed run believe in writes that are lost: a
    // failure to save is a defect of the request (a 500), never a silent success.
    const save = stateFile === undefined
      ? Effect.void
      : Effect.suspend(() => StateFile.write(stateFile, "campus-skills", persisted(store))).pipe(
        Effect.tapError((error) => options.onSaveFailure?.(error) ?? Effect.void),
        Effect.orDie
      )
    // The first write is part of starting: a full or read-only disk is a typed StateFileError then.
    if (Option.isNone(kept) && stateFile !== undefined) yield* StateFile.write(stateFile, "campus-skills", persisted(store))

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
      // Saved after every request, reads included: listing the integrated contracts moves
      // delayed integrations on (`countListCall`, `promote`).
      app: stateFile === undefined ? api : Effect.ensuring(api, save),
      admin,
      host: options.host,
      port: options.port,
      faults: initialFaults
    })

    resetAll = Effect.gen(function*() {
      yield* Effect.sync(() => store.copyFrom(initial))
      yield* save
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
): Layer.Layer<CampusSkillsSandbox, SandboxServer.ServerStartError | SandboxOptionsError | StateFile.StateFileError> =>
  Layer.scoped(CampusSkillsSandbox, make(options))

/**
 * The sandbox as `@relais/core`'s plugin contract describes it (what `CampusSkillsPlugin`'s
 * `sandbox()` loads): started on a loopback port with a seed, fault rules, a state file and
 * the `integration` setting; the configuration it answers points the plugin at it, with its
 * token and `sandbox: true` (so `campus-skills/reset-sync` is allowed).
 *
 * @since 0.1.0
 */
export const pluginSandbox: Plugin.Sandbox<CampusSkillsConfig.Options> = {
  description: "a Campus Skills sync API simulator (contracts, snapshot and change syncs, integration) on 127.0.0.1",
  faultExample: "POST /api/sync/v2/contrats 503 x2",
  settings: [
    {
      name: "integration",
      description: "when the sandbox integrates the contracts it receives (production needs integration models " +
        "configured by the Campus Skills team; \"never\" is a group without one)",
      values: "immediate, never, or a delay such as 30s",
      default: "immediate",
      parse: (text) => Either.mapBoth(parseIntegration(text), { onLeft: (error) => error.reason, onRight: formatIntegration })
    }
  ],
  start: (options) =>
    Effect.gen(function*() {
      const integration = yield* parseIntegration(options.settings.integration ?? "immediate")
      const sandbox = yield* make({
        port: options.port,
        ...(options.seed === undefined ? {} : { seed: options.seed }),
        faults: options.faults,
        integration,
        stateFile: options.stateFile,
        onSaveFailure: options.onSaveFailure
      })
      const chosen = formatIntegration(integration)
      return {
        url: sandbox.url,
        config: { url: sandbox.url, token: sandbox.token, sandbox: true },
        ...(chosen === "immediate" ? {} : { summary: `integration: ${chosen}` })
      }
    })
}
