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

export const timeoutFail = <A, E, R, E1>(
  self: Effect.Effect<A, E, R>,
  options: { readonly duration: Duration.Duration; readonly onTimeout: () => E1 }
): Effect.Effect<A, E | E1, R> =>
  Effect.clockWith((clock) => {
    if (clock.constructor !== LiveClock) return Effect.timeoutFail(self, options)
    const millis = Duration.toMillis(options.duration)
    // An infinite duration never fires: the effect runs as it would with a timer that never ends.
    if (!(millis <= maxTimerMillis)) return self
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Effect.fork(restore(self)), (fiber) =>
        Effect.async<A, E | E1>((resume) => {
          let settled = false
          const observe = (exit: Exit.Exit<A, E>) => {
            if (settled) return
            settled = true
            clearTimeout(timer)
            resume(Exit.isSuccess(exit) ? Effect.as(fiber.inheritAll, exit.value) : exit)
          }
          const timer = setTimeout(() => {
            if (settled) return
            settled = true
            fiber.removeObserver(observe)
            resume(Effect.zipRight(Fiber.interrupt(fiber), Effect.fail(options.onTimeout())))
          }, millis)
          fiber.addObserver(observe)
        }, fiber.id()))
    )
  })
