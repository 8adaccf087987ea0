// Owns pushing a node's binding state (name, enabled) to its follower. Best effort by design: the
// primary's record is the truth, a failed push is recorded on the node and retried by the scheduled
// task, and a disabled node is refused on the primary before any network call anyway.
import type { BindingSync } from "../api/nodes.ts";
import type { Services } from "../services.ts";
import { assertReachable, followerClient, type NodeRow, reasonOf } from "./client.ts";
import { fromFollower } from "./errors.ts";
import { recordEvent } from "./events.ts";

export async function pushBinding(services: Services, node: NodeRow): Promise<BindingSync> {
  try {
    assertReachable(node);
  } catch (error) {
    return { state: "skipped", reason: reasonOf(error) };
  }
  try {
    const client = await followerClient(services, node);
    // The record's update time orders pushes: the agent refuses one older than it already applied.
    await client.pushBinding({ name: node.name, enabled: node.enabled, revision: node.updatedAt.getTime() });
    await recordEvent(services, node.id, "info", "binding_push", `enabled=${node.enabled}`);
    return { state: "pushed", reason: null };
  } catch (thrown) {
    const reason = reasonOf(fromFollower(thrown));
    await recordEvent(services, node.id, "warn", "binding_push", reason);
    return { state: "failed", reason };
  }
}
