// Configuration: the tutorial's TOML keys, env overrides, relative paths, and clear refusals.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, parseListen } from "../../agent/config.ts";
import { tempDir } from "./helpers.ts";

describe("agent configuration", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let file: string;

  beforeAll(async () => {
    dir = await tempDir("config");
    file = join(dir.path, "agent.toml");
    await writeFile(
      file,
      '[server]\nlisten = "0.0.0.0:7070"\nbase_url = "https://f.example/follower/"\ndata_dir = "state"\n' +
        '[server.follower]\nmanaged_ingress_local_root = "/data/managed-ingress"\n',
    );
  });
  afterAll(() => dir.remove());

  it("reads the tutorial's keys, resolving relative paths against the file", async () => {
    const config = await loadConfig(file, {});
    expect(config).toMatchObject({
      listen: { host: "0.0.0.0", port: 7070 },
      baseUrl: "https://f.example/follower",
      dataDir: join(dir.path, "state"),
      managedIngressLocalRoot: "/data/managed-ingress",
      metricsToken: null,
      enrollment: null,
    });
  });

  it("accepts the shipped example config", async () => {
    const example = join(import.meta.dirname, "../../agent/flotilla-agent.example.toml");
    const config = await loadConfig(example, {});
    expect(config).toMatchObject({
      listen: { host: "127.0.0.1", port: 7070 },
      baseUrl: "https://follower-a.example.com",
      dataDir: "/var/lib/flotilla-agent",
      managedIngressLocalRoot: "/data/managed-ingress",
      maxObjectBytes: 0,
      channelPingSeconds: 15,
    });
  });

  it("takes the channel's keepalive interval from [channel] ping_seconds, FLOTILLA_CHANNEL_PING_SECONDS over it", async () => {
    const pinged = join(dir.path, "ping.toml");
    await writeFile(pinged, "[channel]\nping_seconds = 5\n");
    expect((await loadConfig(pinged, {})).channelPingSeconds).toBe(5);
    expect((await loadConfig(pinged, { FLOTILLA_CHANNEL_PING_SECONDS: "2" })).channelPingSeconds).toBe(2);
    for (const bad of ["0", "301", "1.5", "soon"]) {
      await expect(loadConfig(undefined, { FLOTILLA_CHANNEL_PING_SECONDS: bad })).rejects.toMatchObject({
        code: "validation_failed",
      });
    }
    await writeFile(pinged, "[channel]\nping_seconds = 0\n");
    await expect(loadConfig(pinged, {})).rejects.toMatchObject({ code: "validation_failed" });
  });

  it("lets FLOTILLA_* variables override the file", async () => {
    const config = await loadConfig(undefined, {
      FLOTILLA_AGENT_CONFIG: file,
      FLOTILLA_AGENT_LISTEN: "[::1]:0",
      FLOTILLA_AGENT_DATA_DIR: "/srv/agent",
      FLOTILLA_MANAGED_INGRESS_LOCAL_ROOT: "/srv/ingress",
      FLOTILLA_PRIMARY_URL: "https://drive.example",
      FLOTILLA_ENROLLMENT_TOKEN: "enr_x",
    });
    expect(config).toMatchObject({
      listen: { host: "::1", port: 0 },
      dataDir: "/srv/agent",
      managedIngressLocalRoot: "/srv/ingress",
      enrollment: { primaryUrl: "https://drive.example", token: "enr_x" },
    });
  });

  it("refuses unknown keys, bad listen values, bad base URLs and half an enrollment", async () => {
    const typo = join(dir.path, "typo.toml");
    await writeFile(typo, '[server]\nlisen = "127.0.0.1:1"\n');
    await expect(loadConfig(typo, {})).rejects.toMatchObject({ code: "validation_failed" });
    expect(() => parseListen("7070")).toThrow(/HOST:PORT/);
    expect(() => parseListen("h:70000")).toThrow(/HOST:PORT/);
    await expect(loadConfig(undefined, { FLOTILLA_AGENT_BASE_URL: "ftp://x" })).rejects.toMatchObject({
      code: "validation_failed",
    });
    await expect(loadConfig(undefined, { FLOTILLA_ENROLLMENT_TOKEN: "enr_x" })).rejects.toThrow(
      /set together/,
    );
    await expect(loadConfig(join(dir.path, "missing.toml"), {})).rejects.toThrow(/Cannot read config/);
    await expect(loadConfig(undefined, { FLOTILLA_METRICS_TOKEN: "short" })).rejects.toThrow(/16 characters/);
  });
});
