/**
 * SIREN / SIRET numbers with a valid Luhn key, as French company identifiers are checked.
 *
 * @since 0.1.0
 */
import type { Prng } from "./Prng.js"

/**
 * Whether a string of digits passes the Luhn check.
 *
 * @since 0.1.0
 */
export const luhnValid = (digits: string): boolean => {
  if (!/^\d+$/.test(digits)) return false
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i])
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}

/**
 * The digit to append to `payload` so that the whole passes the Luhn check.
 *
 * @since 0.1.0
 */
export const luhnCheckDigit = (payload: string): string => {
  for (let d = 0; d <= 9; d++) {
    if (luhnValid(`${payload}${d}`)) return String(d)
  }
  throw new RangeError(`not a string of digits: "${payload}"`)
}

/**
 * Whether a string is a 9-digit SIREN with a valid Luhn key.
 *
 * @since 0.1.0
 */
export const isValidSiren = (siren: string): boolean => /^\d{9}$/.test(siren) && luhnValid(siren)

/**
 * Whether a string is a 14-digit SIRET whose SIREN and whole number pass the Luhn check.
 *
 * @since 0.1.0
 */
export const isValidSiret = (siret: string): boolean =>
  /^\d{14}$/.test(siret) && isValidSiren(siret.slice(0, 9)) && luhnValid(siret)

/**
 * A random valid SIREN (never starting with 0).
 *
 * @since 0.1.0
 */
export const siren = (prng: Prng): string => {
  const payload = `${prng.int(1, 9)}${prng.digits(7)}`
  return `${payload}${luhnCheckDigit(payload)}`
}

/**
 * A random valid SIRET: a SIREN (given, or drawn) and an establishment number (NIC) whose last
 * digit makes the 14 digits pass the Luhn check.
 *
 * @since 0.1.0
 */
export const siret = (prng: Prng, ofSiren?: string): string => {
  const base = ofSiren ?? siren(prng)
  if (!isValidSiren(base)) throw new RangeError(`not a valid SIREN: "${base}"`)
  const payload = `${base}${prng.digits(4)}`
  return `${payload}${luhnCheckDigit(payload)}`
}
