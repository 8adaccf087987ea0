// Owns the node's recent events (probe results, ingress pushes, binding pushes): appended here, the
// newest shown on the node's page. Old rows are trimmed so the table stays small.
import { and, desc, eq, lt } from "drizzle-orm";
import { randomId } from "../../shared/crypto.ts";
import { nodeEvents } from "../db/schema.ts";
import type { Services } from "../services.ts";

const KEEP = 50;

export async function recordEvent(
  services: Services,
  nodeId: string,
  level: "info" | "warn" | "error",
  kind: string,
  message: string,
): Promise<void> {
  const at = services.now();
  await services.db.insert(nodeEvents).values({ id: randomId(), nodeId, at, level, kind, message });
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
}

export async function recentEvents(services: Services, nodeId: string, limit = 20) {
  return services.db
    .select()
    .from(nodeEvents)
    .where(eq(nodeEvents.nodeId, nodeId))
    .orderBy(desc(nodeEvents.at))
    .limit(limit);
}
