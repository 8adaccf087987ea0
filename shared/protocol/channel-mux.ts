// Owns the follower channel's streams: many protocol v2 requests at once over one socket, each body
// carried in DATA frames under a per-stream credit window (a receiver grants more only as its reader
// takes bytes, so memory stays bounded and a slow reader stalls only its own stream), and
// cancellation both ways (RESET). The opener (the primary's Durable Object) turns a Request into a
// stream and gets the Response back; the acceptor (the agent) feeds each stream to its own Fetch
// handler. A lost socket fails every open stream: a body ends only with END, never short.
import { AppError, type ErrorCode, errorStatus } from "../errors.ts";
import {
  allocateFrame,
  carriedHeaders,
  decodeFrame,
  decodeHead,
  encodeFrame,
  encodeHead,
  FRAME,
  FRAME_HEADER_BYTES,
  frameAround,
  INITIAL_WINDOW_BYTES,
  MAX_DATA_BYTES,
  MAX_STREAMS,
  openHeadSchema,
  protocolError,
  type Reset,
  resetSchema,
  responseHeadSchema,
  windowFrame,
  windowIncrement,
} from "./channel.ts";

export interface ChannelTransport {
  /** Sends one binary message; a promise asks the sender to wait before sending more. */
  send(message: Uint8Array<ArrayBuffer>): void | Promise<void>;
}

export interface ChannelMuxOptions {
  transport: ChannelTransport;
  /** The acceptor's handler for the streams the peer opens; the opener has none. */
  serve?: (request: Request) => Promise<Response>;
  /** The origin the acceptor's Requests carry (the path comes from the OPEN head). */
  origin?: string;
  /** The opener's first stream id; a restarted opener starts elsewhere so late frames find nothing. */
  firstStreamId?: number;
  /**
   * Opener: streams open at once (each may hold a window of body bytes); further requests wait for a
   * stream to settle, in order. Unset: up to MAX_STREAMS, then refused.
   */
  maxOpenStreams?: number;
  /**
   * With maxOpenStreams: whether a request counts against it (default: every request). Those that do
   * not (small exchanges such as probes) are never held behind transfers.
   */
  countsAgainstLimit?: (request: Request) => boolean;
  /** Body bytes carried: "out" sent, "in" received. */
  onBytes?: (direction: "in" | "out", count: number) => void;
  /** A frame broke the protocol; the owner closes the socket (and then calls close()). */
  onProtocolError: (error: AppError) => void;
}

interface Waiter {
  resolve: (response: Response) => void;
  reject: (error: unknown) => void;
}

/** One stream: credit for the body it sends, the body it receives, and how far each has got. */
class Stream {
  credit = INITIAL_WINDOW_BYTES;
  inbound: Inbound | null = null;
  /** Both directions settled for the protocol (END or RESET each way): the entry can go. */
  inSettled = false;
  outSettled = false;
  reset = false;
  head: Waiter | null = null;
  /** Counts against the opener's maxOpenStreams. */
  counted = false;
  /** Acceptor: aborts the signal of the Request its handler was given. */
  served: AbortController | null = null;
  #creditWake: (() => void) | null = null;
  #cancelOut: ((reason: unknown) => void) | null = null;

  readonly id: number;

  constructor(id: number) {
    this.id = id;
  }

  addCredit(increment: number): void {
    this.credit = Math.min(this.credit + increment, 2 ** 31);
    this.#wakeCredit();
  }

  async creditAvailable(): Promise<void> {
    while (this.credit <= 0 && !this.reset)
      await new Promise<void>((resolve) => (this.#creditWake = resolve));
  }

  sendingFrom(cancel: (reason: unknown) => void): void {
    this.#cancelOut = cancel;
  }

  /** Stops both directions locally; the body being sent is cancelled, the one received errors. */
  abandon(error: unknown): void {
    this.reset = true;
    this.inSettled = true;
    this.outSettled = true;
    this.head?.reject(error);
    this.head = null;
    this.inbound?.fail(error);
    this.#cancelOut?.(error);
    this.#cancelOut = null;
    this.served?.abort(error);
    this.served = null;
    this.#wakeCredit();
  }

  #wakeCredit(): void {
    const wake = this.#creditWake;
    this.#creditWake = null;
    wake?.();
  }
}

/**
 * A body arriving in DATA frames, read through `stream`. Bytes wait in a queue no larger than the
 * window granted; credit goes back to the sender as the reader takes them.
 */
class Inbound {
  readonly stream: ReadableStream<Uint8Array>;
  #queue: Uint8Array[] = [];
  #allowed = INITIAL_WINDOW_BYTES;
  #consumed = 0;
  #ended = false;
  #failed = false;
  #failure: unknown;
  #done = false;
  #wake: (() => void) | null = null;

