// Storage failure paths that must end instead of hanging: an S3 store that accepts connections but never
// answers (the driver gives up after its answer timeout), and purged objects queued on a store that
// drops every connection (one attempt per pass, not one per object; all stay queued until it is back).
// Faults are real TCP servers; the data comes back through a real s3rver.

import type { AddressInfo } from "node:net";
import { createServer, type Server, type Socket } from "node:net";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomId } from "../../../shared/crypto.ts";
import { pendingObjectDeletions, storagePolicies } from "../../../worker/db/schema.ts";
import { parseEnv } from "../../../worker/env.ts";
import { deletePendingObjects } from "../../../worker/files/purge.ts";
import { createServices } from "../../../worker/services.ts";
import { createS3Driver } from "../../../worker/storage/s3.ts";
import { createHarness, type Harness, realFetch, seedS3Policy } from "../../support/primary.ts";
import { S3RVER_KEY, startS3rver } from "../../support/s3rver.ts";

/** A TCP server that does `onSocket` with every connection; counts them. */
async function tcpServer(onSocket: (socket: Socket) => void) {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe("storage failures that must not hang or leak", () => {
  let h: Harness;
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  const servers: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    s3 = await startS3rver(["purge"]);
    h = await createHarness({ fetch: realFetch });
  });
  afterAll(async () => {
    for (const server of servers) await server.close();
    await h?.close();
    await s3?.stop();
  });

  const s3Config = (endpoint: string) => ({
    endpoint,
    region: "us-east-1",
    bucket: "purge",
    pathStyle: true,
    ...S3RVER_KEY,
  });

  it("gives up on an S3 store that accepts connections but never answers", async () => {
    const silent = await tcpServer(() => {});
    servers.push(silent);
    const driver = createS3Driver(s3Config(silent.endpoint), { timeoutMs: 200 });
    for (const call of [
      () => driver.delete("files/a"),
      () => driver.head("files/a"),
      () => driver.get("files/a"),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: "storage_unavailable" });
    }
    expect(silent.connections()).toBeGreaterThan(0);
  });

  it("tries a store that drops connections once per pass and keeps every queued object for later", async () => {
    const dropping = await tcpServer((socket) => socket.destroy());
    servers.push(dropping);
    const policyId = await seedS3Policy(h, { endpoint: dropping.endpoint, bucket: "purge" });
    const bucket = createS3Driver(s3Config(s3.endpoint));
    const keys = Array.from({ length: 5 }, () => `files/${randomId()}`);
    for (const key of keys) await bucket.put(key, new Response("purged").body!, { size: 6 });
    const start = new Date();
    await h.db
      .insert(pendingObjectDeletions)
      .values(keys.map((storageKey) => ({ id: randomId(), policyId, storageKey, nextAttemptAt: start })));
    const at = (now: Date) =>
      createServices(parseEnv(h.env), { waitUntil: () => {} }, "cron", {
        db: h.db,
        now: () => now,
        fetch: (input, init) => fetch(input, init),
        logSink: (record) => void h.logs.push(record),
      });

    expect(await deletePendingObjects(at(start))).toEqual({ deleted: 0, failed: 5 });
    expect(dropping.connections()).toBe(1);
    const queued = await h.db
      .select()
      .from(pendingObjectDeletions)
      .where(eq(pendingObjectDeletions.policyId, policyId));
    expect(queued).toHaveLength(5);
    for (const row of queued) {
      expect(row).toMatchObject({ attempts: 1, lastError: "storage_unavailable" });
      expect(row.nextAttemptAt.getTime()).toBe(start.getTime() + 60_000);
    }

    // The store is back (its endpoint moved to a live server): the next due pass deletes everything.
    await h.db
      .update(storagePolicies)
      .set({ s3Endpoint: s3.endpoint })
      .where(eq(storagePolicies.id, policyId));
    expect(await deletePendingObjects(at(new Date(start.getTime() + 60_000)))).toEqual({
      deleted: 5,
      failed: 0,
    });
    for (const key of keys) expect(await bucket.head(key)).toBeNull();
  });
});
