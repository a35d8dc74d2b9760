/**
 * Seeded, realistic French data: the reference lists the documentation shows (civilités, types
 * and états de convention, types de séquence, natures de client, OPCOs), three programmes with
 * their sequences, learners with their e-mail, inscription and inscription-séquences, teachers,
 * and a few existing conventions with companies, masters and documents. The same seed always
 * gives the same data; ids come from the store's single counter.
 */
import * as Names from "@relais/sandbox-kit/Names"
import * as Prng from "@relais/sandbox-kit/Prng"
import * as Siret from "@relais/sandbox-kit/Siret"
import * as Dates from "./dates.js"
import { entities } from "./model.js"
import { addDocument, makeRow, synchronisationAffaire } from "./operations.js"
import { emptyData, type Row, Store } from "./store.js"
import type { CollectionName } from "./model.js"

/** Family names of the kit plus a few with an apostrophe, so quoting is exercised by real data. */
const LAST_NAMES: ReadonlyArray<string> = [...Names.lastNames, "D'Almeida", "N'Diaye", "L'Hermite"]

const COMPANIES = [
  ["Boulangerie Fontaine", "1071C", "Boulangerie et boulangerie-pâtisserie"],
  ["Garage des Tilleuls", "4520A", "Entretien et réparation de véhicules automobiles légers"],
  ["Altis Cyberdéfense", "6202A", "Conseil en systèmes et logiciels informatiques"],
  ["Pharmacie de l'Hôtel de Ville", "4773Z", "Commerce de détail de produits pharmaceutiques"],
  ["Transports Rhône-Alpes Logistique", "4941A", "Transports routiers de fret interurbains"],
  ["Cabinet Moreau & Associés", "6920Z", "Activités comptables"]
] as const

const ascii = (text: string): string => Names.slug(text).replace(/-/g, "")

/** A person as AIMAIRA stores names: family name in capitals. */
const person = (random: Prng.Prng) => {
  const who = Names.person(random)
  return { male: who.civilite === "M.", prenom: who.prenom, nom: random.pick(LAST_NAMES).toUpperCase() }
}

export interface SeedOptions {
  readonly seed: number | string
  /** The first id the global counter hands out. */
  readonly firstId?: number
  /** How many learners to create (each with an e-mail, an inscription and its séquences). */
  readonly learners?: number
}

