/**
 * "Did you mean ...?" suggestions for misspelt names (steps, keys, fields).
 *
 * @since 0.1.0
 */

/**
 * The edit distance between two strings (insertions, deletions, substitutions, and swaps of
 * two adjacent characters), case-insensitive.
 *
 * @since 0.1.0
 */
export const distance = (a: string, b: string): number => {
  const s = a.toLowerCase()
  const t = b.toLowerCase()
  if (s === t) return 0
  const rows = s.length + 1
  const cols = t.length + 1
  const d: Array<Array<number>> = Array.from({ length: rows }, (_, i) => {
    const row = new Array<number>(cols).fill(0)
    row[0] = i
    return row
  })
  for (let j = 0; j < cols; j++) d[0]![j] = j
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) {
        best = Math.min(best, d[i - 2]![j - 2]! + 1)
      }
      d[i]![j] = best
    }
  }
  return d[rows - 1]![cols - 1]!
}

/**
 * The candidates close enough to `name` to be what the user meant, best first (at most
 * `limit`). "Close enough" grows with the length of the name: one edit for short names, up
 * to a third of the name for long ones.
 *
 * @since 0.1.0
 */
export const closest = (name: string, candidates: Iterable<string>, limit = 3): ReadonlyArray<string> => {
  const threshold = Math.max(1, Math.floor(name.length / 3))
  const scored: Array<readonly [string, number]> = []
  for (const candidate of candidates) {
    const score = distance(name, candidate)
    const prefix = candidate.toLowerCase().startsWith(name.toLowerCase()) && name.length >= 3
    if (score <= threshold || prefix) scored.push([candidate, prefix ? Math.min(score, threshold) : score])
  }
  // Code-point order for ties, not localeCompare: its first call loads ICU's collation data.
  scored.sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
  return scored.slice(0, limit).map(([candidate]) => candidate)
}
