// Owns the ways the benchmark moves one payload: through the primary's API with a relay_stream
// policy, through it with a presigned policy (parts PUT straight to follower URLs, downloads by the
// redirect), through WebDAV (one PUT and one GET of the whole file, to the same relay_stream policy),
// and straight to the agent with the node's own signed protocol v2 client (the baseline).
// Every transfer is streamed and its SHA-256 checked at the far end. Parts of all three go out through
// one client (node:http, a fixed Content-Length body written as the server takes it, as a browser
// sends a File slice): undici's fetch with a stream body ran relay parts into workerd at a fraction of
// the speed and with connection resets that node:http and browsers do not see, which measured the
// client, not Flotilla.
import { request } from "node:http";
import { z } from "zod";
import type { createFollowerClient } from "../../shared/protocol/client.ts";
import { paths } from "../../shared/protocol/keys.ts";
import { signRequest } from "../../shared/protocol/signing.ts";
import { type Api, ApiError, apiErrorFrom } from "../acceptance/api.ts";
import type { Mode } from "../acceptance/config.ts";
import { drain, type Payload } from "./data.ts";

type FollowerClient = ReturnType<typeof createFollowerClient>;

export interface Plan {
  partSize: number;
  concurrency: number;
}

const parts = (payload: Payload, partSize: number) =>
  Array.from({ length: Math.ceil(payload.size / partSize) }, (_, i) => ({
    number: i + 1,
    offset: i * partSize,
    length: Math.min(partSize, payload.size - i * partSize),
  }));

async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(limit, queue.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

/** PUTs `length` bytes from `chunks` with backpressure; throws on a non-2xx answer. */
function putStream(
  url: string,
  headers: Record<string, string>,
  length: number,
  chunks: Iterable<Uint8Array>,
) {
  return new Promise<string>((resolve, reject) => {
    const req = request(url, { method: "PUT", headers: { ...headers, "content-length": String(length) } });
    req.once("error", reject);
    req.once("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.once("end", () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(text);
        else reject(new Error(`PUT ${new URL(url).pathname} -> ${status}: ${text.slice(0, 300)}`));
      });
    });
    (async () => {
      for (const chunk of chunks) {
        if (!req.write(chunk)) await new Promise((drained) => req.once("drain", drained));
      }
      req.end();
    })().catch((error: unknown) => req.destroy(error instanceof Error ? error : new Error(String(error))));
  });
}

const uploadSchema = z.object({
  id: z.string(),
  mode: z.string(),
  part_count: z.number(),
  chunk_size: z.number(),
});
const presignSchema = z.object({
  urls: z.array(
    z.object({ part_number: z.number(), url: z.string(), headers: z.record(z.string(), z.string()) }),
  ),
});
const completeSchema = z.object({ file: z.object({ id: z.string(), sha256: z.string(), size: z.number() }) });

/** The API hands out at most this many part URLs per request (MAX_PRESIGN_BATCH in worker/api/uploads.ts). */
const PRESIGN_BATCH = 100;

/**
 * Part URLs asked for in batches, each when its first part is about to be sent, so none expires
 * while earlier parts of a long upload are still on the wire.
 */
function presignedUrls(api: Api, uploadId: string, partCount: number) {
  const batches = new Map<number, Promise<Map<number, { url: string; headers: Record<string, string> }>>>();
  return async (partNumber: number) => {
    const batch = Math.floor((partNumber - 1) / PRESIGN_BATCH);
    let pending = batches.get(batch);
    if (!pending) {
      const first = batch * PRESIGN_BATCH + 1;
      const numbers = Array.from(
        { length: Math.min(PRESIGN_BATCH, partCount - first + 1) },
        (_, i) => first + i,
      );
      pending = api
        .json("POST", `/api/v1/uploads/${uploadId}/presign`, presignSchema, {
          body: { part_numbers: numbers },
        })
        .then((answer) => new Map(answer.urls.map((u) => [u.part_number, u])));
      batches.set(batch, pending);
    }
    const url = (await pending).get(partNumber);
    if (!url) throw new Error(`no presigned URL for part ${partNumber}`);
    return url;
  };
}

