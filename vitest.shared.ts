import { availableParallelism } from "node:os"
import { defineConfig } from "vitest/config"
import { FailureSummary } from "./vitest.failures.js"

/**
 * The vitest configuration every package uses (each package's vitest.config.ts re-exports it).
 *
 * Made for a small, busy machine (2 cores with other work running, issue 8):
 * - The limits only end a hang. Tests wait on events (a line, an exit, a port, a request in the
 *   sandbox's log), never on tight timers, so the limits leave a loaded machine a lot of room.
 * - `turbo` runs the packages' test tasks side by side, so a package needs few workers of its
 *   own: one on 2 cores (vitest's default there, made explicit), at most two on a bigger machine
 *   instead of one per core per package.
 * - Test files share their worker's module cache (`isolate: false`): effect, the platform and
 *   the sources load once per worker instead of once per file, which was about half of the
 *   tests' CPU time. Nothing in the tests relies on fresh module state (no module mocks, no
 *   globals, no environment changes); a test that needs fresh state builds it in its own layer.
 */
export default defineConfig({
  resolve: {
    conditions: ["@relais/source"]
  },
  // Workspace packages resolve to their TypeScript sources in tests, so a test never runs
  // against a stale build and needs no build at all. Tests run on Vite's server side (SSR),
  // which since Vite 6 takes its conditions from `ssr.resolve`, not from `resolve` above:
  // without them the tests ran against each package's dist/ (and failed on a fresh clone before
  // `pnpm build`). The other conditions are Vite's defaults, kept.
  ssr: {
    resolve: {
      conditions: ["@relais/source", "module", "node", "development|production"],
      externalConditions: ["@relais/source", "node", "module-sync"]
    }
  },
  test: {
    include: ["test/**/*.test.ts"],
    // The default output, and what failed written for the end of `pnpm test` (vitest.failures.ts).
    reporters: ["default", new FailureSummary()],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    pool: "forks",
    isolate: false,
    poolOptions: {
      forks: { minForks: 1, maxForks: Math.max(1, Math.min(2, availableParallelism() - 1)) }
    }
  }
})
