// The streaming SHA-256 agrees with Node's for every length around block boundaries and for any way
// the input is split into chunks, in Node and inside workerd (whose node:crypto is its own, not
// Node's); Workers deploys with the nodejs_compat flag that provides it there.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { parse } from "smol-toml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compatibilityDate, compatibilityFlags } from "../../../scripts/stack/primary.ts";
import { createHasher } from "../../../worker/storage/sha256.ts";
import { bytes } from "../../support/bytes.ts";
import { startWorkerdDriver } from "./workerd-driver.ts";

const reference = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
const CHUNKS = [1, 3, 63, 64, 65, 127, 1000, 4096];

function hashInChunks(data: Uint8Array, chunk: number): string {
  const hasher = createHasher();
  for (let offset = 0; offset < data.length; offset += chunk)
    hasher.update(data.subarray(offset, offset + chunk));
  return hasher.digestHex();
}

describe("streaming SHA-256 in Node", () => {
  it("matches the reference for lengths 0..200 fed at once", () => {
    for (let length = 0; length <= 200; length++) {
      const data = bytes(length, length + 1);
      expect(hashInChunks(data, Math.max(1, length)), `length ${length}`).toBe(reference(data));
    }
  });

  it("matches the reference however the input is chunked", () => {
    const data = bytes(10_000, 9);
    for (const chunk of CHUNKS) expect(hashInChunks(data, chunk), `chunk ${chunk}`).toBe(reference(data));
  });

  it("refuses updates after the digest was taken", () => {
    const hasher = createHasher();
    hasher.digestHex();
    expect(() => hasher.update(new Uint8Array(1))).toThrow();
  });
});

describe("streaming SHA-256 inside workerd", () => {
  let inside: Awaited<ReturnType<typeof startWorkerdDriver>>;
  beforeAll(async () => {
    inside = await startWorkerdDriver();
  });
  afterAll(async () => {
    await inside?.stop();
  });

  it("matches Node's for lengths 0..200 fed at once", async () => {
    for (let length = 0; length <= 200; length++) {
      const data = bytes(length, length + 1);
      expect(await inside.sha256(data, Math.max(1, length)), `length ${length}`).toBe(reference(data));
    }
  });

  it("matches Node's however the input is chunked", async () => {
    const data = bytes(10_000, 9);
    for (const chunk of CHUNKS)
      expect(await inside.sha256(data, chunk), `chunk ${chunk}`).toBe(reference(data));
  });
});

describe("the deployed worker's runtime", () => {
  it("has the compatibility date and flags (nodejs_compat) the local stack and these tests run with", async () => {
    const wrangler = parse(await readFile(new URL("../../../wrangler.toml", import.meta.url), "utf8"));
    expect(wrangler.compatibility_date).toBe(compatibilityDate);
    expect(wrangler.compatibility_flags).toEqual(compatibilityFlags);
    expect(compatibilityFlags).toContain("nodejs_compat");
  });
});
