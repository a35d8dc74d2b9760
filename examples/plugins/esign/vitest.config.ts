import { defineConfig } from "vitest/config"

// Tests start real sandboxes on 127.0.0.1 and wait on events (an answer, a request in the
// sandbox's log, a process exit), never on tight timers: the limits below only end a hang.
// One fork: the end-to-end test runs the relais binary, which is busy enough on a small machine.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    poolOptions: { forks: { minForks: 1, maxForks: 1 } }
  }
})
