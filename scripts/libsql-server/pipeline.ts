// Owns one `POST /v2/pipeline` exchange: find or open the stream, answer its requests in order, then
// close the stream (after a `close` request) or park it under a fresh baton.
import { answer } from "./requests.ts";
import type { StreamRegistry } from "./streams.ts";
import type { PipelineResponse, StreamRequest, StreamResult } from "./wire.ts";

/** A refusal of the whole HTTP request, in the shape clients read: `{message, code}`. */
export class HttpRefusal extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "HttpRefusal";
    this.status = status;
    this.code = code;
  }
}

export async function runPipeline(
  registry: StreamRegistry,
  baton: string | undefined,
  requests: StreamRequest[],
): Promise<PipelineResponse> {
  const stream = baton === undefined ? registry.open() : registry.take(baton);
  if (stream === undefined) {
    if (baton === undefined) throw new HttpRefusal(503, "TOO_MANY_STREAMS", "Too many streams are open.");
    throw new HttpRefusal(
      400,
      "STREAM_EXPIRED",
      "The baton is unknown, already used, or its stream expired.",
    );
  }
  const results: StreamResult[] = [];
  let closed = false;
  try {
    for (const request of requests) {
      if (closed) {
        results.push({ type: "error", error: { message: "The stream is closed.", code: "STREAM_CLOSED" } });
      } else {
        closed = request.type === "close";
        results.push(await answer(stream.conn, request));
      }
    }
  } catch (error) {
    registry.close(stream);
    throw error;
  }
  if (closed) {
    registry.close(stream);
    return { baton: null, base_url: null, results };
  }
  // A stream whose connection had to close (a lock wait that gave up) stays parked and answers
  // STREAM_CLOSED: ending it silently would let the client's next request open a fresh stream and run
  // the rest of its transaction outside any transaction.
  return { baton: registry.park(stream), base_url: null, results };
}
