/**
 * Draining a worker: once it is asked to stop, no new step (or compensation) starts in this
 * process, the ones already executing finish, and the runs wait at their next step for the
 * process to end (another worker continues them from their journal).
 *
 * The gate sits where every journaled activity is invoked (`activity.ts`): a run blocks there,
 * interruptibly, before anything is executed or replayed.
 *
 * @internal
 */
import { Context, Effect } from "effect"

export interface DrainService {
  /** Wait here while the process drains (forever: the run moves to another process). */
  readonly enter: Effect.Effect<void>
  /** Count `effect` as work in flight while it executes. */
  readonly track: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

const open: DrainService = { enter: Effect.void, track: (effect) => effect }

/** The drain gate of the engine executing the current run; open by default. */
export class Drain extends Context.Reference<Drain>()("@relais/core/internal/Drain", {
  defaultValue: () => open
}) {}

export interface Controller {
  readonly service: DrainService
  /** Stop starting work. */
  readonly start: Effect.Effect<void>
  readonly draining: () => boolean
  /** The number of steps executing now. */
  readonly inFlight: () => number
  /** Wait until no step executes (after `start`). */
  readonly idle: Effect.Effect<void>
}

export const make = (): Controller => {
  let draining = false
  let inFlight = 0
  let waiters: Array<() => void> = []
  const settle = () => {
    if (inFlight > 0) return
    const done = waiters
    waiters = []
    for (const wake of done) wake()
  }
  const service: DrainService = {
    enter: Effect.suspend(() => (draining ? Effect.never : Effect.void)),
    track: (effect) =>
      Effect.acquireUseRelease(
        Effect.sync(() => {
          inFlight += 1
        }),
        () => effect,
        () =>
          Effect.sync(() => {
            inFlight -= 1
            settle()
          })
      )
  }
  return {
    service,
    start: Effect.sync(() => {
      draining = true
    }),
    draining: () => draining,
    inFlight: () => inFlight,
    idle: Effect.async<void>((resume) => {
      if (inFlight === 0) return resume(Effect.void)
      const wake = () => resume(Effect.void)
      waiters.push(wake)
      return Effect.sync(() => {
        waiters = waiters.filter((w) => w !== wake)
      })
    })
  }
}
