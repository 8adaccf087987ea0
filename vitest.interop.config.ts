import { defineConfig } from "vitest/config";

// `npm run test:interop`: Flotilla against clients and parsers from Debian's packages, not npm
// (README, "Tests"). A missing package fails with a sentence naming it.
export default defineConfig({
  test: {
    include: ["test/interop/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
