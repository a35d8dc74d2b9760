/**
 * Cron expressions, and when they fire in a time zone.
 *
 * The syntax is the five fields of Vixie cron: `minute hour day-of-month month day-of-week`,
 * each `*`, a number, a range `1-5`, a step over either (`*\/15`, `1-5/2`, and `10/15` for
 * `10-59/15`), or a comma list of those. Months and days of the week may be named (`jan`,
 * `mon-fri`, any case); day 7 of the week is Sunday as 0 is. `@hourly`, `@daily` (`@midnight`),
 * `@weekly`, `@monthly` and `@yearly` (`@annually`) stand for their usual expressions. When both
 * day fields are restricted (neither starts with `*`), a day matches when EITHER matches, as in
 * Vixie cron: `0 0 1 * mon` fires on the 1st and on every Monday.
 *
 * A problem is located: {@link parse} says which field, what is wrong and where in the text
 * (`hour: 25 is out of range 0-23` at offset 2), so `relais validate` points at it.
 *
 * Time is wall-clock time in a named zone (IANA, `Europe/Paris`), computed with
 * `temporal-polyfill`. Daylight saving time:
 *
 * - **Spring forward** (a local hour does not exist, Paris 2027-03-28 02:00 -> 03:00): a slot
 *   whose local time falls in the gap fires once, at the first instant after the gap (03:00 local,
 *   the same instant as the slot at 03:00 if there is one: never twice).
 * - **Fall back** (a local hour happens twice, Paris 2027-10-31 03:00 -> 02:00): a cron whose hour
 *   field starts with `*` (`*`, `*\/2`: "every hour") fires in both occurrences of the repeated
 *   hour, since both are real hours that passed; a cron with a fixed hour (`30 2 * * *`: "at
 *   02:30") fires once, at the earlier occurrence.
 *
 * Slots are strictly increasing: {@link next} gives the first slot strictly after an instant, and
 * {@link upcoming} follows it.
 *
 * @since 0.1.0
 */
import { Suggest } from "@relais/core"
import { Either, Option, Schema } from "effect"
import { Temporal } from "temporal-polyfill"

// -----------------------------------------------------------------------------
// The model
// -----------------------------------------------------------------------------

/**
 * One field of an expression: the values it allows (sorted), and whether it was written
 * starting with `*` (what Vixie's day rule and the DST rule read).
 *
 * @since 0.1.0
 */
export interface Field {
  readonly values: ReadonlyArray<number>
  readonly star: boolean
}

/**
 * A parsed cron expression.
 *
 * @since 0.1.0
 */
export interface Cron {
  /** The expression as written (trimmed). */
  readonly text: string
  readonly minute: Field
  readonly hour: Field
  readonly dayOfMonth: Field
  readonly month: Field
  /** 0 (Sunday) to 6 (Saturday); 7 written is 0. */
  readonly dayOfWeek: Field
}

/**
 * A cron expression that cannot be read: `message` names the field and the bad part
 * (`hour: 25 is out of range 0-23`); `offset` is where that part starts in the text (0-based; a
 * column is `offset + 1`).
 *
 * @since 0.1.0
 */
export class InvalidCron extends Schema.TaggedError<InvalidCron>("@relais/runner/InvalidCron")("InvalidCron", {
  text: Schema.String,
  message: Schema.String,
  offset: Schema.Number
}) {
  /** Where the bad part starts, 1-based (`offset + 1`). */
  get column(): number {
    return this.offset + 1
  }
}

const fieldNames = ["minute", "hour", "day-of-month", "month", "day-of-week"] as const
type FieldName = typeof fieldNames[number]

const ranges: Readonly<Record<FieldName, readonly [number, number]>> = {
  minute: [0, 59],
  hour: [0, 23],
  "day-of-month": [1, 31],
  month: [1, 12],
  // 7 is read, and folded to 0 (Sunday).
  "day-of-week": [0, 7]
}

const monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
const dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

const names: Partial<Record<FieldName, { readonly list: ReadonlyArray<string>; readonly first: number; readonly what: string }>> = {
  month: { list: monthNames, first: 1, what: "a month" },
  "day-of-week": { list: dayNames, first: 0, what: "a day of the week" }
}

