// Owns the agent's side of the follower channel: asking the primary how this node is reached (a
// signed call with the enrollment key; a direct node asks again every few minutes and never opens a
// channel), and for an outbound node keeping one WebSocket open to the primary, over which the
// primary's signed protocol v2 requests arrive and are fed to this agent's own Fetch handler (the
// same verification as over HTTP). Reconnects with exponential backoff and full jitter (capped, reset
// after a stable period, so a long outage is no storm and a restart is bridged in seconds), sends
// keepalive pings and drops a socket whose pongs stop (half-open).
import { AppError } from "../shared/errors.ts";
import {
  CHANNEL_AGENT_VERSION_HEADER,
  CHANNEL_PING_HEADER,
  CHANNEL_VERSION,
  CHANNEL_VERSION_HEADER,
  CLOSE,
  DEFAULT_CHANNEL_PING_SECONDS,
  MISSED_PINGS,
  PING,
} from "../shared/protocol/channel.ts";
import { ChannelMux } from "../shared/protocol/channel-mux.ts";
import { paths } from "../shared/protocol/keys.ts";
import {
  type AgentChannelState,
  type AgentConnectivity,
  agentConnectivitySchema,
} from "../shared/protocol/schemas.ts";
import { signRequest } from "../shared/protocol/signing.ts";
import type { Logger } from "./log.ts";
import type { StateFile } from "./state.ts";

export const BACKOFF = { baseMs: 500, capMs: 60_000, stableMs: 30_000 };
/** Bytes queued on the socket above which a body's sender waits. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;

export interface ChannelClientOptions {
  state: StateFile;
  serve: (request: Request) => Promise<Response>;
  log: Logger;
  /** This agent's version, named to the primary when the channel opens (the node page shows it). */
  version: string;
  /** Seconds between keepalive pings; the primary is told, so it knows when this agent is overdue. */
  pingSeconds?: number;
  fetch?: typeof fetch;
}

export interface ChannelClient {
  state(): AgentChannelState;
  stop(): void;
}

/** Full jitter: a uniform wait up to the capped exponential step. */
export function backoffMs(attempt: number): number {
  return Math.random() * Math.min(BACKOFF.capMs, BACKOFF.baseMs * 2 ** attempt);
}

