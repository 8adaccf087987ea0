// Owns the user's side of tutorial §8 after uploading (docs/files.md): whole and ranged downloads through
// the primary (relay_stream) or by following the redirect to the follower (presigned, with the
// primary's Origin so the exposed headers are checked), share links, trash and restore, previews.
import { z } from "zod";
import { Api, apiErrorFrom } from "./api.ts";
import type { Mode } from "./config.ts";
import { type Fixture, sha256 } from "./fixtures.ts";
import { type FileOut, fileSchema } from "./upload.ts";
import { check } from "./walk.ts";

export interface Fetched {
  status: number;
  headers: Headers;
  bytes: Uint8Array;
  /** Where the bytes came from: the primary, or the follower URL the primary redirected to. */
  via: "primary" | "follower";
}

/**
 * GETs `path` on the primary; presigned answers a redirect that is followed by hand to check it
 * points away from the primary and that the follower exposes the headers a browser needs.
 */
export async function download(
  api: Api,
  path: string,
  mode: Mode,
  headers: Record<string, string> = {},
): Promise<Fetched> {
  const first = await api.fetch("GET", path, { headers, redirect: "manual" });
  if (mode === "relay_stream") {
    if (first.status >= 300 && first.status < 400)
      throw new Error(`relay_stream answered a ${first.status} redirect`);
    if (first.status >= 400) throw await apiErrorFrom("GET", path, first);
    return {
      status: first.status,
      headers: first.headers,
      bytes: new Uint8Array(await first.arrayBuffer()),
      via: "primary",
    };
  }
  if (first.status >= 400) throw await apiErrorFrom("GET", path, first);
  await first.body?.cancel();
  check(
    first.status === 302 || first.status === 303 || first.status === 307,
    `presigned answered ${first.status}, expected a redirect`,
  );
  const location = first.headers.get("location");
  check(location !== null, "redirect without Location");
  const target = new URL(location, api.baseUrl);
  check(target.host !== new URL(api.baseUrl).host, `redirect stays on the primary (${target.host})`);
  const origin = new URL(api.baseUrl).origin;
  const second = await fetch(target, { headers: { ...headers, origin } });
  if (second.status >= 400) throw await apiErrorFrom("GET", "the presigned follower URL", second);
  check(
    second.headers.get("access-control-allow-origin") === origin,
    "follower CORS: no Access-Control-Allow-Origin for the primary",
  );
  const exposed = (second.headers.get("access-control-expose-headers") ?? "").toLowerCase();
  for (const header of ["accept-ranges", "content-range", "content-length"]) {
    check(exposed.includes(header), `follower CORS: GET does not expose ${header}`);
  }
  return {
    status: second.status,
    headers: second.headers,
    bytes: new Uint8Array(await second.arrayBuffer()),
    via: "follower",
  };
}

export const contentPath = (file: FileOut) => `/api/v1/spaces/me/files/${file.id}/content`;

export async function downloadWhole(api: Api, file: FileOut, fixture: Fixture, mode: Mode): Promise<Fetched> {
  const got = await download(api, contentPath(file), mode);
  check(got.status === 200, `status ${got.status}, expected 200`);
  check(
    got.bytes.length === fixture.bytes.length,
    `${got.bytes.length} bytes, expected ${fixture.bytes.length}`,
  );
  check(sha256(got.bytes) === fixture.sha256, "the bytes differ from what was uploaded (sha256)");
  const etag = got.headers.get("etag");
  check(etag === `"${fixture.sha256}"`, `ETag ${etag}, expected the strong SHA-256 ETag`);
  return got;
}

/** A range across the first part boundary, then one past the end (416 naming the size). */
export async function downloadRange(
  api: Api,
  file: FileOut,
  fixture: Fixture,
  mode: Mode,
  chunk: number,
): Promise<string> {
  const start = chunk - 100;
  const end = Math.min(2 * chunk + 99, fixture.bytes.length - 1);
  const got = await download(api, contentPath(file), mode, { range: `bytes=${start}-${end}` });
  check(got.status === 206, `status ${got.status}, expected 206`);
  const range = got.headers.get("content-range");
  check(range === `bytes ${start}-${end}/${fixture.bytes.length}`, `Content-Range ${range}`);
  check(sha256(got.bytes) === sha256(fixture.bytes.subarray(start, end + 1)), "the ranged bytes differ");
  const past = await unsatisfiable(api, file, mode, fixture.bytes.length);
  return `bytes=${start}-${end} 206 via ${got.via}, past the end ${past}`;
}

async function unsatisfiable(api: Api, file: FileOut, mode: Mode, size: number): Promise<string> {
  const range = { range: `bytes=${size}-` };
  let response = await api.fetch("GET", contentPath(file), { headers: range, redirect: "manual" });
  if (mode === "presigned" && response.status >= 300 && response.status < 400) {
    await response.body?.cancel();
    response = await fetch(new URL(response.headers.get("location") ?? "", api.baseUrl), { headers: range });
  }
  await response.body?.cancel();
  check(response.status === 416, `a range past the end answered ${response.status}, expected 416`);
  const contentRange = response.headers.get("content-range");
  check(contentRange === `bytes */${size}`, `416 with Content-Range ${contentRange}`);
  return "416";
}

