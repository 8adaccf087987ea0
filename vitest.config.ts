import { configDefaults, defineConfig } from "vitest/config";

// Tests run in Node 22 (pinned in devDependencies). Worker code is exercised both in process
// (its fetch handler is plain Fetch API) and inside real workerd through Miniflare. `npm test` needs
// nothing but `npm install`; tests against clients that only Debian packages (test/interop/) run in
// `npm run test:interop` (vitest.interop.config.ts).
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: [...configDefaults.exclude, "test/interop/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // expect.poll waits for a state (a row applied, a status shown); 1 s, vitest's default, is
    // shorter than a loaded machine needs. A poll still ends as soon as its state holds.
    expect: { poll: { timeout: 30_000 } },
  },
});
