// The shared configuration of every package (vitest.shared.ts at the root), and for the runner
// a global setup that makes sure the bundled binary the child-process tests run is fresh.
import { defineConfig, mergeConfig } from "vitest/config"
import shared from "../../vitest.shared.js"

export default mergeConfig(shared, defineConfig({ test: { globalSetup: ["test/harness/globalSetup.ts"] } }))
