/**
 * A high-fidelity simulator of the AIMAIRA GraphV1 OData API: a real HTTP server on a loopback
 * port with seeded French data, the documented business rules, OData query options, Basic and
 * `X-ApiKey` authentication, and fault injection from `@relais/sandbox-kit`.
 *
 * @since 0.1.0
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type { Plugin } from "@relais/core"
import * as Faults from "@relais/sandbox-kit/Faults"
import type * as RequestLog from "@relais/sandbox-kit/RequestLog"
import * as SandboxServer from "@relais/sandbox-kit/SandboxServer"
import * as StateFile from "@relais/sandbox-kit/StateFile"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as NodeFs from "node:fs/promises"
import { Temporal } from "temporal-polyfill"
import * as AimairaConfig from "../AimairaConfig.js"
import { format as parisFormat, timeZone } from "../ParisDate.js"
import type * as Webhook from "../Webhook.js"
import * as Handler from "./internal/handler.js"
import * as Ops from "./internal/operations.js"
import * as Seed from "./internal/seed.js"
import * as Store from "./internal/store.js"
import * as Webhooks from "./internal/webhooks.js"

/**
 * The credentials the sandbox accepts.
 *
 * @since 0.1.0
 */
export interface Credentials {
  readonly username: string
  readonly password: Redacted.Redacted<string>
  readonly apiKey: Redacted.Redacted<string>
}

/**
 * The sandbox's default credentials: `sandbox` / `sandbox-password`, API key `sandbox-api-key`.
 * They only open a loopback sandbox.
 *
 * @since 0.1.0
 */
export const defaultCredentials: Credentials = {
  username: "sandbox",
  password: Redacted.make("sandbox-password"),
  apiKey: Redacted.make("sandbox-api-key")
}

/**
 * @since 0.1.0
 */
export interface Options {
  /** Port on 127.0.0.1; `0` (the default) picks a free one. */
  readonly port?: number | undefined
  /** Seed of the generated data (default `1`): the same seed gives the same data. */
  readonly seed?: number | string | undefined
  readonly credentials?: Partial<Credentials> | undefined
  /** Server page size of collection responses (default 100); beyond it, `@odata.nextLink`. */
  readonly pageSize?: number | undefined
  /** Learners to generate (default 12). */
  readonly learners?: number | undefined
  /** Fault rules active from the start: rules, or the kit's text syntax. */
  readonly faults?: ReadonlyArray<Faults.FaultRule> | string | undefined
  /**
   * Keep the data in this file (see `StateFile`): restored from it when it exists (the seed is
   * then not used), written when the sandbox starts and after every request that may change
   * data, before its answer leaves. `relais run --sandbox` keeps one per run, for `resume`.
   */
  readonly stateFile?: string | undefined
  /**
   * Called when the state file cannot be written after a request (a full or read-only disk),
   * before the request answers 500: the data in memory is then ahead of the file, so whoever
   * relies on the file (a run to be resumed) should stop.
   */
  readonly onSaveFailure?: ((error: StateFile.StateFileError) => Effect.Effect<void>) | undefined
  /**
   * `DELETE {set}/{id}`: `"allowed"` (the default) deletes the entity; `"refused"` answers
   * `405 Method Not Allowed` for every entity, as an AIMAIRA instance may (its documentation has
   * no DELETE), so that compensations can be tried against a refusal. Changeable while the
   * sandbox runs (`setDeletes`, `PUT /__sandbox/deletes`).
   */
  readonly deletes?: DeleteMode | undefined
  /**
   * The webhooks, configured like AIMAIRA's ({@link WebhooksConfig}); also
   * `PUT /__sandbox/webhooks` and the `webhooks` setting (a JSON file).
   */
  readonly webhooks?: WebhooksConfig | undefined
  /** The instance name messages carry (`CustomerName`); default `SANDBOX`. */
  readonly customerName?: string | undefined
}

/**
 * One webhook, with the fields `GET /GraphV1/Webhook` documents (`Code`, `Nom`, `Url`,
 * `Configuration` as JSON text `{ "Entites": [...] }` or `Entites` as a list of legacy entity
 * names, `AuthType` 0 (none) or 2 (OAuth client credentials), `AuthClientId`,
 * `AuthTokenEndpoint`), plus `AuthClientSecret` (never listed) and `TriggerName` (the name
 * messages carry; default `Nom`). `Actif` defaults to true.
 *
 * @since 0.1.0
 */
