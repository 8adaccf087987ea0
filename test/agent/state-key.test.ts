// The agent's secrets at rest: state.json holds the node secret and the S3 credentials sealed with the
// state key, a file of its own; a restart opens them again, a clear state of an older agent is sealed
// on load, and a missing or foreign key is refused with a sentence naming it (nothing is overwritten).
import { readFile, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAgent } from "../../agent/agent.ts";
import { loadConfig, STATE_KEY_CREDENTIAL } from "../../agent/config.ts";
import { StateFile } from "../../agent/state.ts";
import { createFollowerClient } from "../../shared/protocol/client.ts";
import { bytes } from "../support/bytes.ts";
import { S3RVER_WIRE_KEY, startS3rver } from "../support/s3rver.ts";
import { agentConfig, inProcessAgent, quietLog, tempDir } from "./helpers.ts";

describe("the agent's state key", () => {
  let h: Awaited<ReturnType<typeof inProcessAgent>>;
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  const statePath = () => join(h.dataDir, "state.json");

  beforeAll(async () => {
    s3 = await startS3rver(["sealed"]);
    h = await inProcessAgent();
    const target = await h.client.upsertIngressTarget("bucket", {
      driver: "s3",
      name: "bucket",
      revision: 1,
      is_default: true,
      endpoint: s3.endpoint,
      region: "us-east-1",
      bucket: "sealed",
      prefix: "",
      path_style: true,
      ...S3RVER_WIRE_KEY,
    });
    expect(target.state).toBe("applied");
  });
  afterAll(async () => {
    await h.cleanup();
    await s3.stop();
  });

  /** A fresh agent process on the same data dir, and a client signing with the enrolled key. */
  async function restart() {
    const agent = await createAgent(agentConfig(h.dataDir, h.root), { log: quietLog });
    const client = createFollowerClient({
      baseUrl: "http://agent.test",
      keyId: h.issued.key_id,
      secret: h.issued.secret,
      fetch: ((input: string | URL | Request, init?: RequestInit) =>
        agent.fetch(input instanceof Request ? input : new Request(input, init))) as typeof fetch,
    });
    return { agent, client };
  }

  it("keeps neither the node secret nor the S3 credentials in state.json; the key is a file of its own, 0600", async () => {
    const text = await readFile(statePath(), "utf8");
    for (const secret of [
      h.issued.secret,
      S3RVER_WIRE_KEY.secret_access_key,
      `"${S3RVER_WIRE_KEY.access_key_id}"`,
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain(h.issued.key_id);
    expect(JSON.parse(text)).toMatchObject({
      version: 2,
      enrollment: { secret: expect.stringMatching(/^sealed:v1:/) },
    });
    expect((await stat(join(h.dataDir, "state.key"))).mode & 0o777).toBe(0o600);
    expect((await stat(statePath())).mode & 0o777).toBe(0o600);
  });

  it("opens them again after a restart: signed requests verify and the S3 target still writes", async () => {
    const { client } = await restart();
    expect((await client.capabilities()).node_id).toBe(h.issued.node_id);
    const data = bytes(4096, 9);
    await client.putObject("after-restart", data, { size: data.length });
    const back = new Uint8Array(await (await client.getObject("after-restart")).arrayBuffer());
    expect(back).toEqual(data);
  });

  it("seals a clear state written by an older agent when it loads it", async () => {
    const state = new StateFile(h.dataDir);
    const opened = await state.load();
    const clear = {
      ...opened,
      version: 1,
      sealed_with: undefined,
    };
    await writeFile(statePath(), JSON.stringify(clear), { mode: 0o600 });
    expect(await readFile(statePath(), "utf8")).toContain(h.issued.secret);
    const { client } = await restart();
    expect((await client.capabilities()).node_id).toBe(h.issued.node_id);
    const text = await readFile(statePath(), "utf8");
    expect(text).not.toContain(h.issued.secret);
    expect(text).not.toContain(S3RVER_WIRE_KEY.secret_access_key);
    expect((await client.listIngressTargets())[0]).toMatchObject({ key: "bucket", state: "applied" });
  });

  it("refuses to start without its key, or with another one, naming the key file and changing nothing", async () => {
    const keyPath = join(h.dataDir, "state.key");
    const key = await readFile(keyPath, "utf8");
    const before = await readFile(statePath(), "utf8");
    await unlink(keyPath);
    try {
      await expect(restart()).rejects.toThrow(/state key .*state\.key is missing/);
      await writeFile(keyPath, `${Buffer.alloc(32, 7).toString("base64")}\n`, { mode: 0o600 });
      await expect(restart()).rejects.toThrow(/Restore the key backed up with this state/);
    } finally {
      await writeFile(keyPath, key, { mode: 0o600 });
    }
    expect(await readFile(statePath(), "utf8")).toBe(before);
    const { client } = await restart();
    expect((await client.capabilities()).node_id).toBe(h.issued.node_id);
  });

  it("takes the key from a systemd credential, or from the configured path", async () => {
    const credentials = await tempDir("credentials");
    try {
      await writeFile(join(credentials.path, STATE_KEY_CREDENTIAL), "x");
      const fromSystemd = await loadConfig(undefined, {
        FLOTILLA_AGENT_DATA_DIR: h.dataDir,
        CREDENTIALS_DIRECTORY: credentials.path,
      });
      expect(fromSystemd.stateKeyFile).toBe(join(credentials.path, STATE_KEY_CREDENTIAL));
      const configured = await loadConfig(undefined, {
        FLOTILLA_AGENT_DATA_DIR: h.dataDir,
        CREDENTIALS_DIRECTORY: credentials.path,
        FLOTILLA_AGENT_STATE_KEY_FILE: join(credentials.path, "elsewhere.key"),
      });
      expect(configured.stateKeyFile).toBe(join(credentials.path, "elsewhere.key"));
      const plain = await loadConfig(undefined, { FLOTILLA_AGENT_DATA_DIR: h.dataDir });
      expect(plain.stateKeyFile).toBe(join(h.dataDir, "state.key"));
    } finally {
      await credentials.remove();
    }
  });
});
