/**
 * The typed client of the e-signature API (see `Api` for the routes).
 *
 * One method per route, each an `Effect` with no requirements, failing with the `EsignError`
 * union. The client never retries: the step's retry policy does, reading `status` and
 * `retryAfterMillis` on the errors. Every body is read through `@relais/core`'s `HttpBody`
 * (capped at `maxResponseBytes`) and decoded with the `Api` schemas.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function*() {
 *   const client = yield* Client.EsignClient
 *   const envelope = yield* client.createEnvelope({ title, document, signers })
 *   return (yield* client.getEnvelope(envelope.id)).status
 * }).pipe(Effect.provide(Client.layer(config)), Effect.provide(NodeHttpClient.layerUndici))
 * ```
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Redactor from "@relais/core/Redactor"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Api from "./Api.js"
import type * as Errors from "./Errors.js"
import type * as EsignConfig from "./EsignConfig.js"
import * as internal from "./internal/client.js"

/**
 * The client's methods.
 *
 * @since 0.1.0
 */
export interface Service {
  /** `POST /api/v1/envelopes`: send a document for signature; answers the envelope (`sent`). */
  readonly createEnvelope: (request: Api.CreateEnvelope) => Effect.Effect<Api.Envelope, Errors.EsignError>
  /** `GET /api/v1/envelopes/{id}`: the envelope, with each signer's status. */
  readonly getEnvelope: (id: Api.EnvelopeId) => Effect.Effect<Api.Envelope, Errors.EsignError>
  /** `GET /api/v1/envelopes`: the newest envelopes, optionally only those with an external reference. */
  readonly listEnvelopes: (
    query?: { readonly externalReference?: string | undefined; readonly limit?: number | undefined }
  ) => Effect.Effect<Api.EnvelopeList, Errors.EsignError>
  /**
   * `POST /api/v1/envelopes/{id}/cancel`: withdraw an envelope still out for signature. A
   * completed, declined or cancelled one answers `Conflict` (with its `envelopeStatus`).
   */
  readonly cancelEnvelope: (id: Api.EnvelopeId, reason?: string) => Effect.Effect<Api.Envelope, Errors.EsignError>
}

/**
 * The client service the steps need.
 *
 * @since 0.1.0
 */
export class EsignClient extends Context.Tag("@cfa-example/relais-esign/EsignClient")<EsignClient, Service>() {}

/**
 * A client on the `HttpClient` in context.
 *
 * @since 0.1.0
 */
export const make: (
  config: EsignConfig.EsignConfig
) => Effect.Effect<Service, Errors.InvalidConfiguration, HttpClient.HttpClient> = internal.make

/**
 * The client layer, with the token registered with relais' `Redactor` (the host registers
 * every `Redacted` of the configuration too; registering again is harmless, and a client built
 * in a test or a script is covered as well). This is the plugin's `layer`.
 *
 * @since 0.1.0
 */
export const layer = (
  config: EsignConfig.EsignConfig
): Layer.Layer<EsignClient, Errors.InvalidConfiguration, HttpClient.HttpClient | Redactor.Redactor> =>
  Layer.effect(EsignClient, Effect.zipRight(Redactor.register(config.token), make(config)))
