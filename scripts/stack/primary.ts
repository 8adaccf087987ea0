// Owns running the primary worker locally: bundle worker/index.ts with esbuild (what wrangler would
// do) and serve it from real workerd through Miniflare, with persistent R2 state under the data dir.
import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { build } from "esbuild";
import { Miniflare, type MiniflareOptions } from "miniflare";
import { parse } from "smol-toml";
import { buildConsole } from "../../worker/console/build.ts";

const root = resolve(import.meta.dirname, "../..");

/**
 * The runtime settings of wrangler.toml, their one source, so the local run and a deploy behave alike:
 * the compatibility date and flags, and the paths [assets] run_worker_first sends to the worker.
 */
function wranglerRuntime(): {
  compatibilityDate: string;
  compatibilityFlags: string[];
  workerPaths: string[];
} {
  const config = parse(readFileSync(join(root, "wrangler.toml"), "utf8"));
  const date = config.compatibility_date;
  const flags = config.compatibility_flags ?? [];
  const paths = (config.assets as { run_worker_first?: unknown } | undefined)?.run_worker_first;
  const strings = (value: unknown): value is string[] =>
    Array.isArray(value) && value.every((item) => typeof item === "string");
  if (typeof date !== "string" || !strings(flags) || !strings(paths)) {
    throw new Error(
      "wrangler.toml needs compatibility_date (a string), compatibility_flags and [assets] run_worker_first (strings).",
    );
  }
  return { compatibilityDate: date, compatibilityFlags: flags, workerPaths: paths };
}

/** compatibility_date and compatibility_flags as wrangler.toml sets them (nodejs_compat brings
 * node:crypto's streaming SHA-256, worker/storage/sha256.ts), and the paths the worker answers. */
export const { compatibilityDate, compatibilityFlags, workerPaths } = wranglerRuntime();

/**
 * The worker's paths as miniflare routes, on any host. Miniflare matches an exact route against the
 * path with its query string, so `/health` becomes the prefix `/health*` (a `/health?x` reaches the
 * worker as on Workers; the price is that `/healthx` does too, answered by the worker's 404).
 */
export const workerRoutes = (paths: string[]) =>
  paths.map((path) => (path.endsWith("*") ? `*${path}` : `*${path}*`));

/** A worker that never runs: the console's worker only serves its files. */
const ASSETS_ONLY = "export default { fetch() { return new Response(null, { status: 404 }); } };";

export async function bundleWorker(outDir: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const outfile = join(outDir, "worker.mjs");
  await build({
    entryPoints: [join(root, "worker/index.ts")],
    outfile,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    external: ["cloudflare:*", "node:*"],
    sourcemap: "linked",
    logLevel: "silent",
  });
  return outfile;
}

/** The primary worker's name in the local miniflare (beside "console", which serves the console's files). */
/** The worker that serves the API in the local layout (the console has its own). */
export const PRIMARY_WORKER = "flotilla";

export interface PrimaryOptions {
  scriptPath: string;
  host: string;
  port: number;
  stateDir: string;
  bindings: Record<string, string>;
  /** A console already built (buildConsole); otherwise it is built next to the bundle. */
  consoleDir?: string;
  /** Opens workerd's V8 inspector on this port (the campaign reads the worker's heap through it). */
  inspectorPort?: number;
}

export interface Primary {
  url: URL;
  miniflare: Miniflare;
  /** Runs the worker's scheduled handler once, as the cron trigger does on Workers. */
  runScheduled(): Promise<void>;
  /** Stops workerd and starts it again on the same port, as a deploy does: every connection drops,
   * Durable Object and R2 state stay. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startPrimary(options: PrimaryOptions): Promise<Primary> {
  // The web console's files in a worker of their own, and the API, WebDAV and /health (the paths
  // wrangler.toml's run_worker_first names) routed by miniflare straight to ours. On Workers the
  // assets router in front of the worker costs nothing; in miniflare it is a second workerd service
  // every API request passes through, which halves the requests per second the worker can answer
  // (bench: miniflare's ceiling, "assetsRouter" against "routed"). What each path serves is the same.
  const consoleDir = options.consoleDir ?? (await buildConsole(join(dirname(options.scriptPath), "console")));
  const settings: MiniflareOptions = {
    host: options.host,
    port: options.port,
    defaultPersistRoot: options.stateDir,
    ...(options.inspectorPort === undefined ? {} : { inspectorPort: options.inspectorPort }),
    r2Persist: true,
    durableObjectsPersist: true,
    workers: [
      // The first worker answers every path no route claims: a console file or its index.html.
      {
        name: "console",
        modules: true,
        script: ASSETS_ONLY,
        compatibilityDate,
        compatibilityFlags,
        assets: {
          directory: consoleDir,
          routerConfig: { has_user_worker: false },
          assetConfig: {
            html_handling: "auto-trailing-slash",
            not_found_handling: "single-page-application",
          },
        },
      },
      {
        name: PRIMARY_WORKER,
        modules: true,
        scriptPath: options.scriptPath,
        // Module names are relative to modulesRoot; the bundle may sit outside the checkout.
        modulesRoot: dirname(options.scriptPath),
        compatibilityDate,
        compatibilityFlags,
        routes: workerRoutes(workerPaths),
        bindings: options.bindings,
        r2Buckets: ["FILES"],
        // As wrangler.toml: the Durable Object an outbound-only follower's channel ends in.
        durableObjects: { FOLLOWER_CHANNEL: { className: "FollowerChannel", useSQLite: true } },
      },
    ],
  };
  const miniflare = new Miniflare(settings);
  const url = await miniflare.ready;
  return {
    url,
    miniflare,
    async runScheduled() {
      const worker = await miniflare.getWorker(PRIMARY_WORKER);
      await worker.scheduled({ cron: "*/5 * * * *" });
    },
    async restart() {
      // Miniflare replaces the workerd process and keeps the port it had.
      await miniflare.setOptions(settings);
      await miniflare.ready;
    },
    close: () => miniflare.dispose(),
  };
}
