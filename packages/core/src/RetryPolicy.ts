/**
 * Retry policies: how many attempts, how long to wait between them, and which failures are
 * worth another attempt. A policy is plain data (it can be written in YAML, stored with a run
 * and shown in docs) and compiles to an Effect `Schedule`.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Predicate, Random, Schedule, Schema } from "effect"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleInterval from "effect/ScheduleInterval"

/**
 * How the delay grows from one retry to the next.
 *
 * @since 0.1.0
 */
export const Backoff = Schema.Literal("constant", "linear", "exponential")

/**
 * @since 0.1.0
 */
export type Backoff = typeof Backoff.Type

/**
 * What a policy retries: an HTTP status (`503`), a status class (`"5xx"`), an error tag
 * (`"Transport"`, `"RateLimited"`), or `"timeout"` for a step attempt that ran out of time.
 *
 * @since 0.1.0
 */
export const RetryOn = Schema.Union(
  Schema.Int.pipe(Schema.between(100, 599)),
  Schema.Literal("timeout", "4xx", "5xx"),
  Schema.String.pipe(Schema.pattern(/^[A-Za-z][A-Za-z0-9_]*$/))
)

/**
 * @since 0.1.0
 */
export type RetryOn = typeof RetryOn.Type

/**
 * The failures retried when a policy does not say otherwise: rate limiting, the usual
 * transient server statuses, connection failures and timeouts. A 400, 401, 404 or 409 is a
 * definitive answer and fails at once.
 *
 * @since 0.1.0
 */
export const defaultRetryOn: ReadonlyArray<RetryOn> = [
  408,
  429,
  500,
  502,
  503,
  504,
  "timeout",
  "Transport",
  "RateLimited",
  "Unavailable"
]

/**
 * A retry policy. Delays are milliseconds so the policy is plain JSON.
 *
 * @since 0.1.0
 */
export class RetryPolicy extends Schema.Class<RetryPolicy>("@relais/core/RetryPolicy")({
  /** Attempts in all, the first one included (1 = no retry). */
  maxAttempts: Schema.Int.pipe(Schema.between(1, 100)),
  backoff: Backoff,
  /** Delay before the first retry. */
  initialDelayMillis: Schema.Number.pipe(Schema.nonNegative()),
  /** No computed delay exceeds this (a server's `Retry-After` still wins). */
  maxDelayMillis: Schema.Number.pipe(Schema.nonNegative()),
  /** Growth factor of the exponential backoff. */
  factor: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThanOrEqualTo(1)), { default: () => 2 }),
  /** Randomise each delay in [delay/2, delay] so that clients do not retry in lockstep. */
  jitter: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  retryOn: Schema.optionalWith(Schema.Array(RetryOn), { default: () => defaultRetryOn })
}) {}

/**
 * The options accepted by the constructors: durations in any `Duration` form.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly maxAttempts: number
  readonly initialDelay?: Duration.DurationInput | undefined
  readonly maxDelay?: Duration.DurationInput | undefined
  readonly factor?: number | undefined
  readonly jitter?: boolean | undefined
  readonly retryOn?: ReadonlyArray<RetryOn> | undefined
}

const make = (backoff: Backoff, options: Options): RetryPolicy =>
  new RetryPolicy({
    maxAttempts: options.maxAttempts,
    backoff,
    initialDelayMillis: Duration.toMillis(options.initialDelay ?? "200 millis"),
    maxDelayMillis: Duration.toMillis(options.maxDelay ?? "30 seconds"),
    factor: options.factor ?? 2,
    jitter: options.jitter ?? false,
    retryOn: options.retryOn ?? defaultRetryOn
  })

/**
 * The same delay before every retry.
 *
 * @since 0.1.0
 */
export const constant = (options: Options): RetryPolicy => make("constant", options)

/**
 * A delay that grows by `initialDelay` at each retry.
 *
 * @since 0.1.0
 */
export const linear = (options: Options): RetryPolicy => make("linear", options)

/**
 * A delay multiplied by `factor` (default 2) at each retry.
 *
 * @since 0.1.0
 */
export const exponential = (options: Options): RetryPolicy => make("exponential", options)

/**
 * One attempt, no retry.
 *
 * @since 0.1.0
 */
export const none: RetryPolicy = constant({ maxAttempts: 1, initialDelay: 0 })

/**
 * The policy of a step that declares none: 3 attempts, exponential from 200 ms to 5 s, jittered.
 *
 * @since 0.1.0
 */
export const defaultPolicy: RetryPolicy = exponential({
  maxAttempts: 3,
  initialDelay: "200 millis",
  maxDelay: "5 seconds",
  jitter: true
})

/**
 * The policy of a compensation that declares none: compensations matter more than steps (a
 * failed one is left for a human), so they insist a little longer.
 *
 * @since 0.1.0
 */
export const defaultCompensationPolicy: RetryPolicy = exponential({
  maxAttempts: 5,
  initialDelay: "500 millis",
  maxDelay: "10 seconds",
  jitter: true
})

/**
 * Override some fields of a policy.
 *
 * @since 0.1.0
 */
