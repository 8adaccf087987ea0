import { defineConfig } from "vitest/config";

// Tests run in Node 22 (pinned in devDependencies). Worker code is exercised both in process
// (its fetch handler is plain Fetch API) and inside real workerd through Miniflare.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
