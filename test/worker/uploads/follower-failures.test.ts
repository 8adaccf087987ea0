// Failure paths of relay uploads to a REAL follower agent process, the primary served over real HTTP:
// a client that disconnects mid-part, a file record that cannot be written after the follower
// composed the object, an abort while the follower is down. Faults are real: an aborted fetch, a
// trigger in the real database, a killed agent process.
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { randomId } from "../../../shared/crypto.ts";
import { ingressTargetSchema } from "../../../worker/api/ingress-targets.ts";
import { enrollmentTokenSchema, nodeSchema } from "../../../worker/api/nodes.ts";
import { policySchema } from "../../../worker/api/policies.ts";
import type { UploadOut } from "../../../worker/api/uploads.ts";
import { files, uploadParts, uploadSessions } from "../../../worker/db/schema.ts";
import { expireUploads } from "../../../worker/uploads/expiry.ts";
import { type AgentProcess, startAgentProcess } from "../../support/agents.ts";
import { bytes, sha256 } from "../../support/bytes.ts";
import { bindUserToPolicy } from "../../support/groups.ts";
import { type Primary, startPrimary } from "../../support/http-primary.ts";
import { partOf, type UploadClient, uploadClient } from "../../support/upload-client.ts";

const MiB = 1024 * 1024;
type Completed = { upload: UploadOut; file: { id: string; sha256: string } };

describe("upload failure paths on a real follower", () => {
  let primary: Primary;
  let agent: AgentProcess;
  let c: UploadClient;

  beforeAll(async () => {
    primary = await startPrimary();
    const node = await primary.ok(nodeSchema, "POST", "/api/v1/admin/nodes", { name: "Follower F" });
    const path = `/api/v1/admin/nodes/${node.id}`;
    const { token } = await primary.ok(enrollmentTokenSchema, "POST", `${path}/enrollment-token`, {});
    agent = await startAgentProcess({ primaryUrl: primary.origin, token, advertise: true });
    await primary.ok(z.unknown(), "PATCH", path, { base_url: agent.baseUrl }, 200);
    await primary.ok(z.unknown(), "POST", `${path}/test`, undefined, 200);
    const target = await primary.ok(ingressTargetSchema, "POST", `${path}/ingress-targets`, {
      name: "default-local",
      driver: "local",
      base_path: "default",
    });
    expect(target.state).toBe("applied");
    const policy = await primary.ok(policySchema, "POST", "/api/v1/admin/policies", {
      name: "Remote relay",
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
  });

  const init = async (body: Record<string, unknown>) => c.ok<UploadOut>(await c.init(body), 201);
  const sessionRow = async (id: string) =>
    (await primary.db.select().from(uploadSessions).where(eq(uploadSessions.id, id)))[0];
  const onFollower = async (fileId: string) => {
    const path = join(agent.ingressRoot, "default", "files", fileId);
    return existsSync(path) ? new Uint8Array(await readFile(path)) : null;
  };
  const multipartDirs = async () => readdir(join(agent.dataDir, "multipart")).catch(() => [] as string[]);
  const partRow = async (id: string, n: number) =>
    (
      await primary.db
        .select()
        .from(uploadParts)
        .where(and(eq(uploadParts.sessionId, id), eq(uploadParts.partNumber, n)))
    )[0];
  const until = async (check: () => Promise<boolean>) => {
    while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 10));
  };

  it("releases the part of a client that disconnects mid-part, so it can be sent again and completed", async () => {
    const data = bytes(3 * MiB, 31);
    const upload = await init({ name: "dropped.bin", size: data.length, sha256: sha256(data) });
    const part = partOf(upload, data, 2);
    const disconnect = new AbortController();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(part.slice(0, 64 * 1024));
      },
    });
    const inFlight = fetch(`${primary.origin}/api/v1/uploads/${upload.id}/parts/2`, {
      method: "PUT",
      headers: {
        authorization: `Bearer ${primary.userToken}`,
        "content-type": "application/octet-stream",
        "content-length": String(part.length),
      },
      body,
      duplex: "half",
      signal: disconnect.signal,
    } as RequestInit).catch((error: unknown) => error);
    await until(async () => (await partRow(upload.id, 2))?.state === "uploading");
    disconnect.abort();
    await inFlight;
    // The claim is given back (not held for its 30-minute lease) and nothing landed.
    await until(async () => (await partRow(upload.id, 2)) === undefined);
    expect((await c.ok<UploadOut>(await c.get(upload.id))).missing_parts).toEqual([1, 2, 3]);
    for (let n = 1; n <= upload.part_count; n++)
      await c.ok(await c.putPart(upload.id, n, partOf(upload, data, n)));
    const done = await c.ok<Completed>(await c.complete(upload.id));
    expect(sha256((await onFollower(done.file.id))!)).toBe(sha256(data));
  });

  it("answers a completion retried after the record write failed with the same file, composed once", async () => {
    const data = bytes(2 * MiB + 7, 32);
    const name = `record-${randomId()}.bin`;
    const upload = await init({ name, size: data.length, sha256: sha256(data) });
    for (let n = 1; n <= upload.part_count; n++)
      await c.ok(await c.putPart(upload.id, n, partOf(upload, data, n)));
    const session = (await sessionRow(upload.id))!;
    const trigger = `refuse_${randomId()}`;
    await primary.db.run(
      sql.raw(
        `CREATE TRIGGER ${trigger} BEFORE INSERT ON files WHEN NEW.name = '${name}' BEGIN SELECT RAISE(ABORT, 'record refused'); END`,
      ),
    );
    try {
      expect(await c.fail(await c.complete(upload.id))).toMatchObject({ status: 500, code: "internal" });
    } finally {
      await primary.db.run(sql.raw(`DROP TRIGGER ${trigger}`));
    }
    expect((await sessionRow(upload.id))!.state).toBe("open");
    // Composed on the follower (its multipart session is gone), not recorded yet.
    expect(await multipartDirs()).not.toContain(session.multipartId);
    expect(sha256((await onFollower(session.fileId!))!)).toBe(sha256(data));
    expect(await primary.db.select().from(files).where(eq(files.name, name))).toEqual([]);

    const done = await c.ok<Completed>(await c.complete(upload.id));
    expect(done.file).toMatchObject({ id: session.fileId, sha256: sha256(data) });
    expect(await primary.db.select().from(files).where(eq(files.name, name))).toHaveLength(1);
  });

  it("owes the cleanup of an upload aborted while the follower is down and does it once it is back", async () => {
    const data = bytes(2 * MiB, 33);
    const upload = await init({ name: "abort-down.bin", size: data.length });
    await c.ok(await c.putPart(upload.id, 1, partOf(upload, data, 1)));
    const { multipartId } = (await sessionRow(upload.id))!;
    expect(await multipartDirs()).toContain(multipartId);
    await agent.kill();
    try {
      expect((await c.abort(upload.id)).status).toBe(204);
      expect(await sessionRow(upload.id)).toMatchObject({ state: "aborted", cleanupPending: true });
      await expireUploads(primary.services());
      expect(await sessionRow(upload.id)).toMatchObject({ cleanupPending: true });
    } finally {
      await agent.restart();
    }
    expect(await multipartDirs()).toContain(multipartId);
    await expireUploads(primary.services());
    expect(await multipartDirs()).not.toContain(multipartId);
    expect(await sessionRow(upload.id)).toMatchObject({ state: "aborted", cleanupPending: false });
  });
});
