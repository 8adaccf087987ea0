// Security review of share links and spaces, in process over a real migrated libSQL file and a real
// s3rver: what a link holder can reach (never outside the shared subtree, never another space, never a
// trashed item), download limits that neither a HEAD nor a preview can get around, and a limit of one
// that holds when downloads race, and password guesses (links, login) that a burst cannot multiply.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomId, sha256Hex } from "../../shared/crypto.ts";
import { loginAttempts } from "../../worker/db/schema.ts";
import { createFileRecord, fileStorageKey } from "../../worker/files/records.ts";
import { createS3Driver } from "../../worker/storage/s3.ts";
import { streamOf, utf8 } from "../support/bytes.ts";
import { errorCode } from "../support/envelopes.ts";
import {
  createHarness,
  type Harness,
  realFetch,
  seedS3Policy,
  seedUser,
  TEST_PASSWORD,
  unique,
} from "../support/primary.ts";
import { S3RVER_KEY, startS3rver } from "../support/s3rver.ts";
import { json, seedFile, seedTeam, servicesOf } from "./files/helpers.ts";

type Created = { share: { id: string }; token: string };

describe("security review: share links and password guessing", () => {
  let h: Harness;
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let alice: { user: { id: string }; token: string };
  const mine = () => ({ kind: "user" as const, id: alice.user.id });

  beforeAll(async () => {
    s3 = await startS3rver(["review"]);
    h = await createHarness({ fetch: realFetch });
    alice = await seedUser(h);
  });
  afterAll(async () => {
    await h?.close();
    await s3?.stop();
  });

  const share = async (body: Record<string, unknown>, token = alice.token, space = "me") =>
    json<Created>(await h.call("POST", `/api/v1/spaces/${space}/shares`, { token, body }), 201);
  const pub = (method: string, token: string, rest: string, headers: Record<string, string> = {}) =>
    h.call(method, `/api/v1/public/shares/${token}${rest}`, { headers });
  const downloadCount = async (id: string) => {
    const list = await json<{ items: { id: string; download_count: number }[] }>(
      await h.call("GET", "/api/v1/spaces/me/shares", { token: alice.token }),
      200,
    );
    return list.items.find((s) => s.id === id)?.download_count;
  };
  const folder = async (name: string, parent_id: string | null, token = alice.token, space = "me") =>
    json<{ id: string }>(
      await h.call("POST", `/api/v1/spaces/${space}/folders`, { token, body: { name, parent_id } }),
      201,
    );

  /** A file of alice's on an s3 policy whose downloads are presigned redirects. */
  async function presignedFile(text: string) {
    const policyId = await seedS3Policy(h, {
      endpoint: s3.endpoint,
      bucket: "review",
      fields: { name: unique("s3-presigned"), downloadMode: "presigned" },
    });
    const driver = createS3Driver({
      endpoint: s3.endpoint,
      region: "us-east-1",
      bucket: "review",
      pathStyle: true,
      ...S3RVER_KEY,
    });
    const bytes = utf8(text);
    const id = randomId();
    const stored = await driver.put(fileStorageKey(id), streamOf(bytes), { size: bytes.byteLength });
    return createFileRecord(servicesOf(h), {
      id,
      space: mine(),
      folderId: null,
      name: `${unique("presigned")}.txt`,
      size: bytes.byteLength,
      sha256: await sha256Hex(bytes),
      contentType: "text/plain",
      policyId,
      storageKey: fileStorageKey(id),
      location: stored.location,
      createdBy: alice.user.id,
    });
  }

  it("hands no presigned URL to a HEAD of a limited link: it would be an uncounted download", async () => {
    const file = await presignedFile("counted bytes");
    const created = await share({ file_id: file.id, max_downloads: 1 });
    for (const redirect of ["true", "false"]) {
      const head = await pub("HEAD", created.token, `/content?redirect=${redirect}`);
      expect(head.status).toBe(200);
      expect(head.headers.get("location")).toBeNull();
      expect(head.headers.get("content-length")).toBe(String(file.size));
    }
    expect(await downloadCount(created.share.id)).toBe(0);
    // The one counted download still gets its URL, and the bytes behind it.
    const get = await pub("GET", created.token, "/content");
    expect(get.status).toBe(302);
    expect(await (await fetch(get.headers.get("location") ?? "")).text()).toBe("counted bytes");
    expect(await downloadCount(created.share.id)).toBe(1);
    expect(await errorCode(await pub("GET", created.token, "/content"))).toBe("share_exhausted");
  });

  it("refuses previews of a link with a download limit (uncounted bytes), and previews unlimited links", async () => {
    const image = utf8("\x89PNG fake image bytes");
    const shared = await folder(unique("Pictures"), null);
    const file = await seedFile(h, {
      space: mine(),
      userId: alice.user.id,
      name: `${unique("photo")}.png`,
      bytes: image,
      contentType: "image/png",
      folderId: shared.id,
    });
    const limitedFile = await share({ file_id: file.id, max_downloads: 1 });
    const limitedFolder = await share({ folder_id: shared.id, max_downloads: 1 });
    for (const [token, path] of [
      [limitedFile.token, "/preview"],
      [limitedFolder.token, `/files/${file.id}/preview`],
    ] as const) {
      for (let i = 0; i < 3; i++) {
        const refused = await pub("GET", token, path);
        expect(refused.status).toBe(415);
        expect(await errorCode(refused)).toBe("preview_unsupported");
      }
    }
    expect(await downloadCount(limitedFile.share.id)).toBe(0);
    expect((await pub("GET", limitedFile.token, "/content")).status).toBe(200);

    const open = await share({ file_id: file.id });
    const preview = await pub("GET", open.token, "/preview");
    expect(preview.status).toBe(200);
    expect(new Uint8Array(await preview.arrayBuffer())).toEqual(image);
    expect(preview.headers.get("content-disposition")).toMatch(/^inline/);
  });

  it("serves exactly one of two downloads racing for a limit of one", async () => {
    const file = await seedFile(h, { space: mine(), userId: alice.user.id, name: `${unique("race")}.txt` });
    const created = await share({ file_id: file.id, max_downloads: 1 });
    const answers = await Promise.all([1, 2, 3, 4].map(() => pub("GET", created.token, "/content")));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 410, 410, 410]);
    for (const answer of answers) await answer.body?.cancel();
    expect(await downloadCount(created.share.id)).toBe(1);
  });

  it("confines a folder link: no folder or file of another space, none trashed below it, none above it", async () => {
    const bob = await seedUser(h);
    const root = await folder(unique("Shared"), null);
    const sub = await folder("Sub", root.id);
    const inner = await seedFile(h, {
      space: mine(),
      userId: alice.user.id,
      name: "in.txt",
      folderId: sub.id,
    });
    const created = await share({ folder_id: root.id });
    expect((await pub("GET", created.token, `/files/${inner.id}/content`)).status).toBe(200);

    // Bob's folder and file, and a team's, by id: not in this link.
    const bobs = await folder("Bobs", null, bob.token);
    const bobFile = await seedFile(h, {
      space: { kind: "user", id: bob.user.id },
      userId: bob.user.id,
      name: "bob.txt",
      folderId: bobs.id,
    });
    const teamId = await seedTeam(h, [alice.user.id]);
    const teamFolder = await folder("Team", null, alice.token, teamId);
    const teamFile = await seedFile(h, {
      space: { kind: "team", id: teamId },
      userId: alice.user.id,
      name: "team.txt",
      folderId: teamFolder.id,
    });
    // The parent of the shared folder is the root; a sibling tree above it stays out too.
    const sibling = await folder(unique("Sibling"), null);
    for (const id of [bobs.id, teamFolder.id, sibling.id]) {
      const listing = await pub("GET", created.token, `/items?folder_id=${id}`);
      expect(listing.status).toBe(404);
      expect(await errorCode(listing)).toBe("not_found");
    }
    for (const id of [bobFile.id, teamFile.id]) {
      for (const path of [`/files/${id}/content`, `/files/${id}/preview`]) {
        expect((await pub("GET", created.token, path)).status).toBe(404);
      }
    }

    // A trashed subfolder and its file vanish from the link, and are back after a restore.
    await h.call("DELETE", `/api/v1/spaces/me/folders/${sub.id}`, { token: alice.token });
    expect((await pub("GET", created.token, `/items?folder_id=${sub.id}`)).status).toBe(404);
    expect((await pub("GET", created.token, `/files/${inner.id}/content`)).status).toBe(404);
    const top = await json<{ items: unknown[] }>(await pub("GET", created.token, "/items"), 200);
    expect(top.items).toEqual([]);
    await h.call("POST", `/api/v1/spaces/me/trash/folders/${sub.id}/restore`, { token: alice.token });
    expect((await pub("GET", created.token, `/files/${inner.id}/content`)).status).toBe(200);

    // Moved out of the shared subtree: out of the link.
    await h.call("PATCH", `/api/v1/spaces/me/files/${inner.id}`, {
      token: alice.token,
      body: { folder_id: sibling.id },
    });
    expect((await pub("GET", created.token, `/files/${inner.id}/content`)).status).toBe(404);
  });

  it("counts concurrent password guesses on a link: a burst gets the limit's worth of tries, no more", async () => {
    const file = await seedFile(h, { space: mine(), userId: alice.user.id, name: `${unique("burst")}.txt` });
    const created = await share({ file_id: file.id, password: "the right one" });
    const guesses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        h.call("POST", `/api/v1/public/shares/${created.token}/unlock`, {
          body: { password: `guess-${i}` },
          headers: { "cf-connecting-ip": "203.0.113.50" },
        }),
      ),
    );
    const codes = await Promise.all(guesses.map((g) => errorCode(g)));
    expect(codes.filter((c) => c === "share_password_invalid")).toHaveLength(5);
    expect(codes.filter((c) => c === "rate_limited")).toHaveLength(7);
    const right = await h.call("POST", `/api/v1/public/shares/${created.token}/unlock`, {
      body: { password: "the right one" },
      headers: { "cf-connecting-ip": "203.0.113.50" },
    });
    expect(right.status).toBe(429);
  });

  it("counts concurrent login guesses: a burst gets the limit's worth of tries; a right password costs none", async () => {
    const victim = await seedUser(h);
    const login = (password: string, ip: string) =>
      h.call("POST", "/api/v1/auth/login", {
        body: { username: victim.user.username, password },
        headers: { "cf-connecting-ip": ip },
      });
    for (let i = 0; i < 3; i++) expect((await login(TEST_PASSWORD, "198.51.100.9")).status).toBe(200);
    const [counted] = await h.db
      .select()
      .from(loginAttempts)
      .where(eq(loginAttempts.key, `user:${victim.user.username}`));
    expect(counted?.failures ?? 0).toBe(0);
    const guesses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => login(`guess-${i}`, "203.0.113.60")),
    );
    const codes = await Promise.all(guesses.map((g) => errorCode(g)));
    expect(codes.filter((c) => c === "invalid_credentials")).toHaveLength(5);
    expect(codes.filter((c) => c === "rate_limited")).toHaveLength(7);
    expect((await login(TEST_PASSWORD, "203.0.113.60")).status).toBe(429);
    expect((await login(TEST_PASSWORD, "198.51.100.9")).status).toBe(200);
  });

  it("tells nothing about a dead link's target: revoked, expired or exhausted links answer only their code", async () => {
    const file = await seedFile(h, { space: mine(), userId: alice.user.id, name: `${unique("dead")}.txt` });
    const created = await share({ file_id: file.id, max_downloads: 1 });
    expect((await pub("GET", created.token, "/content")).status).toBe(200);
    for (const path of ["", "/content", "/preview", "/items"]) {
      const answer = await pub("GET", created.token, path);
      expect(answer.status).toBe(410);
      const text = await answer.text();
      expect(JSON.parse(text).error.code).toBe("share_exhausted");
      expect(text).not.toContain(file.name);
      expect(text).not.toContain(file.id);
    }
  });
});
