/**
 * The command line of a bench script: `--<name> <whole number>` options and `--<flag>` flags.
 */
const argv = process.argv.slice(2)

/** Whether `--<name>` was given. */
export const flag = (name: string): boolean => argv.includes(`--${name}`)

/** `--<name> <n>`, a whole number of at least 1, or the fallback; anything else exits 2, saying why. */
export const count = (name: string, fallback: number): number => {
  const at = argv.indexOf(`--${name}`)
  const value = at >= 0 ? Number(argv[at + 1]) : fallback
  if (!Number.isInteger(value) || value < 1) {
    console.error(`--${name} takes a whole number, at least 1`)
    process.exit(2)
  }
  return value
}
