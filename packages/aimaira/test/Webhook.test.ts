/**
 * The AIMAIRA webhook message: the checksum (vectors computed independently, with Python's
 * hashlib and `encode("ascii", "replace")`), constant-time verification, every refusal of
 * `receive`, and the trigger's options and matching.
 */
import { describe, expect, it } from "@effect/vitest"
import { Plugin } from "@relais/core"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { AimairaPlugin, Webhook } from "../src/index.js"

/** The documentation's example message. */
const docExample = {
  CustomerName: "CONTOSO",
  Date: "2023-12-04T12:19:03.5885615+01:00",
  Hash: "UH6lnG50Dmk3jJ8uMvqedQ==",
  ObjectId: 2273857,
  ObjectType: "recrutement.T_SESSION_RECRUTEMENT",
  TriggerName: "Webhook"
}

const fields = (message: Webhook.Message): Webhook.Event => {
  const { Hash: _hash, ...rest } = message
  return rest
}

/** A message with a correct hash. */
const signed = (overrides: Partial<Webhook.Event> = {}): Webhook.Message =>
  Webhook.sign({ ...fields(docExample), ...overrides })

const body = (value: unknown) => JSON.stringify(value)

const rejected = (result: Either.Either<Plugin.Received<Webhook.Event>, Plugin.Rejected>): Plugin.Rejected => {
  if (Either.isRight(result)) throw new Error(`expected a refusal, got ${JSON.stringify(result.right)}`)
  return result.left
}

const accepted = (result: Either.Either<Plugin.Received<Webhook.Event>, Plugin.Rejected>): Plugin.Received<Webhook.Event> => {
  if (Either.isLeft(result)) throw new Error(`expected the message to be accepted, got ${JSON.stringify(result.left)}`)
  return result.right
}

