/**
 * A simulator of the e-signature service: a real HTTP server on 127.0.0.1 that answers the API
 * of `Api.ts` from data in memory, with bearer auth, seeded envelopes, fault rules (the relais
 * sandbox-kit syntax), data kept in a state file, and simulated signers whose behaviour is the
 * `signing` setting.
 *
 * relais loads this module only when a sandbox is asked for (the plugin's `sandbox` is a
 * dynamic import of it): `relais run --sandbox`, `relais sandbox`, and with
 * `--sandbox-set esign:signing=never`, `--fault "esign:POST /api/v1/envelopes 503 x1"`.
 * Tests use {@link make} directly.
 *
 * Built only on `@relais/core/SandboxKit`: `SandboxServer` (the server, fault injection, the
 * request log, the admin routes under `/__sandbox/`), `Faults`, `StateFile`, `Prng`, `Names`.
 *
 * @since 0.1.0
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as Plugin from "@relais/core/Plugin"
import * as ProviderKit from "@relais/core/ProviderKit"
import { Faults, type RequestLog, SandboxServer, StateFile } from "@relais/core/SandboxKit"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Api from "./Api.js"
import * as EsignConfig from "./EsignConfig.js"
import * as routes from "./internal/sandboxRoutes.js"
import { type Signing as SigningBehaviour, Store, toWire } from "./internal/sandboxStore.js"

/**
 * The token the sandbox accepts unless told otherwise. Not a secret: it only opens the sandbox.
 *
 * @since 0.1.0
 */
export const defaultToken = "relais-esign-sandbox-token"

/**
 * How the simulated signers behave when an envelope is sent:
 *
 * - `immediate` (default): every signer signs at once (seen from the next request on);
 * - `never`: nobody answers (a wait ends at its deadline);
 * - `decline`: the last signer declines (the ones before sign); `decline:<role>`: the first
 *   signer with that role declines (e.g. `decline:company`);
 * - a delay (`30s`, `500ms`, `2m`): the signers sign one after the other, the last one that long
 *   after the envelope was sent.
 *
 * A signer can also sign or decline by hand: `POST /__sandbox/envelopes/:id/signers/:signer/sign`
 * or `.../decline`.
 *
 * @since 0.1.0
 */
export type Signing = SigningBehaviour

/**
 * Options that cannot work (a bad fault rule, an unknown signing behaviour, no token).
 *
 * @since 0.1.0
 */
export class SandboxOptionsError extends Schema.TaggedError<SandboxOptionsError>()("SandboxOptionsError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid e-signature sandbox options: ${this.reason}`
  }
}

/**
 * Reads the `signing` setting: `immediate`, `never`, `decline`, `decline:<role>`, or a delay.
 *
 * @since 0.1.0
 */
export const parseSigning = (text: string): Either.Either<Signing, string> => {
  const value = text.trim()
  const lower = value.toLowerCase()
  if (lower === "immediate") return Either.right({ _tag: "immediate" })
  if (lower === "never") return Either.right({ _tag: "never" })
  if (lower === "decline") return Either.right({ _tag: "decline" })
  const role = /^decline:\s*(\S.*)$/i.exec(value)
  if (role !== null) return Either.right({ _tag: "decline", role: role[1]!.trim() })
  return Either.match(ProviderKit.parseDuration(value), {
    onLeft: () =>
      Either.left(
        `signing ${JSON.stringify(text)} is not one of immediate, never, decline, decline:<role>, or a delay such as 30s`
      ),
    onRight: (duration) => Either.right({ _tag: "delay", millis: Duration.toMillis(duration) })
  })
}

/**
 * The canonical text of a signing behaviour (`30000ms` and `30s` are both `30s`).
 *
 * @since 0.1.0
 */
