/**
 * The sandbox's data and the simulated signers: envelopes in memory, each signer with a plan
 * (sign or decline at a given time) chosen when the envelope is sent, from the `signing`
 * setting. Plans are applied lazily, whenever a request looks at the data, so the answer never
 * depends on a background timer, and the data (plans included) can be kept in a state file and
 * restored as it was.
 */
import { Names, Prng } from "@relais/core/SandboxKit"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type * as Api from "../Api.js"

/**
 * How the simulated signers behave, from the `signing` setting.
 */
export type Signing =
  | { readonly _tag: "immediate" }
  | { readonly _tag: "never" }
  | { readonly _tag: "delay"; readonly millis: number }
  | { readonly _tag: "decline"; readonly role?: string | undefined }

const Plan = Schema.Struct({ at: Schema.Number, action: Schema.Literal("sign", "decline") })

const StoredSigner = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  email: Schema.String,
  role: Schema.String,
  status: Schema.Literal("pending", "signed", "declined"),
  signedAt: Schema.optional(Schema.Number),
  declinedAt: Schema.optional(Schema.Number),
  declineReason: Schema.optional(Schema.String),
  plan: Schema.optional(Plan)
})
type StoredSigner = Schema.Schema.Type<typeof StoredSigner>

const StoredEnvelope = Schema.Struct({
  id: Schema.String,
  status: Schema.Literal("sent", "completed", "declined", "cancelled"),
  title: Schema.String,
  document: Schema.Struct({ reference: Schema.String, name: Schema.optional(Schema.String) }),
  externalReference: Schema.optional(Schema.String),
  message: Schema.optional(Schema.String),
  signers: Schema.Array(StoredSigner),
  createdAt: Schema.Number,
  updatedAt: Schema.Number,
  completedAt: Schema.optional(Schema.Number),
  cancelledAt: Schema.optional(Schema.Number),
  cancelReason: Schema.optional(Schema.String)
})
type StoredEnvelope = Schema.Schema.Type<typeof StoredEnvelope>

/** What the state file holds. */
const Persisted = Schema.Struct({
  seed: Schema.String,
  next: Schema.Int,
  envelopes: Schema.Array(StoredEnvelope)
})
type Persisted = Schema.Schema.Type<typeof Persisted>

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends ReadonlyArray<infer A> ? Array<Mutable<A>> : T[K] }
type Envelope = Mutable<StoredEnvelope>
type Signer = Mutable<StoredSigner>

const iso = (millis: number) => new Date(millis).toISOString()

const clone = <A>(value: A): A => JSON.parse(JSON.stringify(value)) as A

/** Why a signer declines in the sandbox. */
export const declineReason = "The dates of the contract are wrong (sandbox)"

/** The outcome of an operation on an envelope that may not exist or may be closed. */
export type Outcome<A> =
  | { readonly _tag: "ok"; readonly value: A }
  | { readonly _tag: "not-found" }
  | { readonly _tag: "conflict"; readonly status: Api.EnvelopeStatus; readonly reason: string }

export class Store {
  envelopes = new Map<string, Envelope>()
  next = 1

  constructor(readonly seed: string, readonly signing: Signing) {}

  private id(prefix: string, n: number, length: number): string {
    const prng = Prng.make(`${this.seed}:${prefix}:${n}`)
    const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return `${prefix}_${Array.from({ length }, () => prng.pick([...alphabet])).join("")}`
  }

  copyFrom(other: Store): void {
    this.envelopes = new Map([...other.envelopes].map(([id, envelope]) => [id, clone(envelope)]))
    this.next = other.next
  }

  /** Applies the signers' plans that are due: in signer order, until the envelope closes. */
  advance(now: number): void {
    for (const envelope of this.envelopes.values()) {
      if (envelope.status !== "sent") continue
      for (const signer of envelope.signers) {
        if (envelope.status !== "sent") break
        const plan = signer.plan
        if (signer.status !== "pending" || plan === undefined || plan.at > now) continue
        if (plan.action === "sign") this.applySign(envelope, signer, plan.at)
        else this.applyDecline(envelope, signer, plan.at, declineReason)
      }
    }
  }

