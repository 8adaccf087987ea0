import { describe, expect, it, vi } from "vitest";
import { AppError } from "../../shared/errors.ts";
import { decryptSecret, encryptSecret } from "../../worker/secrets.ts";

const KEY = "k".repeat(40);

describe("secrets at rest", () => {
  it("round-trips and never contains the plaintext", async () => {
    const sealed = await encryptSecret(KEY, "rns_super-secret", "follower_nodes.secret:1");
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain("super-secret");
    expect(await decryptSecret(KEY, sealed, "follower_nodes.secret:1")).toBe("rns_super-secret");
  });

  it("uses a fresh IV every time", async () => {
    const a = await encryptSecret(KEY, "same", "ctx");
    const b = await encryptSecret(KEY, "same", "ctx");
    expect(a).not.toBe(b);
  });

  const failures: [string, (sealed: string) => Promise<string>][] = [
    ["another row's context", (s) => decryptSecret(KEY, s, "follower_nodes.secret:2")],
    ["another key", (s) => decryptSecret("x".repeat(40), s, "follower_nodes.secret:1")],
    [
      "a tampered ciphertext",
      (s) =>
        decryptSecret(KEY, `${s.slice(0, -2)}${s.endsWith("AA") ? "BB" : "AA"}`, "follower_nodes.secret:1"),
    ],
    ["a malformed value", () => decryptSecret(KEY, "plaintext", "follower_nodes.secret:1")],
  ];
  for (const [name, open] of failures) {
    it(`refuses to open with ${name}`, async () => {
      const sealed = await encryptSecret(KEY, "value", "follower_nodes.secret:1");
      const error = await open(sealed).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe("internal");
      expect((error as AppError).message).not.toContain("value");
    });
  }

  it("derives again after a failed derivation (mocked: WebCrypto failing once cannot be produced otherwise)", async () => {
    const master = "m".repeat(40);
    const importKey = vi
      .spyOn(crypto.subtle, "importKey")
      .mockRejectedValueOnce(new Error("transient WebCrypto failure"));
    try {
      await expect(encryptSecret(master, "value", "ctx")).rejects.toThrow("transient WebCrypto failure");
      const sealed = await encryptSecret(master, "value", "ctx");
      expect(await decryptSecret(master, sealed, "ctx")).toBe("value");
    } finally {
      importKey.mockRestore();
    }
  });
});
