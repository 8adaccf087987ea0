// Owns password hashing: PBKDF2-HMAC-SHA256 through WebCrypto (runs in workerd and Node). workerd caps
// PBKDF2 at 100 000 iterations, so that is the cost; the iteration count is stored in each hash so it
// can be raised later and old hashes still verify.
import { fromBase64Url, randomBytes, timingSafeEqual, toBase64Url } from "../../shared/crypto.ts";

export const PBKDF2_ITERATIONS = 100_000;
const SCHEME = "pbkdf2-sha256";
const encoder = new TextEncoder();

async function derive(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(password.normalize("NFC")),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    key,
    256,
  );
  return toBase64Url(new Uint8Array(bits));
}

/** `pbkdf2-sha256$<iterations>$<salt>$<hash>` with a 128-bit random salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  return `${SCHEME}$${PBKDF2_ITERATIONS}$${toBase64Url(salt)}$${await derive(password, salt, PBKDF2_ITERATIONS)}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, iterationsText, salt, expected] = stored.split("$");
  const iterations = Number(iterationsText);
  if (scheme !== SCHEME || !salt || !expected || !Number.isInteger(iterations) || iterations < 1)
    return false;
  return timingSafeEqual(await derive(password, fromBase64Url(salt), iterations), expected);
}

/**
 * Verified against when the username does not exist (or a link has no password), so both paths cost
 * one full KDF run. Made on first use inside a request, never at module load: workerd refuses random
 * numbers in global scope, and a rejected promise kept there would fail every later call. A documented
 * per-isolate cache; a failed attempt is not kept.
 */
let dummyHash: Promise<string> | undefined;

export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword("flotilla-no-such-user");
  const made = dummyHash;
  made.catch(() => {
    if (dummyHash === made) dummyHash = undefined;
  });
  await verifyPassword(password, await made);
}
