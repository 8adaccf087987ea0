// The incremental SHA-256 agrees with node:crypto for every length around block boundaries and for
// any way the input is split into chunks; inside workerd the native DigestStream is the hasher used.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createHasher, Sha256 } from "../../worker/storage/sha256.ts";
import { bytesOf } from "./storage/harness.ts";
import { startWorkerdDriver } from "./storage/workerd-driver.ts";

const reference = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

describe("incremental SHA-256", () => {
  it("matches node:crypto for lengths 0..200 fed at once", () => {
    for (let length = 0; length <= 200; length++) {
      const data = bytesOf(length, length + 1);
      expect(new Sha256().update(data).digestHex(), `length ${length}`).toBe(reference(data));
    }
  });

  it("matches node:crypto however the input is chunked", () => {
    const data = bytesOf(10_000, 9);
    for (const chunk of [1, 3, 63, 64, 65, 127, 1000, 4096]) {
      const hash = new Sha256();
      for (let offset = 0; offset < data.length; offset += chunk)
        hash.update(data.subarray(offset, offset + chunk));
      expect(hash.digestHex(), `chunk ${chunk}`).toBe(reference(data));
    }
  });

  it("falls back to the pure-JS hasher in Node, which has no DigestStream", async () => {
    expect("DigestStream" in crypto).toBe(false);
    const hasher = createHasher();
    await hasher.update(bytesOf(100));
    expect(await hasher.digestHex()).toBe(reference(bytesOf(100)));
  });

  it("finds workerd's native DigestStream, so the workerd conformance runs exercise it", async () => {
    const inside = await startWorkerdDriver();
    try {
      expect(await inside.runtime()).toEqual({ digest_stream: true });
    } finally {
      await inside.stop();
    }
  });

  it("refuses updates after the digest was taken", () => {
    const hash = new Sha256();
    hash.digestHex();
    expect(() => hash.update(new Uint8Array(1))).toThrow();
  });
});
