// Owns `batch`: steps run in order, each only if its condition holds over the outcomes of earlier steps
// (and the autocommit state). A failing step is recorded, not fatal; the client builds atomicity from
// conditions (BEGIN, steps that need ok(previous), COMMIT, ROLLBACK unless ok(COMMIT)).
import type { Connection } from "./connection.ts";
import { executeStmt } from "./execute.ts";
import { SqlError, toWireError } from "./sql-errors.ts";
import type { Batch, BatchCond, BatchResult } from "./wire.ts";

type Outcome = "ok" | "error" | "skipped";

/** Refuses conditions that look at the step itself or later ones: they have no outcome yet. */
function checkCondition(cond: BatchCond, step: number): void {
  switch (cond.type) {
    case "ok":
    case "error":
      if (cond.step >= step) {
        throw new SqlError("BATCH_COND_INVALID", `Step ${step} has a condition on step ${cond.step}.`);
      }
      return;
    case "not":
      checkCondition(cond.cond, step);
      return;
    case "and":
    case "or":
      for (const inner of cond.conds) checkCondition(inner, step);
      return;
    case "is_autocommit":
      return;
  }
}

function holds(cond: BatchCond, outcomes: Outcome[], conn: Connection): boolean {
  switch (cond.type) {
    case "ok":
      return outcomes[cond.step] === "ok";
    case "error":
      return outcomes[cond.step] === "error";
    case "not":
      return !holds(cond.cond, outcomes, conn);
    case "and":
      return cond.conds.every((inner) => holds(inner, outcomes, conn));
    case "or":
      return cond.conds.some((inner) => holds(inner, outcomes, conn));
    case "is_autocommit":
      return conn.isAutocommit;
  }
}

export async function executeBatch(conn: Connection, batch: Batch): Promise<BatchResult> {
  batch.steps.forEach((step, index) => {
    if (step.condition !== undefined) checkCondition(step.condition, index);
  });
  const outcomes: Outcome[] = [];
  const result: BatchResult = { step_results: [], step_errors: [] };
  for (const step of batch.steps) {
    if (step.condition !== undefined && !holds(step.condition, outcomes, conn)) {
      outcomes.push("skipped");
      result.step_results.push(null);
      result.step_errors.push(null);
      continue;
    }
    try {
      result.step_results.push(await executeStmt(conn, step.stmt));
      result.step_errors.push(null);
      outcomes.push("ok");
    } catch (error) {
      result.step_results.push(null);
      result.step_errors.push(toWireError(error));
      outcomes.push("error");
    }
  }
  return result;
}
