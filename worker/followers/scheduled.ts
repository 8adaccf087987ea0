// Owns the follower work of the scheduled handler: re-push ingress targets still pending (the follower
// was down or not reachable yet), push each enrolled node's binding, and re-probe the enabled ones.
// A node's failure is recorded on that node and never stops the others.
import { and, eq, ne, or } from "drizzle-orm";
import { followerNodes, ingressTargets } from "../db/schema.ts";
import { describeError } from "../logger.ts";
import type { ScheduledTask } from "../scheduled-task.ts";
import type { Services } from "../services.ts";
import { pushBinding } from "./binding.ts";
import { pushTarget } from "./ingress.ts";
import { probeNode } from "./probe.ts";

const PARALLEL = 4;

async function eachLimited<T>(items: T[], run: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await run(item);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, queue.length) }, worker));
}

const reachable = and(
  eq(followerNodes.enrollmentStatus, "completed"),
  or(eq(followerNodes.connectivity, "outbound"), ne(followerNodes.baseUrl, "")),
);

export async function repushPendingTargets(services: Services): Promise<void> {
  const rows = await services.db
    .select({ target: ingressTargets, node: followerNodes })
    .from(ingressTargets)
    .innerJoin(followerNodes, eq(ingressTargets.nodeId, followerNodes.id))
    .where(and(eq(ingressTargets.state, "pending"), reachable));
  await eachLimited(rows, async ({ target, node }) => {
    try {
      await pushTarget(services, node, target);
    } catch (error) {
      services.log.error("ingress re-push failed", {
        node_id: node.id,
        target_id: target.id,
        error: describeError(error),
      });
    }
  });
}

export async function reprobeNodes(services: Services): Promise<void> {
  const nodes = await services.db.select().from(followerNodes).where(reachable);
  await eachLimited(nodes, async (node) => {
    try {
      // Disabled nodes get their binding re-pushed too (a disable the follower missed), but no probe.
      await pushBinding(services, node);
      if (node.enabled) await probeNode(services, node);
    } catch (error) {
      services.log.error("follower probe failed", { node_id: node.id, error: describeError(error) });
    }
  });
}

export const followerTasks: ScheduledTask[] = [
  { name: "repush_ingress_targets", run: repushPendingTargets },
  { name: "probe_followers", run: reprobeNodes },
];
