// Owns the shape of what handlers receive: the agent's long-lived services (built once at start and
// handed in explicitly) and the per-request scope (ids, the relative path, how the request was authorized).
import type { NonceCache } from "../shared/protocol/signing.ts";
import type { ChannelClient } from "./channel.ts";
import type { AgentConfig } from "./config.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { MultipartBook } from "./multipart.ts";
import type { PullBook } from "./pulls.ts";
import type { StateFile } from "./state.ts";
import type { Targets } from "./targets.ts";
import type { TicketBook } from "./tickets.ts";

export interface AgentServices {
  config: AgentConfig;
  state: StateFile;
  targets: Targets;
  multipart: MultipartBook;
  /** Object pulls in flight and recently finished (in memory, like the ticket book). */
  pulls: PullBook;
  /** Replay cache of signed requests (documented module-level state: lives as long as the process). */
  nonces: NonceCache;
  tickets: TicketBook;
  metrics: Metrics;
  log: Logger;
  version: string;
  startedAt: Date;
  now: () => Date;
  fetch: typeof fetch;
  /** The channel to the primary, once started (it is what carries an outbound node's requests). */
  channel?: ChannelClient;
}

export interface Scope {
  request: Request;
  url: URL;
  requestId: string;
  /** Hex SHA-256 the body must match (header-signed requests), or UNSIGNED-PAYLOAD. */
  contentSha256: string;
  /** The body of a signed request on a route that does not stream, already checked against its hash. */
  body: Uint8Array<ArrayBuffer> | null;
  /** Set for presigned browser requests: the signed query and the URL's expiry. */
  presigned: { params: URLSearchParams; expiresAt: Date } | null;
  params: Record<string, string>;
}
