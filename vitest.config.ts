import { globSync, readFileSync } from "node:fs";
import { configDefaults, defineConfig } from "vitest/config";

// Tests run in Node 22 (pinned in devDependencies). Worker code is exercised both in process
// (its fetch handler is plain Fetch API) and inside real workerd through Miniflare. `npm test` needs
// nothing but `npm install`; tests against clients that only Debian packages (test/interop/) run in
// `npm run test:interop` (vitest.interop.config.ts).
//
// Two projects: `node` runs every test file in Node. `workerd` runs the API suites again, each file
// with the primary as it really runs (test/support/workerd-primary.ts): every test/worker file that
// builds its primary with createHarness(), except the node-only ones below.

/** API suites that stay in process, each with why workerd cannot host what it injects. */
const NODE_ONLY: Record<string, string> = {
  "test/worker/app.test.ts":
    "calls createApp with its own env and log sink and closes the app's own db client",
  "test/worker/route.test.ts": "builds apps from test-only routes that the bundle does not have",
  "test/worker/migrate.test.ts": "hands the app env variants (no FILES, wrong token) per request",
  "test/worker/scheduled.test.ts": "runs the scheduled tasks in process with services of its own",
  "test/worker/uploads/failures.test.ts": "injects faults through the app's outbound fetch",
  "test/worker/round-trips.test.ts": "counts database round trips on the app's own db client",
  "test/worker/webdav.test.ts": "moves the worker's clock to run lock timeouts out",
  "test/worker/files/shares-unlock-expiry.test.ts":
    "moves the worker's clock past an unlock token's lifetime",
};

/** Suites that need the primary's own HTTP front inside workerd (raw sockets), each with why. */
const WORKERD_ONLY: Record<string, string> = {
  "test/worker/uploads/disconnect.test.ts":
    "cuts client connections mid-body, which the in-process call cannot",
};

const harnessSuites = globSync("test/worker/**/*.test.ts")
  .filter((file) => readFileSync(file, "utf8").includes("createHarness("))
  .filter((file) => !(file in NODE_ONLY))
  .sort();

const base = {
  exclude: [...configDefaults.exclude, "test/interop/**"],
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: "forks" as const,
  setupFiles: ["test/support/keep-alive.ts"],
  // expect.poll waits for a state (a row applied, a status shown); 1 s, vitest's default, is
  // shorter than a loaded machine needs. A poll still ends as soon as its state holds.
  expect: { poll: { timeout: 30_000 } },
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...base,
          name: "node",
          include: ["test/**/*.test.ts"],
          exclude: [...base.exclude, ...Object.keys(WORKERD_ONLY)],
        },
      },
      {
        test: {
          ...base,
          name: "workerd",
          include: harnessSuites,
          env: { FLOTILLA_TEST_TARGET: "workerd" },
          globalSetup: ["test/support/workerd-bundle.ts"],
        },
      },
    ],
  },
});
