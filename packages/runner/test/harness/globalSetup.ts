/**
 * Before any test file: the bundled binary is fresh (built by `pnpm build` already, or now),
 * so that no test spends its own time limit bundling.
 */
import { ensureBundle } from "./Bundle.js"

export const setup = (): void => ensureBundle()