export interface WebhookConfig {
  readonly Id?: number | undefined
  readonly Code: string
  readonly Nom: string
  readonly Actif?: boolean | undefined
  readonly Url: string
  readonly Configuration?: string | undefined
  readonly Entites?: ReadonlyArray<string> | undefined
  readonly AuthType?: 0 | 2 | undefined
  readonly AuthClientId?: string | undefined
  readonly AuthClientSecret?: string | Redacted.Redacted<string> | undefined
  readonly AuthTokenEndpoint?: string | undefined
  readonly TriggerName?: string | undefined
}

/**
 * The sandbox's webhook configuration: the webhooks, and optionally the instance name
 * (`customerName`) and how deliveries are retried (`retry`: `maxAttempts` 8, `initialDelayMs`
 * 1000, doubling up to `maxDelayMs` 60000, `timeoutMs` 10000 per request). A bare list of
 * webhooks is accepted too. The JSON of the `webhooks` setting's file and of
 * `PUT /__sandbox/webhooks` has the same shape.
 *
 * @since 0.1.0
 */
export type WebhooksConfig =
  | {
    readonly customerName?: string | undefined
    readonly retry?: {
      readonly maxAttempts?: number | undefined
      readonly initialDelayMs?: number | undefined
      readonly maxDelayMs?: number | undefined
      readonly timeoutMs?: number | undefined
    } | undefined
    readonly webhooks: ReadonlyArray<WebhookConfig>
  }
  | ReadonlyArray<WebhookConfig>

/**
 * A message the sandbox sent or is sending to a webhook, and what became of it.
 *
 * @since 0.1.0
 */
export interface WebhookDelivery {
  /** The webhook's `Code`. */
  readonly webhook: string
  readonly message: Webhook.Message
  readonly attempts: number
  readonly outcome: "pending" | "delivered" | "failed"
  readonly lastError?: string | undefined
}

/**
 * The sandbox's webhooks, while it runs.
 *
 * @since 0.1.0
 */
export interface WebhooksService {
  /** Replace the configuration (pending deliveries of the previous one are given up). */
  readonly configure: (config: WebhooksConfig) => Effect.Effect<void, WebhookConfigError>
  /** The webhooks as `GET /GraphV1/Webhook` lists them. */
  readonly list: Effect.Effect<ReadonlyArray<Record<string, unknown>>>
  /** The last 1,000 messages and their outcome, oldest first. */
  readonly deliveries: Effect.Effect<ReadonlyArray<WebhookDelivery>>
}

/**
 * Whether the sandbox serves DELETE (`"allowed"`) or answers 405 (`"refused"`).
 *
 * @since 0.1.0
 */
export type DeleteMode = Handler.DeleteMode

/**
 * A document filed under a convention. The sandbox does not simulate the file API; documents
 * exist so that "moving a convention back to SAISIE deletes its documents" is observable.
 *
 * @since 0.1.0
 */
export interface ConventionDocument {
  readonly Id: number
  readonly ConventionId: number
  readonly Nom: string
}

/**
 * The whole store, as `GET /__sandbox/state` returns it: every collection (hidden fields
 * included), the documents, the modes contractuels and the counters.
 *
 * @since 0.1.0
 */
export interface State {
  readonly counters: {
    readonly nextId: number
    readonly convention: number
    readonly apprenant: number
    readonly enseignant: number
  }
  readonly collections: Readonly<Record<string, ReadonlyArray<Readonly<Record<string, unknown>> & { readonly Id: number }>>>
  readonly documents: ReadonlyArray<ConventionDocument>
  readonly modesContractuels: ReadonlyArray<{ readonly Id: number; readonly Code: string; readonly Nom: string; readonly Ordre: number }>
}

/**
 * The instance name webhook messages carry by default (`CustomerName`).
 *
 * @since 0.1.0
 */
export const defaultCustomerName = "SANDBOX"

/**
 * A running sandbox.
 *
 * @since 0.1.0
 */
export interface Service {
  /** Server origin, e.g. `http://127.0.0.1:53124`. */
  readonly url: string
  /** The API root to configure a client with: `${url}/GraphV1`. */
  readonly apiUrl: string
  readonly port: number
  readonly credentials: Credentials
  readonly pageSize: number
  /** This sandbox's fault rules (also at `/__sandbox/faults`). */
  readonly faults: Faults.Service
  /** This sandbox's request log (also at `/__sandbox/requests`). */
  readonly requests: RequestLog.Service
  /** A snapshot of the whole store. */
  readonly state: Effect.Effect<State>
  /** Back to the seeded data (faults and request log are left alone). */
  readonly reset: Effect.Effect<void>
  /** Files a document under a convention; `undefined` when the convention does not exist. */
  readonly addDocument: (conventionId: number, nom: string) => Effect.Effect<ConventionDocument | undefined>
  /** Whether DELETE is served or refused (also `GET /__sandbox/deletes`). */
  readonly deletes: Effect.Effect<DeleteMode>
  /** Serve or refuse DELETE from now on (also `PUT /__sandbox/deletes` with `{"deletes": "refused"}`). */
  readonly setDeletes: (mode: DeleteMode) => Effect.Effect<void>
  /** The webhooks (also `GET|PUT /__sandbox/webhooks`, `GET /GraphV1/Webhook`). */
  readonly webhooks: WebhooksService
}

