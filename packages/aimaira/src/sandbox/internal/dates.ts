/**
 * Dates as AIMAIRA writes them: an instant shown in Europe/Paris local time with its offset,
 * e.g. `2023-09-01T00:00:00+02:00` (summer) or `2022-11-14T00:00:00+01:00` (winter).
 */
import { Temporal } from "temporal-polyfill"
import { format, midnight, timeZone } from "../../ParisDate.js"

/** Local midnight in Paris of a calendar date, in the wire form. */
export const parisMidnight = (year: number, month: number, day: number): string =>
  format(midnight(Temporal.PlainDate.from({ year, month, day })))

/** A Paris local date and time, in the wire form. */
export const parisDateTime = (
  year: number,
  month: number,
  day: number,
  hour: number,
  minute = 0
): string =>
  format(Temporal.PlainDateTime.from({ year, month, day, hour, minute }).toZonedDateTime(timeZone))

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/
const WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|z|[+-]\d{2}:\d{2})$/
const LOCAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$/

/**
 * Reads a date sent by a client and returns it in the wire form (Paris offset), or `undefined`
 * when it is not a date. Accepts an instant with an offset or `Z` (converted to Paris time, as the
 * documented `2023-11-20T12:00:00.000Z` comes back as `2023-11-20T13:00:00+01:00`), a calendar
 * date (Paris midnight) and a local date-time (read as Paris time).
 */
export const normalize = (input: string): string | undefined => {
  try {
    if (WITH_OFFSET.test(input)) {
      return format(Temporal.Instant.from(input).toZonedDateTimeISO(timeZone))
    }
    if (DATE_ONLY.test(input)) {
      return format(midnight(Temporal.PlainDate.from(input)))
    }
    if (LOCAL.test(input)) {
      return format(Temporal.PlainDateTime.from(input).toZonedDateTime(timeZone))
    }
  } catch {
    return undefined
  }
  return undefined
}

/** Epoch milliseconds of a wire date (already normalized). */
export const epochMillis = (wire: string): number => Temporal.Instant.from(wire).epochMilliseconds

/** The Paris calendar parts of a wire date. */
export const parisParts = (wire: string): { year: number; month: number; day: number } => {
  const zoned = Temporal.Instant.from(wire).toZonedDateTimeISO(timeZone)
  return { year: zoned.year, month: zoned.month, day: zoned.day }
}
