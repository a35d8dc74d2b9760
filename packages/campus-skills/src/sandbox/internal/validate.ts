import * as Either from "effect/Either"
import { Temporal } from "temporal-polyfill"
import {
  codeNamePairs,
  InvalidContract,
  optionalTextFields,
  parseWireDate,
  people,
  requiredTextFields,
  Violation,
  type ViolationRule
} from "../../Contract.js"

/** A contract as the sandbox holds it: known fields only, strings, `codeContrat` first. */
export type WireContract = { readonly codeContrat: string } & { readonly [field: string]: string }

/** Canonical field order: identifier, dates, then the vendor's table. */
export const FIELD_ORDER: ReadonlyArray<string> = [
  "codeContrat",
  "dateDebut",
  "dateFin",
  ...requiredTextFields,
  ...optionalTextFields
]

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

interface Ref {
  readonly codeContrat: string
  /** Position in the request; absent for a contract the sandbox already held. */
  readonly index?: number | undefined
}

interface ViolationInput {
  readonly rule: ViolationRule
  readonly field: string
  readonly message: string
  readonly value?: unknown
  readonly other?: { readonly ref: Ref; readonly field: string } | undefined
}

const violation = (v: ViolationInput): Violation =>
  new Violation({
    rule: v.rule,
    field: v.field,
    message: v.message,
    ...(v.value === undefined ? {} : { value: v.value }),
    ...(v.other === undefined ? {} : {
      otherContrat: v.other.ref.codeContrat,
      otherField: v.other.field,
      ...(v.other.ref.index === undefined ? {} : { otherIndex: v.other.ref.index })
    })
  })

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const isBlank = (u: unknown) => u === undefined || u === null || (typeof u === "string" && u.trim().length === 0)

export interface ValidateOptions {
  /** v2 requires `dateDebut` and `dateFin`; v1 accepts contracts without them. */
  readonly datesRequired: boolean
  /**
   * Contracts the sandbox already holds and that this request leaves in place: they take part
   * in the checks across contracts (as "the other contract") but are never reported.
   */
  readonly context?: ReadonlyArray<WireContract> | undefined
}

export interface ValidationResult {
  readonly valid: ReadonlyArray<{ readonly index: number; readonly contract: WireContract }>
  readonly invalid: ReadonlyArray<InvalidContract>
}

/** Checks one contract on its own; returns the normalized contract when it is well-formed. */
const checkShape = (
  raw: unknown,
  options: ValidateOptions
): { readonly violations: Array<Violation>; readonly contract?: WireContract; readonly code: string | null } => {
  const violations: Array<Violation> = []
  if (!isRecord(raw)) {
    violations.push(violation({ rule: "type", field: "contrat", message: "a contract must be a JSON object", value: raw }))
    return { violations, code: null }
  }
  const out: Record<string, string> = {}

  // The vendor's field table says `ccodeContrat` (a typo); accept it as an alias.
  const primary = raw.codeContrat
  const alias = raw.ccodeContrat
  let code: string | null = null
  if (!isBlank(primary) && !isBlank(alias) && primary !== alias) {
    violations.push(violation({
      rule: "code-contrat-mismatch",
      field: "codeContrat",
      message: `codeContrat ${JSON.stringify(primary)} and its alias ccodeContrat ${JSON.stringify(alias)} differ`,
      value: primary
    }))
  }
  const given = isBlank(primary) ? alias : primary
  if (isBlank(given)) {
    violations.push(violation({ rule: "required", field: "codeContrat", message: "codeContrat is required" }))
  } else if (typeof given !== "string") {
    violations.push(violation({ rule: "type", field: "codeContrat", message: "codeContrat must be a string", value: given }))
  } else {
    code = given
    out.codeContrat = given
  }

  for (const field of requiredTextFields) {
    const value = raw[field]
    if (isBlank(value)) {
      violations.push(violation({ rule: "required", field, message: `${field} is required` }))
    } else if (typeof value !== "string") {
      violations.push(violation({ rule: "type", field, message: `${field} must be a string`, value }))
    } else {
      out[field] = value
    }
  }
  for (const field of optionalTextFields) {
    const value = raw[field]
    if (value === undefined || value === null) continue
    if (typeof value !== "string") {
      violations.push(violation({ rule: "type", field, message: `${field} must be a string`, value }))
    } else {
      out[field] = value
    }
  }
  for (const { email } of people) {
    const value = out[email]
    if (value !== undefined && !EMAIL.test(value)) {
      violations.push(violation({ rule: "email-format", field: email, message: `${email} ${JSON.stringify(value)} is not an e-mail address`, value }))
    }
  }

  const dates: Record<string, Temporal.PlainDate> = {}
  for (const field of ["dateDebut", "dateFin"] as const) {
    const value = raw[field]
    if (isBlank(value)) {
      if (options.datesRequired) violations.push(violation({ rule: "required", field, message: `${field} is required` }))
      continue
    }
    if (typeof value !== "string") {
      violations.push(violation({ rule: "type", field, message: `${field} must be a string (DD/MM/YYYY)`, value }))
      continue
    }
    const parsed = parseWireDate(value)
    if (Either.isLeft(parsed)) {
      violations.push(violation({ rule: "date-format", field, message: `${field}: ${parsed.left}`, value }))
    } else {
      dates[field] = parsed.right
      out[field] = value
    }
  }
  const start = dates.dateDebut
  const end = dates.dateFin
  if (start !== undefined && end !== undefined && Temporal.PlainDate.compare(end, start) <= 0) {
    violations.push(violation({
      rule: "date-order",
      field: "dateFin",
      message: `dateFin ${out.dateFin} must come after dateDebut ${out.dateDebut}`,
      value: out.dateFin
    }))
  }
  if (violations.length > 0 || code === null) return { violations, code }
  const contract = Object.fromEntries(
    FIELD_ORDER.filter((field) => out[field] !== undefined).map((field) => [field, out[field]!])
  ) as WireContract
  return { violations, contract, code }
}