/**
 * The macros and what they stand for.
 *
 * @since 0.1.0
 */
export const macros: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *"
}

// -----------------------------------------------------------------------------
// Parsing
// -----------------------------------------------------------------------------

class Problem {
  constructor(readonly message: string, readonly offset: number) {}
}

/** A number or a name of the field, at `offset` in the text. */
const value = (field: FieldName, word: string, offset: number): number => {
  const [min, max] = ranges[field]
  if (/^\d+$/.test(word)) {
    const n = Number(word)
    if (n < min || n > max) {
      throw new Problem(`${field}: ${word} is out of range ${min}-${field === "day-of-week" ? 6 : max}${field === "day-of-week" ? " (or 7 for Sunday)" : ""}`, offset)
    }
    return n
  }
  const named = names[field]
  if (named !== undefined && /^[a-z]+$/i.test(word)) {
    const index = named.list.indexOf(word.toLowerCase())
    if (index >= 0) return index + named.first
    const close = Suggest.closest(word, named.list, 1)
    throw new Problem(
      `${field}: "${word}" is not ${named.what}${close.length > 0 ? ` (did you mean "${close[0]}"?)` : `; use ${named.list.join(", ")} or numbers`}`,
      offset
    )
  }
  if (word === "") throw new Problem(`${field}: a number is missing`, offset)
  if (word === "?" || word === "L" || word === "W" || word.includes("#")) {
    throw new Problem(`${field}: "${word}" is not part of the 5-field cron syntax relais reads (*, numbers, ranges, steps, lists)`, offset)
  }
  throw new Problem(`${field}: "${word}" is not a number${named !== undefined ? ` or ${named.what}` : ""}`, offset)
}

/** One comma-separated item of a field: its values. */
const item = (field: FieldName, text: string, offset: number): ReadonlyArray<number> => {
  const [min, max] = ranges[field]
  const slash = text.indexOf("/")
  const base = slash >= 0 ? text.slice(0, slash) : text
  let step = 1
  if (slash >= 0) {
    const stepText = text.slice(slash + 1)
    const at = offset + slash + 1
    if (!/^\d+$/.test(stepText)) throw new Problem(`${field}: the step "${stepText}" after / must be a whole number`, at)
    step = Number(stepText)
    if (step < 1) throw new Problem(`${field}: the step after / must be at least 1`, at)
  }
  let from: number
  let to: number
  if (base === "*") {
    from = min
    to = field === "day-of-week" ? 6 : max
  } else {
    const dash = base.indexOf("-")
    if (dash >= 0) {
      from = value(field, base.slice(0, dash), offset)
      to = value(field, base.slice(dash + 1), offset + dash + 1)
      if (to < from) {
        throw new Problem(`${field}: the range ${base} goes backwards (write ${base.slice(dash + 1)}-${base.slice(0, dash)} or a list)`, offset)
      }
    } else {
      from = value(field, base, offset)
      // `10/15` is `10-59/15`.
      to = slash >= 0 ? (field === "day-of-week" ? 6 : max) : from
    }
  }
  const out: Array<number> = []
  for (let n = from; n <= to; n += step) out.push(field === "day-of-week" && n === 7 ? 0 : n)
  return out
}

const parseField = (field: FieldName, text: string, offset: number): Field => {
  const values = new Set<number>()
  let at = 0
  for (const part of text.split(",")) {
    if (part === "") throw new Problem(`${field}: an empty item in the list`, offset + at)
    for (const n of item(field, part, offset + at)) values.add(n)
    at += part.length + 1
  }
  return { values: [...values].sort((a, b) => a - b), star: text.startsWith("*") }
}

const daysIn = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/**
 * Read a cron expression.
 *
 * @since 0.1.0
 */