export const formatSigning = (signing: Signing): string =>
  signing._tag === "delay"
    ? ProviderKit.formatDuration(Duration.millis(signing.millis))
    : signing._tag === "decline" && signing.role !== undefined
    ? `decline:${signing.role}`
    : signing._tag

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
  /** Seed of the generated data and ids (default `"relais"`): the same seed, the same data. */
  readonly seed?: number | string | undefined
  /** How many earlier envelopes exist at start (default 3: completed, waiting, cancelled, ...). */
  readonly envelopes?: number | undefined
  /** Accepted bearer tokens (default {@link defaultToken}); the first is the one handed out. */
  readonly tokens?: ReadonlyArray<string | Redacted.Redacted<string>> | undefined
  /** How signers behave: a {@link Signing} or its text (default `immediate`). */
  readonly signing?: Signing | string | undefined
  /** Fault rules active from the start, as rules or in the kit's text syntax. */
  readonly faults?: ReadonlyArray<Faults.FaultRule | string> | undefined
  /**
   * Keep the data in this file: restored from it when it exists (instead of the seeded data),
   * written when the sandbox starts and after every request that may change data, before its
   * answer leaves.
   */
  readonly stateFile?: string | undefined
  /** Called when the state file cannot be written (a full or read-only disk), before the request answers 500. */
  readonly onSaveFailure?: ((error: StateFile.StateFileError) => Effect.Effect<void>) | undefined
}

/**
 * A running sandbox.
 *
 * @since 0.1.0
 */
export interface Service {
  /** Base URL, e.g. `http://127.0.0.1:53124`: the client's `url`. */
  readonly url: string
  readonly host: string
  readonly port: number
  /** The first accepted token: the client's `token`. */
  readonly token: Redacted.Redacted<string>
  /** The configuration that points the plugin at this sandbox. */
  readonly config: EsignConfig.EsignConfig
  readonly signing: Signing
  readonly faults: Faults.Service
  readonly requests: RequestLog.Service
  /** Every envelope, newest first, as the API shows them (due signatures applied). */
  readonly envelopes: Effect.Effect<ReadonlyArray<Api.Envelope>>
  /** A signer (by id or e-mail address) signs or declines by hand. */
  readonly answer: (
    envelopeId: string,
    signer: string,
    action: "sign" | "decline",
    reason?: string
  ) => Effect.Effect<Api.Envelope, SandboxOptionsError>
  /** Back to the initial data and fault rules, with an empty request log. */
  readonly reset: Effect.Effect<void>
}

const decodeEnvelope = Schema.decodeUnknownSync(Api.Envelope)

const resolveFaults = (rules: ReadonlyArray<Faults.FaultRule | string>) =>
  Either.all(rules.map((rule) =>
    typeof rule === "string"
      ? Either.mapLeft(Faults.parse(rule), (e) => new SandboxOptionsError({ reason: e.message }))
      : Either.right([rule])
  )).pipe(Either.map((lists) => lists.flat()))

/** The name the state file is written under: one sandbox never reads another's file. */
const stateName = "esign"

/**
 * Starts the sandbox for the lifetime of the scope.
 *
 * @since 0.1.0
 */
