/**
 * `aimaira/get-object` against the sandbox, through the core engine: created, modified and
 * deleted entities, a seeded one, an unknown id (NotFound, not retried), the input's checks,
 * and the change derived from the metadata alone.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Step, Workflow } from "@relais/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { Entities, ObjectSteps } from "../src/index.js"
import { call } from "./support.js"
import { journaled, ofTag, runFlow, stepsLayer, table } from "./stepSupport.js"

const getObject = (id: number) => runFlow(Workflow.step(ObjectSteps.getObject, { id }))

const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}$/

layer(stepsLayer(), { excludeTestServices: true })("ObjectSteps", (it) => {
  describe("get-object", () => {
    it.effect("tells created, then modified, then deleted", () =>
      Effect.gen(function*() {
        const created = yield* call("POST", "/Mail", { body: { Adresse: "object@example.fr" } })
        const id = created.json.Id as number
        const first = yield* getObject(id)
        expect(first.record.status).toBe("succeeded")
        const fresh = journaled(first.events, "aimaira/get-object")
        expect(fresh).toMatchObject({ id, type: "core.T_MAIL", deletedAt: null, active: true, change: "created" })
        expect(fresh.createdAt).toMatch(DATE)
        expect(fresh.modifiedAt).toBe(fresh.createdAt)

        yield* Effect.sleep("5 millis") // a modification in the same millisecond would read as the creation
        yield* call("PUT", `/Mail(${id})`, { body: { Adresse: "object2@example.fr" } })
        const modified = journaled((yield* getObject(id)).events, "aimaira/get-object")
        expect(modified).toMatchObject({ id, change: "modified", active: true, createdAt: fresh.createdAt })
        expect(modified.modifiedAt).not.toBe(fresh.createdAt)

        yield* call("DELETE", `/Mail(${id})`)
        const deleted = journaled((yield* getObject(id)).events, "aimaira/get-object")
        expect(deleted).toMatchObject({ id, change: "deleted", active: false, createdAt: fresh.createdAt })
        expect(deleted.deletedAt).toMatch(DATE)
      }))

    it.effect("reads a seeded entity (never modified: created)", () =>
      Effect.gen(function*() {
        const [entreprise] = yield* table("Entreprise")
        const run = yield* getObject(entreprise!.Id)
        expect(journaled(run.events, "aimaira/get-object")).toEqual({
          id: entreprise!.Id,
          type: "entreprise.T_ENTREPRISE",
          createdAt: "2024-01-08T09:00:00+01:00",
          modifiedAt: "2024-01-08T09:00:00+01:00",
          deletedAt: null,
          active: true,
          change: "created"
        })
      }))

    it.effect("fails with NotFound for an unknown id, without retrying", () =>
      Effect.gen(function*() {
        const run = yield* getObject(987654321)
        expect(run.record.status).toBe("failed")
        const failures = ofTag(run.events, "StepFailed").filter((e) => e.path === "aimaira/get-object")
        expect(failures).toHaveLength(1)
        expect(JSON.stringify(failures[0])).toContain("NotFound")
        expect(ofTag(run.events, "AttemptFailed").map((e) => [e.path, e.error._tag])).toEqual([["aimaira/get-object", "NotFound"]])
      }))
  })

  describe("input and change", () => {
    it("refuses an id that is not a positive integer", () => {
      const decode = Schema.decodeUnknownEither(ObjectSteps.getObject.input)
      expect(Either.isRight(decode({ id: 74 }))).toBe(true)
      expect(Either.isLeft(decode({ id: 0 }))).toBe(true)
      expect(Either.isLeft(decode({ id: "74" }))).toBe(true)
      expect(Either.isLeft(decode({}))).toBe(true)
      expect(Step.jsonSchemas(ObjectSteps.getObject).output).toMatchObject({ type: "object" })
    })

    it("derives the change from the documentation's example and its variants", () => {
      const decode = Schema.decodeUnknownSync(Entities.wire(Entities.ObjectMetadata))
      const example = {
        Id: 74,
        Nom: "",
        Code: "",
        DateCreation: "2018-02-01T16:15:12.053+01:00",
        DateModification: "2023-01-23T16:18:41.117+01:00",
        DateSuppression: null,
        Actif: true,
        Type: "myapp.TS_ENTITE_JURIDIQUE"
      }
      expect(ObjectSteps.changeOf(decode(example))).toBe("modified")
      expect(ObjectSteps.changeOf(decode({ ...example, DateModification: null }))).toBe("created")
      expect(ObjectSteps.changeOf(decode({ ...example, DateModification: "2018-02-01T15:15:12.053Z" }))).toBe("created")
      expect(ObjectSteps.changeOf(decode({ ...example, DateSuppression: "2023-02-01T10:00:00+01:00", Actif: false }))).toBe("deleted")
      expect(ObjectSteps.changeOf(decode({ ...example, Actif: false }))).toBe("deleted")
    })
  })
})