export const parse = (text: string): Either.Either<Cron, InvalidCron> => {
  const lead = text.length - text.trimStart().length
  const trimmed = text.trim()
  const fail = (message: string, offset: number) => Either.left(new InvalidCron({ text, message, offset }))
  if (trimmed === "") return fail("the cron expression is empty: write five fields (minute hour day-of-month month day-of-week), e.g. \"0 2 * * *\"", 0)
  let source = trimmed
  if (trimmed.startsWith("@")) {
    const macro = macros[trimmed.toLowerCase()]
    if (macro === undefined) {
      const close = Suggest.closest(trimmed, Object.keys(macros), 1)
      return fail(
        `"${trimmed}" is not a cron macro${close.length > 0 ? ` (did you mean "${close[0]}"?)` : `; the macros are ${Object.keys(macros).join(", ")}`}`,
        lead
      )
    }
    source = macro
  }
  const words: Array<{ readonly text: string; readonly offset: number }> = []
  for (const match of source.matchAll(/\S+/g)) words.push({ text: match[0], offset: source === trimmed ? lead + match.index : lead })
  if (words.length !== 5) {
    const where = words.length > 5 ? words[5]!.offset : text.length
    return fail(
      `a cron expression has 5 fields (minute hour day-of-month month day-of-week), not ${words.length}${words.length === 6 ? " (relais does not take seconds)" : ""}`,
      where
    )
  }
  try {
    const fields = words.map((w, i) => parseField(fieldNames[i]!, w.text, w.offset))
    const cron: Cron = {
      text: trimmed,
      minute: fields[0]!,
      hour: fields[1]!,
      dayOfMonth: fields[2]!,
      month: fields[3]!,
      dayOfWeek: fields[4]!
    }
    // A day of the month that no chosen month has (`0 0 31 feb *`, `0 0 30 2 *`) never fires.
    if (cron.dayOfWeek.star && !cron.dayOfMonth.star) {
      const possible = cron.month.values.some((m) => cron.dayOfMonth.values.some((d) => d <= daysIn[m - 1]!))
      if (!possible) {
        return fail(
          `day-of-month: ${words[2]!.text} never occurs in ${cron.month.values.map((m) => monthNames[m - 1]).join(", ")}: this schedule would never fire`,
          words[2]!.offset
        )
      }
    }
    return Either.right(cron)
  } catch (error) {
    if (error instanceof Problem) return fail(error.message, error.offset)
    throw error
  }
}

// -----------------------------------------------------------------------------
// Time zones
// -----------------------------------------------------------------------------

/**
 * The default time zone of schedules.
 *
 * @since 0.1.0
 */
export const defaultTimeZone = "Europe/Paris"

/**
 * A time zone name, checked: its canonical spelling (`europe/paris` is `Europe/Paris`), or what
 * is wrong with suggestions (`unknown time zone "Europe/Pari" (did you mean "Europe/Paris"?)`).
 * IANA names, `UTC` and fixed offsets (`+01:00`) are time zones.
 *
 * @since 0.1.0
 */
export const timeZone = (name: string): Either.Either<string, string> => {
  try {
    return Either.right(Temporal.Instant.fromEpochMilliseconds(0).toZonedDateTimeISO(name).timeZoneId)
  } catch {
    const known = ["UTC", ...Intl.supportedValuesOf("timeZone")]
    const close = Suggest.closest(name, known, 1)
    return Either.left(
      `unknown time zone "${name}"${
        close.length > 0 ? ` (did you mean "${close[0]}"?)` : "; use an IANA name such as Europe/Paris, America/New_York or UTC"
      }`
    )
  }
}

// -----------------------------------------------------------------------------
// When it fires
// -----------------------------------------------------------------------------

const HOUR = 3_600_000
const DAY = 24 * HOUR

const matchesDay = (cron: Cron, date: Temporal.PlainDate): boolean => {
  if (!cron.month.values.includes(date.month)) return false
  const dom = cron.dayOfMonth.values.includes(date.day)
  const dow = cron.dayOfWeek.values.includes(date.dayOfWeek % 7)
  // Vixie: both restricted, either matches; otherwise both (the `*` one matches every day).
  return cron.dayOfMonth.star || cron.dayOfWeek.star ? dom && dow : dom || dow
}

/** Milliseconds of a wall-clock time read as if it were UTC. */
const wallMillis = (date: Temporal.PlainDate, hour: number, minute: number): number =>
  Date.UTC(date.year, date.month - 1, date.day, hour, minute)

