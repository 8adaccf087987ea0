// Owns uploading as a client does (upload sessions, docs/uploads.md): init, then parts through the
// primary (relay_stream) or straight to the follower URLs the API hands out (presigned, sent with the
// primary's Origin as a browser would, so the CORS answer is checked too), resume check, complete.
import { z } from "zod";
import type { Api } from "./api.ts";
import { apiErrorFrom } from "./api.ts";
import type { Mode } from "./config.ts";
import { type Fixture, sha256 } from "./fixtures.ts";
import { check } from "./walk.ts";

export const fileSchema = z.object({
  type: z.literal("file"),
  id: z.string(),
  name: z.string(),
  folder_id: z.string().nullable(),
  size: z.number(),
  sha256: z.string(),
  content_type: z.string(),
  policy_id: z.string(),
  trashed_at: z.string().nullable(),
});
export type FileOut = z.infer<typeof fileSchema>;

const uploadSchema = z.object({
  id: z.string(),
  state: z.string(),
  mode: z.enum(["relay_stream", "presigned"]),
  size: z.number(),
  policy_id: z.string(),
  chunk_size: z.number(),
  part_count: z.number(),
  parts_received: z.array(z.number()),
  missing_parts: z.array(z.number()),
  file_id: z.string().nullable(),
});
type Upload = z.infer<typeof uploadSchema>;

const partSchema = z.object({ part_number: z.number(), size: z.number(), sha256: z.string() });
const presignSchema = z.object({
  urls: z.array(
    z.object({
      part_number: z.number(),
      url: z.string(),
      method: z.literal("PUT"),
      headers: z.record(z.string(), z.string()),
    }),
  ),
});
const completeSchema = z.object({ upload: uploadSchema, file: fileSchema });

export interface Uploaded {
  file: FileOut;
  parts: number;
}

function partBytes(fixture: Fixture, upload: Upload, n: number): Uint8Array<ArrayBuffer> {
  if (upload.part_count === 1) return fixture.bytes;
  return fixture.bytes.slice(
    (n - 1) * upload.chunk_size,
    Math.min(n * upload.chunk_size, fixture.bytes.length),
  );
}

/** Runs `work` over `items` with at most `limit` in flight (parts go in parallel, as browsers send them). */
async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const workers = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  });
  await Promise.all(workers);
}

async function relayParts(api: Api, upload: Upload, fixture: Fixture): Promise<void> {
  await inParallel(upload.missing_parts, 3, async (n) => {
    const bytes = partBytes(fixture, upload, n);
    const digest = sha256(bytes);
    const part = await api.json("PUT", `/api/v1/uploads/${upload.id}/parts/${n}`, partSchema, {
      raw: bytes,
      headers: { "content-type": "application/octet-stream", "x-flotilla-sha256": digest },
    });
    check(
      part.size === bytes.length && part.sha256 === digest,
      `part ${n} was stored as ${part.size} bytes, ${part.sha256}`,
    );
  });
}

async function presignedParts(api: Api, upload: Upload, fixture: Fixture, origin: string): Promise<void> {
  const urls: z.infer<typeof presignSchema>["urls"] = [];
  // The API hands out at most 100 part URLs per request.
  for (let i = 0; i < upload.missing_parts.length; i += 100) {
    const batch = await api.json("POST", `/api/v1/uploads/${upload.id}/presign`, presignSchema, {
      body: { part_numbers: upload.missing_parts.slice(i, i + 100) },
    });
    urls.push(...batch.urls);
  }
  check(
    urls.length === upload.missing_parts.length,
    `asked for ${upload.missing_parts.length} URLs, got ${urls.length}`,
  );
  const primaryHost = new URL(api.baseUrl).host;
  await inParallel(urls, 3, async (entry) => {
    check(
      new URL(entry.url).host !== primaryHost,
      `part ${entry.part_number} URL points at the primary, not the follower`,
    );
    const bytes = partBytes(fixture, upload, entry.part_number);
    const response = await fetch(entry.url, {
      method: "PUT",
      headers: { ...entry.headers, origin },
      body: bytes,
    });
    if (!response.ok) throw await apiErrorFrom("PUT", `presigned part ${entry.part_number}`, response);
    await response.body?.cancel();
    check(
      response.headers.get("access-control-allow-origin") === origin,
      `follower CORS: Access-Control-Allow-Origin is ${response.headers.get("access-control-allow-origin")}`,
    );
    const exposed = (response.headers.get("access-control-expose-headers") ?? "").toLowerCase();
    check(exposed.includes("etag"), "follower CORS: PUT does not expose ETag");
  });
}

/** Uploads into `space`: "me" (the personal space) or a team id. */
export async function uploadFile(
  api: Api,
  fixture: Fixture,
  mode: Mode,
  clientId: string,
  space = "me",
): Promise<Uploaded> {
  let upload = await api.json("POST", `/api/v1/spaces/${space}/uploads`, uploadSchema, {
    body: {
      name: fixture.name,
      size: fixture.bytes.length,
      sha256: fixture.sha256,
      content_type: fixture.contentType,
      client_id: clientId,
    },
  });
  check(upload.mode === mode, `the session chose ${upload.mode}, the policy says ${mode}`);
  const expectedParts =
    upload.chunk_size === 0 ? 1 : Math.max(1, Math.ceil(fixture.bytes.length / upload.chunk_size));
  check(upload.part_count === expectedParts, `${upload.part_count} parts planned, expected ${expectedParts}`);
  if (mode === "relay_stream") await relayParts(api, upload, fixture);
  else await presignedParts(api, upload, fixture, new URL(api.baseUrl).origin);
  // What a resuming client asks: every part must be listed as received before completing.
  upload = await api.json("GET", `/api/v1/uploads/${upload.id}`, uploadSchema);
  check(
    upload.missing_parts.length === 0,
    `parts still missing after sending all: ${upload.missing_parts.join(",")}`,
  );
  const done = await api.json("POST", `/api/v1/uploads/${upload.id}/complete`, completeSchema, { body: {} });
  check(done.file.size === fixture.bytes.length, `file size ${done.file.size}, sent ${fixture.bytes.length}`);
  check(done.file.sha256 === fixture.sha256, `file sha256 ${done.file.sha256}, sent ${fixture.sha256}`);
  check(done.file.policy_id === upload.policy_id, "the file does not keep the session's policy");
  return { file: done.file, parts: upload.part_count };
}
