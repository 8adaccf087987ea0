// Thin Node glue: serves the agent's Fetch function over HTTP with @hono/node-server and resolves with
// the address actually bound (port 0 picks a free port). Bulk bytes take the Node side (fast-path.ts):
// request bodies are read from the socket's stream, file responses are sent from the file. Requests
// node:http refuses before they become Requests (headers over its maxHeaderSize, malformed HTTP, a
// request too slow to arrive) are answered here, with the same error envelope as everything else
// instead of node's bare status line.
import { IncomingMessage, ServerResponse, STATUS_CODES } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { type Http2Bindings, type HttpBindings, serve } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { AppError, type ErrorCode, errorBody } from "../shared/errors.ts";
import { lendNodeBody, sendFile, takeFileBody } from "./fast-path.ts";
import { newRequestId } from "./http.ts";

export interface Served {
  url: string;
  close(): Promise<void>;
}

/** How long a refused connection may go on sending before it is cut (its answer is sent first). */
const LINGER_MS = 5_000;

function refusalOf(error: NodeJS.ErrnoException): AppError {
  const [code, message]: [ErrorCode, string] =
    error.code === "HPE_HEADER_OVERFLOW"
      ? ["request_headers_too_large", "The request headers are too large."]
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? ["request_timeout", "The request did not arrive in time."]
        : error.code === "HPE_CHUNK_EXTENSIONS_OVERFLOW"
          ? ["payload_too_large", "The chunk extensions are too large."]
          : ["bad_request", "The request is not valid HTTP."];
  return new AppError(code, message);
}

/** The error envelope as a raw HTTP/1.1 answer that closes the connection. */
function rawAnswer(error: AppError): string {
  const requestId = newRequestId();
  const body = JSON.stringify(errorBody(error, requestId));
  return [
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? "Error"}`,
    "content-type: application/json; charset=utf-8",
    `content-length: ${Buffer.byteLength(body)}`,
    `x-request-id: ${requestId}`,
    "connection: close",
    "",
    body,
  ].join("\r\n");
}

export function listen(fetchHandler: (request: Request) => Promise<Response>, host: string, port: number) {
  return new Promise<Served>((resolve, reject) => {
    const server = serve(
      {
        fetch: async (request: Request, env: HttpBindings | Http2Bindings) => {
          const { incoming, outgoing } = env;
          if (incoming instanceof IncomingMessage && request.method !== "GET" && request.method !== "HEAD") {
            lendNodeBody(request, incoming);
          }
          const response = await fetchHandler(request);
          const file = outgoing instanceof ServerResponse ? takeFileBody(response) : null;
          if (!file || !(outgoing instanceof ServerResponse)) return response;
          await sendFile(outgoing, response, file);
          return RESPONSE_ALREADY_SENT;
        },
        hostname: host,
        port,
      },
      (info: AddressInfo) => {
        const shown = info.family === "IPv6" ? `[${info.address}]` : info.address;
        resolve({
          url: `http://${shown}:${info.port}`,
          close: () => new Promise<void>((done) => server.close(() => done())),
        });
      },
    );
    server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
      // Answered already (the rest of a refused request fails to parse too), or gone.
      if (!socket.writable) return;
      // Nothing to answer to, or a response already under way.
      if (error.code === "ECONNRESET" || socket.bytesWritten > 0) {
        socket.destroy();
        return;
      }
      socket.end(rawAnswer(refusalOf(error)));
      // Closing with the client's bytes unread would reset the connection, and a reset may discard
      // the answer before the client reads it: read on (and drop) until the client is done.
      socket.setTimeout(LINGER_MS, () => socket.destroy());
    });
    server.once("error", reject);
  });
}