/**
 * The instants a matching local time of `date` fires at: none, one, or two in a repeated hour
 * for a cron whose hour field starts with `*`.
 */
const instantsOf = (cron: Cron, zone: string, date: Temporal.PlainDate): ReadonlyArray<number> => {
  const dayStart = wallMillis(date, 0, 0)
  // Every instant whose local date can be `date` is in [dayStart - 14 h, dayStart + 24 h + 12 h].
  const probe = Temporal.Instant.fromEpochMilliseconds(dayStart - 14 * HOUR).toZonedDateTimeISO(zone)
  const transition = probe.getTimeZoneTransition("next")
  const plain = transition === null || transition.epochMilliseconds > dayStart + DAY + 12 * HOUR
  const out: Array<number> = []
  if (plain) {
    // No change of offset near this day: each local time is one instant, in order.
    const offset = probe.offsetNanoseconds / 1_000_000
    for (const h of cron.hour.values) for (const m of cron.minute.values) out.push(wallMillis(date, h, m) - offset)
    return out
  }
  for (const hour of cron.hour.values) {
    for (const minute of cron.minute.values) {
      const local = new Temporal.PlainDateTime(date.year, date.month, date.day, hour, minute)
      const earlier = local.toZonedDateTime(zone, { disambiguation: "earlier" })
      const later = local.toZonedDateTime(zone, { disambiguation: "later" })
      if (earlier.epochMilliseconds === later.epochMilliseconds) out.push(earlier.epochMilliseconds)
      else if (Temporal.PlainDateTime.compare(earlier.toPlainDateTime(), local) !== 0) {
        // In a gap: the first instant after it.
        out.push(earlier.getTimeZoneTransition("next")!.epochMilliseconds)
      } else {
        // Repeated: the earlier occurrence, and the later one too for "every hour".
        out.push(earlier.epochMilliseconds)
        if (cron.hour.star) out.push(later.epochMilliseconds)
      }
    }
  }
  return out
}

/** How far ahead {@link next} looks before it says a cron never fires (leap days, 2100...). */
const horizonDays = 366 * 12

/**
 * The first slot of `cron` strictly after `after`, in the time zone `zone` (a name
 * {@link timeZone} accepts), with its offset; `None` when it never fires (within twelve years).
 *
 * @since 0.1.0
 */
export const next = (cron: Cron, after: Temporal.Instant, zone: string): Option.Option<Temporal.ZonedDateTime> => {
  const afterMillis = after.epochMilliseconds
  let date = after.toZonedDateTimeISO(zone).toPlainDate().subtract({ days: 1 })
  let best: number | undefined
  let extra = -1
  for (let i = 0; i < horizonDays; i++, date = date.add({ days: 1 })) {
    if (extra === 0) break
    if (extra > 0) extra--
    if (!cron.month.values.includes(date.month)) {
      // Straight to the first day of the next month.
      if (best === undefined) {
        const first = date.with({ day: 1 }).add({ months: 1 })
        i += first.since(date).days - 1
        date = first.subtract({ days: 1 })
      }
      continue
    }
    if (!matchesDay(cron, date)) continue
    for (const instant of instantsOf(cron, zone, date)) {
      if (instant > afterMillis && (best === undefined || instant < best)) best = instant
    }
    // A repeated hour can put slots of the next day before the last ones of this one: look at one
    // more day once something is found.
    if (best !== undefined && extra < 0) extra = 1
  }
  return best === undefined
    ? Option.none()
    : Option.some(Temporal.Instant.fromEpochMilliseconds(best).toZonedDateTimeISO(zone))
}

/**
 * The next `count` slots of `cron` after `after` in `zone`, strictly increasing.
 *
 * @since 0.1.0
 */
export const upcoming = (
  cron: Cron,
  after: Temporal.Instant,
  zone: string,
  count: number
): ReadonlyArray<Temporal.ZonedDateTime> => {
  const out: Array<Temporal.ZonedDateTime> = []
  let from = after
  while (out.length < count) {
    const slot = next(cron, from, zone)
    if (Option.isNone(slot)) break
    out.push(slot.value)
    from = slot.value.toInstant()
  }
  return out
}
