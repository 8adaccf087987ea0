// Owns the agent's persisted state: enrollment (node id, primary origin, key id, secret), the binding
// pushed by the primary, and the ingress targets with their apply state. One JSON file, mode 0600,
// replaced atomically (temp + fsync + rename); writes are serialized. The secret and S3 credentials are
// stored here in clear: the file is the agent's keyring, protected by its mode and the data_dir's owner.
import { chmod, mkdir, open, readFile, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { ingressStateSchema, ingressTargetSpecSchema } from "../shared/protocol/schemas.ts";

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
  version: z.literal(1),
  enrollment: enrollmentSchema.nullable(),
  binding: z.object({ name: z.string(), enabled: z.boolean(), revision: z.number().int().nonnegative() }),
  targets: z.record(z.string(), storedTargetSchema),
});
export type AgentState = z.infer<typeof stateSchema>;
export type Enrollment = z.infer<typeof enrollmentSchema>;

function emptyState(): AgentState {
  return { version: 1, enrollment: null, binding: { name: "", enabled: false, revision: 0 }, targets: {} };
}

export class StateFile {
  readonly path: string;
  #state: AgentState = emptyState();
  #writing: Promise<void> = Promise.resolve();
  #mtimeMs = 0;

  constructor(dataDir: string) {
    this.path = join(dataDir, "state.json");
  }

  get current(): AgentState {
    return this.#state;
  }

  async load(): Promise<AgentState> {
    await mkdir(join(this.path, ".."), { recursive: true, mode: 0o700 });
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return this.#state;
      throw error;
    }
    this.#state = stateSchema.parse(JSON.parse(text));
    await chmod(this.path, 0o600);
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
      .then((text) => stateSchema.parse(JSON.parse(text)))
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

  async #persist(state: AgentState): Promise<void> {
    const temp = `${this.path}.${process.pid}.tmp`;
    const handle = await open(temp, "w", 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(state, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.path);
    this.#mtimeMs = (await stat(this.path)).mtimeMs;
  }
}
