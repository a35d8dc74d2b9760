/**
 * The dashboard's only way to the server: `GET /api/v1/...` with the token of this tab (kept in
 * sessionStorage, sent as `Authorization: Bearer`). A 401 raises `needsToken`, which shows the
 * token form. The types mirror the answers described in packages/runner/src/serve/Api.ts.
 */
import { signal } from "@preact/signals"

const TOKEN_KEY = "relais.token"

const readToken = (): string | null => {
  try {
    return sessionStorage.getItem(TOKEN_KEY)
  } catch {
    return null
  }
}

/** The token of this tab, if one was given. */
export const token = signal<string | null>(readToken())
/** The server answered 401: a (valid) token is needed. */
export const needsToken = signal(false)

export const setToken = (value: string | null): void => {
  try {
    if (value === null) sessionStorage.removeItem(TOKEN_KEY)
    else sessionStorage.setItem(TOKEN_KEY, value)
  } catch {
    // Storage refused (private mode): the token lives as long as the page.
  }
  token.value = value
  needsToken.value = false
}

/** An answer that is not a success: its status and the problem's detail (0: no answer at all). */
export class ApiError extends Error {
  constructor(readonly status: number, readonly detail: string) {
    super(detail)
  }
}

/** What a failed call says, whatever it threw: an `ApiError`, or a network failure (status 0). */
export const asApiError = (error: unknown): ApiError =>
  error instanceof ApiError ? error : new ApiError(0, error instanceof Error ? error.message : String(error))

/** The `ApiError` of an answer that is not a success (a 401 asks for a token). */
export const problemOf = async (response: Response): Promise<ApiError> => {
  let detail = response.statusText
  try {
    const problem = (await response.json()) as { readonly detail?: unknown }
    if (typeof problem.detail === "string") detail = problem.detail
  } catch {
    // Not a problem document: the status text says enough.
  }
  if (response.status === 401) needsToken.value = true
  return new ApiError(response.status, detail)
}

/** Request headers with this tab's token. */
export const headersWith = (extra: Record<string, string>): Record<string, string> => {
  const headers: Record<string, string> = { ...extra }
  if (token.value !== null) headers.authorization = `Bearer ${token.value}`
  return headers
}

/** A request to the API with this tab's token; a failure is an `ApiError` (a 401 asks for a token). */
const request = async <A>(path: string, init: { readonly method?: string; readonly body?: unknown } = {}): Promise<A> => {
  const headers = headersWith({ accept: "application/json" })
  if (init.body !== undefined) headers["content-type"] = "application/json"
  const response = await fetch(`/api/v1${path}`, {
    method: init.method ?? "GET",
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {})
  })
  if (!response.ok) throw await problemOf(response)
  return (await response.json()) as A
}

export const get = <A>(path: string): Promise<A> => request<A>(path)

/** A POST to the API (an action), with an optional JSON body. */
export const post = <A>(path: string, body?: unknown): Promise<A> => request<A>(path, { method: "POST", body })

/** A run's statuses, as the API names them (core's `Run.RunStatus`). */
export const runStatuses = [
  "running",
  "compensating",
  "succeeded",
  "succeeded_with_failures",
  "failed",
  "compensated",
  "compensation_failed",
  "interrupted",
  "cancelled"
] as const

export type RunStatus = typeof runStatuses[number]

/** Whether a run can still change (the run page refreshes it). */
export const isLive = (status: RunStatus): boolean => status === "running" || status === "compensating"

/** Whether a run has ended for good (not running, compensating nor interrupted). */
export const isFinal = (status: RunStatus): boolean => !isLive(status) && status !== "interrupted"

export interface RunSummary {
  readonly id: string
  readonly workflow: string
  readonly status: RunStatus
  readonly createdAt: string
  readonly updatedAt: string
  readonly finishedAt?: string
  readonly executions: number
  /** What started it: manual, api, schedule or a plugin's name (absent from older servers). */
  readonly trigger?: unknown
  /** Started again from a step of another run. */
  readonly restartOf?: { readonly runId: string; readonly from: string; readonly reused?: ReadonlyArray<string> }
  /** Its restart, when it was restarted (a run is restarted once: restart that one in turn). */
  readonly restartedAs?: string
}

/**
 * A step of a workflow's graph (`definition.graph` of a run): its `id` as written in the YAML;
 * a step in a `forEach` has the events' path `<forEach id>[<index>]/<id>`, groups and parallel
 * blocks add nothing to the paths of the steps they hold.
 */
export interface GraphNode {
  readonly id: string
  readonly kind: "step" | "forEach" | "parallel" | "group"
  readonly uses?: string
  readonly condition?: string
  readonly compensates?: boolean
  readonly steps?: ReadonlyArray<GraphNode>
  readonly branches?: ReadonlyArray<GraphNode>
}