interface Entry {
  readonly ref: Ref
  readonly contract: WireContract
  readonly reported: boolean
}

/**
 * The first value recorded for each key, and where. The first contract (contracts already held
 * first, then request order) is the reference; a later one that contradicts it is refused.
 */
class FirstSeen {
  private readonly map = new Map<string, { readonly value: string; readonly ref: Ref; readonly field: string }>()
  add(key: string, value: string, ref: Ref, field: string) {
    if (!this.map.has(key)) this.map.set(key, { value, ref, field })
  }
  /** The reference for this key when it holds another value. */
  other(key: string, value: string) {
    const first = this.map.get(key)
    return first === undefined || first.value === value ? undefined : first
  }
}

const describe = (ref: Ref) =>
  ref.index === undefined ? `contract "${ref.codeContrat}" (already held)` : `contract "${ref.codeContrat}"`

/** The checks across contracts: identifiers, person codes, e-mails, code / name pairs. */
const checkAcross = (entries: ReadonlyArray<Entry>): Map<Entry, Array<Violation>> => {
  const found = new Map<Entry, Array<Violation>>()
  const report = (entry: Entry, v: ViolationInput) => {
    if (!entry.reported) return
    const list = found.get(entry) ?? []
    list.push(violation(v))
    found.set(entry, list)
  }

  // codeContrat unique within the request (and against contracts held, for `changes`)
  const byCode = new Map<string, Array<Entry>>()
  for (const entry of entries) {
    const list = byCode.get(entry.contract.codeContrat) ?? []
    list.push(entry)
    byCode.set(entry.contract.codeContrat, list)
  }
  for (const list of byCode.values()) {
    if (list.length < 2) continue
    for (const entry of list) {
      const other = list.find((e) => e !== entry)!
      report(entry, {
        rule: "duplicate-contract",
        field: "codeContrat",
        message: `codeContrat "${entry.contract.codeContrat}" appears more than once${
          other.ref.index === undefined ? "" : ` (also at index ${other.ref.index})`
        }`,
        value: entry.contract.codeContrat,
        other: { ref: other.ref, field: "codeContrat" }
      })
    }
  }

  // one role per person code; one person per e-mail; one e-mail per person
  const roleOfCode = new FirstSeen()
  const codeOfEmail = new FirstSeen()
  const emailOfCode = new FirstSeen()
  // one name per code and one code per name, for each pair
  const nameOfCode = new FirstSeen()
  const codeOfName = new FirstSeen()
  for (const { contract, ref } of entries) {
    for (const person of people) {
      const code = contract[person.code]!
      const email = contract[person.email]!.toLowerCase()
      roleOfCode.add(code, person.code, ref, person.code)
      codeOfEmail.add(email, code, ref, person.email)
      emailOfCode.add(code, email, ref, person.email)
    }
    for (const pair of codeNamePairs) {
      nameOfCode.add(`${pair.code}\u0000${contract[pair.code]}`, contract[pair.name]!, ref, pair.name)
      codeOfName.add(`${pair.name}\u0000${contract[pair.name]}`, contract[pair.code]!, ref, pair.code)
    }
  }
  for (const entry of entries) {
    if (!entry.reported) continue
    const { contract } = entry
    for (const person of people) {
      const code = contract[person.code]!
      const email = contract[person.email]!
      const otherRole = roleOfCode.other(code, person.code)
      if (otherRole !== undefined) {
        report(entry, {
          rule: "person-code-conflict",
          field: person.code,
          message: `${person.code} "${code}" is also used as ${otherRole.value} in ${
            describe(otherRole.ref)
          }: person codes must be unique across apprenants, maîtres d'apprentissage and tuteurs école`,
          value: code,
          other: { ref: otherRole.ref, field: otherRole.value }
        })
      }
      const otherPerson = codeOfEmail.other(email.toLowerCase(), code)
      if (otherPerson !== undefined) {
        report(entry, {
          rule: "email-conflict",
          field: person.email,
          message: `${person.email} "${email}" is also the e-mail of person "${otherPerson.value}" (${otherPerson.field}) in ${
            describe(otherPerson.ref)
          }: one e-mail belongs to one account`,
          value: email,
          other: { ref: otherPerson.ref, field: otherPerson.field }
        })
      }
      const otherEmail = emailOfCode.other(code, email.toLowerCase())
      if (otherEmail !== undefined) {
        report(entry, {
          rule: "person-email-conflict",
          field: person.email,
          message: `person "${code}" has e-mail "${email}" here but "${otherEmail.value}" (${otherEmail.field}) in ${
            describe(otherEmail.ref)
          }`,
          value: email,
          other: { ref: otherEmail.ref, field: otherEmail.field }
        })
      }
    }
    for (const pair of codeNamePairs) {
      const code = contract[pair.code]!
      const name = contract[pair.name]!
      const otherName = nameOfCode.other(`${pair.code}\u0000${code}`, name)
      if (otherName !== undefined) {
        report(entry, {
          rule: "code-name-conflict",
          field: pair.name,
          message: `${pair.code} "${code}" is named "${name}" here but "${otherName.value}" in ${
            describe(otherName.ref)
          }: each ${pair.code} has one ${pair.name}`,
          value: name,
          other: { ref: otherName.ref, field: pair.name }
        })
      }
      const otherCode = codeOfName.other(`${pair.name}\u0000${name}`, code)
      if (otherCode !== undefined) {
        report(entry, {
          rule: "code-name-conflict",
          field: pair.code,
          message: `${pair.name} "${name}" has code "${code}" here but "${otherCode.value}" in ${
            describe(otherCode.ref)
          }: each ${pair.name} has one ${pair.code}`,
          value: code,
          other: { ref: otherCode.ref, field: pair.code }
        })
      }
    }
  }
  return found
}

