// Owns a tiny upload client for the tests: the API calls of the upload flow over any fetch (the app in
// process, or a primary over real HTTP).
import type { UploadOut } from "../../worker/api/uploads.ts";
import { type Refusal, refusalOf } from "./envelopes.ts";

export type ApiFetch = (path: string, init?: RequestInit) => Promise<Response>;

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
  const fail = (response: Response): Promise<Refusal> => refusalOf(response);
  return {
    token,
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
