/**
 * A step's timeout, cheaper than `Effect.timeoutFail`.
 *
 * `Effect.timeoutFail` races two forked fibers: the effect, and a fiber that sleeps. Every step
 * attempt has a timeout (30 s by default), so that was paid on every step: about a third of the
 * in-memory engine's CPU per no-op step. Here the effect is forked alone and the timer is the
 * platform's own (the one the live clock sleeps on), watched from the waiting fiber. Same
 * semantics: the effect runs in a child fiber, interruptible inside; its success or failure is
 * returned as it is (its fiber refs inherited on success); when the time is up it is interrupted,
 * its interruption waited for, and the timeout's error returned; interrupting the caller
 * interrupts the effect.
 *
 * A clock other than the live one (a `TestClock`) keeps `Effect.timeoutFail`: its sleeps only end
 * when the test moves its time.
 *
 * @internal
 */
import { Clock, Duration, Effect, Exit, Fiber } from "effect"

/** The live clock's class: a clock of another class (a `TestClock`) is not the platform's timer. */
const LiveClock = Clock.make().constructor

/** Timers past this are not kept by the platform (`setTimeout` would fire at once): no timeout. */
const maxTimerMillis = 2 ** 31 - 1

/** Another reason to stop the effect early: `listen` calls back when it applies (a cancellation). */
export interface StopOn<E> {
  readonly listen: (f: () => void) => () => void
  readonly onStop: () => E
}

export const timeoutFail = <A, E, R, E1, E2 = never>(
  self: Effect.Effect<A, E, R>,
  options: { readonly duration: Duration.Duration; readonly onTimeout: () => E1; readonly stop?: StopOn<E2> | undefined }
): Effect.Effect<A, E | E1 | E2, R> =>
  Effect.clockWith((clock) => {
    const stop = options.stop
    if (clock.constructor !== LiveClock) {
      const timed = Effect.timeoutFail(self, options)
      return stop === undefined ? timed : Effect.raceFirst(timed, stopped(stop))
    }
    const millis = Duration.toMillis(options.duration)
    // An infinite duration never fires: the effect runs as it would with a timer that never ends.
    const timed = millis <= maxTimerMillis
    if (!timed && stop === undefined) return self
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Effect.fork(restore(self)), (fiber) =>
        Effect.async<A, E | E1 | E2>((resume) => {
          let settled = false
          let unlisten = () => {}
          const observe = (exit: Exit.Exit<A, E>) => {
            if (settled) return
            settled = true
            if (timer !== undefined) clearTimeout(timer)
            unlisten()
            resume(Exit.isSuccess(exit) ? Effect.as(fiber.inheritAll, exit.value) : exit)
          }
          /** Ends the wait early: the effect is interrupted (and waited for), then `error` returned. */
          const end = (error: () => E1 | E2) => {
            if (settled) return
            settled = true
            if (timer !== undefined) clearTimeout(timer)
            unlisten()
            fiber.removeObserver(observe)
            resume(Effect.zipRight(Fiber.interrupt(fiber), Effect.fail(error())))
          }
          const timer = timed ? setTimeout(() => end(options.onTimeout), millis) : undefined
          fiber.addObserver(observe)
          if (stop !== undefined && !settled) unlisten = stop.listen(() => end(stop.onStop))
        }, fiber.id()))
    )
  })

/** Fails with the stop's error once it applies (for the test clock's path, raced with the effect). */
const stopped = <E>(stop: StopOn<E>): Effect.Effect<never, E> =>
  Effect.async<never, E>((resume) => {
    let fired = false
    let unlisten: (() => void) | undefined
    unlisten = stop.listen(() => {
      fired = true
      unlisten?.()
      resume(Effect.fail(stop.onStop()))
    })
    if (fired) unlisten()
    return Effect.sync(() => unlisten?.())
  })
