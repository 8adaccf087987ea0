// The README's first command, for real: `npm start` in a fresh data dir prints one line per service,
// both /health endpoints answer, SIGTERM stops every child, and a second start reuses the data.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import type { Readiness } from "../../shared/protocol/schemas.ts";
import { descendants, isAlive } from "../support/processes.ts";

const root = resolve(import.meta.dirname, "../..");
let dataDir = "";

interface Started {
  child: ChildProcess;
  lines: Map<string, string>;
  output: string[];
}

async function npmStart(env: Record<string, string>): Promise<Started> {
  const child = spawn("npm", ["start", "--silent"], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so the test can press Ctrl-C the way a terminal does (SIGINT to the group).
    detached: true,
  });
  const output: string[] = [];
  const lines = new Map<string, string>();
  createInterface({ input: child.stderr! }).on("line", (line) => output.push(line));
  await new Promise<void>((done, fail) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      output.push(line);
      const match = /^([A-Za-z0-9 ]+): (.*)$/.exec(line);
      if (match?.[1] && match[2]) lines.set(match[1], match[2]);
      if (lines.has("Admin")) done();
    });
    child.once("exit", (code) => fail(new Error(`npm start exited with ${code}:\n${output.join("\n")}`)));
  });
  return { child, lines, output };
}

/** Ctrl-C in a terminal: SIGINT to the whole foreground process group. */
async function pressCtrlCAndCheckNoChildLeft(started: Started): Promise<void> {
  const children = descendants(started.child.pid!);
  // npm's shell, the launcher, workerd and the agent at least.
  expect(children.length).toBeGreaterThanOrEqual(3);
  const exited = new Promise<void>((done) => started.child.once("close", () => done()));
  process.kill(-started.child.pid!, "SIGINT");
  await exited;
  // The launcher stops its children before it exits; allow for the kernel reaping them.
  for (let i = 0; i < 100 && children.some(isAlive); i++) await new Promise((r) => setTimeout(r, 100));
  expect(children.filter(isAlive)).toEqual([]);
  expect(started.output.join("\n")).toContain("Received SIGINT, stopping Flotilla");
}

describe("npm start", () => {
  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("prints the services, answers /health on the primary and the follower, and leaves no child behind", async () => {
    dataDir = await mkdtemp(join(tmpdir(), "flotilla-start-"));
    const env = {
      FLOTILLA_DATA_DIR: dataDir,
      FLOTILLA_PORT: "0",
      FLOTILLA_LIBSQL_PORT: "0",
      FLOTILLA_FOLLOWER_PORT: "0",
    };
    const first = await npmStart(env);
    const primary = first.lines.get("Primary");
    const follower = first.lines.get("Follower 1");
    expect(primary).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(follower).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.lines.get("Admin")).toMatch(/^admin \/ \S+ \(generated/);

    const primaryHealth = await fetch(`${primary}/health`);
    expect(primaryHealth.status).toBe(200);
    expect(await primaryHealth.json()).toMatchObject({ database: "ok" });
    expect((await fetch(`${follower}/health`)).status).toBe(200);
    // The console's files and the worker's paths, each reaching the one that serves it: pages and
    // client-side routes get the console (with its CSP), the API, WebDAV and /health the worker.
    for (const page of ["/", "/admin/nodes", "/s/some-token"]) {
      const html = await fetch(`${primary}${page}`);
      expect(html.status, page).toBe(200);
      expect(await html.text(), page).toMatch(/<!doctype html>/i);
      expect(html.headers.get("content-security-policy"), page).toContain("default-src");
    }
    expect(await (await fetch(`${primary}/health?from=monitor`)).json()).toMatchObject({ database: "ok" });
    const unknown = await fetch(`${primary}/api/v1/no-such-route`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("not_found");
    for (const dav of ["/dav", "/dav/"]) {
      const challenged = await fetch(`${primary}${dav}`, { method: "PROPFIND" });
      expect(challenged.status, dav).toBe(401);
      expect(challenged.headers.get("www-authenticate"), dav).toMatch(/^Basic /);
    }
    // Follower 1 was enrolled through the API at first start, so it is ready (tutorial §1); its
    // default ingress target (§2) is the admin's first step, and the same document says it is missing.
    const readyResponse = await fetch(`${follower}/health/ready`);
    expect(readyResponse.status).toBe(200);
    const ready = (await readyResponse.json()) as Readiness;
    expect(ready.checks.find((check) => check.name === "enrolled")?.ok).toBe(true);
    expect(ready.checks.find((check) => check.name === "binding_enabled")?.ok).toBe(true);
    expect(ready.default_target?.checks.find((check) => check.name === "default_target_applied")?.ok).toBe(
      false,
    );
    expect(existsSync(join(dataDir, "primary.db"))).toBe(true);
    await pressCtrlCAndCheckNoChildLeft(first);

    // A second start reuses the data: the admin exists already, so no new password is printed.
    const second = await npmStart(env);
    expect(second.lines.get("Admin")).toMatch(/existing account/);
    expect((await fetch(`${second.lines.get("Primary")}/health`)).status).toBe(200);
    await pressCtrlCAndCheckNoChildLeft(second);
  }, 180_000);

  it("refuses a taken port with one clear sentence", async () => {
    const { createServer } = await import("node:net");
    const blocker = createServer();
    await new Promise<void>((done) => blocker.listen(0, "127.0.0.1", () => done()));
    const address = blocker.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    const dir = await mkdtemp(join(tmpdir(), "flotilla-port-"));
    try {
      const child = spawn(process.execPath, [join(root, "scripts/start.ts")], {
        cwd: root,
        env: {
          ...process.env,
          FLOTILLA_DATA_DIR: dir,
          FLOTILLA_PORT: String(address.port),
          FLOTILLA_LIBSQL_PORT: "0",
          FLOTILLA_FOLLOWER_PORT: "0",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr!.on("data", (chunk) => {
        stderr += chunk;
      });
      const code = await new Promise<number | null>((done) => child.once("exit", (c) => done(c)));
      expect(code).toBe(1);
      expect(stderr).toContain(`Port ${address.port} on 127.0.0.1 (primary) is already in use`);
      expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      blocker.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
