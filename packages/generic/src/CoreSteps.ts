/**
 * The glue every flow needs, as steps of the `core` plugin:
 *
 * - `core/set`: its `with` is its output, so a flow can name an intermediate value once
 *   (`steps.ids.output.learner`) instead of repeating an expression;
 * - `core/fail`: fails the run with a message (and an optional code), a definitive error: not
 *   retried, and the steps done so far are compensated;
 * - `core/sleep`: a durable timer (`for: 1h` or `until: <date-time>`). The wake-up time is
 *   computed once and journaled in the step's state: a run killed while it sleeps and resumed
 *   later sleeps only what remains, or goes on at once when the time has passed; a retry never
 *   starts a longer sleep.
 *
 * @since 0.1.0
 */
import { RetryPolicy, Step } from "@relais/core"
import { Clock, Duration, Effect, Option, Schema } from "effect"
import * as Durations from "./Durations.js"

// -----------------------------------------------------------------------------
// core/set
// -----------------------------------------------------------------------------

/**
 * Any JSON object: the input and the output of `core/set`.
 *
 * @since 0.1.0
 */
export const Values = Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({
  description: "any object: each key becomes a field of the step's output"
})

/**
 * `core/set`: returns its `with` as its output.
 *
 * @example
 * ```yaml
 * - id: names
 *   uses: core/set
 *   with:
 *     learner: ${{ steps.convention.output.ApprenantId }}
 *     label: ${{ inputs.prefix }}-${{ steps.convention.output.Id }}
 * ```
 *
 * @since 0.1.0
 */
export const set = Step.make({
  name: "core/set",
  description: "Name values: the step's output is its `with`, an object of any values, for later steps to read.",
  input: Values,
  output: Values,
  // Nothing can fail but a bug; running it twice changes nothing.
  retry: RetryPolicy.none,
  idempotent: true,
  run: (values) => Effect.succeed(values)
})

// -----------------------------------------------------------------------------
// core/fail
// -----------------------------------------------------------------------------

/**
 * The `with` of `core/fail`.
 *
 * @since 0.1.0
 */
export const FailInput = Schema.Struct({
  message: Schema.String.pipe(Schema.trimmed(), Schema.minLength(1)).annotations({
    description: "why the run fails, for the person reading the report"
  }),
  code: Schema.optional(
    Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/)).annotations({
      description: "a short code for machines (letters, digits, _ . : -), e.g. NO_ELIGIBLE_SEQUENCE"
    })
  )
})

/**
 * @since 0.1.0
 */
export type FailInput = typeof FailInput.Type

/**
 * The failure `core/fail` raises: the flow decided the run cannot go on. Not retryable by any
 * default policy (its tag is named by none), so the run fails at once and compensates.
 *
 * @since 0.1.0
 * @category Errors
 */
export class Failed extends Schema.TaggedError<Failed>("@relais/generic/Failed")("Failed", {
  message: Schema.String,
  code: Schema.optional(Schema.String)
}) {
  /** What the run record keeps beside the message (`ErrorInfo.details`). */
  get details(): { readonly code: string } | undefined {
    return this.code === undefined ? undefined : { code: this.code }
  }
}

/**
 * `core/fail`: fails the run with a message.
 *
 * @example
 * ```yaml
 * - id: stop
 *   if: ${{ steps.sequences.output.length == 0 }}
 *   uses: core/fail
 *   with: { message: "no eligible sequence for this learner", code: NO_SEQUENCE }
 * ```
 *
 * @since 0.1.0
 */
export const fail = Step.make({
  name: "core/fail",
  description: "Fail the run with a message (and an optional code): not retried; what the run did so far is compensated.",
  input: FailInput,
  // Never produced; an empty object (not `Schema.Never`, which no step type accepts), so that
  // reading a field of it is an error before the run.
  output: Schema.Struct({}).annotations({ description: "none: the step always fails" }),
  retry: RetryPolicy.none,
  idempotent: true,
  run: (input) => Effect.fail(new Failed(input.code === undefined ? { message: input.message } : input))
})

// -----------------------------------------------------------------------------
// core/sleep
// -----------------------------------------------------------------------------

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/i

/** A date-time whose fields exist (`Date.parse` rolls February 31 over to March). */
const isDateTime = (text: string): boolean => {
  const m = DATE_TIME.exec(text)
  if (m === null) return false
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = m.slice(1).map((p) =>
    p === undefined ? 0 : Number(p)
  ) as [number, number, number, number, number, number, number, number]
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate()
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 &&
    second <= 59 && offsetHours <= 23 && offsetMinutes <= 59 && !Number.isNaN(Date.parse(text))
}

/**
 * A date-time with its offset (RFC 3339): `2026-12-01T08:00:00+01:00`, `2026-12-01T07:00:00Z`.
 * A local time without an offset is refused: it would mean another instant on another machine.
 *
 * @since 0.1.0
 */
