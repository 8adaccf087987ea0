// Owns the benchmark's request rates of the primary itself: wrk at 64 clients against the stack's own
// worker (the layout `npm start` runs: the console's files in a worker of their own, the API routed
// straight to ours), beside miniflare's ceiling in that same layout (a trivial worker) as the anchor.
// /health is one `select 1`; auth/me is authentication's one statement and a JSON answer.
import type { WrkResult } from "./primary-miniflare.ts";
import { runWrk } from "./primary-miniflare.ts";

export interface RouteRate extends WrkResult {
  route: string;
}

export async function primaryRates(
  origin: string,
  token: string,
  connections: number,
  seconds: number,
): Promise<RouteRate[]> {
  const auth = [`authorization: Bearer ${token}`];
  return [
    { route: "GET /health", ...(await runWrk(new URL("/health", origin).href, connections, seconds)) },
    {
      route: "GET auth/me",
      ...(await runWrk(new URL("/api/v1/auth/me", origin).href, connections, seconds, auth)),
    },
  ];
}

const line = (label: string, r: WrkResult, extra = "") =>
  `  ${label.padEnd(20)} ${r.requestsPerSecond.toFixed(0).padStart(6)} req/s  p50 ${r.p50Ms.toFixed(1)} ms  p99 ${r.p99Ms.toFixed(1)} ms${extra}`;

/** The rates of the stack's worker, each with its share of the routed ceiling, then the ceilings. */
export function rateLines(
  rates: RouteRate[],
  ceiling: Record<string, WrkResult>,
  connections: number,
): string[] {
  const anchor = ceiling.routed;
  return [
    `The primary under load (wrk, ${connections} clients; the stack's layout, whose ceiling is "routed" below):`,
    ...rates.map((r) =>
      line(
        r.route,
        r,
        anchor ? `  = ${Math.round((100 * r.requestsPerSecond) / anchor.requestsPerSecond)}% of routed` : "",
      ),
    ),
    `Miniflare's ceiling on this machine (a trivial worker, wrk, ${connections} clients; req/s, p50, p99):`,
    ...Object.entries(ceiling).map(([layout, r]) => line(layout, r)),
  ];
}
