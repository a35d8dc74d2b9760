/**
 * Durations as workflow files and profiles write them: `500ms`, `30s`, `2m`, `1h`, `3d` (a
 * decimal number and a unit), or a number of milliseconds. The same forms as the workflow's
 * `timeout` and `retry` delays, plus days, which a sleep needs.
 *
 * @since 0.1.0
 */
import { Duration, Either, ParseResult, Schema } from "effect"

const TEXT = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/

const UNIT_MILLIS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/**
 * The milliseconds of a duration text (`"1.5s"` -> 1500), or why it is not one.
 *
 * @since 0.1.0
 */
export const parseMillis = (value: string | number): Either.Either<number, string> => {
  if (typeof value === "number") {
    return Number.isFinite(value) && value >= 0
      ? Either.right(Math.round(value))
      : Either.left(`a duration in milliseconds must be a finite number, 0 or more; got ${value}`)
  }
  const match = TEXT.exec(value)
  if (match === null) {
    return Either.left(`expected a duration like 500ms, 30s, 2m, 1h or 3d; got ${JSON.stringify(value.slice(0, 40))}`)
  }
  const millis = Math.round(Number(match[1]) * UNIT_MILLIS[match[2] as keyof typeof UNIT_MILLIS])
  return Number.isSafeInteger(millis) ? Either.right(millis) : Either.left(`the duration ${match[0].trim()} is too long`)
}

/**
 * `90000` -> `"90s"`, `3600000` -> `"1h"`: the shortest exact text of a number of milliseconds.
 *
 * @since 0.1.0
 */
export const formatMillis = (millis: number): string => {
  for (const unit of ["d", "h", "m", "s"] as const) {
    const size = UNIT_MILLIS[unit]
    if (millis >= size && millis % size === 0) return `${millis / size}${unit}`
  }
  return `${millis}ms`
}

/**
 * A duration written `30s` (or a number of milliseconds), decoded to a `Duration` and encoded
 * back to its shortest text.
 *
 * @since 0.1.0
 */
export const DurationText: Schema.Schema<Duration.Duration, string | number> = Schema.transformOrFail(
  Schema.Union(
    Schema.String.annotations({
      description: "a duration: a number and a unit (ms, s, m, h, d), e.g. 500ms, 30s, 2m, 1h, 3d",
      jsonSchema: { type: "string", pattern: "^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)\\s*$" }
    }),
    Schema.Number.annotations({ description: "a number of milliseconds" })
  ),
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (input, _, ast) =>
      Either.match(parseMillis(input), {
        onLeft: (reason) => ParseResult.fail(new ParseResult.Type(ast, input, reason)),
        onRight: (millis) => ParseResult.succeed(Duration.millis(millis))
      }),
    encode: (duration) => ParseResult.succeed(formatMillis(Duration.toMillis(duration)))
  }
).annotations({ identifier: "Duration" })
