// Sorting a folder listing by name, size or modified time, either way, page by page: folders always
// first (by name when sorting by size, folders have none), ties by id, and a cursor refused by a
// listing in another order.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { files } from "../../../worker/db/schema.ts";
import { errorCode } from "../../support/envelopes.ts";
import { createHarness, type Harness, seedUser } from "../../support/primary.ts";
import { json, seedFile } from "./helpers.ts";

type Listing = { items: { type: string; name: string }[]; next_cursor: string | null };

describe("sorted folder listings", () => {
  let h: Harness;
  let alice: { user: { id: string }; token: string };

  /** Every page of the root listing in the given order, `limit` items at a time. */
  async function all(query: string, limit = 2): Promise<string[]> {
    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Listing = await json<Listing>(
        await h.call(
          "GET",
          `/api/v1/spaces/me/items?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
          { token: alice.token },
        ),
        200,
      );
      names.push(...page.items.map((i) => i.name));
      cursor = page.next_cursor;
    } while (cursor);
    return names;
  }

  beforeAll(async () => {
    h = await createHarness();
    alice = await seedUser(h);
    const space = { kind: "user" as const, id: alice.user.id };
    // name, size, minutes ago it was last modified
    const seeds: [string, number, number][] = [
      ["b.txt", 300, 5],
      ["a.txt", 100, 1],
      ["d.txt", 200, 3],
      ["c.txt", 200, 4],
      ["e.txt", 50, 2],
    ];
    for (const [name, size, minutesAgo] of seeds) {
      const file = await seedFile(h, { space, userId: alice.user.id, name, bytes: new Uint8Array(size) });
      await h.db
        .update(files)
        .set({ updatedAt: new Date(Date.UTC(2026, 0, 1) - minutesAgo * 60_000) })
        .where(eq(files.id, file.id));
    }
    for (const name of ["Zeta", "Alpha"]) {
      await json(
        await h.call("POST", "/api/v1/spaces/me/folders", {
          token: alice.token,
          body: { name, parent_id: null },
        }),
        201,
      );
    }
  });
  afterAll(async () => {
    await h.close();
  });

  it("sorts by name by default, folders first", async () => {
    expect(await all("")).toEqual(["Alpha", "Zeta", "a.txt", "b.txt", "c.txt", "d.txt", "e.txt"]);
    expect(await all("sort=name&order=desc")).toEqual([
      "Zeta",
      "Alpha",
      "e.txt",
      "d.txt",
      "c.txt",
      "b.txt",
      "a.txt",
    ]);
  });

  it("sorts files by size either way across pages, equal sizes in a stable order", async () => {
    const up = await all("sort=size&order=asc");
    expect(up.slice(0, 2)).toEqual(["Alpha", "Zeta"]);
    expect(up.slice(2, 4)).toEqual(["e.txt", "a.txt"]);
    expect(up.slice(4, 6).sort()).toEqual(["c.txt", "d.txt"]);
    expect(up[6]).toBe("b.txt");
    const down = await all("sort=size&order=desc", 3);
    expect(down.slice(0, 3)).toEqual(["Alpha", "Zeta", "b.txt"]);
    expect(down.slice(5)).toEqual(["a.txt", "e.txt"]);
    expect(await all("sort=size&order=desc", 1)).toEqual(down);
  });

  it("sorts by modified time, newest first when descending", async () => {
    const files = (names: string[]) => names.filter((n) => n.endsWith(".txt"));
    expect(files(await all("sort=modified&order=desc"))).toEqual([
      "a.txt",
      "e.txt",
      "d.txt",
      "c.txt",
      "b.txt",
    ]);
    expect(files(await all("sort=modified&order=asc", 3))).toEqual([
      "b.txt",
      "c.txt",
      "d.txt",
      "e.txt",
      "a.txt",
    ]);
  });

  it("refuses a cursor from a listing in another order, and an unknown sort", async () => {
    const first = await json<Listing>(
      await h.call("GET", "/api/v1/spaces/me/items?sort=size&limit=1", { token: alice.token }),
      200,
    );
    const mixed = await h.call(
      "GET",
      `/api/v1/spaces/me/items?sort=name&limit=1&cursor=${encodeURIComponent(first.next_cursor!)}`,
      { token: alice.token },
    );
    expect(mixed.status).toBe(400);
    expect(await errorCode(mixed)).toBe("bad_request");
    const unknown = await h.call("GET", "/api/v1/spaces/me/items?sort=colour", { token: alice.token });
    expect(unknown.status).toBe(400);
    expect(await errorCode(unknown)).toBe("validation_failed");
  });

  it("answers a malformed cursor as authentication answers first: 401 without a valid token, else 400", async () => {
    const path = "/api/v1/spaces/me/items?cursor=not-a-cursor";
    const anonymous = await h.call("GET", path);
    expect([anonymous.status, await errorCode(anonymous)]).toEqual([401, "unauthorized"]);
    const forged = await h.call("GET", path, { token: "flt_not-a-real-token" });
    expect([forged.status, await errorCode(forged)]).toEqual([401, "unauthorized"]);
    const known = await h.call("GET", path, { token: alice.token });
    expect([known.status, await errorCode(known)]).toEqual([400, "bad_request"]);
  });
});