/**
 * The running sandbox, for code that starts it as a layer (`relais run --sandbox`, tests).
 *
 * @since 0.1.0
 */
export class AimairaSandbox extends Context.Tag("@relais/aimaira/sandbox/AimairaSandbox")<AimairaSandbox, Service>() {}

const faultResponse = (rule: Faults.FaultRule, status: number): HttpServerResponse.HttpServerResponse =>
  Handler.errorResponse({
    status,
    code: status === 429 ? "TooManyRequests" : status === 503 ? "ServiceUnavailable" : "ServerError",
    message: `${status === 429 ? "Too many requests" : "The service is unavailable"} (sandbox fault ${rule.id ?? "?"}).`
  })

const seedOf = (options: Options) => () =>
  Seed.seed({ seed: options.seed ?? 1, ...(options.learners === undefined ? {} : { learners: options.learners }) })

/**
 * Starts a sandbox for the lifetime of the scope.
 *
 * @since 0.1.0
 */
export const make = (
  options: Options = {}
): Effect.Effect<
  Service,
  SandboxServer.ServerStartError | Faults.FaultSyntaxError | StateFile.StateFileError | WebhookConfigError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const fresh = seedOf(options)
    const stateFile = options.stateFile
    const kept = stateFile === undefined ? Option.none() : yield* StateFile.read(stateFile, "aimaira")
    const store: Store.Store = Option.isNone(kept) ? fresh() : new Store.Store(
      yield* Either.match(Store.restore(kept.value), {
        onLeft: (reason) => Effect.fail(new StateFile.StateFileError({ file: stateFile!, operation: "read", reason })),
        onRight: Effect.succeed
      })
    )
    // A state that cannot be saved would make a resumed run believe in writes that are lost: a
    // failure to save is a defect of the request (a 500), never a silent success.
    const save = stateFile === undefined
      ? Effect.void
      : Effect.suspend(() => StateFile.write(stateFile, "aimaira", Store.persisted(store))).pipe(
        Effect.tapError((error) => options.onSaveFailure?.(error) ?? Effect.void),
        Effect.orDie
      )
    // The first write is part of starting: a full or read-only disk is a typed StateFileError then.
    if (Option.isNone(kept) && stateFile !== undefined) yield* StateFile.write(stateFile, "aimaira", Store.persisted(store))
    // From now on, what the API writes has dates (Object/{id}) and goes to the webhooks.
    store.tracking = { now: () => parisFormat(Temporal.Instant.fromEpochMilliseconds(Date.now()).toZonedDateTimeISO(timeZone)) }
    const webhookConfig = yield* Either.mapLeft(Webhooks.readConfig(options.webhooks ?? []), (reason) => new WebhookConfigError({ reason }))
    const hooks = yield* Webhooks.make({
      customerName: options.customerName ?? defaultCustomerName,
      retry: Webhooks.defaultRetry,
      config: webhookConfig
    })
    const webhooks: WebhooksService = {
      configure: (config) =>
        Effect.flatMap(
          Either.mapLeft(Webhooks.readConfig(config), (reason) => new WebhookConfigError({ reason })),
          hooks.configure
        ),
      list: Effect.sync(() => hooks.webhooks().map(Webhooks.view)),
      deliveries: Effect.sync(() => hooks.deliveries())
    }
    const credentials: Credentials = { ...defaultCredentials, ...options.credentials }
    const pageSize = Math.max(1, options.pageSize ?? 100)
    const initialFaults = typeof options.faults === "string"
      ? yield* Either.match(Faults.parse(options.faults), { onLeft: Effect.fail, onRight: Effect.succeed })
      : options.faults ?? []

    let deleteMode: DeleteMode = options.deletes ?? "allowed"
    const deletes = Effect.sync(() => deleteMode)
    const setDeletes = (mode: DeleteMode) =>
      Effect.sync(() => {
        deleteMode = mode
      })
    const state = Effect.sync((): State => store.snapshot())
    const reset = Effect.sync(() => {
      store.data = fresh().data
    }).pipe(Effect.zipRight(save))
    const addDocument = (conventionId: number, nom: string) =>
      Effect.sync(() => {
        const result = Ops.addDocument(store, conventionId, nom)
        return result.ok ? result.value : undefined
      }).pipe(Effect.tap(save))

    const admin = HttpRouter.empty.pipe(
      HttpRouter.get("/__sandbox/deletes", Effect.map(deletes, (mode) => HttpServerResponse.unsafeJson({ deletes: mode }))),
      HttpRouter.put(
        "/__sandbox/deletes",
        Effect.gen(function*() {
          const request = yield* HttpServerRequest.HttpServerRequest
          const body = yield* Effect.orElseSucceed(request.json, () => undefined)
          const mode = (body as { deletes?: unknown } | undefined)?.deletes
          if (mode !== "allowed" && mode !== "refused") {
            return Handler.errorResponse(Ops.badRequest(`Expected {"deletes": "allowed"} or {"deletes": "refused"}.`, "deletes"))
          }
          yield* setDeletes(mode)
          return HttpServerResponse.unsafeJson({ deletes: mode })
        })
      ),
      HttpRouter.get("/__sandbox/state", Effect.map(state, (snapshot) => HttpServerResponse.unsafeJson(snapshot))),
      HttpRouter.get(
        "/__sandbox/webhooks",
        Effect.sync(() =>
          HttpServerResponse.unsafeJson({
            customerName: hooks.customerName(),
            retry: hooks.retry(),
            webhooks: hooks.webhooks().map(Webhooks.view),
            deliveries: hooks.deliveries()
          })
        )
      ),
      HttpRouter.put(
        "/__sandbox/webhooks",
        Effect.gen(function*() {
          const request = yield* HttpServerRequest.HttpServerRequest
          const body = yield* Effect.orElseSucceed(request.json, () => undefined)
          const config = Webhooks.readConfig(body)
          if (Either.isLeft(config)) {
            return Handler.errorResponse(Ops.badRequest(`Invalid webhook configuration: ${config.left}`))
          }
          yield* hooks.configure(config.right)
          return HttpServerResponse.unsafeJson({ customerName: hooks.customerName(), webhooks: hooks.webhooks().map(Webhooks.view) })
        })
      ),
      HttpRouter.post("/__sandbox/reset", Effect.as(reset, HttpServerResponse.unsafeJson({ reset: true }))),
      HttpRouter.post(
        "/__sandbox/documents",
        Effect.gen(function*() {
          const request = yield* HttpServerRequest.HttpServerRequest
          const body = yield* Effect.orElseSucceed(request.json, () => undefined)
          const { ConventionId, Nom } = (body ?? {}) as { ConventionId?: unknown; Nom?: unknown }
          if (typeof ConventionId !== "number" || typeof Nom !== "string") {
            return Handler.errorResponse(Ops.badRequest(`Expected {"ConventionId": <id>, "Nom": "<file name>"}.`))
          }
          const result = yield* Effect.sync(() => Ops.addDocument(store, ConventionId, Nom)).pipe(Effect.tap(save))
          return result.ok ? HttpServerResponse.unsafeJson(result.value, { status: 201 }) : Handler.errorResponse(result.error)
        })
      )
    )

    const server = yield* SandboxServer.make({
      app: Handler.makeApp({
        store,
        pageSize,
        credentials,
        deletes: () => deleteMode,
        webhooks: () => hooks.webhooks().map(Webhooks.view),
        onChanges: (changes) => hooks.notify(changes, Date.now()),
        legacyName: Webhooks.legacyNameOf
      }),
      admin,
      port: options.port ?? 0,
      faults: initialFaults,
      faultResponse,
      onWrite: save
    })
    return {
      url: server.url,
      apiUrl: `${server.url}/GraphV1`,
      port: server.port,
      credentials,
      pageSize,
      faults: server.faults,
      requests: server.requests,
      state,
      reset,
      addDocument,
      deletes,
      setDeletes,
      webhooks
    }
  })

