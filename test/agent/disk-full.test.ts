// Disk full, for real: the managed ingress root is a 1 MiB tmpfs mounted for this test (the suite runs as
// root). A 2 MiB upload must fail with 507 storage_full and leave no temp file; small uploads still work.
// When the data fits but its metadata does not, the metadata's temp file goes too, and a multipart
// completion that meets a full disk stays open and completes once there is room.
import { execFile } from "node:child_process";
import { readdir, statfs } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../shared/errors.ts";
import { bytes, streamOf } from "../support/bytes.ts";
import { inProcessAgent, tempDir } from "./helpers.ts";

/** Every file (not directory) below `dir`, relative to it. */
async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => !e.isDirectory()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

const run = promisify(execFile);

describe("a full disk", () => {
  let mount: Awaited<ReturnType<typeof tempDir>>;
  let h: Awaited<ReturnType<typeof inProcessAgent>>;

  beforeAll(async () => {
    mount = await tempDir("tmpfs");
    await run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mount.path]);
    h = await inProcessAgent({ managedIngressLocalRoot: mount.path });
    const info = await h.client.upsertIngressTarget("small", {
      driver: "local",
      name: "small",
      revision: 1,
      is_default: true,
      base_path: "default",
    });
    expect(info.total_bytes).toBeLessThanOrEqual(1024 * 1024);
  });
  afterAll(async () => {
    await h?.cleanup();
    await run("umount", [mount.path]).catch(() => undefined);
    await mount.remove();
  });

  it("answers 507 storage_full, commits nothing and cleans its temp file", async () => {
    const data = bytes(2 * 1024 * 1024, 1);
    const failure = await h.client.putObject("files/huge", streamOf(data), { size: data.byteLength }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(AppError);
    expect(failure).toMatchObject({ code: "storage_full", status: 507 });
    expect(await h.client.headObject("files/huge")).toBeNull();
    expect(await readdir(join(mount.path, "default", ".flotilla", "tmp"))).toEqual([]);
    const small = await h.client.putObject("files/small", bytes(1000), { size: 1000 });
    expect(small.size).toBe(1000);
  });

  it("removes the metadata's temp file when the data fits and its metadata does not", async () => {
    const target = join(mount.path, "default");
    const metaBefore = await filesBelow(join(target, ".flotilla", "meta"));
    const disk = await statfs(mount.path);
    const free = disk.bavail * disk.bsize;
    const data = bytes(free, 2);
    const failure = await h.client.putObject("files/exact", streamOf(data), { size: free }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ code: "storage_full", status: 507 });
    expect(await h.client.headObject("files/exact")).toBeNull();
    expect(await readdir(join(target, ".flotilla", "tmp"))).toEqual([]);
    expect(await filesBelow(join(target, ".flotilla", "meta"))).toEqual(metaBefore);
  });

  it("keeps a multipart upload whose completion met a full disk open, and completes it once there is room", async () => {
    const target = join(mount.path, "default");
    const disk = await statfs(mount.path);
    const free = disk.bavail * disk.bsize;
    const part = bytes(free, 3);
    const session = await h.client.createMultipart({ key: "files/mp-full", part_size: free });
    // The part fills the disk to the last byte: parts keep no metadata of their own on the target.
    expect((await h.client.putPart(session.upload_id, 1, streamOf(part), { size: free })).size).toBe(free);
    const list = { parts: [{ part_number: 1 }] };
    const failure = await h.client.completeMultipart(session.upload_id, list).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ code: "storage_full", status: 507 });
    expect(await h.client.headObject("files/mp-full")).toBeNull();
    expect(await readdir(join(target, ".flotilla", "tmp"))).toEqual([]);
    expect((await h.client.listParts(session.upload_id)).map((p) => p.part_number)).toEqual([1]);
    await h.client.deleteObject("files/small");
    const done = await h.client.completeMultipart(session.upload_id, list);
    expect(done.size).toBe(free);
  });
});
