/**
 * A run's events made into what the run page shows: each step invocation (by its path) with
 * its attempts, the error of each and the delay before the next, and how it ended; the
 * invocations grouped by the path that holds them (a loop item `contrats[3]`, a parallel
 * branch), in the order they started; the compensations in the order they ran.
 */
import type { ErrorInfo, RunEvent } from "./Api.js"

export interface Attempt {
  readonly n: number
  error?: ErrorInfo
  durationMillis?: number
  /** The delay before the next attempt, when one was scheduled. */
  delayMillis?: number
}

export interface StepView {
  readonly path: string
  readonly step: string
  readonly at: number
  outcome: "running" | "succeeded" | "failed" | "stopped" | "replayed" | "skipped"
  attempts: Array<Attempt>
  durationMillis?: number
  error?: ErrorInfo
  note?: string
  reconciled?: boolean
}

export interface CompensationView {
  readonly path: string
  readonly step: string
  readonly description: string
  outcome: "running" | "succeeded" | "skipped" | "failed"
  attempts: Array<{ readonly n: number; readonly error: ErrorInfo; readonly nextDelayMillis?: number }>
  detail?: string
  error?: ErrorInfo
}

export interface Group {
  /** The path holding the steps: "" for the workflow's own steps. */
  readonly scope: string
  readonly steps: Array<StepView>
}

export interface RunLine {
  readonly at: number
  readonly event: Extract<RunEvent, { _tag: "RunStarted" | "RunFinished" | "RunInterrupted" | "ItemFailed" }>
}

export interface Timeline {
  readonly groups: ReadonlyArray<Group>
  readonly compensations: ReadonlyArray<CompensationView>
  readonly run: ReadonlyArray<RunLine>
}

/** The path that holds a step's invocation: `contrats[3]/convention` is in `contrats[3]`. */
export const scopeOf = (path: string): string => {
  const slash = path.lastIndexOf("/")
  return slash < 0 ? "" : path.slice(0, slash)
}

/** The loop or parallel block a scope is an item or branch of: `contrats[3]` is of `contrats`. */
export const familyOf = (scope: string): string => scope.replace(/\[[^\]]*\]$/, "")

export const build = (events: ReadonlyArray<RunEvent>): Timeline => {
  const steps = new Map<string, StepView>()
  const groups = new Map<string, Group>()
  const compensations: Array<CompensationView> = []
  const run: Array<RunLine> = []
  const stepAt = (event: { readonly path: string; readonly step: string; readonly at: number }): StepView => {
    let view = steps.get(event.path)
    if (view === undefined) {
      view = { path: event.path, step: event.step, at: event.at, outcome: "running", attempts: [] }
      steps.set(event.path, view)
      const scope = scopeOf(event.path)
      let group = groups.get(scope)
      if (group === undefined) {
        group = { scope, steps: [] }
        groups.set(scope, group)
      }
      group.steps.push(view)
    }
    return view
  }
  const attemptOf = (view: StepView, n: number): Attempt => {
    let attempt = view.attempts.find((a) => a.n === n)
    if (attempt === undefined) {
      attempt = { n }
      view.attempts.push(attempt)
    }
    return attempt
  }
  // The compensation of a path that is running now (the latest started).
  const compensationOf = (path: string): CompensationView | undefined => {
    for (let i = compensations.length - 1; i >= 0; i--) if (compensations[i]!.path === path) return compensations[i]
    return undefined
  }
  for (const event of events) {
    switch (event._tag) {
      case "RunStarted":
      case "RunFinished":
      case "RunInterrupted":
      case "ItemFailed":
        run.push({ at: event.at, event })
        break
      case "StepStarted":
        stepAt(event)
        break
      case "StepReplayed":
        stepAt(event).outcome = "replayed"
        break
      case "StepSkipped": {
        const view = stepAt(event)
        view.outcome = "skipped"
        view.note = event.reason
        break
      }
      case "AttemptStarted":
        attemptOf(stepAt(event), event.attempt)
        break
      case "AttemptFailed": {
        const attempt = attemptOf(stepAt(event), event.attempt)
        attempt.error = event.error
        attempt.durationMillis = event.durationMillis
        break
      }
      case "RetryScheduled":
        attemptOf(stepAt(event), event.nextAttempt - 1).delayMillis = event.delayMillis
        break
      case "StepReconciled":
        stepAt(event).reconciled = event.found
        break
      case "StepSucceeded": {
        const view = stepAt(event)
        view.outcome = "succeeded"
        view.durationMillis = event.durationMillis
        break
      }
      case "StepFailed": {
        const view = stepAt(event)
        // Stopped by a cancellation while it waited (a poll, a sleep, a retry's delay).
        view.outcome = event.reason === "cancelled" ? "stopped" : "failed"
        view.durationMillis = event.durationMillis
        view.error = event.error
        break
      }
      case "CompensationStarted":
        compensations.push({ path: event.path, step: event.step, description: event.description, outcome: "running", attempts: [] })
        break
      case "CompensationAttemptFailed":
        compensationOf(event.path)?.attempts.push({
          n: event.attempt,
          error: event.error,
          ...(event.nextDelayMillis !== undefined ? { nextDelayMillis: event.nextDelayMillis } : {})
        })
        break
      case "CompensationSucceeded": {
        const view = compensationOf(event.path)
        if (view !== undefined) {
          view.outcome = "succeeded"
          if (event.detail !== undefined) view.detail = event.detail
        }
        break
      }
      case "CompensationSkipped": {
        const view = compensationOf(event.path)
        if (view !== undefined) {
          view.outcome = "skipped"
          view.detail = event.reason
        }
        break
      }
      case "CompensationFailed": {
        const view = compensationOf(event.path)
        if (view !== undefined) {
          view.outcome = "failed"
          view.error = event.error
        }
        break
      }
    }
  }
  return { groups: [...groups.values()], compensations, run }
}
