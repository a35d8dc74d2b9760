/**
 * What the tests share: a client on a real sandbox, the engine in memory with the plugin's
 * layer, and waits on the sandbox's request log (never on timers).
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type { RunStore } from "@relais/core"
import { Engine, Redactor } from "@relais/core"
import type { RequestLog } from "@relais/core/SandboxKit"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Client from "../src/Client.js"
import type * as EsignConfig from "../src/EsignConfig.js"

/** A client on the real HTTP client, whose connections live as long as the test's scope. */
export const clientOf = (config: EsignConfig.EsignConfig) =>
  Effect.flatMap(Layer.build(NodeHttpClient.layerUndici), (context) => Effect.provide(Client.make(config), context))

/**
 * The engine in memory, the plugin's client layer on the real HTTP client, and the redactor:
 * what relais' host builds for a run.
 */
export const engineLayer = (config: EsignConfig.EsignConfig): Layer.Layer<
  Engine.Engine | RunStore.RunStore | Client.EsignClient | Redactor.Redactor,
  unknown
> =>
  Layer.mergeAll(Engine.layerMemory(), Client.layer(config)).pipe(
    Layer.provideMerge(Layer.mergeAll(Redactor.layer, NodeHttpClient.layerUndici))
  )

/** Waits until the sandbox has seen `count` requests matching the filter (polling its log). */
export const waitForRequests = (requests: RequestLog.Service, filter: RequestLog.Filter, count = 1) =>
  requests.count(filter).pipe(
    Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (n) => n >= count })
  )

export interface SignerRequest {
  readonly name: string
  readonly email: string
  readonly role: string
}

export const learner: SignerRequest = { name: "Tom Le Gall", email: "tom.legall@etudiant-exemple.fr", role: "learner" }
export const company: SignerRequest = { name: "Paul Martin", email: "paul.martin@boulangerie-martin.fr", role: "company" }
export const school: SignerRequest = { name: "Direction des études", email: "direction.etudes@cfa-exemple.fr", role: "school" }

export const envelopeRequest = {
  title: "Convention d'apprentissage Tom Le Gall",
  document: { reference: "CS00000006", name: "convention-CS00000006.pdf" },
  signers: [learner, company, school]
}
