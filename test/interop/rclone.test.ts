// rclone (Debian package `rclone`) as a real WebDAV client of the single-box stack: a tree of a few
// hundred files (nested folders, unicode and space-containing names, empty files, one file of several
// chunks of the policy) synced up to a relay_stream remote policy, checked, found on the follower's
// ingress directory, synced back down into another folder with every SHA-256 compared; a MOVE and a
// DELETE through rclone seen in the API the console shows (the trash); a revoked app password
// refused; and one PUT of a few GiB (FLOTILLA_INTEROP_LARGE_GIB, default 3) through the stack.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DavStack, startDavStack } from "../webdav/stack.ts";
import { rclone, rcloneRemote, requireTool } from "./tools.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

let env: DavStack;
let work: string;
let remote: NodeJS.ProcessEnv;

interface ApiItem {
  id: string;
  name: string;
  type: "file" | "folder";
  size?: number;
  sha256?: string;
}

function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .once("error", reject)
      .once("end", () => resolve(hash.digest("hex")));
  });
}

async function hashTree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(relative(root, path).normalize("NFC"), await hashFile(path));
  }
  return out;
}

/** A deterministic tree: nested folders, unicode and spaces in names, empty files, one multi-part file. */
async function makeTree(root: string): Promise<number> {
  const folders = [
    "",
    "docs",
    "docs/2024 reports",
    "photos/été",
    "photos/été/日本 写真",
    "deep/a/b/c/d",
    "Ünïcödé",
  ];
  const stems = ["file", "Файл", "naïve café", "note with spaces", "数据", "x"];
  let count = 0;
  let seed = 7;
  for (const folder of folders) {
    await mkdir(join(root, folder), { recursive: true });
    for (let i = 0; i < 45; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const size = [0, 1, 17, 1000, 4096, 50_000][seed % 6]!;
      await writeFile(join(root, folder, `${stems[i % stems.length]} ${i}.txt`), randomBytes(size));
      count++;
    }
  }
  await writeFile(join(root, "docs", "several chunks.bin"), randomBytes(3 * MiB + 12_345));
  return count + 1;
}

async function items(space: string, folderId?: string): Promise<ApiItem[]> {
  const query = new URLSearchParams({ limit: "200", ...(folderId ? { folder_id: folderId } : {}) });
  return (await env.user.api<{ items: ApiItem[] }>("GET", `/api/v1/spaces/${space}/items?${query}`)).items;
}

/** Every file of the own space by its path, walked through the API the console uses. */
async function filesByPath(folderId?: string, prefix = ""): Promise<Map<string, ApiItem>> {
  const out = new Map<string, ApiItem>();
  for (const item of await items("me", folderId)) {
    const path = prefix ? `${prefix}/${item.name}` : item.name;
    if (item.type === "file") out.set(path, item);
    else for (const [p, f] of await filesByPath(item.id, path)) out.set(p, f);
  }
  return out;
}

beforeAll(async () => {
  requireTool("rclone");
  // Small files go to a policy with 1 MiB chunks (so a few MiB make several parts), large ones to one
  // with 64 MiB chunks: both relay_stream policies on Follower 1's default target.
  env = await startDavStack({ largeFrom: 256 * MiB });
  work = await mkdtemp(join(tmpdir(), "flotilla-rclone-"));
  remote = await rcloneRemote(env.davUrl, env.user.username, env.user.appPassword);
});

afterAll(async () => {
  await env?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("rclone", () => {
  it("syncs a tree up and back down with every SHA-256 equal, the objects on the follower", async () => {
    const up = join(work, "up");
    const count = await makeTree(up);
    expect(count).toBeGreaterThanOrEqual(300);
    const sync = await rclone(remote, ["sync", up, "flot:tree"]);
    expect(sync.code, sync.stderr).toBe(0);
    const check = await rclone(remote, ["check", up, "flot:tree"]);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stderr).toContain(`${count} matching files`);

    const sent = await hashTree(up);
    const [tree] = (await items("me")).filter((i) => i.name === "tree");
    const stored = await filesByPath(tree!.id);
    expect([...stored.keys()].sort()).toEqual([...sent.keys()].sort());
    for (const [path, file] of stored) {
      expect(file.sha256, path).toBe(sent.get(path));
      expect(await hashFile(join(env.ingressDir, file.id)), path).toBe(sent.get(path));
    }

    const down = join(work, "down");
    const back = await rclone(remote, ["sync", "flot:tree", down]);
    expect(back.code, back.stderr).toBe(0);
    expect(await hashTree(down)).toEqual(sent);
  });

  it("moves and deletes through rclone, as the console's view and its trash show", async () => {
    const before = await filesByPath();
    const moved = before.get("tree/docs/file 0.txt")!;
    const deleted = before.get("tree/docs/Файл 1.txt")!;
    const move = await rclone(remote, ["moveto", "flot:tree/docs/file 0.txt", "flot:tree/moved here.txt"]);
    expect(move.code, move.stderr).toBe(0);
    const remove = await rclone(remote, ["deletefile", "flot:tree/docs/Файл 1.txt"]);
    expect(remove.code, remove.stderr).toBe(0);
    const after = await filesByPath();
    expect(after.get("tree/moved here.txt")).toMatchObject({ id: moved.id, sha256: moved.sha256 });
    expect(after.has("tree/docs/file 0.txt")).toBe(false);
    expect(after.has("tree/docs/Файл 1.txt")).toBe(false);
    const trash = await env.user.api<{ items: ApiItem[] }>("GET", "/api/v1/spaces/me/trash");
    expect(trash.items.map((i) => i.id)).toContain(deleted.id);
  });

  it("is refused once its app password is revoked", async () => {
    const user = await env.addUser("revokee");
    const theirs = await rcloneRemote(env.davUrl, user.username, user.appPassword);
    expect((await rclone(theirs, ["lsf", "flot:"])).code).toBe(0);
    await user.api("DELETE", `/api/v1/auth/app-passwords/${user.appPasswordId}`);
    const refused = await rclone(theirs, ["lsf", "flot:"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/401|Unauthorized/);
  });

  it("PUTs one file of a few GiB through the stack, stored whole and verified", async () => {
    const size = Math.round(Number(process.env.FLOTILLA_INTEROP_LARGE_GIB ?? 3) * GiB);
    const path = join(work, "large.bin");
    const hash = createHash("sha256");
    const out = createWriteStream(path);
    for (let written = 0; written < size; written += 8 * MiB) {
      const block = randomBytes(Math.min(8 * MiB, size - written));
      hash.update(block);
      if (!out.write(block)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
    }
    await new Promise<void>((resolve, reject) =>
      out.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
    const sha256 = hash.digest("hex");
    const copy = await rclone(remote, ["copyto", path, "flot:large.bin"]);
    expect(copy.code, copy.stderr).toBe(0);
    const [file] = (await items("me")).filter((i) => i.name === "large.bin");
    expect(file).toMatchObject({ size, sha256 });
    expect(await hashFile(join(env.ingressDir, file!.id))).toBe(sha256);
    await env.user.api("DELETE", `/api/v1/spaces/me/files/${file!.id}`);
    await env.user.api("DELETE", `/api/v1/spaces/me/trash/files/${file!.id}`);
    await rm(path);
  });
});
