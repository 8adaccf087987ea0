// Owns the Durable Object where an outbound-only follower's channel ends, one per node
// (idFromName(node id)): it accepts the agent's authenticated WebSocket (one at a time: a new one
// replaces the old), remembers the nonces of the agent's signed requests for the replay window,
// carries the primary's signed protocol v2 requests to the agent as channel streams and streams the
// answers back, and keeps the channel's state (connected since, reconnects, last error, bytes).
// The socket uses the Hibernation API: keepalive pings are answered by the runtime without waking
// the object, and an idle channel costs nothing while no request is carried.
import type { DurableObjectState, WebSocket as WorkerSocket } from "@cloudflare/workers-types";
import { AppError, errorResponse } from "../../shared/errors.ts";
import {
  CHANNEL_AGENT_VERSION_HEADER,
  CHANNEL_PING_HEADER,
  CLOSE,
  channelTransfer,
  DEFAULT_CHANNEL_PING_SECONDS,
  MISSED_PINGS,
  OPENER_STREAMS,
  PING,
  PONG,
} from "../../shared/protocol/channel.ts";
import { ChannelMux } from "../../shared/protocol/channel-mux.ts";
import type { NodeChannelState } from "../../shared/protocol/schemas.ts";
import { MAX_SKEW_SECONDS } from "../../shared/protocol/signing.ts";
import { OBJECT_PATHS } from "./channel.ts";

const NONCE_TTL_MS = 2 * MAX_SKEW_SECONDS * 1000;
const STATE_KEY = "state";

interface StoredState {
  connectedSince: string | null;
  accepted: number;
  lastError: string | null;
  lastErrorAt: string | null;
  /** When the last connection ended; while one is open, its messages and keepalives are newer. */
  lastSeenAt?: string | null;
  agentVersion?: string | null;
  bytesIn: number;
  bytesOut: number;
}

interface SocketPair {
  0: WorkerSocket;
  1: WorkerSocket;
}

/** Runtime globals of workerd that the DOM lib does not declare. */
interface WorkerdGlobals {
  WebSocketPair: new () => SocketPair;
  WebSocketRequestResponsePair: new (request: string, response: string) => unknown;
}

function lost(message: string): AppError {
  return new AppError("channel_not_connected", message);
}

/** What each accepted socket carries through hibernation. */
interface Attachment {
  connection?: number;
  /** The agent's keepalive interval, as it said when it connected. */
  pingSeconds?: number;
}

function attachmentOf(socket: WorkerSocket): Attachment {
  return (socket.deserializeAttachment() as Attachment | null) ?? {};
}

function connectionOf(socket: WorkerSocket): number {
  return attachmentOf(socket).connection ?? -1;
}

/** The keepalive interval an agent names, within the range its configuration allows. */
function pingSecondsOf(header: string | null): number {
  const seconds = Number(header);
  return Number.isInteger(seconds) && seconds >= 1 && seconds <= 300 ? seconds : DEFAULT_CHANNEL_PING_SECONDS;
}

/** What an agent says it runs, kept only when it looks like a version (it is shown to admins). */
function agentVersion(header: string | null): string | null {
  return header && /^[0-9A-Za-z.+_-]{1,64}$/.test(header) ? header : null;
}

export class FollowerChannel {
  readonly #state: DurableObjectState;
  #mux: ChannelMux | null = null;
  /** Which accepted connection the mux speaks over (socket objects are not stable across wake-ups). */
  #muxConnection = 0;
  #stored: StoredState | null = null;
  #bytes = { in: 0, out: 0 };
  /** The agent's last binary message (keepalives answered by the runtime are timed by the runtime). */
  #lastMessageAt = 0;

