// Test harness for the primary in process: a real migrated libSQL file database in a temp dir, a real
// R2 bucket from Miniflare, and helpers to call the app with new Request(...). Outbound fetch fails
// loudly unless a test injects its own.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { Miniflare } from "miniflare";
import { migrateDatabase } from "../../scripts/migrate.ts";
import { randomId } from "../../shared/crypto.ts";
import { createSession } from "../../worker/accounts/sessions.ts";
import { createUser } from "../../worker/accounts/users.ts";
import { type App, createApp } from "../../worker/app.ts";
import type { Db } from "../../worker/db/client.ts";
import * as schema from "../../worker/db/schema.ts";
import { followerNodes, storagePolicies } from "../../worker/db/schema.ts";
import type { RawEnv } from "../../worker/env.ts";
import { routes } from "../../worker/index.ts";
import type { LogRecord } from "../../worker/logger.ts";
import { encryptSecret } from "../../worker/secrets.ts";
import type { AppDeps } from "../../worker/services.ts";
import { policyCredentialContext } from "../../worker/storage/factory.ts";
import { S3RVER_KEY } from "./s3rver.ts";
import { createWorkerdHarness, workerdTarget } from "./workerd-primary.ts";

export const TEST_SECRET = "test-secret-0123456789-abcdefghijklmnop";
export const ORIGIN = "http://primary.test";

export interface Harness {
  app: App;
  db: Db;
  client: Client;
  env: RawEnv;
  logs: LogRecord[];
  /** Background work handed to waitUntil; awaited by settle(). */
  pending: Promise<unknown>[];
  settle(): Promise<void>;
  call(method: string, path: string, options?: CallOptions): Promise<Response>;
  close(): Promise<void>;
  /** Inside workerd only: the primary's own address and its Miniflare, for raw HTTP and bindings. */
  workerd?: { url: URL; miniflare: Miniflare };
}

export interface CallOptions {
  body?: unknown;
  token?: string;
  cookie?: string;
  origin?: string | null;
  headers?: Record<string, string>;
}

const unexpectedFetch: typeof fetch = async (input) => {
  throw new Error(
    `unexpected outbound fetch in test: ${String(input instanceof Request ? input.url : input)}`,
  );
};

/** Outbound fetch as the runtime has it, for tests that reach real services (s3rver, agents). */
export const realFetch: typeof fetch = (input, init) => fetch(input, init);

export interface HarnessOptions {
  /** Bindings besides the database, secret and public URL (e.g. TRUSTED_PROXY_HEADER). */
  bindings?: Record<string, string>;
}

/**
 * The primary over a fresh migrated database: in process (createApp), or inside workerd when the
 * workerd test project runs (FLOTILLA_TEST_TARGET=workerd). Injected clocks, fetches and log sinks
 * exist only in process, so a file passing them is listed node-only in vitest.config.ts.
 */
