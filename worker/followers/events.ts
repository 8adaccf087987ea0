// Owns the node's recent events (probe results, ingress pushes, binding pushes, failed transfers):
// appended here, the newest shown on the node's page. Old rows are trimmed so the table stays small.
import { and, desc, eq, lt } from "drizzle-orm";
import { randomId } from "../../shared/crypto.ts";
import { AppError } from "../../shared/errors.ts";
import { isForeignKeyViolation } from "../db/constraints.ts";
import { nodeEvents } from "../db/schema.ts";
import type { Services } from "../services.ts";

const KEEP = 50;

/**
 * Appends an event; false when the node no longer exists (deleted meanwhile: its events have no page
 * left to show on, and the caller decides whether that matters).
 */
export async function recordEvent(
  services: Services,
  nodeId: string,
  level: "info" | "warn" | "error",
  kind: string,
  message: string,
): Promise<boolean> {
  const at = services.now();
  try {
    await services.db.insert(nodeEvents).values({ id: randomId(), nodeId, at, level, kind, message });
  } catch (error) {
    if (isForeignKeyViolation(error)) return false;
    throw error;
  }
  const cutoff = await services.db
    .select({ at: nodeEvents.at })
    .from(nodeEvents)
    .where(eq(nodeEvents.nodeId, nodeId))
    .orderBy(desc(nodeEvents.at))
    .limit(1)
    .offset(KEEP);
  if (cutoff[0]) {
    await services.db
      .delete(nodeEvents)
      .where(and(eq(nodeEvents.nodeId, nodeId), lt(nodeEvents.at, cutoff[0].at)));
  }
  if (level !== "info") services.log.warn("follower node event", { node_id: nodeId, kind, message });
  return true;
}

export async function recentEvents(services: Services, nodeId: string, limit = 20) {
  return services.db
    .select()
    .from(nodeEvents)
    .where(eq(nodeEvents.nodeId, nodeId))
    .orderBy(desc(nodeEvents.at))
    .limit(limit);
}

/** Refusals below 500 that still mean the follower cannot take or serve objects. */
const FOLLOWER_TROUBLE = new Set([
  "ingress_default_missing",
  "ingress_default_not_applied",
  "agent_not_enrolled",
]);
/** The same failure again within this window is not recorded again (a burst of failing requests). */
const REPEAT_WINDOW_MS = 60_000;

/**
 * Records an object operation on the follower that failed on the follower's side (unreachable, timed
 * out, its storage full or failing, no applied default target), so the node's page shows recent
 * upload/download errors (tutorial §11). The caller's own mistakes (a bad range, a digest mismatch, a
 * missing object) are not the node's health and are not recorded. Never throws.
 */
export async function recordTransferFailure(
  services: Services,
  nodeId: string,
  operation: string,
  error: unknown,
): Promise<void> {
  const failure = error instanceof AppError ? error : null;
  if (failure && failure.status < 500 && !FOLLOWER_TROUBLE.has(failure.code)) return;
  const message = failure
    ? `${operation}: ${failure.code}: ${failure.message}`
    : `${operation}: internal error`;
  try {
    const [last] = await recentEvents(services, nodeId, 1);
    const now = services.now().getTime();
    if (last?.kind === "transfer" && last.message === message && now - last.at.getTime() < REPEAT_WINDOW_MS) {
      return;
    }
    await recordEvent(services, nodeId, "error", "transfer", message);
  } catch {
    services.log.warn("could not record a follower transfer failure", { node_id: nodeId, operation });
  }
}
