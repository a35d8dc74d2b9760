/**
 * Terminal styling: a few ANSI colours, or none at all (`NO_COLOR`, not a terminal, `--json`).
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export interface Style {
  readonly enabled: boolean
  readonly bold: (text: string) => string
  readonly dim: (text: string) => string
  readonly red: (text: string) => string
  readonly green: (text: string) => string
  readonly yellow: (text: string) => string
  readonly cyan: (text: string) => string
  readonly inverseRed: (text: string) => string
}

const sgr = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`

/**
 * Colours on.
 *
 * @since 0.1.0
 */
export const ansi: Style = {
  enabled: true,
  bold: sgr(1, 22),
  dim: sgr(2, 22),
  red: sgr(31, 39),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
  cyan: sgr(36, 39),
  inverseRed: (text) => `\x1b[1;97;41m${text}\x1b[0m`
}

const identity = (text: string) => text

/**
 * Colours off: every function returns its text unchanged.
 *
 * @since 0.1.0
 */
export const plain: Style = {
  enabled: false,
  bold: identity,
  dim: identity,
  red: identity,
  green: identity,
  yellow: identity,
  cyan: identity,
  inverseRed: identity
}

/**
 * Whether colours are wanted at all, from the environment: `NO_COLOR` (any non-empty value,
 * https://no-color.org) and `TERM=dumb` turn them off.
 *
 * @since 0.1.0
 */
export const wanted = (env: { readonly NO_COLOR?: string | undefined; readonly TERM?: string | undefined }): boolean =>
  !(env.NO_COLOR !== undefined && env.NO_COLOR !== "") && env.TERM !== "dumb"

/**
 * The style of one output stream: colours only when they are wanted and the stream is a
 * terminal (never in a pipe or a file).
 *
 * @since 0.1.0
 */
export const forStream = (
  stream: { readonly isTTY?: boolean | undefined },
  env: { readonly NO_COLOR?: string | undefined; readonly TERM?: string | undefined }
): Style => (wanted(env) && stream.isTTY === true ? ansi : plain)

/**
 * Remove ANSI escape sequences (to measure or to compare text).
 *
 * @since 0.1.0
 */
export const strip = (text: string): string => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")