  private applySign(envelope: Envelope, signer: Signer, at: number) {
    signer.status = "signed"
    signer.signedAt = at
    delete signer.plan
    envelope.updatedAt = Math.max(envelope.updatedAt, at)
    if (envelope.signers.every((s) => s.status === "signed")) {
      envelope.status = "completed"
      envelope.completedAt = Math.max(...envelope.signers.map((s) => s.signedAt ?? at))
    }
  }

  private applyDecline(envelope: Envelope, signer: Signer, at: number, reason: string | undefined) {
    signer.status = "declined"
    signer.declinedAt = at
    if (reason !== undefined) signer.declineReason = reason
    delete signer.plan
    envelope.status = "declined"
    envelope.updatedAt = Math.max(envelope.updatedAt, at)
    for (const other of envelope.signers) delete other.plan
  }

  /** Sends a new envelope (the body is already valid), planning how its signers answer. */
  create(body: Api.CreateEnvelope, now: number): Envelope {
    const n = this.next++
    const count = body.signers.length
    const signing = this.signing
    // `decline:<role>`: the first signer with that role declines; plain `decline` (or a role no
    // signer has): the last signer. The signers before them sign; the ones after never answer.
    const byRole = signing._tag === "decline" && signing.role !== undefined
      ? body.signers.findIndex((s) => s.role.toLowerCase() === signing.role!.toLowerCase())
      : -1
    const declining = signing._tag !== "decline" ? -1 : byRole === -1 ? count - 1 : byRole
    const signers = body.signers.map((s, i): Signer => {
      const plan = signing._tag === "immediate"
        ? { at: now, action: "sign" as const }
        : signing._tag === "delay"
        ? { at: now + Math.round((signing.millis * (i + 1)) / count), action: "sign" as const }
        : signing._tag === "decline"
        ? i < declining ? { at: now, action: "sign" as const } : i === declining ? { at: now, action: "decline" as const } : undefined
        : undefined
      return {
        id: this.id("sig", n * 100 + i, 6),
        name: s.name,
        email: s.email,
        role: s.role,
        status: "pending",
        ...(plan === undefined ? {} : { plan })
      }
    })
    const envelope: Envelope = {
      id: this.id("env", n, 10),
      status: "sent",
      title: body.title,
      document: { ...body.document },
      ...(body.externalReference === undefined ? {} : { externalReference: body.externalReference }),
      ...(body.message === undefined ? {} : { message: body.message }),
      signers,
      createdAt: now,
      updatedAt: now
    }
    this.envelopes.set(envelope.id, envelope)
    return envelope
  }

  get(id: string): Envelope | undefined {
    return this.envelopes.get(id)
  }

