// Owns streams and their batons. A stream is one engine connection that lives across HTTP requests;
// the client holds it by a baton that is unguessable and good for one request only: taking it removes
// it, so a stream serves one request at a time and a replayed baton is refused. A parked stream that
// stays idle expires: its connection closes, rolling back any open transaction. Connections of
// streams that ended clean wait in a small pool for the next stream.
import { randomToken } from "../../shared/crypto.ts";
import { Connection } from "./connection.ts";

const maxIdleConnections = 8;

export interface Stream {
  readonly conn: Connection;
  idleTimer?: NodeJS.Timeout;
}

export interface StreamLimits {
  /** An idle stream (no request in flight) is closed after this long. */
  idleMs: number;
  /** Open streams at most (parked or busy); opening one more is refused. */
  maxStreams: number;
  /** How long a statement waits for another stream's write lock before answering SQLITE_BUSY. */
  busyWaitMs: number;
}

export class StreamRegistry {
  readonly #path: string;
  readonly #limits: StreamLimits;
  readonly #parked = new Map<string, Stream>();
  readonly #open = new Set<Stream>();
  readonly #idle: Connection[] = [];

  constructor(path: string, limits: StreamLimits) {
    this.#path = path;
    this.#limits = limits;
  }

  /** A new stream, or undefined when the server already holds maxStreams. */
  open(): Stream | undefined {
    if (this.#open.size >= this.#limits.maxStreams) return undefined;
    const conn = this.#idle.pop() ?? new Connection(this.#path, this.#limits.busyWaitMs);
    const stream: Stream = { conn };
    this.#open.add(stream);
    return stream;
  }

  /** The stream a baton names, which is now in flight; undefined if unknown, used or expired. */
  take(baton: string): Stream | undefined {
    const stream = this.#parked.get(baton);
    if (stream === undefined) return undefined;
    this.#parked.delete(baton);
    clearTimeout(stream.idleTimer);
    return stream;
  }

  /**
   * Parks a stream between requests and returns the baton that the next request must present, or
   * null if the stream was closed meanwhile (server shutdown).
   */
  park(stream: Stream): string | null {
    if (!this.#open.has(stream)) return null;
    const baton = randomToken("bt", 32);
    this.#parked.set(baton, stream);
    stream.idleTimer = setTimeout(() => {
      this.#parked.delete(baton);
      this.close(stream);
    }, this.#limits.idleMs);
    stream.idleTimer.unref();
    return baton;
  }

  close(stream: Stream): void {
    clearTimeout(stream.idleTimer);
    if (!this.#open.delete(stream)) return;
    if (this.#idle.length < maxIdleConnections && stream.conn.recycle()) this.#idle.push(stream.conn);
    else stream.conn.close();
  }

  closeAll(): void {
    this.#parked.clear();
    for (const stream of this.#open) {
      clearTimeout(stream.idleTimer);
      stream.conn.close();
    }
    this.#open.clear();
    for (const conn of this.#idle.splice(0)) conn.close();
  }
}
