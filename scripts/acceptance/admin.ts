// Owns the admin half of the walk (tutorial §1, §4-§7): log in, find the follower node, Test
// Connection, and per transfer mode a remote policy and its connection test, a test policy group with
// one rule, a test user and a test team bound to it. Ingress targets are in targets.ts.
import { z } from "zod";
import type { ingressTargetSchema } from "../../worker/api/ingress-targets.ts";
import { nodeSchema, testResultSchema } from "../../worker/api/nodes.ts";
import { policySchema, policyTestSchema } from "../../worker/api/policies.ts";
import { policyGroupSchema } from "../../worker/api/policy-groups.ts";
import { userSchema } from "../../worker/api/users.ts";
import { Api } from "./api.ts";
import type { AcceptanceConfig, Mode } from "./config.ts";
import { check } from "./walk.ts";

export type NodeView = z.infer<typeof nodeSchema>;
export type Target = z.infer<typeof ingressTargetSchema>;
export type Policy = z.infer<typeof policySchema>;
export type Group = z.infer<typeof policyGroupSchema>;
export type User = z.infer<typeof userSchema>;

const loginSchema = z.object({ token: z.string(), user: userSchema });

export async function login(
  baseUrl: string,
  username: string,
  password: string,
  label: string,
): Promise<Api> {
  const api = new Api(baseUrl);
  const { token } = await api.json("POST", "/api/v1/auth/login", loginSchema, {
    body: { username, password, client: "api", token_name: label },
  });
  return api.as(token);
}

/** The named node, or the first enrolled one; it must be enabled, with a base_url unless it is outbound-only. */
export async function findNode(admin: Api, name: string | undefined): Promise<NodeView> {
  const { nodes } = await admin.json("GET", "/api/v1/admin/nodes", z.object({ nodes: z.array(nodeSchema) }));
  const node =
    name === undefined
      ? nodes.find((n) => n.enrollment.status === "completed")
      : nodes.find((n) => n.name === name);
  if (!node) {
    throw new Error(
      name === undefined
        ? `no enrolled follower node (found: ${nodes.map((n) => `${n.name} [${n.enrollment.status}]`).join(", ") || "none"})`
        : `no follower node named "${name}"`,
    );
  }
  check(node.enrollment.status === "completed", `${node.name}: enrollment is ${node.enrollment.status}`);
  check(node.enabled, `${node.name} is disabled`);
  check(node.connectivity === "outbound" || node.base_url !== "", `${node.name} has no base_url`);
  return node;
}

export type TestResult = z.infer<typeof testResultSchema>;

/** Test Connection; protocol v2 and, when presigned modes are walked, browser_presigned_cors. */
export async function testConnection(
  admin: Api,
  node: NodeView,
  needPresigned: boolean,
): Promise<TestResult> {
  const result = await admin.json("POST", `/api/v1/admin/nodes/${node.id}/test`, testResultSchema, {
    body: {},
  });
  check(result.protocol_version === "v2", `protocol ${result.protocol_version}, expected v2`);
  if (node.connectivity === "outbound") {
    // Nothing may dial an outbound-only node: the probe must have gone through its channel.
    check(result.path === "channel", `an outbound node was reached over ${result.path}`);
    check(result.channel?.connected === true, "the node's channel is not connected");
  }
  const { features } = result.capabilities;
  for (const feature of ["ranges", "multipart", "sha256"]) {
    check(features[feature] === true, `capability ${feature} missing`);
  }
  if (needPresigned) {
    check(features.presigned === true, "capability presigned missing");
    check(features.browser_presigned_cors === true, "capability browser_presigned_cors missing");
    const exposed = result.capabilities.browser_cors.exposed_headers_get.map((h) => h.toLowerCase());
    for (const header of ["accept-ranges", "content-range", "content-length"]) {
      check(exposed.includes(header), `GET does not expose ${header}`);
    }
  }
  return result;
}

export async function createPolicy(
  admin: Api,
  node: NodeView,
  config: Pick<AcceptanceConfig, "runId" | "chunkSize">,
  mode: Mode,
  label: string,
): Promise<Policy> {
  return admin.json("POST", "/api/v1/admin/policies", policySchema, {
    body: {
      driver: "remote",
      node_id: node.id,
      name: `Remote ${node.name} ${label} ${config.runId}`,
      max_file_size: 0,
      chunk_size: config.chunkSize,
      upload_mode: mode,
      download_mode: mode,
      key_prefix: `${config.runId}-${label.replace(/[^a-z0-9]+/gi, "-")}`,
    },
  });
}

/** The policy's own connection test (tutorial §4: "save it first, then run a connection test"). */
export async function testPolicy(admin: Api, policy: Policy, target: Target): Promise<string> {
  const result = await admin.json("POST", `/api/v1/admin/policies/${policy.id}/test`, policyTestSchema, {
    body: {},
  });
  const failed = result.steps
    .filter((s) => !s.ok)
    .map((s) => `${s.step}: ${s.error?.code} ${s.error?.message}`);
  check(result.ok, `policy test failed: ${failed.join("; ") || "incomplete"}`);
  check(result.location === target.key, `probe landed on target ${result.location}, expected ${target.key}`);
  return result.steps.map((s) => s.step).join(", ");
}

export async function createGroup(admin: Api, policy: Policy, name: string): Promise<Group> {
  const group = await admin.json("POST", "/api/v1/admin/policy-groups", policyGroupSchema, {
    body: { name, rules: [{ policy_id: policy.id, priority: 1, min_size: 0, max_size: 0 }] },
  });
  check(group.rules.length === 1 && group.rules[0]?.policy_id === policy.id, "the group's rule is missing");
  return group;
}

export async function createUser(
  admin: Api,
  group: Group,
  username: string,
  password: string,
): Promise<User> {
  const user = await admin.json("POST", "/api/v1/admin/users", userSchema, {
    body: { username, password, display_name: "Acceptance walk", policy_group_id: group.id },
  });
  check(user.policy_group_id === group.id, "the user is not bound to the test group");
  return user;
}

const resolutionSchema = z.object({ policy: z.object({ id: z.string(), name: z.string() }) });

/** The admin's resolution preview must name the remote policy for this user (or team) and size. */
export async function checkResolution(
  admin: Api,
  subject: { user: User } | { team: Team },
  policy: Policy,
  size: number,
): Promise<void> {
  const query = new URLSearchParams(
    "user" in subject
      ? { space: "personal", user_id: subject.user.id, size: String(size) }
      : { space: "team", team_id: subject.team.id, size: String(size) },
  );
  const { policy: resolved } = await admin.json(
    "GET",
    `/api/v1/admin/policy-resolution?${query}`,
    resolutionSchema,
  );
  check(resolved.id === policy.id, `resolves to "${resolved.name}", expected "${policy.name}"`);
}

const teamSchema = z.object({ id: z.string(), name: z.string(), policy_group_id: z.string().nullable() });
export type Team = z.infer<typeof teamSchema>;

/** Tutorial §7 "Bind a Team": a team bound to the group, with the test user as a member. */
export async function createTeam(admin: Api, group: Group, user: User, name: string): Promise<Team> {
  const team = await admin.json("POST", "/api/v1/admin/teams", teamSchema, {
    body: { name, policy_group_id: group.id },
  });
  check(team.policy_group_id === group.id, "the team is not bound to the test group");
  await admin.ok("PUT", `/api/v1/admin/teams/${team.id}/members/${user.id}`, { body: { role: "member" } });
  return team;
}
