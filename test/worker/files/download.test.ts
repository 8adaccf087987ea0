// Downloads and previews in process: the Range matrix (RFC 9110: 206, 416 with bytes */N, abuse
// ignored as 200), conditionals (If-None-Match, If-Range), RFC 6266 disposition of non-ASCII names,
// Repr-Digest, preview headers and refusals, relay from the primary store and presigned redirects to
// a real s3rver.

import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomId, sha256Hex } from "../../../shared/crypto.ts";
import { files } from "../../../worker/db/schema.ts";
import { createFileRecord, type FileRow, fileStorageKey } from "../../../worker/files/records.ts";
import { createS3Driver } from "../../../worker/storage/s3.ts";
import { streamOf, utf8 } from "../../support/bytes.ts";
import { errorCode } from "../../support/envelopes.ts";
import {
  createHarness,
  type Harness,
  realFetch,
  seedS3Policy,
  seedUser,
  unique,
} from "../../support/primary.ts";
import { S3RVER_KEY, startS3rver } from "../../support/s3rver.ts";
import { seedFile, servicesOf } from "./helpers.ts";

const CONTENT = "0123456789".repeat(10);

describe("downloads and previews", () => {
  let h: Harness;
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let alice: { user: { id: string }; token: string };
  let file: FileRow;
  const space = () => ({ kind: "user" as const, id: alice.user.id });

  beforeAll(async () => {
    s3 = await startS3rver(["downloads"]);
    h = await createHarness({ fetch: realFetch });
    alice = await seedUser(h);
    file = await seedFile(h, {
      space: space(),
      userId: alice.user.id,
      name: "digits.txt",
      bytes: utf8(CONTENT),
      contentType: "text/plain",
    });
  });
  afterAll(async () => {
    await h?.close();
    await s3?.stop();
  });

  const get = (path: string, headers: Record<string, string> = {}) =>
    h.call("GET", `/api/v1/spaces/me/files/${path}`, { token: alice.token, headers });
  const content = (headers: Record<string, string> = {}) => get(`${file.id}/content`, headers);

  it("serves the whole file with a strong ETag, Repr-Digest, and safe headers", async () => {
    const response = await content();
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(CONTENT);
    expect(response.headers.get("etag")).toBe(`"${file.sha256}"`);
    expect(response.headers.get("content-length")).toBe("100");
    expect(response.headers.get("accept-ranges")).toBe("bytes");
    expect(response.headers.get("content-type")).toBe("text/plain");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("content-security-policy")).toMatch(/^sandbox;/);
    const digest = Buffer.from(file.sha256, "hex").toString("base64");
    expect(response.headers.get("repr-digest")).toBe(`sha-256=:${digest}:`);
    expect(response.headers.get("content-disposition")).toBe(
      `attachment; filename="digits.txt"; filename*=UTF-8''digits.txt`,
    );
  });

  // Inside workerd (and on Cloudflare's edge) a text type was compressed for a client accepting gzip:
  // Content-Length gone, and the strong ETag and Repr-Digest described bytes the client never got.
  it("answers a text file's bytes as stored to a client that accepts gzip, whole or a range", async () => {
    for (const [range, status, length] of [
      [undefined, 200, 100],
      ["bytes=0-9", 206, 10],
    ] as const) {
      const response = await content({ "accept-encoding": "gzip, br", ...(range ? { range } : {}) });
      expect(response.status).toBe(status);
      expect(response.headers.get("content-length")).toBe(String(length));
      expect(response.headers.get("content-encoding")).toBe("identity");
      expect(response.headers.get("cache-control")).toBe("private, no-cache, no-transform");
      expect(await response.text()).toBe(CONTENT.slice(0, length));
    }
  });

  const satisfiable: [string, string, string][] = [
    ["bytes=0-9", "0123456789", "bytes 0-9/100"],
    ["bytes=90-", "0123456789", "bytes 90-99/100"],
    ["bytes=-5", "56789", "bytes 95-99/100"],
    ["bytes=95-200", "56789", "bytes 95-99/100"],
    ["bytes=3-3", "3", "bytes 3-3/100"],
    ["bytes=0-99999999999999999999999", CONTENT, "bytes 0-99/100"],
    ["bytes=-99999999999999999999999", CONTENT, "bytes 0-99/100"],
    ["BYTES = 10 - 12", "012", "bytes 10-12/100"],
  ];
  for (const [range, body, contentRange] of satisfiable) {
    it(`answers ${range} with 206 ${contentRange}`, async () => {
      const response = await content({ range });
      expect(response.status).toBe(206);
      expect(response.headers.get("content-range")).toBe(contentRange);
      expect(response.headers.get("content-length")).toBe(String(body.length));
      expect(await response.text()).toBe(body);
    });
  }

  for (const range of ["bytes=100-", "bytes=100-200", "bytes=-0", "bytes=99999999999999999999999-"]) {
    it(`answers ${range} with 416 and Content-Range bytes */100`, async () => {
      const response = await content({ range });
      expect(response.status).toBe(416);
      expect(response.headers.get("content-range")).toBe("bytes */100");
      expect(await errorCode(response)).toBe("range_not_satisfiable");
    });
  }

  for (const range of [
    "bytes=0-1,5-6",
    "bytes=abc",
    "items=0-1",
    "bytes=5-2",
    "bytes=",
    "bytes=-",
    "0-5",
    "bytes=1.5-3",
  ]) {
    it(`ignores ${JSON.stringify(range)} and serves the whole file with 200`, async () => {
      const response = await content({ range });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-range")).toBeNull();
      expect(await response.text()).toBe(CONTENT);
    });
  }

  it("answers If-None-Match with 304 for the ETag, a weak form of it or *, and 200 otherwise", async () => {
    for (const tag of [`"${file.sha256}"`, `W/"${file.sha256}"`, `"other", "${file.sha256}"`, "*"]) {
      const response = await content({ "if-none-match": tag });
      expect(response.status, tag).toBe(304);
      expect(response.headers.get("etag")).toBe(`"${file.sha256}"`);
      expect(await response.text()).toBe("");
    }
    expect((await content({ "if-none-match": '"nope"' })).status).toBe(200);
  });

  it("honours Range under If-Range only when the ETag matches", async () => {
    const matching = await content({ range: "bytes=0-1", "if-range": `"${file.sha256}"` });
    expect(matching.status).toBe(206);
    expect(await matching.text()).toBe("01");
    for (const ifRange of ['"stale"', `W/"${file.sha256}"`, "Wed, 21 Oct 2015 07:28:00 GMT"]) {
      const response = await content({ range: "bytes=0-1", "if-range": ifRange });
      expect(response.status, ifRange).toBe(200);
      expect(await response.text()).toBe(CONTENT);
    }
  });

  it("encodes a non-ASCII name per RFC 6266 with an ASCII fallback", async () => {
    const odd = await seedFile(h, {
      space: space(),
      userId: alice.user.id,
      name: 'résumé 2026 "final";%.pdf',
    });
    const response = await get(`${odd.id}/content`);
    expect(response.headers.get("content-disposition")).toBe(
      `attachment; filename="r_sum_ 2026 _final___.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%202026%20%22final%22%3B%25.pdf`,
    );
    const cjk = await seedFile(h, { space: space(), userId: alice.user.id, name: "报告.txt" });
    const disposition = (await get(`${cjk.id}/content`)).headers.get("content-disposition") ?? "";
    expect(disposition).toContain(`filename*=UTF-8''%E6%8A%A5%E5%91%8A.txt`);
    expect(decodeURIComponent(disposition.split("UTF-8''")[1] ?? "")).toBe("报告.txt");
  });

  it("answers 404 for a trashed file", async () => {
    const doomed = await seedFile(h, { space: space(), userId: alice.user.id, name: "doomed.txt" });
    await h.call("DELETE", `/api/v1/spaces/me/files/${doomed.id}`, { token: alice.token });
    const response = await get(`${doomed.id}/content`);
    expect(response.status).toBe(404);
    expect(await errorCode(response)).toBe("not_found");
  });

  it("previews images and PDFs inline with nosniff and a sandboxing CSP", async () => {
    for (const [name, type] of [
      ["a.png", "image/png"],
      ["a.jpg", "image/jpeg"],
      ["a.gif", "image/gif"],
      ["a.webp", "image/webp"],
      ["a.avif", "image/avif"],
      ["a.pdf", "application/pdf"],
    ] as const) {
      const f = await seedFile(h, { space: space(), userId: alice.user.id, name, contentType: type });
      const response = await get(`${f.id}/preview`);
      expect(response.status, name).toBe(200);
      expect(response.headers.get("content-type")).toBe(type);
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("content-security-policy")).toContain("sandbox");
      expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
      expect(response.headers.get("content-disposition")).toMatch(/^inline; /);
      await response.arrayBuffer();
    }
  });

  it("refuses to preview SVG, HTML and other types with 415 preview_unsupported", async () => {
    for (const type of ["image/svg+xml", "text/html", "application/octet-stream", "text/plain"]) {
      const f = await seedFile(h, {
        space: space(),
        userId: alice.user.id,
        name: `x-${randomId()}`,
        contentType: type,
      });
      const response = await get(`${f.id}/preview`);
      expect(response.status, type).toBe(415);
      expect(await errorCode(response)).toBe("preview_unsupported");
    }
  });

  it("redirects to a short-lived presigned URL when the policy says presigned, or answers it as JSON", async () => {
    const policyId = await seedS3Policy(h, {
      endpoint: s3.endpoint,
      bucket: "downloads",
      fields: { name: unique("s3-presigned"), downloadMode: "presigned" },
    });
    const driver = createS3Driver({
      endpoint: s3.endpoint,
      region: "us-east-1",
      bucket: "downloads",
      pathStyle: true,
      ...S3RVER_KEY,
    });
    const bytes = utf8("presigned bytes");
    const id = randomId();
    const stored = await driver.put(fileStorageKey(id), streamOf(bytes), { size: bytes.byteLength });
    const row = await createFileRecord(servicesOf(h), {
      id,
      space: space(),
      folderId: null,
      name: "remote.txt",
      size: bytes.byteLength,
      sha256: await sha256Hex(bytes),
      policyId,
      storageKey: fileStorageKey(id),
      location: stored.location,
      createdBy: alice.user.id,
    });
    const redirect = await get(`${row.id}/content`);
    expect(redirect.status).toBe(302);
    const location = redirect.headers.get("location") ?? "";
    expect(location.startsWith(s3.endpoint)).toBe(true);
    expect(redirect.headers.get("cache-control")).toBe("no-store");
    const fetched = await fetch(location);
    expect(await fetched.text()).toBe("presigned bytes");

    const asJson = await get(`${row.id}/content?redirect=false`);
    expect(asJson.status).toBe(200);
    const body = (await asJson.json()) as { url: string; expires_at: string };
    expect(body.url.startsWith(s3.endpoint)).toBe(true);
    const ttl = Date.parse(body.expires_at) - Date.now();
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300_000);

    // Previews are always relayed, never redirected.
    await h.db.update(files).set({ contentType: "image/png" }).where(eq(files.id, row.id));
    const preview = await get(`${row.id}/preview`);
    expect(preview.status).toBe(200);
    expect(preview.headers.get("location")).toBeNull();
    expect(await preview.text()).toBe("presigned bytes");
  });
});
