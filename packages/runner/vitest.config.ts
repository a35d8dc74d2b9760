// The shared configuration of every package (vitest.shared.ts at the root), and for the runner
// a global setup that makes sure the bundled binary the child-process tests run is fresh.
//
// Two workers even on 2 cores: the runner's tests are the longest task of `pnpm test` and start
// last (after the build, for the bundle); by then the other packages' tests are done, and one
// worker would leave a core idle.
import { defineConfig, mergeConfig } from "vitest/config"
import shared from "../../vitest.shared.js"

export default mergeConfig(
  shared,
  defineConfig({ test: { globalSetup: ["test/harness/globalSetup.ts"], poolOptions: { forks: { maxForks: 2 } } } })
)
