// Driver conformance: the same object semantics over the agent's protocol for a local target and an
// S3 target (s3rver), through the shared client exactly as the primary calls it, both with the agent's
// Fetch function called in process and with the agent as a real process (its Node glue, which sends
// files and reads bodies on the Node side, included).
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3_PART_BYTES } from "../../agent/store/s3.ts";
import { paths } from "../../shared/protocol/keys.ts";
import type { IngressTargetSpec } from "../../shared/protocol/schemas.ts";
import { signRequest } from "../../shared/protocol/signing.ts";
import { bytes, streamOf } from "../support/bytes.ts";
import { codeOf } from "../support/envelopes.ts";
import { S3RVER_WIRE_KEY, startS3rver } from "../support/s3rver.ts";
import { inProcessAgent, processAgent } from "./helpers.ts";

const sha = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

type Harness = {
  client: Awaited<ReturnType<typeof inProcessAgent>>["client"];
  baseUrl: string;
  issued: { key_id: string; secret: string };
  fetch: (input: string, init?: RequestInit) => Promise<Response>;
  cleanup(): Promise<void>;
};

/** A signed object PUT of `body` with `size` in its query and no Content-Length; the refusal's code. */
async function streamedPutCode(h: Harness, key: string, size: number, body: Uint8Array): Promise<string> {
  const path = `${paths.object(key)}?size=${size}`;
  const credentials = { keyId: h.issued.key_id, secret: h.issued.secret };
  const headers = await signRequest({ method: "PUT", path, credentials, body: "unsigned" });
  const init: RequestInit & { duplex: "half" } = {
    method: "PUT",
    headers,
    body: streamOf(body, 1000),
    duplex: "half",
  };
  const response = await h.fetch(`${h.baseUrl}${path}`, init);
  const answer = (await response.json()) as { error?: { code?: string } };
  return answer.error?.code ?? `status ${response.status}`;
}

const targets: { name: string; spec: (s3Endpoint: string) => IngressTargetSpec }[] = [
  {
    name: "local",
    spec: () => ({
      driver: "local",
      name: "default-local",
      revision: 1,
      is_default: true,
      base_path: "default",
    }),
  },
  {
    name: "s3",
    spec: (endpoint) => ({
      driver: "s3",
      name: "s3rver",
      revision: 1,
      is_default: true,
      endpoint,
      region: "us-east-1",
      bucket: "flotilla",
      prefix: "follower-a",
      path_style: true,
      ...S3RVER_WIRE_KEY,
    }),
  },
];

const agents: { agent: string; start: () => Promise<Harness> }[] = [
  { agent: "in process", start: inProcessAgent },
  { agent: "a real process", start: processAgent },
];
const kinds = agents.flatMap((agent) => targets.map((target) => ({ ...agent, ...target })));

