/**
 * The dashboard's words in French and English, and its dates in Europe/Paris (where relais's
 * users work, whatever the browser's own zone). French when the browser prefers it
 * (`navigator.languages`, before English), English otherwise; the choice is kept in
 * localStorage once made.
 */
import { signal } from "@preact/signals"
import type { RunStatus } from "./Api.js"

export type Lang = "fr" | "en"

const LANG_KEY = "relais.lang"

/** The first of the browser's languages that the dashboard speaks; English if none. */
export const preferred = (languages: ReadonlyArray<string>): Lang => {
  for (const language of languages) {
    const base = language.toLowerCase().split("-")[0]
    if (base === "fr" || base === "en") return base
  }
  return "en"
}

const initial = (): Lang => {
  try {
    const kept = localStorage.getItem(LANG_KEY)
    if (kept === "fr" || kept === "en") return kept
  } catch {
    // No storage: the browser's preference.
  }
  return preferred(navigator.languages ?? [navigator.language])
}

export const lang = signal<Lang>(initial())

export const setLang = (value: Lang): void => {
  try {
    localStorage.setItem(LANG_KEY, value)
  } catch {
    // Not kept: it holds for this page.
  }
  lang.value = value
}

export const timeZone = "Europe/Paris"

const en = {
  skip: "Skip to content",
  nav: "Sections",
  runs: "Runs",
  workflows: "Workflows",
  webhooks: "Webhooks",
  language: "Language",
  loading: "Loading…",
  tokenTitle: "An API token is needed",
  tokenHelp: "This server asks for a token (serve.tokens). It is kept in this tab only and sent as Authorization: Bearer.",
  tokenLabel: "API token",
  tokenSubmit: "Use this token",
  tokenForget: "Forget the token",
  filters: "Filters",
  status: "Status",
  workflow: "Workflow",
  any: "Any",
  since: "Started from",
  until: "Started before",
  apply: "Apply",
  reset: "Reset",
  run: "Run",
  started: "Started",
  finished: "Finished",
  duration: "Duration",
  executions: "Executions",
  noRuns: "No run matches.",
  runsCount: "{count} runs on this page",
  runsCountOne: "1 run on this page",
  live: "Refreshed every few seconds",
  newer: "Newer",
  older: "Older",
  paging: "Pages",
  trigger: "Started by",
  definition: "Definition",
  hash: "Hash",
  source: "File",
  inputs: "Inputs",
  output: "Output",
  failure: "What failed",
  stoppedWhere: "Where it was stopped",
  undone: "What was undone",
  nothingUndone: "Nothing to undo",
  remainingTitle: "To undo by hand",
  remainingHelp: "These steps completed, and undoing them failed: their effects are still there. Undo them by hand.",
  timeline: "Timeline",
  steps: "Steps",
  compensations: "Compensations",
  attempt: "Attempt {n}",
  retryIn: "next attempt in {delay}",
  reconciled: "reconciled: the effect was {found}",
  found: "found",
  notFound: "not found",
  replayed: "replayed from an earlier execution",
  skipped: "skipped: {reason}",
  itemFailed: "item {index} failed: {message}",
  runStarted: "execution {n} started",
  runFinished: "finished: {status} in {duration}",
  runInterrupted: "interrupted",
  actions: "Actions",
  cancelRun: "Cancel this run…",
  cancelExplain: "No step starts any more: a step that waits (a poll, a sleep, a retry) stops at once, one that may have written something finishes first. Then what the run did is undone.",
  cancelKeep: "Leave what it did as it is (undo nothing)",
  cancelConfirm: "Cancel the run",
  cancelBack: "Keep it running",
  cancelAsked: "Cancellation asked: the run stops (at once if it waits).",
  restartRun: "Restart from a step…",
  restartFrom: "Restart from",
  restartExplain: "A new run reuses what the steps before this one did (they are not executed again), then executes from it.",
  restartConfirm: "Start the new run",
  restartBack: "Keep this run as it is",
  restartOf: "Restarted from {from} of run {id} (reused: {reused})",
  restartedAs: "Restarted already, as run {id}: to try again, restart that one",
  back: "All runs",
  description: "Description",
  file: "File",
  triggers: "Triggers",
  nextTimes: "Next times",
  name: "Name",
  type: "Type",
  required: "Required",
  default: "Default",
  yes: "yes",
  no: "no",
  noInputs: "No inputs.",
  noTriggers: "Started by hand or by the API only.",
  noWorkflows: "No workflow is served.",
  messages: "Messages received",
  rejections: "Requests refused",
  received: "Received",
  plugin: "Plugin",
  subject: "Subject",
  duplicates: "Duplicates",
  runsStarted: "Runs",
  reason: "Reason",
  noMessages: "No message received.",
  noRejections: "No request refused.",
  notFoundPage: "No such page.",
  search: "Search",
  searchHelp: "A value of an input or output: an e-mail, a convention code…",
  triggerManual: "by hand",
  triggerApi: "API",
  triggerSchedule: "schedule",
  restartedFrom: "restarted from {id} at {from}",
  newest: "Newest",
  perPage: "Per page",
  scopeNeeded: "Needs a token with the scope “{scope}” (or admin) when the server asks for tokens.",
  liveOpen: "Live: new events appear as they happen",
  liveConnecting: "Connecting to the live events…",
  liveRetrying: "Connection lost: trying again…",
  resumeRun: "Resume this run…",
  resumeExplain: "The run goes on where it stopped, with the definition it started with: the steps it completed are not executed again, a step in flight when it stopped is reconciled or executed again.",
  resumeConfirm: "Resume the run",
  resumeBack: "Leave it interrupted",
  resumeAsked: "Resume asked: the run goes on.",
  restartDefinition: "Definition to execute",
  restartOriginal: "the one this run started with ({hash})",
  restartServed: "the file served now ({hash})",
  restartDiffers: "The file served now differs from the definition this run started with.",
  definitionText: "Its text",
  graph: "Workflow graph",
  legend: "Legend",
  noGraph: "No graph: the definition cannot be read as a YAML workflow.",
  nodeNotReached: "not reached",
  nodeRunning: "running",
  nodeSucceeded: "succeeded",
  nodeFailed: "failed",
  nodeStopped: "stopped (cancelled)",
  nodeCompensated: "undone",
  nodeCompensationFailed: "undoing failed",
  nodeSkipped: "skipped",
  nodeReplayed: "replayed",
  kindForEach: "for each item",
  kindParallel: "in parallel",
  kindGroup: "group",
  branch: "branch",
  condition: "if {expr}",
  noCompensation: "not undone",
  problemNetwork: "The server could not be reached.",
  problem400: "The server did not understand the request.",
  problem401: "A valid API token is needed: none was given, or it is not one of this server's.",
  problem403: "Your token does not allow this: it needs the scope “{scope}”.",
  problem404: "Not found on this server.",
  problem404Run: "This run does not exist in this store.",
  problem409: "The server refused: the run is not in a state that allows it.",
  problem409Cancel: "This run has already ended: there is nothing to cancel.",
  problem409Restart: "This run cannot be restarted from this step.",
  problem409Resume: "This server cannot resume this run.",
  problem422: "The server refused the request: it is not valid.",
  problem503: "The server is stopping: try again in a moment.",
  problemOther: "The server answered with an error ({status}).",
  serverSaid: "The server says:",
  runId: "Run {id}"
} as const

