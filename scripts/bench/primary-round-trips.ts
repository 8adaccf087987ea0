// Owns the benchmark's round-trip figures: each API route called in series through the real worker
// (workerd) with the counting proxy in front of libSQL, once with no delay (how many round trips each
// request makes, and its median time on this machine) and once with the database `delayMs` away each
// way (what a user far from the database pays for them).
import type { Api } from "../acceptance/api.ts";
import type { LibsqlProxy } from "./primary-libsql-proxy.ts";

export interface RouteTrips {
  route: string;
  /** Round trips per request (mean over the calls). */
  trips: number;
  /** Median ms with no delay, and with the delay. */
  localMs: number;
  delayedMs: number;
}

type Step = { route: string; call: () => Promise<Response>; status: number };

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

async function expectStatus(response: Response, status: number, route: string): Promise<string> {
  const text = await response.text();
  if (response.status !== status) throw new Error(`${route}: ${response.status} ${text.slice(0, 200)}`);
  return text;
}

/** The routes in the order a client uses them; upload and share steps carry ids forward. */
function steps(user: Api, username: string, password: string): Step[] {
  const base = user.baseUrl;
  const auth = { authorization: `Bearer ${user.token}` };
  const post = (path: string, body: unknown, headers: Record<string, string> = auth) =>
    fetch(`${base}${path}`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  let upload = "";
  let file = "";
  let share = "";
  return [
    { route: "GET /health", call: () => fetch(`${base}/health`), status: 200 },
    { route: "GET auth/me", call: () => fetch(`${base}/api/v1/auth/me`, { headers: auth }), status: 200 },
    {
      route: "POST auth/login",
      call: () => post("/api/v1/auth/login", { username, password, client: "api" }, {}),
      status: 200,
    },
    {
      route: "GET spaces/me/items",
      call: () => fetch(`${base}/api/v1/spaces/me/items?limit=100`, { headers: auth }),
      status: 200,
    },
    {
      route: "POST uploads (init)",
      call: async () => {
        const response = await post("/api/v1/spaces/me/uploads", {
          name: `rt-${crypto.randomUUID()}.bin`,
          size: 1,
        });
        const clone = response.clone();
        if (response.status === 201) upload = ((await clone.json()) as { id: string }).id;
        return response;
      },
      status: 201,
    },
    {
      route: "PUT uploads/:id/parts/1",
      call: () =>
        fetch(`${base}/api/v1/uploads/${upload}/parts/1`, {
          method: "PUT",
          headers: { ...auth, "content-type": "application/octet-stream" },
          body: new Uint8Array([7]),
        }),
      status: 200,
    },
    {
      route: "POST uploads/:id/complete",
      call: async () => {
        const response = await post(`/api/v1/uploads/${upload}/complete`, {});
        const clone = response.clone();
        if (response.status === 200) file = ((await clone.json()) as { file: { id: string } }).file.id;
        return response;
      },
      status: 200,
    },
    {
      route: "GET files/:id/content",
      call: () => fetch(`${base}/api/v1/spaces/me/files/${file}/content?redirect=false`, { headers: auth }),
      status: 200,
    },
    {
      route: "POST shares (create)",
      call: async () => {
        const response = await post("/api/v1/spaces/me/shares", { file_id: file });
        const clone = response.clone();
        if (response.status === 201) share = ((await clone.json()) as { token: string }).token;
        return response;
      },
      status: 201,
    },
    {
      route: "GET public/shares/:token",
      call: () => fetch(`${base}/api/v1/public/shares/${share}`),
      status: 200,
    },
  ];
}

/** Runs the whole flow `calls` times at each delay; every figure per route. */
export async function measureRoundTrips(
  user: Api,
  credentials: { username: string; password: string },
  proxy: LibsqlProxy,
  options: { calls: number; delayMs: number },
): Promise<RouteTrips[]> {
  const flow = steps(user, credentials.username, credentials.password);
  const trips = new Map<string, number[]>();
  const times = new Map<string, { local: number[]; delayed: number[] }>();
  for (const delay of [0, options.delayMs]) {
    proxy.delayMs = delay;
    for (let i = 0; i < options.calls; i++) {
      for (const step of flow) {
        const before = proxy.requests;
        const started = performance.now();
        await expectStatus(await step.call(), step.status, step.route);
        const ms = performance.now() - started;
        const slot = times.get(step.route) ?? { local: [], delayed: [] };
        times.set(step.route, slot);
        (delay === 0 ? slot.local : slot.delayed).push(ms);
        if (delay === 0) trips.set(step.route, [...(trips.get(step.route) ?? []), proxy.requests - before]);
      }
    }
  }
  proxy.delayMs = 0;
  return flow.map(({ route }) => {
    const counted = trips.get(route) ?? [];
    const slot = times.get(route) ?? { local: [], delayed: [] };
    return {
      route,
      trips: counted.reduce((a, b) => a + b, 0) / Math.max(1, counted.length),
      localMs: median(slot.local),
      delayedMs: median(slot.delayed),
    };
  });
}

/** The report's lines: round trips beside the delayed time they cost. */
export function roundTripLines(rows: RouteTrips[], delayMs: number): string[] {
  const pad = (text: string, width: number) => text.padEnd(width);
  return [
    `Primary round trips to libSQL per request (counted at a proxy; median ms here, and with libSQL ${delayMs} ms away each way):`,
    ...rows.map(
      (row) =>
        `  ${pad(row.route, 28)} ${pad(`${Number(row.trips.toFixed(1))} round trip(s)`, 18)} ${row.localMs.toFixed(1).padStart(6)} ms   ${row.delayedMs.toFixed(1).padStart(6)} ms delayed (+${(row.delayedMs - row.localMs).toFixed(0)} ms)`,
    ),
  ];
}