const shareCreatedSchema = z.object({
  share: z.object({ id: z.string(), state: z.string() }),
  token: z.string(),
  url: z.string(),
});
const publicShareSchema = z.object({
  kind: z.enum(["file", "folder"]),
  locked: z.boolean(),
  downloads_left: z.number().nullable(),
  file: z.object({ name: z.string(), size: z.number(), sha256: z.string() }).optional(),
});

export interface Share {
  id: string;
  token: string;
}

export async function createAndOpenShare(api: Api, file: FileOut): Promise<Share> {
  const created = await api.json("POST", "/api/v1/spaces/me/shares", shareCreatedSchema, {
    body: { file_id: file.id, max_downloads: 5 },
  });
  check(created.share.state === "active", `new share is ${created.share.state}`);
  const opened = await api.json("GET", `/api/v1/public/shares/${created.token}`, publicShareSchema, {
    anonymous: true,
  });
  check(opened.kind === "file" && !opened.locked, `share opens as ${opened.kind}, locked ${opened.locked}`);
  check(
    opened.file?.sha256 === file.sha256 && opened.file.name === file.name,
    "the share shows another file",
  );
  check(opened.downloads_left === 5, `downloads_left ${opened.downloads_left}, expected 5`);
  return { id: created.share.id, token: created.token };
}

export async function downloadShare(api: Api, share: Share, fixture: Fixture, mode: Mode): Promise<string> {
  const anonymous = new Api(api.baseUrl);
  const got = await download(anonymous, `/api/v1/public/shares/${share.token}/content`, mode);
  check(got.status === 200 && sha256(got.bytes) === fixture.sha256, "the shared bytes differ (sha256)");
  const after = await anonymous.json("GET", `/api/v1/public/shares/${share.token}`, publicShareSchema);
  check(after.downloads_left === 4, `downloads_left ${after.downloads_left} after one download, expected 4`);
  return `anonymous, via ${got.via}, sha256 ok, 4 downloads left`;
}

const trashSchema = z.object({ items: z.array(z.object({ type: z.string(), id: z.string() })) });

export async function deleteAndRestore(api: Api, file: FileOut, fixture: Fixture, mode: Mode): Promise<void> {
  await api.ok("DELETE", `/api/v1/spaces/me/files/${file.id}`);
  const trash = await api.json("GET", "/api/v1/spaces/me/trash", trashSchema);
  check(
    trash.items.some((item) => item.id === file.id),
    "the deleted file is not in the trash",
  );
  const gone = await api.fetch("GET", contentPath(file), { redirect: "manual" });
  await gone.body?.cancel();
  check(gone.status === 404, `a trashed file downloads with ${gone.status}, expected 404`);
  const restored = await api.json("POST", `/api/v1/spaces/me/trash/files/${file.id}/restore`, fileSchema, {
    body: {},
  });
  check(
    restored.trashed_at === null && restored.name === file.name,
    "the restored file is not back under its name",
  );
  await downloadWhole(api, file, fixture, mode);
}

export async function preview(api: Api, file: FileOut, fixture: Fixture): Promise<string> {
  const response = await api.fetch("GET", `/api/v1/spaces/me/files/${file.id}/preview`, {
    redirect: "manual",
  });
  if (!response.ok) throw await apiErrorFrom("GET", "preview", response);
  const bytes = new Uint8Array(await response.arrayBuffer());
  check(response.status === 200, `status ${response.status}`);
  check(
    response.headers.get("content-type")?.startsWith(fixture.contentType) === true,
    `Content-Type ${response.headers.get("content-type")}`,
  );
  check(response.headers.get("x-content-type-options") === "nosniff", "no X-Content-Type-Options: nosniff");
  check(
    (response.headers.get("content-security-policy") ?? "").includes("sandbox"),
    "no sandboxing Content-Security-Policy",
  );
  const disposition = response.headers.get("content-disposition") ?? "inline";
  check(!disposition.startsWith("attachment"), `Content-Disposition ${disposition}`);
  check(sha256(bytes) === fixture.sha256, "the previewed bytes differ");
  return `${fixture.contentType} inline, nosniff, sandbox CSP`;
}

export async function purge(api: Api, file: FileOut, space = "me"): Promise<void> {
  const trashed = await api.fetch("DELETE", `/api/v1/spaces/${space}/files/${file.id}`);
  await trashed.body?.cancel();
  if (!trashed.ok && trashed.status !== 404) throw await apiErrorFrom("DELETE", "file", trashed);
  await api.ok("DELETE", `/api/v1/spaces/${space}/trash/files/${file.id}`);
}