export type Key = keyof typeof en

const fr: Record<Key, string> = {
  skip: "Aller au contenu",
  nav: "Rubriques",
  runs: "Exécutions",
  workflows: "Workflows",
  webhooks: "Webhooks",
  language: "Langue",
  loading: "Chargement…",
  tokenTitle: "Un jeton d'API est nécessaire",
  tokenHelp: "Ce serveur demande un jeton (serve.tokens). Il n'est gardé que dans cet onglet et envoyé en Authorization: Bearer.",
  tokenLabel: "Jeton d'API",
  tokenSubmit: "Utiliser ce jeton",
  tokenForget: "Oublier le jeton",
  filters: "Filtres",
  status: "Statut",
  workflow: "Workflow",
  any: "Tous",
  since: "Démarrées à partir du",
  until: "Démarrées avant le",
  apply: "Appliquer",
  reset: "Réinitialiser",
  run: "Exécution",
  started: "Démarrée",
  finished: "Terminée",
  duration: "Durée",
  executions: "Exécutions",
  noRuns: "Aucune exécution ne correspond.",
  runsCount: "{count} exécutions sur cette page",
  runsCountOne: "1 exécution sur cette page",
  live: "Actualisé toutes les quelques secondes",
  newer: "Plus récentes",
  older: "Plus anciennes",
  paging: "Pages",
  trigger: "Déclenchée par",
  definition: "Définition",
  hash: "Empreinte",
  source: "Fichier",
  inputs: "Entrées",
  output: "Sortie",
  failure: "Ce qui a échoué",
  stoppedWhere: "Où elle a été arrêtée",
  undone: "Ce qui a été annulé",
  nothingUndone: "Rien à annuler",
  remainingTitle: "À annuler à la main",
  remainingHelp: "Ces étapes ont abouti et leur annulation a échoué : leurs effets sont toujours là. Annulez-les à la main.",
  timeline: "Chronologie",
  steps: "Étapes",
  compensations: "Compensations",
  attempt: "Tentative {n}",
  retryIn: "tentative suivante dans {delay}",
  reconciled: "rapprochée : l'effet a été {found}",
  found: "trouvé",
  notFound: "non trouvé",
  replayed: "rejouée depuis une exécution précédente",
  skipped: "sautée : {reason}",
  itemFailed: "l'élément {index} a échoué : {message}",
  runStarted: "exécution {n} démarrée",
  runFinished: "terminée : {status} en {duration}",
  runInterrupted: "interrompue",
  actions: "Actions",
  cancelRun: "Annuler cette exécution…",
  cancelExplain: "Plus aucune étape ne démarre : une étape qui attend (une consultation, une pause, une nouvelle tentative) s'arrête aussitôt, une étape qui a pu écrire quelque chose se termine d'abord. Puis ce que l'exécution a fait est défait.",
  cancelKeep: "Laisser ce qu'elle a fait (ne rien défaire)",
  cancelConfirm: "Annuler l'exécution",
  cancelBack: "La laisser continuer",
  cancelAsked: "Annulation demandée : l'exécution s'arrête (aussitôt si elle attend).",
  restartRun: "Reprendre depuis une étape…",
  restartFrom: "Reprendre depuis",
  restartExplain: "Une nouvelle exécution réutilise ce qu'ont fait les étapes avant celle-ci (elles ne sont pas refaites), puis s'exécute à partir d'elle.",
  restartConfirm: "Lancer la nouvelle exécution",
  restartBack: "Laisser cette exécution telle quelle",
  restartOf: "Reprise depuis {from} de l'exécution {id} (réutilisées : {reused})",
  restartedAs: "Déjà reprise, par l'exécution {id} : pour réessayer, reprenez celle-ci",
  back: "Toutes les exécutions",
  description: "Description",
  file: "Fichier",
  triggers: "Déclencheurs",
  nextTimes: "Prochaines échéances",
  name: "Nom",
  type: "Type",
  required: "Obligatoire",
  default: "Par défaut",
  yes: "oui",
  no: "non",
  noInputs: "Aucune entrée.",
  noTriggers: "Démarré à la main ou par l'API seulement.",
  noWorkflows: "Aucun workflow n'est servi.",
  messages: "Messages reçus",
  rejections: "Requêtes refusées",
  received: "Reçu",
  plugin: "Plugin",
  subject: "Sujet",
  duplicates: "Doublons",
  runsStarted: "Exécutions",
  reason: "Motif",
  noMessages: "Aucun message reçu.",
  noRejections: "Aucune requête refusée.",
  notFoundPage: "Cette page n'existe pas.",
  search: "Rechercher",
  searchHelp: "Une valeur d'entrée ou de sortie : un e-mail, un code de convention…",
  triggerManual: "à la main",
  triggerApi: "API",
  triggerSchedule: "planification",
  restartedFrom: "reprise de {id} depuis {from}",
  newest: "Les plus récentes",
  perPage: "Par page",
  scopeNeeded: "Il faut un jeton de portée « {scope} » (ou admin) quand le serveur demande des jetons.",
  liveOpen: "En direct : les nouveaux événements s'affichent dès qu'ils arrivent",
  liveConnecting: "Connexion aux événements en direct…",
  liveRetrying: "Connexion perdue : nouvel essai…",
  resumeRun: "Poursuivre cette exécution…",
  resumeExplain: "L'exécution continue là où elle s'est arrêtée, avec la définition de son démarrage : les étapes terminées ne sont pas refaites, une étape en cours à l'arrêt est rapprochée ou refaite.",
  resumeConfirm: "Poursuivre l'exécution",
  resumeBack: "La laisser interrompue",
  resumeAsked: "Poursuite demandée : l'exécution continue.",
  restartDefinition: "Définition à exécuter",
  restartOriginal: "celle du démarrage de cette exécution ({hash})",
  restartServed: "le fichier servi maintenant ({hash})",
  restartDiffers: "Le fichier servi maintenant diffère de la définition avec laquelle cette exécution a démarré.",
  definitionText: "Son texte",
  graph: "Graphe du workflow",
  legend: "Légende",
  noGraph: "Pas de graphe : la définition ne se lit pas comme un workflow YAML.",
  nodeNotReached: "non atteinte",
  nodeRunning: "en cours",
  nodeSucceeded: "réussie",
  nodeFailed: "échouée",
  nodeStopped: "arrêtée (annulation)",
  nodeCompensated: "défaite",
  nodeCompensationFailed: "annulation échouée",
  nodeSkipped: "sautée",
  nodeReplayed: "rejouée",
  kindForEach: "pour chaque élément",
  kindParallel: "en parallèle",
  kindGroup: "groupe",
  branch: "branche",
  condition: "si {expr}",
  noCompensation: "non défaite",
  problemNetwork: "Le serveur est injoignable.",
  problem400: "Le serveur n'a pas compris la requête.",
  problem401: "Un jeton d'API valide est nécessaire : aucun n'a été donné, ou ce n'est pas un jeton de ce serveur.",
  problem403: "Votre jeton ne le permet pas : il faut la portée « {scope} ».",
  problem404: "Introuvable sur ce serveur.",
  problem404Run: "Cette exécution n'existe pas dans ce stockage.",
  problem409: "Le serveur a refusé : l'exécution n'est pas dans un état qui le permet.",
  problem409Cancel: "Cette exécution est déjà terminée : il n'y a rien à annuler.",
  problem409Restart: "Cette exécution ne peut pas être reprise depuis cette étape.",
  problem409Resume: "Ce serveur ne peut pas poursuivre cette exécution.",
  problem422: "Le serveur a refusé la requête : elle n'est pas valide.",
  problem503: "Le serveur s'arrête : réessayez dans un moment.",
  problemOther: "Le serveur a répondu par une erreur ({status}).",
  serverSaid: "Le serveur précise :",
  runId: "Exécution {id}"
}

