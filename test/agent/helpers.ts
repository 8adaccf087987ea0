// Test wiring for the agent: temp dirs, an in-process enrollment redeem endpoint built from the shared
// schemas (node:http, port 0), and an enrolled agent wired to the shared client in memory. Every helper
// returns its own cleanup. Agent processes, s3rver and test bytes live in test/support/.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAgent } from "../../agent/agent.ts";
import type { AgentConfig } from "../../agent/config.ts";
import { enroll } from "../../agent/enroll.ts";
import type { Logger } from "../../agent/log.ts";
import { DEFAULT_CHANNEL_PING_SECONDS } from "../../shared/protocol/channel.ts";
import { createFollowerClient } from "../../shared/protocol/client.ts";
import { type RedeemResponse, redeemRequestSchema } from "../../shared/protocol/schemas.ts";
import { startAgentProcess } from "../support/agents.ts";

export const quietLog: Logger = { info: () => undefined, error: () => undefined };

export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `flotilla-agent-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A primary's redeem endpoint: one-time tokens, 401/410 codes as in docs/protocol-v2.md. */
export async function startRedeemServer(primaryOrigin = "http://primary.test:8787") {
  const tokens = new Map<string, { used: boolean; expiresAt: number; response: RedeemResponse }>();
  const received: unknown[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    req.on("end", () => {
      const answer = (status: number, value: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(value));
      };
      const refuse = (status: number, code: string) =>
        answer(status, { error: { code, message: code, request_id: "req_test" } });
      if (req.method !== "POST" || req.url !== "/api/v1/enrollment/redeem") return refuse(404, "not_found");
      const parsed = redeemRequestSchema.safeParse(JSON.parse(body || "null"));
      if (!parsed.success) return refuse(400, "validation_failed");
      received.push(parsed.data);
      const entry = tokens.get(parsed.data.token);
      if (!entry) return refuse(401, "enrollment_token_invalid");
      if (entry.used) return refuse(410, "enrollment_token_used");
      if (entry.expiresAt < Date.now()) return refuse(410, "enrollment_token_expired");
      entry.used = true;
      answer(200, entry.response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    /** Issues a token; the returned credentials are what the primary would keep (encrypted). */
    issue(options: { expiresInMs?: number; nodeId?: string } = {}) {
      const token = `enr_${randomBytes(18).toString("base64url")}`;
      const response: RedeemResponse = {
        node_id: options.nodeId ?? `node_${randomBytes(6).toString("hex")}`,
        node_name: "Follower A",
        primary_origin: primaryOrigin,
        key_id: `fk_${randomBytes(8).toString("hex")}`,
        secret: randomBytes(32).toString("base64url"),
        enabled: true,
        protocol: "v2",
      };
      tokens.set(token, { used: false, expiresAt: Date.now() + (options.expiresInMs ?? 600_000), response });
      return { token, ...response };
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export function agentConfig(
  dataDir: string,
  root: string,
  overrides: Partial<AgentConfig> = {},
): AgentConfig {
  return {
    listen: { host: "127.0.0.1", port: 0 },
    baseUrl: "http://agent.test",
    dataDir,
    stateKeyFile: join(dataDir, "state.key"),
    managedIngressLocalRoot: root,
    maxObjectBytes: 0,
    metricsToken: null,
    enrollment: null,
    channelPingSeconds: DEFAULT_CHANNEL_PING_SECONDS,
    ...overrides,
  };
}

/** An enrolled agent in process, with a shared client whose fetch calls the agent's handler directly. */
export async function inProcessAgent(overrides: Partial<AgentConfig> = {}) {
  const data = await tempDir("data");
  const root = await tempDir("root");
  const primary = await startRedeemServer();
  const issued = primary.issue();
  const config = agentConfig(data.path, root.path, overrides);
  const agent = await createAgent(config, { log: quietLog });
  await enroll({
    state: agent.services.state,
    primaryUrl: primary.url,
    token: issued.token,
    baseUrl: config.baseUrl,
    version: "test",
  });
  const agentFetch = (input: string | URL | Request, init?: RequestInit) =>
    agent.fetch(input instanceof Request ? input : new Request(input, init));
  const client = createFollowerClient({
    baseUrl: config.baseUrl ?? "http://agent.test",
    keyId: issued.key_id,
    secret: issued.secret,
    fetch: agentFetch as typeof fetch,
  });
  return {
    agent,
    client,
    fetch: agentFetch,
    baseUrl: config.baseUrl ?? "http://agent.test",
    issued,
    root: root.path,
    dataDir: data.path,
    cleanup: async () => {
      await primary.stop();
      await data.remove();
      await root.remove();
    },
  };
}

/**
 * An enrolled agent as a real process (Node glue included), with the shared client over real HTTP:
 * the same shape as inProcessAgent for suites that run against both.
 */
export async function processAgent() {
  const data = await tempDir("pdata");
  const root = await tempDir("proot");
  const primary = await startRedeemServer();
  const issued = primary.issue();
  const agent = await startAgentProcess({
    env: {
      FLOTILLA_AGENT_LISTEN: "127.0.0.1:0",
      FLOTILLA_AGENT_DATA_DIR: data.path,
      FLOTILLA_MANAGED_INGRESS_LOCAL_ROOT: root.path,
      FLOTILLA_PRIMARY_URL: primary.url,
      FLOTILLA_ENROLLMENT_TOKEN: issued.token,
    },
  });
  const client = createFollowerClient({
    baseUrl: agent.baseUrl,
    keyId: issued.key_id,
    secret: issued.secret,
  });
  return {
    agent,
    client,
    fetch: (input: string, init?: RequestInit) => fetch(input, init),
    baseUrl: agent.baseUrl,
    issued,
    root: root.path,
    dataDir: data.path,
    cleanup: async () => {
      await agent.stop();
      await primary.stop();
      await data.remove();
      await root.remove();
    },
  };
}
