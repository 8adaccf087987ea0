// Upload sessions in process over an s3 policy (a real s3rver; the R2 binding only streams inside
// workerd) and a real migrated libSQL file: relay single and multipart (parallel, retried, the same
// part twice at once), resume, every refusal of a bad part, completion rules, abort, expiry cleanup.
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomId } from "../../../shared/crypto.ts";
import type { UploadOut } from "../../../worker/api/uploads.ts";
import {
  files,
  sessions,
  teamMembers,
  teams,
  uploadParts,
  uploadSessions,
  users,
} from "../../../worker/db/schema.ts";
import { parseEnv } from "../../../worker/env.ts";
import { createServices } from "../../../worker/services.ts";
import { createS3Driver } from "../../../worker/storage/s3.ts";
import type { StorageDriver } from "../../../worker/storage/types.ts";
import { expireUploads } from "../../../worker/uploads/expiry.ts";
import { bytes, sha256 } from "../../support/bytes.ts";
import { seedGroup } from "../../support/groups.ts";
import {
  createHarness,
  type Harness,
  ORIGIN,
  realFetch,
  seedS3Policy,
  seedUser,
  unique,
} from "../../support/primary.ts";
import { S3RVER_KEY, startS3rver } from "../../support/s3rver.ts";
import { partOf, relayWhole, type UploadClient, uploadClient } from "../../support/upload-client.ts";

const MiB = 1024 * 1024;
type PresignAnswer = { urls: { part_number: number; url: string; headers: Record<string, string> }[] };

