import { describe, expect, it } from "vitest";
import { createFollowerClient } from "../../shared/protocol/client.ts";
import { verifyPresigned } from "../../shared/protocol/presign.ts";
import { codeOf } from "../support/envelopes.ts";

const keyId = "fk_presign_key_01";
const secret = "p".repeat(40);
const client = createFollowerClient({ baseUrl: "https://follower.example/", keyId, secret });
const lookupSecret = (id: string) => (id === keyId ? secret : undefined);

function relative(url: string): string {
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
}

describe("presigned URLs", () => {
  it("binds a GET to its key and response overrides", async () => {
    const { url } = await client.presignGet({
      key: "files/abc",
      expiresInSeconds: 300,
      responseContentDisposition: 'attachment; filename="a b.txt"',
      responseContentType: "text/plain",
    });
    expect(url.startsWith("https://follower.example/internal/v2/objects/files/abc?")).toBe(true);
    const ok = await verifyPresigned({ method: "GET", path: relative(url), lookupSecret });
    expect(ok.params.get("response-content-disposition")).toBe('attachment; filename="a b.txt"');
    const tampered = relative(url).replace("text%2Fplain", "text%2Fhtml");
    expect(await codeOf(verifyPresigned({ method: "GET", path: tampered, lookupSecret }))).toBe(
      "auth_bad_signature",
    );
    const otherKey = relative(url).replace("files/abc", "files/abd");
    expect(await codeOf(verifyPresigned({ method: "GET", path: otherKey, lookupSecret }))).toBe(
      "auth_bad_signature",
    );
    expect(await codeOf(verifyPresigned({ method: "PUT", path: relative(url), lookupSecret }))).toBe(
      "auth_bad_signature",
    );
  });

  it("binds a PUT to size, content type and a ticket", async () => {
    const put = await client.presignPut({
      key: "k1",
      size: 5,
      contentType: "image/png",
      expiresInSeconds: 60,
    });
    expect(put.headers["content-type"]).toBe("image/png");
    const ok = await verifyPresigned({ method: "PUT", path: relative(put.url), lookupSecret });
    expect(ok.params.get("size")).toBe("5");
    expect(ok.params.get("content-type")).toBe("image/png");
    expect(ok.params.get("ticket")).toMatch(/^t_/);
    const bigger = relative(put.url).replace("size=5", "size=6");
    expect(await codeOf(verifyPresigned({ method: "PUT", path: bigger, lookupSecret }))).toBe(
      "auth_bad_signature",
    );
  });

  it("expires, enforces the node's maximum lifetime and refuses unknown keys", async () => {
    const past = new Date(Date.now() - 120_000);
    const expired = await client.presignGet({ key: "k", expiresInSeconds: 60 }, past);
    expect(await codeOf(verifyPresigned({ method: "GET", path: relative(expired.url), lookupSecret }))).toBe(
      "presign_expired",
    );
    const long = await client.presignGet({ key: "k", expiresInSeconds: 7200 });
    expect(await codeOf(verifyPresigned({ method: "GET", path: relative(long.url), lookupSecret }))).toBe(
      "presign_ttl_too_long",
    );
    const fine = await client.presignGet({ key: "k", expiresInSeconds: 60 });
    expect(
      await codeOf(
        verifyPresigned({ method: "GET", path: relative(fine.url), lookupSecret: () => undefined }),
      ),
    ).toBe("auth_unknown_key");
    expect(
      await codeOf(
        verifyPresigned({ method: "GET", path: "/internal/v2/objects/k?X-Amz-Signature=zz", lookupSecret }),
      ),
    ).toBe("auth_malformed");
  });
});
