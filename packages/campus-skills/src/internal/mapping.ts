/**
 * The convention → contract mapping: pure functions, no Effect services. The rules are listed in
 * `Mapping.ts` and in the README.
 */
import { ProviderKit } from "@relais/core"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { Temporal } from "temporal-polyfill"
import * as Contract from "../Contract.js"
import type { ConventionAggregate, Person } from "../Mapping.js"

export const timeZone = "Europe/Paris"

export interface Issue {
  readonly path: string
  readonly message: string
}

export interface Failure {
  readonly codeContrat?: string | undefined
  readonly issues: ReadonlyArray<Issue>
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/** The calendar day in Paris of an AIMAIRA date-time, or a plain ISO date. */
export const parisDate = (text: string): Either.Either<Temporal.PlainDate, string> => ProviderKit.calendarDay(text, timeZone)

export const slug = (name: string): string =>
  name
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")

const blank = (value: string | null | undefined): value is null | undefined =>
  value === undefined || value === null || value.trim().length === 0

/** A positive id: AIMAIRA writes 0 for "no reference". */
const isId = (value: number | null | undefined): value is number =>
  typeof value === "number" && Number.isInteger(value) && value > 0

const join = (prefix: string, path: string) => (prefix === "" ? path : `${prefix}.${path}`)

/** Collects issues while building the wire contract. */
class Collector {
  readonly issues: Array<Issue> = []
  constructor(readonly prefix: string) {}

  add(path: string, message: string): undefined {
    this.issues.push({ path: join(this.prefix, path), message })
    return undefined
  }

  /** A required text: the first non-blank candidate, or an issue at the first candidate's path. */
  text(
    candidates: ReadonlyArray<readonly [path: string, value: string | null | undefined]>,
    what = "missing"
  ): string | undefined {
    for (const [, value] of candidates) if (!blank(value)) return value.trim()
    const [first, ...others] = candidates.map(([path]) => path)
    return this.add(first!, others.length === 0 ? what : `${what} (and ${others.join(", ")} ${others.length === 1 ? "is" : "are"} blank too)`)
  }

  id(path: string, value: number | null | undefined): number | undefined {
    if (isId(value)) return value
    return this.add(path, value === undefined || value === null || value === 0 ? "missing" : `${value} is not an AIMAIRA id`)
  }

