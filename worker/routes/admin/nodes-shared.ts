// Owns what the follower-node route modules share: loading a node or answering not_found,
// and the primary's public origin (for agent commands and the enrollment answer).
import { eq } from "drizzle-orm";
import { AppError } from "../../../shared/errors.ts";
import { followerNodes } from "../../db/schema.ts";
import type { NodeRow } from "../../followers/client.ts";
import type { Services } from "../../services.ts";

export async function loadNode(services: Services, id: string): Promise<NodeRow> {
  const [node] = await services.db.select().from(followerNodes).where(eq(followerNodes.id, id));
  if (!node) throw new AppError("not_found", "No such follower node.");
  return node;
}

export function primaryOrigin(services: Services, request: Request): string {
  return services.env.PUBLIC_URL ?? new URL(request.url).origin;
}
