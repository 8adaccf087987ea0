// Clients that go away in the middle of a relayed part, over a real socket to the primary inside
// workerd (which cancels the request when its client goes): the part's claim is released and nothing
// is kept, so the client that comes back sends the part again at once instead of waiting out the
// claim's lease. Runs in the workerd project only: it needs the primary's own HTTP front.
import { connect } from "node:net";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UploadOut } from "../../../worker/api/uploads.ts";
import { uploadParts, uploadSessions } from "../../../worker/db/schema.ts";
import { createS3Driver } from "../../../worker/storage/s3.ts";
import type { StorageDriver } from "../../../worker/storage/types.ts";
import { bytes, sha256 } from "../../support/bytes.ts";
import { bindUserToPolicy } from "../../support/groups.ts";
import {
  createHarness,
  type Harness,
  ORIGIN,
  realFetch,
  seedS3Policy,
  seedUser,
} from "../../support/primary.ts";
import { S3RVER_KEY, startS3rver } from "../../support/s3rver.ts";
import { type UploadClient, uploadClient } from "../../support/upload-client.ts";

const MiB = 1024 * 1024;

describe("a client gone mid-part, inside workerd", () => {
  let h: Harness;
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let c: UploadClient;
  let token: string;
  let bucket: StorageDriver;

  beforeAll(async () => {
    s3 = await startS3rver(["disconnect"]);
    h = await createHarness({ fetch: realFetch });
    const policyId = await seedS3Policy(h, {
      endpoint: s3.endpoint,
      bucket: "disconnect",
      fields: { chunkSize: 5 * MiB, uploadMode: "relay_stream" },
    });
    const seeded = await seedUser(h);
    await bindUserToPolicy(h.db, seeded.user, policyId);
    token = seeded.token;
    c = uploadClient(
      (path, init) => h.app.fetch(new Request(`${ORIGIN}${path}`, init), h.env, { waitUntil() {} }),
      token,
    );
    bucket = createS3Driver({
      endpoint: s3.endpoint,
      region: "us-east-1",
      bucket: "disconnect",
      pathStyle: true,
      ...S3RVER_KEY,
    });
  });
  afterAll(async () => {
    await h?.close();
    await s3?.stop();
  });

  const parts = (sessionId: string) =>
    h.db.select().from(uploadParts).where(eq(uploadParts.sessionId, sessionId));

  /** Sends part 1's headers and the first `sent` bytes on a raw socket, waits for the claim, then cuts. */
  async function cutPart(sessionId: string, data: Uint8Array, sent: number): Promise<void> {
    const { url } = h.workerd!;
    const socket = connect(Number(url.port), url.hostname);
    socket.on("error", () => {});
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write(
      `PUT /api/v1/uploads/${sessionId}/parts/1 HTTP/1.1\r\nHost: ${url.host}\r\n` +
        `Authorization: Bearer ${token}\r\nContent-Type: application/octet-stream\r\n` +
        `Content-Length: ${data.length}\r\n\r\n`,
    );
    if (sent > 0) socket.write(data.subarray(0, sent));
    await expect.poll(async () => (await parts(sessionId))[0]?.state).toBe("uploading");
    socket.destroy();
  }

  async function resumes(upload: UploadOut, data: Uint8Array): Promise<void> {
    await expect.poll(() => parts(upload.id)).toEqual([]);
    const [session] = await h.db.select().from(uploadSessions).where(eq(uploadSessions.id, upload.id));
    // Never the complete body: nothing, or (s3rver keeps what arrived of a cut PUT, S3 keeps nothing)
    // a fragment that the part sent again replaces.
    expect((await bucket.head(session!.storageKey))?.size ?? 0).toBeLessThan(data.length);
    await c.ok(await c.putPart(upload.id, 1, new Uint8Array(data)));
    const done = await c.ok<{ file: { sha256: string } }>(await c.complete(upload.id));
    expect(done.file.sha256).toBe(sha256(data));
  }

  it("releases the part when the client goes before its first byte", async () => {
    const data = bytes(200 * 1024, 41);
    const upload = await c.ok<UploadOut>(await c.init({ name: "early.bin", size: data.length }), 201);
    await cutPart(upload.id, data, 0);
    await resumes(upload, data);
  });

  it("releases the part when the client goes halfway through it", async () => {
    const data = bytes(4 * MiB, 42);
    const upload = await c.ok<UploadOut>(await c.init({ name: "halfway.bin", size: data.length }), 201);
    await cutPart(upload.id, data, 2 * MiB);
    await resumes(upload, data);
  });
});
