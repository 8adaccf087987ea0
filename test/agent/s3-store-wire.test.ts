// The S3 ingress target reads S3's XML as XML: a store whose encoder writes the quotes of an ETag as
// numeric character references (Go's encoding/xml, which MinIO uses) keeps a composed object's
// SHA-256 trusted, because the ETag its sidecar records is the one HEAD answers. s3rver writes
// `&quot;`, so its answers are rewritten the MinIO way in between (an injected encoding, named so).
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createS3Store, S3_PART_BYTES } from "../../agent/store/s3.ts";
import { bytes } from "../support/bytes.ts";
import { S3RVER_WIRE_KEY, startS3rver } from "../support/s3rver.ts";

const sha = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

/** Writes every quote inside an answer's <ETag> elements as `&#34;`, as Go's XML encoder does. */
function minioStyleXml() {
  let rewritten = 0;
  const fetchImpl: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    if (!(response.headers.get("content-type") ?? "").includes("xml")) return response;
    const text = (await response.text()).replace(/<ETag>([^<]*)<\/ETag>/g, (_whole, etag: string) => {
      rewritten++;
      return `<ETag>${etag.replace(/&quot;|"/g, "&#34;")}</ETag>`;
    });
    const headers = new Headers(response.headers);
    headers.delete("content-length");
    return new Response(text, { status: response.status, headers });
  };
  return { fetch: fetchImpl, rewritten: () => rewritten };
}

async function* chunks(data: Uint8Array, size = 1024 * 1024): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

describe("S3 ingress target against a store that writes XML quotes as numeric references (injected)", () => {
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  beforeAll(async () => {
    s3 = await startS3rver(["wire"]);
  });
  afterAll(async () => {
    await s3.stop();
  });

  it("keeps the SHA-256 of an object composed by S3 multipart trusted", async () => {
    const wire = minioStyleXml();
    const store = createS3Store(
      {
        driver: "s3",
        name: "wire",
        revision: 1,
        is_default: true,
        endpoint: s3.endpoint,
        region: "us-east-1",
        bucket: "wire",
        prefix: "minio-style",
        path_style: true,
        ...S3RVER_WIRE_KEY,
      },
      wire.fetch,
    );
    const data = bytes(S3_PART_BYTES + 4096, 21);
    const stored = await store.put("files/composed", chunks(data), { size: data.length, contentType: null });
    expect(stored.sha256).toBe(sha(data));
    // The completion's answer named the composed ETag, MinIO style.
    expect(wire.rewritten()).toBe(1);
    const handle = await store.open("files/composed");
    try {
      expect(handle).toMatchObject({ size: data.length, sha256: sha(data) });
    } finally {
      await handle?.release();
    }
  });
});
