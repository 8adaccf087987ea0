// The trash through the API on the primary store: delete a file or a folder with its subtree,
// restore into the original folder or the root, renaming on a clash, purge deleting the object,
// empty trash, and expiry by the scheduled task with a configurable retention.
import type { R2Bucket } from "@cloudflare/workers-types";
import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { files, pendingObjectDeletions } from "../../../worker/db/schema.ts";
import { fileTasks } from "../../../worker/files/scheduled.ts";
import { purgeRecords } from "../../../worker/files/trash.ts";
import { errorCode } from "../../support/envelopes.ts";
import { createHarness, type Harness, seedUser } from "../../support/primary.ts";
import { json, seedFile, seedTeam, servicesOf } from "./helpers.ts";

type Item = { type: string; id: string; name: string; parent_id?: string | null; folder_id?: string | null };

describe("trash", () => {
  let h: Harness;
  let alice: { user: { id: string }; token: string };
  const space = () => ({ kind: "user" as const, id: alice.user.id });
  const bucket = () => h.env.FILES as R2Bucket;

  beforeAll(async () => {
    h = await createHarness();
    alice = await seedUser(h);
  });
  afterAll(async () => {
    await h.close();
  });

  const call = (method: string, path: string, body?: unknown) =>
    h.call(method, `/api/v1/spaces/me${path}`, { token: alice.token, body });
  const mkdir = async (name: string, parent_id: string | null = null) =>
    json<Item>(await call("POST", "/folders", { name, parent_id }), 201);
  const names = async (folderId?: string) =>
    (
      await json<{ items: Item[] }>(
        await call("GET", `/items${folderId ? `?folder_id=${folderId}` : ""}`),
        200,
      )
    ).items.map((i) => i.name);

  it("moves a folder with its subtree to the trash and restores exactly that", async () => {
    const top = await mkdir("Album");
    const inner = await mkdir("Inner", top.id);
    const photo = await seedFile(h, {
      space: space(),
      userId: alice.user.id,
      name: "p.png",
      folderId: inner.id,
    });
    const loose = await seedFile(h, {
      space: space(),
      userId: alice.user.id,
      name: "loose.txt",
      folderId: top.id,
    });
    // Deleted on its own before the folder: stays in the trash when the folder comes back.
    expect((await call("DELETE", `/files/${loose.id}`)).status).toBe(204);
    expect((await call("DELETE", `/folders/${top.id}`)).status).toBe(204);

    expect((await call("GET", `/files/${photo.id}`)).status).toBe(404);
    expect((await call("GET", `/items?folder_id=${inner.id}`)).status).toBe(404);
    expect(await names()).not.toContain("Album");
    const trash = await json<{ items: Item[] }>(await call("GET", "/trash"), 200);
    expect(trash.items.map((i) => i.name)).toEqual(expect.arrayContaining(["Album", "loose.txt"]));
    expect(trash.items.map((i) => i.name)).not.toContain("p.png");

    const restored = await json<Item>(await call("POST", `/trash/folders/${top.id}/restore`), 200);
    expect(restored.parent_id).toBeNull();
    expect(await names(inner.id)).toEqual(["p.png"]);
    expect(await names(top.id)).toEqual(["Inner"]);
    // The file deleted on its own comes back into its (live again) folder.
    const back = await json<Item>(await call("POST", `/trash/files/${loose.id}/restore`), 200);
    expect(back.folder_id).toBe(top.id);
  });

  it("restores into the root when the original folder is gone, and renames on a clash", async () => {
    const folder = await mkdir("Gone");
    const file = await seedFile(h, {
      space: space(),
      userId: alice.user.id,
      name: "clash.txt",
      folderId: folder.id,
    });
    expect((await call("DELETE", `/files/${file.id}`)).status).toBe(204);
    expect((await call("DELETE", `/folders/${folder.id}`)).status).toBe(204);
    await seedFile(h, { space: space(), userId: alice.user.id, name: "clash.txt" });
    const restored = await json<Item>(await call("POST", `/trash/files/${file.id}/restore`), 200);
    expect([restored.folder_id, restored.name]).toEqual([null, "clash (1).txt"]);
    // Restoring something that is not in the trash is a 404.
    const again = await call("POST", `/trash/files/${file.id}/restore`);
    expect(again.status).toBe(404);
  });

  it("purges a file: the record and the object on its storage are gone", async () => {
    const file = await seedFile(h, { space: space(), userId: alice.user.id, name: "purge-me.bin" });
    expect(await bucket().head(file.storageKey)).not.toBeNull();
    expect((await call("DELETE", `/trash/files/${file.id}`)).status).toBe(404); // not in the trash yet
    expect((await call("DELETE", `/files/${file.id}`)).status).toBe(204);
    expect((await call("DELETE", `/trash/files/${file.id}`)).status).toBe(204);
    expect(await bucket().head(file.storageKey)).toBeNull();
    expect(await h.db.select().from(files).where(eq(files.id, file.id))).toEqual([]);
    const pending = await h.db
      .select()
      .from(pendingObjectDeletions)
      .where(eq(pendingObjectDeletions.storageKey, file.storageKey));
    expect(pending).toEqual([]);
  });

  it("leaves an item restored while a purge of it was under way, record and object (purge racing restore)", async () => {
    const kept = await seedFile(h, { space: space(), userId: alice.user.id, name: "race-kept.bin" });
    const gone = await seedFile(h, { space: space(), userId: alice.user.id, name: "race-gone.bin" });
    const folder = await mkdir("race-folder");
    for (const path of [`/files/${kept.id}`, `/files/${gone.id}`, `/folders/${folder.id}`]) {
      expect((await call("DELETE", path)).status).toBe(204);
    }
    // What an empty-trash (or the expiry) read, before the user restored two of the items.
    const read = await h.db
      .select()
      .from(files)
      .where(inArray(files.id, [kept.id, gone.id]));
    expect((await call("POST", `/trash/files/${kept.id}/restore`)).status).toBe(200);
    expect((await call("POST", `/trash/folders/${folder.id}/restore`)).status).toBe(200);
    await purgeRecords(servicesOf(h), read, [folder.id]);

    expect((await call("GET", `/files/${kept.id}`)).status).toBe(200);
    expect(await bucket().head(kept.storageKey)).not.toBeNull();
    expect(await names()).toContain("race-folder");
    expect(await h.db.select().from(files).where(eq(files.id, gone.id))).toEqual([]);
    expect(await bucket().head(gone.storageKey)).toBeNull();
    const queued = await h.db.select().from(pendingObjectDeletions);
    expect(queued.map((q) => q.storageKey)).not.toContain(kept.storageKey);
  });

  it("purges a folder with its content, and empties the trash", async () => {
    const folder = await mkdir("PurgeTree");
    const inner = await mkdir("deeper", folder.id);
    const a = await seedFile(h, { space: space(), userId: alice.user.id, name: "a", folderId: inner.id });
    expect((await call("DELETE", `/folders/${folder.id}`)).status).toBe(204);
    expect((await call("DELETE", `/trash/folders/${folder.id}`)).status).toBe(204);
    expect(await bucket().head(a.storageKey)).toBeNull();

    const b = await seedFile(h, { space: space(), userId: alice.user.id, name: "b" });
    const c = await seedFile(h, { space: space(), userId: alice.user.id, name: "c" });
    await call("DELETE", `/files/${b.id}`);
    await call("DELETE", `/files/${c.id}`);
    const emptied = await json<{ purged_files: number }>(await call("DELETE", "/trash"), 200);
    expect(emptied.purged_files).toBeGreaterThanOrEqual(2);
    expect((await json<{ items: Item[] }>(await call("GET", "/trash"), 200)).items).toEqual([]);
    expect(await bucket().head(b.storageKey)).toBeNull();
  });

  it("expires trash older than TRASH_RETENTION_DAYS in the scheduled task, and keeps younger items", async () => {
    const old = await seedFile(h, { space: space(), userId: alice.user.id, name: "old.txt" });
    const young = await seedFile(h, { space: space(), userId: alice.user.id, name: "young.txt" });
    await call("DELETE", `/files/${old.id}`);
    await call("DELETE", `/files/${young.id}`);
    // Trashed four days and one day before the task runs (the worker's own clock runs on, inside
    // workerd too).
    const day = 24 * 3600 * 1000;
    const runAt = Date.now();
    await h.db
      .update(files)
      .set({ trashedAt: new Date(runAt - 4 * day) })
      .where(eq(files.id, old.id));
    await h.db
      .update(files)
      .set({ trashedAt: new Date(runAt - day) })
      .where(eq(files.id, young.id));
    const expire = fileTasks.find((t) => t.name === "expire_trash");
    if (!expire) throw new Error("expire_trash task missing");
    await expire.run(servicesOf(h, () => new Date(runAt), { TRASH_RETENTION_DAYS: "2" }));
    expect(await h.db.select().from(files).where(eq(files.id, old.id))).toEqual([]);
    expect(await bucket().head(old.storageKey)).toBeNull();
    const kept = await h.db.select().from(files).where(eq(files.id, young.id));
    expect(kept).toHaveLength(1);
  });

  it("keeps one trash per team space, shared by its members and invisible to others", async () => {
    const bob = await seedUser(h);
    const outsider = await seedUser(h);
    const teamId = await seedTeam(h, [alice.user.id, bob.user.id]);
    const file = await seedFile(h, {
      space: { kind: "team", id: teamId },
      userId: bob.user.id,
      name: "team.txt",
    });
    const team = (token: string, method: string, path: string) =>
      h.call(method, `/api/v1/spaces/${teamId}${path}`, { token });
    expect((await team(bob.token, "DELETE", `/files/${file.id}`)).status).toBe(204);
    const seen = await json<{ items: Item[] }>(await team(alice.token, "GET", "/trash"), 200);
    expect(seen.items.map((i) => i.id)).toEqual([file.id]);
    expect((await team(outsider.token, "GET", "/trash")).status).toBe(404);
    expect((await team(outsider.token, "POST", `/trash/files/${file.id}/restore`)).status).toBe(404);
    // Not in alice's personal trash either.
    expect((await call("POST", `/trash/files/${file.id}/restore`)).status).toBe(404);
    expect((await team(alice.token, "POST", `/trash/files/${file.id}/restore`)).status).toBe(200);
  });

  it("refuses work inside a trashed folder", async () => {
    const folder = await mkdir("Trashed");
    await call("DELETE", `/folders/${folder.id}`);
    const create = await call("POST", "/folders", { name: "child", parent_id: folder.id });
    expect(create.status).toBe(404);
    expect(await errorCode(create)).toBe("not_found");
    const other = await mkdir("Elsewhere");
    const move = await call("PATCH", `/folders/${other.id}`, { parent_id: folder.id });
    expect(move.status).toBe(404);
  });
});
