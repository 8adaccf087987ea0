// Presigned browser traffic against the agent: single-use upload tickets, binding of size, type, method
// and key, expiry, and CORS exactly as the tutorial's table (primary origin only, errors included).
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bytes } from "../support/bytes.ts";
import { inProcessAgent } from "./helpers.ts";

const ORIGIN = "http://primary.test:8787";

describe("presigned URLs and CORS", () => {
  let h: Awaited<ReturnType<typeof inProcessAgent>>;

  beforeAll(async () => {
    h = await inProcessAgent();
    await h.client.upsertIngressTarget("default-local", {
      driver: "local",
      name: "default-local",
      revision: 1,
      is_default: true,
      base_path: "default",
    });
  });
  afterAll(() => h.cleanup());

  const put = (url: string, body: Uint8Array<ArrayBuffer>, headers: Record<string, string> = {}) =>
    h.fetch(url, {
      method: "PUT",
      body,
      headers: { origin: ORIGIN, "content-length": String(body.byteLength), ...headers },
    });

  it("answers the preflight for the primary's origin with the tutorial's headers", async () => {
    const { url } = await h.client.presignPut({
      key: "p/1",
      size: 3,
      contentType: "text/plain",
      expiresInSeconds: 60,
    });
    const pre = await h.fetch(url, {
      method: "OPTIONS",
      headers: {
        origin: ORIGIN,
        "access-control-request-method": "PUT",
        "access-control-request-headers": "content-type",
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(pre.headers.get("access-control-allow-headers")).toBe("content-type, range");
    expect(pre.headers.get("access-control-allow-methods")).toContain("PUT");
    const foreign = await h.fetch(url, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "PUT" },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    const badHeader = await h.fetch(url, {
      method: "OPTIONS",
      headers: {
        origin: ORIGIN,
        "access-control-request-method": "PUT",
        "access-control-request-headers": "x-evil",
      },
    });
    expect(badHeader.status).toBe(403);
  });

  it("uploads once through a presigned PUT and exposes ETag; the URL cannot be reused", async () => {
    const data = bytes(3, 2);
    const { url, headers } = await h.client.presignPut({
      key: "p/2",
      size: 3,
      contentType: "text/plain",
      expiresInSeconds: 60,
    });
    const first = await put(url, data, headers);
    expect(first.status).toBe(201);
    expect(first.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(first.headers.get("access-control-expose-headers")).toBe("ETag");
    expect(first.headers.get("etag")).toMatch(/^"[0-9a-f]{64}"$/);
    const again = await put(url, bytes(3, 9), headers);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("presign_ticket_used");
    expect(again.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    const stored = await h.client.getObject("p/2");
    expect(new Uint8Array(await stored.arrayBuffer())).toEqual(data);
  });

  it("lets a failed upload retry the same URL when nothing was committed", async () => {
    const data = bytes(4, 8);
    const { url, headers } = await h.client.presignPut({
      key: "p/3",
      size: 4,
      contentType: "text/plain",
      expiresInSeconds: 60,
      sha256: createHash("sha256").update(data).digest("hex"),
    });
    const corrupted = await put(url, bytes(4, 1), headers);
    expect(((await corrupted.json()) as { error: { code: string } }).error.code).toBe(
      "content_digest_mismatch",
    );
    expect(await h.client.headObject("p/3")).toBeNull();
    const retry = await put(url, data, headers);
    expect(retry.status).toBe(201);
    const spent = await put(url, data, headers);
    expect(spent.status).toBe(409);
  });

  it("binds size, content type, method and key", async () => {
    const { url, headers } = await h.client.presignPut({
      key: "p/4",
      size: 3,
      contentType: "text/plain",
      expiresInSeconds: 60,
    });
    const otherType = await put(url, bytes(3), { "content-type": "text/html" });
    expect(((await otherType.json()) as { error: { code: string } }).error.code).toBe("presign_mismatch");
    const bigger = await put(url, bytes(4), headers);
    expect(((await bigger.json()) as { error: { code: string } }).error.code).toBe("presign_mismatch");
    const asGet = await h.fetch(url, { headers: { origin: ORIGIN } });
    expect(((await asGet.json()) as { error: { code: string } }).error.code).toBe("auth_bad_signature");
    const otherKey = await put(url.replace("/p/4?", "/p/5?"), bytes(3), headers);
    expect(((await otherKey.json()) as { error: { code: string } }).error.code).toBe("auth_bad_signature");
    expect(otherKey.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(await h.client.headObject("p/5")).toBeNull();
  });

  it("serves presigned GETs with ranges and the exposed headers, and refuses other origins", async () => {
    const data = bytes(100, 4);
    await h.client.putObject("p/get", data, { size: 100, contentType: "image/png" });
    const { url } = await h.client.presignGet({
      key: "p/get",
      expiresInSeconds: 300,
      responseContentDisposition: 'inline; filename="x.png"',
    });
    const ranged = await h.fetch(url, { headers: { origin: ORIGIN, range: "bytes=0-9" } });
    expect(ranged.status).toBe(206);
    expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(data.slice(0, 10));
    expect(ranged.headers.get("content-disposition")).toBe('inline; filename="x.png"');
    expect(ranged.headers.get("access-control-expose-headers")).toBe(
      "Accept-Ranges, Cache-Control, Content-Disposition, Content-Length, Content-Range, Content-Type, ETag",
    );
    const reuse = await h.fetch(url, { headers: { origin: ORIGIN } });
    expect(reuse.status).toBe(200);
    await reuse.body?.cancel();
    const foreign = await h.fetch(url, { headers: { origin: "http://primary.test:9999" } });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    const tampered = url.replace("inline", "attachment");
    const bad = await h.fetch(tampered, { headers: { origin: ORIGIN } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("access-control-allow-origin")).toBe(ORIGIN);
  });

  it("refuses expired URLs and URLs living longer than the node allows", async () => {
    const old = await h.client.presignGet(
      { key: "p/get", expiresInSeconds: 10 },
      new Date(Date.now() - 60_000),
    );
    const expired = await h.fetch(old.url, { headers: { origin: ORIGIN } });
    expect(((await expired.json()) as { error: { code: string } }).error.code).toBe("presign_expired");
    expect(expired.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    const long = await h.client.presignGet({ key: "p/get", expiresInSeconds: 86_400 });
    const tooLong = await h.fetch(long.url);
    expect(((await tooLong.json()) as { error: { code: string } }).error.code).toBe("presign_ttl_too_long");
  });

  it("takes multipart parts through single-use presigned URLs, composed by a signed complete", async () => {
    const session = await h.client.createMultipart({ key: "p/mp", content_type: "application/zip" });
    const parts = [bytes(1000, 31), bytes(500, 32)];
    for (const [i, part] of parts.entries()) {
      const { url } = await h.client.presignPart({
        uploadId: session.upload_id,
        partNumber: i + 1,
        size: part.byteLength,
        expiresInSeconds: 600,
      });
      const response = await put(url, part);
      expect(response.status).toBe(200);
      expect(response.headers.get("access-control-expose-headers")).toBe("ETag");
      expect(response.headers.get("etag")).toMatch(/^"[0-9a-f]{64}"$/);
      expect((await put(url, part)).status).toBe(409);
    }
    const done = await h.client.completeMultipart(session.upload_id, {
      parts: [{ part_number: 1 }, { part_number: 2 }],
      size: 1500,
    });
    expect(done.content_type).toBe("application/zip");
    const head = await h.fetch((await h.client.presignGet({ key: "p/mp", expiresInSeconds: 60 })).url, {
      method: "HEAD",
      headers: { origin: ORIGIN },
    });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("1500");
    expect(head.headers.get("access-control-allow-origin")).toBe(ORIGIN);
  });

  it("refuses presigned URLs on endpoints that only take signed requests", async () => {
    const { url } = await h.client.presignGet({ key: "p/get", expiresInSeconds: 60 });
    const del = await h.fetch(url, { method: "DELETE" });
    expect(((await del.json()) as { error: { code: string } }).error.code).toBe("auth_missing");
    expect(await h.client.headObject("p/get")).not.toBeNull();
  });
});
