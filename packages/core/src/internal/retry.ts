/**
 * `Effect.retry` that builds its schedule's driver only once the effect has failed.
 *
 * `Effect.retry` makes a driver (refs for the schedule's state and its iteration metadata) before
 * the first attempt. Every step attempt and every activity goes through a retry, and almost all
 * of them succeed the first time: that driver was built per step for nothing. Here the first
 * attempt runs alone; its failure is handed to `Effect.retry` as the first failure, so the
 * schedule sees the same inputs at the same moments as with `Effect.retry` (relais's schedules
 * depend on the attempt count and the time of each failure, not on when the first attempt began).
 *
 * @internal
 */
import { Effect, type Schedule } from "effect"

export const retry = <A, E, R, B, R1, E2 = never>(
  self: Effect.Effect<A, E, R>,
  schedule: Schedule.Schedule<B, E, R1>,
  /** Wraps the retries (after the first failure only): e.g. to end their delays early. */
  retrying?: (retries: Effect.Effect<A, E, R | R1>) => Effect.Effect<A, E | E2, R | R1>
): Effect.Effect<A, E | E2, R | R1> =>
  Effect.catchAll(self, (first) => {
    let replay = true
    const retries = Effect.retry(
      Effect.suspend(() => {
        if (!replay) return self
        replay = false
        return Effect.fail(first)
      }),
      schedule
    )
    return retrying === undefined ? retries : retrying(retries)
  })
