// WebDAV through a well-kept npm client (the `webdav` package) against the primary inside workerd,
// with Follower 1 a real agent process: writes are routed by the user's or team's policy group like
// any upload and land on the follower, show in the API the console uses, a DELETE goes to the trash,
// a COPY inside one remote policy is made by the follower itself, an overwrite switches content only
// once the new bytes are complete, and locks and properties behave as RFC 4918 has them.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type FileStat, type WebDAVClient } from "webdav";
import { basic, type DavStack, startDavStack } from "./stack.ts";

const MiB = 1024 * 1024;
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

function bytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    out[i] = x & 0xff;
  }
  return out;
}

interface ApiFile {
  id: string;
  name: string;
  size: number;
  sha256: string;
  policy_id: string;
  type: string;
}

let env: DavStack;
let dav: WebDAVClient;

async function listing(folderId?: string, space = "me"): Promise<ApiFile[]> {
  const query = new URLSearchParams({ limit: "200", ...(folderId ? { folder_id: folderId } : {}) });
  return (await env.user.api<{ items: ApiFile[] }>("GET", `/api/v1/spaces/${space}/items?${query}`)).items;
}

async function fileNamed(name: string, folderId?: string): Promise<ApiFile | undefined> {
  return (await listing(folderId)).find((item) => item.name === name);
}

const raw = (
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: BodyInit } = {},
) =>
  fetch(`${env.base}${path}`, {
    method,
    headers: { authorization: basic(env.user), ...init.headers },
    ...(init.body === undefined ? {} : { body: init.body }),
  });

beforeAll(async () => {
  env = await startDavStack();
  dav = createClient(env.davUrl, { username: env.user.username, password: env.user.appPassword });
}, 180_000);

afterAll(async () => {
  await env?.close();
});

