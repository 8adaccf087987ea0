// `npm install` on a stock Node 20 machine: npm's per-package engine warnings are kept out by .npmrc,
// and the postinstall note says once why they do not matter. On Node 22 or newer it says nothing.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

async function note(userAgent: string): Promise<string> {
  const { stdout, stderr } = await run(process.execPath, [join(root, "scripts/install-note.ts")], {
    env: { ...process.env, npm_config_user_agent: userAgent },
  });
  return stdout + stderr;
}

describe("npm install output on an older Node", () => {
  it("keeps npm to errors and runs the note after install", async () => {
    const npmrc = await readFile(join(root, ".npmrc"), "utf8");
    expect(npmrc).toMatch(/^loglevel=error$/m);
    const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.postinstall).toBe("node scripts/install-note.ts");
  });

  it("says once, naming both Nodes, that the npm scripts run the pinned Node", async () => {
    const out = await note("npm/11.19.1 node/v20.20.2 linux x64 workspaces/false");
    expect(out.trim().split("\n")).toHaveLength(1);
    expect(out).toContain("Node v20.20.2");
    expect(out).toContain(`Node ${process.version} installed in node_modules/.bin`);
  });

  it("says nothing when npm already runs on Node 22 or newer", async () => {
    expect(await note("npm/11.19.1 node/v22.23.3 linux x64 workspaces/false")).toBe("");
    expect(await note("npm/12.0.0 node/v24.1.0 linux x64 workspaces/false")).toBe("");
  });
});
