/**
 * AIMAIRA dates. The API writes every date as an instant shown in Europe/Paris time with its
 * offset: `2023-09-01T00:00:00+02:00` in summer, `2022-11-14T00:00:00+01:00` in winter.
 * These schemas turn them into `temporal-polyfill` values and back, never by slicing strings:
 * they are `ProviderKit`'s date schemas of `@relais/core` in the Europe/Paris zone.
 *
 * @since 0.1.0
 */
import { ProviderKit } from "@relais/core"
import type * as Schema from "effect/Schema"
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
export const ZonedDateTimeFromSelf = ProviderKit.ZonedDateTimeFromSelf

/**
 * A `Temporal.PlainDate` value (the type side of {@link ParisDate}).
 *
 * @since 0.1.0
 */
export const PlainDateFromSelf = ProviderKit.PlainDateFromSelf

/**
 * Formats a zoned date-time as AIMAIRA expects it: Paris local time with its offset, no zone name.
 *
 * @since 0.1.0
 */
export const format = (value: Temporal.ZonedDateTime): string => ProviderKit.formatOffsetDateTime(value, timeZone)

/**
 * A date-time (`DateInscription`, `DateDesinscription`, ...) as a `Temporal.ZonedDateTime` in
 * Europe/Paris. Any offset or `Z` is accepted on decode; encoding writes the Paris offset.
 *
 * @since 0.1.0
 */
export const ParisDateTime: Schema.Schema<Temporal.ZonedDateTime, string> = ProviderKit.OffsetDateTime(timeZone).annotations({
  identifier: "ParisDateTime"
})

/**
 * A calendar date (`DateDebut`, `DateFin`, `DateNaissance`, ...) as a `Temporal.PlainDate`: on
 * the wire, local midnight in Paris. A value that is not a Paris midnight fails to decode rather
 * than losing its time silently.
 *
 * @since 0.1.0
 */
export const ParisDate: Schema.Schema<Temporal.PlainDate, string> = ProviderKit.MidnightDate(timeZone).annotations({
  identifier: "ParisDate"
})

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
