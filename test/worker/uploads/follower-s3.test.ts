// Uploads to a REAL follower agent process whose default ingress target is an S3 bucket (s3rver),
// the primary served over real HTTP: the S3 refusal the agent meets travels through protocol v2 with
// its S3 code, so a completion that meets credentials being rotated keeps the session (and its parts)
// until the admin pushes the new key, and the retry completes.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ingressTargetSchema } from "../../../worker/api/ingress-targets.ts";
import { enrollmentTokenSchema, nodeSchema } from "../../../worker/api/nodes.ts";
import { policySchema } from "../../../worker/api/policies.ts";
import type { UploadOut } from "../../../worker/api/uploads.ts";
import { uploadSessions } from "../../../worker/db/schema.ts";
import { type AgentProcess, startAgentProcess } from "../../support/agents.ts";
import { bytes, sha256 } from "../../support/bytes.ts";
import { bindUserToPolicy } from "../../support/groups.ts";
import { type Primary, startPrimary } from "../../support/http-primary.ts";
import { s3rverKeys, startS3rver } from "../../support/s3rver.ts";
import { partOf, type UploadClient, uploadClient } from "../../support/upload-client.ts";

const MiB = 1024 * 1024;
type Completed = { upload: UploadOut; file: { id: string; sha256: string } };

describe("uploads to a real follower writing to S3", () => {
  let primary: Primary;
  let agent: AgentProcess;
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let c: UploadClient;
  let targetPath: string;
  const keys = s3rverKeys();

  beforeAll(async () => {
    s3 = await startS3rver(["follower-bucket"]);
    keys.issue("ROTATING-OLD", "old-secret");
    primary = await startPrimary();
    const node = await primary.ok(nodeSchema, "POST", "/api/v1/admin/nodes", { name: "Follower S3" });
    const path = `/api/v1/admin/nodes/${node.id}`;
    const { token } = await primary.ok(enrollmentTokenSchema, "POST", `${path}/enrollment-token`, {});
    agent = await startAgentProcess({ primaryUrl: primary.origin, token, advertise: true });
    await primary.ok(z.unknown(), "PATCH", path, { base_url: agent.baseUrl }, 200);
    await primary.ok(z.unknown(), "POST", `${path}/test`, undefined, 200);
    const target = await primary.ok(ingressTargetSchema, "POST", `${path}/ingress-targets`, {
      name: "bucket",
      driver: "s3",
      base_path: "follower",
      s3: {
        endpoint: s3.endpoint,
        bucket: "follower-bucket",
        access_key_id: "ROTATING-OLD",
        secret_access_key: "old-secret",
      },
    });
    expect(target.state).toBe("applied");
    targetPath = `${path}/ingress-targets/${target.id}`;
    const policy = await primary.ok(policySchema, "POST", "/api/v1/admin/policies", {
      name: "Remote relay to S3",
      driver: "remote",
      node_id: node.id,
      chunk_size: MiB,
    });
    await bindUserToPolicy(primary.db, { username: "plainuser" }, policy.id);
    c = uploadClient((p, init) => fetch(`${primary.origin}${p}`, init), primary.userToken);
  });
  afterAll(async () => {
    await agent?.destroy();
    await primary?.close();
    await s3?.stop();
  });

  const sessionRow = async (id: string) =>
    (await primary.db.select().from(uploadSessions).where(eq(uploadSessions.id, id)))[0];

  it("keeps the session open when the follower's S3 key was revoked at completion, and completes after the admin pushes the new one", async () => {
    const data = bytes(3 * MiB + 17, 41);
    const upload = await c.ok<UploadOut>(
      await c.init({ name: "rotated.bin", size: data.length, sha256: sha256(data) }),
      201,
    );
    for (let n = 1; n <= upload.part_count; n++)
      await c.ok(await c.putPart(upload.id, n, partOf(upload, data, n)));
    // The S3 admin rotates the key: the old one is revoked before the agent is told the new one.
    keys.issue("ROTATING-NEW", "new-secret");
    keys.revoke("ROTATING-OLD");
    const refused = await c.fail(await c.complete(upload.id));
    expect(refused.code).toBe("storage_rejected");
    expect(refused.details).toMatchObject({
      s3_code: expect.stringMatching(/^(InvalidAccessKeyId|AccessDenied)$/),
    });
    expect((await sessionRow(upload.id))!.state).toBe("open");

    const pushed = await primary.ok(ingressTargetSchema, "PATCH", targetPath, {
      s3: { access_key_id: "ROTATING-NEW", secret_access_key: "new-secret" },
    });
    expect(pushed.state).toBe("applied");
    const done = await c.ok<Completed>(await c.complete(upload.id));
    expect(done.file.sha256).toBe(sha256(data));
    const download = await fetch(`${primary.origin}/api/v1/spaces/me/files/${done.file.id}/content`, {
      headers: { authorization: `Bearer ${primary.userToken}` },
    });
    expect(download.status).toBe(200);
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(sha256(data));
  });
});
