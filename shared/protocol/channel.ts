// Owns the wire format of the follower channel, the WebSocket an outbound-only agent opens to the
// primary: binary frames (type, stream id, payload) that carry ordinary signed protocol v2 requests
// and their answers as multiplexed streams, the zod schemas of the JSON heads, the keepalive words,
// the close codes and the limits both sides hold each other to (docs/protocol-v2.md, "Channel").
import { z } from "zod";
import { AppError } from "../errors.ts";

/** The channel's own version; sent by the agent when it opens the socket, refused when unknown. */
export const CHANNEL_VERSION = 1;
export const CHANNEL_VERSION_HEADER = "x-flotilla-channel";
/** The agent's version, named when it opens the channel (shown on the node page). */
export const CHANNEL_AGENT_VERSION_HEADER = "x-flotilla-agent-version";
/** Seconds between the agent's keepalive pings, so the primary knows when the agent is overdue. */
export const CHANNEL_PING_HEADER = "x-flotilla-channel-ping";
export const DEFAULT_CHANNEL_PING_SECONDS = 15;
/** Ping intervals without a sign of the other end after which either end takes the socket for dead. */
export const MISSED_PINGS = 3;

/**
 * Keepalive: text messages, answered by the primary without waking its Durable Object (the
 * WebSocket auto-response matches this exact text).
 */
export const PING = "ping";
export const PONG = "pong";

/** The largest DATA payload: far under the platform's received-message limit (1 MiB, now 32 MiB). */
export const MAX_DATA_BYTES = 256 * 1024;
/** Body bytes either side may send on a stream before the receiver grants more with WINDOW. */
export const INITIAL_WINDOW_BYTES = 4 * 1024 * 1024;
/** The largest OPEN, HEADERS or RESET head. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Streams one channel carries at once; more are refused with rate_limited. */
export const MAX_STREAMS = 256;
/**
 * Streams the primary's Durable Object keeps open at once; further requests wait for one to finish.
 * Each stream may hold one window of body bytes in the object (received and not yet read, or sent and
 * not yet granted back), so 16 streams hold at most 64 MiB each way: within the 128 MB an object has,
 * whatever the number of transfers. Only object bodies count (channelTransfer): probes, ingress
 * target pushes and other small exchanges are never held behind transfers.
 */
export const OPENER_STREAMS = 16;

/** Requests that move object bytes (object GET/PUT, a multipart part PUT): those OPENER_STREAMS bounds. */
export function channelTransfer(method: string, path: string): boolean {
  if (method !== "GET" && method !== "PUT") return false;
  return /^\/internal\/v2\/(objects\/|multipart\/[^/]+\/parts\/)/.test(path);
}

export const FRAME = {
  /** primary -> agent: a request head; its body follows as DATA frames unless head.body is false. */
  open: 1,
  /** agent -> primary: the response head; its body follows as DATA unless head.body is false. */
  headers: 2,
  data: 3,
  /** The sender's body on this stream is complete. */
  end: 4,
  /** The stream is abandoned in both directions, with a reason. */
  reset: 5,
  /** The sender may send this many more body bytes on the stream (u32). */
  window: 6,
} as const;
export type FrameType = (typeof FRAME)[keyof typeof FRAME];

/** Close codes of the channel socket (4000-4999 are the application's). */
export const CLOSE = {
  /** Another authenticated connection of the same node replaced this one. */
  replaced: 4001,
  /** The node's connectivity is direct now: the agent stops opening channels and polls instead. */
  direct: 4002,
  /** The node record was deleted or enrolled again: these credentials no longer open channels. */
  revoked: 4003,
  /** No keepalive was seen for three ping intervals. */
  stale: 4004,
  /** A frame broke the channel protocol. */
  protocol: 4005,
} as const;

const HEADER_BYTES = 5;
const headerList = z.array(z.tuple([z.string().min(1).max(256), z.string().max(16 * 1024)])).max(256);

export const openHeadSchema = z.object({
  method: z.string().regex(/^[A-Z]{1,16}$/),
  /** Path and query relative to the agent's base_url, as signed. */
  path: z
    .string()
    .regex(/^\/[^\s]*$/)
    .max(8192),
  headers: headerList,
  body: z.boolean(),
});
export type OpenHead = z.infer<typeof openHeadSchema>;

