// Owns turning a storage policy row into a ready driver: primary (the R2 binding), s3 (credentials
// decrypted here only) or remote (the follower's signed client, refused before any network call when
// the node is disabled or not reachable). Keys are placed under the policy's key prefix.
import { eq } from "drizzle-orm";
import { AppError } from "../../shared/errors.ts";
import { storedCapabilities } from "../db/probes.ts";
import { followerNodes, type storagePolicies } from "../db/schema.ts";
import { followerClient } from "../followers/client.ts";
import { fromFollower } from "../followers/errors.ts";
import { recordTransferFailure } from "../followers/events.ts";
import { decryptSecret } from "../secrets.ts";
import type { Services } from "../services.ts";
import { createPrimaryDriver } from "./primary.ts";
import { createRemoteDriver } from "./remote.ts";
import { createS3Driver } from "./s3.ts";
import { prefixedKey } from "./streams.ts";
import { STORAGE_TIMEOUTS, type StorageDriver } from "./types.ts";

export type PolicyRow = typeof storagePolicies.$inferSelect;

export const policyCredentialContext = (id: string, which: "access_key" | "secret_key") =>
  `storage_policies.s3_${which}:${id}`;

export interface DriverOptions {
  /** Where the file's bytes landed (PutResult.location), for reads of existing files. */
  location?: string | null;
  /**
   * A remote policy's node row when the caller read it already (in the batch that found the policy):
   * it is used instead of reading it again.
   */
  node?: NodeRow | null;
}

type NodeRow = typeof followerNodes.$inferSelect;

export async function driverForPolicy(
  services: Services,
  policy: PolicyRow,
  options: DriverOptions = {},
): Promise<StorageDriver> {
  const inner = await baseDriver(services, policy, options);
  if (policy.driver !== "remote" || !policy.nodeId) return scoped(inner, policy.keyPrefix, (e) => e);
  const nodeId = policy.nodeId;
  return scoped(inner, policy.keyPrefix, fromFollower, (operation, error) =>
    recordTransferFailure(services, nodeId, operation, error),
  );
}

async function baseDriver(
  services: Services,
  policy: PolicyRow,
  options: DriverOptions,
): Promise<StorageDriver> {
  switch (policy.driver) {
    case "primary":
      return createPrimaryDriver(services.env.FILES);
    case "s3": {
      const secret = services.env.FLOTILLA_SECRET;
      return createS3Driver(
        {
          endpoint: policy.s3Endpoint ?? "",
          region: policy.s3Region ?? "us-east-1",
          bucket: policy.s3Bucket ?? "",
          pathStyle: policy.s3ForcePathStyle,
          accessKeyId: await decryptSecret(
            secret,
            policy.s3AccessKeyEnc ?? "",
            policyCredentialContext(policy.id, "access_key"),
          ),
          secretAccessKey: await decryptSecret(
            secret,
            policy.s3SecretKeyEnc ?? "",
            policyCredentialContext(policy.id, "secret_key"),
          ),
        },
        { fetch: services.fetch },
      );
    }
    case "remote": {
      const [node] =
        options.node && options.node.id === policy.nodeId
          ? [options.node]
          : policy.nodeId
            ? await services.db.select().from(followerNodes).where(eq(followerNodes.id, policy.nodeId))
            : [];
      if (!node)
        throw new AppError("internal", "Internal error.", {
          cause: new Error(`policy ${policy.id} has no node`),
        });
      if (!node.enabled) {
        throw new AppError("node_disabled", "The follower node of this storage policy is disabled.", {
          details: { node_id: node.id },
        });
      }
      // The client's limits run until response headers arrive: for an upload from its last byte (the
      // sender sets the pace before that), for a composition from the start, 30 s for everything
      // else, so a follower that accepts connections but never answers fails a download in 30 s.
      const client = await followerClient(services, node, {
        timeoutMs: STORAGE_TIMEOUTS.answerMs,
        streamTimeoutMs: STORAGE_TIMEOUTS.longWorkMs,
      });
      const features = storedCapabilities(node.lastGoodProbeJson)?.features;
      const copy = features?.copy === true;
      const pulls = features?.pull === true;
      return createRemoteDriver(client, {
        ...(options.location ? { target: options.location } : {}),
        copy,
        pulls,
      });
    }
  }
}

/**
 * Places every key under `prefix`, maps errors and reports each failure (mapped) to `onFailure`
 * before rethrowing it; the multipart and presign shapes, and which optional methods exist, pass through.
 */
function scoped(
  driver: StorageDriver,
  prefix: string,
  mapError: (e: unknown) => unknown,
  onFailure?: (operation: string, error: unknown) => Promise<void>,
): StorageDriver {
  const k = (key: string) => prefixedKey(prefix, key);
  const run = async <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      const mapped = mapError(error);
      await onFailure?.(operation, mapped);
      throw mapped;
    }
  };
  const wrapped: StorageDriver = {
    kind: driver.kind,
    limits: driver.limits,
    put: (key, body, o) => run("upload", () => driver.put(k(key), body, o)),
    // Callers see their own keys back, not the prefixed ones.
    get: (key, o) =>
      run("download", async () => {
        const got = await driver.get(k(key), o);
        return got ? { ...got, key } : null;
      }),
    head: (key) =>
      run("head", async () => {
        const info = await driver.head(k(key));
        return info ? { ...info, key } : null;
      }),
    delete: (key) => run("delete", () => driver.delete(k(key))),
    createMultipart: (key, o) => run("start multipart upload", () => driver.createMultipart(k(key), o)),
    putPart: (key, id, n, body, o) => run(`upload part ${n}`, () => driver.putPart(k(key), id, n, body, o)),
    completeMultipart: (key, id, parts) =>
      run("complete multipart upload", () => driver.completeMultipart(k(key), id, parts)),
    abortMultipart: (key, id) => run("abort multipart upload", () => driver.abortMultipart(k(key), id)),
  };
  const { presign, listParts, completeMultipartVerified, startPull, pullState, cancelPull } = driver;
  if (presign) wrapped.presign = (r) => run("presign", () => presign({ ...r, key: k(r.key) }));
  if (startPull && pullState && cancelPull) {
    wrapped.startPull = (key, input) =>
      run("pull", async () => {
        const state = await startPull(k(key), input);
        return { ...state, error: state.error ? (mapError(state.error) as typeof state.error) : null };
      });
    wrapped.pullState = (id) =>
      run("pull", async () => {
        const state = await pullState(id);
        return { ...state, error: state.error ? (mapError(state.error) as typeof state.error) : null };
      });
    wrapped.cancelPull = (id) => run("cancel pull", () => cancelPull(id));
  }
  if (listParts) wrapped.listParts = (key, id) => run("list parts", () => listParts(k(key), id));
  if (completeMultipartVerified) {
    wrapped.completeMultipartVerified = (key, id, parts, expected) =>
      run("complete multipart upload", () => completeMultipartVerified(k(key), id, parts, expected));
  }
  const copy = driver.copy;
  if (copy) wrapped.copy = (from, key, o) => run("copy", () => copy(k(from), k(key), o));
  return wrapped;
}
