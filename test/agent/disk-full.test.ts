// Disk full, for real: the managed ingress root is a 1 MiB tmpfs mounted for this test (the suite runs as
// root). A 2 MiB upload must fail with 507 storage_full and leave no temp file; small uploads still work.
import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../shared/errors.ts";
import { bytes, inProcessAgent, streamOf, tempDir } from "./helpers.ts";

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
});
