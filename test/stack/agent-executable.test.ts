// The follower agent as the single executable a storage machine runs (`npm run build:agent`), outside the
// checkout with a PATH that holds nothing but it (no node anywhere): the two lines the console shows for a
// node whose base_url is set run as pasted through /bin/sh next to a real primary (which already runs its
// own Follower 1 on this machine, so this is the second agent the console's note is about), the agent
// answers the health check, and the acceptance walk moves files through it in relay_stream and presigned.
// The container image's context (FROM scratch) is checked the way the image will run it: chrooted into
// its rootfs as uid 10001, with nothing but what build:agent-image put there.
import { type ChildProcess, spawn } from "node:child_process";
import { chown, mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../scripts/acceptance/local-stack.ts";
import { AGENT_UID, buildImageContext } from "../../scripts/build-agent/image.ts";
import { buildAgent } from "../../scripts/build-agent/index.ts";
import { freePort } from "../../scripts/stack/follower.ts";

const root = resolve(import.meta.dirname, "../..");
const NODE_NAME = "Packaged Follower";

let stack: LocalStack;
let work = "";
let bin = "";
let agent: ChildProcess | undefined;
let agentExited: Promise<number | null> | undefined;
let port = 0;
const lines: string[] = [];

/** The environment of a storage machine's shell that has only the executable on its PATH. */
const machineEnv = () => ({ PATH: join(work, "bin"), HOME: work });

function sh(line: string) {
  return spawn("/bin/sh", ["-c", line], { cwd: work, env: machineEnv(), stdio: ["ignore", "pipe", "pipe"] });
}

async function run(line: string): Promise<{ code: number | null; out: string }> {
  const child = sh(line);
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
  child.stderr.on("data", (c: Buffer) => (out += c.toString("utf8")));
  const code = await new Promise<number | null>((done) => child.once("close", done));
  return { code, out };
}

async function admin<T>(method: string, path: string, body?: unknown): Promise<T> {
  const login = await fetch(`${stack.url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: stack.adminUsername, password: stack.adminPassword, client: "api" }),
  });
  const { token } = (await login.json()) as { token: string };
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "flotilla-storage-machine-"));
  await mkdir(join(work, "bin"));
  bin = join(work, "bin", "flotilla-agent");
  await buildAgent(bin);
  stack = await startLocalStack();
}, 300_000);

afterAll(async () => {
  if (agent?.pid && agent.exitCode === null && agent.signalCode === null) process.kill(-agent.pid, "SIGKILL");
  await stack?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("flotilla-agent, the single executable", () => {
  it("is one executable file that runs with no node on the PATH", async () => {
    expect((await stat(bin)).mode & 0o111).toBe(0o111);
    const version = await run("flotilla-agent --version");
    expect(version).toEqual({ code: 0, out: "flotilla-agent 0.1.0\n" });
    expect((await run("command -v node || echo none")).out.trim()).toBe("none");
  });

  it("enrolls and starts from the two lines the console shows, pasted as they are", async () => {
    port = await freePort();
    const node = await admin<{ id: string }>("POST", "/api/v1/admin/nodes", {
      name: NODE_NAME,
      base_url: `http://127.0.0.1:${port}`,
    });
    const issued = await admin<{ command: string; note: string }>(
      "POST",
      `/api/v1/admin/nodes/${node.id}/enrollment-token`,
      {},
    );
    const [enrollLine, startLine, ...rest] = issued.command.split("\n");
    expect(rest).toEqual([]);
    expect(startLine).toBe(
      `flotilla-agent start --data-dir data/agent-packaged-follower --listen 127.0.0.1:${port} --base-url http://127.0.0.1:${port}`,
    );
    const enrolled = await run(enrollLine ?? "");
    expect(enrolled.code, enrolled.out).toBe(0);
    expect(enrolled.out).toContain(`Enrolled as node ${node.id} (${NODE_NAME})`);
    const state = await stat(join(work, "data/agent-packaged-follower/state.json"));
    expect(state.mode & 0o777).toBe(0o600);

    agent = spawn("/bin/sh", ["-c", `exec ${startLine}`], {
      cwd: work,
      env: machineEnv(),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    agentExited = new Promise((done) => agent?.once("exit", done));
    const first = await new Promise<string>((found, fail) => {
      createInterface({ input: agent!.stdout! }).on("line", (line) => {
        lines.push(line);
        if (lines.length === 1) found(line);
      });
      createInterface({ input: agent!.stderr! }).on("line", (line) => lines.push(line));
      agent!.once("exit", (code) => fail(new Error(`agent exited (${code}):\n${lines.join("\n")}`)));
    });
    expect(first).toBe(`Follower listening on http://127.0.0.1:${port}`);

    const tested = await admin<{ ok: boolean; capabilities: { features: Record<string, boolean> } }>(
      "POST",
      `/api/v1/admin/nodes/${node.id}/test`,
      {},
    );
    expect(tested.ok).toBe(true);
    expect(tested.capabilities.features.browser_presigned_cors).toBe(true);
  });

  it("answers `flotilla-agent health` from /health/ready: 0 before a default target (saying it is missing), 0 after", async () => {
    const check = `flotilla-agent health --listen 127.0.0.1:${port}`;
    // An enrolled follower is ready before tutorial §2; the document says the default target is missing.
    const before = await run(check);
    expect(before.code, before.out).toBe(0);
    expect(before.out).toContain('"status":"ready"');
    expect(before.out).toContain('"default_target":{"ok":false');
    const { nodes } = await admin<{ nodes: { id: string; name: string }[] }>("GET", "/api/v1/admin/nodes");
    const node = nodes.find((n) => n.name === NODE_NAME);
    await admin("POST", `/api/v1/admin/nodes/${node?.id}/ingress-targets`, {
      driver: "local",
      name: "default-local",
      base_path: "default",
      is_default: true,
    });
    const after = await run(check);
    expect(after.code, after.out).toBe(0);
    expect(after.out).toContain('"status":"ready"');
    expect(after.out).toContain('"default_target":{"ok":true');
  });

  it("moves files through it: the acceptance walk in relay_stream and presigned, every step ok", async () => {
    const walk = spawn(process.execPath, [join(root, "scripts/acceptance/index.ts")], {
      cwd: root,
      env: {
        ...process.env,
        FLOTILLA_URL: stack.url,
        FLOTILLA_ADMIN_USERNAME: stack.adminUsername,
        FLOTILLA_ADMIN_PASSWORD: stack.adminPassword,
        FLOTILLA_NODE_NAME: NODE_NAME,
        FLOTILLA_ACCEPTANCE_MODES: "relay_stream,presigned",
        FLOTILLA_ACCEPTANCE_TARGETS: "local",
        FLOTILLA_FOLLOWER_INGRESS_DIR: join(work, "data/agent-packaged-follower/managed-ingress"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    walk.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    walk.stderr.on("data", (c: Buffer) => (out += c.toString("utf8")));
    const code = await new Promise<number | null>((done) => walk.once("close", done));
    const report = out.split("\n").filter(Boolean);
    expect(
      report.filter((line) => line.startsWith("fail")),
      out,
    ).toEqual([]);
    expect(code, out).toBe(0);
    expect(out).toContain(`${NODE_NAME} at http://127.0.0.1:${port}`);
    expect(out).toMatch(/relay_stream\/local: upload large file \(4\.5 MiB, 5 parts, sha256 ok\)/);
    expect(out).toMatch(/presigned\/local: download whole \(4\.5 MiB via follower, sha256 ok\)/);
    expect(out).toMatch(/^ok +\d+\. presigned\/local: object on the follower/m);
    expect(report.at(-1)).toMatch(/^[1-9]\d* passed, 0 failed$/);
  }, 300_000);

  it("runs from the container image's rootfs alone, as its non-root user", async () => {
    const { dir, rootfs, libraries } = await buildImageContext(join(work, "image"), bin);
    expect(libraries).toContain("/lib64/ld-linux-x86-64.so.2");
    expect(await readFile(join(rootfs, "etc/passwd"), "utf8")).toContain(`:${AGENT_UID}:${AGENT_UID}:`);
    expect(await readFile(join(dir, "Dockerfile"), "utf8")).toMatch(/^FROM scratch$/m);
    // What the Dockerfile's COPY --chown does for the state volume.
    await mkdir(join(rootfs, "var/lib/flotilla-agent"), { recursive: true });
    await chown(join(rootfs, "var/lib/flotilla-agent"), AGENT_UID, AGENT_UID);
    const scratchPort = await freePort();
    const jail = (args: string[]) =>
      spawn(
        "/usr/sbin/chroot",
        [`--userspec=${AGENT_UID}:${AGENT_UID}`, rootfs, "/usr/local/bin/flotilla-agent", ...args],
        {
          env: {
            FLOTILLA_AGENT_LISTEN: `127.0.0.1:${scratchPort}`,
            FLOTILLA_AGENT_DATA_DIR: "/var/lib/flotilla-agent",
          },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
    const node = await admin<{ id: string }>("POST", "/api/v1/admin/nodes", { name: "Scratch Follower" });
    const { token } = await admin<{ token: string }>(
      "POST",
      `/api/v1/admin/nodes/${node.id}/enrollment-token`,
      {},
    );
    const enrolling = jail(["enroll", "--primary", stack.url, "--token", token]);
    let enrollOutput = "";
    enrolling.stdout.on("data", (c: Buffer) => (enrollOutput += c.toString("utf8")));
    enrolling.stderr.on("data", (c: Buffer) => (enrollOutput += c.toString("utf8")));
    expect(await new Promise((done) => enrolling.once("close", done)), enrollOutput).toBe(0);
    const state = await stat(join(rootfs, "var/lib/flotilla-agent/state.json"));
    expect([state.uid, state.mode & 0o777]).toEqual([AGENT_UID, 0o600]);
    const jailed = jail(["start"]);
    try {
      const said: string[] = [];
      const first = await new Promise<string>((found, fail) => {
        createInterface({ input: jailed.stdout }).on("line", found);
        createInterface({ input: jailed.stderr }).on("line", (line) => said.push(line));
        jailed.once("exit", (code) => fail(new Error(`chrooted agent exited (${code}): ${said.join("\n")}`)));
      });
      expect(first).toBe(`Follower listening on http://127.0.0.1:${scratchPort}`);
      const health = await fetch(`http://127.0.0.1:${scratchPort}/health`);
      expect(await health.json()).toEqual({ status: "ok", version: "0.1.0" });
      const ready = (await (await fetch(`http://127.0.0.1:${scratchPort}/health/ready`)).json()) as {
        checks: { name: string; ok: boolean }[];
      };
      expect(ready.checks.find((check) => check.name === "enrolled")?.ok).toBe(true);
    } finally {
      const exited = new Promise((done) => jailed.once("exit", done));
      jailed.kill("SIGTERM");
      await exited;
    }
  });

  it("stops cleanly on SIGTERM, having logged no secret", async () => {
    process.kill(-agent!.pid!, "SIGTERM");
    expect(await agentExited).toBe(0);
    const log = lines.join("\n");
    expect(log).not.toMatch(/fns_|enr_/);
  });
});
