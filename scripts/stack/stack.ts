// Owns composing the single-box stack in one process (used by `npm start` and by tests): start order,
// bootstrap of the database and the first admin, and stopping in reverse order.
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { randomToken } from "../../shared/crypto.ts";
import { ensureAdmin, ensureDefaults } from "../../worker/accounts/bootstrap.ts";
import * as schema from "../../worker/db/schema.ts";
import { startLibsqlServer } from "../libsql-server/index.ts";
import { migrateDatabase } from "../migrate.ts";
import { loadOrCreateSecret, type StackConfig, stackPaths } from "./config.ts";
import { type Follower, startFollower } from "./follower.ts";
import { adminApi, planFollower, syncBaseUrl, testConnection } from "./follower-enrollment.ts";
import { type LibsqlProcess, startLibsqlProcess } from "./libsql-process.ts";
import { assertPortFree } from "./ports.ts";
import { bundleWorker, type Primary, startPrimary } from "./primary.ts";

export interface StackOptions {
  log: (line: string) => void;
  /** How often the local stand-in for the cron trigger runs the scheduled handler (ms). */
  scheduledIntervalMs?: number;
  /**
   * Puts something between the worker and libSQL (the benchmark's counting, delaying proxy): given the
   * server's URL, answers the URL the worker is to use and how to stop it.
   */
  libsqlInFront?: (url: string) => Promise<{ url: string; close(): Promise<void> }>;
  /**
   * Runs the libSQL server as a process of its own that can be stopped and started again in place
   * (the reliability campaign); otherwise it runs inside this process.
   */
  libsqlProcess?: boolean;
  /** Opens the primary's V8 inspector on this port (PrimaryOptions.inspectorPort). */
  inspectorPort?: number;
}

export interface Stack {
  primaryUrl: string;
  followerUrl: string;
  libsqlUrl: string;
  /** The libSQL server's token (for scripts that reach the database beside the worker). */
  libsqlAuthToken: string;
  /** The lines `npm start` prints: one per service, then the admin login. */
  summary: string[];
  primary: Primary;
  follower: Follower;
  /** The libSQL server run as its own process (StackOptions.libsqlProcess), to stop and start in place. */
  libsqlProcess?: LibsqlProcess;
  stop(): Promise<void>;
}

export async function startStack(config: StackConfig, options: StackOptions): Promise<Stack> {
  const paths = stackPaths(config.dataDir);
  await assertPortFree(config.host, config.libsqlPort, "local libSQL server", "FLOTILLA_LIBSQL_PORT");
  await assertPortFree(config.host, config.primaryPort, "primary", "FLOTILLA_PORT");
  await assertPortFree(config.host, config.followerPort, "follower", "FLOTILLA_FOLLOWER_PORT");

  const secret = await loadOrCreateSecret(paths.secret);
  const libsqlToken = randomToken("lst", 24);
  const server = {
    path: paths.database,
    host: config.host,
    port: config.libsqlPort,
    authToken: libsqlToken,
  };
  const libsqlProcess = options.libsqlProcess ? await startLibsqlProcess(server) : undefined;
  const libsql = libsqlProcess ?? (await startLibsqlServer(server));
  const stops: (() => Promise<void>)[] = [() => libsql.close()];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((error) => options.log(`stop: ${error}`));
  };

  try {
    const client = createClient({ url: libsql.url, authToken: libsqlToken });
    await migrateDatabase(client);
    const db = drizzle(client, { schema });
    await ensureDefaults(db);
    const generated = config.adminPassword === undefined ? randomToken("pw", 12).slice(3) : undefined;
    const admin = await ensureAdmin(db, {
      username: config.adminUsername,
      password: config.adminPassword ?? generated!,
    });

    const scriptPath = await bundleWorker(paths.build);
    const front = options.libsqlInFront ? await options.libsqlInFront(libsql.url) : null;
    if (front) stops.push(() => front.close());
    const bindings: Record<string, string> = {
      LIBSQL_URL: front?.url ?? libsql.url,
      LIBSQL_AUTH_TOKEN: libsqlToken,
      FLOTILLA_SECRET: secret,
    };
    if (config.trustedProxyHeader) bindings.TRUSTED_PROXY_HEADER = config.trustedProxyHeader;
    if (config.primaryPort !== 0) bindings.PUBLIC_URL = `http://${config.host}:${config.primaryPort}`;
    const primary = await startPrimary({
      scriptPath,
      host: config.host,
      port: config.primaryPort,
      stateDir: paths.primaryState,
      bindings,
      ...(options.inspectorPort === undefined ? {} : { inspectorPort: options.inspectorPort }),
    });
    stops.push(() => primary.close());
    const primaryUrl = primary.url.origin;

    // Follower 1 is connected through the admin's own path: node record, one-time token, redeem.
    const api = await adminApi(db, primaryUrl, config.adminUsername);
    const knownBaseUrl = config.followerPort === 0 ? "" : `http://${config.host}:${config.followerPort}`;
    const plan = await planFollower(api, primaryUrl, knownBaseUrl);
    const follower = await startFollower({
      host: config.host,
      port: config.followerPort,
      dataDir: paths.follower,
      ingressRoot: paths.followerIngressRoot,
      enroll: plan.enroll,
      onLog: (line) => options.log(`[follower-1] ${line}`),
    });
    stops.push(() => follower.stop());
    await syncBaseUrl(api, plan.nodeId, follower.url);
    await testConnection(api, plan.nodeId);
    await api.close();
    client.close();

    const timer = setInterval(() => {
      primary.runScheduled().catch((error) => options.log(`scheduled handler failed: ${error}`));
    }, options.scheduledIntervalMs ?? 60_000);
    stops.push(async () => clearInterval(timer));

    const adminLine = admin.created
      ? `Admin: ${config.adminUsername} / ${config.adminPassword === undefined ? `${generated} (generated; shown once, change it after login)` : "(password from FLOTILLA_ADMIN_PASSWORD)"}`
      : `Admin: ${config.adminUsername} (existing account; password as set before)`;
    return {
      primaryUrl,
      followerUrl: follower.url,
      libsqlUrl: libsql.url,
      libsqlAuthToken: libsqlToken,
      summary: [`Primary: ${primaryUrl}`, `Follower 1: ${follower.url}`, `libSQL: ${libsql.url}`, adminLine],
      primary,
      follower,
      ...(libsqlProcess ? { libsqlProcess } : {}),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
