// Owns the key that seals the agent's secrets in state.json (the node secret, S3 credentials): where
// it is kept (a file of its own, apart from the state: a systemd credential, a configured path, or
// <data_dir>/state.key), creating it once when nothing is sealed yet, and AES-256-GCM sealing with
// each value bound to the field it is stored in. The state without its key reveals no secret.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { AppError } from "../shared/errors.ts";

const PREFIX = "sealed:v1:";
const KEY_BYTES = 32;

export class StateKey {
  readonly path: string;
  readonly #key: Buffer;

  private constructor(path: string, key: Buffer) {
    this.path = path;
    this.#key = key;
  }

  /** A short fingerprint naming the key in the state file (not a secret: a SHA-256 prefix). */
  get fingerprint(): string {
    return createHash("sha256").update(this.#key).digest("hex").slice(0, 16);
  }

  /**
   * Reads the key at `path`; when there is none and `mayCreate`, writes a new one there (0600,
   * never over an existing file, so two processes starting at once end up with the same key).
   */
  static async load(path: string, mayCreate: boolean): Promise<StateKey> {
    const existing = await readKeyFile(path);
    if (existing) return new StateKey(path, existing);
    if (!mayCreate) {
      throw new AppError(
        "config_invalid",
        `The state key ${path} is missing, and state.json holds secrets sealed with it. Restore the key from the backup taken with state.json, or enroll again with --force.`,
      );
    }
    try {
      await writeFile(path, `${randomBytes(KEY_BYTES).toString("base64")}\n`, { mode: 0o600, flag: "wx" });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new AppError("config_invalid", `Cannot create the state key ${path}.`, { cause: error });
      }
    }
    const created = await readKeyFile(path);
    if (!created) throw new AppError("config_invalid", `The state key ${path} could not be read back.`);
    return new StateKey(path, created);
  }

  static isSealed(value: unknown): boolean {
    return typeof value === "string" && value.startsWith(PREFIX);
  }

  /** Seals `plain` for the field named `context` (e.g. `targets.<key>.secret_access_key`). */
  seal(plain: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    cipher.setAAD(Buffer.from(context));
    const data = Buffer.concat([cipher.update(plain, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return `${PREFIX}${iv.toString("base64url")}:${data.toString("base64url")}`;
  }

  /** Opens a sealed value of the field `context`; another key, field or a tampered value throws. */
  open(sealed: string, context: string): string {
    const [iv, data] = sealed.slice(PREFIX.length).split(":");
    try {
      const bytes = Buffer.from(data ?? "", "base64url");
      const decipher = createDecipheriv("aes-256-gcm", this.#key, Buffer.from(iv ?? "", "base64url"));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      return Buffer.concat([
        decipher.update(bytes.subarray(0, bytes.length - 16)),
        decipher.final(),
      ]).toString("utf8");
    } catch (cause) {
      throw new AppError(
        "config_invalid",
        `A secret in state.json (${context}) does not open with the state key ${this.path}: it was sealed with another key.`,
        { cause },
      );
    }
  }
}

async function readKeyFile(path: string): Promise<Buffer | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new AppError("config_invalid", `Cannot read the state key ${path}.`, { cause: error });
  }
  const key = Buffer.from(text.trim(), "base64");
  if (key.length !== KEY_BYTES) {
    throw new AppError("config_invalid", `The state key ${path} is not ${KEY_BYTES} bytes of base64.`);
  }
  return key;
}
