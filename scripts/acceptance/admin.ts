// Owns the admin half of the walk (tutorial §1-§7): log in, find the follower node, Test Connection,
// the local and s3 ingress targets (reused when they exist), which target is the default, and per
// transfer mode a remote policy, a test policy group with one rule and a test user bound to it.
import { z } from "zod";
import { userSchema } from "../../worker/accounts/users.ts";
import { ingressTargetSchema } from "../../worker/followers/ingress.ts";
import { nodeSchema } from "../../worker/followers/view.ts";
import { policyGroupSchema } from "../../worker/policy/groups.ts";
import { testResultSchema } from "../../worker/routes/admin/nodes.ts";
import { policySchema, policyTestSchema } from "../../worker/routes/admin/policies-shared.ts";
import { Api } from "./api.ts";
import type { AcceptanceConfig, Mode, S3Config } from "./config.ts";
import { check } from "./walk.ts";

export type NodeView = z.infer<typeof nodeSchema>;
export type Target = z.infer<typeof ingressTargetSchema>;
export type Policy = z.infer<typeof policySchema>;
export type Group = z.infer<typeof policyGroupSchema>;
export type User = z.infer<typeof userSchema>;

const loginSchema = z.object({ token: z.string(), user: userSchema });
const targetsSchema = z.object({ ingress_targets: z.array(ingressTargetSchema) });

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

/** The named node, or the first enrolled one; it must be enabled with a base_url. */
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
  check(node.base_url !== "", `${node.name} has no base_url`);
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

export async function listTargets(admin: Api, nodeId: string): Promise<Target[]> {
  const path = `/api/v1/admin/nodes/${nodeId}/ingress-targets`;
  return (await admin.json("GET", path, targetsSchema)).ingress_targets;
}

/** Re-applies a target that is not applied yet, then insists it is. */
async function applied(admin: Api, node: NodeView, target: Target): Promise<Target> {
  let current = target;
  if (current.state !== "applied") {
    const path = `/api/v1/admin/nodes/${node.id}/ingress-targets/${current.id}/apply`;
    current = await admin.json("POST", path, ingressTargetSchema, { body: {} });
  }
  check(
    current.state === "applied",
    `target ${current.name} is ${current.state}: ${current.reason ?? "no reason"}`,
  );
  return current;
}

/** The tutorial's first target: local, base path `default`; created as the default when missing. */
export async function ensureLocalTarget(
  admin: Api,
  node: NodeView,
): Promise<{ target: Target; created: boolean }> {
  const existing = (await listTargets(admin, node.id)).find(
    (t) => t.driver === "local" && t.base_path === "default",
  );
  if (existing) return { target: await applied(admin, node, existing), created: false };
  const taken = (await listTargets(admin, node.id)).some((t) => t.name === "default-local");
  const path = `/api/v1/admin/nodes/${node.id}/ingress-targets`;
  const target = await admin.json("POST", path, ingressTargetSchema, {
    body: {
      driver: "local",
      name: taken ? `default-local-${Date.now()}` : "default-local",
      base_path: "default",
      is_default: true,
    },
  });
  return { target: await applied(admin, node, target), created: true };
}

/** An s3 target for the given bucket and prefix, reused when one exists (credentials refreshed). */
export async function ensureS3Target(
  admin: Api,
  node: NodeView,
  s3: S3Config,
  runId: string,
): Promise<{ target: Target; created: boolean }> {
  const credentials = {
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: s3.bucket,
    path_style: s3.pathStyle,
    access_key_id: s3.accessKeyId,
    secret_access_key: s3.secretAccessKey,
  };
  const base = `/api/v1/admin/nodes/${node.id}/ingress-targets`;
  const existing = (await listTargets(admin, node.id)).find(
    (t) =>
      t.driver === "s3" &&
      t.s3?.endpoint.replace(/\/+$/, "") === s3.endpoint.replace(/\/+$/, "") &&
      t.s3.bucket === s3.bucket &&
      t.base_path === s3.basePath,
  );
  if (existing) {
    const target = await admin.json("PATCH", `${base}/${existing.id}`, ingressTargetSchema, {
      body: { s3: credentials },
    });
    return { target: await applied(admin, node, target), created: false };
  }
  const target = await admin.json("POST", base, ingressTargetSchema, {
    body: {
      driver: "s3",
      name: `acceptance-s3-${runId}`,
      base_path: s3.basePath,
      is_default: false,
      s3: credentials,
    },
  });
  return { target: await applied(admin, node, target), created: true };
}

/** Objects go to the node's default target, so the walk makes the target under test the default. */
export async function makeDefault(admin: Api, node: NodeView, target: Target): Promise<Target> {
  const current = (await listTargets(admin, node.id)).find((t) => t.id === target.id);
  if (!current) throw new Error(`ingress target ${target.name} no longer exists`);
  const path = `/api/v1/admin/nodes/${node.id}/ingress-targets/${target.id}`;
  const updated = current.is_default
    ? current
    : await admin.json("PATCH", path, ingressTargetSchema, { body: { is_default: true } });
  check(updated.is_default, `${target.name} did not become the default`);
  return applied(admin, node, updated);
}

export interface Combo {
  policy: Policy;
  group: Group;
  user: User;
  password: string;
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
