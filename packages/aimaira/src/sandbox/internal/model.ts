/**
 * The GraphV1 entity model the sandbox serves: every entity's fields (with their type and the
 * value a field takes when it is omitted), required fields, references and navigation
 * properties. Field lists and defaults come from the JSON samples of the vendor documentation
 * (the create responses where there is one); see the package README for the assumptions.
 */

export type FieldKind = "string" | "int" | "decimal" | "boolean" | "date" | "array"

export interface FieldSpec {
  readonly kind: FieldKind
  /** The value the field takes on create and on a full update that omits it. */
  readonly default: unknown
  /**
   * Hidden fields are stored, filterable, sortable and selectable by name, but not part of the
   * default representation (the documentation does not show them).
   */
  readonly hidden?: boolean
}

export type Navigation =
  /** Single-valued: follows `fk` on this entity to the target's `Id`. */
  | { readonly kind: "one"; readonly target: CollectionName; readonly fk: string }
  /** Collection-valued: target rows whose `fk` equals this entity's `Id`. */
  | { readonly kind: "many"; readonly target: CollectionName; readonly fk: string }

export interface EntityDef {
  /** The entity type name (`GraphV1.<name>` in error messages). */
  readonly name: string
  readonly collection: CollectionName
  readonly fields: Readonly<Record<string, FieldSpec>>
  /** Fields that must be present and non-empty (non-null, non-zero id, non-empty string). */
  readonly required: ReadonlyArray<string>
  /** Id fields that, when non-zero, must point at an existing row of the given collection. */
  readonly references: Readonly<Record<string, CollectionName>>
  readonly navigation: Readonly<Record<string, Navigation>>
  /** Reference data the documentation only lists: writes answer 405. */
  readonly readOnly: boolean
  /** Navigation properties expanded in collection responses without `$expand`. */
  readonly defaultCollectionExpand?: ReadonlyArray<string>
  /** Rows the API shows; the others exist (other rows may point at them) but answer 404. */
  readonly visible?: (row: Readonly<Record<string, unknown>>) => boolean
}

export type CollectionName =
  | "Mail"
  | "Civilite"
  | "Apprenant"
  | "Programme"
  | "Inscription"
  | "TypeSequence"
  | "Sequence"
  | "InscriptionSequence"
  | "TypeConvention"
  | "EtatConvention"
  | "Convention"
  | "Entreprise"
  | "Professionnel"
  | "OrganismeFinanceur"
  | "ConventionOrganismeFinanceur"
  | "Remuneration"
  | "Client"
  | "NatureClient"
  | "Enseignant"
  | "ProgrammeParametre"
  | "Periode"
  | "Parcours"
  | "ParcoursPeriode"
  | "ParcoursPeriodeSequence"
  | "Recrutement"
  | "InscriptionPeriode"

const str = (d: string | null = ""): FieldSpec => ({ kind: "string", default: d })
const int = (d: number | null = 0): FieldSpec => ({ kind: "int", default: d })
const dec = (d: number | null = 0): FieldSpec => ({ kind: "decimal", default: d })
const bool = (d = false): FieldSpec => ({ kind: "boolean", default: d })
const date = (): FieldSpec => ({ kind: "date", default: null })
const list = (): FieldSpec => ({ kind: "array", default: [] })
const hiddenInt = (): FieldSpec => ({ kind: "int", default: 0, hidden: true })

/** The fields every person-like entity (Apprenant, Professionnel, Client, Enseignant) shares. */
const person = {
  Nom: str(), Code: str(), Login: str(), Prenoms: str(), NomUsage: str(), PrenomUsage: str(),
  Prenom2: str(), Prenom3: str(), NomJeuneFille: str(), Fonction: str(), VilleNaissance: str(),
  DepartementNaissance: str(), CodeCommuneNaissance: str(), CiviliteId: int(), AdresseId: int(),
  MailId: int(), TelephoneId: int(), MobileId: int(), Nationalite1Id: int(), Nationalite2Id: int(),
  PaysNaissanceId: int(), DateNaissance: date(), GenreMale: bool(), Handicap: bool(), RefSysteme: str(),
  AutoriseCRM: bool(), HasChosenRGPD: bool(), HasChosenMarketing: bool()
} as const