export const responseHeadSchema = z.object({
  status: z.number().int().min(100).max(599),
  headers: headerList,
  body: z.boolean(),
});
export type ResponseHead = z.infer<typeof responseHeadSchema>;

export const resetSchema = z.object({
  /** An error code of shared/errors.ts, or "cancelled" when the other side simply stopped. */
  code: z.string().min(1).max(64),
  message: z.string().max(500),
});
export type Reset = z.infer<typeof resetSchema>;

export interface Frame {
  type: FrameType;
  stream: number;
  payload: Uint8Array;
}

const types = new Set<number>(Object.values(FRAME));

export function protocolError(message: string): AppError {
  return new AppError("bad_request", `Channel protocol: ${message}`);
}

/** A frame with room for `payloadBytes` after its header; fill payload(), then send the whole. */
export function allocateFrame(type: FrameType, stream: number, payloadBytes: number) {
  const bytes = new Uint8Array(HEADER_BYTES + payloadBytes);
  writeHeader(bytes, type, stream);
  return { bytes, payload: () => bytes.subarray(HEADER_BYTES) };
}

function writeHeader(bytes: Uint8Array, type: FrameType, stream: number): void {
  bytes[0] = type;
  new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES).setUint32(1, stream);
}

/** Turns `view` (which must start HEADER_BYTES into its buffer) into a frame without copying. */
export function frameAround(type: FrameType, stream: number, view: Uint8Array): Uint8Array<ArrayBuffer> {
  if (view.byteOffset < HEADER_BYTES) throw new Error("no room for the frame header");
  const bytes = new Uint8Array(
    view.buffer as ArrayBuffer,
    view.byteOffset - HEADER_BYTES,
    view.byteLength + HEADER_BYTES,
  );
  writeHeader(bytes, type, stream);
  return bytes;
}

export const FRAME_HEADER_BYTES = HEADER_BYTES;

export function encodeFrame(
  type: FrameType,
  stream: number,
  payload: Uint8Array = new Uint8Array(0),
): Uint8Array<ArrayBuffer> {
  const frame = allocateFrame(type, stream, payload.byteLength);
  frame.payload().set(payload);
  return frame.bytes;
}

export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.byteLength < HEADER_BYTES) throw protocolError("a frame is shorter than its header");
  const type = bytes[0]!;
  if (!types.has(type)) throw protocolError(`unknown frame type ${type}`);
  const stream = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES).getUint32(1);
  if (stream === 0) throw protocolError("stream 0 is not a stream");
  const payload = bytes.subarray(HEADER_BYTES);
  if (type === FRAME.data && (payload.byteLength === 0 || payload.byteLength > MAX_DATA_BYTES)) {
    throw protocolError(`a DATA frame of ${payload.byteLength} bytes`);
  }
  if (
    (type === FRAME.end && payload.byteLength !== 0) ||
    (type === FRAME.window && payload.byteLength !== 4)
  ) {
    throw protocolError("a control frame with a malformed payload");
  }
  if (payload.byteLength > MAX_HEAD_BYTES && type !== FRAME.data) throw protocolError("a head is too large");
  return { type: type as FrameType, stream, payload };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function encodeHead<T>(
  type: FrameType,
  stream: number,
  schema: z.ZodType<T>,
  head: T,
): Uint8Array<ArrayBuffer> {
  return encodeFrame(type, stream, encoder.encode(JSON.stringify(schema.parse(head))));
}

export function decodeHead<T>(schema: z.ZodType<T>, payload: Uint8Array): T {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(payload));
  } catch {
    throw protocolError("a head is not JSON");
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw protocolError("a head does not match its schema");
  return parsed.data;
}

export function windowFrame(stream: number, increment: number): Uint8Array<ArrayBuffer> {
  const frame = allocateFrame(FRAME.window, stream, 4);
  new DataView(frame.bytes.buffer).setUint32(HEADER_BYTES, increment);
  return frame.bytes;
}

export function windowIncrement(payload: Uint8Array): number {
  return new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0);
}

/** Headers that describe one hop, not the request: never carried across the channel. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "host",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

export function carriedHeaders(headers: Headers): [string, string][] {
  return [...headers].filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase()));
}