  constructor(state: DurableObjectState, _env: unknown) {
    this.#state = state;
    const runtime = globalThis as unknown as WorkerdGlobals;
    state.setWebSocketAutoResponse(new runtime.WebSocketRequestResponsePair(PING, PONG) as never);
  }

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    try {
      switch (url.pathname) {
        case OBJECT_PATHS.connect:
          return await this.#connect(request);
        case OBJECT_PATHS.nonce:
          return (await this.#claim(await request.text()))
            ? new Response(null, { status: 204 })
            : new Response(null, { status: 409 });
        case OBJECT_PATHS.state:
          return Response.json(await this.#view());
        case OBJECT_PATHS.close: {
          const reason = url.searchParams.get("reason");
          const code = reason === "direct" ? CLOSE.direct : CLOSE.revoked;
          for (const socket of this.#state.getWebSockets()) socket.close(code, reason ?? "revoked");
          this.#dropMux(lost("The channel was closed by the primary."));
          return new Response(null, { status: 204 });
        }
        default:
          return await this.#carry(request);
      }
    } catch (error) {
      const appError = error instanceof AppError ? error : new AppError("internal", "The channel failed.");
      return errorResponse(appError, "channel");
    }
  }

  async webSocketMessage(socket: WorkerSocket, message: string | ArrayBuffer): Promise<void> {
    // A replaced or silent connection's late frames belong to streams that are gone. (Checked without
    // waiting, so frames are taken in the order they came; a woken object has no state loaded yet and
    // every socket it still holds is the newest.)
    const stored = this.#stored;
    if (stored && (stored.connectedSince === null || connectionOf(socket) !== stored.accepted)) return;
    this.#lastMessageAt = Date.now();
    if (typeof message === "string") {
      if (message === PING) socket.send(PONG);
      return;
    }
    this.#muxFor(socket).receive(new Uint8Array(message));
  }

  async webSocketClose(socket: WorkerSocket, code: number, reason: string): Promise<void> {
    await this.#ended(socket, `closed (${code}${reason ? `: ${reason}` : ""})`);
  }

  async webSocketError(socket: WorkerSocket, error: unknown): Promise<void> {
    await this.#ended(socket, `socket error: ${String(error)}`);
  }

  /**
   * Half-open detection on this side: a connection that sent nothing, not even a keepalive, for
   * MISSED_PINGS of its intervals is gone without a word (a NAT that dropped its mapping, a machine
   * that lost power). It is closed, the node shows disconnected and its transfers fail with
   * channel_not_connected instead of waiting on TCP's own timeouts; otherwise the next check is set.
   */
  async alarm(): Promise<void> {
    const stored = await this.#load();
    const socket = this.#current(stored);
    if (!socket) return;
    const limit = MISSED_PINGS * (attachmentOf(socket).pingSeconds ?? DEFAULT_CHANNEL_PING_SECONDS) * 1000;
    const seen = Date.parse(this.#lastSeen(socket, stored) ?? "") || 0;
    if (Date.now() - seen < limit) {
      await this.#state.storage.setAlarm(seen + limit);
      return;
    }
    try {
      socket.close(CLOSE.stale, "stale");
    } catch {
      // Already closing: the runtime may not have told the object yet.
    }
    await this.#ended(socket, `went silent (no keepalive for ${MISSED_PINGS} intervals)`);
  }

  async #connect(request: Request): Promise<Response> {
    const nonce = request.headers.get("x-flotilla-verified-nonce") ?? "";
    if (!(await this.#claim(nonce)))
      throw new AppError("auth_replayed_nonce", "This request was already received.");
    // One agent identity per node: the newest authenticated connection wins.
    for (const old of this.#state.getWebSockets()) old.close(CLOSE.replaced, "replaced");
    this.#dropMux(lost("Another connection of this node replaced the channel."));
    const runtime = globalThis as unknown as WorkerdGlobals;
    const pair = new runtime.WebSocketPair();
    const stored = await this.#load();
    stored.accepted += 1;
    const pingSeconds = pingSecondsOf(request.headers.get(CHANNEL_PING_HEADER));
    pair[1].serializeAttachment({ connection: stored.accepted, pingSeconds } satisfies Attachment);
    this.#state.acceptWebSocket(pair[1]);
    stored.connectedSince = new Date().toISOString();
    stored.agentVersion = agentVersion(request.headers.get(CHANNEL_AGENT_VERSION_HEADER));
    await this.#save();
    await this.#state.storage.setAlarm(Date.now() + MISSED_PINGS * pingSeconds * 1000);
    return new Response(null, { status: 101, webSocket: pair[0] } as ResponseInit);
  }

  /**
   * The connection that counts: the newest accepted one while it is open. Sockets replaced or found
   * silent may still be listed by the runtime until their close completes; they carry nothing.
   */
  #current(stored: StoredState): WorkerSocket | undefined {
    if (stored.connectedSince === null) return undefined;
    return this.#state.getWebSockets().find((socket) => connectionOf(socket) === stored.accepted);
  }

  async #carry(request: Request): Promise<Response> {
    const socket = this.#current(await this.#load());
    if (!socket) throw lost("The follower's channel is not connected.");
    return this.#muxFor(socket).fetch(request, request.signal);
  }

  #muxFor(socket: WorkerSocket): ChannelMux {
    const connection = connectionOf(socket);
    if (this.#mux && this.#muxConnection === connection) return this.#mux;
    this.#dropMux(lost("The channel was replaced."));
    const mux = new ChannelMux({
      transport: { send: (message) => socket.send(message) },
      // A woken object starts its stream ids elsewhere, so late frames of streams it forgot find nothing.
      firstStreamId: 1 + Math.floor(Math.random() * 0x7fff_0000),
      // Memory: each open stream may hold a window of body bytes here; more transfers wait their turn.
      maxOpenStreams: OPENER_STREAMS,
      countsAgainstLimit: (request) => channelTransfer(request.method, new URL(request.url).pathname),
      onBytes: (direction, count) => {
        this.#bytes[direction] += count;
      },
      onProtocolError: (error) => {
        socket.close(CLOSE.protocol, error.message.slice(0, 120));
        void this.#ended(socket, error.message);
      },
    });
    this.#mux = mux;
    this.#muxConnection = connection;
    return mux;
  }

  #dropMux(error: AppError): void {
    this.#mux?.close(error);
    this.#mux = null;
    this.#muxConnection = 0;
  }

  async #ended(socket: WorkerSocket, why: string): Promise<void> {
    const connection = connectionOf(socket);
    if (this.#muxConnection === connection) this.#dropMux(lost(`The follower's channel ${why}.`));
    const stored = await this.#load();
    // Found silent and closed here already: its close event, when it comes, says nothing new.
    if (connection === stored.accepted && stored.connectedSince === null) return;
    // The newest connection ending leaves the node disconnected; an older one replaced does not.
    if (connection === stored.accepted) {
      stored.connectedSince = null;
      stored.lastSeenAt = new Date().toISOString();
    }
    stored.lastError = why.slice(0, 300);
    stored.lastErrorAt = new Date().toISOString();
    await this.#save();
  }

  /** Records a nonce for the replay window; false when it was seen within it. */
  async #claim(nonce: string): Promise<boolean> {
    if (!/^[A-Za-z0-9_-]{16,128}$/.test(nonce)) return false;
    const now = Date.now();
    const key = `nonce:${nonce}`;
    const until = await this.#state.storage.get<number>(key);
    if (until !== undefined && until > now) return false;
    const expired = [...(await this.#state.storage.list<number>({ prefix: "nonce:" }))]
      .filter(([, at]) => at <= now)
      .map(([name]) => name);
    if (expired.length > 0) await this.#state.storage.delete(expired.slice(0, 128));
    await this.#state.storage.put(key, now + NONCE_TTL_MS);
    return true;
  }

  async #load(): Promise<StoredState> {
    this.#stored ??= (await this.#state.storage.get<StoredState>(STATE_KEY)) ?? {
      connectedSince: null,
      accepted: 0,
      lastError: null,
      lastErrorAt: null,
      bytesIn: 0,
      bytesOut: 0,
    };
    return this.#stored;
  }

  async #save(): Promise<void> {
    const stored = await this.#load();
    stored.bytesIn += this.#bytes.in;
    stored.bytesOut += this.#bytes.out;
    this.#bytes = { in: 0, out: 0 };
    await this.#state.storage.put(STATE_KEY, stored);
  }

  async #view(): Promise<NodeChannelState> {
    await this.#save();
    const stored = await this.#load();
    const socket = this.#current(stored);
    const connected = socket !== undefined;
    return {
      connected,
      connected_since: connected ? stored.connectedSince : null,
      last_seen: socket ? this.#lastSeen(socket, stored) : (stored.lastSeenAt ?? null),
      agent_version: stored.agentVersion ?? null,
      reconnects: Math.max(0, stored.accepted - 1),
      last_error: stored.lastError,
      last_error_at: stored.lastErrorAt,
      // Seen from the follower: "in" is what it received (the primary sent), "out" what it sent.
      bytes_in: stored.bytesOut,
      bytes_out: stored.bytesIn,
    };
  }

  /** The newest of the connection's start, the agent's last frame and its last keepalive. */
  #lastSeen(socket: WorkerSocket, stored: StoredState): string | null {
    const times = [
      stored.connectedSince ? Date.parse(stored.connectedSince) : 0,
      this.#lastMessageAt,
      this.#state.getWebSocketAutoResponseTimestamp(socket)?.getTime() ?? 0,
    ];
    const newest = Math.max(...times);
    return newest > 0 ? new Date(newest).toISOString() : null;
  }
}
