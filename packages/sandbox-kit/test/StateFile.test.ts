/**
 * A sandbox's state kept in a file: written whole or not at all, read back by the same sandbox
 * only, and saved by the server after each request that may change data, before its answer.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Faults, SandboxServer, StateFile } from "../src/index.js"

const tmpFile = () => Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-state-")), "nested", "aimaira.json")

describe("StateFile", () => {
  it.effect("no file yet is None; what is written is read back; the directory is created", () =>
    Effect.gen(function*() {
      const file = tmpFile()
      expect(yield* StateFile.read(file, "aimaira")).toEqual(Option.none())
      yield* StateFile.write(file, "aimaira", { rows: [{ Id: 1, Nom: "Éléonore" }] })
      expect(yield* StateFile.read(file, "aimaira")).toEqual(Option.some({ rows: [{ Id: 1, Nom: "Éléonore" }] }))
      // Written through a temporary file renamed over the old one: none is left behind.
      expect(Fs.readdirSync(Path.dirname(file))).toEqual(["aimaira.json"])
    }))

  it.effect("refuses another sandbox's file, and a damaged one, saying which file", () =>
    Effect.gen(function*() {
      const file = tmpFile()
      yield* StateFile.write(file, "campus-skills", {})
      const foreign = yield* Effect.flip(StateFile.read(file, "aimaira"))
      expect(foreign.message).toBe(
        `Could not read the sandbox state file ${file}: it holds the campus-skills sandbox's data, not aimaira's`
      )
      Fs.writeFileSync(file, "{\"format\": \"relais-sandbox-st")
      const damaged = yield* Effect.flip(StateFile.read(file, "aimaira"))
      expect(damaged.message).toContain("it is not a sandbox state file (damaged or foreign)")
    }))

  it.effect("a file that cannot be written is an error naming it", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "relais-state-"))
      const blocker = Path.join(dir, "blocker")
      Fs.writeFileSync(blocker, "a file where a directory should be")
      const error = yield* Effect.flip(StateFile.write(Path.join(blocker, "aimaira.json"), "aimaira", {}))
      expect(error.operation).toBe("write")
      expect(error.message).toContain(Path.join(blocker, "aimaira.json"))
    }))
})

describe("SandboxServer onWrite", () => {
  it.scopedLive("runs after each request that may change data, before the answer, also when the answer is dropped", () =>
    Effect.gen(function*() {
      const file = tmpFile()
      let items = 0
      const app = HttpRouter.empty.pipe(
        HttpRouter.get("/items", Effect.sync(() => HttpServerResponse.unsafeJson({ items }))),
        HttpRouter.post("/items", Effect.sync(() => HttpServerResponse.unsafeJson({ items: ++items }, { status: 201 })))
      )
      const saves: Array<number> = []
      const server = yield* SandboxServer.make({
        app,
        faults: Either.getOrThrow(Faults.parse("POST /items drop-after-commit x1")),
        onWrite: Effect.flatMap(Effect.sync(() => saves.push(items)), () => StateFile.write(file, "test", { items })).pipe(
          Effect.orDie
        )
      })
      const client = (yield* HttpClient.HttpClient).pipe(HttpClient.mapRequest(HttpClientRequest.prependUrl(server.url)))
      // The first POST commits, then its connection is dropped: the state was saved anyway.
      const dropped = yield* Effect.either(client.post("/items"))
      expect(Either.isLeft(dropped)).toBe(true)
      expect(saves).toEqual([1])
      const response = yield* client.post("/items")
      expect(yield* response.json).toEqual({ items: 2 })
      // Saved before the answer left: the file holds the write the client just saw.
      expect(yield* StateFile.read(file, "test")).toEqual(Option.some({ items: 2 }))
      yield* client.get("/items")
      yield* client.get("/items")
      expect(saves).toEqual([1, 2])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
