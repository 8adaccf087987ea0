// Housekeeping at start: temp files of uploads cut off by a stop, and multipart sessions past their
// lifetime, are removed when the agent starts again; fresh sessions and committed objects stay.
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAgent } from "../../agent/agent.ts";
import { bytes, inProcessAgent, quietLog } from "./helpers.ts";

describe("housekeeping at start", () => {
  let h: Awaited<ReturnType<typeof inProcessAgent>>;

  beforeAll(async () => {
    h = await inProcessAgent();
    await h.client.upsertIngressTarget("t", {
      driver: "local",
      name: "t",
      revision: 1,
      is_default: true,
      base_path: "t",
    });
  });
  afterAll(() => h.cleanup());

  it("removes leftover temp files and expired multipart sessions, keeping the rest", async () => {
    await h.client.putObject("kept", bytes(5), { size: 5 });
    const tmp = join(h.root, "t", ".flotilla", "tmp");
    await writeFile(join(tmp, "leftover"), "partial");
    const old = await h.client.createMultipart({ key: "old" });
    await h.client.putPart(old.upload_id, 1, bytes(10), { size: 10 });
    const fresh = await h.client.createMultipart({ key: "fresh" });
    const sessionFile = join(h.dataDir, "multipart", old.upload_id, "session.json");
    const record = JSON.parse(await readFile(sessionFile, "utf8")) as { created_at: string };
    record.created_at = new Date(Date.now() - 8 * 24 * 3600 * 1000).toISOString();
    await writeFile(sessionFile, JSON.stringify(record));

    await createAgent(h.agent.services.config, { log: quietLog });

    expect(await readdir(tmp)).toEqual([]);
    expect((await readdir(join(h.dataDir, "multipart"))).sort()).toEqual([fresh.upload_id]);
    expect(await readdir(join(h.root, "t", ".flotilla", "multipart", old.upload_id))).toEqual([]);
    expect(await h.client.headObject("kept")).not.toBeNull();
  });
});
