// The agent as a real process (`node agent/cli.ts`, pinned Node), driven over HTTP by the shared client
// exactly as the primary drives it: enrollment at first start from env, a base_url path prefix, objects,
// metrics, and a restart showing enrollment and targets survive while pre-restart signatures do not.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFollowerClient } from "../../shared/protocol/client.ts";
import { signRequest } from "../../shared/protocol/signing.ts";
import { startAgentProcess } from "../support/agents.ts";
import { bytes, streamOf } from "../support/bytes.ts";
import { startRedeemServer, tempDir } from "./helpers.ts";

function runCli(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ["agent/cli.ts", ...args], {
      cwd: join(import.meta.dirname, "../.."),
      env: { PATH: process.env.PATH ?? "", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("flotilla-agent as a process", () => {
  let primary: Awaited<ReturnType<typeof startRedeemServer>>;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let root: Awaited<ReturnType<typeof tempDir>>;
  let env: Record<string, string>;
  let issued: ReturnType<typeof primary.issue>;

  beforeAll(async () => {
    primary = await startRedeemServer();
    data = await tempDir("proc-data");
    root = await tempDir("proc-root");
    issued = primary.issue();
    const config = join(data.path, "agent.toml");
    await writeFile(
      config,
      [
        "[server]",
        'listen = "127.0.0.1:0"',
        'base_url = "http://follower.test/follower"',
        `data_dir = "${data.path}/state"`,
        "[server.follower]",
        `managed_ingress_local_root = "${root.path}"`,
        "[metrics]",
        'token = "metrics-token-0123456789"',
        "",
      ].join("\n"),
    );
    env = {
      FLOTILLA_AGENT_CONFIG: config,
      FLOTILLA_PRIMARY_URL: primary.url,
      FLOTILLA_ENROLLMENT_TOKEN: issued.token,
    };
  });
  afterAll(async () => {
    await primary.stop();
    await data.remove();
    await root.remove();
  });

  it("enrolls at first start, serves the primary, and keeps enrollment and targets across a restart", async () => {
    const payload = bytes(1_500_000, 5);
    const sha = createHash("sha256").update(payload).digest("hex");
    const first = await startAgentProcess({ env });
    // The agent's one line on stdout, the first thing it prints (operators and scripts read it).
    expect(first.stdout().split("\n")[0]).toMatch(/^Follower listening on http:\/\/\S+$/);
    try {
      expect(primary.received).toEqual([
        {
          token: issued.token,
          base_url: "http://follower.test/follower",
          agent_version: "0.1.0",
          protocol: "v2",
        },
      ]);
      expect((await stat(join(data.path, "state", "state.json"))).mode & 0o777).toBe(0o600);
      // base_url has a /follower prefix; the agent accepts it whether or not a proxy strips it.
      const client = createFollowerClient({
        baseUrl: `${first.baseUrl}/follower`,
        keyId: issued.key_id,
        secret: issued.secret,
      });
      const direct = createFollowerClient({
        baseUrl: first.baseUrl,
        keyId: issued.key_id,
        secret: issued.secret,
      });
      expect((await client.capabilities()).node_id).toBe(issued.node_id);
      const target = await direct.upsertIngressTarget("default-local", {
        driver: "local",
        name: "default-local",
        revision: 1,
        is_default: true,
        base_path: "default",
      });
      expect(target.state).toBe("applied");
      const put = await client.putObject("files/real", streamOf(payload), {
        size: payload.byteLength,
        sha256: sha,
      });
      expect(put.sha256).toBe(sha);
      const ranged = await client.getObject("files/real", { range: "bytes=1000-1999" });
      expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(payload.slice(1000, 2000));
      expect((await fetch(`${first.baseUrl}/health/ready`)).status).toBe(200);
      expect((await fetch(`${first.baseUrl}/metrics`)).status).toBe(401);
      const metrics = await fetch(`${first.baseUrl}/metrics`, {
        headers: { authorization: "Bearer metrics-token-0123456789" },
      });
      const text = await metrics.text();
      expect(text).toContain('flotilla_agent_requests_total{route="object_put",status="201"} 1');
      expect(text).toMatch(/flotilla_agent_bytes_in_total 1500000/);
      expect(first.output()).not.toContain(issued.secret);
    } finally {
      await first.stop();
    }

    const path = "/internal/v2/capabilities";
    const signedBefore = await signRequest({
      method: "GET",
      path,
      credentials: { keyId: issued.key_id, secret: issued.secret },
      body: null,
    });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = await startAgentProcess({ env }); // the used token is ignored: the agent is already enrolled
    try {
      const client = createFollowerClient({
        baseUrl: second.baseUrl,
        keyId: issued.key_id,
        secret: issued.secret,
      });
      const caps = await client.capabilities();
      expect(caps.node_id).toBe(issued.node_id);
      expect(caps.ingress_targets.map((t) => [t.key, t.state])).toEqual([["default-local", "applied"]]);
      const back = await client.getObject("files/real");
      expect(
        createHash("sha256")
          .update(new Uint8Array(await back.arrayBuffer()))
          .digest("hex"),
      ).toBe(sha);
      expect((await fetch(`${second.baseUrl}/health/ready`)).status).toBe(200);
      const replay = await fetch(second.baseUrl + path, { headers: signedBefore });
      expect(replay.status).toBe(401);
      expect(((await replay.json()) as { error: { code: string } }).error.code).toBe("auth_clock_skew");
      expect(primary.received).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });

  it("refuses FLOTILLA_PRIMARY_URL without FLOTILLA_ENROLLMENT_TOKEN", async () => {
    const result = await runCli(["start"], {
      FLOTILLA_AGENT_DATA_DIR: join(data.path, "x"),
      FLOTILLA_PRIMARY_URL: primary.url,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("must be set together");
    expect(result.stdout).toBe("");
  });

  it("enrolls with the CLI into a running agent without a restart, and refuses to enroll twice", async () => {
    const dir = await tempDir("cli");
    const cliEnv = {
      FLOTILLA_AGENT_DATA_DIR: dir.path,
      FLOTILLA_AGENT_LISTEN: "127.0.0.1:0",
      FLOTILLA_MANAGED_INGRESS_LOCAL_ROOT: join(dir.path, "root"),
    };
    const running = await startAgentProcess({ env: cliEnv });
    try {
      const token = primary.issue();
      const unknown = await runCli(
        ["enroll", "--primary", primary.url, "--token", "enr_not_a_real_token_xx"],
        cliEnv,
      );
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain("enrollment_token_invalid");
      const ok = await runCli(["enroll", "--primary", primary.url, "--token", token.token], cliEnv);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain(`Enrolled as node ${token.node_id}`);
      const client = createFollowerClient({
        baseUrl: running.baseUrl,
        keyId: token.key_id,
        secret: token.secret,
      });
      expect((await client.capabilities()).node_id).toBe(token.node_id);
      const twice = await runCli(
        ["enroll", "--primary", primary.url, "--token", primary.issue().token],
        cliEnv,
      );
      expect(twice.code).toBe(1);
      expect(twice.stderr).toContain("agent_already_enrolled");
      const used = await runCli(
        ["enroll", "--force", "--primary", primary.url, "--token", token.token],
        cliEnv,
      );
      expect(used.stderr).toContain("enrollment_token_used");
      expect((await client.capabilities()).node_id).toBe(token.node_id);
    } finally {
      await running.stop();
      await dir.remove();
    }
  });
});
