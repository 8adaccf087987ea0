// Owns encryption of secrets at rest (follower node secrets, S3 credentials): AES-256-GCM with a key
// derived by HKDF-SHA256 from FLOTILLA_SECRET. Each ciphertext is bound to a context string (table,
// column, row id) as additional data, so a value copied to another row or column fails to decrypt.

import { fromBase64Url, randomBytes, toBase64Url } from "../shared/crypto.ts";
import { AppError } from "../shared/errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const VERSION = "v1";

// Derived keys are cached per master secret: HKDF is cheap, but this keeps hot paths to one import.
// A derivation that fails is dropped from the cache, so the next call derives again instead of
// failing for the isolate's life.
const keyCache = new Map<string, Promise<CryptoKey>>();

function deriveKey(masterSecret: string): Promise<CryptoKey> {
  let key = keyCache.get(masterSecret);
  if (!key) {
    key = (async () => {
      const material = await crypto.subtle.importKey("raw", encoder.encode(masterSecret), "HKDF", false, [
        "deriveKey",
      ]);
      return crypto.subtle.deriveKey(
        {
          name: "HKDF",
          hash: "SHA-256",
          salt: encoder.encode("flotilla"),
          info: encoder.encode("secrets-at-rest/v1"),
        },
        material,
        { name: "AES-GCM", length: 256 },
        false,
        ["encrypt", "decrypt"],
      );
    })();
    keyCache.set(masterSecret, key);
    const made = key;
    made.catch(() => {
      if (keyCache.get(masterSecret) === made) keyCache.delete(masterSecret);
    });
  }
  return key;
}

/**
 * Encrypts `plaintext` for storage. `context` names where it is stored, e.g.
 * `follower_nodes.secret:<id>`; the same context must be given to decrypt. Output: `v1.<iv>.<ciphertext>`.
 */
export async function encryptSecret(
  masterSecret: string,
  plaintext: string,
  context: string,
): Promise<string> {
  const iv = randomBytes(12);
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(context) },
    await deriveKey(masterSecret),
    encoder.encode(plaintext),
  );
  return `${VERSION}.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(sealed))}`;
}

/** Decrypts a value from encryptSecret. A wrong key, context or tampered value throws `internal`. */
export async function decryptSecret(masterSecret: string, sealed: string, context: string): Promise<string> {
  const [version, iv, data] = sealed.split(".");
  if (version !== VERSION || !iv || !data) {
    throw new AppError("internal", "Internal error.", {
      cause: new Error(`malformed sealed secret (${context})`),
    });
  }
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: fromBase64Url(iv), additionalData: encoder.encode(context) },
      await deriveKey(masterSecret),
      fromBase64Url(data),
    );
    return decoder.decode(plain);
  } catch (cause) {
    throw new AppError("internal", "Internal error.", {
      cause: new Error(`sealed secret does not open (${context}); was FLOTILLA_SECRET changed?`, { cause }),
    });
  }
}