const def = (
  d: Omit<EntityDef, "required" | "references" | "navigation" | "readOnly"> & Partial<EntityDef>
): EntityDef => ({ required: [], references: {}, navigation: {}, readOnly: false, ...d })

export const entities: Readonly<Record<CollectionName, EntityDef>> = {
  Mail: def({
    name: "Mail",
    collection: "Mail",
    fields: { Nom: str(), Code: str(), Adresse: str(), IsDuplicate: bool() },
    required: ["Adresse"]
  }),
  Civilite: def({
    name: "Civilite",
    collection: "Civilite",
    fields: { Nom: str(), Code: str(), NomLong: str(), GenreMale: bool() },
    readOnly: true
  }),
  Apprenant: def({
    name: "Apprenant",
    collection: "Apprenant",
    fields: {
      ...person, Tuteur1Id: int(), Tuteur2Id: int(), EntrepriseId: int(), IndividuId: int(),
      NumeroIne: str(null), NumeroInsee: str(), Photo: str(null), RestreintPedagogie: bool(),
      RestreintFinance: bool(), ESI: str()
    },
    required: ["CiviliteId", "MailId", "Nom", "Prenoms"],
    references: { CiviliteId: "Civilite", MailId: "Mail" },
    navigation: {
      Mail: { kind: "one", target: "Mail", fk: "MailId" },
      Civilite: { kind: "one", target: "Civilite", fk: "CiviliteId" },
      Inscriptions: { kind: "many", target: "Inscription", fk: "ApprenantId" },
      InscriptionSequences: { kind: "many", target: "InscriptionSequence", fk: "ApprenantId" },
      Conventions: { kind: "many", target: "Convention", fk: "ApprenantId" }
    }
  }),
  Programme: def({
    name: "Programme",
    collection: "Programme",
    fields: {
      Nom: str(), Code: str(), EntiteJuridiqueId: int(), EtablissementId: int(), EcoleId: int(),
      diplomeViseEJ20Id: int(), diplomeViseFA13Id: int(), IntitulePrecisDiplomeCERFA: str(), CodeDroit: str(),
      CodeAnalytique: str(), Extension: str(), Marque: str(), Campus: str(null), SC: str(), AgeMin: int(),
      AgeMax: int(), NbAnnee: int(), LibelleExterne: str(), TemplateUserId: int(), NiveauViseLibelleExterne: str(),
      LibelleRNCP: str(), EnqueteSISE: bool(), EnqueteCTI: bool(), EnqueteSISEDiplom: str(),
      EnqueteSISECompos: str(), CodeRNCP: str(null)
    },
    required: ["Nom", "Code", "EntiteJuridiqueId", "EcoleId", "CodeDroit", "CodeAnalytique"],
    navigation: {
      Parametres: { kind: "many", target: "ProgrammeParametre", fk: "ProgrammeId" },
      Sequences: { kind: "many", target: "Sequence", fk: "ProgrammeId" }
    },
    // The documented list answers `#Programme(Parametres())` with the parameters inline.
    defaultCollectionExpand: ["Parametres"]
  }),
  ProgrammeParametre: def({
    name: "ProgrammeParametre",
    collection: "ProgrammeParametre",
    fields: { Code: str(), Valeur: str(), ProgrammeId: hiddenInt() },
    readOnly: true
  }),
  Inscription: def({
    name: "Inscription",
    collection: "Inscription",
    fields: {
      Nom: str(), Code: str(), EntiteJuridiqueId: int(), Date: date(), CommentaireId: int(), Contentieux: bool(),
      AffaireId: int(), ApprenantId: int(), ProgrammeId: int(), RecrutementId: int(), EtatInscriptionId: int(),
      RegimeInscriptionId: int(), DateInscription: date(), DateSortie: date(), OrigineId: int(),
      SituationPrecedenteId: int(), BaccalaureatId: int(), MentionId: int(), SpecialiteBaccalaureat1Id: int(),
      SpecialiteBaccalaureat2Id: int(), TypePrepaId: int(), DernierDiplomeId: int(), DomaineDiplomeId: int(),
      DernierDiplomeLibelle: str(), CPDernierEtablissement: str(), VilleDernierEtablissement: str(),
      DernierEtablissement: str(), MotifDesinscription: str(), DiplomeRequis: bool(), Convention: bool(),
      PieceIdentite: bool(), AttestationBourse: bool(), ConditionsGenerales: bool(), DernierReleveNote: bool(),
      AttestationResponsabiliteCivile: bool(), AccompteVerse: bool(), ReferenceRecrutement: str(),
      DateArrivee: date(), LogistiqueArrivee: str(), NoteUrgenceId: int(), NoteDiversAdministratifId: int(),
      MailEcoleId: int(), AnneeBac: str(), DepartementBac: str(), VilleBac: str(), EtablissementBac: str(),
      SpecialiteBac: str(), NoteBac: dec(null), PaysBacId: int(), PaysDernierEtablissementId: int(),
      NumeroDiplome: str(), MentionDiplome: str(), DetailOrigine: str(), DatePremiereConnexion: date(),
      EtablissementDernierDiplomeId: int(), ResponseSurveyId: int(), EtablissementBaccalaureatId: int(),
      DateJuryAdmission: date(), DerniereMiseAJourCRM: date(), OffreCrm: str(), EnCoursBac: bool()
    },
    required: [
      "ApprenantId", "ProgrammeId", "RegimeInscriptionId", "RecrutementId", "EtatInscriptionId", "DateInscription"
    ],
    references: { ApprenantId: "Apprenant", ProgrammeId: "Programme" },
    navigation: {
      Apprenant: { kind: "one", target: "Apprenant", fk: "ApprenantId" },
      Programme: { kind: "one", target: "Programme", fk: "ProgrammeId" },
      InscriptionSequences: { kind: "many", target: "InscriptionSequence", fk: "InscriptionId" },
      InscriptionPeriodes: { kind: "many", target: "InscriptionPeriode", fk: "InscriptionId" }
    }
  }),
  TypeSequence: def({
    name: "TypeSequence",
    collection: "TypeSequence",
    fields: { Nom: str(), Code: str() },
    readOnly: true
  }),
  Sequence: def({
    name: "Sequence",
    collection: "Sequence",
    fields: {
      Nom: str(), Code: str(), ProgrammeId: int(), TypeSequenceId: int(), EtablissementId: int(), CycleId: int(),
      Debut: date(), Fin: date(), Concomitant: bool(), CreditsAuGlobal: bool(), BulletinSurIntranet: bool(),
      ReleveSurIntranet: bool(), LibelleExterne: str(), ReferentEcoleId: int(), CodesPieces: str(),
      CodesPiecesOptionnelles: str(), OuvertCandidature: bool(), DisplayPlanning: bool(), SurveyId: int(),
      SurveyCalendrierId: int(), SurveyEntrepriseId: int(), ScenarioLANId: int(), ReferentLANEcoleIds: list(),
      LibelleDemarche: str(), TitreDemarche: str(), DescriptifDemarche: str(), DebutPeriodeCandidature: date(),
      FinPeriodeCandidature: date(), MobiliteDebut: date(), MobiliteFin: date(), ConclusionDemarche: str(),
      EcheancierFacturationApprentissageId: int(), EcheancierFacturationProId: int(), CompetencesAcquerirId: int(),
      NbSequenceFille: int(), NbSequencePere: int(), Campus: str(null), Marque: str(null), LibellePeriode: str(),
      Credits: dec(), Coefficient: dec(), RegleId: int(), MoyenneNotes: dec(), NoteMin: dec(), NoteMax: dec(),
      DateJurySession1: date(), DateJurySession2: date(), SequenceAnnuelleId: int(null), SegmentId: int(null),
      EstUtiliseeDansParcoursBase: bool(), DureeFormation: dec(null), NbHeureFormationDistancielle: dec(null)
    },
    required: ["Nom", "ProgrammeId", "TypeSequenceId"],
    references: { ProgrammeId: "Programme", TypeSequenceId: "TypeSequence" },
    navigation: {
      TypeSequence: { kind: "one", target: "TypeSequence", fk: "TypeSequenceId" },
      Programme: { kind: "one", target: "Programme", fk: "ProgrammeId" }
    }
  }),
  InscriptionSequence: def({
    name: "InscriptionSequence",
    collection: "InscriptionSequence",
    fields: {
      Nom: str(), Code: str(), ApprenantId: int(), SequenceId: int(), RedoublementPartiel: bool(),
      PourcentageCorrectionNote: dec(), PointsCorrectionNote: dec(null), CreditBonus: dec(null), CreditJury: dec(),
      Precision: str(), AppreciationId: int(), EtatCandidatureParcoursId: int(), ReponseSurveyCandidatureId: int(),
      ValidationInfosPerso: date(), ValidationGlobale: date(), DateDesinscription: date(),
      RelanceApprenant: bool(), ContentieuxApprenant: bool(), RelanceReferentFinancier: bool(), Note: dec(null),
      NoteAvantRattrapage: dec(null), Valide: bool(), Rattrape: bool(), NbCredits: dec(null),
      DetailValidation: str(), SommePonderation: dec(null), NoteFinale: dec(null), CreditFinal: dec(null),
      NoteSurcharge: dec(null), CreditAvantRattrapage: dec(null), CreditSurcharge: dec(null), NoteRetenu: dec(null),
      CreditRetenu: dec(null), DecisionJuryId: int(), CreditMax: dec(null),
      // Not in the documented samples, but the documented query selects by inscription.
      InscriptionId: hiddenInt()
    },
    required: ["ApprenantId", "SequenceId"],
    references: { ApprenantId: "Apprenant", SequenceId: "Sequence", InscriptionId: "Inscription" },
    navigation: {
      Sequence: { kind: "one", target: "Sequence", fk: "SequenceId" },
      Apprenant: { kind: "one", target: "Apprenant", fk: "ApprenantId" },
      Inscription: { kind: "one", target: "Inscription", fk: "InscriptionId" }
    }
  }),
  TypeConvention: def({
    name: "TypeConvention",
    collection: "TypeConvention",
    fields: { Nom: str(), Code: str(), AvecSignatureEnLigne: bool(), RegimeId: int() },
    readOnly: true
  }),
  EtatConvention: def({
    name: "EtatConvention",
    collection: "EtatConvention",
    fields: {
      Nom: str(), Code: str(), Ordre: int(), MailUserId: int(), MailInformationId: int(),
      AfficheSuiviTransmission: bool(), EnvoiCfadock: bool(), ProgrammeTypeConventionId: int()
    },
    readOnly: true
  }),
  Convention: def({
    name: "Convention",
    collection: "Convention",
    fields: {
      Nom: str(), Code: str(), ProvenanceOffreId: int(), FonctionExerceId: int(), TypeContratApprentissageId: int(),
      TypeContratProfessionnalisationId: int(), DiplomePlusEleveProfessionnalisationId: int(),
      DernierDiplomePrepareProfessionalisationId: int(), DiplomeViseId: int(null), DernierDiplomePrepareId: int(null),
      DiplomePlusEleveId: int(null), DerniereClasseId: int(), SituationAvantContratApprentissageId: int(),
      SituationAvantContratProfessionnalisationId: int(), RythmeProfessionnalisationId: int(),
      RythmeApprentissageId: int(), TypeDerogationId: int(), ApprenantId: int(), SequenceId: int(),
      EnseignantId: int(), EntrepriseId: int(), SignataireId: int(), MaitreId: int(), MaitreBisId: int(),
      ReferentId: int(), Remuneration: dec(), CoutFormation: dec(), CoutFormationOrganismeFinanceur: dec(),
      CoutFormationResteChargeEntreprise: dec(), EstLieuDeFormationPrincipal: bool(), AutreLieuFormationId: int(),
      MissionId: int(), DateRupture: date(), DateFinMaintienFormation: date(), MotifRuptureId: int(),
      DateDebutSaisie: date(), Avenant: bool(), ConventionOrigineId: int(), DateValidationApprenant: date(),
      DateValidationEcole: date(), DateValidationEnseignant: date(), DateValidationEntreprise: date(),
      DateValidationMaitre: date(), DateDebut: date(), DateFin: date(), TypeConventionId: int(),
      MinimumSocialProfessionnalisationId: int(), EtatConventionId: int(), NbJourPeriodeEssai: int(),
      DureePoleEmploi: int(), ClassificationEmploi: str(), Subrogation: bool(), InscritPoleEmploi: bool(),
      NbHeureFormation: dec(), NbHeureEnseignement: dec(), NbHeureOPCA: dec(), NbHeureEntreprise: dec(),
      NumeroPoleEmploi: str(), Poste: str(), NiveauPoste: str(), CoeficientHierarchique: str(), ReferenceId: int(),
      NatureContratId: int(), OrganismeFormation: str(), TypeQualification: str(), OrigineContratId: int(),
      ReferentEcoleId: int(), CompetencesAcquerirId: int(), NbJourConges: str(), NbJourPresence: dec(),
      AvantageAccordId: int(), RemunerationHoraire: dec(), StageEtranger: bool(), RemunerationNette: bool(),
      CasParticulierId: int(), CommentaireId: int(), DureeEffective: dec(), DureeEffectiveHeure: dec(),
      DebutFormation: date(), FinFormation: date(), Devise: str("Euro"), PeriodeConventionId: int(),
      NombreOrganismeFormation: int(), OrganismeFormationInterne: bool(), IdMotifAvenant: int(),
      MotifAvenant: str(null), TauxEntreprise: dec(), TauxOPCA: dec(), TravailHandicape: bool(),
      InscritListeSportive: bool(), ProjetEntreprise: bool(), RegimeSocial: str(), AssuranceChomage: bool(),
      AvantageAutre: str(), AvantageLogement: dec(null), AvantageNourriture: dec(null), CaisseRetraite: str(),
      NumContrat: str(), NumCommande: str(), DateFinEssai: date(), DateAvenant: date(), TravailDangereux: bool(),
      AttesteEnsembleDoc: bool(), LanId: int(null), IdClasseAnneeDerniere: int(null), IdDepartement: int(null),
      DateConclusion: date()
    },
    required: ["ApprenantId", "TypeConventionId", "SequenceId"],
    references: {
      ApprenantId: "Apprenant", TypeConventionId: "TypeConvention", SequenceId: "Sequence",
      EtatConventionId: "EtatConvention", EntrepriseId: "Entreprise", EnseignantId: "Enseignant",
      SignataireId: "Professionnel", MaitreId: "Professionnel", MaitreBisId: "Professionnel",
      ReferentId: "Professionnel", ReferentEcoleId: "Enseignant"
    },
    navigation: {
      Apprenant: { kind: "one", target: "Apprenant", fk: "ApprenantId" },
      Sequence: { kind: "one", target: "Sequence", fk: "SequenceId" },
      TypeConvention: { kind: "one", target: "TypeConvention", fk: "TypeConventionId" },
      EtatConvention: { kind: "one", target: "EtatConvention", fk: "EtatConventionId" },
      Entreprise: { kind: "one", target: "Entreprise", fk: "EntrepriseId" },
      Enseignant: { kind: "one", target: "Enseignant", fk: "EnseignantId" },
      Signataire: { kind: "one", target: "Professionnel", fk: "SignataireId" },
      Maitre: { kind: "one", target: "Professionnel", fk: "MaitreId" },
      MaitreBis: { kind: "one", target: "Professionnel", fk: "MaitreBisId" },
      Referent: { kind: "one", target: "Professionnel", fk: "ReferentId" },
      // Assumed: the référent école is a member of the school's staff, an Enseignant.
      ReferentEcole: { kind: "one", target: "Enseignant", fk: "ReferentEcoleId" },
      ConventionOrganismeFinanceurs: { kind: "many", target: "ConventionOrganismeFinanceur", fk: "ConventionId" },
      Remunerations: { kind: "many", target: "Remuneration", fk: "ConventionId" }
    }
  }),
  Entreprise: def({
    name: "Entreprise",
    collection: "Entreprise",
    fields: {
      Nom: str(), Code: str(), AdresseId: int(), MailId: int(), TelephoneId: int(), CaisseRetraite: str(),
      CaissePrevoyance: str(), SIRET: str(), NAF: str(), TVAintracommunautaire: str(), ConventionCollective: str(),
      IDCC: str(), IsParticulierEmployeur: bool(), NumUrssafParticulierEmployeur: str(), Effectif: str(),
      RefCompte: int(), FormeJuridiqueId: int(), TauxEntreprise: dec(), AutreInformation: str(), NumeroProjet: str()
    },
    references: { MailId: "Mail" },
    navigation: { Mail: { kind: "one", target: "Mail", fk: "MailId" } }
  }),
  Professionnel: def({
    name: "Professionnel",
    collection: "Professionnel",
    fields: {
      ...person, Fonction: str("Dirigeant"), IndividuId: int(), EntrepriseId: int(), DiplomeApprentissageId: int(),
      InseeNumber: str(null), Promotion: str(), CodeActiviteEntrepriseUtilisatriceNAF: str(null)
    },
    required: ["CiviliteId", "Nom", "Prenoms", "NomUsage", "PrenomUsage"],
    references: { CiviliteId: "Civilite", MailId: "Mail", EntrepriseId: "Entreprise" },
    navigation: {
      Civilite: { kind: "one", target: "Civilite", fk: "CiviliteId" },
      Mail: { kind: "one", target: "Mail", fk: "MailId" },
      Entreprise: { kind: "one", target: "Entreprise", fk: "EntrepriseId" }
    }
  }),
  OrganismeFinanceur: def({
    name: "OrganismeFinanceur",
    collection: "OrganismeFinanceur",
    fields: {
      Nom: str(), Code: str(), EntiteJuridiqueId: int(), RefClient: int(), AdresseId: int(), EntrepriseId: int(null),
      CommentaireId: int(), ContactId: int(null), NouvelleReference: int(), LibelleExterne: str(), ClefCFADock: str(),
      CFADockdossier: bool(), CFADockfacture: bool(), FA13v10: bool()
    },
    readOnly: true
  }),
  ConventionOrganismeFinanceur: def({
    name: "ConventionOrganismeFinanceur",
    collection: "ConventionOrganismeFinanceur",
    fields: {
      Nom: str(null), Code: str(null), ConventionId: int(), OrganismeFinanceurId: int(),
      OrganismeFinanceurFacturationId: int(), NumeroDossier: str(), NumeroDECA: str(), NumeroInterne: str(),
      StatutCFADOCK: str(), StatutTransmission: str(), DateEnvoiCFADOCK: date(), DateTransmissionHorsCFADOCK: date(),
      CodeAdherent: str(), DateReception: date(), DateEnvoi: date(), TypePriseCharge: str("Entreprise"),
      TauxHoraire: dec(null), EcheancierEntrepriseId: int(), GestionnaireDossierId: int(), AutreContactId: int(),
      DernierCertificatEnvoye: bool()
    },
    required: ["ConventionId", "OrganismeFinanceurId"],
    references: { ConventionId: "Convention", OrganismeFinanceurId: "OrganismeFinanceur" },
    navigation: {
      Convention: { kind: "one", target: "Convention", fk: "ConventionId" },
      OrganismeFinanceur: { kind: "one", target: "OrganismeFinanceur", fk: "OrganismeFinanceurId" }
    }
  }),
  Remuneration: def({
    name: "Remuneration",
    collection: "Remuneration",
    fields: {
      Nom: str(), Code: str(), Debut1: date(), Fin1: date(), Pourcentage1: dec(), SalaireMin1: str("-"),
      Debut2: date(), Fin2: date(), Pourcentage2: dec(), SalaireMin2: str("-"), Annee: int(), ConventionId: int()
    },
    required: ["ConventionId", "Annee"],
    references: { ConventionId: "Convention" },
    navigation: { Convention: { kind: "one", target: "Convention", fk: "ConventionId" } }
  }),
  Client: def({
    name: "Client",
    collection: "Client",
    fields: {
      ...person, EntrepriseId: int(), SignataireId: int(null), Douteux: bool(), EntiteJuridiqueId: int(),
      NatureClientId: int(), ReferenceId: int(null), ContactId: int(null), TVAintracommunautaire: str(null)
    },
    required: ["Nom", "Prenoms", "EntiteJuridiqueId", "NatureClientId"],
    references: { NatureClientId: "NatureClient", EntrepriseId: "Entreprise" },
    navigation: {
      NatureClient: { kind: "one", target: "NatureClient", fk: "NatureClientId" },
      Entreprise: { kind: "one", target: "Entreprise", fk: "EntrepriseId" }
    }
  }),
  NatureClient: def({
    name: "NatureClient",
    collection: "NatureClient",
    fields: { Nom: str(), Code: str(), NbJourDelaiPaiement: int(), NatureId: int() },
    readOnly: true
  }),
  Enseignant: def({
    name: "Enseignant",
    collection: "Enseignant",
    fields: {
      ...person, EntrepriseId: int(), EntiteJuridiqueId: int(), IndividuId: int(), DiplomeON: bool(),
      DoctoratON: bool(), Profession: str(), Promotion: str(), Discipline: str(), NumeroINSEE: str(),
      NumeroURSSAF: str(), NumeroSIREN: str(), NumeroTVAintraCommunautaire: str(), DernierDiplome: str(),
      MatriculeRH: str(), NumeroRCS: str(), MailEcoleId: int(), BatimentId: int(), Photo: str(null)
    },
    readOnly: true,
    navigation: { Mail: { kind: "one", target: "Mail", fk: "MailId" } }
  }),
  Periode: def({
    name: "Periode",
    collection: "Periode",
    fields: { Nom: str(), Code: str(), Debut: date(), Fin: date(), LibelleExterne: str(), EnCours: bool() },
    readOnly: true
  }),
  Parcours: def({
    name: "Parcours",
    collection: "Parcours",
    fields: { Nom: str(), Code: str(), ProgrammeId: int() },
    readOnly: true,
    navigation: {
      ParcoursPeriodes: { kind: "many", target: "ParcoursPeriode", fk: "ParcoursId" },
      Programme: { kind: "one", target: "Programme", fk: "ProgrammeId" }
    }
  }),
  /** Only reachable through `Parcours`' `ParcoursPeriodes` (the documented `$expand`). */
  ParcoursPeriode: def({
    name: "ParcoursPeriode",
    collection: "ParcoursPeriode",
    fields: {
      Nom: str(), Code: str(), ParcoursId: int(), PeriodeId: int(), AnneeScolaire: int(), LibellePeriode: str(),
      Debut: date(), Fin: date(), LibellePeriodeSpecifique: str(), SpecialiteId: int()
    },
    readOnly: true,
    navigation: {
      Parcours: { kind: "one", target: "Parcours", fk: "ParcoursId" },
      Periode: { kind: "one", target: "Periode", fk: "PeriodeId" }
    }
  }),
  /**
   * Which sequences a period of a parcours holds. The API does not expose it (not an entity set,
   * no navigation property): it is what linking an inscription to a period enrols the learner in.
   */
  ParcoursPeriodeSequence: def({
    name: "ParcoursPeriodeSequence",
    collection: "ParcoursPeriodeSequence",
    fields: { ParcoursPeriodeId: int(), SequenceId: int() },
    readOnly: true
  }),
  /** A voie d'entrée; the documented entity set is `Recrutement`. */
  Recrutement: def({
    name: "Recrutement",
    collection: "Recrutement",
    fields: {
      Nom: str(), Code: str(), ProgrammeId: int(), ParcoursId: int(), TypeRecrutementId: int(), EtablissementId: int(),
      TemplateIsic: int(), Racine: str(), LibelleExterne: str(), PayePar: str(), CodesPieces: str(),
      CodesPiecesOptionnelles: str(), Debut: date(), Fin: date(), Rentree: date(), Accompte: dec(), Payant: bool(),
      Reinscription: bool(), Passage: bool(), Diplomant: bool(), EntiteJuridiqueId: int(null), DebutFormation: date(),
      FinFormation: date(), EnqueteSISE: bool(), EnqueteCTI: bool(), EnqueteSISEDiplom: str(), EnqueteSISECompos: str(),
      ReferenceExterneId: int(), Parametres: list()
    },
    readOnly: true,
    // "Pour s'afficher dans l'API, une voie d'entrée doit disposer d'une référence externe."
    visible: (row) => typeof row.ReferenceExterneId === "number" && row.ReferenceExterneId !== 0,
    navigation: {
      Programme: { kind: "one", target: "Programme", fk: "ProgrammeId" },
      Parcours: { kind: "one", target: "Parcours", fk: "ParcoursId" }
    }
  }),
  InscriptionPeriode: def({
    name: "InscriptionPeriode",
    collection: "InscriptionPeriode",
    fields: {
      Nom: str(), Code: str(), InscriptionId: int(), DecisionJuryId: int(), PeriodeId: int(), RegimeInscriptionId: int(),
      DateInscriptionMutuelle: date(), EchelonBourseId: int(), MutuelleId: int(), Issue: str(),
      MotifExonerationMutuelle: str(), Boursier: bool(), AttestationBourse: bool(), AttestationExonerationSS: bool(),
      Cesure: bool(), Redoublant: bool(), AnneeScolaire: int(), DateEnvoiCertificat: date(), DateEnvoiBulletin: date(),
      DateFinResponsabiliteCivile: date(), EtatInscriptionId: int(), RecrutementId: int(), SpecialiteId: int(),
      DateReinscription: date(), LibellePeriode: str(), Debut: date(), Fin: date(), DisplayLibellePeriode: str(),
      LibellePeriodeSpecifique: str(), CVEC: str(), CVECnomrenseigne: str(), CVECNumeroINE: str(null),
      ModalitePaiementId: int(), TypePaiementAcompteId: int(), TypePaiementId: int(), AlternanceSouhaitee: bool(),
      FraisValider: bool(), Acompte: dec(null), DatePremiereConnexionReinscriptionIntranet: date()
    },
    required: ["InscriptionId", "PeriodeId"],
    references: { InscriptionId: "Inscription", PeriodeId: "Periode" },
    navigation: {
      Inscription: { kind: "one", target: "Inscription", fk: "InscriptionId" },
      Periode: { kind: "one", target: "Periode", fk: "PeriodeId" }
    }
  })
}

