// The files API inside the real worker bundle in workerd (Miniflare), over the local libSQL server and
// the R2 binding, as in `npm start`: folders (recursive queries through Hrana), an upload into a
// subfolder, ranged download and preview streamed from R2, a folder's subtree through the trash and
// back, a share link, and a purge.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LibsqlServer, startLibsqlServer } from "../../../scripts/libsql-server/index.ts";
import { migrateDatabase } from "../../../scripts/migrate.ts";
import { bundleWorker, type Primary, startPrimary } from "../../../scripts/stack/primary.ts";
import { ensureAdmin, ensureDefaults } from "../../../worker/accounts/bootstrap.ts";

const PASSWORD = "files-in-workerd-password";
let dir = "";
let libsql: LibsqlServer;
let primary: Primary;
let token = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flotilla-files-workerd-"));
  libsql = await startLibsqlServer({ path: join(dir, "primary.db"), port: 0, authToken: "test-token" });
  const client = createClient({ url: libsql.url, authToken: "test-token" });
  await migrateDatabase(client);
  const db = drizzle(client);
  await ensureAdmin(db, { username: "owner", password: PASSWORD });
  await ensureDefaults(db);
  client.close();
  primary = await startPrimary({
    scriptPath: await bundleWorker(join(dir, "run")),
    host: "127.0.0.1",
    port: 0,
    stateDir: join(dir, "primary"),
    bindings: {
      LIBSQL_URL: libsql.url,
      LIBSQL_AUTH_TOKEN: "test-token",
      FLOTILLA_SECRET: "a-test-secret-that-is-long-enough-0123456789",
    },
  });
  const login = await fetch(new URL("/api/v1/auth/login", primary.url), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "owner", password: PASSWORD, client: "api" }),
  });
  token = ((await login.json()) as { token: string }).token;
}, 120_000);

afterAll(async () => {
  await primary?.close();
  await libsql?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function api<T = Record<string, unknown>>(
  method: string,
  path: string,
  options: { body?: unknown; raw?: BodyInit; headers?: Record<string, string>; status?: number } = {},
): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...options.headers };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(new URL(path, primary.url), {
    method,
    headers,
    body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
  });
  const text = await response.text();
  const expected = options.status ?? (method === "POST" ? 201 : 200);
  if (response.status !== expected) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

describe("files in workerd", () => {
  it("walks folders, upload, range, preview, trash and restore, a share and a purge", async () => {
    const top = await api<{ id: string }>("POST", "/api/v1/spaces/me/folders", { body: { name: "Top" } });
    const inner = await api<{ id: string }>("POST", "/api/v1/spaces/me/folders", {
      body: { name: "Inner", parent_id: top.id },
    });
    const content = "0123456789abcdef";
    const upload = await api<{ id: string }>("POST", "/api/v1/spaces/me/uploads", {
      body: { name: "digits.png", size: content.length, folder_id: inner.id, content_type: "image/png" },
    });
    await api("PUT", `/api/v1/uploads/${upload.id}/parts/1`, { raw: content });
    const done = await api<{ file: { id: string } }>("POST", `/api/v1/uploads/${upload.id}/complete`, {
      body: {},
      status: 200,
    });
    const fileId = done.file.id;

    const listing = await api<{ path: { name: string }[]; items: { name: string }[] }>(
      "GET",
      `/api/v1/spaces/me/items?folder_id=${inner.id}`,
    );
    expect(listing.path.map((p) => p.name)).toEqual(["Top", "Inner"]);
    expect(listing.items.map((i) => i.name)).toEqual(["digits.png"]);

    const ranged = await fetch(new URL(`/api/v1/spaces/me/files/${fileId}/content`, primary.url), {
      headers: { authorization: `Bearer ${token}`, range: "bytes=10-" },
    });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("content-range")).toBe("bytes 10-15/16");
    expect(await ranged.text()).toBe("abcdef");
    const preview = await fetch(new URL(`/api/v1/spaces/me/files/${fileId}/preview`, primary.url), {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(preview.headers.get("content-type")).toBe("image/png");
    expect(preview.headers.get("content-security-policy")).toMatch(/^sandbox;/);
    expect(await preview.text()).toBe(content);

    await api("DELETE", `/api/v1/spaces/me/folders/${top.id}`, { status: 204 });
    await api("GET", `/api/v1/spaces/me/files/${fileId}`, { status: 404 });
    await api("POST", `/api/v1/spaces/me/trash/folders/${top.id}/restore`, { status: 200 });
    await api("GET", `/api/v1/spaces/me/files/${fileId}`);

    const shared = await api<{ token: string }>("POST", "/api/v1/spaces/me/shares", {
      body: { folder_id: top.id, password: "pw" },
    });
    const unlock = await fetch(new URL(`/api/v1/public/shares/${shared.token}/unlock`, primary.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ password: "pw" }),
    });
    const { unlock_token } = (await unlock.json()) as { unlock_token: string };
    const publicDownload = await fetch(
      new URL(`/api/v1/public/shares/${shared.token}/files/${fileId}/content`, primary.url),
      { headers: { "x-share-unlock": unlock_token } },
    );
    expect(publicDownload.status).toBe(200);
    expect(await publicDownload.text()).toBe(content);

    // A link without a password unlocks after the same equal-cost check (it answered 500 in workerd).
    const open = await api<{ token: string }>("POST", "/api/v1/spaces/me/shares", {
      body: { file_id: fileId },
    });
    const openUnlock = await fetch(new URL(`/api/v1/public/shares/${open.token}/unlock`, primary.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ password: "anything" }),
    });
    expect(openUnlock.status).toBe(200);
    expect(((await openUnlock.json()) as { unlock_token: string }).unlock_token).toEqual(expect.any(String));

    await api("DELETE", `/api/v1/spaces/me/files/${fileId}`, { status: 204 });
    await api("DELETE", `/api/v1/spaces/me/trash/files/${fileId}`, { status: 204 });
    const trash = await api<{ items: unknown[] }>("GET", "/api/v1/spaces/me/trash");
    expect(trash.items).toEqual([]);
  });
});
