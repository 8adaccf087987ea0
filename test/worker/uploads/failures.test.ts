// Failure paths of uploads over an s3 policy (a real s3rver) and a real migrated libSQL file: a file
// record that cannot be written after the object was composed, an abort or an expiry that lands while a
// relay part is still streaming, and an expiry that meets a completion in progress. Faults are real:
// a trigger in the real database refuses the record, real requests race on real streams.

import type { AddressInfo } from "node:net";
import { connect, createServer, type Socket } from "node:net";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomId } from "../../../shared/crypto.ts";
import type { UploadOut } from "../../../worker/api/uploads.ts";
import {
  files,
  pendingObjectDeletions,
  policyGroupRules,
  storagePolicies,
  uploadParts,
  uploadSessions,
} from "../../../worker/db/schema.ts";
import { parseEnv } from "../../../worker/env.ts";
import { encryptSecret } from "../../../worker/secrets.ts";
import { createServices } from "../../../worker/services.ts";
import { policyCredentialContext } from "../../../worker/storage/factory.ts";
import { createS3Driver } from "../../../worker/storage/s3.ts";
import type { StorageDriver } from "../../../worker/storage/types.ts";
import { expireUploads } from "../../../worker/uploads/expiry.ts";
import { PRESIGN_TTL_SECONDS } from "../../../worker/uploads/presign.ts";
import { bytes, sha256 } from "../../support/bytes.ts";
import { bindUserToPolicy } from "../../support/groups.ts";
import {
  createHarness,
  type Harness,
  ORIGIN,
  seedS3Policy,
  seedUser,
  TEST_SECRET,
} from "../../support/primary.ts";
import { S3RVER_KEY, startS3rver } from "../../support/s3rver.ts";
import { partOf, type UploadClient, uploadClient } from "../../support/upload-client.ts";

const MiB = 1024 * 1024;
type Completed = { upload: UploadOut; file: { id: string; sha256: string } };