  date(path: string, value: string | null | undefined): Temporal.PlainDate | undefined {
    if (blank(value)) return this.add(path, "missing")
    return Either.match(parisDate(value), { onLeft: (reason) => this.add(path, reason), onRight: (d) => d })
  }
}

const optional = (...values: ReadonlyArray<string | null | undefined>): string | undefined => {
  for (const value of values) if (!blank(value)) return value.trim()
  return undefined
}

interface PersonFields {
  readonly code: string | undefined
  readonly nom: string | undefined
  readonly prenom: string | undefined
  readonly email: string | undefined
}

const person = (c: Collector, slot: string, prefix: string, value: Person | null | undefined): PersonFields => {
  if (value === undefined || value === null) {
    c.add(slot, "missing")
    return { code: undefined, nom: undefined, prenom: undefined, email: undefined }
  }
  const id = c.id(`${slot}.Id`, value.Id)
  const nom = c.text([[`${slot}.NomUsage`, value.NomUsage], [`${slot}.Nom`, value.Nom]])
  const prenom = c.text([[`${slot}.PrenomUsage`, value.PrenomUsage], [`${slot}.Prenoms`, value.Prenoms]])
  let email: string | undefined
  const given = optional(value.Email)
  const expanded = optional(value.Mail?.Adresse)
  if (given !== undefined) {
    email = EMAIL.test(given) ? given : c.add(`${slot}.Email`, `${JSON.stringify(given)} is not an e-mail address`)
  } else if (expanded !== undefined) {
    email = EMAIL.test(expanded)
      ? expanded
      : c.add(`${slot}.Mail.Adresse`, `${JSON.stringify(expanded)} is not an e-mail address`)
  } else {
    c.add(`${slot}.Email`, "missing (give Email, or the person with its Mail expanded)")
  }
  return { code: id === undefined ? undefined : `${prefix}-${id}`, nom, prenom, email }
}

/** Where each contract field comes from, to place an issue the contract schema still finds. */
const sources: Record<string, string> = {
  codeContrat: "convention.Code",
  dateDebut: "convention.DateDebut",
  dateFin: "convention.DateFin",
  nomEntreprise: "entreprise.Nom",
  codeApprenant: "apprenant.Id",
  nomApprenant: "apprenant.Nom",
  prenomApprenant: "apprenant.Prenoms",
  emailApprenant: "apprenant.Email",
  codeMaitreApprentissage: "maitre.Id",
  nomMaitreApprentissage: "maitre.Nom",
  prenomMaitreApprentissage: "maitre.Prenoms",
  emailMaitreApprentissage: "maitre.Email",
  codePersonnel: "enseignant.Id",
  nomPersonnel: "enseignant.Nom",
  prenomPersonnel: "enseignant.Prenoms",
  emailPersonnel: "enseignant.Email",
  codeGroupe: "sequence.Code",
  nomGroupe: "sequence.Nom",
  codePeriode: "sequence.LibellePeriode",
  nomPeriode: "sequence.LibellePeriode",
  codeFormation: "programme.Code",
  nomFormation: "programme.LibelleExterne",
  codeSite: "programme.Campus",
  nomSite: "programme.Campus",
  codeAnnee: "annee.Code",
  nomAnnee: "annee.Nom",
  missionTitle: "convention.Poste",
  rncp: "programme.CodeRNCP"
}

const decodeContract = Schema.decodeUnknownEither(Contract.Contract, { errors: "all" })

export const toContract = (a: ConventionAggregate, prefix: string): Either.Either<Contract.Contract, Failure> => {
  const c = new Collector(prefix)

  // the contract
  let codeContrat: string | undefined
  let dateDebut: Temporal.PlainDate | undefined
  let dateFin: Temporal.PlainDate | undefined
  let missionTitle: string | undefined
  const convention = a.convention
  if (convention === undefined || convention === null) {
    c.add("convention", "missing")
  } else {
    const code = optional(convention.Code)
    if (code !== undefined) codeContrat = code
    else {
      const id = c.id("convention.Id", convention.Id)
      if (id !== undefined) codeContrat = `CONV-${id}`
    }
    dateDebut = c.date("convention.DateDebut", convention.DateDebut)
    dateFin = c.date("convention.DateFin", convention.DateFin)
    if (dateDebut !== undefined && dateFin !== undefined && Temporal.PlainDate.compare(dateFin, dateDebut) <= 0) {
      c.add(
        "convention.DateFin",
        `the end (${Contract.formatWireDate(dateFin)}) must come after the start (${Contract.formatWireDate(dateDebut)})`
      )
    }
    missionTitle = optional(convention.Poste)
  }

  // the people: codes are prefixed per role (and source table) so they never collide
  const apprenant = person(c, "apprenant", "APP", a.apprenant)
  const maitre = person(c, "maitre", "MA", a.maitre)
  let tuteur: PersonFields
  if (a.enseignant !== undefined && a.enseignant !== null) tuteur = person(c, "enseignant", "ENS", a.enseignant)
  else if (a.referent !== undefined && a.referent !== null) tuteur = person(c, "referent", "REF", a.referent)
  else {
    c.add("enseignant", "missing (the school tutor: give enseignant, or referent)")
    tuteur = { code: undefined, nom: undefined, prenom: undefined, email: undefined }
  }

  // the company
  const nomEntreprise = a.entreprise === undefined || a.entreprise === null
    ? c.add("entreprise", "missing")
    : c.text([["entreprise.Nom", a.entreprise.Nom]])

  // the school structure
  const sequence = a.sequence
  const programme = a.programme
  let codeGroupe: string | undefined
  let nomGroupe: string | undefined
  let periode: { code: string; nom: string } | undefined
  if (sequence === undefined || sequence === null) {
    c.add("sequence", "missing")
  } else {
    const code = optional(sequence.Code)
    if (code !== undefined) codeGroupe = code
    else {
      const id = c.id("sequence.Id", sequence.Id)
      if (id !== undefined) codeGroupe = `SEQ-${id}`
    }
    nomGroupe = c.text([["sequence.Nom", sequence.Nom], ["sequence.LibelleExterne", sequence.LibelleExterne]])
  }
  if (a.periode !== undefined && a.periode !== null) {
    const nom = c.text([["periode.Nom", a.periode.Nom], ["periode.Code", a.periode.Code]])
    const code = optional(a.periode.Code, a.periode.Nom)
    if (nom !== undefined && code !== undefined) periode = { code, nom }
  } else if (sequence !== undefined && sequence !== null) {
    const label = c.text([["sequence.LibellePeriode", sequence.LibellePeriode]], "missing (or give periode)")
    if (label !== undefined) periode = { code: label, nom: label }
  }

  let codeFormation: string | undefined
  let nomFormation: string | undefined
  let site: { code: string; nom: string } | undefined
  let marque: { code: string; nom: string } | undefined
  let rncp: string | undefined
  if (programme === undefined || programme === null) {
    c.add("programme", "missing")
  } else {
    const code = optional(programme.Code)
    if (code !== undefined) codeFormation = code
    else {
      const id = c.id("programme.Id", programme.Id)
      if (id !== undefined) codeFormation = `PRG-${id}`
    }
    nomFormation = c.text([["programme.LibelleExterne", programme.LibelleExterne], ["programme.Nom", programme.Nom]])
    if (a.site === undefined || a.site === null) {
      const campus = optional(sequence?.Campus, programme.Campus)
      if (campus === undefined) {
        c.add("programme.Campus", "missing (the site: give site, sequence.Campus or programme.Campus)")
      } else if (slug(campus) === "") c.add("programme.Campus", `${JSON.stringify(campus)} gives no site code`)
      else site = { code: slug(campus), nom: campus }
    }
    const brand = optional(sequence?.Marque, programme.Marque)
    if (brand !== undefined && slug(brand) !== "") marque = { code: slug(brand), nom: brand }
    rncp = optional(programme.CodeRNCP)
  }

  if (a.site !== undefined && a.site !== null) {
    const nom = c.text([["site.Nom", a.site.Nom]])
    const code = optional(a.site.Code) ?? (nom === undefined ? undefined : slug(nom))
    if (nom !== undefined && (code === undefined || code === "")) c.add("site.Code", "missing (and site.Nom gives no code)")
    else if (nom !== undefined && code !== undefined) site = { code, nom }
  }

  let annee: { code: string; nom: string } | undefined
  if (a.annee !== undefined && a.annee !== null) {
    const code = c.text([["annee.Code", a.annee.Code]])
    const nom = c.text([["annee.Nom", a.annee.Nom]])
    if (code !== undefined && nom !== undefined) annee = { code, nom }
  } else if (codeGroupe !== undefined && nomGroupe !== undefined) {
    annee = { code: codeGroupe, nom: nomGroupe }
  }

  if (c.issues.length > 0) return Either.left({ codeContrat, issues: c.issues })

  const wire: Record<string, string | undefined> = {
    codeContrat,
    dateDebut: dateDebut && Contract.formatWireDate(dateDebut),
    dateFin: dateFin && Contract.formatWireDate(dateFin),
    nomGroupe,
    nomEntreprise,
    emailPersonnel: tuteur.email,
    prenomPersonnel: tuteur.prenom,
    nomPersonnel: tuteur.nom,
    codePersonnel: tuteur.code,
    emailMaitreApprentissage: maitre.email,
    prenomMaitreApprentissage: maitre.prenom,
    nomMaitreApprentissage: maitre.nom,
    codeMaitreApprentissage: maitre.code,
    nomApprenant: apprenant.nom,
    emailApprenant: apprenant.email,
    prenomApprenant: apprenant.prenom,
    codeApprenant: apprenant.code,
    codeGroupe,
    codePeriode: periode?.code,
    nomPeriode: periode?.nom,
    codeFormation,
    nomFormation,
    codeSite: site?.code,
    nomSite: site?.nom,
    codeMarque: marque?.code,
    nomMarque: marque?.nom,
    codeAnnee: annee?.code,
    nomAnnee: annee?.nom,
    missionTitle,
    rncp
  }
  const defined = Object.fromEntries(Object.entries(wire).filter(([, v]) => v !== undefined))
  // Everything was checked above; the contract schema is the last word all the same.
  return Either.mapLeft(decodeContract(defined), (error) => ({
    codeContrat,
    issues: ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => {
      const field = String(issue.path[0] ?? "")
      return { path: join(prefix, sources[field] ?? field), message: `${field}: ${issue.message}` }
    })
  }))
}

export const toContracts = (
  aggregates: ReadonlyArray<ConventionAggregate>,
  prefix: string
): Either.Either<ReadonlyArray<Contract.Contract>, Failure> => {
  const contracts: Array<Contract.Contract> = []
  const issues: Array<Issue> = []
  const firstIndex = new Map<string, number>()
  aggregates.forEach((aggregate, index) => {
    const at = `${prefix}[${index}]`
    const result = toContract(aggregate, at)
    if (Either.isLeft(result)) {
      issues.push(...result.left.issues)
      return
    }
    const code = result.right.codeContrat
    const first = firstIndex.get(code)
    if (first !== undefined) {
      issues.push({
        path: `${at}.convention.Code`,
        message: `gives the contract code ${JSON.stringify(code)}, as ${prefix}[${first}] does: each contract must appear once`
      })
      return
    }
    firstIndex.set(code, index)
    contracts.push(result.right)
  })
  return issues.length > 0 ? Either.left({ issues }) : Either.right(contracts)
}
