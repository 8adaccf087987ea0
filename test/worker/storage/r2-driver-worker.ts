// Test-only worker: runs the real `primary` driver inside workerd (where R2 streams must have a known
// length) and exposes each driver call over HTTP for r2-driver-proxy.ts. Never deployed.
import type { R2Bucket } from "@cloudflare/workers-types";
import { AppError } from "../../../shared/errors.ts";
import { createPrimaryDriver } from "../../../worker/storage/primary.ts";
import type { ByteRange, CompletedPart } from "../../../worker/storage/types.ts";

interface Env {
  FILES: R2Bucket;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const driver = createPrimaryDriver(env.FILES);
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
