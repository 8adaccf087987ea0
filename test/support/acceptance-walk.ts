// Owns running the acceptance walk (`node scripts/acceptance/index.ts`) as a child process with the
// given environment, and reading its report: one line per step, "ok" or "fail".
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { expect } from "vitest";

const root = resolve(import.meta.dirname, "../..");

/** The steps of one transfer mode on one ingress target, in the walk's words. */
export const COMBO_STEPS = [
  "remote storage policy",
  "policy connection test",
  "test policy group with a rule",
  "test user bound to the group",
  "upload small file",
  "team space upload (team bound to the group)",
  "upload large file",
  "download whole",
  "download range",
  "share link: create and open",
  "share link: download",
  "delete, then restore from the trash",
  "preview an image",
  "preview a PDF",
  "object on the follower",
  "Test Connection again",
  "clean up",
];

export interface WalkRun {
  code: number | null;
  lines: string[];
}

export function runAcceptanceWalk(env: Record<string, string>): Promise<WalkRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [resolve(root, "scripts/acceptance/index.ts")], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
    });
    child.once("error", fail);
    child.once("exit", (code) => done({ code, lines: out.split("\n").filter(Boolean) }));
  });
}

/** Whether the report has an "ok" line for `step` (the walk numbers its steps). */
export function walkedOk(run: WalkRun, step: string): boolean {
  const literal = step.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  return run.lines.some((line) => new RegExp(`^ok +\\d+\\. ${literal}`).test(line));
}

/**
 * Asserts a walk of an outbound-only node (relay_stream on the local target): no step failed, the
 * walk exited 0, every step of the checklist has its "ok" line, and Test Connection went over the
 * channel.
 */
export function expectOutboundWalk(run: WalkRun): void {
  const report = run.lines.join("\n");
  expect(
    run.lines.filter((line) => line.startsWith("fail")),
    report,
  ).toEqual([]);
  expect(run.code, report).toBe(0);
  for (const step of [
    "follower node ready",
    "Test Connection",
    "follower /health/ready",
    ...COMBO_STEPS.map((step) => `relay_stream/local: ${step}`),
  ])
    expect(walkedOk(run, step), `no "ok" line for "${step}"\n${report}`).toBe(true);
  expect(report).toMatch(/outbound-only \(reached through its channel\)/);
  expect(report).toMatch(/^ok +\d+\. Test Connection \(.*over channel/m);
}