describe("Webhook", () => {
  describe("hash", () => {
    it("concatenates the fields in the documented order", () => {
      expect(Webhook.hashedText(fields(docExample))).toBe(
        "Webhook2273857recrutement.T_SESSION_RECRUTEMENT2023-12-04T12:19:03.5885615+01:00WebhookCONTOSO"
      )
    })

    it("gives the independently computed vectors", () => {
      // The documentation's example: its own Hash (UH6lnG50Dmk3jJ8uMvqedQ==) does not verify with
      // the algorithm the page describes; this is what that algorithm gives (also with Python).
      expect(Webhook.hash(fields(docExample))).toBe("wIhrwUxRDl4HQMQAnu5uyA==")
      expect(Webhook.hash({
        TriggerName: "Candidats",
        ObjectId: 42,
        ObjectType: "recrutement.T_CANDIDAT",
        Date: "2025-03-30T03:00:00.1234567+02:00",
        CustomerName: "ECOLE-EXEMPLE"
      })).toBe("8m2u6qd7wna6lA4CYfngBA==")
    })

    it("turns every character outside ASCII into one '?', as .NET's Encoding.ASCII does", () => {
      expect(Webhook.asciiBytes("Écoles é😀").toString("latin1")).toBe("?coles ??")
      expect(Webhook.hash({
        TriggerName: "Écoles é",
        ObjectId: 7,
        ObjectType: "recrutement.T_DOSSIER",
        Date: "2025-01-15T09:30:00+01:00",
        CustomerName: "CAMPUS 😀"
      })).toBe("1wbOT40HqSfYbbBO0yvBSg==")
    })

    it("is computed over the Date text exactly as sent", () => {
      const a = Webhook.hash({ ...fields(docExample), Date: "2023-12-04T12:19:03.5885615+01:00" })
      const b = Webhook.hash({ ...fields(docExample), Date: "2023-12-04T11:19:03.5885615Z" })
      expect(a).not.toBe(b)
    })
  })

  describe("verify", () => {
    it("accepts a signed message and refuses any change", () => {
      const message = signed()
      expect(Webhook.verify(message)).toBe(true)
      expect(Webhook.verify({ ...message, ObjectId: message.ObjectId + 1 })).toBe(false)
      expect(Webhook.verify({ ...message, CustomerName: "FABRIKAM" })).toBe(false)
      expect(Webhook.verify({ ...message, Hash: message.Hash.slice(0, -2) })).toBe(false)
      expect(Webhook.verify({ ...message, Hash: "" })).toBe(false)
    })

    it("does not verify the documentation's example (its Hash does not match its fields)", () => {
      expect(Webhook.verify(docExample)).toBe(false)
    })
  })

  describe("receive", () => {
    it("accepts a correct message: the event, a key that is the same for a resend, the subject", () => {
      const message = signed()
      const received = accepted(Webhook.receive(body(message), {}))
      expect(received.event).toEqual(fields(message))
      expect(received.subject).toBe("recrutement.T_SESSION_RECRUTEMENT:2273857")
      expect(received.messageKey).toMatch(/^recrutement\.T_SESSION_RECRUTEMENT:2273857:[A-Za-z0-9_-]{43}$/)
      // A resend is the same bytes: the same key; another date is another message.
      expect(accepted(Webhook.receive(body(message), {})).messageKey).toBe(received.messageKey)
      const later = signed({ Date: "2023-12-04T12:19:04.0000000+01:00" })
      expect(accepted(Webhook.receive(body(later), {})).messageKey).not.toBe(received.messageKey)
      // Unknown properties are ignored; the event is what the schema encodes for trigger.*.
      const extra = accepted(Webhook.receive(body({ ...message, Extra: 1 }), undefined))
      expect(Schema.encodeSync(Webhook.Event)(extra.event)).toEqual(fields(message))
    })

    it("accepts the expected instance", () => {
      expect(Either.isRight(Webhook.receive(body(signed()), { customerName: "CONTOSO" }))).toBe(true)
    })

    it("refuses an empty body or one that is not JSON (400)", () => {
      expect(rejected(Webhook.receive("", {}))).toEqual({ status: 400, reason: expect.stringContaining("the body is empty") })
      expect(rejected(Webhook.receive("  \n", {})).status).toBe(400)
      const notJson = rejected(Webhook.receive("{ \"CustomerName\": ", {}))
      expect(notJson.status).toBe(400)
      expect(notJson.reason).toMatch(/^the body is not JSON: /)
    })

    it("refuses JSON that is not an object (422)", () => {
      expect(rejected(Webhook.receive("[1]", {}))).toEqual({ status: 422, reason: expect.stringContaining("got an array") })
      expect(rejected(Webhook.receive("null", {})).reason).toContain("got null")
      expect(rejected(Webhook.receive("\"text\"", {})).reason).toContain("got string")
    })

    it("refuses a missing field, naming it (422)", () => {
      const { ObjectType: _type, ...rest } = signed()
      const refusal = rejected(Webhook.receive(body(rest), {}))
      expect(refusal.status).toBe(422)
      expect(refusal.reason).toBe("not an AIMAIRA webhook message: ObjectType: is missing")
      const { Hash: _hash, TriggerName: _name, ...fewer } = signed()
      expect(rejected(Webhook.receive(body(fewer), {})).reason).toBe(
        "not an AIMAIRA webhook message: Hash: is missing; TriggerName: is missing"
      )
    })

    it("refuses fields of the wrong type, naming them (422)", () => {
      const message = signed()
      const asText = rejected(Webhook.receive(body({ ...message, ObjectId: "2273857" }), {}))
      expect(asText.status).toBe(422)
      expect(asText.reason).toMatch(/^not an AIMAIRA webhook message: ObjectId: Expected number, actual "2273857"$/)
      expect(rejected(Webhook.receive(body({ ...message, ObjectId: 12.5 }), {})).reason).toContain(
        "ObjectId: expected an integer id, got 12.5"
      )
      expect(rejected(Webhook.receive(body({ ...message, CustomerName: "" }), {})).reason).toContain(
        "CustomerName: expected the name of the AIMAIRA instance, got an empty string"
      )
      expect(rejected(Webhook.receive(body({ ...message, Date: "04/12/2023 12:19" }), {})).reason).toContain(
        "Date: expected a date-time with an offset"
      )
      expect(rejected(Webhook.receive(body({ ...message, TriggerName: 3 }), {})).reason).toContain("TriggerName: Expected string")
    })

    it("refuses a message whose Hash does not match (422), the documentation's example included", () => {
      const message = signed()
      const altered = rejected(Webhook.receive(body({ ...message, ObjectId: 1 }), {}))
      expect(altered.status).toBe(422)
      expect(altered.reason).toContain("the Hash does not match the message")
      expect(rejected(Webhook.receive(body(docExample), {})).status).toBe(422)
    })

    it("refuses a message from another instance (403)", () => {
      const refusal = rejected(Webhook.receive(body(signed({ CustomerName: "FABRIKAM" })), { customerName: "CONTOSO" }))
      expect(refusal).toEqual({
        status: 403,
        reason: "the message comes from the AIMAIRA instance \"FABRIKAM\", this server expects \"CONTOSO\" (webhook settings: customerName)"
      })
    })

    it("refuses a message of a webhook not among settings.triggerNames (403), accepts one that is", () => {
      const message = signed()
      const refusal = rejected(Webhook.receive(body(message), { triggerNames: ["Autre"] }))
      expect(refusal.status).toBe(403)
      expect(refusal.reason).toContain(`no webhook named ${JSON.stringify(message.TriggerName)} sends to this server`)
      expect(Either.isRight(Webhook.receive(body(message), { triggerNames: ["Autre", message.TriggerName] }))).toBe(true)
    })
  })

  describe("trigger", () => {
    const decodeOptions = Schema.decodeUnknownEither(Webhook.TriggerOptions)
    const optionsError = (input: unknown): string => {
      const decoded = decodeOptions(input)
      if (Either.isRight(decoded)) throw new Error(`expected a refusal of ${JSON.stringify(input)}`)
      return ParseResult.TreeFormatter.formatErrorSync(decoded.left)
    }

    it("is the plugin's trigger, received over HTTP with OAuth client credentials", () => {
      const plugin = AimairaPlugin.make()
      expect(plugin.trigger).toBe(Webhook.trigger)
      expect(plugin.trigger?.webhook?.auth).toBe("oauth-client-credentials")
      expect(Schema.decodeUnknownSync(Webhook.trigger.webhook!.settings!)({ customerName: "CONTOSO" })).toEqual({ customerName: "CONTOSO" })
    })

    it("accepts documented and well-formed legacy names", () => {
      expect(decodeOptions({ objectTypes: ["recrutement.T_CANDIDAT", "recrutement.T_DOSSIER"] })).toEqual(
        Either.right({ objectTypes: ["recrutement.T_CANDIDAT", "recrutement.T_DOSSIER"] })
      )
      // The documentation's table is partial: a name of the documented form is accepted.
      expect(Either.isRight(decodeOptions({ objectTypes: ["planification.T_EVENEMENT"], triggerNames: ["Webhook"] }))).toBe(true)
    })

    it("refuses typos, API entity sets and malformed names, with a suggestion", () => {
      expect(optionsError({ objectTypes: ["recrutement.T_CANDIDTA"] })).toContain(
        "unknown legacy entity name \"recrutement.T_CANDIDTA\" (did you mean \"recrutement.T_CANDIDAT\"?)"
      )
      expect(optionsError({ objectTypes: ["recrutement.t_candidat"] })).toContain("did you mean \"recrutement.T_CANDIDAT\"?")
      expect(optionsError({ objectTypes: ["Candidat"] })).toContain(
        "\"Candidat\" is an API entity set; webhooks name entity types by their legacy (table) name: use \"recrutement.T_CANDIDAT\""
      )
      expect(optionsError({ objectTypes: ["candidats"] })).toContain("is not a legacy entity name such as recrutement.T_CANDIDAT")
      expect(optionsError({ objectTypes: [] })).toContain("expected a non-empty list of legacy entity names")
      expect(optionsError({})).toContain("is missing")
      expect(optionsError({ objectTypes: ["recrutement.T_CANDIDAT"], triggerNames: [""] })).toContain("expected a webhook name")
    })

    it("matches on the object type and, when given, the webhook's name", () => {
      const event = fields(signed({ ObjectType: "recrutement.T_CANDIDAT", TriggerName: "Admissions" }))
      expect(Webhook.matches({ objectTypes: ["recrutement.T_CANDIDAT"] }, event)).toBe(true)
      expect(Webhook.matches({ objectTypes: ["recrutement.T_DOSSIER"] }, event)).toBe(false)
      expect(Webhook.matches({ objectTypes: ["recrutement.T_CANDIDAT"], triggerNames: ["Admissions"] }, event)).toBe(true)
      expect(Webhook.matches({ objectTypes: ["recrutement.T_CANDIDAT"], triggerNames: ["Autre"] }, event)).toBe(false)
    })

    it("knows the legacy names of the documentation's table", () => {
      expect(Webhook.legacyNameOf("Candidat")).toBe("recrutement.T_CANDIDAT")
      expect(Webhook.legacyNameOf("Dossier")).toBe("recrutement.T_DOSSIER")
      expect(Webhook.legacyNameOf("SessionRecrutement")).toBe("recrutement.T_SESSION_RECRUTEMENT")
      expect(Webhook.legacyNames.filter((n) => n.documented).map((n) => n.name)).toContain("pedagogie.T_SEQUENCE")
      // Every name has the documented form, once.
      for (const { name } of Webhook.legacyNames) expect(Webhook.checkObjectType(name)).toBeUndefined()
      expect(new Set(Webhook.legacyNames.map((n) => n.name)).size).toBe(Webhook.legacyNames.length)
    })
  })
})