/**
 * Entity sets as they appear in URLs. `OPCA` is the name the documentation uses to list
 * organismes financeurs (`GET /GraphV1/OPCA`); both names reach the same rows.
 * `ProgrammeParametre` is only reachable through `Programme`'s `Parametres`, `ParcoursPeriode`
 * through `Parcours`' `ParcoursPeriodes`; `ParcoursPeriodeSequence` is not reachable at all.
 */
export const entitySets: Readonly<Record<string, CollectionName>> = {
  Mail: "Mail",
  Civilite: "Civilite",
  Apprenant: "Apprenant",
  Programme: "Programme",
  Inscription: "Inscription",
  TypeSequence: "TypeSequence",
  Sequence: "Sequence",
  InscriptionSequence: "InscriptionSequence",
  TypeConvention: "TypeConvention",
  EtatConvention: "EtatConvention",
  Convention: "Convention",
  Entreprise: "Entreprise",
  Professionnel: "Professionnel",
  OrganismeFinanceur: "OrganismeFinanceur",
  OPCA: "OrganismeFinanceur",
  ConventionOrganismeFinanceur: "ConventionOrganismeFinanceur",
  Remuneration: "Remuneration",
  Client: "Client",
  NatureClient: "NatureClient",
  Enseignant: "Enseignant",
  Periode: "Periode",
  Parcours: "Parcours",
  Recrutement: "Recrutement",
  InscriptionPeriode: "InscriptionPeriode"
}

export const collectionNames = Object.keys(entities) as ReadonlyArray<CollectionName>

/** The default representation of a fresh entity: every visible and hidden field at its default. */
export const defaults = (entity: EntityDef): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [name, spec] of Object.entries(entity.fields)) {
    out[name] = Array.isArray(spec.default) ? [] : spec.default
  }
  return out
}
