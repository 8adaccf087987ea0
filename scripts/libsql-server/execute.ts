// Owns running single statements on a stream's connection: argument binding, result rows and counters
// (`execute`), and splitting and running scripts (`sequence`).
import type { Connection } from "./connection.ts";
import { SqlError } from "./sql-errors.ts";
import { splitStatements } from "./sql-text.ts";
import { decodeValue, type EngineValue, encodeValue } from "./values.ts";
import type { Stmt, StmtResult, WireValue } from "./wire.ts";

type Params = EngineValue[] | Record<string, EngineValue>;

function bindParams(stmt: Stmt): Params {
  const positional = stmt.args ?? [];
  const named = stmt.named_args ?? [];
  if (positional.length > 0 && named.length > 0) {
    throw new SqlError("ARGS_BOTH_POSITIONAL_AND_NAMED", "Arguments are both positional and named.");
  }
  if (named.length === 0) return positional.map(decodeValue);
  // The engine binds names without their prefix; clients send either form (":id" or "id").
  const params: Record<string, EngineValue> = {};
  for (const { name, value } of named) params[name.replace(/^[:@$]/, "")] = decodeValue(value);
  return params;
}

// What client.transaction("read") and batch(..., "read") send; libSQL syntax, not SQLite's.
const readOnlyBegin = /^\s*BEGIN\s+TRANSACTION\s+READONLY\s*;?\s*$/i;

/** Runs one statement known to be single, and lifts the read-only guard when its transaction ends. */
export async function runStatement(
  conn: Connection,
  sql: string,
  params: Params,
  wantRows: boolean,
): Promise<StmtResult> {
  conn.noteStatement(sql);
  if (readOnlyBegin.test(sql)) {
    conn.beginReadOnly();
    return {
      cols: [],
      rows: [],
      affected_row_count: 0,
      last_insert_rowid: null,
      rows_read: 0,
      rows_written: 0,
    };
  }
  try {
    return await runPrepared(conn, sql, params, wantRows);
  } finally {
    conn.settleReadOnly();
  }
}

/**
 * A statement refused with SQLITE_BUSY is stepped again (the same prepared statement: SQLite's retry
 * protocol) until the lock frees or the wait budget runs out.
 */
async function runPrepared(
  conn: Connection,
  sql: string,
  params: Params,
  wantRows: boolean,
): Promise<StmtResult> {
  const prepared = conn.db.prepare(sql).safeIntegers(true);
  const cols = prepared.columns().map((col) => ({ name: col.name, decltype: col.type }));
  const before = conn.totalChanges();
  if (prepared.reader) prepared.raw(true);
  const rows = await conn.retrying(() => {
    if (prepared.reader) return prepared.all(params) as unknown[][];
    prepared.run(params);
    return [];
  });
  const after = conn.counters();
  // changes() keeps the count of the last writing statement, so it only describes this one if the
  // total moved; a read (or DDL) reports no rows and no rowid.
  const wrote = after.total !== before;
  const affected = wrote ? Number(after.changes) : 0;
  const encoded: WireValue[][] = wantRows ? rows.map((row) => row.map(encodeValue)) : [];
  return {
    cols,
    rows: encoded,
    affected_row_count: affected,
    last_insert_rowid: wrote ? after.lastInsertRowid.toString() : null,
    // The binding exposes no scan counters: these count rows returned and rows changed.
    rows_read: rows.length,
    rows_written: affected,
  };
}

export function singleStatement(sql: string): string {
  const statements = splitStatements(sql);
  if (statements.length === 0) throw new SqlError("SQL_NO_STATEMENT", "The SQL text contains no statement.");
  if (statements.length > 1) {
    throw new SqlError("SQL_MANY_STATEMENTS", "The SQL text contains more than one statement.");
  }
  return sql;
}

export function executeStmt(conn: Connection, stmt: Stmt): Promise<StmtResult> {
  const sql = singleStatement(conn.resolveSql(stmt.sql, stmt.sql_id));
  return runStatement(conn, sql, bindParams(stmt), stmt.want_rows ?? true);
}

/** Runs each statement of a script in order, stopping at the first failure (which is thrown). */
export async function runSequence(conn: Connection, sql: string): Promise<void> {
  for (const statement of splitStatements(sql)) {
    await runStatement(conn, statement, [], false);
  }
}
