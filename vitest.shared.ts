import { defineConfig } from "vitest/config"

/** The vitest configuration every package uses (each package's vitest.config.ts re-exports it). */
export default defineConfig({
  resolve: {
    // Workspace packages resolve to their TypeScript sources in tests, so a test never runs
    // against a stale build.
    conditions: ["@relais/source"]
  },
  // Tests run in vite's SSR mode, which has its own resolve conditions: without these, the
  // workspace packages resolve to their (possibly stale) dist.
  ssr: {
    resolve: {
      conditions: ["@relais/source"],
      externalConditions: ["@relais/source"]
    }
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