/**
 * The sandbox as a layer: started when the layer is built, stopped when it is released.
 *
 * @since 0.1.0
 */
export const layer = (
  options: Options = {}
): Layer.Layer<AimairaSandbox, SandboxServer.ServerStartError | Faults.FaultSyntaxError | StateFile.StateFileError | WebhookConfigError> =>
  Layer.scoped(AimairaSandbox, make(options))

const deleteModes: ReadonlyArray<DeleteMode> = ["allowed", "refused"]

/**
 * Reads the `deletes` setting from text: `allowed` or `refused`.
 *
 * @since 0.1.0
 */
export const parseDeletes = (text: string): Either.Either<DeleteMode, string> => {
  const value = text.trim().toLowerCase()
  return deleteModes.includes(value as DeleteMode)
    ? Either.right(value as DeleteMode)
    : Either.left(`deletes ${JSON.stringify(text)} is not one of allowed, refused`)
}

/**
 * The sandbox as `@relais/core`'s plugin contract describes it (what `AimairaPlugin`'s
 * `sandbox()` loads): started on a loopback port with a seed, fault rules, a state file and the
 * `deletes` setting; the configuration it answers points the plugin at its API root, with its
 * Basic credentials.
 *
 * @since 0.1.0
 */
export const pluginSandbox: Plugin.Sandbox<AimairaConfig.Options> = {
  description: "an AIMAIRA GraphV1 OData API simulator (seeded learners, conventions, OPCOs...) on 127.0.0.1",
  faultExample: "POST /GraphV1/Convention 503 x2",
  settings: [
    {
      name: "deletes",
      description: "whether DELETE is served, or refused with 405 as an AIMAIRA instance may (to try compensations " +
        "against a refusal)",
      values: "allowed, refused",
      default: "allowed",
      parse: parseDeletes
    },
    {
      name: "webhooks",
      description: "a JSON file of webhooks configured like AIMAIRA's ({ \"webhooks\": [{ \"Code\", \"Nom\", \"Url\", " +
        "\"Entites\": [legacy names], \"AuthType\": 2, \"AuthClientId\", \"AuthClientSecret\", \"AuthTokenEndpoint\" }] }, " +
        "see the package README); the sandbox POSTs a message to each for every change made through its API",
      values: "none, or the path of a JSON file",
      default: "none",
      parse: (text) => Either.right(text.trim() === "" ? "none" : text.trim())
    },
    {
      name: "customer-name",
      description: "the AIMAIRA instance name the webhook messages carry (CustomerName)",
      values: "a name",
      default: defaultCustomerName,
      parse: (text) => text.trim() === "" ? Either.left("customer-name is empty") : Either.right(text.trim())
    }
  ],
  start: (options) =>
    Effect.gen(function*() {
      const deletes = yield* Either.mapLeft(
        parseDeletes(options.settings.deletes ?? "allowed"),
        (reason) => new SandboxSettingError({ reason })
      )
      const file = options.settings.webhooks ?? "none"
      const webhooks = file === "none" ? undefined : yield* readWebhooksFile(file)
      const sandbox = yield* make({
        port: options.port,
        seed: options.seed,
        ...(options.faults.length === 0 ? {} : { faults: options.faults.join("\n") }),
        deletes,
        stateFile: options.stateFile,
        onSaveFailure: options.onSaveFailure,
        webhooks: webhooks as WebhooksConfig | undefined,
        customerName: options.settings["customer-name"]
      })
      const hooks = yield* sandbox.webhooks.list
      const summary = [
        ...(deletes === "allowed" ? [] : [`deletes: ${deletes}`]),
        ...(hooks.length === 0 ? [] : [`webhooks: ${hooks.map((hook) => `${String(hook.Code)} -> ${String(hook.Url)}`).join(", ")}`])
      ]
      return {
        url: sandbox.url,
        config: { url: sandbox.apiUrl, auth: AimairaConfig.basic(sandbox.credentials.username, sandbox.credentials.password) },
        ...(summary.length === 0 ? {} : { summary: summary.join("; ") })
      }
    })
}