export const merge = (self: RetryPolicy, patch: Partial<Options> & { readonly backoff?: Backoff }): RetryPolicy =>
  new RetryPolicy({
    maxAttempts: patch.maxAttempts ?? self.maxAttempts,
    backoff: patch.backoff ?? self.backoff,
    initialDelayMillis: patch.initialDelay !== undefined ? Duration.toMillis(patch.initialDelay) : self.initialDelayMillis,
    maxDelayMillis: patch.maxDelay !== undefined ? Duration.toMillis(patch.maxDelay) : self.maxDelayMillis,
    factor: patch.factor ?? self.factor,
    jitter: patch.jitter ?? self.jitter,
    retryOn: patch.retryOn ?? self.retryOn
  })

/**
 * The HTTP status an error carries, if it came from a response.
 *
 * @since 0.1.0
 */
export const statusOf = (error: unknown): number | undefined =>
  Predicate.hasProperty(error, "status") && typeof error.status === "number" ? error.status : undefined

/**
 * The delay a server asked for (`Retry-After`), if the error carries one.
 *
 * @since 0.1.0
 */
export const retryAfterOf = (error: unknown): number | undefined =>
  Predicate.hasProperty(error, "retryAfterMillis") && typeof error.retryAfterMillis === "number" &&
    Number.isFinite(error.retryAfterMillis) && error.retryAfterMillis >= 0
    ? error.retryAfterMillis
    : undefined

const tagOf = (error: unknown): string | undefined =>
  Predicate.hasProperty(error, "_tag") && typeof error._tag === "string" ? error._tag : undefined

/**
 * Whether a failure is one this policy retries. Errors are matched structurally: by `_tag`,
 * by an HTTP `status` field, or as a step timeout.
 *
 * @since 0.1.0
 */
export const isRetryable = (self: RetryPolicy, error: unknown): boolean => {
  const tag = tagOf(error)
  const status = statusOf(error)
  for (const rule of self.retryOn) {
    if (typeof rule === "number") {
      if (status === rule) return true
    } else if (rule === "timeout") {
      if (tag === "StepTimeout" || tag === "TimeoutException") return true
    } else if (rule === "4xx" || rule === "5xx") {
      if (status !== undefined && Math.floor(status / 100) === Number(rule[0])) return true
    } else if (tag === rule) {
      return true
    }
  }
  return false
}

/**
 * The delay before retry number `retry` (1 for the first retry), before jitter and
 * `Retry-After`.
 *
 * @since 0.1.0
 */
export const baseDelayMillis = (self: RetryPolicy, retry: number): number => {
  const raw = self.backoff === "constant"
    ? self.initialDelayMillis
    : self.backoff === "linear"
    ? self.initialDelayMillis * retry
    : self.initialDelayMillis * Math.pow(self.factor, retry - 1)
  return Math.min(raw, self.maxDelayMillis)
}

/**
 * The delay before retry number `retry` after the failure `error`: the backoff, jittered when
 * asked, and never shorter than what the server asked for with `Retry-After`.
 *
 * @since 0.1.0
 */
export const delayMillis = (self: RetryPolicy, retry: number, error: unknown): Effect.Effect<number> =>
  Effect.map(self.jitter ? Random.next : Effect.succeed(1), (random) => {
    const base = baseDelayMillis(self, retry)
    const jittered = self.jitter ? Math.round(base / 2 + (base / 2) * random) : base
    const retryAfter = retryAfterOf(error)
    return retryAfter === undefined ? jittered : Math.max(jittered, retryAfter)
  })

/**
 * What the schedule outputs at each decision to retry.
 *
 * @since 0.1.0
 */
export interface Decision {
  /** The attempt about to start (2 for the first retry). */
  readonly nextAttempt: number
  readonly delayMillis: number
  readonly error: unknown
}

/**
 * Compile a policy to a `Schedule` fed with failures: it stops at once on a failure the policy
 * does not retry, after `maxAttempts` attempts in all (counting `attemptsUsed` already made,
 * e.g. before a crash), and waits the backoff delay otherwise.
 *
 * @since 0.1.0
 */
export const toSchedule = (self: RetryPolicy, options?: {
  readonly attemptsUsed?: number | undefined
}): Schedule.Schedule<Decision, unknown> =>
  Schedule.makeWithState<number, unknown, Decision>(
    Math.max(1, options?.attemptsUsed ?? 1),
    (now, error, attempt) => {
      if (attempt >= self.maxAttempts || !isRetryable(self, error)) {
        return Effect.succeed([attempt, { nextAttempt: attempt + 1, delayMillis: 0, error }, ScheduleDecision.done])
      }
      return Effect.map(delayMillis(self, attempt, error), (delay) =>
        [
          attempt + 1,
          { nextAttempt: attempt + 1, delayMillis: delay, error },
          ScheduleDecision.continueWith(ScheduleInterval.after(now + delay))
        ] as const)
    }
  )

/**
 * A one-line description, for docs and progress output.
 *
 * @since 0.1.0
 */
export const describe = (self: RetryPolicy): string => {
  if (self.maxAttempts === 1) return "no retry"
  const delays = self.backoff === "constant"
    ? `every ${self.initialDelayMillis} ms`
    : `${self.backoff} from ${self.initialDelayMillis} ms to ${self.maxDelayMillis} ms`
  return `up to ${self.maxAttempts} attempts, ${delays}${self.jitter ? " (jittered)" : ""}, on ${
    self.retryOn.join(", ")
  }`
}