describe.each(kinds)("object conformance on a $name target, agent $agent", ({ spec, start }) => {
  let h: Harness;
  let s3: Awaited<ReturnType<typeof startS3rver>>;

  beforeAll(async () => {
    s3 = await startS3rver(["flotilla"]);
    h = await start();
    const info = await h.client.upsertIngressTarget("main", spec(s3.endpoint));
    expect(info.reason).toBeNull();
    expect(info.state).toBe("applied");
  });
  afterAll(async () => {
    await h.cleanup();
    await s3.stop();
  });

  it("stores a streamed object and reads it back with its SHA-256 as a strong ETag", async () => {
    const data = bytes(200_000, 7);
    const info = await h.client.putObject("files/a1", streamOf(data), {
      size: data.byteLength,
      sha256: sha(data),
      contentType: "image/png",
    });
    expect(info).toMatchObject({ key: "files/a1", target: "main", size: data.byteLength, sha256: sha(data) });
    const response = await h.client.getObject("files/a1");
    expect(response.status).toBe(200);
    expect(response.headers.get("etag")).toBe(`"${sha(data)}"`);
    expect(response.headers.get("content-type")).toBe("image/png");
    expect(response.headers.get("accept-ranges")).toBe("bytes");
    expect(response.headers.get("repr-digest")).toBe(
      `sha-256=:${createHash("sha256").update(data).digest("base64")}:`,
    );
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(data);
    const head = await h.client.headObject("files/a1");
    expect(head).toEqual({
      size: data.byteLength,
      etag: `"${sha(data)}"`,
      sha256: sha(data),
      contentType: "image/png",
    });
  });

  it("stores keys using every character protocol v2 allows", async () => {
    const key = "a-z_A.Z~0+9=@,/x.y";
    const info = await h.client.putObject(key, bytes(7, 2), { size: 7 });
    expect(info.key).toBe(key);
    expect(new Uint8Array(await (await h.client.getObject(key)).arrayBuffer())).toEqual(bytes(7, 2));
    await h.client.deleteObject(key);
    expect(await h.client.headObject(key)).toBeNull();
  });

  it("stores an empty object", async () => {
    const info = await h.client.putObject("files/empty", new Uint8Array(0), { size: 0 });
    expect(info.sha256).toBe(sha(new Uint8Array(0)));
    const response = await h.client.getObject("files/empty");
    expect(response.status).toBe(200);
    expect((await response.arrayBuffer()).byteLength).toBe(0);
  });

  it("stores an object larger than one S3 part (multipart on S3) with constant memory per part", async () => {
    const data = bytes(S3_PART_BYTES + 300_000, 3);
    const info = await h.client.putObject("files/big", streamOf(data, 256 * 1024), {
      size: data.byteLength,
      sha256: sha(data),
    });
    expect(info.size).toBe(data.byteLength);
    const back = new Uint8Array(await (await h.client.getObject("files/big")).arrayBuffer());
    expect(sha(back)).toBe(sha(data));
  });

  it("refuses a wrong digest, and a body shorter or longer than its signed size, leaving nothing behind", async () => {
    const data = bytes(5000, 9);
    expect(
      await codeOf(
        h.client.putObject("files/bad1", streamOf(data), { size: 5000, sha256: sha(bytes(5000, 10)) }),
      ),
    ).toBe("content_digest_mismatch");
    // Without Content-Length (chunked over HTTP), so the body itself can differ from the signed size.
    expect(await streamedPutCode(h, "files/bad2", 5000, data.slice(0, 4000))).toBe("content_length_mismatch");
    expect(await streamedPutCode(h, "files/bad3", 4000, data)).toBe("content_length_mismatch");
    for (const key of ["files/bad1", "files/bad2", "files/bad3"])
      expect(await h.client.headObject(key)).toBeNull();
  });

  it("copies an object on the follower, checked against the size and SHA-256 it is named with", async () => {
    const data = bytes(S3_PART_BYTES + 1234, 21);
    await h.client.putObject("files/src", streamOf(data), {
      size: data.byteLength,
      contentType: "text/plain",
    });
    const copy = await h.client.copyObject({
      source: { key: "files/src", target: "main" },
      key: "files/copied",
      size: data.byteLength,
      sha256: sha(data),
    });
    expect(copy).toMatchObject({
      key: "files/copied",
      target: "main",
      size: data.byteLength,
      sha256: sha(data),
    });
    const back = await h.client.getObject("files/copied");
    expect(back.headers.get("content-type")).toBe("text/plain");
    expect(sha(new Uint8Array(await back.arrayBuffer()))).toBe(sha(data));
    const wrong = h.client.copyObject({
      source: { key: "files/src" },
      key: "files/copy-wrong",
      size: data.byteLength,
      sha256: sha(bytes(10, 1)),
    });
    expect(await codeOf(wrong)).toBe("precondition_failed");
    const missing = h.client.copyObject({
      source: { key: "files/none" },
      key: "files/x",
      size: 1,
      sha256: sha(bytes(1, 1)),
    });
    expect(await codeOf(missing)).toBe("object_not_found");
    for (const key of ["files/copy-wrong", "files/x"]) expect(await h.client.headObject(key)).toBeNull();
  });

  it("keeps the previous version when a replacement fails", async () => {
    const first = bytes(3000, 11);
    await h.client.putObject("files/keep", first, { size: first.byteLength });
    const second = bytes(3000, 12);
    expect(
      await codeOf(h.client.putObject("files/keep", second, { size: 3000, sha256: sha(bytes(1, 1)) })),
    ).toBe("content_digest_mismatch");
    expect(new Uint8Array(await (await h.client.getObject("files/keep")).arrayBuffer())).toEqual(first);
  });

  it("serves ranges per RFC 9110 (206, suffix, open end, 416 with Content-Range */size)", async () => {
    const data = bytes(1000, 13);
    await h.client.putObject("files/r", data, { size: 1000 });
    const mid = await h.client.getObject("files/r", { range: "bytes=10-19" });
    expect(mid.status).toBe(206);
    expect(mid.headers.get("content-range")).toBe("bytes 10-19/1000");
    expect(mid.headers.get("content-length")).toBe("10");
    expect(new Uint8Array(await mid.arrayBuffer())).toEqual(data.slice(10, 20));
    const suffix = await h.client.getObject("files/r", { range: "bytes=-5" });
    expect(new Uint8Array(await suffix.arrayBuffer())).toEqual(data.slice(995));
    const open = await h.client.getObject("files/r", { range: "bytes=990-" });
    expect(open.headers.get("content-range")).toBe("bytes 990-999/1000");
    const clamped = await h.client.getObject("files/r", { range: "bytes=998-5000" });
    expect(clamped.headers.get("content-range")).toBe("bytes 998-999/1000");
    await clamped.body?.cancel();
    for (const range of ["bytes=1000-", "bytes=-0", "bytes=abc", "bytes=5-2", "bytes=0-1,5-6"]) {
      expect(await codeOf(h.client.getObject("files/r", { range }))).toBe("range_not_satisfiable");
    }
    const whole = await h.client.getObject("files/r", { range: "items=0-1" });
    expect(whole.status).toBe(200);
    await whole.body?.cancel();
  });

  it("answers conditionals: If-None-Match gives 304, a stale If-Range gives the whole object", async () => {
    const data = bytes(100, 14);
    const { etag } = await h.client.putObject("files/c", data, { size: 100 });
    const notModified = await h.client.getObject("files/c", { ifNoneMatch: etag });
    expect(notModified.status).toBe(304);
    const stale = await h.client.getObject("files/c", { range: "bytes=0-9", ifRange: `"${"0".repeat(64)}"` });
    expect(stale.status).toBe(200);
    expect((await stale.arrayBuffer()).byteLength).toBe(100);
    const fresh = await h.client.getObject("files/c", { range: "bytes=0-9", ifRange: etag });
    expect(fresh.status).toBe(206);
    await fresh.body?.cancel();
  });

  it("applies signed response overrides", async () => {
    await h.client.putObject("files/o", bytes(10), { size: 10, contentType: "text/plain" });
    const response = await h.client.getObject("files/o", {
      responseContentType: "application/pdf",
      responseContentDisposition: 'attachment; filename="x.pdf"',
    });
    expect(response.headers.get("content-type")).toBe("application/pdf");
    expect(response.headers.get("content-disposition")).toBe('attachment; filename="x.pdf"');
    await response.body?.cancel();
  });

  it("deletes idempotently and reports missing objects", async () => {
    await h.client.putObject("files/d", bytes(10), { size: 10 });
    await h.client.deleteObject("files/d");
    await h.client.deleteObject("files/d");
    expect(await h.client.headObject("files/d")).toBeNull();
    expect(await codeOf(h.client.getObject("files/d"))).toBe("object_not_found");
  });

  it("composes multipart uploads from parts sent in any order, in parallel, retried", async () => {
    const parts = [bytes(70_000, 21), bytes(70_000, 22), bytes(12_345, 23)];
    const whole = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let offset = 0;
    for (const part of parts) {
      whole.set(part, offset);
      offset += part.byteLength;
    }
    const session = await h.client.createMultipart({ key: "files/mp", content_type: "video/mp4" });
    expect(session.target).toBe("main");
    await Promise.all(
      [3, 1, 2].map((n) => {
        const part = parts[n - 1]!;
        return h.client.putPart(session.upload_id, n, streamOf(part), {
          size: part.byteLength,
          sha256: sha(part),
        });
      }),
    );
    const retried = await h.client.putPart(session.upload_id, 2, parts[1]!, { size: 70_000 });
    expect(retried.sha256).toBe(sha(parts[1]!));
    const listed = await h.client.listParts(session.upload_id);
    expect(listed.map((p) => [p.part_number, p.size])).toEqual([
      [1, 70_000],
      [2, 70_000],
      [3, 12_345],
    ]);
    expect(
      await codeOf(
        h.client.completeMultipart(session.upload_id, {
          parts: [1, 2, 3].map((n) => ({ part_number: n })),
          sha256: sha(bytes(5)),
        }),
      ),
    ).toBe("content_digest_mismatch");
    expect(await h.client.headObject("files/mp")).toBeNull();
    const done = await h.client.completeMultipart(session.upload_id, {
      parts: listed.map((p) => ({ part_number: p.part_number, sha256: p.sha256 })),
      size: whole.byteLength,
      sha256: sha(whole),
    });
    expect(done).toMatchObject({
      key: "files/mp",
      size: whole.byteLength,
      sha256: sha(whole),
      content_type: "video/mp4",
    });
    const back = new Uint8Array(await (await h.client.getObject("files/mp")).arrayBuffer());
    expect(sha(back)).toBe(sha(whole));
    expect(await codeOf(h.client.listParts(session.upload_id))).toBe("multipart_not_found");
  });

  it("composes a session with a fixed part size from parts in any order, in parallel, retried", async () => {
    const parts = [bytes(70_000, 31), bytes(70_000, 32), bytes(12_345, 33)];
    const whole = Buffer.concat(parts);
    const session = await h.client.createMultipart({ key: "files/fixed", part_size: 70_000 });
    expect(Object.keys(session).sort()).toEqual(["created_at", "key", "target", "upload_id"]);
    await Promise.all(
      [3, 1, 2].map((n) =>
        h.client.putPart(session.upload_id, n, streamOf(parts[n - 1]!), { size: parts[n - 1]!.byteLength }),
      ),
    );
    // Part 2 again, first with other bytes, then with its own: the latest attempt is what counts.
    expect((await h.client.putPart(session.upload_id, 2, bytes(70_000, 99), { size: 70_000 })).sha256).toBe(
      sha(bytes(70_000, 99)),
    );
    expect((await h.client.putPart(session.upload_id, 2, parts[1]!, { size: 70_000 })).sha256).toBe(
      sha(parts[1]!),
    );
    expect(await codeOf(h.client.putPart(session.upload_id, 4, bytes(70_001), { size: 70_001 }))).toBe(
      "multipart_invalid",
    );
    expect(
      await codeOf(
        h.client.completeMultipart(session.upload_id, { parts: [1, 3].map((n) => ({ part_number: n })) }),
      ),
    ).toBe("multipart_invalid");
    expect(
      await codeOf(
        h.client.completeMultipart(session.upload_id, {
          parts: [1, 2, 3].map((n) => ({ part_number: n })),
          sha256: sha(bytes(5)),
        }),
      ),
    ).toBe("content_digest_mismatch");
    expect(await h.client.headObject("files/fixed")).toBeNull();
    const done = await h.client.completeMultipart(session.upload_id, {
      parts: [1, 2, 3].map((n) => ({ part_number: n, sha256: sha(parts[n - 1]!) })),
      size: whole.byteLength,
      sha256: sha(whole),
    });
    expect(done).toMatchObject({ key: "files/fixed", size: whole.byteLength, sha256: sha(whole) });
    const back = new Uint8Array(await (await h.client.getObject("files/fixed")).arrayBuffer());
    expect(sha(back)).toBe(sha(whole));
    expect(await codeOf(h.client.listParts(session.upload_id))).toBe("multipart_not_found");
  });

  it("refuses, in a session with a fixed part size, a part other than the last that is short", async () => {
    const session = await h.client.createMultipart({ key: "files/short", part_size: 1000 });
    await h.client.putPart(session.upload_id, 1, bytes(999), { size: 999 });
    await h.client.putPart(session.upload_id, 2, bytes(1000), { size: 1000 });
    expect(
      await codeOf(
        h.client.completeMultipart(session.upload_id, { parts: [1, 2].map((n) => ({ part_number: n })) }),
      ),
    ).toBe("multipart_invalid");
    expect(await h.client.headObject("files/short")).toBeNull();
    // The last part alone may be short: part 1 as the whole object.
    const done = await h.client.completeMultipart(session.upload_id, { parts: [{ part_number: 1 }] });
    expect(done).toMatchObject({ size: 999, sha256: sha(bytes(999)) });
  });

  it("refuses to complete with missing parts or a wrong total, and aborts cleanly", async () => {
    const session = await h.client.createMultipart({ key: "files/mp2" });
    await h.client.putPart(session.upload_id, 1, bytes(100), { size: 100 });
    expect(
      await codeOf(
        h.client.completeMultipart(session.upload_id, { parts: [{ part_number: 1 }, { part_number: 2 }] }),
      ),
    ).toBe("multipart_invalid");
    expect(
      await codeOf(h.client.completeMultipart(session.upload_id, { parts: [{ part_number: 1 }], size: 99 })),
    ).toBe("content_length_mismatch");
    await h.client.abortMultipart(session.upload_id);
    expect(await codeOf(h.client.listParts(session.upload_id))).toBe("multipart_not_found");
    expect(await h.client.headObject("files/mp2")).toBeNull();
  });
});

