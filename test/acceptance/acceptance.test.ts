// The acceptance walk for real: `node scripts/acceptance/index.ts` as a child process against a stack
// this test starts (libSQL server, worker in workerd, follower agent; all ports 0, temp data dir) and
// an in-process s3rver for the s3 ingress target, covering relay_stream and presigned on a local and
// on an s3 target. It must exit 0 with every step of every combination reported "ok".
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../scripts/acceptance/local-stack.ts";
import { COMBO_STEPS, runAcceptanceWalk, walkedOk } from "../support/acceptance-walk.ts";
import { S3RVER_WIRE_KEY, startS3rver } from "../support/s3rver.ts";

const BUCKET = "acceptance";

let stack: LocalStack;
let s3: Awaited<ReturnType<typeof startS3rver>>;

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
  stack = await startLocalStack();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await s3?.stop();
});

describe("npm run acceptance", () => {
  it("walks the tutorial's checklist for relay_stream and presigned on a local and an s3 target, then §9–§11, all steps ok", async () => {
    const run = await runAcceptanceWalk({
      FLOTILLA_URL: stack.url,
      FLOTILLA_ADMIN_USERNAME: stack.adminUsername,
      FLOTILLA_ADMIN_PASSWORD: stack.adminPassword,
      FLOTILLA_FOLLOWER_INGRESS_DIR: stack.ingressRoot,
      FLOTILLA_S3_ENDPOINT: s3.endpoint,
      FLOTILLA_S3_BUCKET: BUCKET,
      FLOTILLA_S3_ACCESS_KEY_ID: S3RVER_WIRE_KEY.access_key_id,
      FLOTILLA_S3_SECRET_ACCESS_KEY: S3RVER_WIRE_KEY.secret_access_key,
    });
    const report = run.lines.join("\n");
    const failed = run.lines.filter((line) => line.startsWith("fail"));
    expect(failed, report).toEqual([]);
    expect(run.code, report).toBe(0);
    const expected = [
      "admin login",
      "follower node ready",
      "Test Connection",
      "default ingress target (local, base path default)",
      "follower /health/ready",
      "s3 ingress target",
      "restore the default ingress target",
      ...["relay_stream", "presigned"].flatMap((mode) =>
        ["local", "s3"].flatMap((kind) => COMBO_STEPS.map((step) => `${mode}/${kind}: ${step}`)),
      ),
      "§9 size routing group: small files to the primary store, large to the follower",
      "§9 a user bound to it; the resolution preview names the policy for each size",
      "§9 upload a small and a large file: each stored with the policy its rule names",
      "§10 the user moved to another group: new uploads follow it, old files still read through their policy",
      "§10 the size routing group as the default for new users",
      "§11 routine maintenance: connection, readiness, target, space, groups, no recent errors",
      "§9–§11 clean up",
    ];
    for (const step of expected)
      expect(walkedOk(run, step), `no "ok" line for "${step}"\n${report}`).toBe(true);
    // The walk names the file sizes and the part count that make the large file a multipart upload.
    expect(report).toMatch(/relay_stream\/local: upload large file \(4\.5 MiB, 5 parts, sha256 ok\)/);
    expect(report).toMatch(/presigned\/s3: download whole \(4\.5 MiB via follower, sha256 ok\)/);
    expect(run.lines.at(-1)).toMatch(new RegExp(`^${expected.length + 2} passed, 0 failed$`));
  }, 300_000);

  it("fails loudly, exit 1, naming the step, when the admin password is wrong", async () => {
    const run = await runAcceptanceWalk({
      FLOTILLA_URL: stack.url,
      FLOTILLA_ADMIN_USERNAME: stack.adminUsername,
      FLOTILLA_ADMIN_PASSWORD: "not-the-password",
      FLOTILLA_ACCEPTANCE_MODES: "relay_stream",
      FLOTILLA_ACCEPTANCE_TARGETS: "local",
    });
    const report = run.lines.join("\n");
    expect(run.code, report).toBe(1);
    expect(report).toMatch(/^fail +1\. admin login: POST \/api\/v1\/auth\/login -> 401 invalid_credentials/m);
    // Later steps are reported as failing because of it, never silently skipped.
    expect(report).toMatch(/^fail +\d+\. relay_stream\/local: upload large file: needs "/m);
    expect(run.lines.find((line) => /^\d+ passed, \d+ failed$/.test(line))).toMatch(
      /^0 passed, [1-9]\d* failed$/,
    );
  }, 120_000);

  it("refuses an incomplete environment with exit 2 and the missing names", async () => {
    const run = await runAcceptanceWalk({ FLOTILLA_URL: "", FLOTILLA_ADMIN_PASSWORD: "" });
    expect(run.code).toBe(2);
    expect(run.lines.join("\n")).toMatch(/FLOTILLA_URL/);
    expect(run.lines.join("\n")).toMatch(/FLOTILLA_ADMIN_PASSWORD/);
  });
});
