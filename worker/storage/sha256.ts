// Owns incremental SHA-256 for streamed bodies. WebCrypto's digest() needs the whole input at once,
// which would buffer entire objects; node:crypto's Hash takes chunks as they pass, natively, in Node
// and in workerd (nodejs_compat), so tests hash with the code production runs.
import { createHash } from "node:crypto";

export interface StreamHasher {
  update(chunk: Uint8Array): void;
  /** Lowercase hex; the hasher takes no more chunks afterwards. */
  digestHex(): string;
}

export function createHasher(): StreamHasher {
  const hash = createHash("sha256");
  return {
    update: (chunk) => {
      hash.update(chunk);
    },
    digestHex: () => hash.digest("hex"),
  };
}
