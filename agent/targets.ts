// Owns the ingress targets of this agent: validating and applying what the primary pushes (local under
// managed_ingress_local_root, or S3 with a real probe), their persisted state, the store behind each
// applied target, and which target object traffic goes to.
import { AppError } from "../shared/errors.ts";
import { keyProblem } from "../shared/protocol/keys.ts";
import type { IngressTargetInfo, IngressTargetSpec } from "../shared/protocol/schemas.ts";
import type { StateFile, StoredTarget } from "./state.ts";
import { confine } from "./store/confine.ts";
import { createDigestThread, type DigestThread } from "./store/digest-thread.ts";
import { createLocalStore } from "./store/local.ts";
import { createS3Store } from "./store/s3.ts";
import type { TargetStore } from "./store/types.ts";

export interface ResolvedTarget {
  key: string;
  store: TargetStore;
}

/** A reason safe to store and show: AppError messages are written for clients; others are reduced. */
export function safeReason(error: unknown): string {
  if (error instanceof AppError) return error.message;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === "string") return `Filesystem error ${code}.`;
  return "Unexpected error while applying the target.";
}

export function createTargets(
  state: StateFile,
  root: string,
  fetchImpl: typeof fetch = fetch,
  digests: DigestThread = createDigestThread(),
) {
  const stores = new Map<string, { revision: number; store: TargetStore }>();

  async function buildStore(spec: IngressTargetSpec): Promise<TargetStore> {
    if (spec.driver === "s3") return createS3Store(spec, fetchImpl);
    const base = spec.base_path.trim();
    const problem = base === "." ? null : keyProblem(base);
    if (problem) throw new AppError("ingress_path_invalid", `base_path ${problem}; it must be relative.`);
    return createLocalStore(await confine(root, base), digests);
  }

  async function storeOf(key: string, target: StoredTarget): Promise<TargetStore> {
    const cached = stores.get(key);
    if (cached && cached.revision === target.spec.revision) return cached.store;
    const store = await buildStore(target.spec);
    stores.set(key, { revision: target.spec.revision, store });
    return store;
  }

  async function info(key: string, target: StoredTarget): Promise<IngressTargetInfo> {
    const { spec } = target;
    let capacity: { free: number; total: number } | null = null;
    if (target.state === "applied") {
      capacity = await storeOf(key, target)
        .then((store) => store.capacity())
        .catch(() => null);
    }
    return {
      key,
      name: spec.name,
      driver: spec.driver,
      is_default: spec.is_default,
      revision: spec.revision,
      applied_revision: target.applied_revision,
      state: target.state,
      reason: target.reason,
      base_path: spec.driver === "local" ? spec.base_path : null,
      s3:
        spec.driver === "s3"
          ? {
              endpoint: spec.endpoint,
              region: spec.region,
              bucket: spec.bucket,
              prefix: spec.prefix,
              path_style: spec.path_style,
            }
          : null,
      free_bytes: capacity?.free ?? null,
      total_bytes: capacity?.total ?? null,
      updated_at: target.updated_at,
    };
  }

  return {
    async list(): Promise<IngressTargetInfo[]> {
      const entries = Object.entries(state.current.targets).sort(([a], [b]) => a.localeCompare(b));
      return Promise.all(entries.map(([key, target]) => info(key, target)));
    },

    defaultKey(): string | null {
      const found = Object.entries(state.current.targets).find(([, t]) => t.spec.is_default);
      return found ? found[0] : null;
    },

    /** Validates, applies and stores a pushed target. Path escapes refuse the push; other failures are stored. */
    async upsert(
      key: string,
      spec: IngressTargetSpec,
    ): Promise<{ created: boolean; info: IngressTargetInfo }> {
      const existing = state.current.targets[key];
      if (existing && spec.revision < existing.spec.revision) {
        throw new AppError("ingress_revision_stale", "A newer revision of this target was already pushed.", {
          details: { current_revision: existing.spec.revision },
        });
      }
      let outcome: Pick<StoredTarget, "state" | "reason" | "applied_revision">;
      try {
        const store = await buildStore(spec);
        await store.apply();
        outcome = { state: "applied", reason: null, applied_revision: spec.revision };
        stores.set(key, { revision: spec.revision, store });
      } catch (error) {
        if (error instanceof AppError && error.code === "ingress_path_invalid") throw error;
        outcome = {
          state: "failed",
          reason: safeReason(error),
          applied_revision: existing?.applied_revision ?? null,
        };
        stores.delete(key);
      }
      const next = await state.update((s) => {
        if (spec.is_default) for (const t of Object.values(s.targets)) t.spec.is_default = false;
        s.targets[key] = { spec, ...outcome, updated_at: new Date().toISOString() };
      });
      const stored = next.targets[key];
      if (!stored) throw new Error("target vanished after update");
      return { created: !existing, info: await info(key, stored) };
    },

    async remove(key: string): Promise<void> {
      const existing = state.current.targets[key];
      if (!existing) throw new AppError("ingress_target_not_found", `No ingress target "${key}".`);
      if (existing.spec.is_default && Object.keys(state.current.targets).length > 1) {
        throw new AppError("conflict", "Make another target the default before deleting the default target.");
      }
      await state.update((s) => {
        delete s.targets[key];
      });
      stores.delete(key);
    },

    /** The applied target for object traffic: the given one, or the default. */
    async resolve(requested: string | null): Promise<ResolvedTarget> {
      const key = requested ?? this.defaultKey();
      if (key === null)
        throw new AppError("ingress_default_missing", "No default ingress target is configured.");
      const target = state.current.targets[key];
      if (!target) {
        if (requested) throw new AppError("ingress_target_not_found", `No ingress target "${key}".`);
        throw new AppError("ingress_default_missing", "No default ingress target is configured.");
      }
      if (target.state !== "applied") {
        throw new AppError("ingress_default_not_applied", `Ingress target "${key}" is not applied.`, {
          details: { target: key, state: target.state, reason: target.reason },
        });
      }
      return { key, store: await storeOf(key, target) };
    },

    /** Directories of the applied local targets (for housekeeping). */
    async localDirs(): Promise<string[]> {
      const dirs: string[] = [];
      for (const target of Object.values(state.current.targets)) {
        if (target.state !== "applied" || target.spec.driver !== "local") continue;
        const base = target.spec.base_path.trim();
        const dir = await confine(root, base).catch(() => null);
        if (dir) dirs.push(dir);
      }
      return dirs;
    },

    /** Re-checks that the default target is writable (used by /health/ready). */
    async probeDefault(): Promise<string | null> {
      try {
        const { store } = await this.resolve(null);
        await store.apply();
        return null;
      } catch (error) {
        return safeReason(error);
      }
    },
  };
}

export type Targets = ReturnType<typeof createTargets>;
