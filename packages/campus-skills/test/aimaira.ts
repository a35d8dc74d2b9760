/**
 * AIMAIRA convention aggregates in their wire form (the JSON the AIMAIRA API and steps give),
 * shaped after the docs' samples (`reference/aimaira/reference/ressources/...`), including
 * properties the mapping does not read, to show they are accepted.
 */
import * as Schema from "effect/Schema"
import { Mapping } from "../src/index.js"

export interface Overrides {
  readonly convention?: Record<string, unknown> | null
  readonly apprenant?: Record<string, unknown> | null
  readonly entreprise?: Record<string, unknown> | null
  readonly maitre?: Record<string, unknown> | null
  readonly enseignant?: Record<string, unknown> | null
  readonly referent?: Record<string, unknown> | null
  readonly sequence?: Record<string, unknown> | null
  readonly programme?: Record<string, unknown> | null
  readonly periode?: Record<string, unknown> | null
  readonly annee?: Record<string, unknown> | null
  readonly site?: Record<string, unknown> | null
}

const merge = (base: Record<string, unknown>, patch: Record<string, unknown> | null | undefined) =>
  patch === null ? null : { ...base, ...patch }

/** Convention `n`: its own learner, company and master; the school's tutor, sequence and programme. */
export const aggregateWire = (n: number, overrides: Overrides = {}): Record<string, unknown> => {
  const wire: Record<string, unknown> = {
    convention: merge({
      "@odata.context": "https://myapi.aimaira.net/GraphV1/$metadata#Convention/$entity",
      Id: 1_000 + n,
      Nom: "",
      Code: `CS${String(n).padStart(8, "0")}`,
      ApprenantId: 2_000 + n,
      SequenceId: 2217285,
      EnseignantId: 2291254,
      EntrepriseId: 3_000 + n,
      MaitreId: 4_000 + n,
      ReferentId: 0,
      DateDebut: "2025-09-01T00:00:00+02:00",
      DateFin: "2027-08-31T00:00:00+02:00",
      DateRupture: null,
      Poste: "",
      Remuneration: 0.0,
      TypeConventionId: 334224,
      EtatConventionId: 334217
    }, overrides.convention),
    apprenant: merge({
      Id: 2_000 + n,
      Nom: "FERNANDEZ",
      Code: `A0${n}`,
      Login: `emmanuel.fernandez${n}`,
      Prenoms: "Emmanuel",
      NomUsage: "FERNANDEZ",
      PrenomUsage: "Emmanuel",
      CiviliteId: 1541,
      MailId: 9_000 + n,
      DateNaissance: "1994-09-01T00:00:00+02:00",
      Mail: { Id: 9_000 + n, Nom: "", Code: "", Adresse: `emmanuel.fernandez${n}@etudiant-exemple.fr`, IsDuplicate: false }
    }, overrides.apprenant),
    entreprise: merge({
      Id: 3_000 + n,
      Nom: `Entreprise ${n}`,
      Code: "",
      SIRET: "",
      MailId: 0
    }, overrides.entreprise),
    maitre: merge({
      Id: 4_000 + n,
      Nom: "LATERAL",
      Code: "",
      Login: "",
      Prenoms: "Antoine",
      NomUsage: "LATERAL",
      PrenomUsage: "Antoine",
      Fonction: "Dirigeant",
      MailId: 9_500 + n,
      EntrepriseId: 3_000 + n,
      Mail: { Id: 9_500 + n, Nom: "", Code: "", Adresse: `antoine.lateral${n}@entreprise${n}.fr`, IsDuplicate: false }
    }, overrides.maitre),
    enseignant: merge({
      Id: 2291254,
      Nom: "PHILIBERT",
      Code: "P00000042",
      Login: "aphilibert",
      Prenoms: "",
      NomUsage: "PHILIBERT",
      PrenomUsage: "Arnaud",
      MailId: 2291252,
      MailEcoleId: 0,
      Email: "arnaud.philibert@ecole-exemple.fr"
    }, overrides.enseignant),
    sequence: merge({
      "@odata.context": "https://myapi.aimaira.net/GraphV1/$metadata#Sequence/$entity",
      Id: 2217285,
      Nom: "26-27 PGE 1 - PROFESSIONNALISATION",
      Code: "",
      ProgrammeId: 2215158,
      TypeSequenceId: 122650,
      Debut: "2025-09-01T00:00:00+02:00",
      Fin: "2026-08-31T00:00:00+02:00",
      LibelleExterne: "26/27 - Professionnalisation",
      ReferentEcoleId: 0,
      ReferentLANEcoleIds: [],
      Campus: null,
      Marque: null,
      LibellePeriode: "2025/2026"
    }, overrides.sequence),
    programme: merge({
      Id: 2215158,
      Nom: "PGE",
      Code: "PGE",
      EntiteJuridiqueId: 2215156,
      EcoleId: 2215157,
      LibelleExterne: "Programme Grande Ecole",
      Marque: "École Exemple",
      Campus: "Campus Saint-Étienne",
      NbAnnee: 3,
      CodeRNCP: "RNCP35125",
      Parametres: [{ Id: 0, Code: "DIPLOM", Valeur: "" }]
    }, overrides.programme)
  }
  if (overrides.referent !== undefined) wire.referent = overrides.referent
  if (overrides.periode !== undefined) wire.periode = overrides.periode
  if (overrides.annee !== undefined) wire.annee = overrides.annee
  if (overrides.site !== undefined) wire.site = overrides.site
  return wire
}

/** The same, decoded as the mapping step decodes its input (extra properties are an error elsewhere). */
export const aggregate = (n: number, overrides: Overrides = {}): Mapping.ConventionAggregate =>
  Schema.decodeUnknownSync(Mapping.ConventionAggregate)(aggregateWire(n, overrides), { onExcessProperty: "error" })
