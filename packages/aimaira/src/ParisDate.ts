/**
 * AIMAIRA dates. The API writes every date as an instant shown in Europe/Paris time with its
 * offset: `2023-09-01T00:00:00+02:00` in summer, `2022-11-14T00:00:00+01:00` in winter.
 * These schemas turn them into `temporal-polyfill` values and back, never by slicing strings.
 *
 * @since 0.1.0
 */
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { Temporal } from "temporal-polyfill"

/**
 * The time zone AIMAIRA shows dates in.
 *
 * @since 0.1.0
 */
export const timeZone = "Europe/Paris"

/**
 * A `Temporal.ZonedDateTime` value (the type side of {@link ParisDateTime}).
 *
 * @since 0.1.0
 */
export const ZonedDateTimeFromSelf = Schema.declare(
  (u: unknown): u is Temporal.ZonedDateTime => u instanceof Temporal.ZonedDateTime,
  { identifier: "ZonedDateTime", equivalence: () => (a, b) => a.equals(b), pretty: () => (value) => value.toString() }
)

/**
 * A `Temporal.PlainDate` value (the type side of {@link ParisDate}).
 *
 * @since 0.1.0
 */
export const PlainDateFromSelf = Schema.declare(
  (u: unknown): u is Temporal.PlainDate => u instanceof Temporal.PlainDate,
  { identifier: "PlainDate", equivalence: () => (a, b) => a.equals(b), pretty: () => (value) => value.toString() }
)

const toInstant = (input: string, ast: Schema.Schema.Any["ast"]) =>
  ParseResult.try({
    try: () => Temporal.Instant.from(input),
    catch: () => new ParseResult.Type(ast, input, `Expected a date with an offset such as 2023-09-01T00:00:00+02:00, got ${JSON.stringify(input)}`)
  })

/**
 * Formats a zoned date-time as AIMAIRA expects it: Paris local time with its offset, no zone name.
 *
 * @since 0.1.0
 */
export const format = (value: Temporal.ZonedDateTime): string =>
  value.withTimeZone(timeZone).toString({ timeZoneName: "never" })

/**
 * A date-time (`DateInscription`, `DateDesinscription`, ...) as a `Temporal.ZonedDateTime` in
 * Europe/Paris. Any offset or `Z` is accepted on decode; encoding writes the Paris offset.
 *
 * @since 0.1.0
 */
export const ParisDateTime: Schema.Schema<Temporal.ZonedDateTime, string> = Schema.transformOrFail(
  Schema.String,
  ZonedDateTimeFromSelf,
  {
    strict: true,
    decode: (input, _, ast) => ParseResult.map(toInstant(input, ast), (instant) => instant.toZonedDateTimeISO(timeZone)),
    encode: (value) => ParseResult.succeed(format(value))
  }
).annotations({ identifier: "ParisDateTime" })

/**
 * A calendar date (`DateDebut`, `DateFin`, `DateNaissance`, ...) as a `Temporal.PlainDate`: on
 * the wire, local midnight in Paris. A value that is not a Paris midnight fails to decode rather
 * than losing its time silently.
 *
 * @since 0.1.0
 */
export const ParisDate: Schema.Schema<Temporal.PlainDate, string> = Schema.transformOrFail(
  Schema.String,
  PlainDateFromSelf,
  {
    strict: true,
    decode: (input, _, ast) =>
      ParseResult.flatMap(toInstant(input, ast), (instant) => {
        const zoned = instant.toZonedDateTimeISO(timeZone)
        const date = zoned.toPlainDate()
        return Temporal.ZonedDateTime.compare(zoned, date.toZonedDateTime(timeZone)) === 0
          ? ParseResult.succeed(date)
          : ParseResult.fail(new ParseResult.Type(ast, input, `Expected a date at midnight in Paris time, got ${JSON.stringify(input)}`))
      }),
    encode: (date) => ParseResult.succeed(format(date.toZonedDateTime(timeZone)))
  }
).annotations({ identifier: "ParisDate" })

/**
 * A calendar date from `YYYY-MM-DD`.
 *
 * @since 0.1.0
 */
export const date = (isoDate: string): Temporal.PlainDate => Temporal.PlainDate.from(isoDate)

/**
 * Midnight in Paris of a calendar date, as a zoned date-time.
 *
 * @since 0.1.0
 */
export const midnight = (value: Temporal.PlainDate): Temporal.ZonedDateTime => value.toZonedDateTime(timeZone)