export function startChannelClient(options: ChannelClientOptions): ChannelClient {
  const doFetch = options.fetch ?? fetch;
  const pingSeconds = options.pingSeconds ?? DEFAULT_CHANNEL_PING_SECONDS;
  const view: AgentChannelState = {
    connectivity: null,
    connected: false,
    connected_since: null,
    reconnects: 0,
    last_error: null,
    last_error_at: null,
    bytes_in: 0,
    bytes_out: 0,
  };
  let stopped = false;
  let wake: (() => void) | null = null;
  let socket: WebSocket | null = null;
  let opened = 0;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });

  // Why the last open channel ended, kept in last_error while reconnecting fails (a refused attempt
  // must not hide that the channel went half-open); cleared once a channel is open again.
  let dropped: string | null = null;
  const failed = (message: string) => {
    const why = dropped && dropped !== message ? `${dropped}; since then ${message}` : message;
    view.last_error = why.slice(0, 300);
    view.last_error_at = new Date().toISOString();
  };
  const drop = (message: string) => {
    dropped = message;
    failed(message);
  };

  async function signedHeaders(path: string): Promise<Headers> {
    const enrollment = options.state.current.enrollment;
    if (!enrollment) throw new AppError("node_not_enrolled", "The agent is not enrolled.");
    return signRequest({
      method: "GET",
      path,
      credentials: { keyId: enrollment.key_id, secret: enrollment.secret },
      body: null,
    });
  }

  async function askConnectivity(): Promise<AgentConnectivity> {
    const enrollment = options.state.current.enrollment;
    if (!enrollment) throw new AppError("node_not_enrolled", "The agent is not enrolled.");
    const response = await doFetch(enrollment.primary_url + paths.agentConnectivity, {
      headers: await signedHeaders(paths.agentConnectivity),
      signal: AbortSignal.timeout(15_000),
    });
    if (!response.ok)
      throw new Error(`the primary answered HTTP ${response.status}: ${await response.text()}`);
    return agentConnectivitySchema.parse(await response.json());
  }

  /** Resolves with the close code once the socket is gone. */
  async function runChannel(url: string): Promise<number> {
    const headers = await signedHeaders(new URL(url).pathname);
    headers.set(CHANNEL_VERSION_HEADER, String(CHANNEL_VERSION));
    headers.set(CHANNEL_AGENT_VERSION_HEADER, options.version);
    headers.set(CHANNEL_PING_HEADER, String(pingSeconds));
    const dispatcher = withoutCompression();
    const ws = new WebSocket(url, { headers, ...(dispatcher ? { dispatcher } : {}) } as unknown as string[]);
    ws.binaryType = "arraybuffer";
    socket = ws;
    return new Promise<number>((resolve) => {
      /** Intervals in a row without a sign of the primary. */
      let missed = 0;
      let heard = true;
      let queued = 0;
      let pinger: ReturnType<typeof setInterval> | undefined;
      const lost = new AppError("channel_not_connected", "The channel to the primary closed.");
      const mux = new ChannelMux({
        transport: {
          send(message) {
            ws.send(message);
            if (ws.bufferedAmount > HIGH_WATER_BYTES) return drained(ws);
          },
        },
        serve: options.serve,
        origin: "http://flotilla-channel",
        onBytes: (direction, count) => {
          if (direction === "in") view.bytes_in += count;
          else view.bytes_out += count;
        },
        onProtocolError: (error) => {
          failed(error.message);
          ws.close(CLOSE.protocol, "protocol");
        },
      });
      ws.onopen = () => {
        opened += 1;
        if (opened > 1) view.reconnects += 1;
        view.connected = true;
        view.connected_since = new Date().toISOString();
        dropped = null;
        options.log.info("channel open", { url, extensions: ws.extensions });
        pinger = setInterval(() => {
          // The primary counts as there while anything shows it: a message from it (its pong, or any
          // frame), or bytes of ours leaving the socket's queue (they go only as it acknowledges
          // them, so a channel busy sending is alive even when a keepalive waits behind its data).
          const buffered = ws.bufferedAmount;
          if (heard || buffered < queued) missed = 0;
          else missed += 1;
          heard = false;
          queued = buffered;
          if (missed >= MISSED_PINGS) {
            drop("nothing from the primary for three keepalive intervals: the channel is half-open");
            ws.close();
            finish(CLOSE.stale);
            return;
          }
          ws.send(PING);
        }, pingSeconds * 1000);
      };
      ws.onmessage = (event: MessageEvent) => {
        heard = true;
        if (typeof event.data === "string") return;
        mux.receive(new Uint8Array(event.data as ArrayBuffer));
      };
      ws.onerror = () => failed("the channel socket failed (refused, or the upgrade was not accepted)");
      ws.onclose = (event: CloseEvent) => {
        if (event.code !== 1000 && event.code !== 1005) drop(`closed by the primary (${event.code})`);
        finish(event.code);
      };
      let done = false;
      function finish(code: number) {
        if (done) return;
        done = true;
        clearInterval(pinger);
        mux.close(lost);
        view.connected = false;
        view.connected_since = null;
        socket = null;
        resolve(code);
      }
    });
  }

  async function loop(): Promise<void> {
    let attempt = 0;
    while (!stopped) {
      let answer: AgentConnectivity;
      try {
        answer = await askConnectivity();
      } catch (error) {
        failed(`asking the primary: ${error instanceof Error ? error.message : String(error)}`);
        await sleep(backoffMs(attempt++));
        continue;
      }
      view.connectivity = answer.connectivity;
      if (answer.connectivity === "direct" || !answer.channel_url) {
        attempt = 0;
        await sleep(answer.poll_seconds * 1000);
        continue;
      }
      const startedAt = Date.now();
      const code = await runChannel(answer.channel_url).catch((error: unknown) => {
        failed(`opening the channel: ${error instanceof Error ? error.message : String(error)}`);
        return 0;
      });
      if (stopped) return;
      options.log.info("channel closed", { code });
      if (code === CLOSE.direct) {
        attempt = 0;
        continue;
      }
      if (Date.now() - startedAt >= BACKOFF.stableMs) attempt = 0;
      await sleep(backoffMs(attempt++));
    }
  }

  void loop();
  return {
    state: () => ({ ...view }),
    stop() {
      stopped = true;
      socket?.close(1000, "agent stopping");
      wake?.();
    },
  };
}

/** Waits until the socket's queue is below the high-water mark (or it closed). */
async function drained(ws: WebSocket): Promise<void> {
  while (ws.bufferedAmount > HIGH_WATER_BYTES / 2 && ws.readyState === WebSocket.OPEN) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface Dispatcher {
  dispatch(options: { headers?: unknown }, handler: unknown): boolean;
}

/**
 * Node's own fetch dispatcher (undici publishes it under this symbol once fetch has run), with the
 * WebSocket's permessage-deflate offer taken out of the upgrade request: undici always offers it and
 * workerd accepts, and deflating every frame of file bodies (which rarely compress) cost both ends
 * CPU on each byte. Without the global dispatcher the socket is opened as undici makes it.
 */
function withoutCompression(): Dispatcher | undefined {
  const global = (globalThis as Record<symbol, Dispatcher | undefined>)[
    Symbol.for("undici.globalDispatcher.1")
  ];
  if (!global || typeof global.dispatch !== "function") return undefined;
  return {
    dispatch(options, handler) {
      const headers = options.headers;
      if (headers === null || typeof headers !== "object" || Array.isArray(headers)) {
        return global.dispatch(options, handler);
      }
      const kept = Object.fromEntries(
        Object.entries(headers).filter(([name]) => name.toLowerCase() !== "sec-websocket-extensions"),
      );
      return global.dispatch({ ...options, headers: kept }, handler);
    },
  };
}