  constructor(grant: (increment: number) => void, cancelled: (reason: unknown) => void) {
    this.stream = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          while (this.#queue.length === 0 && !this.#ended && !this.#failed) {
            await new Promise<void>((resolve) => (this.#wake = resolve));
          }
          if (this.#failed) {
            this.#done = true;
            controller.error(this.#failure);
            return;
          }
          const chunk = this.#queue.shift();
          if (!chunk) {
            this.#done = true;
            controller.close();
            return;
          }
          controller.enqueue(chunk);
          this.#consumed += chunk.byteLength;
          if (!this.#ended && this.#consumed >= INITIAL_WINDOW_BYTES / 2) {
            this.#allowed += this.#consumed;
            grant(this.#consumed);
            this.#consumed = 0;
          }
        },
        cancel: (reason) => {
          this.#queue = [];
          if (this.#done) return;
          this.#done = true;
          cancelled(reason);
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** False when the sender went past the credit it was given. */
  push(chunk: Uint8Array): boolean {
    if (this.#ended || this.#failed) return true;
    this.#allowed -= chunk.byteLength;
    if (this.#allowed < 0) return false;
    if (!this.#done) this.#queue.push(chunk);
    this.#wakeUp();
    return true;
  }

  end(): void {
    this.#ended = true;
    this.#wakeUp();
  }

  /** Errors the reader, unless the body was already complete. */
  fail(error: unknown): void {
    if (this.#ended || this.#failed) return;
    this.#failed = true;
    this.#failure = error;
    this.#queue = [];
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}

interface ByobAtLeast extends ReadableStreamBYOBReader {
  /** workerd: fills `view` with at least `min` bytes unless the stream ends first. */
  readAtLeast(min: number, view: Uint8Array): Promise<ReadableStreamReadResult<Uint8Array>>;
}

interface Gatherer {
  /** Up to `max` bytes (at least one), in a view with room for a frame header before it; null at the end. */
  next(max: number): Promise<Uint8Array | null>;
  cancel(reason: unknown): void;
}

/**
 * Reads a body in frame-sized pieces: workerd hands request bodies over in 4 KiB chunks, and one
 * WebSocket message per chunk would cost the Durable Object a wake-up each.
 */
function gather(source: ReadableStream<Uint8Array>): Gatherer {
  let byob: ByobAtLeast | null = null;
  try {
    const reader = source.getReader({ mode: "byob" }) as ByobAtLeast;
    if (typeof reader.readAtLeast === "function") byob = reader;
    else reader.releaseLock();
  } catch {
    // Not a byte stream: gather its chunks.
  }
  if (byob) {
    const reader = byob;
    return {
      async next(max) {
        for (;;) {
          const view = new Uint8Array(new ArrayBuffer(FRAME_HEADER_BYTES + max), FRAME_HEADER_BYTES, max);
          const result = await reader.readAtLeast(max, view);
          if (result.value && result.value.byteLength > 0) return result.value;
          if (result.done) return null;
        }
      },
      cancel: (reason) => void reader.cancel(reason).catch(() => {}),
    };
  }
  const reader = source.getReader();
  let leftover: Uint8Array | null = null;
  let ended = false;
  return {
    async next(max) {
      const frame = allocateFrame(FRAME.data, 1, max).payload();
      let filled = 0;
      while (filled < max) {
        let chunk = leftover;
        leftover = null;
        if (!chunk) {
          if (ended) break;
          const result = await reader.read();
          if (result.done) {
            ended = true;
            break;
          }
          chunk = result.value;
        }
        const take = Math.min(chunk.byteLength, max - filled);
        frame.set(chunk.subarray(0, take), filled);
        filled += take;
        if (take < chunk.byteLength) leftover = chunk.subarray(take);
      }
      return filled === 0 ? null : frame.subarray(0, filled);
    },
    cancel: (reason) => void reader.cancel(reason).catch(() => {}),
  };
}

function codeOf(error: unknown): string {
  return error instanceof AppError ? error.code : "internal";
}

function messageOf(error: unknown): string {
  return error instanceof AppError ? error.message : "The stream failed.";
}

/** Why a request stopped whose caller aborted it. */
function cancelled(signal: AbortSignal | undefined): unknown {
  return signal?.reason ?? new AppError("bad_request", "Cancelled.");
}

/** What a reader sees when the other side reset its stream. */
function resetError(reset: Reset): AppError {
  if (reset.code in errorStatus) return new AppError(reset.code as ErrorCode, reset.message);
  return new AppError("follower_unreachable", `The channel stream was ${reset.code}: ${reset.message}`);
}

export class ChannelMux {
  readonly #options: ChannelMuxOptions;
  readonly #streams = new Map<number, Stream>();
  /** Requests waiting for a stream (opener with maxOpenStreams), oldest first. */
  readonly #waiting: { start: () => void; fail: (error: unknown) => void }[] = [];
  /** Streams handed to waiting requests that have not opened them yet. */
  #reserved = 0;
  /** Open streams that count against maxOpenStreams. */
  #counted = 0;
  #nextId: number;
  #closed: AppError | null = null;

  constructor(options: ChannelMuxOptions) {
    this.#options = options;
    this.#nextId = options.firstStreamId ?? 1;
  }

  get openStreams(): number {
    return this.#streams.size;
  }

  /** Opener: sends the request over a new stream; resolves with the response once its head arrives. */
  async fetch(request: Request, signal?: AbortSignal): Promise<Response> {
    if (this.#closed) throw this.#closed;
    if (signal?.aborted) throw cancelled(signal);
    const limit = this.#options.maxOpenStreams;
    const counted = limit !== undefined && (this.#options.countsAgainstLimit?.(request) ?? true);
    if (counted && (this.#counted + this.#reserved >= limit || this.#waiting.length > 0)) {
      await this.#slot(signal);
      this.#reserved -= 1;
      // Aborted between being handed the slot and taking it: the slot goes to the next in line and
      // the follower never hears of this request.
      if (signal?.aborted) {
        this.#release();
        throw cancelled(signal);
      }
    }
    return this.#open(request, signal, counted);
  }

  /** Waits until fewer than maxOpenStreams are open (or the caller aborts, or the socket goes). */
  #slot(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry = {
        start: () => {
          signal?.removeEventListener("abort", abort);
          resolve();
        },
        fail: (error: unknown) => {
          signal?.removeEventListener("abort", abort);
          reject(error);
        },
      };
      const abort = () => {
        const at = this.#waiting.indexOf(entry);
        if (at >= 0) this.#waiting.splice(at, 1);
        reject(cancelled(signal));
      };
      if (signal?.aborted) return abort();
      signal?.addEventListener("abort", abort, { once: true });
      this.#waiting.push(entry);
    });
  }

  /** A stream settled or was dropped: the oldest waiting request may open one. */
  #release(): void {
    const limit = this.#options.maxOpenStreams;
    if (limit === undefined || this.#closed) return;
    while (this.#waiting.length > 0 && this.#counted + this.#reserved < limit) {
      this.#reserved += 1;
      this.#waiting.shift()!.start();
    }
  }

  #open(request: Request, signal: AbortSignal | undefined, counted: boolean): Promise<Response> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (this.#streams.size >= MAX_STREAMS) {
      return Promise.reject(new AppError("rate_limited", "Too many transfers over this channel at once."));
    }
    const stream = new Stream(this.#allocateId());
    this.#streams.set(stream.id, stream);
    stream.counted = counted;
    if (counted) this.#counted += 1;
    const url = new URL(request.url);
    const body = request.body;
    const answered = new Promise<Response>((resolve, reject) => {
      stream.head = { resolve, reject };
    });
    this.#sendControl(
      encodeHead(FRAME.open, stream.id, openHeadSchema, {
        method: request.method.toUpperCase(),
        path: url.pathname + url.search,
        headers: carriedHeaders(request.headers),
        body: body !== null,
      }),
    );
    if (body) void this.#pump(stream, body);
    else stream.outSettled = true;
    signal?.addEventListener("abort", () => this.#cancel(stream, cancelled(signal)), { once: true });
    return answered;
  }

  /** Feeds one binary message from the socket. */
  receive(message: Uint8Array): void {
    if (this.#closed) return;
    try {
      this.#receive(message);
    } catch (error) {
      this.#options.onProtocolError(
        error instanceof AppError ? error : protocolError("a frame could not be handled"),
      );
    }
  }

  /** The socket is gone: every open stream fails with `error`. */
  close(error: AppError): void {
    if (this.#closed) return;
    this.#closed = error;
    for (const stream of this.#streams.values()) stream.abandon(error);
    this.#streams.clear();
    this.#counted = 0;
    for (const waiter of this.#waiting.splice(0)) waiter.fail(error);
  }

  #receive(message: Uint8Array): void {
    const frame = decodeFrame(message);
    if (frame.type === FRAME.open) {
      this.#onOpen(frame.stream, frame.payload);
      return;
    }
    const stream = this.#streams.get(frame.stream);
    // Frames of a stream already finished or reset here (they crossed on the wire) are dropped.
    if (!stream) return;
    switch (frame.type) {
      case FRAME.headers:
        this.#onHeaders(stream, frame.payload);
        return;
      case FRAME.data: {
        if (!stream.inbound) throw protocolError("DATA on a stream without a body");
        if (!stream.inbound.push(frame.payload)) throw protocolError("DATA beyond the granted window");
        this.#options.onBytes?.("in", frame.payload.byteLength);
        return;
      }
      case FRAME.end:
        if (!stream.inbound) throw protocolError("END on a stream without a body");
        stream.inbound.end();
        stream.inSettled = true;
        this.#settle(stream);
        return;
      case FRAME.window:
        stream.addCredit(windowIncrement(frame.payload));
        return;
      case FRAME.reset: {
        const reset = decodeHead(resetSchema, frame.payload);
        this.#forget(stream.id);
        stream.abandon(resetError(reset));
        return;
      }
    }
  }

  #onOpen(id: number, payload: Uint8Array): void {
    const serve = this.#options.serve;
    if (!serve) throw protocolError("OPEN sent to the side that opens streams");
    if (this.#streams.has(id)) throw protocolError(`stream ${id} is already open`);
    const head = decodeHead(openHeadSchema, payload);
    if (this.#streams.size >= MAX_STREAMS) {
      this.#sendReset(id, "rate_limited", "Too many transfers over this channel at once.");
      return;
    }
    const stream = new Stream(id);
    this.#streams.set(id, stream);
    let body: ReadableStream<Uint8Array> | null = null;
    if (head.body) {
      stream.inbound = this.#inbound(stream);
      body = stream.inbound.stream;
    } else stream.inSettled = true;
    // The handler hears of a RESET (or a lost socket) through its Request's signal, as an HTTP
    // handler hears of its client going away, even before it has answered.
    stream.served = new AbortController();
    const init: RequestInit & { duplex?: "half" } = {
      method: head.method,
      headers: head.headers,
      body,
      signal: stream.served.signal,
    };
    if (body) init.duplex = "half";
    void this.#answer(
      stream,
      serve,
      new Request(`${this.#options.origin ?? "http://channel"}${head.path}`, init),
    );
  }

  async #answer(stream: Stream, serve: (request: Request) => Promise<Response>, request: Request) {
    let response: Response;
    try {
      response = await serve(request);
    } catch (error) {
      if (!stream.reset) this.#resetStream(stream, codeOf(error), messageOf(error));
      return;
    }
    if (stream.reset) {
      await response.body?.cancel().catch(() => {});
      return;
    }
    const body = request.method === "HEAD" ? null : response.body;
    if (request.method === "HEAD") await response.body?.cancel().catch(() => {});
    this.#sendControl(
      encodeHead(FRAME.headers, stream.id, responseHeadSchema, {
        status: response.status,
        headers: carriedHeaders(response.headers),
        body: body !== null,
      }),
    );
    if (body) await this.#pump(stream, body);
    else {
      stream.outSettled = true;
      this.#settle(stream);
    }
    // Answered before the request body ended (a refusal): the rest of it is not wanted.
    if (!stream.reset && !stream.inSettled) this.#resetStream(stream, "cancelled", "Answered already.");
  }

  #onHeaders(stream: Stream, payload: Uint8Array): void {
    const waiter = stream.head;
    if (!waiter) throw protocolError("HEADERS without a request, or twice");
    const head = decodeHead(responseHeadSchema, payload);
    stream.head = null;
    if (head.body) stream.inbound = this.#inbound(stream);
    else {
      stream.inSettled = true;
      this.#settle(stream);
    }
    const status = head.status < 200 ? 502 : head.status;
    const nullBody = status === 204 || status === 205 || status === 304;
    if (nullBody) stream.inbound?.stream.cancel().catch(() => {});
    waiter.resolve(
      new Response(nullBody ? null : (stream.inbound?.stream ?? null), { status, headers: head.headers }),
    );
  }

  #inbound(stream: Stream): Inbound {
    return new Inbound(
      (increment) => this.#sendControl(windowFrame(stream.id, increment)),
      (reason) => this.#cancel(stream, reason),
    );
  }

  /** Sends a body in DATA frames as credit allows, then END; a failing source resets the stream. */
  async #pump(stream: Stream, source: ReadableStream<Uint8Array>): Promise<void> {
    const reader = gather(source);
    stream.sendingFrom((reason) => reader.cancel(reason));
    try {
      for (;;) {
        await stream.creditAvailable();
        if (stream.reset) return;
        const chunk = await reader.next(MAX_DATA_BYTES);
        if (stream.reset) return;
        if (chunk === null) {
          stream.outSettled = true;
          this.#sendControl(encodeFrame(FRAME.end, stream.id));
          this.#settle(stream);
          return;
        }
        stream.credit -= chunk.byteLength;
        this.#options.onBytes?.("out", chunk.byteLength);
        await this.#options.transport.send(frameAround(FRAME.data, stream.id, chunk));
      }
    } catch (error) {
      if (!stream.reset) this.#resetStream(stream, codeOf(error), messageOf(error));
    }
  }

  /** Local cancellation (reader gone, caller aborted): the peer is told, the stream abandoned. */
  #cancel(stream: Stream, reason: unknown): void {
    if (stream.reset || !this.#streams.has(stream.id)) return;
    this.#resetStream(stream, "cancelled", "The other side stopped this transfer.", reason);
  }

  #resetStream(stream: Stream, code: string, message: string, error?: unknown): void {
    this.#forget(stream.id);
    this.#sendReset(stream.id, code, message);
    stream.abandon(error ?? new AppError("follower_unreachable", message));
  }

  #sendReset(id: number, code: string, message: string): void {
    this.#sendControl(encodeHead(FRAME.reset, id, resetSchema, { code, message: message.slice(0, 500) }));
  }

  #settle(stream: Stream): void {
    if (stream.inSettled && stream.outSettled && !stream.head) this.#forget(stream.id);
  }

  #forget(id: number): void {
    const stream = this.#streams.get(id);
    if (!stream || !this.#streams.delete(id)) return;
    if (stream.counted) this.#counted -= 1;
    this.#release();
  }

  #sendControl(frame: Uint8Array<ArrayBuffer>): void {
    if (this.#closed) return;
    try {
      const sent = this.#options.transport.send(frame);
      if (sent) sent.catch(() => {});
    } catch {
      // The socket is closing; its close event fails the streams.
    }
  }

  #allocateId(): number {
    for (;;) {
      const id = this.#nextId;
      this.#nextId = id >= 0xffff_ffff ? 1 : id + 1;
      if (!this.#streams.has(id)) return id;
    }
  }
}
