import { defineConfig } from "vitest/config";

// `npm run test:interop`: Flotilla against clients and parsers from Debian's packages, not npm
// (README, "Tests"): the Prometheus parser, litmus and rclone, driving the single-box stack. A missing
// package fails with a sentence naming it.
export default defineConfig({
  test: {
    include: ["test/interop/**/*.test.ts"],
    testTimeout: 900_000,
    hookTimeout: 300_000,
    pool: "forks",
    setupFiles: ["test/support/keep-alive.ts"],
    fileParallelism: false,
  },
});