describe("relay uploads to an s3 policy", () => {
  let h: Harness;
  let c: UploadClient;
  let other: UploadClient;
  let userId: string;
  let policyId: string;
  const ctx = { waitUntil: () => {} };

  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let bucket: StorageDriver;
  let presignedPolicyId: string;
  let teamId: string;

  const insertS3Policy = (uploadMode: "relay_stream" | "presigned") =>
    seedS3Policy(h, {
      endpoint: s3.endpoint,
      bucket: "uploads",
      fields: { chunkSize: 5 * MiB, maxFileSize: 40 * MiB, uploadMode },
    });

  beforeAll(async () => {
    s3 = await startS3rver(["uploads"]);
    h = await createHarness({ fetch: realFetch });
    policyId = await insertS3Policy("relay_stream");
    presignedPolicyId = await insertS3Policy("presigned");
    bucket = createS3Driver({
      endpoint: s3.endpoint,
      region: "us-east-1",
      bucket: "uploads",
      pathStyle: true,
      ...S3RVER_KEY,
    });
    const groupId = await seedGroup(h.db, policyId);
    const api = (path: string, init?: RequestInit) =>
      h.app.fetch(new Request(`${ORIGIN}${path}`, init), h.env, ctx);
    const seeded = await seedUser(h);
    userId = seeded.user.id;
    await h.db.update(users).set({ policyGroupId: groupId }).where(eq(users.id, userId));
    c = uploadClient(api, seeded.token);
    const stranger = await seedUser(h);
    await h.db.update(users).set({ policyGroupId: groupId }).where(eq(users.id, stranger.user.id));
    other = uploadClient(api, stranger.token);
    // A team whose space uploads through its own group (presigned S3), not its members' group.
    const teamGroup = await seedGroup(h.db, presignedPolicyId);
    teamId = randomId();
    await h.db.insert(teams).values({ id: teamId, name: unique("team"), policyGroupId: teamGroup });
    await h.db.insert(teamMembers).values({ teamId, userId });
  });
  afterAll(async () => {
    await h?.close();
    await s3?.stop();
  });

  const init = async (body: Record<string, unknown>) => c.ok<UploadOut>(await c.init(body), 201);
  const stored = async (fileId: string) => {
    const object = await bucket.get(`files/${fileId}`);
    return object ? new Uint8Array(await new Response(object.body).arrayBuffer()) : null;
  };

  it("uploads a small file in one relayed request and stores its SHA-256", async () => {
    const data = bytes(1000);
    const upload = await init({ name: "small.bin", size: data.length, client_id: "tab-1" });
    expect(upload).toMatchObject({
      mode: "relay_stream",
      part_count: 1,
      chunk_size: 1000,
      missing_parts: [1],
    });
    expect(upload.part_url_template).toBe(`/api/v1/uploads/${upload.id}/parts/{n}`);
    const done = await relayWhole(c, upload, data);
    expect(done.file).toMatchObject({ size: 1000, sha256: sha256(data), policy_id: policyId });
    expect(done.upload).toMatchObject({ state: "completed", file_id: done.file.id, missing_parts: [] });
    expect(sha256((await stored(done.file.id))!)).toBe(sha256(data));
  });

  it("uploads into a live folder of the space, and refuses a folder that is missing, trashed or another user's", async () => {
    const folder = async (client: UploadClient) =>
      client.ok<{ id: string }>(
        await client.json("POST", "/api/v1/spaces/me/folders", { name: unique("folder") }),
        201,
      );
    const live = await folder(c);
    const data = bytes(700, 31);
    const upload = await init({ name: "in-folder.bin", size: data.length, folder_id: live.id });
    const done = await relayWhole(c, upload, data);
    expect(done.file).toMatchObject({ folder_id: live.id, sha256: sha256(data) });
    const trashed = await folder(c);
    expect((await c.json("DELETE", `/api/v1/spaces/me/folders/${trashed.id}`)).status).toBe(204);
    const foreign = await folder(other);
    for (const folderId of [randomId(), trashed.id, foreign.id]) {
      expect(
        await c.fail(await c.init({ name: "nowhere.bin", size: 10, folder_id: folderId })),
      ).toMatchObject({
        status: 404,
        code: "not_found",
      });
    }
  });

  it("uploads a file of more than three parts sent in parallel, one of them twice", async () => {
    const data = bytes(15 * MiB + 12345, 2);
    const upload = await init({ name: "big.bin", size: data.length, sha256: sha256(data) });
    expect(upload).toMatchObject({ part_count: 4, chunk_size: 5 * MiB });
    const send = async (n: number, part = partOf(upload, data, n)) => {
      const response = await c.putPart(upload.id, n, part, { "x-flotilla-sha256": sha256(part) });
      expect(await c.ok(response)).toMatchObject({ part_number: n, size: part.length, sha256: sha256(part) });
    };
    // Part 3 first goes with wrong bytes (a client bug), then is retried with the right ones: it replaces.
    await send(3, bytes(5 * MiB, 99));
    await Promise.all([4, 1, 2, 3].map((n) => send(n)));
    const done = await c.ok<{ file: { id: string; sha256: string } }>(await c.complete(upload.id));
    expect(done.file.sha256).toBe(sha256(data));
    expect(sha256((await stored(done.file.id))!)).toBe(sha256(data));
  });

  it("resumes: the session lists what arrived, the client sends only the rest", async () => {
    const data = bytes(10 * MiB + 7, 3);
    const upload = await init({ name: "resume.bin", size: data.length, client_id: "tab-resume" });
    await c.ok(await c.putPart(upload.id, 2, partOf(upload, data, 2)));
    // The client reloads: it finds its session by client_id and asks what is missing.
    const listed = await c.ok<{ items: UploadOut[] }>(await c.list("tab-resume"));
    expect(listed.items.map((u) => u.id)).toEqual([upload.id]);
    expect(listed.items[0]).toMatchObject({ parts_received: [2], missing_parts: [1, 3] });
    const refused = await c.fail(await c.complete(upload.id));
    expect(refused).toMatchObject({
      status: 409,
      code: "upload_parts_missing",
      details: { missing: [1, 3] },
    });
    for (const n of listed.items[0]!.missing_parts)
      await c.ok(await c.putPart(upload.id, n, partOf(upload, data, n)));
    const done = await c.ok<{ file: { sha256: string } }>(await c.complete(upload.id));
    expect(done.file.sha256).toBe(sha256(data));
    expect((await c.ok<{ items: UploadOut[] }>(await c.list("tab-resume"))).items).toEqual([]);
  });

  it("uploads an empty file with one empty request", async () => {
    const upload = await init({ name: "empty.txt", size: 0 });
    expect(upload).toMatchObject({ part_count: 1, chunk_size: 0 });
    const done = await relayWhole(c, upload, new Uint8Array(0));
    expect(done.file).toMatchObject({ size: 0, sha256: sha256(new Uint8Array(0)) });
  });

  it("answers a retried completion with the same file", async () => {
    const data = bytes(300, 4);
    const upload = await init({ name: "twice.txt", size: data.length });
    const first = await relayWhole(c, upload, data);
    const again = await c.ok<{ file: { id: string } }>(await c.complete(upload.id));
    expect(again.file.id).toBe(first.file.id);
    expect(await h.db.select().from(files).where(eq(files.name, "twice.txt"))).toHaveLength(1);
  });

  it("creates one file when completions race: the others get that file or are told a completion is running", async () => {
    const data = bytes(10 * MiB + 1, 16);
    const upload = await init({ name: "race.bin", size: data.length });
    for (let n = 1; n <= upload.part_count; n++)
      await c.ok(await c.putPart(upload.id, n, partOf(upload, data, n)));
    const answers = await Promise.all([c.complete(upload.id), c.complete(upload.id), c.complete(upload.id)]);
    const ids = new Set<string>();
    for (const answer of answers) {
      if (answer.status === 200) ids.add((await c.ok<{ file: { id: string } }>(answer)).file.id);
      else expect(await c.fail(answer)).toMatchObject({ status: 409, code: "upload_completing" });
    }
    expect(ids.size).toBe(1);
    expect(await h.db.select().from(files).where(eq(files.name, "race.bin"))).toHaveLength(1);
  });

  it("accepts a part sent again with the digest it was stored with, without storing it twice", async () => {
    const data = bytes(2000, 5);
    const upload = await init({ name: "again.bin", size: data.length });
    const digest = { "x-flotilla-sha256": sha256(data) };
    await c.ok(await c.putPart(upload.id, 1, data, digest));
    const [session] = await h.db.select().from(uploadSessions).where(eq(uploadSessions.id, upload.id));
    // Remove the stored copy behind the session's back: a second store would bring it back.
    await bucket.delete(session!.storageKey);
    const again = await c.ok<{ sha256: string }>(await c.putPart(upload.id, 1, data, digest));
    expect(again.sha256).toBe(sha256(data));
    expect(await bucket.head(session!.storageKey)).toBeNull();
  });

  it("refuses a second request for a part while the first one is still streaming", async () => {
    const data = bytes(6 * MiB, 6);
    const upload = await init({ name: "busy.bin", size: data.length });
    const part = partOf(upload, data, 1);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(part.slice(0, 1024));
        await gate;
        controller.enqueue(part.slice(1024));
        controller.close();
      },
    });
    const first = c.putPart(upload.id, 1, slow, { "content-length": String(part.length) });
    // Wait until the first request holds the claim (its row says uploading).
    for (;;) {
      const [row] = await h.db.select().from(uploadParts).where(eq(uploadParts.sessionId, upload.id));
      if (row?.state === "uploading") break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const second = await c.fail(await c.putPart(upload.id, 1, part));
    expect(second).toMatchObject({ status: 409, code: "upload_part_busy" });
    release();
    expect(await c.ok(await first)).toMatchObject({ part_number: 1, size: part.length });
  });

  it("takes over the claim of a request that died mid-part once the claim went unrenewed past its lease", async () => {
    const data = bytes(6 * MiB, 16);
    const upload = await init({ name: "dead-claim.bin", size: data.length });
    // What a killed workerd (or a database down as the part failed) leaves: a claim nobody renewed
    // for a minute. A client retrying then must not be told the part is busy for half an hour.
    const claimedAt = new Date(Date.now() - 60_000);
    await h.db.insert(uploadParts).values({
      sessionId: upload.id,
      partNumber: 1,
      state: "uploading",
      claim: "pc_dead",
      claimedAt,
      updatedAt: claimedAt,
    });
    const part = partOf(upload, data, 1);
    expect(await c.ok(await c.putPart(upload.id, 1, part))).toMatchObject({
      part_number: 1,
      size: part.length,
    });
  });

  it("refuses part numbers outside the plan and parts of the wrong size", async () => {
    const data = bytes(6 * MiB, 7);
    const upload = await init({ name: "bad-parts.bin", size: data.length });
    for (const n of [0, 3, 10001]) {
      expect(await c.fail(await c.putPart(upload.id, n, bytes(10)))).toMatchObject({
        status: 400,
        code: "upload_part_invalid",
      });
    }
    const wrong = await c.fail(await c.putPart(upload.id, 2, bytes(1000)));
    expect(wrong).toMatchObject({
      status: 400,
      code: "upload_part_size_mismatch",
      details: { expected: MiB },
    });
    expect((await c.ok<UploadOut>(await c.get(upload.id))).parts_received).toEqual([]);
  });

  it("refuses a part whose bytes do not match its digest and keeps nothing", async () => {
    const data = bytes(4096, 8);
    const upload = await init({ name: "digest.bin", size: data.length });
    const refused = await c.fail(
      await c.putPart(upload.id, 1, data, { "x-flotilla-sha256": sha256(bytes(4096, 9)) }),
    );
    expect(refused).toMatchObject({ status: 400, code: "content_digest_mismatch" });
    expect((await c.ok<UploadOut>(await c.get(upload.id))).parts_received).toEqual([]);
    const [session] = await h.db.select().from(uploadSessions).where(eq(uploadSessions.id, upload.id));
    expect(await bucket.head(session!.storageKey)).toBeNull();
    // RFC 9530 Content-Digest is checked the same way.
    const b64 = Buffer.from(sha256(bytes(4096, 9)), "hex").toString("base64");
    expect(
      await c.fail(await c.putPart(upload.id, 1, data, { "content-digest": `sha-256=:${b64}:` })),
    ).toMatchObject({
      code: "content_digest_mismatch",
    });
    const good = Buffer.from(sha256(data), "hex").toString("base64");
    await c.ok(await c.putPart(upload.id, 1, data, { "content-digest": `sha-256=:${good}:` }));
  });

  it("refuses a whole file that does not match its declared SHA-256", async () => {
    const data = bytes(5000, 10);
    const upload = await init({ name: "declared.bin", size: data.length, sha256: sha256(bytes(5000, 11)) });
    expect(await c.fail(await c.putPart(upload.id, 1, data))).toMatchObject({
      code: "content_digest_mismatch",
    });
  });

  it("refuses a file over the policy's size limit at init with file_too_large", async () => {
    const refused = await c.fail(await c.init({ name: "huge.iso", size: 41 * MiB }));
    expect(refused).toMatchObject({
      status: 413,
      code: "file_too_large",
      details: { max_file_size: 40 * MiB },
    });
  });

  it("keeps sessions private to their owner", async () => {
    const upload = await init({ name: "mine.bin", size: 10 });
    expect(await other.fail(await other.get(upload.id))).toMatchObject({ status: 404, code: "not_found" });
    expect(await other.fail(await other.putPart(upload.id, 1, bytes(10)))).toMatchObject({ status: 404 });
    expect(await other.fail(await other.complete(upload.id))).toMatchObject({ status: 404 });
    expect(await other.fail(await other.abort(upload.id))).toMatchObject({ status: 404 });
  });

  it("aborts: the stored object is removed and the session takes no more parts", async () => {
    const data = bytes(3 * MiB, 12);
    const upload = await init({ name: "abort.bin", size: data.length });
    await c.ok(await c.putPart(upload.id, 1, data));
    const [session] = await h.db.select().from(uploadSessions).where(eq(uploadSessions.id, upload.id));
    expect(await bucket.head(session!.storageKey)).not.toBeNull();
    expect((await c.abort(upload.id)).status).toBe(204);
    expect((await c.abort(upload.id)).status).toBe(204);
    expect(await bucket.head(session!.storageKey)).toBeNull();
    expect(await c.fail(await c.putPart(upload.id, 1, data))).toMatchObject({
      status: 409,
      code: "upload_closed",
    });
    expect(await c.fail(await c.complete(upload.id))).toMatchObject({ code: "upload_closed" });
    const [after] = await h.db.select().from(uploadSessions).where(eq(uploadSessions.id, upload.id));
    expect(after).toMatchObject({ state: "aborted", cleanupPending: false });
  });

  it("expires unfinished sessions: the scheduled task aborts them on the storage and removes them", async () => {
    const data = bytes(3000, 13);
    const upload = await init({ name: "stale.bin", size: data.length });
    await c.ok(await c.putPart(upload.id, 1, data));
    const [session] = await h.db.select().from(uploadSessions).where(eq(uploadSessions.id, upload.id));
    expect(await bucket.head(session!.storageKey)).not.toBeNull();
    const later = new Date(Date.now() + 25 * 3600 * 1000);
    const services = createServices(parseEnv(h.env), ctx, "cron", {
      db: h.db,
      now: () => later,
      fetch: (input, init) => fetch(input, init),
      logSink: (record) => void h.logs.push(record),
    });
    await expireUploads(services);
    expect(await bucket.head(session!.storageKey)).toBeNull();
    expect(await h.db.select().from(uploadSessions).where(eq(uploadSessions.id, upload.id))).toEqual([]);
    expect(await c.fail(await c.get(upload.id))).toMatchObject({ status: 404 });
    expect(await h.db.select().from(files).where(eq(files.id, session!.fileId!))).toEqual([]);
  });

  it("uploads to a team space through the team's group: presigned S3, PUT straight to the bucket", async () => {
    const data = bytes(2 * MiB, 14);
    const upload = await c.ok<UploadOut>(
      await c.init({ name: "team.bin", size: data.length, content_type: "application/pdf" }, teamId),
      201,
    );
    expect(upload).toMatchObject({
      mode: "presigned",
      policy_id: presignedPolicyId,
      part_count: 1,
      space: { kind: "team", id: teamId },
    });
    const { urls } = await c.ok<PresignAnswer>(await c.presign(upload.id, [1]));
    expect(urls[0]!.url.startsWith(s3.endpoint)).toBe(true);
    const put = await fetch(urls[0]!.url, { method: "PUT", headers: urls[0]!.headers, body: data });
    expect(put.status).toBe(200);
    // The one part of an S3 multipart upload: only the browser knows its ETag.
    expect(await c.fail(await c.complete(upload.id))).toMatchObject({ code: "upload_etag_required" });
    const done = await c.ok<{ file: { id: string; sha256: string } }>(
      await c.complete(upload.id, { parts: [{ part_number: 1, etag: put.headers.get("etag")! }] }),
    );
    expect(done.file.sha256).toBe(sha256(data));
    expect(sha256((await stored(done.file.id))!)).toBe(sha256(data));
    const [file] = await h.db.select().from(files).where(eq(files.id, done.file.id));
    expect(file).toMatchObject({ spaceKind: "team", spaceId: teamId, policyId: presignedPolicyId });
  });

  it("completes presigned S3 multipart parts with the ETags the browser read from each PUT", async () => {
    const data = bytes(11 * MiB, 15);
    const upload = await c.ok<UploadOut>(
      await c.init({ name: "team-big.bin", size: data.length }, teamId),
      201,
    );
    expect(upload).toMatchObject({ mode: "presigned", part_count: 3 });
    const { urls } = await c.ok<PresignAnswer>(await c.presign(upload.id, [1, 2, 3]));
    const etags = await Promise.all(
      urls.map(async (url) => {
        const put = await fetch(url.url, {
          method: "PUT",
          headers: url.headers,
          body: partOf(upload, data, url.part_number),
        });
        expect(put.status).toBe(200);
        return { part_number: url.part_number, etag: put.headers.get("etag")! };
      }),
    );
    expect(await c.fail(await c.complete(upload.id))).toMatchObject({ code: "upload_etag_required" });
    expect(await c.fail(await c.complete(upload.id, { parts: etags.slice(0, 2) }))).toMatchObject({
      code: "upload_parts_missing",
      details: { missing: [3] },
    });
    const done = await c.ok<{ file: { id: string; sha256: string } }>(
      await c.complete(upload.id, { parts: etags }),
    );
    expect(done.file.sha256).toBe(sha256(data));
    expect(sha256((await stored(done.file.id))!)).toBe(sha256(data));
  });

  it("lets no spare presigned URL change a completed file on S3: the upload it addressed is gone", async () => {
    const data = bytes(MiB, 16);
    const other = bytes(MiB, 17);
    const upload = await c.ok<UploadOut>(await c.init({ name: "spare.bin", size: data.length }, teamId), 201);
    expect(upload).toMatchObject({ mode: "presigned", part_count: 1 });
    const [first] = (await c.ok<PresignAnswer>(await c.presign(upload.id, [1]))).urls;
    const [spare] = (await c.ok<PresignAnswer>(await c.presign(upload.id, [1]))).urls;
    const put = await fetch(first!.url, { method: "PUT", headers: first!.headers, body: data });
    expect(put.status).toBe(200);
    const done = await c.ok<{ file: { id: string; sha256: string } }>(
      await c.complete(upload.id, { parts: [{ part_number: 1, etag: put.headers.get("etag")! }] }),
    );
    expect(done.file.sha256).toBe(sha256(data));
    // Within its lifetime the spare URL is still signed; S3 refuses a part of a completed upload
    // (s3rver files it away unseen). Either way the committed object stays as it was.
    await fetch(spare!.url, { method: "PUT", headers: spare!.headers, body: other }).then((r) =>
      r.arrayBuffer(),
    );
    expect(sha256((await stored(done.file.id))!)).toBe(sha256(data));
    const download = await c.json("GET", `/api/v1/spaces/${teamId}/files/${done.file.id}/content`);
    expect(download.status).toBe(200);
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(done.file.sha256);
  });

  it("relays an empty file on a presigned policy: there is nothing to hand a URL out for", async () => {
    const upload = await c.ok<UploadOut>(await c.init({ name: "empty.txt", size: 0 }, teamId), 201);
    expect(upload).toMatchObject({ mode: "relay_stream", part_count: 1, policy_id: presignedPolicyId });
    const done = await relayWhole(c, upload, new Uint8Array(0));
    expect(done.file).toMatchObject({ size: 0, sha256: sha256(new Uint8Array(0)) });
  });

  it("starts and stores nothing for a revoked or expired session or a disabled account, though init and parts read with the session", async () => {
    const api = (path: string, init?: RequestInit) =>
      h.app.fetch(new Request(`${ORIGIN}${path}`, init), h.env, ctx);
    const sessionsOf = async (id: string) =>
      (await h.db.select().from(uploadSessions).where(eq(uploadSessions.userId, id))).length;
    const revoked = await seedUser(h);
    await h.db
      .update(users)
      .set({ policyGroupId: await seedGroup(h.db, policyId) })
      .where(eq(users.id, revoked.user.id));
    const client = uploadClient(api, revoked.token);
    const begun = await client.ok<UploadOut>(await client.init({ name: "before.bin", size: 1 }), 201);
    expect(await sessionsOf(revoked.user.id)).toBe(1);
    await h.db.delete(sessions).where(eq(sessions.userId, revoked.user.id));
    expect(await client.fail(await client.init({ name: "after.bin", size: 1 }))).toMatchObject({
      status: 401,
      code: "unauthorized",
    });
    // A part reads its session with the caller's too: refused, and nothing of it recorded.
    expect(await client.fail(await client.putPart(begun.id, 1, bytes(1)))).toMatchObject({
      status: 401,
      code: "unauthorized",
    });
    expect(await h.db.select().from(uploadParts).where(eq(uploadParts.sessionId, begun.id))).toEqual([]);

    const expired = await seedUser(h);
    await h.db
      .update(users)
      .set({ policyGroupId: await seedGroup(h.db, policyId) })
      .where(eq(users.id, expired.user.id));
    await h.db
      .update(sessions)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(sessions.userId, expired.user.id));
    const late = uploadClient(api, expired.token);
    expect(await late.fail(await late.init({ name: "late.bin", size: 1 }))).toMatchObject({
      status: 401,
      code: "session_expired",
    });

    const disabled = await seedUser(h);
    await h.db
      .update(users)
      .set({ policyGroupId: await seedGroup(h.db, policyId), disabled: true })
      .where(eq(users.id, disabled.user.id));
    const off = uploadClient(api, disabled.token);
    expect(await off.fail(await off.init({ name: "off.bin", size: 1 }))).toMatchObject({
      status: 403,
      code: "account_disabled",
    });
    expect([
      await sessionsOf(revoked.user.id),
      await sessionsOf(expired.user.id),
      await sessionsOf(disabled.user.id),
    ]).toEqual([1, 0, 0]);

    // A body that does not parse is answered as authentication answers it first.
    const badBody = { method: "POST", headers: { "content-type": "application/json" }, body: "{" };
    expect((await api("/api/v1/spaces/me/uploads", badBody)).status).toBe(401);
    const withToken = (token: string) => ({
      ...badBody,
      headers: { ...badBody.headers, authorization: `Bearer ${token}` },
    });
    expect((await api("/api/v1/spaces/me/uploads", withToken(revoked.token))).status).toBe(401);
    expect((await api("/api/v1/spaces/me/uploads", withToken(disabled.token))).status).toBe(403);
  });

  it("hides a team space from a user who is not a member", async () => {
    expect(await other.fail(await other.init({ name: "x", size: 1 }, teamId))).toMatchObject({
      status: 404,
      code: "not_found",
    });
  });

  it("stops a team upload once its uploader leaves the team: no more parts, no completion, not listed", async () => {
    const data = bytes(1000, 31);
    const upload = await c.ok<UploadOut>(
      await c.init({ name: "left-team.bin", size: data.length, client_id: "leaver" }, teamId),
      201,
    );
    expect((await c.ok<{ items: UploadOut[] }>(await c.list("leaver"))).items.map((u) => u.id)).toEqual([
      upload.id,
    ]);
    await h.db.delete(teamMembers).where(and(eq(teamMembers.teamId, teamId), eq(teamMembers.userId, userId)));
    try {
      expect(await c.fail(await c.get(upload.id))).toMatchObject({ status: 404, code: "not_found" });
      expect(await c.fail(await c.presign(upload.id, [1]))).toMatchObject({ status: 404 });
      expect(await c.fail(await c.complete(upload.id))).toMatchObject({ status: 404 });
      expect((await c.ok<{ items: UploadOut[] }>(await c.list("leaver"))).items).toEqual([]);
    } finally {
      await h.db.insert(teamMembers).values({ teamId, userId });
    }
    // Back in the team, the same upload goes on.
    expect((await c.ok<UploadOut>(await c.get(upload.id))).id).toBe(upload.id);
  });
});
