/**
 * The runs asked to stop (`Engine.cancel`), in one process: whether to undo what each completed,
 * and who to tell at once.
 *
 * A cancellation reaches a run's steps in two ways. Before a step starts (and before each further
 * attempt) the run asks `requested`: a cancelled run starts nothing more. A step that is waiting
 * listens: one between two attempts (its retry delay, a poll's "not yet"), or an attempt in flight
 * of a step that has nothing to undo and may run again (`idempotent`, no compensation: a read, a
 * poll, `core/sleep`), is stopped at once instead of running to its end. A step that may have
 * written something (a create in flight) is never cut: it ends, is journaled, and is undone with
 * the rest.
 *
 * @internal
 */

/** What a run's steps see of its cancellation. */
export interface CancelSignal {
  /** Whether the run was asked to stop. */
  readonly requested: () => boolean
  /** Call `f` once when the run is asked to stop (at once if it was already); returns how to stop listening. */
  readonly listen: (f: () => void) => () => void
}

/** A signal that never fires: a run outside an engine (tests of the runtime alone). */
export const never: CancelSignal = { requested: () => false, listen: () => () => {} }

export class Cancels {
  private readonly asked = new Map<string, boolean>()
  private readonly listeners = new Map<string, Set<() => void>>()

  has(runId: string): boolean {
    return this.asked.has(runId)
  }

  /** Whether to undo what the run completed, when it was asked to stop. */
  compensate(runId: string): boolean | undefined {
    return this.asked.get(runId)
  }

  /** The run is asked to stop: its waiting steps are told at once. */
  set(runId: string, compensate: boolean): void {
    this.asked.set(runId, compensate)
    const waiting = this.listeners.get(runId)
    if (waiting === undefined) return
    this.listeners.delete(runId)
    for (const f of waiting) f()
  }

  /** Forget the run (it ended); true when it had been asked to stop. */
  delete(runId: string): boolean {
    this.listeners.delete(runId)
    return this.asked.delete(runId)
  }

  signal(runId: string): CancelSignal {
    return {
      requested: () => this.asked.has(runId),
      listen: (f) => {
        if (this.asked.has(runId)) {
          f()
          return () => {}
        }
        let waiting = this.listeners.get(runId)
        if (waiting === undefined) {
          waiting = new Set()
          this.listeners.set(runId, waiting)
        }
        // An entry of its own, so that the same `f` listening twice is told twice and removed once.
        const entry = () => f()
        waiting.add(entry)
        return () => {
          const current = this.listeners.get(runId)
          if (current === undefined) return
          current.delete(entry)
          if (current.size === 0) this.listeners.delete(runId)
        }
      }
    }
  }
}
