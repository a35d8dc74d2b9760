/**
 * The typed Campus Skills sync API client.
 *
 * One method per route, each an `Effect` with no requirements that fails with the package's
 * `CampusSkillsError` union. The client never retries: retries come from the workflow step's
 * policy, which reads `status` and `retryAfterMillis` on the errors.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Stream from "effect/Stream"
import type * as CampusSkillsConfig from "./CampusSkillsConfig.js"
import type * as Contract from "./Contract.js"
import type * as Errors from "./Errors.js"
import * as internal from "./internal/client.js"

/**
 * The client's methods.
 *
 * @since 0.1.0
 */
export interface Service {
  /**
   * The configuration says the target is a Campus Skills sandbox (`sandbox: true`, which the
   * plugin's own sandbox sets): `campus-skills/reset-sync` may delete every contract.
   */
  readonly sandbox: boolean
  /** `GET /api/sync/v1/test`: checks the token, answers the school's name. */
  readonly test: Effect.Effect<Contract.TestResponse, Errors.CampusSkillsError>
  /**
   * `POST /api/sync/v1/contrats`: the full list of active contracts. Contracts left out are
   * archived. Prefer {@link Service.diff} first.
   */
  readonly syncV1: (
    contrats: ReadonlyArray<Contract.Contract>
  ) => Effect.Effect<Contract.SyncV1Response, Errors.CampusSkillsError>
  /**
   * `POST /api/sync/v2/contrats`: the full list; answers the valid and the invalid contracts.
   * Contracts left out are archived.
   */
  readonly syncV2: (
    contrats: ReadonlyArray<Contract.Contract>
  ) => Effect.Effect<Contract.SyncV2Response, Errors.CampusSkillsError>
  /** `POST /api/sync/v2/contrats/changes`: only what changed, merged into what the service holds. */
  readonly syncChanges: (changes: Contract.Changes) => Effect.Effect<Contract.SyncV2Response, Errors.CampusSkillsError>
  /** `POST /api/sync/v1/contrats-diff`: what a full sync would do; changes nothing. */
  readonly diff: (
    contrats: ReadonlyArray<Contract.Contract>
  ) => Effect.Effect<Contract.DiffResponse, Errors.CampusSkillsError>
  /** `GET /api/sync/v1/contrats`: one page of the integrated contracts. */
  readonly listIntegrated: (query?: Contract.PageQuery) => Effect.Effect<Contract.ContractPage, Errors.CampusSkillsError>
  /** `GET /api/sync/v1/contrats-get-all`: one page of the transmitted contracts. */
  readonly listTransmitted: (
    query?: Contract.PageQuery
  ) => Effect.Effect<Contract.ContractPage, Errors.CampusSkillsError>
  /** Every integrated contract, page by page (100 per page by default). */
  readonly integrated: (
    options?: { readonly pageSize?: number | undefined }
  ) => Stream.Stream<Contract.TransmittedContract, Errors.CampusSkillsError>
  /** Every transmitted contract, page by page (100 per page by default). */
  readonly transmitted: (
    options?: { readonly pageSize?: number | undefined }
  ) => Stream.Stream<Contract.TransmittedContract, Errors.CampusSkillsError>
  /**
   * `DELETE /api/sync/v1/contrats`: "supprimer tous les contrats", documented for the sandbox
   * only: every contract goes, transmitted and integrated; contracts sent afterwards count as new.
   */
  readonly resetSync: Effect.Effect<void, Errors.CampusSkillsError>
}

/**
 * The client service.
 *
 * @since 0.1.0
 */
export class CampusSkillsClient extends Context.Tag("@relais/campus-skills/CampusSkillsClient")<
  CampusSkillsClient,
  Service
>() {}

/**
 * Builds a client on the `HttpClient` in context. Fails when the options do not pass the
 * checks of `CampusSkillsConfig.Options` (a URL that is not HTTPS outside loopback hosts, an
 * empty token...).
 *
 * @since 0.1.0
 */
export const make: (
  options: CampusSkillsConfig.Options
) => Effect.Effect<Service, Errors.InvalidConfiguration, HttpClient.HttpClient> = internal.make

/**
 * The client from options. `CampusSkillsPlugin.layer` also registers the token with the
 * `Redactor`: hosts use that one.
 *
 * @since 0.1.0
 */
export const layer = (
  options: CampusSkillsConfig.Options
): Layer.Layer<CampusSkillsClient, Errors.InvalidConfiguration, HttpClient.HttpClient> =>
  Layer.effect(CampusSkillsClient, make(options))