export interface WorkflowGraph {
  readonly name: string
  readonly steps: ReadonlyArray<GraphNode>
}

export interface RunPage {
  readonly runs: ReadonlyArray<RunSummary>
  readonly next?: string
}

export interface ErrorInfo {
  readonly _tag: string
  readonly message: string
  readonly status?: number
  readonly details?: unknown
}

export interface Failure {
  readonly error: ErrorInfo
  readonly step?: string
  readonly path?: string
  readonly reason?: string
}

export interface Compensated {
  readonly path: string
  readonly step: string
  readonly description: string
  readonly detail?: string
  readonly nothingToUndo?: boolean
}

export interface LeftToUndo {
  readonly path: string
  readonly step: string
  readonly description: string
  readonly input: unknown
  readonly output: unknown
  readonly error: ErrorInfo
}

interface EventBase {
  readonly runId: string
  readonly at: number
}
interface StepBase extends EventBase {
  readonly path: string
  readonly step: string
}

export type RunEvent =
  | (EventBase & { readonly _tag: "RunStarted"; readonly workflow: string; readonly execution: number })
  | (StepBase & { readonly _tag: "StepStarted" | "StepReplayed" })
  | (StepBase & { readonly _tag: "StepSkipped"; readonly reason: string })
  | (StepBase & { readonly _tag: "AttemptStarted"; readonly attempt: number })
  | (StepBase & { readonly _tag: "AttemptFailed"; readonly attempt: number; readonly durationMillis: number; readonly error: ErrorInfo; readonly retryable: boolean })
  | (StepBase & { readonly _tag: "RetryScheduled"; readonly nextAttempt: number; readonly delayMillis: number })
  | (StepBase & { readonly _tag: "StepReconciled"; readonly found: boolean })
  | (StepBase & { readonly _tag: "StepSucceeded"; readonly attempts: number; readonly durationMillis: number; readonly output: unknown })
  | (StepBase & { readonly _tag: "StepFailed"; readonly attempts: number; readonly durationMillis: number; readonly reason: string; readonly error: ErrorInfo })
  | (EventBase & { readonly _tag: "ItemFailed"; readonly path: string; readonly index: number; readonly error: ErrorInfo; readonly compensated: boolean })
  | (StepBase & { readonly _tag: "CompensationStarted"; readonly description: string })
  | (StepBase & { readonly _tag: "CompensationAttemptFailed"; readonly attempt: number; readonly error: ErrorInfo; readonly nextDelayMillis?: number })
  | (StepBase & { readonly _tag: "CompensationSucceeded"; readonly attempts: number; readonly detail?: string })
  | (StepBase & { readonly _tag: "CompensationSkipped"; readonly attempts: number; readonly reason: string })
  | (StepBase & { readonly _tag: "CompensationFailed"; readonly attempts: number; readonly error: ErrorInfo })
  | (EventBase & { readonly _tag: "RunFinished"; readonly status: RunStatus; readonly durationMillis: number })
  | (EventBase & { readonly _tag: "RunInterrupted" })

export interface RunDetail extends RunSummary {
  readonly input: unknown
  readonly output?: unknown
  readonly failure?: Failure
  readonly compensated?: ReadonlyArray<Compensated>
  readonly remaining?: ReadonlyArray<LeftToUndo>
  readonly failedItems?: ReadonlyArray<unknown>
  readonly definition?: {
    readonly hash: string
    readonly source?: string
    /** The text it started with, as stored (secrets redacted), and secret-named keys' values masked by the server. */
    readonly text?: string
    /** Absent when the text is not a YAML workflow (or the server predates it). */
    readonly graph?: WorkflowGraph
  }
  readonly events: ReadonlyArray<{ readonly seq: number; readonly event: RunEvent }>
}

export interface InputInfo {
  readonly name: string
  readonly type: string
  readonly required: boolean
  readonly default?: unknown
  readonly description?: string
  readonly enum?: ReadonlyArray<string | number>
}

export interface TriggerInfo {
  readonly kind: string
  readonly name?: string
  readonly cron?: string
  readonly timezone?: string
  readonly missed?: string
  readonly next?: ReadonlyArray<string>
}

export interface WorkflowInfo {
  readonly name: string
  readonly description: string
  readonly file: string
  readonly hash: string
  readonly inputs: ReadonlyArray<InputInfo>
  readonly triggers: ReadonlyArray<TriggerInfo>
}

export interface WebhookMessage {
  readonly id: string
  readonly plugin: string
  readonly subject: string
  readonly receivedAt: string
  readonly status: "pending" | "dispatched" | "superseded" | "unmatched"
  readonly duplicates: number
  readonly runs: ReadonlyArray<string>
  readonly event?: unknown
  readonly detail?: string
}

export interface WebhookRejection {
  readonly plugin: string
  readonly receivedAt: string
  readonly status: number
  readonly reason: string
}
