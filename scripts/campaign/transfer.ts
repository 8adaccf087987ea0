// Owns the campaign's client side of a file: uploading through relay_stream part by part as a client
// that retries would (connection failures, 5xx, busy parts: wait and send again), downloading with
// its SHA-256, and finding a file in a listing.
import { createHash } from "node:crypto";
import type { Api } from "../acceptance/api.ts";

export const sha256Of = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

export interface UploadInfo {
  id: string;
  part_count: number;
  chunk_size: number;
  state: string;
  missing_parts?: number[];
}

const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Answers worth a client's retry: no answer at all, a 5xx, a busy part, a completion under way. */
function retryable(status: number, text: string): boolean {
  return status === 0 || status >= 500 || status === 429 || /upload_part_busy|upload_completing/.test(text);
}

/** Sends until a 2xx, waiting between tries, for at most `budgetMs`; the last answer otherwise. */
export async function withRetries(
  attempt: () => Promise<Response>,
  budgetMs: number,
): Promise<{ status: number; text: string; tries: number }> {
  const until = Date.now() + budgetMs;
  for (let tries = 1; ; tries++) {
    let status = 0;
    let text = "";
    try {
      const response = await attempt();
      status = response.status;
      text = await response.text();
    } catch (error) {
      text = error instanceof Error ? error.message : String(error);
    }
    if ((status >= 200 && status < 300) || !retryable(status, text) || Date.now() > until) {
      return { status, text, tries };
    }
    await pause(Math.min(2000, 200 * tries));
  }
}

export function partBytes(data: Uint8Array<ArrayBuffer>, chunk: number, n: number) {
  return data.slice((n - 1) * chunk, Math.min(n * chunk, data.length));
}

export async function initUpload(api: Api, name: string, data: Uint8Array): Promise<UploadInfo> {
  const response = await api.fetch("POST", "/api/v1/spaces/me/uploads", {
    body: { name, size: data.length, sha256: sha256Of(data) },
  });
  const text = await response.text();
  if (response.status !== 201 && response.status !== 200) throw new Error(`init: ${response.status} ${text}`);
  return JSON.parse(text) as UploadInfo;
}

export function sendPart(api: Api, id: string, n: number, bytes: Uint8Array<ArrayBuffer>) {
  return api.fetch("PUT", `/api/v1/uploads/${id}/parts/${n}`, {
    raw: bytes,
    headers: { "content-type": "application/octet-stream", "x-flotilla-sha256": sha256Of(bytes) },
  });
}

/** Sends every part the session still misses and completes it, retrying as a client would. */
export async function resumeUpload(
  api: Api,
  id: string,
  data: Uint8Array<ArrayBuffer>,
  budgetMs: number,
): Promise<{ fileId?: string; problem?: string; tries: number }> {
  let tries = 0;
  const state = await withRetries(() => api.fetch("GET", `/api/v1/uploads/${id}`), budgetMs);
  tries += state.tries;
  if (state.status !== 200) return { problem: `session: ${state.status} ${state.text.slice(0, 200)}`, tries };
  const upload = JSON.parse(state.text) as UploadInfo;
  const missing = upload.missing_parts ?? Array.from({ length: upload.part_count }, (_, i) => i + 1);
  for (const n of missing) {
    const sent = await withRetries(
      () => sendPart(api, id, n, partBytes(data, upload.chunk_size, n)),
      budgetMs,
    );
    tries += sent.tries;
    if (sent.status !== 200)
      return { problem: `part ${n}: ${sent.status} ${sent.text.slice(0, 200)}`, tries };
  }
  const done = await withRetries(
    () => api.fetch("POST", `/api/v1/uploads/${id}/complete`, { body: {} }),
    budgetMs,
  );
  tries += done.tries;
  if (done.status !== 200) return { problem: `complete: ${done.status} ${done.text.slice(0, 200)}`, tries };
  return { fileId: (JSON.parse(done.text) as { file: { id: string } }).file.id, tries };
}

/** The SHA-256 of a file's bytes as downloaded (relay_stream), or the refusal. */
export async function downloadSha(api: Api, fileId: string): Promise<{ sha256?: string; problem?: string }> {
  const response = await api.fetch("GET", `/api/v1/spaces/me/files/${fileId}/content`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (response.status !== 200)
    return { problem: `download: ${response.status} ${new TextDecoder().decode(bytes.slice(0, 200))}` };
  return { sha256: sha256Of(bytes) };
}

/** Whether the user's root listing names `fileId` (pages followed). */
export async function listed(api: Api, fileId: string): Promise<boolean> {
  let cursor: string | null = null;
  for (let page = 0; page < 100; page++) {
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const response = await api.fetch("GET", `/api/v1/spaces/me/items?limit=200${query}`);
    if (response.status !== 200) return false;
    const body = (await response.json()) as { items: { id: string }[]; next_cursor?: string | null };
    if (body.items.some((item) => item.id === fileId)) return true;
    cursor = body.next_cursor ?? null;
    if (!cursor) return false;
  }
  return false;
}
