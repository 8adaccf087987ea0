// Owns the agent's persisted state: enrollment (node id, primary origin, key id, secret), the binding
// pushed by the primary, and the ingress targets with their apply state. One JSON file, mode 0600,
// replaced atomically (temp + fsync + rename); writes are serialized. The node secret and S3
// credentials are sealed in it with the state key (state-key.ts), kept apart from it; a state written
// in clear by an older agent is sealed when it is loaded.
import { chmod, mkdir, open, readFile, rename, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { z } from "zod";
import { AppError } from "../shared/errors.ts";
import { ingressStateSchema, ingressTargetSpecSchema } from "../shared/protocol/schemas.ts";
import { StateKey } from "./state-key.ts";

const enrollmentSchema = z.object({
  node_id: z.string(),
  node_name: z.string(),
  primary_origin: z.string(),
  primary_url: z.string(),
  key_id: z.string(),
  secret: z.string(),
  enrolled_at: z.string(),
});

const storedTargetSchema = z.object({
  spec: ingressTargetSpecSchema,
  applied_revision: z.number().int().positive().nullable(),
  state: ingressStateSchema,
  reason: z.string().nullable(),
  updated_at: z.string(),
});
export type StoredTarget = z.infer<typeof storedTargetSchema>;

const stateSchema = z.object({
  /** 1: written by agents that kept secrets in clear; 2: secrets sealed, `sealed_with` names the key. */
  version: z.union([z.literal(1), z.literal(2)]),
  sealed_with: z.string().optional(),
  enrollment: enrollmentSchema.nullable(),
  binding: z.object({ name: z.string(), enabled: z.boolean(), revision: z.number().int().nonnegative() }),
  targets: z.record(z.string(), storedTargetSchema),
});
export type AgentState = z.infer<typeof stateSchema>;
export type Enrollment = z.infer<typeof enrollmentSchema>;

function emptyState(): AgentState {
  return { version: 2, enrollment: null, binding: { name: "", enabled: false, revision: 0 }, targets: {} };
}

/**
 * Calls `change` on every secret of a state (typed, or as parsed from disk before validation) and
 * stores what it returns in place: the enrollment secret and each S3 target's access key pair.
 */
function eachSecret(state: unknown, change: (value: string, context: string) => string): void {
  if (typeof state !== "object" || state === null) return;
  const { enrollment, targets } = state as { enrollment?: unknown; targets?: unknown };
  if (typeof enrollment === "object" && enrollment !== null) {
    const e = enrollment as { secret?: unknown };
    if (typeof e.secret === "string") e.secret = change(e.secret, "enrollment.secret");
  }
  if (typeof targets !== "object" || targets === null) return;
  for (const [key, target] of Object.entries(targets)) {
    const spec = (target as { spec?: unknown } | null)?.spec;
    if (typeof spec !== "object" || spec === null) continue;
    const fields = spec as Record<string, unknown>;
    if (fields.driver !== "s3") continue;
    for (const field of ["access_key_id", "secret_access_key"]) {
      const value = fields[field];
      if (typeof value === "string") fields[field] = change(value, `targets.${key}.${field}`);
    }
  }
}

export class StateFile {
  readonly path: string;
  /** Where the state key is kept (a file apart from the state). */
  readonly keyPath: string;
  #key: StateKey | null = null;
  #state: AgentState = emptyState();
  #writing: Promise<void> = Promise.resolve();
  #mtimeMs = 0;

  constructor(dataDir: string, keyPath = join(dataDir, "state.key")) {
    this.path = join(dataDir, "state.json");
    this.keyPath = keyPath;
  }

  get current(): AgentState {
    return this.#state;
  }

  async load(): Promise<AgentState> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    let raw: unknown = null;
    try {
      raw = JSON.parse(await readFile(this.path, "utf8"));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    let sealed = false;
    eachSecret(raw, (value) => {
      sealed ||= StateKey.isSealed(value);
      return value;
    });
    // A new key only where nothing depends on an old one: a missing key with sealed secrets is refused.
    this.#key = await StateKey.load(this.keyPath, !sealed);
    if (raw === null) return this.#state;
    const { state, clear } = this.#open(raw);
    this.#state = state;
    await chmod(this.path, 0o600);
    if (clear) await this.#persist(state);
    this.#mtimeMs = (await stat(this.path)).mtimeMs;
    return this.#state;
  }

  /**
   * Picks up an enrollment written by another process (the `enroll` CLI), so no restart is needed.
   * Only a changed enrollment is adopted: this process is the only writer of everything else, and
   * reloading its own writes could race with updates still in flight.
   */
  async refresh(): Promise<void> {
    const mtimeMs = await stat(this.path).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    if (mtimeMs === this.#mtimeMs) return;
    this.#mtimeMs = mtimeMs;
    const onDisk = await readFile(this.path, "utf8")
      .then((text) => this.#open(JSON.parse(text)).state)
      .catch(() => null);
    if (onDisk && JSON.stringify(onDisk.enrollment) !== JSON.stringify(this.#state.enrollment)) {
      await this.#writing;
      this.#state = onDisk;
    }
  }

  /** Applies a change to the in-memory state and persists it; changes are written in order. */
  async update(change: (state: AgentState) => void): Promise<AgentState> {
    const next = structuredClone(this.#state);
    change(next);
    this.#state = next;
    const write = this.#writing.then(() => this.#persist(next));
    this.#writing = write.catch(() => undefined);
    await write;
    return next;
  }

  #stateKey(): StateKey {
    if (!this.#key) throw new Error("state used before load()");
    return this.#key;
  }

  /** The state as read from disk with its secrets opened; `clear` when some were not sealed. */
  #open(raw: unknown): { state: AgentState; clear: boolean } {
    const key = this.#stateKey();
    const sealedWith = (raw as { sealed_with?: unknown } | null)?.sealed_with;
    if (typeof sealedWith === "string" && sealedWith !== key.fingerprint) {
      throw new AppError(
        "config_invalid",
        `state.json was sealed with state key ${sealedWith}, but ${key.path} holds key ${key.fingerprint}. Restore the key backed up with this state.`,
      );
    }
    let clear = false;
    eachSecret(raw, (value, context) => {
      if (StateKey.isSealed(value)) return key.open(value, context);
      clear = true;
      return value;
    });
    const state = stateSchema.parse(raw);
    return { state: { ...state, version: 2, sealed_with: key.fingerprint }, clear };
  }

  async #persist(state: AgentState): Promise<void> {
    const key = this.#stateKey();
    const disk: AgentState = { ...structuredClone(state), version: 2, sealed_with: key.fingerprint };
    eachSecret(disk, (value, context) => key.seal(value, context));
    const temp = `${this.path}.${process.pid}.tmp`;
    const handle = await open(temp, "w", 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(disk, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.path);
    this.#mtimeMs = (await stat(this.path)).mtimeMs;
  }
}