export const make = (
  options: Options = {}
): Effect.Effect<Service, SandboxServer.ServerStartError | SandboxOptionsError | StateFile.StateFileError, Scope.Scope> =>
  Effect.gen(function*() {
    // A real server keeps real time, also under a test's TestClock.
    const clock = Clock.make()
    const tokens = (options.tokens ?? [defaultToken]).map((t) => (Redacted.isRedacted(t) ? Redacted.value(t) : t))
    const firstToken = tokens[0]
    if (firstToken === undefined) return yield* new SandboxOptionsError({ reason: "at least one token is needed" })
    const signing = typeof options.signing === "string"
      ? yield* Either.mapLeft(parseSigning(options.signing), (reason) => new SandboxOptionsError({ reason }))
      : options.signing ?? { _tag: "immediate" as const }
    const initialFaults = yield* resolveFaults(options.faults ?? [])
    const seed = String(options.seed ?? "relais")

    const startedAt = yield* clock.currentTimeMillis
    const initial = new Store(seed, signing)
    initial.seedEnvelopes(options.envelopes ?? 3, startedAt)
    const store = new Store(seed, signing)
    store.copyFrom(initial)

    const stateFile = options.stateFile
    const kept = stateFile === undefined ? Option.none() : yield* StateFile.read(stateFile, stateName)
    if (Option.isSome(kept)) {
      const restored = store.restore(kept.value)
      if (Either.isLeft(restored)) {
        return yield* new StateFile.StateFileError({ file: stateFile!, operation: "read", reason: restored.left })
      }
    }
    // Data that cannot be saved would make a resumed run believe in writes that are lost: a
    // failure to save is a failure of the request (a 500), never a silent success.
    const save = stateFile === undefined
      ? Effect.void
      : Effect.suspend(() => StateFile.write(stateFile, stateName, store.persisted())).pipe(
        Effect.tapError((error) => options.onSaveFailure?.(error) ?? Effect.void),
        Effect.orDie
      )
    // The first write is part of starting: a full or read-only disk is a StateFileError now.
    if (Option.isNone(kept) && stateFile !== undefined) yield* StateFile.write(stateFile, stateName, store.persisted())

    const tokenSet = new Set(tokens)
    const api = routes.withAuth(
      tokenSet,
      routes.apiRouter({ store, clock }).pipe(
        Effect.catchTag("RouteNotFound", (e) =>
          Effect.succeed(routes.notFound(`no route ${e.request.method} ${e.request.url.split("?")[0] ?? ""}`)))
      )
    )

    // set once the server runs: a reset also resets the server's faults and log
    let resetAll: Effect.Effect<void> = Effect.void
    const admin = routes.adminRouter({ store, clock, reset: Effect.suspend(() => resetAll), save })

    const server = yield* SandboxServer.make({
      app: api,
      admin,
      host: options.host,
      port: options.port,
      faults: initialFaults,
      onWrite: save,
      // Faults answer in the API's own error shape, as the real service would.
      faultResponse: (rule, status) =>
        HttpServerResponse.unsafeJson(
          {
            error: status === 429 ? "rate_limited" : "server_error",
            message: status === 429 ? "too many requests, slow down" : "the service failed, try again later",
            sandboxFault: rule.id ?? null
          },
          { status }
        )
    })

    resetAll = Effect.gen(function*() {
      yield* Effect.sync(() => store.copyFrom(initial))
      yield* save
      yield* server.faults.clear
      if (initialFaults.length > 0) yield* server.faults.add(initialFaults)
      yield* server.requests.clear
    })

    const token = Redacted.make(firstToken)
    return {
      url: server.url,
      host: server.host,
      port: server.port,
      token,
      config: { url: server.url, token },
      signing,
      faults: server.faults,
      requests: server.requests,
      envelopes: Effect.flatMap(clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          store.advance(now)
          return store.list({}).map((e) => decodeEnvelope(toWire(e)))
        })),
      answer: (envelopeId, signer, action, reason) =>
        Effect.flatMap(clock.currentTimeMillis, (now) =>
          Effect.suspend(() => {
            store.advance(now)
            const outcome = store.answer(envelopeId, signer, action, reason, now)
            return outcome._tag === "ok"
              ? Effect.as(save, decodeEnvelope(toWire(outcome.value)))
              : Effect.fail(
                new SandboxOptionsError({
                  reason: outcome._tag === "not-found" ? `no signer ${signer} in envelope ${envelopeId}` : outcome.reason
                })
              )
          })),
      reset: resetAll
    } satisfies Service
  })

/**
 * The `signing` setting, for `--sandbox-set esign:signing=<value>`.
 *
 * @since 0.1.0
 */
export const signingSetting: Plugin.SandboxSetting = {
  name: "signing",
  description: "how the simulated signers answer an envelope: immediate (everyone signs at once), never (nobody " +
    "answers), decline (the last signer declines) or decline:<role> (the signer with that role), or a delay " +
    "(everyone has signed that long after the envelope was sent)",
  values: "immediate, never, decline, decline:<role>, or a delay such as 30s",
  default: "immediate",
  parse: (text) => Either.map(parseSigning(text), formatSigning)
}

/**
 * The plugin's sandbox, as relais starts it (`Plugin.Sandbox`): the configuration it returns
 * points the plugin at the simulator, with the simulator's token.
 *
 * @since 0.1.0
 */
export const sandbox: Plugin.Sandbox<EsignConfig.EsignConfig> = {
  description: "an e-signature service in memory (envelopes, signers who sign, wait or decline), bearer token",
  faultExample: "POST /api/v1/envelopes 429:2 x1",
  settings: [signingSetting],
  start: (options) =>
    Effect.gen(function*() {
      const text = options.settings[signingSetting.name] ?? signingSetting.default
      const running = yield* make({
        port: options.port,
        seed: options.seed,
        faults: options.faults,
        signing: text,
        stateFile: options.stateFile,
        onSaveFailure: options.onSaveFailure
      })
      const signing = formatSigning(running.signing)
      return {
        url: running.url,
        config: running.config,
        ...(signing === signingSetting.default ? {} : { summary: `signing: ${signing}` })
      }
    })
}