export async function createHarness(
  deps: Omit<AppDeps, "db"> = {},
  options: HarnessOptions = {},
): Promise<Harness> {
  if (workerdTarget) {
    const injected = Object.entries(deps).filter(
      ([name, value]) => !(name === "fetch" && value === realFetch),
    );
    if (injected.length > 0) {
      throw new Error(
        `createHarness(${injected.map(([name]) => name).join(", ")}) cannot reach inside workerd: list the test file in NODE_ONLY (vitest.config.ts).`,
      );
    }
    return createWorkerdHarness({ secret: TEST_SECRET, origin: ORIGIN, bindings: options.bindings ?? {} });
  }
  const dir = await mkdtemp(join(tmpdir(), "flotilla-worker-"));
  const client = createClient({ url: `file:${join(dir, "primary.db")}` });
  await migrateDatabase(client);
  const db = drizzle(client, { schema });
  const miniflare = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response(null, { status: 404 }); } }",
    r2Buckets: ["FILES"],
  });
  const files = await miniflare.getR2Bucket("FILES");
  const logs: LogRecord[] = [];
  const app = createApp(routes, {
    fetch: unexpectedFetch,
    logSink: (record) => logs.push(record),
    ...deps,
    db,
  });
  const env: RawEnv = {
    LIBSQL_URL: `file:${join(dir, "primary.db")}`,
    FLOTILLA_SECRET: TEST_SECRET,
    PUBLIC_URL: ORIGIN,
    FILES: files,
    ...options.bindings,
  };
  const pending: Promise<unknown>[] = [];
  const ctx = { waitUntil: (promise: Promise<unknown>) => void pending.push(promise) };
  return {
    app,
    db,
    client,
    env,
    logs,
    pending,
    async settle() {
      while (pending.length > 0) await pending.shift();
    },
    call(method, path, options = {}) {
      return app.fetch(harnessRequest(method, path, options), env, ctx);
    },
    async close() {
      await Promise.allSettled(pending);
      client.close();
      await miniflare.dispose();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The request a harness call sends: JSON body, bearer token or cookie, and the browser's Origin on writes. */
export function harnessRequest(method: string, path: string, options: CallOptions = {}): Request {
  const headers = new Headers(options.headers);
  if (options.body !== undefined) headers.set("content-type", "application/json");
  if (options.token) headers.set("authorization", `Bearer ${options.token}`);
  if (options.cookie) headers.set("cookie", options.cookie);
  const origin = options.origin === undefined ? ORIGIN : options.origin;
  if (origin !== null && method !== "GET" && method !== "HEAD") headers.set("origin", origin);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Request(`${ORIGIN}${path}`, { method, headers, body });
}

let seq = 0;
/** A fresh, unique name for this test run (tests seed fresh rows instead of wiping). */
export function unique(prefix: string): string {
  seq += 1;
  return `${prefix}-${process.pid}-${seq}-${Math.random().toString(36).slice(2, 8)}`;
}

export const TEST_PASSWORD = "correct horse battery";

/** Creates a user directly and returns it with a bearer token (API session) for it. */
export async function seedUser(h: Harness, role: "admin" | "user" = "user") {
  const user = await createUser(h.db, { username: unique(role), password: TEST_PASSWORD, role }, new Date());
  const session = await createSession(h.db, { userId: user.id, kind: "api", now: new Date() });
  return { user, token: session.token };
}

/** Logs in through the API as a browser; returns the cookie pair to send back. */
export async function browserLogin(h: Harness, username: string, password = TEST_PASSWORD): Promise<string> {
  const response = await h.call("POST", "/api/v1/auth/login", { body: { username, password } });
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${await response.text()}`);
  const cookie = response.headers.get("set-cookie");
  if (!cookie) throw new Error("login set no cookie");
  return cookie.split(";")[0] ?? "";
}

/** Inserts a storage policy row directly (policy CRUD belongs to the storage-policies API). */
export async function seedPolicy(
  h: Harness,
  input: { driver?: "remote" | "s3" | "primary"; nodeId?: string | null; maxFileSize?: number } = {},
) {
  const id = randomId();
  await h.db.insert(storagePolicies).values({
    id,
    name: unique("policy"),
    driver: input.driver ?? "primary",
    nodeId: input.nodeId ?? null,
    maxFileSize: input.maxFileSize ?? 0,
  });
  return id;
}

/**
 * Inserts an s3 policy on `endpoint`/`bucket` (path style) with credentials sealed like the admin API
 * does (s3rver's key unless given); `fields` sets anything else (modes, chunk size, limits, name).
 */
export async function seedS3Policy(
  h: Pick<Harness, "db">,
  input: {
    endpoint: string;
    bucket: string;
    key?: { accessKeyId: string; secretAccessKey: string };
    fields?: Partial<typeof storagePolicies.$inferInsert>;
  },
): Promise<string> {
  const id = randomId();
  const key = input.key ?? S3RVER_KEY;
  const seal = (value: string, which: "access_key" | "secret_key") =>
    encryptSecret(TEST_SECRET, value, policyCredentialContext(id, which));
  await h.db.insert(storagePolicies).values({
    name: unique("s3"),
    ...input.fields,
    id,
    driver: "s3",
    s3Endpoint: input.endpoint,
    s3Bucket: input.bucket,
    s3ForcePathStyle: true,
    s3AccessKeyEnc: await seal(key.accessKeyId, "access_key"),
    s3SecretKeyEnc: await seal(key.secretAccessKey, "secret_key"),
  });
  return id;
}

/** Inserts a follower node row directly, enabled or not. */
export async function seedNode(h: Harness, enabled = true) {
  const id = randomId();
  await h.db.insert(followerNodes).values({ id, name: unique("node"), enabled });
  return id;
}