describe("WebDAV files", () => {
  it("routes a PUT by the user's policy group to the follower, in parts, and shows it in the API", async () => {
    const data = bytes(3 * MiB + 4321, 1);
    expect(await dav.putFileContents("/report.bin", data)).toBe(true);
    const file = await fileNamed("report.bin");
    expect(file).toMatchObject({ size: data.length, sha256: sha256(data), policy_id: env.ids.remotePolicy });
    const onDisk = new Uint8Array(await readFile(join(env.ingressDir, file!.id)));
    expect(sha256(onDisk)).toBe(sha256(data));
    const back = (await dav.getFileContents("/report.bin")) as Buffer;
    expect(sha256(new Uint8Array(back))).toBe(sha256(data));
    const stat = (await dav.stat("/report.bin")) as FileStat;
    expect(stat).toMatchObject({ type: "file", size: data.length, etag: sha256(data) });
  });

  it("takes macOS Finder's chunked body with X-Expected-Entity-Length, and refuses a longer one", async () => {
    const chunked = (pieces: string[]) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const piece of pieces) controller.enqueue(new TextEncoder().encode(piece));
          controller.close();
        },
      });
    const text = "a body sent in chunks without a Content-Length";
    const put = await fetch(`${env.base}/dav/finder.txt`, {
      method: "PUT",
      headers: { authorization: basic(env.user), "x-expected-entity-length": String(text.length) },
      body: chunked(text.match(/.{1,7}/g) ?? []),
      duplex: "half",
    } as RequestInit);
    expect(put.status).toBe(201);
    expect(await dav.getFileContents("/finder.txt", { format: "text" })).toBe(text);
    const liar = await fetch(`${env.base}/dav/liar.txt`, {
      method: "PUT",
      headers: { authorization: basic(env.user), "x-expected-entity-length": "3" },
      body: chunked(["more than three"]),
      duplex: "half",
    } as RequestInit);
    expect(liar.status).toBe(400);
    expect(liar.headers.get("x-flotilla-error")).toBe("content_length_mismatch");
    expect(await dav.exists("/liar.txt")).toBe(false);
  });

  it("refuses a body of several parts that ends before its declared length, leaving no file and no staged part", async () => {
    // Parts are read from the body while the one before is being stored: when the body runs dry in
    // part 4, parts before it may still be in flight, and the refusal waits for them before cleaning up.
    const staged = join(env.ingressDir, "..", ".flotilla", "multipart");
    const entries = async () => (existsSync(staged) ? await readdir(staged) : []);
    const stagedBefore = await entries();
    const sent = bytes(3 * MiB + 100, 7);
    let at = 0;
    const put = await fetch(`${env.base}/dav/short.bin`, {
      method: "PUT",
      headers: { authorization: basic(env.user), "x-expected-entity-length": String(5 * MiB) },
      body: new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (at < sent.length) {
            controller.enqueue(new Uint8Array(sent.subarray(at, at + 256 * 1024)));
            at += 256 * 1024;
            return;
          }
          // The body ends only once the follower holds this upload's parts (staged beside the files).
          while ((await entries()).length === stagedBefore.length) {
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(put.status).toBe(400);
    expect(put.headers.get("x-flotilla-error")).toBe("content_length_mismatch");
    expect(await dav.exists("/short.bin")).toBe(false);
    expect(await entries()).toEqual(stagedBefore);
  });

  it("stores a chunked body of unknown size in parts of the policy's chunk size", async () => {
    const pieces = Array.from({ length: 20 }, (_, i) => bytes(MiB + i, 10 + i));
    const whole = Buffer.concat(pieces);
    let next = 0;
    const put = await fetch(`${env.base}/dav/streamed.bin`, {
      method: "PUT",
      headers: { authorization: basic(env.user) },
      body: new ReadableStream<Uint8Array>({
        pull(controller) {
          const piece = pieces[next++];
          if (piece) controller.enqueue(new Uint8Array(piece));
          else controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(put.status).toBe(201);
    const file = await fileNamed("streamed.bin");
    expect(file).toMatchObject({
      size: whole.length,
      sha256: sha256(whole),
      policy_id: env.ids.remotePolicy,
    });
    expect(sha256(new Uint8Array(await readFile(join(env.ingressDir, file!.id))))).toBe(sha256(whole));
  });

  it("answers ranges, If-None-Match and If-Range like the download API", async () => {
    const data = bytes(5000, 2);
    await dav.putFileContents("/ranged.bin", data);
    const part = await raw("GET", "/dav/ranged.bin", { headers: { range: "bytes=100-199" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 100-199/5000");
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(100, 200))).toBe(true);
    const etag = `"${sha256(data)}"`;
    expect((await raw("GET", "/dav/ranged.bin", { headers: { "if-none-match": etag } })).status).toBe(304);
    const stale = await raw("GET", "/dav/ranged.bin", {
      headers: { range: "bytes=0-9", "if-range": '"other"' },
    });
    expect(stale.status).toBe(200);
    await stale.body?.cancel();
    const outside = await raw("GET", "/dav/ranged.bin", { headers: { range: "bytes=9000-" } });
    expect(outside.status).toBe(416);
    await outside.body?.cancel();
  });

  it("creates folders and lists nested, unicode and space-containing names", async () => {
    await dav.createDirectory("/Été 2024");
    await dav.createDirectory("/Été 2024/日本 写真");
    await dav.putFileContents("/Été 2024/日本 写真/a b.txt", "hello");
    await dav.putFileContents("/Été 2024/empty.txt", "");
    const top = await dav.getDirectoryContents("/Été 2024");
    expect((top as FileStat[]).map((s) => [s.basename, s.type]).sort()).toEqual([
      ["empty.txt", "file"],
      ["日本 写真", "directory"],
    ]);
    expect(await dav.getFileContents("/Été 2024/日本 写真/a b.txt", { format: "text" })).toBe("hello");
    expect(((await dav.stat("/Été 2024/empty.txt")) as FileStat).size).toBe(0);
  });

  it("replaces an existing file's content in place: same file, new bytes, the old object deleted", async () => {
    await dav.putFileContents("/replace.txt", "first version");
    const before = await fileNamed("replace.txt");
    const oldObject = join(env.ingressDir, before!.id);
    expect(existsSync(oldObject)).toBe(true);
    const next = bytes(2 * MiB + 7, 3);
    await dav.putFileContents("/replace.txt", next);
    const after = await fileNamed("replace.txt");
    expect(after).toMatchObject({ id: before!.id, size: next.length, sha256: sha256(next) });
    expect(existsSync(oldObject)).toBe(false);
    expect(sha256(new Uint8Array((await dav.getFileContents("/replace.txt")) as Buffer))).toBe(sha256(next));
  });

  it("keeps the old content when a replacement is refused half way (declared digest wrong)", async () => {
    await dav.putFileContents("/kept.txt", "the good bytes");
    const before = await fileNamed("kept.txt");
    const refused = await raw("PUT", "/dav/kept.txt", {
      headers: { "x-flotilla-sha256": "0".repeat(64) },
      body: new Uint8Array(bytes(2 * MiB, 4)),
    });
    expect(refused.status).toBe(400);
    expect(refused.headers.get("x-flotilla-error")).toBe("content_digest_mismatch");
    expect(await fileNamed("kept.txt")).toMatchObject({ id: before!.id, sha256: before!.sha256 });
    expect(await dav.getFileContents("/kept.txt", { format: "text" })).toBe("the good bytes");
  });

  it("moves a DELETE to the trash, restorable through the API", async () => {
    await dav.putFileContents("/trash-me.txt", "keep me around");
    const file = await fileNamed("trash-me.txt");
    await dav.deleteFile("/trash-me.txt");
    expect(await dav.exists("/trash-me.txt")).toBe(false);
    const trash = await env.user.api<{ items: ApiFile[] }>("GET", "/api/v1/spaces/me/trash");
    expect(trash.items.map((i) => i.id)).toContain(file!.id);
    await env.user.api("POST", `/api/v1/spaces/me/trash/files/${file!.id}/restore`);
    expect(await dav.getFileContents("/trash-me.txt", { format: "text" })).toBe("keep me around");
  });

  it("moves and renames inside the space without moving bytes", async () => {
    await dav.createDirectory("/move-src");
    await dav.putFileContents("/move-src/doc.txt", "moving");
    const file = await fileNamed("doc.txt", (await fileNamed("move-src"))!.id);
    await dav.createDirectory("/move-dst");
    await dav.moveFile("/move-src/doc.txt", "/move-dst/renamed.txt");
    const moved = await fileNamed("renamed.txt", (await fileNamed("move-dst"))!.id);
    expect(moved).toMatchObject({ id: file!.id, sha256: file!.sha256 });
    expect(await dav.exists("/move-src/doc.txt")).toBe(false);
  });

  it("copies a file inside one remote policy on the follower itself", async () => {
    const data = bytes(MiB + 3, 5);
    await dav.putFileContents("/original.bin", data);
    const copiesBefore = env.logs.filter((l) => l.includes("object copied")).length;
    await dav.copyFile("/original.bin", "/copy.bin");
    const [original, copy] = [await fileNamed("original.bin"), await fileNamed("copy.bin")];
    expect(copy).toMatchObject({ sha256: sha256(data), policy_id: env.ids.remotePolicy });
    expect(copy!.id).not.toBe(original!.id);
    expect(sha256(new Uint8Array(await readFile(join(env.ingressDir, copy!.id))))).toBe(sha256(data));
    expect(env.logs.filter((l) => l.includes("object copied")).length).toBe(copiesBefore + 1);
  });

  it("copies a folder tree at Depth infinity, and only the folder at Depth 0", async () => {
    await dav.createDirectory("/tree/sub", { recursive: true });
    await dav.putFileContents("/tree/one.txt", "1");
    await dav.putFileContents("/tree/sub/two.txt", "2");
    await dav.copyFile("/tree", "/tree-copy");
    expect(await dav.getFileContents("/tree-copy/sub/two.txt", { format: "text" })).toBe("2");
    const shallow = await raw("COPY", "/dav/tree", {
      headers: { destination: `${env.base}/dav/tree-shallow`, depth: "0" },
    });
    expect(shallow.status).toBe(201);
    expect(await dav.getDirectoryContents("/tree-shallow")).toEqual([]);
  });

  it("keeps dead properties per resource (set, read, removed) and refuses live ones", async () => {
    await dav.putFileContents("/props.txt", "p");
    const set = await raw("PROPPATCH", "/dav/props.txt", {
      headers: { "content-type": "application/xml" },
      body: `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop><Z:Win32LastModifiedTime>Mon, 01 Jan 2024 10:00:00 GMT</Z:Win32LastModifiedTime></D:prop></D:set></D:propertyupdate>`,
    });
    expect(set.status).toBe(207);
    expect(await set.text()).toContain("200 OK");
    const read = await raw("PROPFIND", "/dav/props.txt", {
      headers: { depth: "0", "content-type": "application/xml" },
      body: `<D:propfind xmlns:D="DAV:"><D:prop><Z:Win32LastModifiedTime xmlns:Z="urn:schemas-microsoft-com:"/></D:prop></D:propfind>`,
    });
    expect(await read.text()).toContain("Mon, 01 Jan 2024 10:00:00 GMT</Z:Win32LastModifiedTime>");
    const live = await raw("PROPPATCH", "/dav/props.txt", {
      body: `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getetag>"x"</D:getetag><D:foo>1</D:foo></D:prop></D:set></D:propertyupdate>`,
    });
    const text = await live.text();
    expect(text).toContain("403 Forbidden");
    expect(text).toContain("424 Failed Dependency");
  });

  it("enforces exclusive locks: 423 without the token, writes with it, and UNLOCK releases", async () => {
    await dav.putFileContents("/locked.txt", "v1");
    const lock = await dav.lock("/locked.txt", { timeout: "Second-300" });
    expect(lock.token).toMatch(/^opaquelocktoken:/);
    expect(lock.serverTimeout).toMatch(/^Second-(300|29\d)$/);
    const refused = await raw("PUT", "/dav/locked.txt", { body: "v2" });
    expect(refused.status).toBe(423);
    expect(refused.headers.get("x-flotilla-error")).toBe("locked");
    expect((await raw("DELETE", "/dav/locked.txt")).status).toBe(423);
    const allowed = await raw("PUT", "/dav/locked.txt", { headers: { if: `(<${lock.token}>)` }, body: "v2" });
    expect(allowed.status).toBe(204);
    await dav.unlock("/locked.txt", lock.token);
    expect((await raw("PUT", "/dav/locked.txt", { body: "v3" })).status).toBe(204);
  });

  it("answers conditional writes: If-None-Match * refuses an overwrite, If-Match needs the ETag", async () => {
    await dav.putFileContents("/cond.txt", "one");
    expect(
      (await raw("PUT", "/dav/cond.txt", { headers: { "if-none-match": "*" }, body: "two" })).status,
    ).toBe(412);
    expect(
      (await raw("PUT", "/dav/cond.txt", { headers: { "if-match": '"nope"' }, body: "two" })).status,
    ).toBe(412);
    const etag = `"${(await fileNamed("cond.txt"))!.sha256}"`;
    expect((await raw("PUT", "/dav/cond.txt", { headers: { "if-match": etag }, body: "two" })).status).toBe(
      204,
    );
  });
});

describe("WebDAV team spaces", () => {
  it("lists the user's teams under Team spaces/ and routes a team write by the team's group", async () => {
    const primaryGroup = await env.admin<{ id: string }>("POST", "/api/v1/admin/policy-groups", {
      name: "Team to primary",
      rules: [{ policy_id: env.ids.primaryPolicy, priority: 1, min_size: 0, max_size: 0 }],
    });
    const team = await env.admin<{ id: string }>("POST", "/api/v1/admin/teams", {
      name: "Design Team",
      policy_group_id: primaryGroup.id,
    });
    const { users } = await env.admin<{ users: { id: string; username: string }[] }>(
      "GET",
      "/api/v1/admin/users",
    );
    const me = users.find((u) => u.username === env.user.username)!;
    await env.admin("PUT", `/api/v1/admin/teams/${team.id}/members/${me.id}`, { role: "member" });
    const root = (await dav.getDirectoryContents("/")) as FileStat[];
    expect(root.find((s) => s.basename === "Team spaces")?.type).toBe("directory");
    const teams = (await dav.getDirectoryContents("/Team spaces")) as FileStat[];
    expect(teams.map((t) => t.basename)).toEqual(["Design Team"]);
    await dav.putFileContents("/Team spaces/Design Team/brief.txt", "team file");
    const brief = (await listing(undefined, team.id)).find((i) => i.name === "brief.txt");
    expect(brief?.policy_id).toBe(env.ids.primaryPolicy);
    // Into another space a MOVE is a copy there (routed by that space's group) and a trashed original.
    await dav.putFileContents("/mine.txt", "personal");
    const mine = await fileNamed("mine.txt");
    await dav.moveFile("/mine.txt", "/Team spaces/Design Team/mine.txt");
    const moved = (await listing(undefined, team.id)).find((i) => i.name === "mine.txt");
    expect(moved).toMatchObject({ sha256: mine!.sha256, policy_id: env.ids.primaryPolicy });
    const trash = await env.user.api<{ items: ApiFile[] }>("GET", "/api/v1/spaces/me/trash");
    expect(trash.items.map((i) => i.id)).toContain(mine!.id);
  });
});
