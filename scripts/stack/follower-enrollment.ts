// Owns connecting Follower 1 in the single-box stack through the very path an admin uses: the node
// record and a one-time enrollment token from the primary's API, redeemed by the agent at first start.
import { eq } from "drizzle-orm";
import { z } from "zod";
import { createSession } from "../../worker/accounts/sessions.ts";
import type { Db } from "../../worker/db/client.ts";
import { users } from "../../worker/db/schema.ts";

export const FOLLOWER_NAME = "Follower 1";

const nodeSchema = z.object({
  id: z.string(),
  name: z.string(),
  base_url: z.string(),
  enrollment: z.object({ status: z.string() }),
});

export interface AdminApi {
  call<T>(method: string, path: string, schema: z.ZodType<T>, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

/**
 * A short-lived API session for the launcher, issued for the admin account with the same code that
 * serves logins (no password needed, so a second start works too), revoked by close().
 */
export async function adminApi(db: Db, primaryUrl: string, username: string): Promise<AdminApi> {
  const [admin] = await db.select().from(users).where(eq(users.username, username));
  if (!admin) throw new Error(`The admin account "${username}" does not exist.`);
  const session = await createSession(db, {
    userId: admin.id,
    kind: "api",
    now: new Date(),
    name: "npm start (single-box enrollment)",
    ttlMs: 10 * 60_000,
  });
  const call = async <T>(method: string, path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> => {
    const response = await fetch(new URL(path, primaryUrl), {
      method,
      headers: { authorization: `Bearer ${session.token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
    return schema.parse(text === "" ? undefined : JSON.parse(text));
  };
  return {
    call,
    close: () => call("POST", "/api/v1/auth/logout", z.unknown()).then(() => undefined),
  };
}

export interface FollowerPlan {
  nodeId: string;
  /** Present when the agent must redeem a token at start (first start, or enrollment never completed). */
  enroll?: { primaryUrl: string; token: string };
}

/** Finds or creates the Follower 1 record and, unless it is enrolled already, issues a token. */
export async function planFollower(
  api: AdminApi,
  primaryUrl: string,
  baseUrl: string,
): Promise<FollowerPlan> {
  const { nodes } = await api.call("GET", "/api/v1/admin/nodes", z.object({ nodes: z.array(nodeSchema) }));
  let node = nodes.find((candidate) => candidate.name === FOLLOWER_NAME);
  node ??= await api.call("POST", "/api/v1/admin/nodes", nodeSchema, {
    name: FOLLOWER_NAME,
    base_url: baseUrl,
  });
  if (node.enrollment.status === "completed") return { nodeId: node.id };
  const issued = await api.call(
    "POST",
    `/api/v1/admin/nodes/${node.id}/enrollment-token`,
    z.object({ token: z.string() }),
    {},
  );
  return { nodeId: node.id, enroll: { primaryUrl, token: issued.token } };
}

/** Points the record at where the agent really listens (its port may change between starts). */
export async function syncBaseUrl(api: AdminApi, nodeId: string, baseUrl: string): Promise<void> {
  const node = await api.call("GET", `/api/v1/admin/nodes/${nodeId}`, nodeSchema);
  if (node.base_url !== baseUrl) {
    await api.call("PATCH", `/api/v1/admin/nodes/${nodeId}`, z.unknown(), { base_url: baseUrl });
  }
}

/** Runs Test Connection once so the admin finds a result on first login. */
export async function testConnection(api: AdminApi, nodeId: string): Promise<void> {
  await api.call("POST", `/api/v1/admin/nodes/${nodeId}/test`, z.unknown(), {});
}
