// Owns the Node side of the workerd driver harness: bundles driver-worker.ts with esbuild, starts it in
// Miniflare with an R2 bucket (temp persist dir) and returns a StorageDriver that forwards each call to
// the driver named by `spec`, running inside workerd. The proxy reads test bodies into memory before
// sending (test data only); the driver under test streams as in production.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { compatibilityDate, compatibilityFlags } from "../../../scripts/stack/primary.ts";
import { AppError, type ErrorCode } from "../../../shared/errors.ts";
import type { PresignedUrl, PullState, StorageDriver } from "../../../worker/storage/types.ts";
import { readAll } from "../../support/bytes.ts";
import type { DriverSpec } from "./driver-worker.ts";

export async function startWorkerdDriver(spec: DriverSpec = { kind: "primary" }): Promise<{
  driver: StorageDriver;
  sha256(data: Uint8Array, chunk: number): Promise<string>;
  stop(): Promise<void>;
}> {
  const bundle = await build({
    entryPoints: [new URL("./driver-worker.ts", import.meta.url).pathname],
    bundle: true,
    format: "esm",
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    // workerd provides these itself (nodejs_compat), as on Workers.
    external: ["cloudflare:*", "node:*"],
    write: false,
  });
  const persist = await mkdtemp(join(tmpdir(), "flotilla-r2-"));
  const mf = new Miniflare({
    modules: true,
    script: bundle.outputFiles[0]!.text,
    compatibilityDate,
    compatibilityFlags,
    r2Buckets: ["FILES"],
    r2Persist: persist,
  });
  const call = async (op: string, params: Record<string, string | undefined>, body?: Uint8Array | string) => {
    const url = new URL(`http://driver/${op}`);
    for (const [name, value] of Object.entries(params))
      if (value !== undefined) url.searchParams.set(name, value);
    const response = await mf.dispatchFetch(url, {
      method: body === undefined ? "GET" : "POST",
      body,
      headers: { "x-driver": JSON.stringify(spec) },
    });
    if (response.status === 599) {
      const e = (await response.json()) as {
        code: ErrorCode;
        message: string;
        headers: Record<string, string>;
        details: unknown;
      };
      throw new AppError(e.code, e.message, { headers: e.headers, details: e.details });
    }
    if (!response.ok) throw new Error(`harness failure ${response.status}: ${await response.text()}`);
    return response;
  };
  const json = async <T>(response: ReturnType<typeof call>) => (await (await response).json()) as T;

  const driver: StorageDriver = {
    kind: spec.kind,
    limits: { minPartSize: spec.kind === "remote" ? 1 : 5 * 1024 * 1024, maxParts: 10_000 },
    put: async (key, body, o) =>
      json(
        call(
          "put",
          { key, size: String(o.size), content_type: o.contentType, sha256: o.sha256 },
          await readAll(body),
        ),
      ),
    head: (key) => json(call("head", { key })),
    async get(key, options = {}) {
      const range = options.range ? JSON.stringify(options.range) : undefined;
      const response = await call("get", { key, range });
      if (response.status === 204) return null;
      const meta = JSON.parse(response.headers.get("x-meta")!) as Omit<
        NonNullable<Awaited<ReturnType<StorageDriver["get"]>>>,
        "body"
      >;
      return { ...meta, body: response.body as unknown as ReadableStream<Uint8Array> };
    },
    delete: async (key) => {
      await json(call("delete", { key }));
    },
    createMultipart: (key) => json(call("create_multipart", { key })),
    putPart: async (key, uploadId, part, body, o) =>
      json(
        call(
          "put_part",
          { key, upload_id: uploadId, part: String(part), size: String(o.size), sha256: o.sha256 },
          await readAll(body),
        ),
      ),
    completeMultipart: (key, uploadId, parts) =>
      json(call("complete_multipart", { key, upload_id: uploadId }, JSON.stringify(parts))),
    abortMultipart: async (key, uploadId) => {
      await json(call("abort_multipart", { key, upload_id: uploadId }));
    },
  };
  // The proxy offers exactly the optional methods the driver inside workerd has.
  const offered = await json<{
    presign: boolean;
    list_parts: boolean;
    complete_multipart_verified: boolean;
    pulls: boolean;
  }>(call("capabilities", {}));
  if (offered.pulls) {
    type Out = Omit<PullState, "error"> & { error: { code: ErrorCode; message: string } | null };
    const back = (out: Out): PullState => ({
      ...out,
      error: out.error ? new AppError(out.error.code, out.error.message) : null,
    });
    driver.startPull = async (key, input) =>
      back(await json<Out>(call("start_pull", { key }, JSON.stringify(input))));
    driver.pullState = async (id) => back(await json<Out>(call("pull_state", { id })));
    driver.cancelPull = async (id) => {
      await json(call("cancel_pull", { id }));
    };
  }
  if (offered.presign) {
    driver.presign = async (request) => {
      const url = await json<Omit<PresignedUrl, "expiresAt"> & { expiresAt: string }>(
        call("presign", {}, JSON.stringify(request)),
      );
      return { ...url, expiresAt: new Date(url.expiresAt) };
    };
  }
  if (offered.list_parts) {
    driver.listParts = (key, uploadId) => json(call("list_parts", { key, upload_id: uploadId }));
  }
  if (offered.complete_multipart_verified) {
    driver.completeMultipartVerified = (key, uploadId, parts, expected) =>
      json(
        call(
          "complete_multipart_verified",
          { key, upload_id: uploadId },
          JSON.stringify({ parts, expected }),
        ),
      );
  }
  return {
    driver,
    /** SHA-256 of `data` computed inside workerd by the storage's streaming hasher, fed `chunk` bytes at a time. */
    sha256: async (data: Uint8Array, chunk: number) =>
      (await json<{ sha256: string }>(call("sha256", { chunk: String(chunk) }, data))).sha256,
    async stop() {
      await mf.dispose();
      await rm(persist, { recursive: true, force: true });
    },
  };
}
