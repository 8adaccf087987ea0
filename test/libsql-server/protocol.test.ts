// The wire itself, spoken with raw fetch: refusals of malformed or unauthorized requests, batons,
// stream expiry, and the requests @libsql/client seldom sends (describe, store_sql, get_autocommit).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer, tableName } from "../support/libsql.ts";

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ idleMs: 300, maxBodyBytes: 64 * 1024 });
});

afterAll(async () => {
  await t.stop();
});

// biome-ignore lint/suspicious/noExplicitAny: responses are inspected loosely, field by field.
type Json = any;

async function post(
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${t.server.url}/v2/pipeline`, {
    method: "POST",
    headers: { authorization: `Bearer ${t.token}`, "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

const execute = (sql: string, extra: Record<string, unknown> = {}) => ({
  type: "execute",
  stmt: { sql, ...extra },
});

describe("refusals", () => {
  it("answers a missing token and a wrong token with 401", async () => {
    const missing = await fetch(`${t.server.url}/v2/pipeline`, { method: "POST", body: "{}" });
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe("Bearer");
    expect((await missing.json()).code).toBe("UNAUTHORIZED");
    const wrong = await post({ requests: [] }, { authorization: `Bearer ${t.token}x` });
    expect(wrong.status).toBe(401);
    const scheme = await post({ requests: [] }, { authorization: `Basic ${t.token}` });
    expect(scheme.status).toBe(401);
    const probe = await fetch(`${t.server.url}/v2`);
    expect(probe.status).toBe(401);
  });

  it("answers malformed JSON, unknown request types and bad values with 400 and a JSON body", async () => {
    const notJson = await post("{not json");
    expect(notJson.status).toBe(400);
    expect(notJson.json).toMatchObject({ code: "HTTP_PARSE_ERROR" });
    const unknownType = await post({ requests: [{ type: "drop_everything" }] });
    expect(unknownType.status).toBe(400);
    expect(unknownType.json.code).toBe("PROTO_INVALID");
    expect(unknownType.json.message).toContain("requests.0");
    const noRequests = await post({ baton: null });
    expect(noRequests.status).toBe(400);
    const badValue = await post({ requests: [execute("SELECT ?", { args: [{ type: "integer" }] })] });
    expect(badValue.status).toBe(400);
  });

  it("refuses a body over the size limit with 413", async () => {
    const big = await post({ requests: [execute(`SELECT '${"x".repeat(70 * 1024)}'`)] });
    expect(big.status).toBe(413);
    expect(big.json.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("refuses a streamed (chunked) body once it passes the size limit", async () => {
    const chunk = new TextEncoder().encode(" ".repeat(16 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await fetch(`${t.server.url}/v2/pipeline`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.token}` },
      body,
      duplex: "half",
    } as RequestInit);
    expect(response.status).toBe(413);
  });

  it("refuses an unknown baton with 400", async () => {
    const unknown = await post({ baton: "bt_not-a-real-baton", requests: [execute("SELECT 1")] });
    expect(unknown.status).toBe(400);
    expect(unknown.json.code).toBe("STREAM_EXPIRED");
  });

  it("answers only the v2 routes: the version probe yes, v3 and other paths no", async () => {
    const auth = { authorization: `Bearer ${t.token}` };
    expect((await fetch(`${t.server.url}/v2`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${t.server.url}/v3-protobuf`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${t.server.url}/v3`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${t.server.url}/v2/pipeline`, { headers: auth })).status).toBe(405);
    expect((await fetch(`${t.server.url}/health`)).status).toBe(200);
  });

  it("rejects out-of-range integers and non-base64 blobs as argument errors, per request", async () => {
    const { status, json } = await post({
      requests: [
        execute("SELECT ?", { args: [{ type: "integer", value: "9223372036854775808" }] }),
        execute("SELECT ?", { args: [{ type: "blob", base64: "not base64!" }] }),
        execute("SELECT ?", { args: [{ type: "integer", value: "-9223372036854775808" }] }),
        { type: "close" },
      ],
    });
    expect(status).toBe(200);
    expect(json.results[0].error.code).toBe("ARGS_INVALID");
    expect(json.results[1].error.code).toBe("ARGS_INVALID");
    expect(json.results[2].response.result.rows[0][0]).toEqual({
      type: "integer",
      value: "-9223372036854775808",
    });
  });
});

describe("statements", () => {
  it("runs a statement with want_rows false and still reports its counters", async () => {
    const table = tableName("norows");
    const { json } = await post({
      requests: [
        execute(`CREATE TABLE ${table} (v)`),
        execute(`INSERT INTO ${table} VALUES (1), (2) RETURNING v`, { want_rows: false }),
        { type: "close" },
      ],
    });
    const result = json.results[1].response.result;
    expect(result.rows).toEqual([]);
    expect(result.affected_row_count).toBe(2);
    expect(result.last_insert_rowid).toBe("2");
  });

  it("refuses positional and named arguments together", async () => {
    const { json } = await post({
      requests: [
        execute("SELECT ?, :a", {
          args: [{ type: "null" }],
          named_args: [{ name: ":a", value: { type: "null" } }],
        }),
        { type: "close" },
      ],
    });
    expect(json.results[0].error.code).toBe("ARGS_BOTH_POSITIONAL_AND_NAMED");
  });
});

describe("streams", () => {
  it("encodes every value type and column decltypes on the wire", async () => {
    const { json } = await post({
      requests: [
        execute("SELECT 1 AS i, 1.5 AS f, 'x' AS t, x'00ff' AS b, NULL AS n, CAST(2 AS REAL) AS r"),
        { type: "close" },
      ],
    });
    expect(json.baton).toBeNull();
    expect(json.base_url).toBeNull();
    const result = json.results[0].response.result;
    expect(result.cols.map((col: Json) => col.name)).toEqual(["i", "f", "t", "b", "n", "r"]);
    expect(result.rows[0]).toEqual([
      { type: "integer", value: "1" },
      { type: "float", value: 1.5 },
      { type: "text", value: "x" },
      { type: "blob", base64: "AP8=" },
      { type: "null" },
      { type: "float", value: 2 },
    ]);
    expect(result.affected_row_count).toBe(0);
    expect(result.last_insert_rowid).toBeNull();
  });

  it("keeps a stream across requests under a baton that changes and cannot be replayed", async () => {
    const table = tableName("baton");
    const first = await post({ requests: [execute(`CREATE TABLE ${table} (v)`), execute("BEGIN")] });
    expect(first.status).toBe(200);
    const baton1 = first.json.baton as string;
    expect(baton1).toMatch(/^bt_[A-Za-z0-9_-]{40,}$/);
    const second = await post({ baton: baton1, requests: [execute(`INSERT INTO ${table} VALUES (1)`)] });
    const baton2 = second.json.baton as string;
    expect(baton2).not.toBe(baton1);
    expect((await post({ baton: baton1, requests: [execute("COMMIT")] })).status).toBe(400);
    const third = await post({ baton: baton2, requests: [execute("COMMIT"), { type: "close" }] });
    expect(third.json.results[0].type).toBe("ok");
    expect(third.json.baton).toBeNull();
    const check = await post({ requests: [execute(`SELECT count(*) FROM ${table}`), { type: "close" }] });
    expect(check.json.results[0].response.result.rows[0][0].value).toBe("1");
  });

  it("isolates an open transaction from other streams", async () => {
    const table = tableName("iso");
    await post({ requests: [execute(`CREATE TABLE ${table} (v)`), { type: "close" }] });
    const writer = await post({
      requests: [execute("BEGIN IMMEDIATE"), execute(`INSERT INTO ${table} VALUES (1)`)],
    });
    const reader = await post({ requests: [execute(`SELECT count(*) FROM ${table}`), { type: "close" }] });
    expect(reader.json.results[0].response.result.rows[0][0].value).toBe("0");
    await post({ baton: writer.json.baton, requests: [execute("ROLLBACK"), { type: "close" }] });
  });

  it("expires an idle stream, rolling back its open transaction", async () => {
    const table = tableName("expire");
    await post({ requests: [execute(`CREATE TABLE ${table} (v)`), { type: "close" }] });
    const open = await post({ requests: [execute("BEGIN"), execute(`INSERT INTO ${table} VALUES (1)`)] });
    await new Promise((resolve) => setTimeout(resolve, 900));
    const late = await post({ baton: open.json.baton, requests: [execute("COMMIT")] });
    expect(late.status).toBe(400);
    expect(late.json.code).toBe("STREAM_EXPIRED");
    const check = await post({ requests: [execute(`SELECT count(*) FROM ${table}`), { type: "close" }] });
    expect(check.json.results[0].response.result.rows[0][0].value).toBe("0");
    // The expired stream's write lock is gone: another stream can write at once.
    const write = await post({ requests: [execute(`INSERT INTO ${table} VALUES (2)`), { type: "close" }] });
    expect(write.json.results[0].type).toBe("ok");
  });

  it("answers each request of a pipeline on its own, errors included", async () => {
    const { json } = await post({
      requests: [
        execute("SELECT nope FROM nowhere"),
        execute("SELECT 2"),
        { type: "get_autocommit" },
        execute("BEGIN"),
        { type: "get_autocommit" },
        execute("ROLLBACK"),
        { type: "close" },
        execute("SELECT 3"),
      ],
    });
    expect(json.results.map((r: Json) => r.type)).toEqual([
      "error",
      "ok",
      "ok",
      "ok",
      "ok",
      "ok",
      "ok",
      "error",
    ]);
    expect(json.results[0].error).toMatchObject({ code: "SQLITE_UNKNOWN" });
    expect(json.results[2].response.is_autocommit).toBe(true);
    expect(json.results[4].response.is_autocommit).toBe(false);
    expect(json.results[7].error.code).toBe("STREAM_CLOSED");
  });

  it("lifts the read-only guard on the same stream once the read transaction ends", async () => {
    const table = tableName("rostream");
    const { json } = await post({
      requests: [
        execute(`CREATE TABLE ${table} (v)`),
        execute("BEGIN TRANSACTION READONLY"),
        execute(`INSERT INTO ${table} VALUES (1)`),
        execute("BEGIN TRANSACTION READONLY"),
        execute("ROLLBACK"),
        execute(`INSERT INTO ${table} VALUES (2)`),
        execute(`SELECT group_concat(v) FROM ${table}`),
        { type: "close" },
      ],
    });
    expect(json.results[2].error.code).toBe("SQLITE_READONLY");
    expect(json.results[3].error.message).toContain("within a transaction");
    expect(json.results[5].type).toBe("ok");
    expect(json.results[6].response.result.rows[0][0].value).toBe("2");
  });

  it("stores SQL texts by id for execute, batch and sequence, and forgets them on close_sql", async () => {
    const table = tableName("stored");
    const { json } = await post({
      requests: [
        { type: "store_sql", sql_id: 1, sql: `CREATE TABLE ${table} (v)` },
        { type: "store_sql", sql_id: 2, sql: `INSERT INTO ${table} VALUES (?)` },
        { type: "store_sql", sql_id: 2, sql: "SELECT 1" },
        { type: "sequence", sql_id: 1 },
        { type: "execute", stmt: { sql_id: 2, args: [{ type: "text", value: "a" }] } },
        { type: "batch", batch: { steps: [{ stmt: { sql_id: 2, args: [{ type: "text", value: "b" }] } }] } },
        { type: "close_sql", sql_id: 2 },
        { type: "execute", stmt: { sql_id: 2, args: [{ type: "text", value: "c" }] } },
        execute(`SELECT group_concat(v) FROM ${table}`),
        { type: "close" },
      ],
    });
    expect(json.results[2].error.code).toBe("SQL_STORE_CONFLICT");
    expect(json.results[4].response.result.affected_row_count).toBe(1);
    expect(json.results[5].response.result.step_results[0].affected_row_count).toBe(1);
    expect(json.results[7].error.code).toBe("SQL_NOT_FOUND");
    expect(json.results[8].response.result.rows[0][0].value).toBe("a,b");
  });

  it("evaluates batch conditions: ok, error, not, and, or, is_autocommit", async () => {
    const ok = (step: number) => ({ type: "ok", step });
    const steps = [
      { stmt: { sql: "SELECT 1" } },
      { stmt: { sql: "SELECT broken(" } },
      { condition: ok(0), stmt: { sql: "SELECT 'ran: ok(0)'" } },
      { condition: ok(1), stmt: { sql: "SELECT 'ran: ok(1)'" } },
      { condition: { type: "error", step: 1 }, stmt: { sql: "SELECT 'ran: error(1)'" } },
      { condition: { type: "not", cond: ok(1) }, stmt: { sql: "SELECT 'ran: not ok(1)'" } },
      { condition: { type: "and", conds: [ok(0), ok(1)] }, stmt: { sql: "SELECT 'ran: and'" } },
      { condition: { type: "or", conds: [ok(0), ok(1)] }, stmt: { sql: "SELECT 'ran: or'" } },
      { condition: { type: "is_autocommit" }, stmt: { sql: "SELECT 'ran: autocommit'" } },
    ];
    const { json } = await post({ requests: [{ type: "batch", batch: { steps } }, { type: "close" }] });
    const result = json.results[0].response.result;
    const ran = result.step_results.map((r: Json) => (r === null ? null : r.rows[0][0].value));
    expect(ran).toEqual([
      "1",
      null,
      "ran: ok(0)",
      null,
      "ran: error(1)",
      "ran: not ok(1)",
      null,
      "ran: or",
      "ran: autocommit",
    ]);
    expect(result.step_errors[1].code).toBe("SQL_PARSE_ERROR");
    expect(result.step_errors.filter((e: Json) => e !== null)).toHaveLength(1);

    const forward = await post({
      requests: [{ type: "batch", batch: { steps: [{ condition: ok(0), stmt: { sql: "SELECT 1" } }] } }],
    });
    expect(forward.json.results[0].error.code).toBe("BATCH_COND_INVALID");
  });

  it("describes a statement: parameters, columns, explain and read-only", async () => {
    const table = tableName("desc");
    const { json } = await post({
      requests: [
        execute(`CREATE TABLE ${table} (id INTEGER, name TEXT)`),
        { type: "describe", sql: `SELECT id, name FROM ${table} WHERE id = :id AND name = ? -- :not` },
        { type: "describe", sql: `INSERT INTO ${table} VALUES (?1, $name)` },
        { type: "describe", sql: `EXPLAIN SELECT 1` },
        { type: "close" },
      ],
    });
    const select = json.results[1].response.result;
    expect(select.params).toEqual([{ name: ":id" }, { name: null }]);
    expect(select.cols).toEqual([
      { name: "id", decltype: "INTEGER" },
      { name: "name", decltype: "TEXT" },
    ]);
    expect(select.is_readonly).toBe(true);
    expect(select.is_explain).toBe(false);
    const insert = json.results[2].response.result;
    expect(insert.params).toEqual([{ name: "?1" }, { name: "$name" }]);
    expect(insert.is_readonly).toBe(false);
    expect(json.results[3].response.result.is_explain).toBe(true);
  });
});