const statusText: Record<Lang, Record<RunStatus, string>> = {
  en: {
    running: "running",
    compensating: "compensating",
    succeeded: "succeeded",
    succeeded_with_failures: "succeeded with failures",
    failed: "failed",
    compensated: "compensated",
    compensation_failed: "compensation failed",
    interrupted: "interrupted",
    cancelled: "cancelled"
  },
  fr: {
    running: "en cours",
    compensating: "en compensation",
    succeeded: "réussie",
    succeeded_with_failures: "réussie avec des échecs",
    failed: "échouée",
    compensated: "compensée",
    compensation_failed: "compensation échouée",
    interrupted: "interrompue",
    cancelled: "annulée"
  }
}

/** What a refusal means, in the page's words, for what was asked (the server's detail goes under it). */
export type Asked = "read" | "readRun" | "cancel" | "restart" | "resume"

export const problemSentence = (status: number, asked: Asked): string => {
  switch (status) {
    case 0:
      return t("problemNetwork")
    case 400:
      return t("problem400")
    case 401:
      return t("problem401")
    case 403:
      return t("problem403", { scope: asked === "read" || asked === "readRun" ? "read" : "run" })
    case 404:
      return t(asked === "read" ? "problem404" : "problem404Run")
    case 409:
      return t(asked === "cancel" ? "problem409Cancel" : asked === "restart" ? "problem409Restart" : asked === "resume" ? "problem409Resume" : "problem409")
    case 422:
      return t("problem422")
    case 503:
      return t("problem503")
    default:
      return t("problemOther", { status })
  }
}

