// Housekeeping at start: temp files of uploads cut off by a stop (data, metadata, multipart records),
// multipart sessions past their lifetime, parts left that long without a session and the metadata
// earlier versions kept for parts are removed when the agent starts again; fresh sessions and
// committed objects stay.
import { mkdir, readdir, readFile, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAgent } from "../../agent/agent.ts";
import { bytes } from "../support/bytes.ts";
import { inProcessAgent, quietLog } from "./helpers.ts";

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
    await h.client.putPart(old.upload_id, 2, bytes(10), { size: 10 });
    const fresh = await h.client.createMultipart({ key: "fresh" });
    const sessionFile = join(h.dataDir, "multipart", old.upload_id, "session.json");
    const record = JSON.parse(await readFile(sessionFile, "utf8")) as { created_at: string };
    record.created_at = new Date(Date.now() - 8 * 24 * 3600 * 1000).toISOString();
    await writeFile(sessionFile, JSON.stringify(record));

    await createAgent(h.agent.services.config, { log: quietLog });

    expect(await readdir(tmp)).toEqual([]);
    expect((await readdir(join(h.dataDir, "multipart"))).sort()).toEqual([fresh.upload_id]);
    // The expired session's parts went with their directory.
    expect(await readdir(join(h.root, "t", ".flotilla", "multipart"))).toEqual([]);
    expect(await h.client.headObject("kept")).not.toBeNull();
  });

  it("removes temp files of records, metadata of parts from earlier versions, and parts long without a session", async () => {
    const live = await h.client.createMultipart({ key: "live", part_size: 10 });
    await h.client.putPart(live.upload_id, 1, bytes(10), { size: 10 });
    const records = join(h.dataDir, "multipart", live.upload_id);
    await writeFile(join(records, "parts", "2.json.0123456789ab.tmp"), "");
    await writeFile(join(records, "session.json.0123456789ab.tmp"), "");
    const flotilla = join(h.root, "t", ".flotilla");
    const legacyMeta = join(flotilla, "meta", ".flotilla", "multipart", live.upload_id);
    await mkdir(legacyMeta, { recursive: true });
    await writeFile(join(legacyMeta, "1.json.0123456789ab.tmp"), "");
    const orphan = (n: number) => join(flotilla, "multipart", `mp_${String(n).repeat(32)}`);
    for (const n of [1, 2]) {
      await mkdir(orphan(n), { recursive: true });
      await writeFile(join(orphan(n), "object"), "left behind");
    }
    const longAgo = new Date(Date.now() - 8 * 24 * 3600 * 1000);
    await utimes(orphan(1), longAgo, longAgo);

    await createAgent(h.agent.services.config, { log: quietLog });

    expect((await readdir(records)).sort()).toEqual(["parts", "session.json"]);
    expect(await readdir(join(records, "parts"))).toEqual(["1.json"]);
    expect(await readdir(join(flotilla, "meta"))).not.toContain(".flotilla");
    // Parts without a session record stay until they are as old as a session gets (another agent
    // may share the directory).
    expect((await readdir(join(flotilla, "multipart"))).sort()).toEqual(
      [live.upload_id, `mp_${"2".repeat(32)}`].sort(),
    );
    expect((await h.client.listParts(live.upload_id)).map((p) => p.part_number)).toEqual([1]);
  });
});