describe("upload failure paths on s3", () => {
  let h: Harness;
  let c: UploadClient;
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let bucket: StorageDriver;
  let userId: string;
  const insertPolicy = (endpoint: string, uploadMode: "relay_stream" | "presigned" = "relay_stream") =>
    seedS3Policy(h, { endpoint, bucket: "failures", fields: { chunkSize: 5 * MiB, uploadMode } });
  const ctx = { waitUntil: () => {} };
  /** Sees each answer of the storage before the primary does (to run real work in between). */
  let between: ((method: string, url: string, response: Response) => Promise<Response>) | null = null;

  beforeAll(async () => {
    s3 = await startS3rver(["failures"]);
    h = await createHarness({
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        if (!between) return response;
        const request = input instanceof Request ? input : null;
        return between(init?.method ?? request?.method ?? "GET", request?.url ?? String(input), response);
      },
    });
    const policyId = await insertPolicy(s3.endpoint);
    bucket = createS3Driver({
      endpoint: s3.endpoint,
      region: "us-east-1",
      bucket: "failures",
      pathStyle: true,
      ...S3RVER_KEY,
    });
    const seeded = await seedUser(h);
    userId = seeded.user.id;
    await bindUserToPolicy(h.db, { id: userId }, policyId);
    c = uploadClient(
      (path, init) => h.app.fetch(new Request(`${ORIGIN}${path}`, init), h.env, ctx),
      seeded.token,
    );
  });
  afterAll(async () => {
    await h?.close();
    await s3?.stop();
  });

  const init = async (body: Record<string, unknown>) => c.ok<UploadOut>(await c.init(body), 201);
  const sessionRow = async (id: string) =>
    (await h.db.select().from(uploadSessions).where(eq(uploadSessions.id, id)))[0];
  const stored = async (key: string) => {
    const object = await bucket.get(key);
    return object ? new Uint8Array(await new Response(object.body).arrayBuffer()) : null;
  };
  const cron = (now: Date) =>
    createServices(parseEnv(h.env), ctx, "cron", {
      db: h.db,
      now: () => now,
      fetch: (input, init) => fetch(input, init),
      logSink: (record) => void h.logs.push(record),
    });
  /** A part body that sends its first `ahead` bytes (a KiB) in MiB pieces, then waits for release() to send the rest. */
  const gated = (part: Uint8Array, ahead = 1024) => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        for (let at = 0; at < ahead; at += MiB) controller.enqueue(part.slice(at, Math.min(ahead, at + MiB)));
        await gate;
        controller.enqueue(part.slice(ahead));
        controller.close();
      },
    });
    return { stream, release };
  };
  const untilUploading = async (sessionId: string) => {
    for (;;) {
      const [row] = await h.db.select().from(uploadParts).where(eq(uploadParts.sessionId, sessionId));
      if (row?.state === "uploading") return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  it("completes a retry with the same file after the record write failed once the object was composed", async () => {
    const data = bytes(5 * MiB + 1000, 21);
    const name = `record-${randomId()}.bin`;
    const upload = await init({ name, size: data.length, sha256: sha256(data) });
    expect(upload.part_count).toBe(2);
    for (let n = 1; n <= upload.part_count; n++)
      await c.ok(await c.putPart(upload.id, n, partOf(upload, data, n)));
    const trigger = `refuse_${randomId()}`;
    await h.db.run(
      sql.raw(
        `CREATE TRIGGER ${trigger} BEFORE INSERT ON files WHEN NEW.name = '${name}' BEGIN SELECT RAISE(ABORT, 'record refused'); END`,
      ),
    );
    try {
      expect(await c.fail(await c.complete(upload.id))).toMatchObject({ status: 500, code: "internal" });
    } finally {
      await h.db.run(sql.raw(`DROP TRIGGER ${trigger}`));
    }
    const session = (await sessionRow(upload.id))!;
    expect(session.state).toBe("open");
    expect(await h.db.select().from(files).where(eq(files.name, name))).toEqual([]);
    // The composed object is kept for the retry (expiry would remove it if none came).
    expect(sha256((await stored(session.storageKey))!)).toBe(sha256(data));

    const done = await c.ok<Completed>(await c.complete(upload.id));
    expect(done.file).toMatchObject({ id: session.fileId, sha256: sha256(data) });
    expect(await h.db.select().from(files).where(eq(files.name, name))).toHaveLength(1);
    expect(sha256((await stored(session.storageKey))!)).toBe(sha256(data));
  });

  it("leaves nothing on the storage when an upload is aborted while its single part is still streaming", async () => {
    const data = bytes(200 * 1024, 22);
    const upload = await init({ name: "abort-mid.bin", size: data.length });
    const session = (await sessionRow(upload.id))!;
    const { stream, release } = gated(data);
    const inFlight = c.putPart(upload.id, 1, stream, { "content-length": String(data.length) });
    await untilUploading(upload.id);
    expect((await c.abort(upload.id)).status).toBe(204);
    release();
    expect(await c.fail(await inFlight)).toMatchObject({ status: 409, code: "upload_closed" });
    expect(await bucket.head(session.storageKey)).toBeNull();
    expect((await sessionRow(upload.id))!.state).toBe("aborted");
  });

  it("leaves nothing on the storage when an upload expires while its single part is still streaming", async () => {
    const data = bytes(200 * 1024, 23);
    const upload = await init({ name: "expire-mid.bin", size: data.length });
    const session = (await sessionRow(upload.id))!;
    const { stream, release } = gated(data);
    const inFlight = c.putPart(upload.id, 1, stream, { "content-length": String(data.length) });
    await untilUploading(upload.id);
    await expireUploads(cron(new Date(session.expiresAt.getTime() + 60_000)));
    expect(await sessionRow(upload.id)).toBeUndefined();
    release();
    expect(await c.fail(await inFlight)).toMatchObject({ status: 409, code: "upload_closed" });
    expect(await bucket.head(session.storageKey)).toBeNull();
    const queued = await h.db
      .select()
      .from(pendingObjectDeletions)
      .where(eq(pendingObjectDeletions.storageKey, session.storageKey));
    expect(queued).toEqual([]);
  });

  it("lets a completion within its lease finish when the session expires meanwhile", async () => {
    const data = bytes(5 * MiB + 10, 24);
    const upload = await init({ name: "late-complete.bin", size: data.length, sha256: sha256(data) });
    for (let n = 1; n <= upload.part_count; n++)
      await c.ok(await c.putPart(upload.id, n, partOf(upload, data, n)));
    const session = (await sessionRow(upload.id))!;
    // A completion claimed the session a minute before the expiry run (as claimCompletion does).
    const expiry = new Date(session.expiresAt.getTime() + 60_000);
    await h.db
      .update(uploadSessions)
      .set({ state: "completing", updatedAt: new Date(expiry.getTime() - 60_000) })
      .where(eq(uploadSessions.id, upload.id));
    await expireUploads(cron(expiry));
    expect(await sessionRow(upload.id)).toMatchObject({ state: "completing", cleanupPending: false });
    // Its parts are still there: the completion, failing back to open (retryable), can be retried.
    await h.db
      .update(uploadSessions)
      .set({ state: "open" })
      .where(and(eq(uploadSessions.id, upload.id), eq(uploadSessions.state, "completing")));
    const done = await c.ok<Completed>(await c.complete(upload.id));
    expect(done.file.sha256).toBe(sha256(data));
    expect(sha256((await stored(session.storageKey))!)).toBe(sha256(data));
  });

  it("writes no file record when the session expired under a completion that outlived its lease", async () => {
    const data = bytes(5 * MiB + 20, 25);
    const upload = await init({ name: "outlived.bin", size: data.length });
    for (let n = 1; n <= upload.part_count; n++)
      await c.ok(await c.putPart(upload.id, n, partOf(upload, data, n)));
    const session = (await sessionRow(upload.id))!;
    const expiry = new Date(session.expiresAt.getTime() + 60_000);
    // The completion composed the object and reads it back for its digest; the expiry runs then.
    between = async (method, url, response) => {
      if (method !== "GET" || !url.includes(session.storageKey)) return response;
      between = null;
      const body = await response.arrayBuffer();
      await expireUploads(cron(expiry));
      return new Response(body, { status: response.status, headers: response.headers });
    };
    try {
      expect(await c.fail(await c.complete(upload.id))).toMatchObject({ status: 409, code: "upload_closed" });
    } finally {
      between = null;
    }
    expect(await h.db.select().from(files).where(eq(files.id, session.fileId!))).toEqual([]);
    // The composed object belongs to the cleanup: gone, or still owed (s3rver cannot abort a
    // multipart upload, so here the cleanup stays owed and the scheduled task keeps trying).
    const after = (await sessionRow(upload.id))!;
    expect(after.state).toBe("aborted");
    expect(after.cleanupPending || (await bucket.head(session.storageKey)) === null).toBe(true);
  });

  it("keeps cleaning other sessions while more than a batch of cleanups fail run after run", async () => {
    // A store that refuses connections: the port of a server that was closed.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const deadPolicy = await insertPolicy(`http://127.0.0.1:${port}`);
    const livePolicy = (await sessionRow((await init({ name: "probe.bin", size: 1 })).id))!.policyId;
    const owed = (policyId: string, updatedAt: Date) => ({
      id: randomId(),
      userId,
      spaceKind: "user" as const,
      spaceId: userId,
      name: "owed.bin",
      size: 10,
      contentType: "application/octet-stream",
      policyId,
      mode: "relay_stream" as const,
      chunkSize: 10,
      partCount: 1,
      storageKey: `files/${randomId()}`,
      state: "aborted" as const,
      cleanupPending: true,
      expiresAt: new Date(Date.now() + 3600_000),
      createdAt: updatedAt,
      updatedAt,
    });
    const start = Date.now() - 3600_000;
    const dead = Array.from({ length: 120 }, (_, i) => owed(deadPolicy, new Date(start + i)));
    await h.db.insert(uploadSessions).values(dead);
    const live = owed(livePolicy, new Date(start + 1000));
    await h.db.insert(uploadSessions).values(live);
    await bucket.put(live.storageKey, new Response(bytes(10, 26)).body!, { size: 10 });

    for (let run = 1; run <= 3; run++) await expireUploads(cron(new Date(Date.now() + run * 60_000)));
    expect(await bucket.head(live.storageKey)).toBeNull();
    expect(await sessionRow(live.id)).toMatchObject({ cleanupPending: false });
    const stillOwed = await h.db
      .select({ id: uploadSessions.id })
      .from(uploadSessions)
      .where(and(eq(uploadSessions.policyId, deadPolicy), eq(uploadSessions.cleanupPending, true)));
    expect(stillOwed).toHaveLength(dead.length);
    await h.db.delete(uploadSessions).where(eq(uploadSessions.policyId, deadPolicy));
  });

  /** A trigger in the real database that refuses `when` (SQL over NEW) on `event` of `table`. */
  const refusing = async (event: string, when: string, run: () => Promise<void>) => {
    const trigger = `refuse_${randomId()}`;
    await h.db.run(
      sql.raw(
        `CREATE TRIGGER ${trigger} BEFORE ${event} WHEN ${when} BEGIN SELECT RAISE(ABORT, 'refused'); END`,
      ),
    );
    try {
      await run();
    } finally {
      await h.db.run(sql.raw(`DROP TRIGGER ${trigger}`));
    }
  };

  /** Completes the upload while the database refuses to mark it completed: a 500. */
  const completeRefusingClose = (uploadId: string) =>
    refusing(
      "UPDATE OF state ON upload_sessions",
      `NEW.id = '${uploadId}' AND NEW.state = 'completed'`,
      async () => {
        expect(await c.fail(await c.complete(uploadId))).toMatchObject({ status: 500, code: "internal" });
      },
    );

  it("keeps the session retryable when the record write fails in the root after the folder was trashed", async () => {
    const folder = await c.ok<{ id: string }>(
      await c.json("POST", "/api/v1/spaces/me/folders", { name: `gone-${randomId()}` }),
      201,
    );
    const data = bytes(4000, 27);
    const name = `homeless-${randomId()}.bin`;
    const upload = await init({ name, size: data.length, folder_id: folder.id });
    await c.ok(await c.putPart(upload.id, 1, data));
    expect((await c.json("DELETE", `/api/v1/spaces/me/folders/${folder.id}`)).status).toBe(204);
    await refusing("INSERT ON files", `NEW.name = '${name}'`, async () => {
      expect(await c.fail(await c.complete(upload.id))).toMatchObject({ status: 500, code: "internal" });
    });
    expect((await sessionRow(upload.id))!.state).toBe("open");
    const done = await c.ok<Completed & { file: { folder_id: string | null } }>(await c.complete(upload.id));
    expect(done.file).toMatchObject({ folder_id: null, sha256: sha256(data) });
  });

  it("writes the file and closes its session together: a refused close leaves no file, and a retry completes", async () => {
    const data = bytes(5000, 30);
    const upload = await init({ name: `together-${randomId()}.bin`, size: data.length });
    await c.ok(await c.putPart(upload.id, 1, data));
    const session = (await sessionRow(upload.id))!;
    await completeRefusingClose(upload.id);
    expect(await h.db.select().from(files).where(eq(files.id, session.fileId!))).toHaveLength(0);
    expect((await sessionRow(upload.id))!.state).toBe("open");
    const done = await c.ok<Completed>(await c.complete(upload.id));
    expect(done.file).toMatchObject({ id: session.fileId, sha256: sha256(data) });
  });

  it("never deletes the object of a file whose completion could not close its session", async () => {
    // The name is taken, so the completion records the file (renamed) and closes the session in two
    // steps; the close is refused after the record was written.
    const data = bytes(5000, 28);
    const name = `unclosed-${randomId()}.bin`;
    const first = await init({ name, size: 3 });
    await c.ok(await c.putPart(first.id, 1, new Uint8Array([1, 2, 3])));
    await c.ok(await c.complete(first.id));
    const upload = await init({ name, size: data.length });
    await c.ok(await c.putPart(upload.id, 1, data));
    const session = (await sessionRow(upload.id))!;
    await completeRefusingClose(upload.id);
    // The record exists, the session is stuck in completing; nobody retries, the session expires.
    expect(await h.db.select().from(files).where(eq(files.id, session.fileId!))).toHaveLength(1);
    await expireUploads(cron(new Date(session.expiresAt.getTime() + 60_000)));
    expect(sha256((await stored(session.storageKey))!)).toBe(sha256(data));
    expect(await h.db.select().from(files).where(eq(files.id, session.fileId!))).toHaveLength(1);
    expect(await sessionRow(upload.id)).toBeUndefined();
  });

  const presignedBrowser = async () => {
    const policyId = await insertPolicy(s3.endpoint, "presigned");
    const seeded = await seedUser(h);
    await bindUserToPolicy(h.db, seeded.user, policyId);
    return uploadClient(
      (path, init) => h.app.fetch(new Request(`${ORIGIN}${path}`, init), h.env, ctx),
      seeded.token,
    );
  };

  it("lets a presigned URL handed out before an abort write nothing after it: it addressed the aborted upload", async () => {
    const browser = await presignedBrowser();
    const data = bytes(3000, 29);
    const upload = await browser.ok<UploadOut>(
      await browser.init({ name: "late-put.bin", size: data.length }),
      201,
    );
    expect(upload).toMatchObject({ mode: "presigned", part_count: 1 });
    const { urls } = await browser.ok<{ urls: { url: string; headers: Record<string, string> }[] }>(
      await browser.presign(upload.id, [1]),
    );
    const session = (await sessionRow(upload.id))!;
    expect(session.multipartId).not.toBeNull();
    expect((await browser.abort(upload.id)).status).toBe(204);
    // Another tab still holds the URL; its PUT after the abort leaves nothing at the file's key.
    await fetch(urls[0]!.url, { method: "PUT", headers: urls[0]!.headers, body: data }).then((r) =>
      r.arrayBuffer(),
    );
    expect(await bucket.head(session.storageKey)).toBeNull();
    expect((await sessionRow(upload.id))!.state).toBe("aborted");
  });

  it("deletes again what a whole-object URL of an older single-PUT session writes after its abort, and hands such sessions no new URL", async () => {
    const browser = await presignedBrowser();
    const data = bytes(3000, 29);
    const upload = await browser.ok<UploadOut>(
      await browser.init({ name: "late-put.bin", size: data.length }),
      201,
    );
    // A session as an earlier version opened it: no multipart upload, a URL for the key itself.
    await h.db.update(uploadSessions).set({ multipartId: null }).where(eq(uploadSessions.id, upload.id));
    const session = (await sessionRow(upload.id))!;
    const url = await bucket.presign!({
      method: "PUT",
      key: session.storageKey,
      expiresIn: PRESIGN_TTL_SECONDS,
      size: data.length,
      contentType: session.contentType,
    });
    expect(await browser.fail(await browser.presign(upload.id, [1]))).toMatchObject({
      code: "upload_expired",
    });
    expect((await browser.abort(upload.id)).status).toBe(204);
    // Another tab still holds the URL and its PUT lands after the abort's cleanup.
    const put = await fetch(url.url, { method: "PUT", headers: url.headers, body: data });
    expect(put.status).toBe(200);
    expect(await bucket.head(session.storageKey)).not.toBeNull();
    await expireUploads(cron(new Date(Date.now() + 60_000)));
    expect(await bucket.head(session.storageKey)).toBeNull();
    expect(await sessionRow(upload.id)).toMatchObject({ state: "aborted", cleanupPending: true });
    // Once every URL has expired the cleanup is done.
    await expireUploads(cron(new Date(Date.now() + 16 * 60_000)));
    expect(await sessionRow(upload.id)).toMatchObject({ state: "aborted", cleanupPending: false });
  });

  it("keeps the session open when the store refuses the completion for its credentials, until they are fixed", async () => {
    const data = bytes(5 * MiB + 30, 30);
    const upload = await init({ name: "rotated.bin", size: data.length, sha256: sha256(data) });
    for (let n = 1; n <= upload.part_count; n++)
      await c.ok(await c.putPart(upload.id, n, partOf(upload, data, n)));
    const { policyId } = (await sessionRow(upload.id))!;
    const [policy] = await h.db.select().from(storagePolicies).where(eq(storagePolicies.id, policyId));
    const wrongKey = await encryptSecret(
      TEST_SECRET,
      "WRONGKEY",
      policyCredentialContext(policyId, "access_key"),
    );
    await h.db
      .update(storagePolicies)
      .set({ s3AccessKeyEnc: wrongKey })
      .where(eq(storagePolicies.id, policyId));
    try {
      expect(await c.fail(await c.complete(upload.id))).toMatchObject({
        code: "storage_rejected",
        details: { s3_code: "InvalidAccessKeyId" },
      });
    } finally {
      await h.db
        .update(storagePolicies)
        .set({ s3AccessKeyEnc: policy!.s3AccessKeyEnc })
        .where(eq(storagePolicies.id, policyId));
    }
    expect((await sessionRow(upload.id))!.state).toBe("open");
    const done = await c.ok<Completed>(await c.complete(upload.id));
    expect(done.file.sha256).toBe(sha256(data));
  });

  it("releases a relay part when the S3 store goes away or the client disconnects mid-part, and resumes", async () => {
    // The store is reached through a TCP proxy that can be cut, as a network failure would.
    const sockets = new Set<Socket>();
    const target = new URL(s3.endpoint);
    const proxy = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on("error", () => {});
        socket.on("close", () => sockets.delete(socket));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const { policyId } = (await sessionRow((await init({ name: "probe2.bin", size: 1 })).id))!;
    const proxied = await insertPolicy(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`);
    await h.db
      .update(policyGroupRules)
      .set({ policyId: proxied })
      .where(eq(policyGroupRules.policyId, policyId));
    try {
      const data = bytes(3 * MiB, 31);
      const upload = await init({ name: "cut.bin", size: data.length, sha256: sha256(data) });
      expect((await sessionRow(upload.id))!.policyId).toBe(proxied);
      // The store's request opens once checked bytes are there: the meter's first MiB, released when
      // the next arrives.
      const cut = gated(data, 2 * MiB + 1024);
      const first = c.putPart(upload.id, 1, cut.stream, { "content-length": String(data.length) });
      await untilUploading(upload.id);
      while (sockets.size === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      for (const socket of sockets) socket.destroy();
      cut.release();
      expect(await c.fail(await first)).toMatchObject({ status: 502, code: "storage_unavailable" });
      expect(await h.db.select().from(uploadParts).where(eq(uploadParts.sessionId, upload.id))).toEqual([]);

      // The client goes away mid-part: its body ends in an error.
      const gone = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(data.slice(0, 1024));
          setTimeout(() => controller.error(new Error("client gone")), 50);
        },
      });
      expect((await c.putPart(upload.id, 1, gone, { "content-length": String(data.length) })).ok).toBe(false);
      expect(await h.db.select().from(uploadParts).where(eq(uploadParts.sessionId, upload.id))).toEqual([]);
      // Never the complete body: s3rver keeps what arrived of the PUT cut above (S3 keeps nothing).
      expect((await stored((await sessionRow(upload.id))!.storageKey))?.length ?? 0).toBeLessThan(
        data.length,
      );

      await c.ok(await c.putPart(upload.id, 1, data));
      const done = await c.ok<Completed>(await c.complete(upload.id));
      expect(done.file.sha256).toBe(sha256(data));
    } finally {
      await h.db.update(policyGroupRules).set({ policyId }).where(eq(policyGroupRules.policyId, proxied));
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});
