// Owns the round-trip harness: the primary in process reaching a local libSQL server over HTTP with
// `@libsql/client/web`, as workerd reaches Turso, through a fetch that records every HTTP request it
// sends (one request is one database round trip) and the SQL each carried.
import { createClient } from "@libsql/client/web";
import { drizzle } from "drizzle-orm/libsql/web";
import { Miniflare } from "miniflare";
import { migrateDatabase } from "../../scripts/migrate.ts";
import { createApp } from "../../worker/app.ts";
import * as schema from "../../worker/db/schema.ts";
import type { RawEnv } from "../../worker/env.ts";
import { routes } from "../../worker/index.ts";
import type { LogRecord } from "../../worker/logger.ts";
import type { AppDeps } from "../../worker/services.ts";
import { startTestServer } from "./libsql.ts";
import { type Harness, harnessRequest, ORIGIN, TEST_SECRET } from "./primary.ts";

/** One HTTP request to libSQL: the SQL of every statement it carried, in order. */
export type RoundTrip = string[];

export interface CountingHarness extends Harness {
  /** The round trips since the last `reset()`. */
  trips: RoundTrip[];
  reset(): void;
  /** Calls the app, waits for its background work, and answers the round trips the call made. */
  measure(run: () => Promise<Response>): Promise<{ response: Response; trips: RoundTrip[] }>;
}

type Stmt = { sql?: string; sql_id?: number };
type PipelineRequest = {
  type: string;
  sql?: string;
  sql_id?: number;
  stmt?: Stmt;
  batch?: { steps: { stmt: Stmt }[] };
};

/** The SQL texts in one Hrana v2 pipeline body (execute and batch steps; stored SQL resolved). */
function statementsOf(body: unknown): string[] {
  const requests = ((body as { requests?: PipelineRequest[] } | null)?.requests ?? []) as PipelineRequest[];
  const stored = new Map<number, string>();
  const text = (stmt: Stmt) => stmt.sql ?? stored.get(stmt.sql_id ?? -1) ?? "";
  const out: string[] = [];
  for (const request of requests) {
    if (request.type === "store_sql" && request.sql_id !== undefined)
      stored.set(request.sql_id, request.sql ?? "");
    if (request.type === "execute" && request.stmt) out.push(text(request.stmt));
    if (request.type === "batch") out.push(...(request.batch?.steps ?? []).map((step) => text(step.stmt)));
    if (request.type === "sequence") out.push("(sequence)");
  }
  return out;
}

export async function createCountingHarness(deps: Omit<AppDeps, "db"> = {}): Promise<CountingHarness> {
  const server = await startTestServer();
  const trips: RoundTrip[] = [];
  const counted: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const text = await request.clone().text();
    trips.push(statementsOf(text ? JSON.parse(text) : null));
    return fetch(request);
  };
  const url = server.server.url;
  const client = createClient({ url, authToken: server.token, fetch: counted });
  await migrateDatabase(client as Parameters<typeof migrateDatabase>[0]);
  const db = drizzle(client, { schema });
  const miniflare = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response(null, { status: 404 }); } }",
    r2Buckets: ["FILES"],
  });
  const logs: LogRecord[] = [];
  const app = createApp(routes, { logSink: (record) => logs.push(record), ...deps, db });
  const env: RawEnv = {
    LIBSQL_URL: url,
    LIBSQL_AUTH_TOKEN: server.token,
    FLOTILLA_SECRET: TEST_SECRET,
    PUBLIC_URL: ORIGIN,
    FILES: await miniflare.getR2Bucket("FILES"),
  };
  const pending: Promise<unknown>[] = [];
  const ctx = { waitUntil: (promise: Promise<unknown>) => void pending.push(promise) };
  const settle = async () => {
    while (pending.length > 0) await pending.shift();
  };
  const harness: CountingHarness = {
    app,
    db,
    client: client as unknown as Harness["client"],
    env,
    logs,
    pending,
    trips,
    settle,
    reset: () => void trips.splice(0),
    async measure(run) {
      await settle();
      trips.splice(0);
      const response = await run();
      await response.clone().arrayBuffer();
      await settle();
      return { response, trips: trips.splice(0) };
    },
    call(method, path, options = {}) {
      return app.fetch(harnessRequest(method, path, options), env, ctx);
    },
    async close() {
      await Promise.allSettled(pending);
      client.close();
      await miniflare.dispose();
      await server.stop();
    },
  };
  return harness;
}
