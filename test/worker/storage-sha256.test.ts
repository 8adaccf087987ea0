// The incremental SHA-256 agrees with node:crypto for every length around block boundaries and for
// any way the input is split into chunks.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Sha256 } from "../../worker/storage/sha256.ts";
import { bytesOf } from "./storage/harness.ts";

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

  it("refuses updates after the digest was taken", () => {
    const hash = new Sha256();
    hash.digestHex();
    expect(() => hash.update(new Uint8Array(1))).toThrow();
  });
});
