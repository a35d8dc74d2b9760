/**
 * What happened to an entity: `aimaira/get-object` reads `GET /GraphV1/Object/{id}`, the
 * metadata AIMAIRA keeps of every entity whatever its type. A webhook message says only that
 * an entity of some type changed (`ObjectId`, `ObjectType`); this step tells whether it was
 * created, modified or deleted:
 *
 * ```yaml
 * triggers:
 *   - aimaira: { objectTypes: [recrutement.T_CANDIDAT] }
 * steps:
 *   - id: object
 *     uses: aimaira/get-object
 *     with: { id: "${{ trigger.ObjectId ?? 0 }}" }   # null when the run was started by hand
 *   - id: welcome
 *     if: ${{ steps.object.output.change == 'created' }}
 *     ...
 * ```
 *
 * @since 0.1.0
 */
import { Step } from "@relais/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Temporal } from "temporal-polyfill"
import { AimairaClient } from "./AimairaClient.js"
import * as Entities from "./Entities.js"
import { readPolicy, RequiredId } from "./internal/steps.js"
import { ParisDateTime } from "./ParisDate.js"

/**
 * The input of `aimaira/get-object`: the entity's id (a webhook message's `ObjectId`).
 *
 * @since 0.1.0
 */
export const GetObjectInput = Schema.Struct({
  id: RequiredId(Schema.Int).annotations({ description: "the entity's id, e.g. ${{ trigger.ObjectId }}" })
})

/**
 * @since 0.1.0
 */
export type GetObjectInput = typeof GetObjectInput.Type

/**
 * What changed last: `deleted` when the entity is deleted (`DateSuppression` set, or `Actif`
 * false); `created` when it was never modified after its creation (no `DateModification`, or the
 * same instant as `DateCreation`); `modified` otherwise.
 *
 * @since 0.1.0
 */
export const Change = Schema.Literal("created", "modified", "deleted")

/**
 * @since 0.1.0
 */
export type Change = typeof Change.Type

/**
 * The output of `aimaira/get-object`. Dates are AIMAIRA's (Paris time with its offset), `null`
 * when AIMAIRA has none.
 *
 * @since 0.1.0
 */
export const ObjectInfo = Schema.Struct({
  /** `Id` */
  id: Schema.Int,
  /** `Type`: the legacy name of the entity's type, as webhook messages carry it (`recrutement.T_CANDIDAT`). */
  type: Schema.String,
  /** `DateCreation` */
  createdAt: Schema.NullOr(ParisDateTime),
  /** `DateModification`: the last modification. */
  modifiedAt: Schema.NullOr(ParisDateTime),
  /** `DateSuppression`: when it was deleted, else `null`. */
  deletedAt: Schema.NullOr(ParisDateTime),
  /** `Actif`: false once deleted. */
  active: Schema.Boolean,
  change: Change
})

/**
 * @since 0.1.0
 */
export type ObjectInfo = typeof ObjectInfo.Type

/**
 * The change an entity's metadata shows (see {@link Change}).
 *
 * @since 0.1.0
 */
export const changeOf = (object: Entities.ObjectMetadata): Change => {
  if (object.DateSuppression !== null || !object.Actif) return "deleted"
  if (object.DateModification === null || object.DateCreation === null) return "created"
  return Temporal.Instant.compare(object.DateModification.toInstant(), object.DateCreation.toInstant()) <= 0 ? "created" : "modified"
}

/**
 * Reads what AIMAIRA knows of any entity (`GET /GraphV1/Object/{id}`): its type, its dates, and
 * the change they show. It is the entity's state when the step runs, not when a webhook message
 * was sent: an entity created then modified before the step runs reads `modified`, and one
 * deleted since reads `deleted`. An unknown id fails with `NotFound` (not retried).
 *
 * @since 0.1.0
 */
export const getObject = Step.make({
  name: "aimaira/get-object",
  description: "Read an entity's metadata (GET /Object/{id}): its legacy type, creation, modification and deletion dates, " +
    "and whether it was created, modified or deleted (what a webhook message does not say)",
  input: GetObjectInput,
  output: ObjectInfo,
  retry: readPolicy,
  idempotent: true,
  run: ({ id }) =>
    Effect.flatMap(AimairaClient, (client) => client.get(Entities.ObjectMetadata, id)).pipe(
      Effect.map((object): ObjectInfo => ({
        id: object.Id,
        type: object.Type,
        createdAt: object.DateCreation,
        modifiedAt: object.DateModification,
        deletedAt: object.DateSuppression,
        active: object.Actif,
        change: changeOf(object)
      }))
    )
})

/**
 * Every step of this module.
 *
 * @since 0.1.0
 */
export const steps: ReadonlyArray<Step.Any> = [getObject]
