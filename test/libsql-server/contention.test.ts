// Lock contention and stream limits, with short budgets: a writer that cannot get the lock in time,
// and a server full of streams.
import { afterEach, describe, expect, it } from "vitest";
import { startTestServer, type TestServer, tableName } from "../support/libsql.ts";

let t: TestServer | undefined;

afterEach(async () => {
  await t?.stop();
  t = undefined;
});

// biome-ignore lint/suspicious/noExplicitAny: responses are inspected loosely, field by field.
type Json = any;

async function post(server: TestServer, body: unknown): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${server.server.url}/v2/pipeline`, {
    method: "POST",
    headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

const execute = (sql: string) => ({ type: "execute", stmt: { sql } });

describe("a writer that waits too long", () => {
  it("gets SQLITE_BUSY, its stream ends with STREAM_CLOSED, and later writes still commit", async () => {
    const s = await startTestServer({ busyWaitMs: 150 });
    t = s;
    const table = tableName("busy");
    await post(s, { requests: [execute(`CREATE TABLE ${table} (v)`), { type: "close" }] });
    const holder = await post(s, {
      requests: [execute("BEGIN IMMEDIATE"), execute(`INSERT INTO ${table} VALUES ('a')`)],
    });

    const loser = await post(s, {
      requests: [execute(`INSERT INTO ${table} VALUES ('b')`), execute(`INSERT INTO ${table} VALUES ('b2')`)],
    });
    expect(loser.json.results[0].error.code).toBe("SQLITE_BUSY");
    expect(loser.json.results[1].error.code).toBe("STREAM_CLOSED");
    // The stream is not silently replaced by a fresh one: its baton still answers, with STREAM_CLOSED.
    expect(loser.json.baton).toEqual(expect.any(String));
    const after = await post(s, { baton: loser.json.baton, requests: [execute("SELECT 1")] });
    expect(after.json.results[0].error.code).toBe("STREAM_CLOSED");

    await post(s, { baton: holder.json.baton, requests: [execute("COMMIT"), { type: "close" }] });
    const next = await post(s, {
      requests: [execute(`INSERT INTO ${table} VALUES ('c')`), { type: "close" }],
    });
    expect(next.json.results[0].type).toBe("ok");
    const rows = await post(s, {
      requests: [execute(`SELECT group_concat(v) FROM ${table}`), { type: "close" }],
    });
    expect(rows.json.results[0].response.result.rows[0][0].value).toBe("a,c");
    const closed = await post(s, { baton: after.json.baton, requests: [{ type: "close" }] });
    expect(closed.json.baton).toBeNull();
  });
});

describe("stream limit", () => {
  it("refuses a stream beyond maxStreams with 503 and opens one again once a stream closes", async () => {
    const s = await startTestServer({ maxStreams: 2 });
    t = s;
    const first = await post(s, { requests: [execute("SELECT 1")] });
    await post(s, { requests: [execute("SELECT 2")] });
    const refused = await post(s, { requests: [execute("SELECT 3")] });
    expect(refused.status).toBe(503);
    expect(refused.json.code).toBe("TOO_MANY_STREAMS");
    await post(s, { baton: first.json.baton, requests: [{ type: "close" }] });
    const again = await post(s, { requests: [execute("SELECT 4"), { type: "close" }] });
    expect(again.status).toBe(200);
  });
});
