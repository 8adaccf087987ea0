// The primary's OpenAPI document as `@redocly/cli lint` judges it with the recommended rules
// (redocly.yaml): no errors and no warnings, so a generated client gets servers, every status and
// named types. The document is the one GET /api/v1/openapi.json serves.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../support/primary.ts";

const root = resolve(import.meta.dirname, "../..");
const REDOCLY = join(root, "node_modules/.bin/redocly");

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: { ruleId: string; message: string; location: { pointer: string }[] }[];
}

function lint(file: string): Promise<LintReport> {
  const child = spawn(REDOCLY, ["lint", "--format=json", file], {
    cwd: root,
    env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString("utf8");
  });
  return new Promise((done, fail) => {
    child.once("error", (error) =>
      fail(new Error(`@redocly/cli did not start (npm install needed): ${error.message}`)),
    );
    child.once("close", () => {
      try {
        done(JSON.parse(out) as LintReport);
      } catch {
        fail(new Error(`@redocly/cli printed no JSON report: ${err.trim() || out.trim()}`));
      }
    });
  });
}

describe("OpenAPI document under @redocly/cli lint", () => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    h = await createHarness();
    dir = await mkdtemp(join(tmpdir(), "flotilla-openapi-"));
  });
  afterAll(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("passes the recommended rules with 0 errors and 0 warnings", async () => {
    const response = await h.call("GET", "/api/v1/openapi.json");
    expect(response.status).toBe(200);
    const file = join(dir, "openapi.json");
    await writeFile(file, await response.text());
    const report = await lint(file);
    const problems = report.problems.map((p) => `${p.ruleId} ${p.location[0]?.pointer ?? ""}: ${p.message}`);
    expect(problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it("is the judge it claims to be: a document without servers is refused", async () => {
    const response = await h.call("GET", "/api/v1/openapi.json");
    const { servers: _servers, ...document } = (await response.json()) as Record<string, unknown>;
    const file = join(dir, "no-servers.json");
    await writeFile(file, JSON.stringify(document));
    const report = await lint(file);
    expect(report.problems.map((p) => p.ruleId)).toContain("no-empty-servers");
  });
});
