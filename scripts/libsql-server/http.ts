// Owns the HTTP face of the server: routes, bearer-token check, body size limit, JSON decoding and
// validation, and refusals in the `{message, code}` shape that @libsql/client turns into its errors.
// Routes: GET /health (no token), GET /v2 (version probe), POST /v2/pipeline. Nothing answers /v3 or
// /v3-protobuf, so a client that probes them settles on v2.
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { timingSafeEqual } from "../../shared/crypto.ts";
import { HttpRefusal, runPipeline } from "./pipeline.ts";
import type { StreamRegistry } from "./streams.ts";
import { pipelineRequestSchema } from "./wire.ts";

export interface HttpOptions {
  authToken?: string;
  maxBodyBytes: number;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  // Exactly "application/json": the client reads error bodies only under that content type.
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function authorize(req: IncomingMessage, token: string | undefined): void {
  if (token === undefined) return;
  const header = req.headers.authorization;
  if (header === undefined)
    throw new HttpRefusal(401, "UNAUTHORIZED", "The Authorization header is missing.");
  const presented = /^Bearer (.+)$/i.exec(header)?.[1] ?? "";
  if (!timingSafeEqual(presented, token))
    throw new HttpRefusal(401, "UNAUTHORIZED", "The token is not valid.");
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const tooLarge = new HttpRefusal(413, "PAYLOAD_TOO_LARGE", `The request body exceeds ${limit} bytes.`);
  if (Number(req.headers["content-length"] ?? 0) > limit) throw tooLarge;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge;
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpRefusal(400, "HTTP_PARSE_ERROR", "The request body is not JSON.");
  }
}

async function pipeline(req: IncomingMessage, res: ServerResponse, registry: StreamRegistry, limit: number) {
  const parsed = pipelineRequestSchema.safeParse(await readJson(req, limit));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined ? "" : ` at ${issue.path.join(".") || "the top"}: ${issue.message}`;
    throw new HttpRefusal(400, "PROTO_INVALID", `The pipeline request is not valid${where}.`);
  }
  send(res, 200, await runPipeline(registry, parsed.data.baton, parsed.data.requests));
}

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  registry: StreamRegistry,
  options: HttpOptions,
) {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  const only = (method: string) => {
    if (req.method !== method) throw new HttpRefusal(405, "METHOD_NOT_ALLOWED", `Use ${method} on ${path}.`);
  };
  if (path === "/health") {
    only("GET");
    return send(res, 200, { status: "ok" });
  }
  authorize(req, options.authToken);
  if (path === "/v2") {
    only("GET");
    return send(res, 200, { version: 2 });
  }
  if (path === "/v2/pipeline") {
    only("POST");
    return pipeline(req, res, registry, options.maxBodyBytes);
  }
  throw new HttpRefusal(404, "NOT_FOUND", `Nothing is served at ${path}.`);
}

export function createListener(registry: StreamRegistry, options: HttpOptions): RequestListener {
  return (req, res) => {
    route(req, res, registry, options).catch((error: unknown) => {
      // A client that went away mid-request has nobody left to answer.
      const aborted = error instanceof Error && "code" in error && error.code === "ECONNRESET";
      if (res.headersSent || aborted) return void res.destroy();
      if (error instanceof HttpRefusal) {
        // An unread body (refused early) is not worth draining: answer, then drop the connection.
        const headers: Record<string, string> = req.complete ? {} : { connection: "close" };
        if (error.status === 401) headers["www-authenticate"] = "Bearer";
        return send(res, error.status, { message: error.message, code: error.code }, headers);
      }
      console.error("libsql-server: internal error", error);
      send(res, 500, { message: "Internal error.", code: "INTERNAL" });
    });
  };
}