export const seed = (options: SeedOptions): Store => {
  const root = Prng.make(options.seed)
  const store = new Store(emptyData(options.firstId ?? 2_215_000))
  const insert = (collection: CollectionName, fields: Record<string, unknown>): Row =>
    store.put(collection, makeRow(entities[collection], fields, store.nextId()))

  store.data.entiteJuridiqueId = store.nextId()
  const entiteJuridiqueId = store.data.entiteJuridiqueId

  // Civilités, as listed in the documentation.
  const civilites = {
    MLE: insert("Civilite", { Nom: "Mle", Code: "MLE", NomLong: "Mademoiselle", GenreMale: false }),
    MME: insert("Civilite", { Nom: "Mme", Code: "MME", NomLong: "Madame", GenreMale: false }),
    M: insert("Civilite", { Nom: "M", Code: "M", NomLong: "Monsieur", GenreMale: true })
  }

  // Types de convention (documented codes).
  const regimeStage = store.nextId()
  const types = {
    STG: insert("TypeConvention", { Nom: "Convention de stage", Code: "STG", AvecSignatureEnLigne: true, RegimeId: regimeStage }),
    PRO: insert("TypeConvention", { Nom: "Contrat de professionnalisation", Code: "PRO", AvecSignatureEnLigne: true, RegimeId: store.nextId() }),
    APP: insert("TypeConvention", { Nom: "Contrat d'apprentissage", Code: "APP", AvecSignatureEnLigne: true, RegimeId: store.nextId() }),
    STA: insert("TypeConvention", { Nom: "Convention de stage alterné", Code: "STA", AvecSignatureEnLigne: true, RegimeId: regimeStage })
  }

  // États de convention (documented codes and order).
  const etats: Record<string, Row> = {}
  for (const [Nom, Code, Ordre] of [
    ["En cours de saisie", "SAISIE", 10],
    ["Validé apprenant", "APPRENANT", 20],
    ["Validé école", "DOCUSIGN", 30],
    ["Validé entreprise", "ENTR", 40],
    ["Complet", "COMPLET", 50],
    ["Rupture", "RUPTURE", 60],
    ["Signé", "SIGNEDOCUSIGN", 70]
  ] as const) {
    etats[Code] = insert("EtatConvention", { Nom, Code, Ordre })
  }

  // Modes contractuels (CERFA FA13), in their order.
  store.data.modesContractuels = [
    ["1", "À durée limitée"],
    ["2", "Dans le cadre d'un CDI"],
    ["3", "Entreprise de travail temporaire"],
    ["4", "Activités saisonnières à deux employeurs"]
  ].map(([Code, Nom], index) => ({ Id: store.nextId(), Code: Code!, Nom: Nom!, Ordre: (index + 1) * 10 }))

  // Types de séquence (documented).
  const typesSequence: Record<string, Row> = {}
  for (const [Nom, Code] of [
    ["Enseignement", "COURS"],
    ["Césure", "C"],
    ["Période en entreprise", "S"],
    ["En université partenaire", "OUTGOING"],
    ["Parcours", "PARCOURS"],
    ["Segmenté", "SEGMENTE"]
  ] as const) {
    typesSequence[Code] = insert("TypeSequence", { Nom, Code })
  }

  // Natures de client.
  for (const [Nom, Code, NbJourDelaiPaiement] of [
    ["Entreprise", "ENTREPRISE", 30],
    ["Organisme Financeur", "OPCO", 45],
    ["Apprenant", "APPRENANT", 0],
    ["Père", "PERE", 0],
    ["Mère", "MERE", 0]
  ] as const) {
    insert("NatureClient", { Nom, Code, NbJourDelaiPaiement })
  }

  // OPCOs as organismes financeurs.
  const opcos: Array<Row> = []
  for (const [index, [Nom, LibelleExterne]] of [
    ["AFDAS", "AFDAS"],
    ["AKTO", "AKTO - OPCO DES ENTREPRISES ET DES SALARIÉS À FORTE INTENSITÉ DE MAIN-D’ŒUVRE"],
    ["ATLAS", "ATLAS"],
    ["CONSTRUCTYS", "CONSTRUCTYS"],
    ["OCAPIAT", "OCAPIAT"],
    ["OPCO 2i", "OPCO 2i - INTERINDUSTRIEL"],
    ["OPCO EP", "OPCO DES ENTREPRISES DE PROXIMITÉ"],
    ["OPCO MOBILITÉS", "OPCO MOBILITÉS"],
    ["OPCO SANTÉ", "OPCO SANTÉ"],
    ["OPCO COMMERCE", "L'OPCOMMERCE"],
    ["UNIFORMATION", "UNIFORMATION - OPCO DE LA COHÉSION SOCIALE"]
  ].entries()) {
    opcos.push(
      insert("OrganismeFinanceur", {
        Nom,
        Code: `OFP${index + 1}`,
        EntiteJuridiqueId: entiteJuridiqueId,
        RefClient: store.nextId(),
        LibelleExterne
      })
    )
  }

  // Programmes, with their parameters and their 2025/2026 sequences.
  const programmes: Array<{ programme: Row; sequences: Array<Row> }> = []
  const ecoleId = store.nextId()
  const random = root.fork("programmes")
  for (const [Code, Nom, Intitule, niveau, NbAnnee] of [
    ["PGE", "PGE", "Programme Grande Ecole", "Niveau 7", 3],
    ["BTSMCO", "BTS MCO", "BTS Management Commercial Opérationnel", "Niveau 5", 2],
    ["BACHRH", "Bachelor RH", "Bachelor Responsable Ressources Humaines", "Niveau 6", 1]
  ] as const) {
    const programme = insert("Programme", {
      Nom, Code, EntiteJuridiqueId: entiteJuridiqueId, EcoleId: ecoleId, diplomeViseFA13Id: store.nextId(),
      IntitulePrecisDiplomeCERFA: Intitule, CodeDroit: Code, Marque: "Ecole", Campus: "Campus Lyon", AgeMin: 16,
      AgeMax: 100, NbAnnee, LibelleExterne: Intitule, NiveauViseLibelleExterne: niveau, LibelleRNCP: Intitule,
      EnqueteSISE: true, CodeRNCP: String(random.int(10000, 39999))
    })
    insert("ProgrammeParametre", { Code: "DIPLOM", Valeur: "", ProgrammeId: programme.Id })
    insert("ProgrammeParametre", { Code: "COMPOS", Valeur: "", ProgrammeId: programme.Id })
    const sequences: Array<Row> = []
    for (const [type, label] of [
      ["COURS", "ENSEIGNEMENT"],
      ["S", "PÉRIODE EN ENTREPRISE"],
      ["C", "CÉSURE"]
    ] as const) {
      sequences.push(
        insert("Sequence", {
          Nom: `25-26 ${Nom} 1 - ${label}`,
          ProgrammeId: programme.Id,
          TypeSequenceId: typesSequence[type]!.Id,
          Debut: Dates.parisMidnight(2025, 9, 1),
          Fin: Dates.parisMidnight(2026, 8, 31),
          LibelleExterne: `${Intitule} - ${label.toLowerCase()}`,
          DebutPeriodeCandidature: Dates.parisMidnight(2025, 1, 15),
          FinPeriodeCandidature: Dates.parisMidnight(2025, 7, 6),
          MobiliteDebut: Dates.parisMidnight(2025, 9, 1),
          MobiliteFin: Dates.parisMidnight(2026, 8, 31),
          LibellePeriode: "2025/2026"
        })
      )
    }
    programmes.push({ programme, sequences })
  }

  // Teachers.
  const teachers = root.fork("enseignants")
  for (let i = 0; i < 4; i++) {
    const { male, prenom, nom } = person(teachers)
    const mail = insert("Mail", { Adresse: `${ascii(prenom)}.${ascii(nom)}@ecole-exemple.fr` })
    insert("Enseignant", {
      Nom: nom, Code: store.nextCode("enseignant"), Login: `${ascii(prenom)[0]}${ascii(nom)}`, NomUsage: nom,
      PrenomUsage: prenom, Prenoms: prenom, CiviliteId: (male ? civilites.M : civilites.MME).Id, MailId: mail.Id,
      GenreMale: male, IndividuId: store.nextId()
    })
  }

  // Learners with an e-mail, an inscription and its inscription-séquences.
  const learners: Array<{ apprenant: Row; inscription: Row; sequences: Array<Row> }> = []
  const usedMails = new Set<string>()
  const count = options.learners ?? 12
  const people = root.fork("apprenants")
  for (let i = 0; i < count; i++) {
    const { male, prenom, nom } = person(people)
    let adresse = `${ascii(prenom)}.${ascii(nom)}@etudiant-exemple.fr`
    for (let n = 2; usedMails.has(adresse); n++) adresse = `${ascii(prenom)}.${ascii(nom)}${n}@etudiant-exemple.fr`
    usedMails.add(adresse)
    const mail = insert("Mail", { Adresse: adresse })
    const apprenant = insert("Apprenant", {
      Nom: nom, Code: store.nextCode("apprenant"), Login: adresse.split("@")[0], Prenoms: prenom, NomUsage: nom,
      PrenomUsage: prenom, CiviliteId: (male ? civilites.M : civilites.MME).Id, MailId: mail.Id,
      DateNaissance: Dates.parisMidnight(people.int(1998, 2007), people.int(1, 12), people.int(1, 28)),
      GenreMale: male, IndividuId: store.nextId(), NumeroIne: ""
    })
    const { programme, sequences } = programmes[i % programmes.length]!
    const inscription = insert("Inscription", {
      EntiteJuridiqueId: entiteJuridiqueId, AffaireId: store.nextId(), ApprenantId: apprenant.Id,
      ProgrammeId: programme.Id, RecrutementId: store.nextId(), EtatInscriptionId: store.nextId(),
      RegimeInscriptionId: regimeStage,
      DateInscription: Dates.parisDateTime(2025, people.int(6, 9), people.int(1, 28), people.int(9, 17))
    })
    for (const sequence of sequences) {
      insert("InscriptionSequence", { ApprenantId: apprenant.Id, SequenceId: sequence.Id, InscriptionId: inscription.Id })
    }
    learners.push({ apprenant, inscription, sequences })
  }

  // A few existing conventions, each with its own company and master.
  const existing = [
    { type: types.APP, etat: "SIGNEDOCUSIGN", opco: true },
    { type: types.PRO, etat: "ENTR", opco: true },
    { type: types.STG, etat: "SAISIE", opco: false }
  ]
  const companies = root.fork("entreprises")
  for (const [index, spec] of existing.entries()) {
    const learner = learners[index]
    if (learner === undefined) break
    const [Nom, NAF] = COMPANIES[index % COMPANIES.length]!
    const siren = Siret.siren(companies)
    const siret = Siret.siret(companies, siren)
    const tvaKey = String((12 + 3 * (Number(siren) % 97)) % 97).padStart(2, "0")
    const entreprise = insert("Entreprise", {
      Nom, SIRET: siret, NAF, TVAintracommunautaire: `FR${tvaKey}${siren}`, IDCC: String(companies.int(1000, 3000)),
      Effectif: String(companies.int(3, 250)), MailId: insert("Mail", { Adresse: `contact@${ascii(Nom)}.fr` }).Id
    })
    const { male, prenom, nom: nomMaitre } = person(companies)
    const maitre = insert("Professionnel", {
      Nom: nomMaitre, Prenoms: prenom, NomUsage: nomMaitre, PrenomUsage: prenom,
      CiviliteId: (male ? civilites.M : civilites.MME).Id, GenreMale: male, IndividuId: store.nextId(),
      EntrepriseId: entreprise.Id
    })
    const sequence = learner.sequences.find((s) => s.TypeSequenceId === typesSequence.S!.Id)!
    const convention = insert("Convention", {
      Code: store.nextCode("convention"), ApprenantId: learner.apprenant.Id, SequenceId: sequence.Id,
      TypeConventionId: spec.type.Id, EtatConventionId: etats[spec.etat]!.Id, EntrepriseId: entreprise.Id,
      MaitreId: maitre.Id, NatureContratId: spec.type === types.APP ? store.data.modesContractuels[0]!.Id : 0,
      DateDebut: Dates.parisMidnight(2025, 9, 15), DateFin: Dates.parisMidnight(2027, 8, 31),
      DebutFormation: Dates.parisMidnight(2025, 9, 1), FinFormation: Dates.parisMidnight(2027, 8, 31),
      DateConclusion: Dates.parisMidnight(2025, 9, 1), Remuneration: spec.type === types.STG ? 0 : 1_261.76,
      Poste: spec.type === types.STG ? "Stagiaire" : "Apprenti(e)", NbHeureFormation: 1_200
    })
    if (spec.opco) {
      insert("ConventionOrganismeFinanceur", { ConventionId: convention.Id, OrganismeFinanceurId: companies.pick(opcos).Id })
      insert("Remuneration", {
        ConventionId: convention.Id, Annee: 1, Debut1: Dates.parisMidnight(2025, 9, 15),
        Fin1: Dates.parisMidnight(2026, 9, 14), Pourcentage1: 53, SalaireMin1: "SMIC", SalaireMin2: "-"
      })
    }
    if (spec.etat !== "SAISIE") {
      addDocument(store, convention.Id, `${String(convention.Code)} - Convention signée.pdf`)
      addDocument(store, convention.Id, `${String(convention.Code)} - Annexe pédagogique.pdf`)
    }
    if (spec.etat === "SIGNEDOCUSIGN") synchronisationAffaire(store, convention.Id)
  }
  return store
}
