import { Names, Prng } from "@relais/sandbox-kit"
import type { WireContract } from "./validate.js"

interface Programme {
  readonly codeFormation: string
  readonly nomFormation: string
  readonly rncp: string
  readonly years: number
}

const programmes: ReadonlyArray<Programme> = [
  { codeFormation: "BTSMCO", nomFormation: "BTS Management Commercial Opérationnel", rncp: "RNCP38362", years: 2 },
  { codeFormation: "BTSNDRC", nomFormation: "BTS Négociation et Digitalisation de la Relation Client", rncp: "RNCP38368", years: 2 },
  { codeFormation: "BACHRH", nomFormation: "Bachelor Ressources Humaines", rncp: "RNCP35125", years: 1 },
  { codeFormation: "LPCOM", nomFormation: "Licence Professionnelle Commerce", rncp: "RNCP30097", years: 1 }
]

const sites = [
  { codeSite: "REN", nomSite: "Rennes" },
  { codeSite: "NAN", nomSite: "Nantes" },
  { codeSite: "ANG", nomSite: "Angers" }
] as const

const ordinal = (n: number) => (n === 1 ? "1ère année" : `${n}e année`)

/**
 * Deterministic, valid contracts for school year 2025/2026: each passes every sandbox rule
 * (unique person codes and e-mails, one name per code).
 */
export const generateContracts = (seed: number | string, count: number): Array<WireContract> => {
  const prng = Prng.make(seed).fork("campus-skills/contracts")
  const staffEmails = new Set<string>()
  const staff = Array.from({ length: 4 }, (_, i) => {
    const who = Names.person(prng)
    let email = Names.email(who, "cfa-relais.fr")
    if (staffEmails.has(email)) email = Names.email(who, "cfa-relais.fr", String(i + 1))
    staffEmails.add(email)
    return { ...who, email, code: `PERS-${String(i + 1).padStart(3, "0")}` }
  })
  const contracts: Array<WireContract> = []
  for (let i = 1; i <= count; i++) {
    const programme = prng.pick(programmes)
    const site = prng.pick(sites)
    const year = prng.int(1, programme.years)
    const learner = Names.person(prng)
    const master = Names.person(prng)
    const tutor = prng.pick(staff)
    const company = Names.companyName(prng)
    const n = String(i).padStart(4, "0")
    const codeGroupe = `${programme.codeFormation}-${site.codeSite}-${year}`
    contracts.push({
      codeContrat: `CTR-2025-${n}`,
      dateDebut: "01/09/2025",
      dateFin: year === programme.years ? "30/06/2026" : "30/06/2027",
      nomGroupe: `${programme.codeFormation} ${site.nomSite} ${ordinal(year)}`,
      nomEntreprise: company,
      emailPersonnel: tutor.email,
      prenomPersonnel: tutor.prenom,
      nomPersonnel: tutor.nom,
      codePersonnel: tutor.code,
      emailMaitreApprentissage: Names.email(master, `${Names.slug(company)}.fr`, n),
      prenomMaitreApprentissage: master.prenom,
      nomMaitreApprentissage: master.nom,
      codeMaitreApprentissage: `MA-${n}`,
      nomApprenant: learner.nom,
      emailApprenant: Names.email(learner, "apprenant.cfa-relais.fr", n),
      prenomApprenant: learner.prenom,
      codeApprenant: `APP-${n}`,
      codeGroupe,
      codePeriode: "P2025",
      nomPeriode: "2025/2026",
      codeFormation: programme.codeFormation,
      nomFormation: programme.nomFormation,
      codeSite: site.codeSite,
      nomSite: site.nomSite,
      codeAnnee: `${programme.codeFormation}-A${year}`,
      nomAnnee: `${programme.nomFormation} ${ordinal(year)}`,
      rncp: programme.rncp
    })
  }
  return contracts
}