/** Validates the contracts of one request, each on its own and then across contracts. */
export const validate = (raws: ReadonlyArray<unknown>, options: ValidateOptions): ValidationResult => {
  const invalid: Array<{ index: number; item: InvalidContract }> = []
  const entries: Array<Entry> = []
  raws.forEach((raw, index) => {
    const { code, contract, violations } = checkShape(raw, options)
    if (contract === undefined) {
      invalid.push({ index, item: new InvalidContract({ codeContrat: code, index, contrat: raw, reasons: violations }) })
    } else {
      entries.push({ ref: { codeContrat: contract.codeContrat, index }, contract, reported: true })
    }
  })
  const context = (options.context ?? []).map((contract): Entry => ({
    ref: { codeContrat: contract.codeContrat },
    contract,
    reported: false
  }))
  const across = checkAcross([...context, ...entries])
  const valid: Array<{ index: number; contract: WireContract }> = []
  for (const entry of entries) {
    const index = entry.ref.index!
    const reasons = across.get(entry)
    if (reasons === undefined) {
      valid.push({ index, contract: entry.contract })
    } else {
      invalid.push({
        index,
        item: new InvalidContract({ codeContrat: entry.contract.codeContrat, index, contrat: raws[index], reasons })
      })
    }
  }
  invalid.sort((a, b) => a.index - b.index)
  return { valid, invalid: invalid.map((i) => i.item) }
}