export const DateTimeText = Schema.String.pipe(
  Schema.filter((text) =>
    isDateTime(text)
      ? undefined
      : `expected a date-time with its offset, e.g. 2026-12-01T08:00:00+01:00 or 2026-12-01T07:00:00Z; got ${
        JSON.stringify(text.slice(0, 40))
      }`, {
    jsonSchema: { format: "date-time" },
    description: "a date-time with its offset (RFC 3339), e.g. 2026-12-01T08:00:00+01:00"
  })
)

/**
 * The longest `for` of a sleep: a year. Longer waits are almost certainly a unit mistake.
 *
 * @since 0.1.0
 */
export const maxSleepMillis = 366 * 86_400_000

/**
 * The `with` of `core/sleep`: exactly one of `for` (a duration) and `until` (a date-time).
 *
 * @since 0.1.0
 */
export const SleepInput = Schema.Struct({
  for: Schema.optional(
    Durations.DurationText.pipe(
      Schema.filter((d) =>
        Duration.toMillis(d) <= maxSleepMillis ? undefined : "a sleep lasts at most 366 days (use until: for a date)"
      )
    ).annotations({ description: "how long to sleep: 500ms, 30s, 2m, 1h, 3d" })
  ),
  until: Schema.optional(DateTimeText.annotations({ description: "when to wake up: a date-time with its offset" }))
}).pipe(
  Schema.filter(
    (input) =>
      (input.for === undefined) !== (input.until === undefined) ||
      { path: [], message: "give exactly one of for (a duration, e.g. 1h) and until (a date-time with its offset)" },
    Step.inputRule({
      fields: ["for", "until"],
      description: "give exactly one of for, until",
      requiresOne: true
    })
  )
)

/**
 * @since 0.1.0
 */
export type SleepInput = typeof SleepInput.Type

/**
 * What `core/sleep` answers: the instant it woke up for (UTC, ISO 8601), the same after a
 * resume as before.
 *
 * @since 0.1.0
 */
export const SleepOutput = Schema.Struct({
  until: Schema.String.annotations({ description: "the wake-up time, UTC (ISO 8601)" })
})

/**
 * @since 0.1.0
 */
export type SleepOutput = typeof SleepOutput.Type

/**
 * What `core/sleep` journals: its wake-up time in epoch milliseconds.
 *
 * @since 0.1.0
 */
export const SleepState = Schema.Struct({ wakeAt: Schema.Number })

/**
 * The longest single timer: JavaScript timers fire at once past 2^31-1 ms (24.8 days), and
 * Effect's clock treats such a delay as "never". A long sleep waits in slices of a day,
 * checking the clock after each.
 *
 * @since 0.1.0
 */
export const sliceMillis = 86_400_000

/**
 * Sleep until an instant (epoch milliseconds) by the `Clock`, in slices of at most
 * {@link sliceMillis}; at once when it has passed.
 *
 * @since 0.1.0
 */
export const sleepUntil = (wakeAt: number): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const remaining = wakeAt - now
    return remaining <= 0
      ? Effect.void
      : Effect.zipRight(Effect.sleep(Duration.millis(Math.min(remaining, sliceMillis))), sleepUntil(wakeAt))
  })

/**
 * The wake-up time of this invocation: journaled by its first execution, read back by every
 * later attempt and by the run resumed after a crash. Outside an engine (a direct call in a
 * test), computed and not kept.
 */
const wakeUpTime = (input: SleepInput) => {
  const compute = Effect.map(Clock.currentTimeMillis, (now) =>
    input.until !== undefined
      ? { wakeAt: Date.parse(input.until) }
      : { wakeAt: now + Duration.toMillis(input.for ?? Duration.zero) })
  return Effect.flatMap(Effect.serviceOption(Step.StepContext), (context) =>
    Option.isNone(context)
      ? compute
      : Effect.provideService(Step.rememberState(SleepState, compute), Step.StepContext, context.value))
}

/**
 * `core/sleep`: a durable timer.
 *
 * Its attempt timeout is infinite (the default 30 s would cut any real sleep) and it has no
 * retry of its own (the only failures are the run store's). A host that applies a workflow's
 * default `timeout` to every step must leave this one out; see the package README.
 *
 * @example
 * ```yaml
 * - id: cooling-off
 *   uses: core/sleep
 *   with: { for: 2d }
 * - id: at-opening
 *   uses: core/sleep
 *   with: { until: "2026-12-01T08:00:00+01:00" }
 * ```
 *
 * @since 0.1.0
 */
export const sleep = Step.make({
  name: "core/sleep",
  description: "Wait for a duration (for: 1h) or until a date-time (until: 2026-12-01T08:00:00+01:00). " +
    "Durable: the wake-up time is kept in the journal, so a run resumed after a stop sleeps only what remains.",
  input: SleepInput,
  output: SleepOutput,
  retry: RetryPolicy.none,
  timeout: Duration.infinity,
  idempotent: true,
  run: (input) =>
    Effect.gen(function*() {
      const { wakeAt } = yield* wakeUpTime(input)
      yield* sleepUntil(wakeAt)
      return { until: new Date(wakeAt).toISOString() }
    })
})