  /** Newest first. */
  list(filter: { readonly externalReference?: string | undefined }): Array<Envelope> {
    return [...this.envelopes.values()]
      .filter((e) => filter.externalReference === undefined || e.externalReference === filter.externalReference)
      .sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id))
  }

  cancel(id: string, reason: string | undefined, now: number): Outcome<Envelope> {
    const envelope = this.envelopes.get(id)
    if (envelope === undefined) return { _tag: "not-found" }
    if (envelope.status !== "sent") {
      return { _tag: "conflict", status: envelope.status, reason: `envelope ${id} is ${envelope.status}: only a sent envelope can be cancelled` }
    }
    envelope.status = "cancelled"
    envelope.cancelledAt = now
    envelope.updatedAt = now
    if (reason !== undefined) envelope.cancelReason = reason
    for (const signer of envelope.signers) delete signer.plan
    return { _tag: "ok", value: envelope }
  }

  /** A signer signs or declines by hand (the admin routes, tests). */
  answer(id: string, who: string, action: "sign" | "decline", reason: string | undefined, now: number): Outcome<Envelope> {
    const envelope = this.envelopes.get(id)
    if (envelope === undefined) return { _tag: "not-found" }
    const signer = envelope.signers.find((s) => s.id === who || s.email.toLowerCase() === who.toLowerCase())
    if (signer === undefined) return { _tag: "not-found" }
    if (envelope.status !== "sent" || signer.status !== "pending") {
      return {
        _tag: "conflict",
        status: envelope.status,
        reason: `envelope ${id} is ${envelope.status} and ${signer.email} has ${signer.status === "pending" ? "not answered" : signer.status}`
      }
    }
    if (action === "sign") this.applySign(envelope, signer, now)
    else this.applyDecline(envelope, signer, now, reason)
    return { _tag: "ok", value: envelope }
  }

  /** Seeded history: envelopes of earlier conventions, one completed, one waiting, one cancelled. */
  seedEnvelopes(count: number, now: number): void {
    const prng = Prng.make(`${this.seed}:seed`)
    const day = 86_400_000
    for (let i = 0; i < count; i++) {
      const learner = Names.person(prng)
      const master = Names.person(prng)
      const created = now - (count - i) * 3 * day
      const code = `CS${String(prng.int(1, 9_999_999)).padStart(8, "0")}`
      const envelope = this.create({
        title: `Convention d'apprentissage ${learner.prenom} ${learner.nom}`,
        document: { reference: code, name: `convention-${code}.pdf` },
        signers: [
          { name: `${learner.prenom} ${learner.nom}`, email: Names.email(learner, "etudiant-exemple.fr"), role: "learner" },
          { name: `${master.prenom} ${master.nom}`, email: Names.email(master, "entreprise-exemple.fr"), role: "company" },
          { name: "Direction des études", email: "direction.etudes@cfa-exemple.fr", role: "school" }
        ],
        externalReference: `seed-${i + 1}`
      }, created)
      for (const signer of envelope.signers) delete signer.plan
      const kind = i % 3
      if (kind === 0) for (const signer of envelope.signers) this.applySign(envelope, signer, created + day)
      else if (kind === 1) this.applySign(envelope, envelope.signers[0]!, created + day)
      else this.cancel(envelope.id, "replaced by a corrected convention", created + day)
    }
  }

  persisted(): Persisted {
    return { seed: this.seed, next: this.next, envelopes: [...this.envelopes.values()].map(clone) }
  }

  restore(json: unknown): Either.Either<void, string> {
    const decoded = Schema.decodeUnknownEither(Persisted)(json)
    if (Either.isLeft(decoded)) return Either.left("it does not hold e-signature sandbox data in the expected shape")
    this.envelopes = new Map(decoded.right.envelopes.map((e) => [e.id, clone(e) as Envelope]))
    this.next = decoded.right.next
    return Either.right(undefined)
  }
}

/** An envelope in the API's wire form (what `Api.Envelope` decodes). */
export const toWire = (envelope: StoredEnvelope): Schema.Schema.Encoded<typeof Api.Envelope> => ({
  id: envelope.id,
  status: envelope.status,
  title: envelope.title,
  document: envelope.document,
  signers: envelope.signers.map((s) => ({
    id: s.id,
    name: s.name,
    email: s.email,
    role: s.role,
    status: s.status,
    ...(s.signedAt === undefined ? {} : { signedAt: iso(s.signedAt) }),
    ...(s.declinedAt === undefined ? {} : { declinedAt: iso(s.declinedAt) }),
    ...(s.declineReason === undefined ? {} : { declineReason: s.declineReason })
  })),
  ...(envelope.externalReference === undefined ? {} : { externalReference: envelope.externalReference }),
  createdAt: iso(envelope.createdAt),
  updatedAt: iso(envelope.updatedAt),
  ...(envelope.completedAt === undefined ? {} : { completedAt: iso(envelope.completedAt) }),
  ...(envelope.cancelledAt === undefined ? {} : { cancelledAt: iso(envelope.cancelledAt) }),
  ...(envelope.cancelReason === undefined ? {} : { cancelReason: envelope.cancelReason })
})
