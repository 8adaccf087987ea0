// Owns a tiny upload client for the tests: the API calls of the upload flow over any fetch (the app in
// process, or a primary over real HTTP), deterministic test data and its SHA-256.
import { createHash } from "node:crypto";
import { errorEnvelopeSchema } from "../../../shared/errors.ts";
import type { UploadOut } from "../../../worker/api/uploads.ts";

export type ApiFetch = (path: string, init?: RequestInit) => Promise<Response>;

export interface Refusal {
  status: number;
  code: string;
  details: unknown;
}

export function bytes(size: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    out[i] = x & 0xff;
  }
  return out;
}

export const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

export function uploadClient(api: ApiFetch, token: string) {
  const auth = { authorization: `Bearer ${token}` };
  const json = async (method: string, path: string, body?: unknown) =>
    api(path, {
      method,
      headers: body === undefined ? auth : { ...auth, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const ok = async <T>(response: Response, status = 200): Promise<T> => {
    const text = await response.text();
    if (response.status !== status) throw new Error(`expected ${status}, got ${response.status}: ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  };
  const fail = async (response: Response): Promise<Refusal> => {
    const text = await response.text();
    if (response.ok) throw new Error(`expected a refusal, got ${response.status}: ${text}`);
    const { error } = errorEnvelopeSchema.parse(JSON.parse(text));
    return { status: response.status, code: error.code, details: error.details };
  };
  return {
    json,
    ok,
    fail,
    init: (body: Record<string, unknown>, space = "me") =>
      json("POST", `/api/v1/spaces/${space}/uploads`, body),
    get: (id: string) => json("GET", `/api/v1/uploads/${id}`),
    list: (clientId?: string) =>
      json("GET", `/api/v1/uploads${clientId ? `?client_id=${encodeURIComponent(clientId)}` : ""}`),
    putPart: (
      id: string,
      n: number,
      data: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>,
      headers: Record<string, string> = {},
    ) =>
      api(`/api/v1/uploads/${id}/parts/${n}`, {
        method: "PUT",
        headers: {
          ...auth,
          "content-type": "application/octet-stream",
          // As browsers and fetch over the network send it; an in-process Request has none of its own.
          ...(data instanceof ReadableStream ? {} : { "content-length": String(data.length) }),
          ...headers,
        },
        body: data,
        ...(data instanceof ReadableStream ? { duplex: "half" } : {}),
      } as RequestInit),
    presign: (id: string, partNumbers: number[]) =>
      json("POST", `/api/v1/uploads/${id}/presign`, { part_numbers: partNumbers }),
    complete: (id: string, body: unknown = {}) => json("POST", `/api/v1/uploads/${id}/complete`, body),
    abort: (id: string) => json("DELETE", `/api/v1/uploads/${id}`),
  };
}

export type UploadClient = ReturnType<typeof uploadClient>;

/** Part n of `data` as the session's plan cuts it. */
export function partOf(upload: Pick<UploadOut, "chunk_size">, data: Uint8Array<ArrayBuffer>, n: number) {
  return data.slice((n - 1) * upload.chunk_size, Math.min(n * upload.chunk_size, data.length));
}

/** Relays every part (in parallel) and completes; returns the completion answer. */
export async function relayWhole(c: UploadClient, upload: UploadOut, data: Uint8Array<ArrayBuffer>) {
  const numbers = Array.from({ length: upload.part_count }, (_, i) => i + 1);
  await Promise.all(numbers.map(async (n) => c.ok(await c.putPart(upload.id, n, partOf(upload, data, n)))));
  return c.ok<{ upload: UploadOut; file: { id: string; sha256: string; size: number; policy_id: string } }>(
    await c.complete(upload.id),
  );
}
