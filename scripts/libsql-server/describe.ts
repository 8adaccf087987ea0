// Owns `describe`: what a statement takes and returns without running it. The engine binding exposes
// columns only, so parameters come from the SQL text and read-only-ness from the compiled program.
import type { Connection } from "./connection.ts";
import { singleStatement } from "./execute.ts";
import { firstWord, parameterNames } from "./sql-text.ts";
import type { DescribeResult } from "./wire.ts";

// Opcodes that only a statement which writes the database compiles to.
const writingOpcodes = new Set([
  "OpenWrite",
  "Insert",
  "Delete",
  "IdxInsert",
  "IdxDelete",
  "VUpdate",
  "Destroy",
]);

export function describe(conn: Connection, sqlText: string): DescribeResult {
  const sql = singleStatement(sqlText);
  const prepared = conn.db.prepare(sql);
  const cols = prepared.columns().map((col) => ({ name: col.name, decltype: col.type }));
  const isExplain = firstWord(sql) === "EXPLAIN";
  // The binding has no sqlite3_stmt_readonly(); the compiled program shows whether it writes.
  const program = isExplain ? [] : (conn.db.prepare(`EXPLAIN ${sql}`).raw(true).all() as unknown[][]);
  const writes = program.some(
    ([, opcode, , p2]) =>
      writingOpcodes.has(String(opcode)) || (opcode === "Transaction" && Number(p2) !== 0),
  );
  return {
    params: parameterNames(sql).map((name) => ({ name })),
    cols,
    is_explain: isExplain,
    is_readonly: !writes,
  };
}
