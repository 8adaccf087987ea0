// Owns answering one stream request on a stream's connection. Every failure becomes a protocol error
// result for that request alone; the stream and the rest of the pipeline carry on.
import { executeBatch } from "./batch.ts";
import type { Connection } from "./connection.ts";
import { describe } from "./describe.ts";
import { executeStmt, runSequence } from "./execute.ts";
import { toWireError } from "./sql-errors.ts";
import type { StreamRequest, StreamResponse, StreamResult } from "./wire.ts";

async function respond(conn: Connection, request: StreamRequest): Promise<StreamResponse> {
  switch (request.type) {
    case "close":
      return { type: "close" };
    case "execute":
      return { type: "execute", result: await executeStmt(conn, request.stmt) };
    case "batch":
      return { type: "batch", result: await executeBatch(conn, request.batch) };
    case "sequence":
      await runSequence(conn, conn.resolveSql(request.sql, request.sql_id));
      return { type: "sequence" };
    case "describe":
      return { type: "describe", result: describe(conn, conn.resolveSql(request.sql, request.sql_id)) };
    case "store_sql":
      conn.storeSql(request.sql_id, request.sql);
      return { type: "store_sql" };
    case "close_sql":
      conn.closeSql(request.sql_id);
      return { type: "close_sql" };
    case "get_autocommit":
      return { type: "get_autocommit", is_autocommit: conn.isAutocommit };
  }
}

export async function answer(conn: Connection, request: StreamRequest): Promise<StreamResult> {
  try {
    return { type: "ok", response: await respond(conn, request) };
  } catch (error) {
    return { type: "error", error: toWireError(error) };
  }
}
