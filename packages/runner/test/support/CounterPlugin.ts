/**
 * A plugin written the way an outside team would, for the runner's tests of the plugin
 * contract: a configuration section (URL, token as `Redacted`), a services layer (its client,
 * over the host's `HttpClient`), an endpoint, a label, and a lazily loaded sandbox (a real HTTP
 * server on a loopback port, from the sandbox kit) with a setting, faults and a state file. The
 * runner knows nothing of it but the contract.
 *
 * Its one step, `counter/bump`, adds the sandbox's `step` setting to a named counter and returns
 * the new value: a run shows which setting its sandbox had, and whether its data was restored.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Plugin, RetryPolicy, Step } from "@relais/core"
import { Faults, SandboxServer, StateFile } from "@relais/sandbox-kit"
import { Context, Effect, Either, Layer, Option, Redacted, Ref, Schema } from "effect"

/** The token the sandbox accepts: it only opens this local simulator. */
export const sandboxToken = "counter-sandbox-token-5f1c"

export const Config = Schema.Struct({
  url: Schema.String.annotations({ description: "The counter service" }),
  token: Schema.Redacted(Schema.String)
})
export type Config = typeof Config.Type

export class CounterError extends Schema.TaggedError<CounterError>()("CounterError", {
  status: Schema.optional(Schema.Number),
  message: Schema.String
}) {}

export class CounterClient extends Context.Tag("test/CounterClient")<
  CounterClient,
  { readonly bump: (name: string) => Effect.Effect<number, CounterError> }
>() {}

/** The client from a configuration; an empty URL is a setup error that says so. */
export const layer = (config: Config) =>
  Layer.effect(
    CounterClient,
    Effect.gen(function*() {
      if (!/^https?:\/\//.test(config.url)) return yield* new CounterError({ message: `url ${JSON.stringify(config.url)} is not an http(s) URL` })
      const client = (yield* HttpClient.HttpClient).pipe(
        HttpClient.mapRequest(HttpClientRequest.prependUrl(config.url)),
        HttpClient.mapRequest(HttpClientRequest.bearerToken(Redacted.value(config.token))),
        HttpClient.filterStatusOk
      )
      return {
        bump: (name: string) =>
          client.post(`/counters/${encodeURIComponent(name)}`).pipe(
            Effect.flatMap(HttpClientResponse.schemaBodyJson(Schema.Struct({ value: Schema.Number }))),
            Effect.map((body) => body.value),
            Effect.scoped,
            Effect.mapError((error) =>
              new CounterError({
                ...(error._tag === "ResponseError" ? { status: error.response.status } : {}),
                message: error.message
              })
            )
          )
      }
    })
  )

const bump = Step.make({
  name: "counter/bump",
  description: "add the service's step to a named counter",
  input: Schema.Struct({ name: Schema.String }),
  output: Schema.Struct({ value: Schema.Number }),
  retry: RetryPolicy.constant({ maxAttempts: 1, initialDelay: 1 }),
  run: ({ name }) => Effect.flatMap(CounterClient, (client) => Effect.map(client.bump(name), (value) => ({ value })))
})

/** The counters, kept in a state file between executions. */
const State = Schema.Record({ key: Schema.String, value: Schema.Number })

const stepSetting: Plugin.SandboxSetting = {
  name: "step",
  description: "how much each bump adds",
  values: "a positive integer",
  default: "1",
  parse: (text) =>
    /^\s*\d+\s*$/.test(text) && Number(text) > 0 ? Either.right(String(Number(text))) : Either.left(`step "${text}" is not a positive integer`)
}

export const sandbox: Plugin.Sandbox<Config> = {
  description: "a counter service on 127.0.0.1",
  faultExample: "POST /counters/a 503 x1",
  settings: [stepSetting],
  start: (options) =>
    Effect.gen(function*() {
      const step = Number(Either.getOrThrow(stepSetting.parse(options.settings.step ?? stepSetting.default)))
      const kept = options.stateFile === undefined ? Option.none() : yield* StateFile.read(options.stateFile, "counter")
      const counters = yield* Ref.make<Record<string, number>>(Option.isSome(kept) ? Schema.decodeUnknownSync(State)(kept.value) : {})
      const save = options.stateFile === undefined
        ? Effect.void
        : Effect.flatMap(Ref.get(counters), (state) => StateFile.write(options.stateFile!, "counter", state)).pipe(
          Effect.catchAll((error) => options.onSaveFailure?.(error) ?? Effect.void)
        )
      yield* save
      const app = HttpRouter.empty.pipe(
        HttpRouter.post(
          "/counters/:name",
          Effect.gen(function*() {
            const request = yield* HttpServerRequest.HttpServerRequest
            if (request.headers.authorization !== `Bearer ${sandboxToken}`) {
              return HttpServerResponse.unsafeJson({ error: "unauthorized" }, { status: 401 })
            }
            const { name } = yield* HttpRouter.schemaPathParams(Schema.Struct({ name: Schema.String }))
            const value = yield* Ref.modify(counters, (all) => {
              const next = (all[name] ?? 0) + step
              return [next, { ...all, [name]: next }]
            })
            return HttpServerResponse.unsafeJson({ value })
          }).pipe(Effect.orDie)
        )
      )
      const rules = options.faults.length === 0 ? [] : Either.getOrThrow(Faults.parse(options.faults.join("\n")))
      const server = yield* SandboxServer.make({ app, port: options.port ?? 0, faults: rules, onWrite: save })
      return {
        url: server.url,
        config: { url: server.url, token: Redacted.make(sandboxToken) },
        ...(step !== 1 ? { summary: `step: ${step}` } : {})
      }
    })
}

export const make = (options: { readonly withSandbox?: boolean } = {}): Plugin.Plugin<Config> =>
  Plugin.make({
    name: "counter",
    label: "Counter service",
    description: "a counter service, for the runner's tests of the plugin contract",
    steps: [bump],
    config: Config,
    layer,
    endpoint: (config) => config.url,
    ...(options.withSandbox === false ? {} : { sandbox: () => Promise.resolve(sandbox) })
  })
