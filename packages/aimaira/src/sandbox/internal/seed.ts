/**
 * Seeded, realistic French data: the reference lists the documentation shows (civilités, types
 * and états de convention, types de séquence, natures de client, OPCOs, périodes), three
 * programmes with their parcours (one period per year, each holding its sequences) and voies
 * d'entrée, teachers, learners with their e-mail and an inscription linked to the first period
 * of its parcours, and a few existing conventions with companies, masters, tutors and documents. The same seed always
 * gives the same data; ids come from the store's single counter.
 */
import * as Names from "@relais/sandbox-kit/Names"
import * as Prng from "@relais/sandbox-kit/Prng"
import * as Siret from "@relais/sandbox-kit/Siret"
import * as Dates from "./dates.js"
import { entities } from "./model.js"
import { addDocument, create, makeRow, synchronisationAffaire } from "./operations.js"
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

/** The parameter codes of the documented voie d'entrée sample. */
const RECRUTEMENT_PARAMETRES = [
  "templatePreInscription", "templateIdentifiant", "templateComplet", "templateConfirmation", "nomContact",
  "telephoneContact", "mailContact", "templateAcompte", "ouvertAlternance"
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

  // Périodes (school years); 2025/2026 is the current one.
  const periodes = new Map<number, Row>()
  for (let year = 2023; year <= 2027; year++) {
    const nom = `${year}/${year + 1}`
    periodes.set(
      year,
      insert("Periode", {
        Nom: nom, Code: nom, Debut: Dates.parisMidnight(year, 9, 1), Fin: Dates.parisMidnight(year + 1, 8, 31),
        LibelleExterne: nom, EnCours: year === 2025
      })
    )
  }

  // Programmes with their parameters, and for each the parcours of the 2025 intake: one period
  // per year of the programme, each holding that year's sequences (enseignement, période en
  // entreprise, césure), and the voie d'entrée that leads to it.
  const programmes: Array<{ programme: Row; recrutement: Row; first: Row; sequences: Array<Row> }> = []
  const ecoleId = store.nextId()
  const random = root.fork("programmes")
  const yy = (year: number) => String(year % 100).padStart(2, "0")
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
    const parcours = insert("Parcours", { Nom: `25-${yy(2025 + NbAnnee)} Parcours ${Nom}`, ProgrammeId: programme.Id })
    let first: Row | undefined
    let firstSequences: Array<Row> = []
    for (let annee = 1; annee <= NbAnnee; annee++) {
      const year = 2024 + annee
      const periode = periodes.get(year)!
      const parcoursPeriode = insert("ParcoursPeriode", {
        Nom: periode.Nom, ParcoursId: parcours.Id, PeriodeId: periode.Id, AnneeScolaire: annee,
        LibellePeriode: periode.Nom, Debut: periode.Debut, Fin: periode.Fin
      })
      const sequences: Array<Row> = []
      for (const [type, label] of [
        ["COURS", "ENSEIGNEMENT"],
        ["S", "PÉRIODE EN ENTREPRISE"],
        ["C", "CÉSURE"]
      ] as const) {
        const sequence = insert("Sequence", {
          Nom: `${yy(year)}-${yy(year + 1)} ${Nom} ${annee} - ${label}`,
          ProgrammeId: programme.Id,
          TypeSequenceId: typesSequence[type]!.Id,
          Debut: Dates.parisMidnight(year, 9, 1),
          Fin: Dates.parisMidnight(year + 1, 8, 31),
          LibelleExterne: `${Intitule} - ${label.toLowerCase()}`,
          DebutPeriodeCandidature: Dates.parisMidnight(year, 1, 15),
          FinPeriodeCandidature: Dates.parisMidnight(year, 7, 6),
          MobiliteDebut: Dates.parisMidnight(year, 9, 1),
          MobiliteFin: Dates.parisMidnight(year + 1, 8, 31),
          LibellePeriode: String(periode.Nom)
        })
        insert("ParcoursPeriodeSequence", { ParcoursPeriodeId: parcoursPeriode.Id, SequenceId: sequence.Id })
        sequences.push(sequence)
      }
      if (annee === 1) {
        first = periode
        firstSequences = sequences
      }
    }
    const recrutement = insert("Recrutement", {
      Nom: `25-${yy(2025 + NbAnnee)} Voie d’entrée ${Nom}`, ProgrammeId: programme.Id, ParcoursId: parcours.Id,
      LibelleExterne: `Inscription Rentrée 2025 - ${Intitule}`, CodesPieces: "NOTES/", CodesPiecesOptionnelles: "RQTH/",
      Debut: Dates.parisMidnight(2025, 4, 1), Fin: Dates.parisMidnight(2025, 12, 1), Rentree: Dates.parisMidnight(2025, 10, 2),
      Diplomant: true, ReferenceExterneId: store.nextId(), Parametres: RECRUTEMENT_PARAMETRES.map((code) => ({ Code: code }))
    })
    programmes.push({ programme, recrutement, first: first!, sequences: firstSequences })
  }
  // A voie d'entrée without a référence externe: AIMAIRA does not show it in the API.
  insert("Recrutement", {
    Nom: "Voie d’entrée interne", ProgrammeId: programmes[0]!.programme.Id, ParcoursId: 0, LibelleExterne: "Interne",
    Debut: Dates.parisMidnight(2025, 4, 1), Fin: Dates.parisMidnight(2025, 12, 1), Diplomant: false
  })

  // Teachers.
  const staff = root.fork("enseignants")
  const teachers: Array<Row> = []
  for (let i = 0; i < 4; i++) {
    const { male, prenom, nom } = person(staff)
    const mail = insert("Mail", { Adresse: `${ascii(prenom)}.${ascii(nom)}@ecole-exemple.fr` })
    teachers.push(insert("Enseignant", {
      Nom: nom, Code: store.nextCode("enseignant"), Login: `${ascii(prenom)[0]}${ascii(nom)}`, NomUsage: nom,
      PrenomUsage: prenom, Prenoms: prenom, CiviliteId: (male ? civilites.M : civilites.MME).Id, MailId: mail.Id,
      GenreMale: male, IndividuId: store.nextId()
    }))
  }

  // Learners with an e-mail and an inscription linked to the first period of its parcours (so
  // with the inscription-séquences of that period); later years are linked at re-enrolment.
  const learners: Array<{ apprenant: Row; inscription: Row; sequences: Array<Row> }> = []
  const usedMails = new Set<string>()
  const etatInscription = store.nextId()
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
    const { first, programme, recrutement, sequences } = programmes[i % programmes.length]!
    const inscription = insert("Inscription", {
      EntiteJuridiqueId: entiteJuridiqueId, AffaireId: store.nextId(), ApprenantId: apprenant.Id,
      ProgrammeId: programme.Id, RecrutementId: recrutement.Id, EtatInscriptionId: etatInscription,
      RegimeInscriptionId: regimeStage,
      DateInscription: Dates.parisDateTime(2025, people.int(6, 9), people.int(1, 28), people.int(9, 17))
    })
    const linked = create(store, entities.InscriptionPeriode, {
      InscriptionId: inscription.Id, PeriodeId: first.Id, LibellePeriode: first.Nom, Debut: first.Debut, Fin: first.Fin,
      AnneeScolaire: 1, RegimeInscriptionId: regimeStage, EtatInscriptionId: etatInscription
    })
    if (!linked.ok) throw new Error(`seed: ${linked.error.message}`)
    learners.push({ apprenant, inscription, sequences })
  }

  // Existing conventions of 2025/2026, each with its own company. Complete ones have a master
  // with an e-mail and a school tutor (an enseignant, or a référent école); the stage in SAISIE
  // has no master yet.
  const existing: ReadonlyArray<{
    readonly type: Row
    readonly etat: string
    readonly opco: boolean
    readonly maitre: boolean
    readonly enseignant?: number
    readonly referentEcole?: number
  }> = [
    { type: types.APP, etat: "SIGNEDOCUSIGN", opco: true, maitre: true, enseignant: 0 },
    { type: types.PRO, etat: "ENTR", opco: true, maitre: true, referentEcole: 1 },
    { type: types.STG, etat: "SAISIE", opco: false, maitre: false, enseignant: 2 },
    { type: types.APP, etat: "SIGNEDOCUSIGN", opco: true, maitre: true, enseignant: 2 },
    { type: types.PRO, etat: "COMPLET", opco: true, maitre: true, enseignant: 3 }
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
    const maitre = spec.maitre
      ? insert("Professionnel", {
        Nom: nomMaitre, Prenoms: prenom, NomUsage: nomMaitre, PrenomUsage: prenom,
        CiviliteId: (male ? civilites.M : civilites.MME).Id, GenreMale: male, IndividuId: store.nextId(),
        EntrepriseId: entreprise.Id, Fonction: "Maître d'apprentissage",
        MailId: insert("Mail", { Adresse: `${ascii(prenom)}.${ascii(nomMaitre)}@${ascii(Nom)}.fr` }).Id
      })
      : undefined
    const sequence = learner.sequences.find((s) => s.TypeSequenceId === typesSequence.S!.Id)!
    const convention = insert("Convention", {
      Code: store.nextCode("convention"), ApprenantId: learner.apprenant.Id, SequenceId: sequence.Id,
      TypeConventionId: spec.type.Id, EtatConventionId: etats[spec.etat]!.Id, EntrepriseId: entreprise.Id,
      MaitreId: maitre?.Id ?? 0, NatureContratId: spec.type === types.APP ? store.data.modesContractuels[0]!.Id : 0,
      EnseignantId: spec.enseignant === undefined ? 0 : teachers[spec.enseignant]!.Id,
      ReferentEcoleId: spec.referentEcole === undefined ? 0 : teachers[spec.referentEcole]!.Id,
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