const readWebhooksFile = (file: string) =>
  Effect.tryPromise({
    try: () => NodeFs.readFile(file, "utf8"),
    catch: (error) =>
      new WebhookConfigError({ reason: `cannot read the webhooks file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` })
  }).pipe(
    Effect.flatMap((text) =>
      Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: (error) => new WebhookConfigError({ reason: `the webhooks file ${file} is not JSON: ${(error as Error).message}` })
      })
    ),
    Effect.flatMap((json) =>
      Either.match(Webhooks.readConfig(json), {
        onLeft: (reason) => Effect.fail(new WebhookConfigError({ reason: `${file}: ${reason}` })),
        onRight: () => Effect.succeed(json)
      })
    )
  )

/**
 * A webhook configuration the sandbox cannot use (what is wrong, never a secret).
 *
 * @since 0.1.0
 */
export class WebhookConfigError extends Schema.TaggedError<WebhookConfigError>()("WebhookConfigError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `Invalid AIMAIRA sandbox webhook configuration: ${this.reason}`
  }
}

/**
 * A setting the sandbox does not know the value of.
 *
 * @since 0.1.0
 */
export class SandboxSettingError extends Schema.TaggedError<SandboxSettingError>()("SandboxSettingError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `Invalid AIMAIRA sandbox setting: ${this.reason}`
  }
}
