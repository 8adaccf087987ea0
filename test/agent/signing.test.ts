import { describe, expect, it } from "vitest";
import { AppError } from "../../shared/errors.ts";
import {
  NONCE_HEADER,
  NonceCache,
  signRequest,
  UNSIGNED_PAYLOAD,
  verifyBodyHash,
  verifyRequest,
} from "../../shared/protocol/signing.ts";
import { codeOf } from "../support/envelopes.ts";

const credentials = { keyId: "fk_test_key_0001", secret: "s".repeat(40) };
const lookupSecret = (keyId: string) => (keyId === credentials.keyId ? credentials.secret : undefined);

async function signed(method: string, path: string, body: string | null | "unsigned", now = new Date()) {
  return signRequest({ method, path, credentials, body, now });
}

function verify(
  method: string,
  path: string,
  headers: Headers,
  extra: Partial<Parameters<typeof verifyRequest>[0]> = {},
) {
  return verifyRequest({
    method,
    path,
    headers,
    lookupSecret,
    nonces: new NonceCache(),
    allowUnsignedPayload: false,
    ...extra,
  });
}

describe("signed internal requests", () => {
  it("accepts a request exactly as signed and reports its payload hash", async () => {
    const body = '{"name":"a","enabled":true}';
    const headers = await signed("PUT", "/internal/v2/binding", body);
    const verified = await verify("PUT", "/internal/v2/binding", headers);
    expect(verified.keyId).toBe(credentials.keyId);
    await verifyBodyHash(new TextEncoder().encode(body), verified.contentSha256);
    expect(await codeOf(verifyBodyHash(new TextEncoder().encode(`${body} `), verified.contentSha256))).toBe(
      "auth_body_hash_mismatch",
    );
  });

  it("names each failed check", async () => {
    const path = "/internal/v2/objects/a/b?size=3&target=t1";
    const headers = await signed("GET", path, null);
    expect(await codeOf(verify("GET", path, new Headers()))).toBe("auth_missing");
    const garbled = new Headers(headers);
    garbled.set("authorization", "AWS4-HMAC-SHA256 nonsense");
    expect(await codeOf(verify("GET", path, garbled))).toBe("auth_malformed");
    expect(await codeOf(verify("GET", path, headers, { lookupSecret: () => undefined }))).toBe(
      "auth_unknown_key",
    );
    expect(await codeOf(verify("DELETE", path, headers))).toBe("auth_bad_signature");
    expect(await codeOf(verify("GET", path.replace("size=3", "size=4"), headers))).toBe("auth_bad_signature");
    expect(await codeOf(verify("GET", "/internal/v2/objects/a/c?size=3&target=t1", headers))).toBe(
      "auth_bad_signature",
    );
    const otherNonce = new Headers(headers);
    otherNonce.set(NONCE_HEADER, "n_AAAAAAAAAAAAAAAAAAAAAAAA");
    expect(await codeOf(verify("GET", path, otherNonce))).toBe("auth_bad_signature");
    const later = new Date(Date.now() + 301_000);
    expect(await codeOf(verify("GET", path, headers, { now: later }))).toBe("auth_clock_skew");
    const earlier = new Date(Date.now() - 301_000);
    expect(await codeOf(verify("GET", path, headers, { now: earlier }))).toBe("auth_clock_skew");
    const afterRestart = new Date(Date.now() + 2_000);
    expect(await codeOf(verify("GET", path, headers, { notBefore: afterRestart }))).toBe("auth_clock_skew");
  });

  it("accepts a nonce once, and a bad signature does not burn it", async () => {
    const path = "/internal/v2/capabilities";
    const headers = await signed("GET", path, null);
    const nonces = new NonceCache();
    expect(await codeOf(verify("POST", path, headers, { nonces }))).toBe("auth_bad_signature");
    await verify("GET", path, headers, { nonces });
    expect(await codeOf(verify("GET", path, headers, { nonces }))).toBe("auth_replayed_nonce");
  });

  it("refuses UNSIGNED-PAYLOAD except where a route streams", async () => {
    const path = "/internal/v2/objects/k?size=1";
    const headers = await signed("PUT", path, "unsigned");
    expect(await codeOf(verify("PUT", path, headers))).toBe("auth_body_hash_mismatch");
    const verified = await verify("PUT", path, headers, { allowUnsignedPayload: true });
    expect(verified.contentSha256).toBe(UNSIGNED_PAYLOAD);
  });

  it("refuses new nonces when the cache is full of live ones (bounded memory)", () => {
    const nonces = new NonceCache(2, 1000);
    expect(nonces.claim("a", 0)).toBe(true);
    expect(nonces.claim("b", 0)).toBe(true);
    expect(() => nonces.claim("c", 10)).toThrow(AppError);
    expect(nonces.claim("c", 2000)).toBe(true);
  });
});
