// Folders and files in personal and team spaces through the API: listing with cursors, create,
// rename, move (no cycles), name conflicts, upload auto-rename, and who can see what.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanContentType, createFileRecord } from "../../../worker/files/records.ts";
import { errorCode } from "../../support/envelopes.ts";
import { createHarness, type Harness, seedUser } from "../../support/primary.ts";
import { json, seedFile, seedTeam, servicesOf } from "./helpers.ts";

type Item = { type: string; id: string; name: string; parent_id?: string | null; folder_id?: string | null };
type Listing = {
  folder: Item | null;
  path: { id: string; name: string }[];
  items: Item[];
  next_cursor: string | null;
};

describe("folders and files", () => {
  let h: Harness;
  let alice: { user: { id: string }; token: string };
  let bob: { user: { id: string }; token: string };
  const me = (id: string) => ({ kind: "user" as const, id });

  beforeAll(async () => {
    h = await createHarness();
    alice = await seedUser(h);
    bob = await seedUser(h);
  });
  afterAll(async () => {
    await h.close();
  });

  const mkdir = async (token: string, name: string, parent_id: string | null = null, space = "me") =>
    json<Item>(
      await h.call("POST", `/api/v1/spaces/${space}/folders`, { token, body: { name, parent_id } }),
      201,
    );

  it("creates nested folders and lists them with their path", async () => {
    const top = await mkdir(alice.token, "Projects");
    const sub = await mkdir(alice.token, "Flotilla", top.id);
    await seedFile(h, {
      space: me(alice.user.id),
      userId: alice.user.id,
      name: "notes.txt",
      folderId: sub.id,
    });
    const listing = await json<Listing>(
      await h.call("GET", `/api/v1/spaces/me/items?folder_id=${sub.id}`, { token: alice.token }),
      200,
    );
    expect(listing.folder?.id).toBe(sub.id);
    expect(listing.path.map((p) => p.name)).toEqual(["Projects", "Flotilla"]);
    expect(listing.items.map((i) => [i.type, i.name])).toEqual([["file", "notes.txt"]]);
  });

  it("pages folders first, then files, by name, with an opaque cursor", async () => {
    const root = await mkdir(alice.token, "Paging");
    for (const name of ["b", "a", "c"]) await mkdir(alice.token, name, root.id);
    for (const name of ["z.txt", "y.txt"]) {
      await seedFile(h, { space: me(alice.user.id), userId: alice.user.id, name, folderId: root.id });
    }
    const seen: string[] = [];
    let cursor: string | null = "";
    let pages = 0;
    while (cursor !== null) {
      const query: string = `folder_id=${root.id}&limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const page: Listing = await json<Listing>(
        await h.call("GET", `/api/v1/spaces/me/items?${query}`, { token: alice.token }),
        200,
      );
      seen.push(...page.items.map((i) => `${i.type}:${i.name}`));
      cursor = page.next_cursor;
      pages++;
    }
    expect(seen).toEqual(["folder:a", "folder:b", "folder:c", "file:y.txt", "file:z.txt"]);
    expect(pages).toBe(3);
    const bad = await h.call("GET", "/api/v1/spaces/me/items?cursor=garbage!", { token: alice.token });
    expect(bad.status).toBe(400);
  });

  it("refuses a taken name with 409 name_conflict on create, rename and move; files and folders share names", async () => {
    const parent = await mkdir(alice.token, "Conflicts");
    await mkdir(alice.token, "same", parent.id);
    const again = await h.call("POST", "/api/v1/spaces/me/folders", {
      token: alice.token,
      body: { name: "same", parent_id: parent.id },
    });
    expect(again.status).toBe(409);
    expect(await errorCode(again)).toBe("name_conflict");
    const file = await seedFile(h, {
      space: me(alice.user.id),
      userId: alice.user.id,
      name: "doc.txt",
      folderId: parent.id,
    });
    const rename = await h.call("PATCH", `/api/v1/spaces/me/files/${file.id}`, {
      token: alice.token,
      body: { name: "same" },
    });
    expect(await errorCode(rename)).toBe("name_conflict");
    const other = await mkdir(alice.token, "doc.txt");
    const move = await h.call("PATCH", `/api/v1/spaces/me/folders/${other.id}`, {
      token: alice.token,
      body: { parent_id: parent.id },
    });
    expect(move.status).toBe(409);
    expect(await errorCode(move)).toBe("name_conflict");
  });

  it("keeps one live item per name when files and folders race for it; the database itself refuses a file named like a live sibling folder", async () => {
    const parent = await mkdir(alice.token, "Race");
    const space = me(alice.user.id);
    const seeded = [];
    for (let i = 0; i < 6; i++) {
      seeded.push(
        await seedFile(h, { space, userId: alice.user.id, name: `f${i}.txt`, folderId: parent.id }),
      );
    }
    // Renames of six files and creation of six folders to one name, all at once: the checks before the
    // writes interleave, so only the database itself can keep the name single.
    const answers = await Promise.all([
      ...seeded.map((file) =>
        h.call("PATCH", `/api/v1/spaces/me/files/${file.id}`, { token: alice.token, body: { name: "dup" } }),
      ),
      ...seeded.map(() =>
        h.call("POST", "/api/v1/spaces/me/folders", {
          token: alice.token,
          body: { name: "dup", parent_id: parent.id },
        }),
      ),
    ]);
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s < 300)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(answers.length - 1);
    const listing = await json<Listing>(
      await h.call("GET", `/api/v1/spaces/me/items?folder_id=${parent.id}`, { token: alice.token }),
      200,
    );
    expect(listing.items.filter((i) => i.name === "dup")).toHaveLength(1);
    // The database refuses it even when the check before the write is skipped.
    const solo = await mkdir(alice.token, "solo", parent.id);
    await expect(
      h.client.execute({ sql: "update files set name = ? where id = ?", args: [solo.name, seeded[0]!.id] }),
    ).rejects.toThrow(/UNIQUE constraint failed/);
  });

  it("keeps live items out of trashed folders in the database itself (create and move; restore still works)", async () => {
    const bin = await mkdir(alice.token, "Binned");
    const file = await seedFile(h, { space: me(alice.user.id), userId: alice.user.id, name: "outside.txt" });
    expect(
      (await h.call("DELETE", `/api/v1/spaces/me/folders/${bin.id}`, { token: alice.token })).status,
    ).toBe(204);
    // What a request that checked the folder a moment before it was trashed would write.
    await expect(
      h.client.execute({ sql: "update files set folder_id = ? where id = ?", args: [bin.id, file.id] }),
    ).rejects.toThrow(/parent folder is in the trash/);
    await expect(
      h.client.execute({
        sql: "insert into folders (id, space_kind, space_id, parent_id, name) values ('x-late', 'user', ?, ?, 'late')",
        args: [alice.user.id, bin.id],
      }),
    ).rejects.toThrow(/parent folder is in the trash/);
    const restored = await h.call("POST", `/api/v1/spaces/me/trash/folders/${bin.id}/restore`, {
      token: alice.token,
    });
    expect(restored.status).toBe(200);
    const moved = await h.call("PATCH", `/api/v1/spaces/me/files/${file.id}`, {
      token: alice.token,
      body: { folder_id: bin.id },
    });
    expect(moved.status).toBe(200);
  });

  it("renames and moves files and folders", async () => {
    const a = await mkdir(alice.token, "MoveA");
    const b = await mkdir(alice.token, "MoveB");
    const file = await seedFile(h, {
      space: me(alice.user.id),
      userId: alice.user.id,
      name: "x.bin",
      folderId: a.id,
    });
    const moved = await json<Item>(
      await h.call("PATCH", `/api/v1/spaces/me/files/${file.id}`, {
        token: alice.token,
        body: { folder_id: b.id, name: "y.bin" },
      }),
      200,
    );
    expect([moved.folder_id, moved.name]).toEqual([b.id, "y.bin"]);
    const folder = await json<Item>(
      await h.call("PATCH", `/api/v1/spaces/me/folders/${b.id}`, {
        token: alice.token,
        body: { parent_id: a.id, name: "Inner" },
      }),
      200,
    );
    expect([folder.parent_id, folder.name]).toEqual([a.id, "Inner"]);
    const toRoot = await json<Item>(
      await h.call("PATCH", `/api/v1/spaces/me/folders/${b.id}`, {
        token: alice.token,
        body: { parent_id: null },
      }),
      200,
    );
    expect(toRoot.parent_id).toBeNull();
  });

  it("never moves a folder into itself or its subtree (409 folder_cycle)", async () => {
    const a = await mkdir(alice.token, "CycleA");
    const b = await mkdir(alice.token, "CycleB", a.id);
    const c = await mkdir(alice.token, "CycleC", b.id);
    for (const target of [a.id, c.id]) {
      const response = await h.call("PATCH", `/api/v1/spaces/me/folders/${a.id}`, {
        token: alice.token,
        body: { parent_id: target },
      });
      expect(response.status).toBe(409);
      expect(await errorCode(response)).toBe("folder_cycle");
    }
  });

  it("refuses bad names with 400 name_invalid", async () => {
    for (const name of ["", "  ", "a/b", "..", "tab\there", "x".repeat(256)]) {
      const response = await h.call("POST", "/api/v1/spaces/me/folders", {
        token: alice.token,
        body: { name },
      });
      expect(response.status, name).toBe(400);
      expect(await errorCode(response)).toBe("name_invalid");
    }
  });

  it("createFileRecord renames a taken name to 'name (1).ext', or refuses with onConflict fail", async () => {
    const parent = await mkdir(alice.token, "Uploads");
    const space = me(alice.user.id);
    const first = await seedFile(h, {
      space,
      userId: alice.user.id,
      name: "report.pdf",
      folderId: parent.id,
    });
    const second = await seedFile(h, {
      space,
      userId: alice.user.id,
      name: "report.pdf",
      folderId: parent.id,
    });
    const third = await seedFile(h, {
      space,
      userId: alice.user.id,
      name: "report.pdf",
      folderId: parent.id,
    });
    const noExt = await seedFile(h, { space, userId: alice.user.id, name: ".env", folderId: parent.id });
    const noExt2 = await seedFile(h, { space, userId: alice.user.id, name: ".env", folderId: parent.id });
    expect([first.name, second.name, third.name, noExt.name, noExt2.name]).toEqual([
      "report.pdf",
      "report (1).pdf",
      "report (2).pdf",
      ".env",
      ".env (1)",
    ]);
    await expect(
      createFileRecord(servicesOf(h), {
        space,
        folderId: parent.id,
        name: "report.pdf",
        size: first.size,
        sha256: first.sha256,
        policyId: first.policyId,
        storageKey: first.storageKey,
        location: null,
        createdBy: alice.user.id,
        onConflict: "fail",
      }),
    ).rejects.toMatchObject({ code: "name_conflict" });
    // Same id again is idempotent (an upload completed twice).
    const again = await createFileRecord(servicesOf(h), {
      id: first.id,
      space,
      folderId: parent.id,
      name: "report.pdf",
      size: first.size,
      sha256: first.sha256,
      policyId: first.policyId,
      storageKey: first.storageKey,
      location: null,
      createdBy: alice.user.id,
    });
    expect(again.id).toBe(first.id);
  });

  it("stores a declared content type only when it is a well-formed media type", () => {
    expect(cleanContentType("image/PNG")).toBe("image/png");
    expect(cleanContentType("text/plain; charset=utf-8")).toBe("text/plain; charset=utf-8");
    for (const bad of [
      undefined,
      "",
      "text/html\r\nx-evil: 1",
      "not a type",
      "a/b; c",
      `x/${"y".repeat(300)}`,
    ]) {
      expect(cleanContentType(bad), String(bad)).toBe("application/octet-stream");
    }
  });

  it("hides one user's items from another (404), and their folders as targets", async () => {
    const folder = await mkdir(alice.token, "Private");
    const file = await seedFile(h, { space: me(alice.user.id), userId: alice.user.id, name: "secret.txt" });
    for (const path of [
      `/api/v1/spaces/me/files/${file.id}`,
      `/api/v1/spaces/me/files/${file.id}/content`,
      `/api/v1/spaces/me/folders/${folder.id}`,
      `/api/v1/spaces/me/items?folder_id=${folder.id}`,
    ]) {
      const response = await h.call("GET", path, { token: bob.token });
      expect(response.status, path).toBe(404);
    }
    const del = await h.call("DELETE", `/api/v1/spaces/me/files/${file.id}`, { token: bob.token });
    expect(del.status).toBe(404);
    const into = await h.call("POST", "/api/v1/spaces/me/folders", {
      token: bob.token,
      body: { name: "x", parent_id: folder.id },
    });
    expect(into.status).toBe(404);
  });

  it("shares a team space among members; a non-member gets 404", async () => {
    const teamId = await seedTeam(h, [alice.user.id]);
    const folder = await mkdir(alice.token, "Team docs", null, teamId);
    const listing = await json<Listing>(
      await h.call("GET", `/api/v1/spaces/${teamId}/items`, { token: alice.token }),
      200,
    );
    expect(listing.items.map((i) => i.id)).toEqual([folder.id]);
    const outsider = await h.call("GET", `/api/v1/spaces/${teamId}/items`, { token: bob.token });
    expect(outsider.status).toBe(404);
    expect(await errorCode(outsider)).toBe("not_found");
    // The team folder is not visible from the personal space either.
    const personal = await h.call("GET", `/api/v1/spaces/me/folders/${folder.id}`, { token: alice.token });
    expect(personal.status).toBe(404);
    const unknownTeam = await h.call("GET", "/api/v1/spaces/0123456789abcdef0123456789abcdef/items", {
      token: alice.token,
    });
    expect(unknownTeam.status).toBe(404);
  });
});
