// Owns the node's recent events (probe results, ingress pushes, binding pushes, failed transfers):
// appended here, the newest shown on the node's page. A routine success that repeats the last event of
// its kind extends that event's run (last time, count) instead of adding a row, so a probe every
// minute never pushes a failure off the page; failures and changes always add a row. Old rows are
// trimmed so the table stays small.
import { and, desc, eq, inArray, lt, type SQL, sql } from "drizzle-orm";
import { randomId } from "../../shared/crypto.ts";
import { AppError } from "../../shared/errors.ts";
import { isForeignKeyViolation } from "../db/constraints.ts";
import { nodeEvents } from "../db/schema.ts";
import type { Services } from "../services.ts";

const KEEP = 200;

/** Kinds that succeed again and again on schedule; their repeats are runs, not new events. */
const ROUTINE_KINDS = new Set(["probe", "binding_push", "ingress_push"]);

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
  if (level === "info" && ROUTINE_KINDS.has(kind)) {
    // The newest event of this kind, if it was this same success, becomes one longer run.
    const newestOfKind = sql`(select ${nodeEvents.id} from ${nodeEvents} where ${nodeEvents.nodeId} = ${nodeId}
      and ${nodeEvents.kind} = ${kind} order by ${nodeEvents.at} desc limit 1)`;
    const extended = await services.db
      .update(nodeEvents)
      .set({ at, repeats: sql`${nodeEvents.repeats} + 1` })
      .where(
        and(eq(nodeEvents.id, newestOfKind), eq(nodeEvents.level, "info"), eq(nodeEvents.message, message)),
      )
      .returning({ id: nodeEvents.id });
    if (extended.length > 0) return true;
  }
  try {
    await services.db
      .insert(nodeEvents)
      .values({ id: randomId(), nodeId, at, firstAt: at, level, kind, message });
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
  return findEvents(services, nodeId, { limit });
}

export interface EventFilter {
  levels?: readonly ("info" | "warn" | "error")[];
  kind?: string;
  /** Only events whose (last) time is before this. */
  before?: Date;
  limit: number;
}

/** The node's events, newest first, narrowed by level, kind and time (a page of the full history). */
export async function findEvents(services: Services, nodeId: string, filter: EventFilter) {
  const conditions: SQL[] = [eq(nodeEvents.nodeId, nodeId)];
  if (filter.levels?.length) conditions.push(inArray(nodeEvents.level, [...filter.levels]));
  if (filter.kind) conditions.push(eq(nodeEvents.kind, filter.kind));
  if (filter.before) conditions.push(lt(nodeEvents.at, filter.before));
  return services.db
    .select()
    .from(nodeEvents)
    .where(and(...conditions))
    .orderBy(desc(nodeEvents.at))
    .limit(filter.limit);
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