/** Upload through the API; returns the file id. Retryable completion answers are retried. */
export async function uploadViaApi(
  api: Api,
  payload: Payload,
  sha256: string,
  mode: Mode,
  plan: Plan,
): Promise<string> {
  const upload = await api.json("POST", "/api/v1/spaces/me/uploads", uploadSchema, {
    body: { name: `bench-${mode}-${Date.now()}.bin`, size: payload.size, sha256, client_id: "bench" },
  });
  if (upload.mode !== mode) throw new Error(`the session chose ${upload.mode}, expected ${mode}`);
  if (upload.chunk_size !== plan.partSize)
    throw new Error(`chunk size ${upload.chunk_size}, expected ${plan.partSize}`);
  const all = parts(payload, plan.partSize);
  const urlFor = presignedUrls(api, upload.id, all.length);
  await inParallel(all, plan.concurrency, async (part) => {
    const chunks = payload.chunks(part.offset, part.length);
    if (mode === "relay_stream") {
      const url = api.url(`/api/v1/uploads/${upload.id}/parts/${part.number}`);
      const headers = { authorization: `Bearer ${api.token}`, "content-type": "application/octet-stream" };
      await putStream(url, headers, part.length, chunks);
      return;
    }
    const target = await urlFor(part.number);
    await putStream(target.url, target.headers, part.length, chunks);
  });
  for (let attempt = 1; ; attempt++) {
    try {
      const done = await api.json("POST", `/api/v1/uploads/${upload.id}/complete`, completeSchema, {
        body: {},
      });
      if (done.file.sha256 !== sha256 || done.file.size !== payload.size)
        throw new Error("the stored file differs");
      return done.file.id;
    } catch (error) {
      const retryable =
        error instanceof ApiError &&
        (error.status >= 502 || error.code === "upload_completing") &&
        attempt < 30;
      if (!retryable) throw error;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

/** Download through the API (following a presigned redirect by hand); returns the body's SHA-256. */
export async function downloadViaApi(api: Api, fileId: string, mode: Mode): Promise<string> {
  const path = `/api/v1/spaces/me/files/${fileId}/content`;
  let response = await api.fetch("GET", path, { redirect: "manual" });
  if (mode === "presigned") {
    const location = response.headers.get("location");
    await response.body?.cancel();
    if (!location) throw new Error(`presigned download answered ${response.status} without Location`);
    response = await fetch(new URL(location, api.baseUrl));
  }
  if (response.status !== 200) throw await apiErrorFrom("GET", path, response);
  return (await drain(response.body)).sha256;
}

/** Where a WebDAV transfer goes: the file's URL under /dav/ and the Basic credential of an app password. */
export interface DavTarget {
  url: string;
  authorization: string;
}

/** One WebDAV PUT of the whole payload (its SHA-256 declared, as the API upload declares it). */
export async function uploadViaWebdav(target: DavTarget, payload: Payload, sha256: string): Promise<void> {
  await putStream(
    target.url,
    { authorization: target.authorization, "x-flotilla-sha256": sha256 },
    payload.size,
    payload.chunks(0, payload.size),
  );
}

/** One WebDAV GET of the whole file; returns the body's SHA-256. */
export async function downloadViaWebdav(target: DavTarget): Promise<string> {
  const response = await fetch(target.url, { headers: { authorization: target.authorization } });
  if (response.status !== 200) throw await apiErrorFrom("GET", new URL(target.url).pathname, response);
  return (await drain(response.body)).sha256;
}

export async function purgeViaApi(api: Api, fileId: string): Promise<void> {
  await api.ok("DELETE", `/api/v1/spaces/me/files/${fileId}`);
  await api.ok("DELETE", `/api/v1/spaces/me/trash/files/${fileId}`);
}

export interface DirectAgent {
  client: FollowerClient;
  baseUrl: string;
  credentials: { keyId: string; secret: string };
}

export async function uploadDirect(
  agent: DirectAgent,
  key: string,
  payload: Payload,
  sha256: string,
  plan: Plan,
) {
  const session = await agent.client.createMultipart({
    key,
    content_type: "application/octet-stream",
    part_size: plan.partSize,
  });
  const all = parts(payload, plan.partSize);
  await inParallel(all, plan.concurrency, async (part) => {
    const path = `${paths.multipartPart(session.upload_id, part.number)}?size=${part.length}`;
    const signed = await signRequest({
      method: "PUT",
      path,
      credentials: agent.credentials,
      body: "unsigned",
    });
    const headers = Object.fromEntries(signed.entries());
    await putStream(
      `${agent.baseUrl}${path}`,
      headers,
      part.length,
      payload.chunks(part.offset, part.length),
    );
  });
  const info = await agent.client.completeMultipart(session.upload_id, {
    parts: all.map((p) => ({ part_number: p.number })),
    size: payload.size,
    sha256,
  });
  if (info.sha256 !== sha256) throw new Error("the agent stored other bytes");
}

export async function downloadDirect(client: FollowerClient, key: string): Promise<string> {
  return (await drain((await client.getObject(key)).body)).sha256;
}