describe.each(targets)("body checks of the Fetch function on a $name target", ({ spec }) => {
  let h: Harness;
  let s3: Awaited<ReturnType<typeof startS3rver>>;

  beforeAll(async () => {
    s3 = await startS3rver(["flotilla"]);
    h = await inProcessAgent();
    expect((await h.client.upsertIngressTarget("main", spec(s3.endpoint))).state).toBe("applied");
  });
  afterAll(async () => {
    await h.cleanup();
    await s3.stop();
  });

  // In process the body may disagree with its Content-Length; over HTTP the framing forbids it.
  it("refuses a wrong digest, a short body and a long body, leaving nothing behind", async () => {
    const data = bytes(5000, 9);
    expect(
      await codeOf(
        h.client.putObject("files/bad1", streamOf(data), { size: 5000, sha256: sha(bytes(5000, 10)) }),
      ),
    ).toBe("content_digest_mismatch");
    expect(
      await codeOf(h.client.putObject("files/bad2", streamOf(data.slice(0, 4000)), { size: 5000 })),
    ).toBe("content_length_mismatch");
    const long = h.client.putObject("files/bad3", streamOf(data), { size: 4000 });
    expect(await codeOf(long)).toBe("content_length_mismatch");
    for (const key of ["files/bad1", "files/bad2", "files/bad3"])
      expect(await h.client.headObject(key)).toBeNull();
  });
});
