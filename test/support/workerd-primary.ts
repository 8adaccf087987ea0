// The harness of test/support/primary.ts with the primary where it runs: the bundle `npm start` serves
// (built once by test/support/workerd-bundle.ts) inside workerd through Miniflare, on a migrated
// database behind the local libSQL server. `call()` goes over HTTP to workerd; `db`, `client` and
// `env.FILES` reach the same database and R2 bucket, so tests seed and inspect as in process.
// Selected by FLOTILLA_TEST_TARGET=workerd (the workerd project of vitest.config.ts).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { inject } from "vitest";
import { startLibsqlServer } from "../../scripts/libsql-server/index.ts";
import { migrateDatabase } from "../../scripts/migrate.ts";
import { PRIMARY_WORKER, startPrimary } from "../../scripts/stack/primary.ts";
import * as schema from "../../worker/db/schema.ts";
import type { RawEnv } from "../../worker/env.ts";
import { routes } from "../../worker/index.ts";
import { type Harness, harnessRequest } from "./primary.ts";

export const workerdTarget = process.env.FLOTILLA_TEST_TARGET === "workerd";

export interface WorkerdHarnessOptions {
  secret: string;
  origin: string;
  /** Bindings besides the database, secret and public URL (e.g. TRUSTED_PROXY_HEADER). */
  bindings: Record<string, string>;
}

export async function createWorkerdHarness(options: WorkerdHarnessOptions): Promise<Harness> {
  const bundle = inject("workerdBundle");
  if (!bundle)
    throw new Error("The workerd harness needs the workerd project's global setup (vitest.config.ts).");
  const dir = await mkdtemp(join(tmpdir(), "flotilla-workerd-harness-"));
  const authToken = `workerd-harness-${crypto.randomUUID()}`;
  const libsql = await startLibsqlServer({ path: join(dir, "primary.db"), host: "127.0.0.1", authToken });
  const client = createClient({ url: libsql.url, authToken });
  await migrateDatabase(client);
  const bindings = {
    ...options.bindings,
    LIBSQL_URL: libsql.url,
    LIBSQL_AUTH_TOKEN: authToken,
    FLOTILLA_SECRET: options.secret,
    PUBLIC_URL: options.origin,
  };
  const primary = await startPrimary({
    scriptPath: bundle.scriptPath,
    consoleDir: bundle.consoleDir,
    host: "127.0.0.1",
    port: 0,
    stateDir: join(dir, "state"),
    bindings,
  });
  // Frozen: a test that changes a binding after start would change nothing inside workerd.
  const env: RawEnv = Object.freeze({
    ...bindings,
    FILES: await primary.miniflare.getR2Bucket("FILES", PRIMARY_WORKER),
  });
  const send = async (request: Request): Promise<Response> => {
    // A body whose length the test declared streams as it comes (a slow client); any other is
    // buffered like a browser's fetch of a known body, so the request carries its Content-Length.
    const streamed = request.body !== null && request.headers.has("content-length");
    const body = streamed ? request.body : request.body ? await request.arrayBuffer() : undefined;
    const response = await primary.miniflare.dispatchFetch(request.url, {
      method: request.method,
      headers: [...request.headers],
      body,
      ...(streamed ? { duplex: "half" } : {}),
      redirect: "manual",
    });
    // Read at once into an answer of this realm: Miniflare's fetch is another undici, whose unread
    // bodies were now and then found already used when a test came to read them. Miniflare hides
    // Content-Encoding once fetch has decoded the body; a browser's fetch shows both.
    const headers = new Headers([...response.headers].filter(([name]) => name !== "mf-content-encoding"));
    const encoding = response.headers.get("mf-content-encoding");
    if (encoding) headers.set("content-encoding", encoding);
    const bytes = response.body ? new Uint8Array(await response.arrayBuffer()) : null;
    return new Response(bytes, { status: response.status, statusText: response.statusText, headers });
  };
  return {
    app: {
      routes,
      fetch(request, requestEnv) {
        if (requestEnv !== env) {
          throw new Error(
            "Inside workerd the worker has the harness's bindings; a test passing its own env is node-only.",
          );
        }
        return send(request);
      },
    },
    db: drizzle(client, { schema }),
    client,
    env,
    // Inside workerd waitUntil work is the runtime's; the worker's logs go to workerd's output.
    logs: [],
    pending: [],
    async settle() {},
    call(method, path, callOptions) {
      return send(harnessRequest(method, path, callOptions));
    },
    workerd: { url: primary.url, miniflare: primary.miniflare },
    async close() {
      await primary.close();
      client.close();
      await libsql.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