/** The text of `key` in the current language, `{name}` replaced by `vars.name`. */
export const t = (key: Key, vars: Record<string, string | number> = {}): string =>
  (lang.value === "fr" ? fr : en)[key].replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? `{${name}}`))

export const statusLabel = (status: RunStatus): string => statusText[lang.value][status] ?? status

const locale = () => (lang.value === "fr" ? "fr-FR" : "en-GB")

/** A date-time in Europe/Paris. */
export const formatDate = (value: string | number): string =>
  new Intl.DateTimeFormat(locale(), { timeZone, dateStyle: "medium", timeStyle: "medium" }).format(new Date(value))

/** A duration: 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min. */
export const formatDuration = (millis: number): string => {
  if (millis < 1000) return `${Math.round(millis)} ms`
  const seconds = millis / 1000
  if (seconds < 60) return `${seconds.toFixed(1).replace(".", lang.value === "fr" ? "," : ".")} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min ${String(Math.floor(seconds % 60)).padStart(2, "0")} s`
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`
}

/** The offset of Europe/Paris from UTC at `millis`, in milliseconds. */
const parisOffset = (millis: number): number => {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit"
  }).formatToParts(new Date(millis))
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0)
  return Date.UTC(part("year"), part("month") - 1, part("day"), part("hour"), part("minute"), part("second")) - Math.floor(millis / 1000) * 1000
}

/**
 * The UTC instant (ISO) of a wall-clock time in Europe/Paris, as a `datetime-local` field gives
 * it (`2026-11-28T09:30`); undefined when it is not one.
 */
export const parisToIso = (local: string): string | undefined => {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(local)
  if (match === null) return undefined
  const [, y, mo, d, h, mi] = match.map(Number) as [number, number, number, number, number, number]
  const wall = Date.UTC(y, mo - 1, d, h, mi)
  // Twice: the offset at the guess, then at the instant it gives (the days the clocks change).
  const first = wall - parisOffset(wall)
  return new Date(wall - parisOffset(first)).toISOString()
}
