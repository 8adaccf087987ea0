// A client that vanishes mid-upload (real process, raw socket): nothing is committed, the temp file is
// removed, and the same key can be written afterwards. A client that vanishes mid-download: the file
// the agent was sending from is closed and the agent serves on.
import { createHash } from "node:crypto";
import { readdir, readlink } from "node:fs/promises";
import { get } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFollowerClient } from "../../shared/protocol/client.ts";
import { signRequest } from "../../shared/protocol/signing.ts";
import { startAgentProcess } from "../support/agents.ts";
import { bytes } from "../support/bytes.ts";
import { startRedeemServer, tempDir } from "./helpers.ts";

describe("an upload cut off by the client", () => {
  let primary: Awaited<ReturnType<typeof startRedeemServer>>;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let agent: Awaited<ReturnType<typeof startAgentProcess>>;
  let issued: ReturnType<typeof primary.issue>;

  beforeAll(async () => {
    primary = await startRedeemServer();
    issued = primary.issue();
    dir = await tempDir("abort");
    agent = await startAgentProcess({
      env: {
        FLOTILLA_AGENT_DATA_DIR: join(dir.path, "data"),
        FLOTILLA_AGENT_LISTEN: "127.0.0.1:0",
        FLOTILLA_MANAGED_INGRESS_LOCAL_ROOT: join(dir.path, "root"),
        FLOTILLA_PRIMARY_URL: primary.url,
        FLOTILLA_ENROLLMENT_TOKEN: issued.token,
      },
    });
  });
  afterAll(async () => {
    await agent.stop();
    await primary.stop();
    await dir.remove();
  });

  it("commits nothing and cleans up its temp file", async () => {
    const credentials = { keyId: issued.key_id, secret: issued.secret };
    const client = createFollowerClient({ baseUrl: agent.baseUrl, ...credentials });
    await client.upsertIngressTarget("t", {
      driver: "local",
      name: "t",
      revision: 1,
      is_default: true,
      base_path: "t",
    });
    const path = "/internal/v2/objects/cut?size=1000000";
    const headers = await signRequest({ method: "PUT", path, credentials, body: "unsigned" });
    const { port } = new URL(agent.baseUrl);
    const socket = connect(Number(port), "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    const head = [`PUT ${path} HTTP/1.1`, `host: 127.0.0.1:${port}`, "content-length: 1000000"];
    for (const [name, value] of headers) head.push(`${name}: ${value}`);
    socket.write(`${head.join("\r\n")}\r\n\r\n`);
    socket.write(bytes(300_000));
    const tmp = join(dir.path, "root", "t", ".flotilla", "tmp");
    const waitFor = async (done: (names: string[]) => boolean) => {
      // The agent works asynchronously to the socket; poll the directory (bounded) until the state shows.
      let names = await readdir(tmp);
      for (let i = 0; i < 200 && !done(names); i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        names = await readdir(tmp);
      }
      return names;
    };
    expect(await waitFor((names) => names.length === 1)).toHaveLength(1);
    socket.destroy();
    const left = await waitFor((names) => names.length === 0);
    expect(left).toEqual([]);
    expect(await client.headObject("cut")).toBeNull();
    const ok = await client.putObject("cut", bytes(10), { size: 10 });
    expect(ok.size).toBe(10);
  });

  it("closes the file of a download the client cuts off, and serves on", async () => {
    const credentials = { keyId: issued.key_id, secret: issued.secret };
    const client = createFollowerClient({ baseUrl: agent.baseUrl, ...credentials });
    const data = bytes(24 * 1024 * 1024, 8);
    await client.putObject("long", data, { size: data.byteLength });
    const openFiles = async () => {
      const fds = await readdir(`/proc/${agent.child().pid}/fd`);
      let count = 0;
      for (const fd of fds) {
        const target = await readlink(`/proc/${agent.child().pid}/fd/${fd}`).catch(() => "");
        if (target.endsWith(join("t", "long"))) count++;
      }
      return count;
    };
    const path = "/internal/v2/objects/long";
    const headers = Object.fromEntries(await signRequest({ method: "GET", path, credentials, body: null }));
    const request = get(`${agent.baseUrl}${path}`, { headers });
    const response = await new Promise<import("node:http").IncomingMessage>((resolve) =>
      request.once("response", resolve),
    );
    expect(response.statusCode).toBe(200);
    // One chunk, then no more reading: the agent is held mid-file by the socket's backpressure.
    await new Promise<void>((resolve) =>
      response.once("data", () => {
        response.pause();
        resolve();
      }),
    );
    expect(await openFiles()).toBe(1);
    request.destroy();
    // The agent notices the closed socket asynchronously; wait (bounded) until its file is closed.
    for (let i = 0; i < 200 && (await openFiles()) > 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(await openFiles()).toBe(0);
    const again = new Uint8Array(await (await client.getObject("long")).arrayBuffer());
    expect(createHash("sha256").update(again).digest("hex")).toBe(
      createHash("sha256").update(data).digest("hex"),
    );
  });
});
