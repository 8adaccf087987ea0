// Share links end to end in process: owner create/list/revoke; the public API with metadata, folder
// listing confined to the shared subtree, downloads counted against the limit, password unlock (token,
// header, cookie, rate limit), and distinct codes for expired, revoked and exhausted links. Unlock
// tokens running out (the worker's clock moved) are in shares-unlock-expiry.test.ts.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shares } from "../../../worker/db/schema.ts";
import { utf8 } from "../../support/bytes.ts";
import { errorCode } from "../../support/envelopes.ts";
import { createHarness, type Harness, seedUser } from "../../support/primary.ts";
import { json, seedFile, seedTeam } from "./helpers.ts";

type Created = { share: { id: string; state: string; has_password: boolean }; token: string; url: string };

describe("share links", () => {
  let h: Harness;
  let alice: { user: { id: string }; token: string };
  let bob: { user: { id: string }; token: string };
  const space = () => ({ kind: "user" as const, id: alice.user.id });

  beforeAll(async () => {
    h = await createHarness();
    alice = await seedUser(h);
    bob = await seedUser(h);
  });
  afterAll(async () => {
    await h.close();
  });

  const share = async (body: Record<string, unknown>, token = alice.token) =>
    json<Created>(await h.call("POST", "/api/v1/spaces/me/shares", { token, body }), 201);
  const pub = (token: string, rest = "", headers: Record<string, string> = {}) =>
    h.call("GET", `/api/v1/public/shares/${token}${rest}`, { headers });

  it("creates a link with a high-entropy token stored only as a hash, and serves the file publicly", async () => {
    const file = await seedFile(h, {
      space: space(),
      userId: alice.user.id,
      name: "hello.txt",
      bytes: utf8("hello"),
    });
    const created = await share({ file_id: file.id });
    expect(created.token.length).toBeGreaterThanOrEqual(40);
    expect(created.url).toBe(`http://primary.test/s/${created.token}`);
    const [row] = await h.db.select().from(shares).where(eq(shares.id, created.share.id));
    expect(row?.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(created.token);

    const view = await json<{ kind: string; locked: boolean; file: { name: string; size: number } }>(
      await pub(created.token),
      200,
    );
    expect(view).toMatchObject({ kind: "file", locked: false, file: { name: "hello.txt", size: 5 } });
    const download = await pub(created.token, "/content", { range: "bytes=1-2" });
    expect(download.status).toBe(206);
    expect(await download.text()).toBe("el");
    expect((await pub("fsh_not-a-real-token")).status).toBe(404);
    expect(await errorCode(await pub("fsh_not-a-real-token"))).toBe("share_not_found");
  });

  it("counts downloads and answers 410 share_exhausted at the limit", async () => {
    const file = await seedFile(h, { space: space(), userId: alice.user.id, name: "limited.txt" });
    const created = await share({ file_id: file.id, max_downloads: 2 });
    expect((await pub(created.token, "/content")).status).toBe(200);
    // Neither a HEAD nor a 304 serves bytes; neither is counted.
    const head = await h.call("HEAD", `/api/v1/public/shares/${created.token}/content`);
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(file.size));
    expect((await pub(created.token, "/content", { "if-none-match": `"${file.sha256}"` })).status).toBe(304);
    expect((await pub(created.token, "/content")).status).toBe(200);
    const third = await pub(created.token, "/content");
    expect(third.status).toBe(410);
    expect(await errorCode(third)).toBe("share_exhausted");
    const list = await json<{ items: { id: string; state: string; download_count: number }[] }>(
      await h.call("GET", "/api/v1/spaces/me/shares", { token: alice.token }),
      200,
    );
    expect(list.items.find((s) => s.id === created.share.id)).toMatchObject({
      state: "exhausted",
      download_count: 2,
    });
  });

  it("answers 410 share_expired after the expiry and 410 share_revoked after a revoke", async () => {
    const file = await seedFile(h, { space: space(), userId: alice.user.id, name: "timed.txt" });
    const timed = await share({ file_id: file.id, expires_at: new Date(Date.now() + 60_000).toISOString() });
    expect((await pub(timed.token)).status).toBe(200);
    // The expiry passes: the link's end moves back (the worker's own clock runs on, inside workerd too).
    await h.db
      .update(shares)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(shares.id, timed.share.id));
    const expired = await pub(timed.token);
    expect(expired.status).toBe(410);
    expect(await errorCode(expired)).toBe("share_expired");
    const past = await h.call("POST", "/api/v1/spaces/me/shares", {
      token: alice.token,
      body: { file_id: file.id, expires_at: new Date(Date.now() - 1000).toISOString() },
    });
    expect(past.status).toBe(400);

    const revocable = await share({ file_id: file.id });
    expect(
      (await h.call("DELETE", `/api/v1/spaces/me/shares/${revocable.share.id}`, { token: bob.token })).status,
    ).toBe(404);
    expect(
      (await h.call("DELETE", `/api/v1/spaces/me/shares/${revocable.share.id}`, { token: alice.token }))
        .status,
    ).toBe(204);
    const revoked = await pub(revocable.token, "/content");
    expect(revoked.status).toBe(410);
    expect(await errorCode(revoked)).toBe("share_revoked");
  });

  it("hides a trashed target (404 share_not_found) and serves it again after restore", async () => {
    const file = await seedFile(h, { space: space(), userId: alice.user.id, name: "comes-back.txt" });
    const created = await share({ file_id: file.id });
    await h.call("DELETE", `/api/v1/spaces/me/files/${file.id}`, { token: alice.token });
    expect(await errorCode(await pub(created.token))).toBe("share_not_found");
    await h.call("POST", `/api/v1/spaces/me/trash/files/${file.id}/restore`, { token: alice.token });
    expect((await pub(created.token)).status).toBe(200);
  });

  it("locks a password link until it is unlocked; the unlock token works as header, query or cookie", async () => {
    const file = await seedFile(h, {
      space: space(),
      userId: alice.user.id,
      name: "locked.txt",
      bytes: utf8("secret"),
    });
    const created = await share({ file_id: file.id, password: "open sesame" });
    expect(created.share.has_password).toBe(true);
    const locked = await json<Record<string, unknown>>(await pub(created.token), 200);
    expect(locked).toEqual({ kind: "file", locked: true, password_required: true });
    const refused = await pub(created.token, "/content");
    expect(refused.status).toBe(401);
    expect(await errorCode(refused)).toBe("share_locked");

    const wrong = await h.call("POST", `/api/v1/public/shares/${created.token}/unlock`, {
      body: { password: "nope" },
    });
    expect(wrong.status).toBe(401);
    expect(await errorCode(wrong)).toBe("share_password_invalid");
    const ok = await h.call("POST", `/api/v1/public/shares/${created.token}/unlock`, {
      body: { password: "open sesame" },
    });
    expect(ok.status).toBe(200);
    const { unlock_token } = (await ok.json()) as { unlock_token: string };
    const cookie = ok.headers.get("set-cookie") ?? "";
    expect(cookie).toContain(`Path=/api/v1/public/shares/${created.token}`);
    expect(cookie).toContain("HttpOnly");

    expect(await (await pub(created.token, "/content", { "x-share-unlock": unlock_token })).text()).toBe(
      "secret",
    );
    expect((await pub(created.token, `/content?unlock=${encodeURIComponent(unlock_token)}`)).status).toBe(
      200,
    );
    expect((await pub(created.token, "/content", { cookie: cookie.split(";")[0] ?? "" })).status).toBe(200);
    // A token for another link, or a tampered one, does not unlock.
    const other = await share({ file_id: file.id, password: "open sesame" });
    expect((await pub(other.token, "/content", { "x-share-unlock": unlock_token })).status).toBe(401);
    expect((await pub(created.token, "/content", { "x-share-unlock": `${unlock_token}x` })).status).toBe(401);
  });

  it("rate limits password guessing like login (429 with Retry-After), even for the right password", async () => {
    const file = await seedFile(h, { space: space(), userId: alice.user.id, name: "guess.txt" });
    const created = await share({ file_id: file.id, password: "right" });
    const unlock = (password: string) =>
      h.call("POST", `/api/v1/public/shares/${created.token}/unlock`, { body: { password } });
    for (let i = 0; i < 5; i++) expect((await unlock(`wrong-${i}`)).status).toBe(401);
    const limited = await unlock("right");
    expect(limited.status).toBe(429);
    expect(await errorCode(limited)).toBe("rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("shares a folder: listing and downloads confined to its subtree", async () => {
    const mk = async (name: string, parent_id: string | null) =>
      json<{ id: string }>(
        await h.call("POST", "/api/v1/spaces/me/folders", { token: alice.token, body: { name, parent_id } }),
        201,
      );
    const shared = await mk("Shared", null);
    const sub = await mk("Sub", shared.id);
    const outside = await mk("Outside", null);
    const inner = await seedFile(h, {
      space: space(),
      userId: alice.user.id,
      name: "in.txt",
      bytes: utf8("inside"),
      folderId: sub.id,
    });
    const secret = await seedFile(h, {
      space: space(),
      userId: alice.user.id,
      name: "out.txt",
      folderId: outside.id,
    });
    const rootFile = await seedFile(h, { space: space(), userId: alice.user.id, name: "root.txt" });
    const created = await share({ folder_id: shared.id });

    const view = await json<{ kind: string; folder: { name: string } }>(await pub(created.token), 200);
    expect(view).toMatchObject({ kind: "folder", folder: { name: "Shared" } });
    const top = await json<{ items: { name: string }[]; path: { name: string }[] }>(
      await pub(created.token, "/items"),
      200,
    );
    expect(top.items.map((i) => i.name)).toEqual(["Sub"]);
    const below = await json<{ items: { name: string }[]; path: { name: string }[] }>(
      await pub(created.token, `/items?folder_id=${sub.id}`),
      200,
    );
    expect(below.items.map((i) => i.name)).toEqual(["in.txt"]);
    expect(below.path.map((p) => p.name)).toEqual(["Shared", "Sub"]);
    expect(await (await pub(created.token, `/files/${inner.id}/content`)).text()).toBe("inside");

    expect((await pub(created.token, `/items?folder_id=${outside.id}`)).status).toBe(404);
    expect((await pub(created.token, `/files/${secret.id}/content`)).status).toBe(404);
    expect((await pub(created.token, `/files/${rootFile.id}/content`)).status).toBe(404);
    expect((await pub(created.token, "/content")).status).toBe(404);
  });

  it("lets a team manager list and revoke every link of the team space; members only their own", async () => {
    const carol = await seedUser(h);
    const teamId = await seedTeam(h, [bob.user.id, carol.user.id], [alice.user.id]);
    const file = await seedFile(h, {
      space: { kind: "team", id: teamId },
      userId: bob.user.id,
      name: "team.txt",
    });
    const bobs = await json<Created>(
      await h.call("POST", `/api/v1/spaces/${teamId}/shares`, {
        token: bob.token,
        body: { file_id: file.id },
      }),
      201,
    );
    const ids = async (token: string) =>
      (
        await json<{ items: { id: string }[] }>(
          await h.call("GET", `/api/v1/spaces/${teamId}/shares`, { token }),
          200,
        )
      ).items.map((s) => s.id);
    expect(await ids(alice.token)).toContain(bobs.share.id);
    expect(await ids(carol.token)).not.toContain(bobs.share.id);
    const byCarol = await h.call("DELETE", `/api/v1/spaces/${teamId}/shares/${bobs.share.id}`, {
      token: carol.token,
    });
    expect(byCarol.status).toBe(404);
    const byAlice = await h.call("DELETE", `/api/v1/spaces/${teamId}/shares/${bobs.share.id}`, {
      token: alice.token,
    });
    expect(byAlice.status).toBe(204);
    expect(await errorCode(await pub(bobs.token))).toBe("share_revoked");
  });

  it("lets only the space's members create links, and only for live items of that space", async () => {
    const file = await seedFile(h, { space: space(), userId: alice.user.id, name: "mine.txt" });
    const foreign = await h.call("POST", "/api/v1/spaces/me/shares", {
      token: bob.token,
      body: { file_id: file.id },
    });
    expect(foreign.status).toBe(404);
    const both = await h.call("POST", "/api/v1/spaces/me/shares", {
      token: alice.token,
      body: { file_id: file.id, folder_id: file.id },
    });
    expect(both.status).toBe(400);
  });
});
