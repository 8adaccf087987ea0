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

/** The runtime settings of wrangler.toml, their one source, so the local run and a deploy behave alike. */
function wranglerRuntime(): { compatibilityDate: string; compatibilityFlags: string[] } {
  const config = parse(readFileSync(join(root, "wrangler.toml"), "utf8"));
  const date = config.compatibility_date;
  const flags = config.compatibility_flags ?? [];
  if (typeof date !== "string" || !Array.isArray(flags) || !flags.every((flag) => typeof flag === "string")) {
    throw new Error("wrangler.toml needs compatibility_date (a string) and compatibility_flags (strings).");
  }
  return { compatibilityDate: date, compatibilityFlags: flags as string[] };
}

/** compatibility_date and compatibility_flags as wrangler.toml sets them (nodejs_compat brings
 * node:crypto's streaming SHA-256, worker/storage/sha256.ts). */
export const { compatibilityDate, compatibilityFlags } = wranglerRuntime();

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

export interface PrimaryOptions {
  scriptPath: string;
  host: string;
  port: number;
  stateDir: string;
  bindings: Record<string, string>;
  /** A console already built (buildConsole); otherwise it is built next to the bundle. */
  consoleDir?: string;
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
  // The web console, served as Workers static assets like wrangler.toml [assets] says: the API,
  // WebDAV and /health reach the worker first, any other path is a file or the console's index.html.
  const consoleDir = options.consoleDir ?? (await buildConsole(join(dirname(options.scriptPath), "console")));
  const settings: MiniflareOptions = {
    modules: true,
    scriptPath: options.scriptPath,
    // Module names are relative to modulesRoot; the bundle may sit outside the checkout.
    modulesRoot: dirname(options.scriptPath),
    compatibilityDate,
    compatibilityFlags,
    host: options.host,
    port: options.port,
    bindings: options.bindings,
    r2Buckets: ["FILES"],
    // As wrangler.toml: the Durable Object an outbound-only follower's channel ends in.
    durableObjects: { FOLLOWER_CHANNEL: { className: "FollowerChannel", useSQLite: true } },
    defaultPersistRoot: options.stateDir,
    r2Persist: true,
    durableObjectsPersist: true,
    assets: {
      directory: consoleDir,
      routerConfig: {
        has_user_worker: true,
        static_routing: { user_worker: ["/api/*", "/dav", "/dav/*", "/health", "/health/*"] },
      },
      assetConfig: { html_handling: "auto-trailing-slash", not_found_handling: "single-page-application" },
    },
  };
  const miniflare = new Miniflare(settings);
  const url = await miniflare.ready;
  return {
    url,
    miniflare,
    async runScheduled() {
      const worker = await miniflare.getWorker();
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
