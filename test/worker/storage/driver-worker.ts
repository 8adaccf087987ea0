// Test-only worker: runs a real storage driver inside workerd (the production runtime: R2 streams
// need a known length, outbound bodies go through FixedLengthStream, SHA-256 is workerd's node:crypto) and exposes each driver call over
// HTTP for workerd-driver.ts. The driver is chosen per request by the x-driver header. Never deployed.
import type { R2Bucket } from "@cloudflare/workers-types";
import { AppError } from "../../../shared/errors.ts";
import { createFollowerClient } from "../../../shared/protocol/client.ts";
import { createPrimaryDriver } from "../../../worker/storage/primary.ts";
import { createRemoteDriver } from "../../../worker/storage/remote.ts";
import { createS3Driver, type S3Config } from "../../../worker/storage/s3.ts";
import { createHasher } from "../../../worker/storage/sha256.ts";
import type {
  ByteRange,
  CompletedPart,
  ExpectedObject,
  PullState,
  StorageDriver,
} from "../../../worker/storage/types.ts";

interface Env {
  FILES: R2Bucket;
}

export type DriverSpec =
  | { kind: "primary" }
  | { kind: "s3"; config: S3Config }
  | { kind: "remote"; baseUrl: string; keyId: string; secret: string };

function driverFor(spec: DriverSpec, env: Env): StorageDriver {
  switch (spec.kind) {
    case "primary":
      return createPrimaryDriver(env.FILES);
    case "s3":
      return createS3Driver(spec.config);
    case "remote":
      return createRemoteDriver(
        createFollowerClient({ baseUrl: spec.baseUrl, keyId: spec.keyId, secret: spec.secret }),
        { pulls: true },
      );
  }
}

/** A pull state with its failure as plain fields (an AppError does not survive JSON). */
function pullOut(state: PullState) {
  const { error, ...rest } = state;
  return { ...rest, error: error ? { code: error.code, message: error.message } : null };
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const driver = driverFor(
      JSON.parse(request.headers.get("x-driver") ?? '{"kind":"primary"}') as DriverSpec,
      env,
    );
    const url = new URL(request.url);
    const op = url.pathname.slice(1);
    const q = (name: string) => url.searchParams.get(name) ?? undefined;
    const key = q("key") ?? "";
    const body = () => request.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
    const json = (value: unknown) => Response.json(value ?? null);
    try {
      switch (op) {
        case "put":
          return json(
            await driver.put(key, body(), {
              size: Number(q("size")),
              ...(q("content_type") ? { contentType: q("content_type") } : {}),
              ...(q("sha256") ? { sha256: q("sha256") } : {}),
            }),
          );
        case "head":
          return json(await driver.head(key));
        case "get": {
          const range = q("range") ? (JSON.parse(q("range")!) as ByteRange) : undefined;
          const got = await driver.get(key, range ? { range } : {});
          if (!got) return new Response(null, { status: 204 });
          const { body: stream, ...meta } = got;
          return new Response(stream, { headers: { "x-meta": JSON.stringify(meta) } });
        }
        case "sha256": {
          // The body fed to the streaming hasher in pieces of `chunk` bytes, as the meter feeds it.
          const data = new Uint8Array(await request.arrayBuffer());
          const chunk = Number(q("chunk"));
          const hasher = createHasher();
          for (let offset = 0; offset < data.length; offset += chunk)
            hasher.update(data.subarray(offset, offset + chunk));
          return json({ sha256: hasher.digestHex() });
        }
        case "capabilities":
          return json({
            presign: driver.presign !== undefined,
            list_parts: driver.listParts !== undefined,
            complete_multipart_verified: driver.completeMultipartVerified !== undefined,
            pulls: driver.startPull !== undefined,
          });
        case "start_pull":
          return json(pullOut(await driver.startPull!(key, await request.json())));
        case "pull_state":
          return json(pullOut(await driver.pullState!(q("id")!)));
        case "cancel_pull":
          return json(await driver.cancelPull!(q("id")!));
        case "presign":
          return json(await driver.presign!(JSON.parse(await request.text())));
        case "delete":
          return json(await driver.delete(key));
        case "create_multipart":
          return json(await driver.createMultipart(key));
        case "put_part":
          return json(
            await driver.putPart(key, q("upload_id")!, Number(q("part")), body(), {
              size: Number(q("size")),
              ...(q("sha256") ? { sha256: q("sha256") } : {}),
            }),
          );
        case "complete_multipart":
          return json(
            await driver.completeMultipart(key, q("upload_id")!, (await request.json()) as CompletedPart[]),
          );
        case "list_parts":
          return json(await driver.listParts!(key, q("upload_id")!));
        case "complete_multipart_verified": {
          const { parts, expected } = (await request.json()) as {
            parts: CompletedPart[];
            expected: ExpectedObject;
          };
          return json(await driver.completeMultipartVerified!(key, q("upload_id")!, parts, expected));
        }
        case "abort_multipart":
          return json(await driver.abortMultipart(key, q("upload_id")!));
        default:
          return new Response("unknown op", { status: 400 });
      }
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      const { code, message, headers, details } = error;
      return Response.json({ code, message, headers, details }, { status: 599 });
    }
  },
};
