// Owns the WebDAV tests' single-box stack: the real primary in workerd (Miniflare), the local libSQL
// server and Follower 1 enrolled through the API, set up as the tutorial has it (a default local
// ingress target, a remote relay_stream policy, a policy group routing to it) plus a user bound to
// that group with an app password, so WebDAV clients have something real to talk to.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stackPaths } from "../../scripts/stack/config.ts";
import { type Follower, startFollower } from "../../scripts/stack/follower.ts";
import type { Stack } from "../../scripts/stack/stack.ts";
import { startTestStackIn } from "../support/stack.ts";

const MiB = 1024 * 1024;
export const ADMIN = { username: "admin", password: "webdav-admin-password-1" };

export type Json = <T = unknown>(method: string, path: string, body?: unknown) => Promise<T>;

/** A bearer-token JSON client; a non-2xx answer throws with its body. */
export async function apiClient(base: string, username: string, password: string): Promise<Json> {
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password, client: "api" }),
  });
  if (!login.ok) throw new Error(`login failed: ${login.status} ${await login.text()}`);
  const { token } = (await login.json()) as { token: string };
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
}

export interface DavUser {
  username: string;
  password: string;
  appPassword: string;
  appPasswordId: string;
  api: Json;
}

export interface DavStack {
  stack: Stack;
  dir: string;
  base: string;
  /** The WebDAV root URL, with its trailing slash. */
  davUrl: string;
  admin: Json;
  ids: { nodeId: string; remotePolicy: string; primaryPolicy: string; group: string };
  /** Where Follower 1 writes objects of the default target (files/<file id>). */
  ingressDir: string;
  user: DavUser;
  /** Every line the stack logged (the follower's prefixed `[follower-1]`). */
  logs: string[];
  /** Stops Follower 1 (as if it went down); `startFollower` brings it back on the same port and data. */
  stopFollower(): Promise<void>;
  startFollower(): Promise<void>;
  /** A new user bound to `group` (default: the remote one), with an app password. */
  addUser(name: string, options?: { group?: string; readOnly?: boolean }): Promise<DavUser>;
  close(): Promise<void>;
}

export interface DavStackOptions {
  /** The remote policy's chunk size (default 1 MiB: a few MiB make a multipart upload). */
  chunkSize?: number;
  /** The remote policy's size limit (0 = none). */
  maxFileSize?: number;
  /** Files from this size on go to a second remote policy with 64 MiB chunks (the group's rule 2). */
  largeFrom?: number;
}

export async function startDavStack(options: DavStackOptions = {}): Promise<DavStack> {
  const dir = await mkdtemp(join(tmpdir(), "flotilla-webdav-"));
  const logs: string[] = [];
  const stack = await startTestStackIn(dir, ADMIN, (line) => logs.push(line));
  let follower: Follower = stack.follower;
  try {
    const base = stack.primaryUrl;
    const admin = await apiClient(base, ADMIN.username, ADMIN.password);
    const { nodes } = await admin<{ nodes: { id: string }[] }>("GET", "/api/v1/admin/nodes");
    const nodeId = nodes[0]!.id;
    await admin("POST", `/api/v1/admin/nodes/${nodeId}/ingress-targets`, {
      name: "default-local",
      driver: "local",
      base_path: "default",
    });
    const { policies } = await admin<{ policies: { id: string; driver: string }[] }>(
      "GET",
      "/api/v1/admin/policies",
    );
    const primaryPolicy = policies.find((p) => p.driver === "primary")!.id;
    const remote = await admin<{ id: string }>("POST", "/api/v1/admin/policies", {
      name: "Remote Follower 1",
      driver: "remote",
      node_id: nodeId,
      chunk_size: options.chunkSize ?? MiB,
      max_file_size: options.maxFileSize ?? 0,
    });
    const rules = [{ policy_id: remote.id, priority: 1, min_size: 0, max_size: options.largeFrom ?? 0 }];
    if (options.largeFrom !== undefined) {
      const large = await admin<{ id: string }>("POST", "/api/v1/admin/policies", {
        name: "Remote Follower 1 (large files)",
        driver: "remote",
        node_id: nodeId,
        chunk_size: 64 * MiB,
      });
      rules.push({ policy_id: large.id, priority: 2, min_size: options.largeFrom, max_size: 0 });
    }
    const group = await admin<{ id: string }>("POST", "/api/v1/admin/policy-groups", {
      name: "Remote Test Group",
      rules,
    });
    const addUser = async (
      name: string,
      o: { group?: string; readOnly?: boolean } = {},
    ): Promise<DavUser> => {
      const password = `${name}-password-1`;
      await admin("POST", "/api/v1/admin/users", {
        username: name,
        password,
        policy_group_id: o.group ?? group.id,
      });
      const api = await apiClient(base, name, password);
      const created = await api<{ id: string; password: string }>("POST", "/api/v1/auth/app-passwords", {
        name: "tests",
        read_only: o.readOnly ?? false,
      });
      return { username: name, password, appPassword: created.password, appPasswordId: created.id, api };
    };
    const user = await addUser("davuser");
    return {
      stack,
      dir,
      base,
      davUrl: `${base}/dav/`,
      admin,
      ids: { nodeId, remotePolicy: remote.id, primaryPolicy, group: group.id },
      ingressDir: join(dir, "data", "follower-1", "managed-ingress", "default", "files"),
      user,
      logs,
      addUser,
      stopFollower: () => follower.stop(),
      async startFollower() {
        const paths = stackPaths(join(dir, "data"));
        follower = await startFollower({
          host: "127.0.0.1",
          port: Number(new URL(stack.followerUrl).port),
          dataDir: paths.follower,
          ingressRoot: paths.followerIngressRoot,
          onLog: (line) => logs.push(`[follower-1] ${line}`),
        });
      },
      async close() {
        await follower.stop();
        await stack.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** `Authorization: Basic …` for a user's app password. */
export function basic(user: { username: string; appPassword: string }): string {
  return `Basic ${Buffer.from(`${user.username}:${user.appPassword}`).toString("base64")}`;
}
