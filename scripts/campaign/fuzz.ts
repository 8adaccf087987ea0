// Owns the campaign's fuzzer: property-based requests over every operation of the worker's route
// table, generated from each route's own zod schemas (path params, query, JSON body; raw bodies as
// random bytes), sent as admin, as user and anonymously over real HTTP to the primary in workerd.
// A batch is every (operation, caller) pair once in a seeded order; each batch starts with fresh
// sessions (fuzzed logouts, password changes, disabled or deleted accounts end them), and a session
// refused mid-batch is renewed at once. Any 5xx, any refusal outside the error envelope, and any
// request left unanswered is a failure.
import { eq } from "drizzle-orm";
import fc from "fast-check";
import { type ErrorCode, errorEnvelopeSchema, errorStatus } from "../../shared/errors.ts";
import { createSession } from "../../worker/accounts/sessions.ts";
import { createUser } from "../../worker/accounts/users.ts";
import type { Db } from "../../worker/db/client.ts";
import { users } from "../../worker/db/schema.ts";
import type { Route } from "../../worker/http/route.ts";
import { arbitraryOf, hostile, type Pools, stringFieldsOf } from "./arbitrary.ts";

export const ROLES = ["admin", "user", "anonymous"] as const;
export type Role = (typeof ROLES)[number];

export interface FuzzOptions {
  origin: string;
  db: Db;
  routes: readonly Route[];
  requests: number;
  seed: number;
  concurrency: number;
  /** Ids and tokens known before the run (the campaign's own files, shares, nodes). */
  pools: Pools;
  log: (line: string) => void;
}

export interface FuzzFailure {
  operation: string;
  role: Role;
  status: number;
  problem: string;
  excerpt: string;
  request: string;
}

export interface FuzzResult {
  requests: number;
  seconds: number;
  /** operation -> count per status class (index 1..5: 1xx..5xx; 0: no answer). */
  operations: Map<string, number[]>;
  failures: FuzzFailure[];
  sessionsRenewed: number;
  /** Requests sent again after their kept-alive connection was reset before any answer. */
  resent: number;
}

const operationOf = (route: Route) => `${route.method} ${route.path}`;

/** The fuzz accounts, kept usable: present, enabled, with their role; a fresh API session each time. */
class Accounts {
  readonly #db: Db;
  readonly #names: Record<"admin" | "user", string>;
  readonly #tokens = new Map<Role, string>();
  readonly #renewing = new Map<Role, Promise<void>>();
  renewed = 0;

  constructor(db: Db, seed: number) {
    this.#db = db;
    this.#names = { admin: `fuzz-admin-${seed}`, user: `fuzz-user-${seed}` };
  }

  token(role: Role): string | undefined {
    return this.#tokens.get(role);
  }

  async #ensure(role: "admin" | "user"): Promise<string> {
    const username = this.#names[role];
    const [row] = await this.#db.select().from(users).where(eq(users.username, username));
    if (!row) {
      const password = `fuzz-password-${role}-0123456789`;
      return (await createUser(this.#db, { username, password, role }, new Date())).id;
    }
    if (row.disabled || row.role !== role) {
      await this.#db.update(users).set({ disabled: false, role }).where(eq(users.id, row.id));
    }
    return row.id;
  }

  /** A new session for `role`; concurrent callers share one renewal. */
  renew(role: Role): Promise<void> {
    if (role === "anonymous") return Promise.resolve();
    const running = this.#renewing.get(role);
    if (running) return running;
    const work = (async () => {
      const userId = await this.#ensure(role);
      const session = await createSession(this.#db, { userId, kind: "api", now: new Date() });
      this.#tokens.set(role, session.token);
      this.renewed++;
    })().finally(() => this.#renewing.delete(role));
    this.#renewing.set(role, work);
    return work;
  }
}

/** Ids and tokens harvested from 2xx JSON answers, so later requests name records that exist. */
function harvest(value: unknown, pools: Pools, key = "", depth = 0): void {
  if (depth > 6 || value === null || typeof value !== "object") {
    if (typeof value !== "string" || value.length === 0 || value.length > 200) return;
    const pool = key === "token" ? pools.tokens : key === "id" || key.endsWith("_id") ? pools.ids : null;
    if (pool && !pool.includes(value)) {
      if (pool.length < 400) pool.push(value);
      else pool[Math.floor(Math.random() * pool.length)] = value;
    }
    return;
  }
  if (Array.isArray(value)) for (const item of value.slice(0, 50)) harvest(item, pools, key, depth + 1);
  else for (const [k, v] of Object.entries(value)) harvest(v, pools, k, depth + 1);
}

/**
 * Records of each fuzz account for requests to name: a folder, a file (uploaded whole), a share link
 * of each (one with a password), an app password, a team (the admin's).
 */
async function seedRecords(origin: string, token: string, pools: Pools): Promise<void> {
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${origin}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 200)}`);
    const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    harvest(parsed, pools);
    return parsed;
  };
  const folder = (await call("POST", "/api/v1/spaces/me/folders", { name: `fuzz-${Date.now()}` })) as {
    id: string;
  };
  const bytes = new TextEncoder().encode("fuzzed file\n".repeat(100));
  const upload = (await call("POST", "/api/v1/spaces/me/uploads", {
    name: "seed.txt",
    size: bytes.length,
    folder_id: folder.id,
  })) as { id: string };
  const part = await fetch(`${origin}/api/v1/uploads/${upload.id}/parts/1`, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
    body: bytes,
  });
  await part.arrayBuffer();
  const done = (await call("POST", `/api/v1/uploads/${upload.id}/complete`, {})) as { file: { id: string } };
  await call("POST", "/api/v1/spaces/me/shares", { file_id: done.file.id });
  await call("POST", "/api/v1/spaces/me/shares", { folder_id: folder.id, password: "fuzz-share-password" });
  await call("POST", "/api/v1/auth/app-passwords", { name: "fuzz" }).catch(() => undefined);
  await call("POST", "/api/v1/admin/teams", { name: `fuzz-team-${Date.now()}` }).catch(() => undefined);
}

interface Plan {
  route: Route;
  role: Role;
  path: string;
  query: string;
  headers: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
}

const headerValue = fc.oneof(
  fc.stringMatching(/^[\x20-\x7e]{0,120}$/),
  fc.constantFrom("bytes=0-0", "bytes=-1", "bytes=5-2", "bytes=0-", "*", '"abc"', 'W/"x"', "sha-256=:AAAA:"),
);

const FRAMING = new Set(["content-length", "transfer-encoding", "host", "connection", "expect"]);

/**
 * The longest path or query value sent: workerd answers a request head past its limit with its own
 * plain-text 431-like "header too large" before the worker runs, which says nothing of the worker.
 */
const MAX_URL_VALUE = 2048;
const clipped = (fields: Record<string, string>) =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.slice(0, MAX_URL_VALUE)]));

/** Arbitraries of one route's request parts, built once per batch with the pools as they are. */
function planner(route: Route, pools: Pools) {
  const names = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
  const params = stringFieldsOf(route.params, pools, names).map(clipped);
  const query = route.query
    ? stringFieldsOf(route.query, pools, []).map(clipped)
    : fc.option(fc.dictionary(fc.constantFrom("x", "limit", "cursor", "__proto__"), fc.string()), {
        freq: 8,
      });
  const body: fc.Arbitrary<string | Uint8Array<ArrayBuffer> | undefined> = route.body
    ? fc.oneof(
        { weight: 18, arbitrary: arbitraryOf(route.body, pools).map((v) => JSON.stringify(v) ?? "null") },
        {
          weight: 1,
          arbitrary: fc.constantFrom("{", "", "[1,", '{"a":', "\u0000", "null", "{}".repeat(50_000)),
        },
        { weight: 1, arbitrary: hostile.map((v) => JSON.stringify(v) ?? "") },
      )
    : route.rawBody
      ? fc.uint8Array({ maxLength: 64 * 1024 }).map((bytes) => new Uint8Array(bytes))
      : fc.constant(undefined);
  // Framing headers are the HTTP client's to set; a forged one is refused by the client itself.
  const headerNames = Object.keys(route.requestHeaders ?? {}).filter(
    (name) => !FRAMING.has(name.toLowerCase()),
  );
  const headers =
    headerNames.length === 0
      ? fc.constant({} as Record<string, string>)
      : fc.tuple(...headerNames.map(() => fc.option(headerValue, { freq: 2 }))).map((values) => {
          const out: Record<string, string> = {};
          values.forEach((value, i) => {
            if (value !== null) out[headerNames[i]!] = value;
          });
          return out;
        });
  const wrongType = fc.integer({ min: 0, max: 19 }).map((n) => n === 0);
  return fc.record({ params, query, body, headers, wrongType });
}

let resent = 0;
const RESENDS = 3;

/**
 * fetch, sent again when the connection failed before any answer: a kept-alive connection that
 * workerd closed as the request went out (it closes one whose large request body a refusal left
 * unread), which a browser retries on its own. The pool may hold more than one such connection, so up
 * to RESENDS times, each counted; a failure after that is the answer.
 */
async function fetchOnce(url: string, init: RequestInit): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (error) {
      const code =
        error instanceof Error && error.cause instanceof Error
          ? (error.cause as NodeJS.ErrnoException).code
          : "";
      const reset = code === "ECONNRESET" || code === "UND_ERR_SOCKET" || code === "EPIPE";
      if (!reset || attempt === RESENDS) throw error;
      resent++;
    }
  }
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause : undefined;
  const code = cause ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : "";
  return code ? `${error.message} (${code})` : error.message;
}

function problemWith(status: number, method: string, contentType: string, text: string): string | undefined {
  if (status >= 500) return `${status}`;
  if (status < 400 || method === "HEAD") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return `not JSON (${contentType || "no content-type"})`;
  }
  const envelope = errorEnvelopeSchema.safeParse(parsed);
  if (!envelope.success) return "JSON outside the error envelope";
  const code = envelope.data.error.code;
  if (!(code in errorStatus)) return `unknown code ${code}`;
  if (errorStatus[code as ErrorCode] !== status) return `code ${code} with status ${status}`;
  return undefined;
}

export async function fuzz(options: FuzzOptions): Promise<FuzzResult> {
  const { origin, routes, pools, log } = options;
  const accounts = new Accounts(options.db, options.seed);
  const operations = new Map<string, number[]>(routes.map((r) => [operationOf(r), [0, 0, 0, 0, 0, 0]]));
  const failures: FuzzFailure[] = [];
  const perBatch = routes.length * ROLES.length;
  const batches = Math.ceil(options.requests / perBatch);
  const started = performance.now();
  const resentBefore = resent;
  let sent = 0;
  let sample = 0;
  const draw = <T>(arbitrary: fc.Arbitrary<T>): T =>
    fc.sample(arbitrary, { seed: options.seed * 7919 + sample++, numRuns: 1 })[0]!;

  await Promise.all(["admin", "user"].map((role) => accounts.renew(role as Role)));
  for (const role of ["admin", "user"] as const) {
    await seedRecords(origin, accounts.token(role)!, pools).catch((error) =>
      log(`  fuzz: seeding ${role}'s records failed: ${describeError(error)}`),
    );
  }
  for (let batch = 0; batch < batches && sent < options.requests; batch++) {
    await Promise.all(["admin", "user"].map((role) => accounts.renew(role as Role)));
    const planners = new Map(routes.map((route) => [route, planner(route, pools)]));
    const pairs = fc.sample(
      fc.shuffledSubarray(
        routes.flatMap((route) => ROLES.map((role) => ({ route, role }))),
        { minLength: perBatch, maxLength: perBatch },
      ),
      { seed: options.seed + batch, numRuns: 1 },
    )[0]!;
    const todo = pairs.slice(0, options.requests - sent);
    const plans: Plan[] = todo.map(({ route, role }) => {
      const drawn = draw(planners.get(route)!);
      const path = route.path.replace(/:(\w+)/g, (_, name: string) =>
        encodeURIComponent((drawn.params[name] ?? "").replace(/[\uD800-\uDFFF]/gu, "\uFFFD")),
      );
      const query = drawn.query ? new URLSearchParams(drawn.query).toString() : "";
      const headers: Record<string, string> = { ...drawn.headers };
      if (drawn.body !== undefined) {
        headers["content-type"] = drawn.wrongType
          ? "text/plain"
          : route.rawBody
            ? route.rawBody.contentType
            : "application/json";
      }
      return { route, role, path, query, headers, ...(drawn.body === undefined ? {} : { body: drawn.body }) };
    });
    sent += plans.length;
    let next = 0;
    const worker = async () => {
      for (let plan = plans[next++]; plan; plan = plans[next++]) await send(plan);
    };
    const send = async (plan: Plan, renewed = false): Promise<void> => {
      const { route, role } = plan;
      const headers = new Headers(plan.headers);
      const token = accounts.token(role);
      if (token) headers.set("authorization", `Bearer ${token}`);
      const url = `${origin}${plan.path}${plan.query ? `?${plan.query}` : ""}`;
      const counts = operations.get(operationOf(route))!;
      const describe = `${route.method} ${url.slice(origin.length, origin.length + 160)} as ${role}`;
      let status = 0;
      let text = "";
      let contentType = "";
      try {
        const response = await fetchOnce(url, {
          method: route.method,
          headers,
          body: plan.body ?? null,
          redirect: "manual",
          signal: AbortSignal.timeout(60_000),
        });
        status = response.status;
        contentType = response.headers.get("content-type") ?? "";
        text = await response.text();
      } catch (error) {
        counts[0]!++;
        failures.push({
          operation: operationOf(route),
          role,
          status: 0,
          problem: `no answer: ${describeError(error)}`,
          excerpt: "",
          request: describe,
        });
        return;
      }
      counts[Math.min(5, Math.floor(status / 100))]!++;
      const problem = problemWith(status, route.method, contentType, text);
      if (problem) {
        failures.push({
          operation: operationOf(route),
          role,
          status,
          problem,
          excerpt: text.slice(0, 300),
          request: describe,
        });
      }
      if (status >= 200 && status < 300 && contentType.startsWith("application/json")) {
        try {
          harvest(JSON.parse(text), pools);
        } catch {
          // A 2xx JSON body that does not parse is not ours to harvest from.
        }
      }
      // A session the fuzz itself ended (logout, revocation, password change, disabled account):
      // renew it; the request is not sent again (it had its answer), later ones go with the new one.
      if (status === 401 && role !== "anonymous" && !renewed) {
        const code = /"code":"(\w+)"/.exec(text)?.[1];
        if (code === "unauthorized" || code === "session_expired" || code === "account_disabled") {
          await accounts.renew(role);
        }
      }
      if (status === 403 && role !== "anonymous" && /"code":"(account_disabled|admin_required)"/.test(text)) {
        await accounts.renew(role);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    if ((batch + 1) % 20 === 0 || sent >= options.requests) {
      log(`  fuzz: ${sent} requests, ${failures.length} failures`);
    }
  }
  return {
    requests: sent,
    seconds: (performance.now() - started) / 1000,
    operations,
    failures,
    sessionsRenewed: accounts.renewed,
    resent: resent - resentBefore,
  };
}

/** The fuzz figures: per operation its requests and status classes; operations never answered 2xx. */
export function fuzzLines(result: FuzzResult): string[] {
  const lines = [
    `Fuzz: ${result.requests} requests over ${result.operations.size} operations in ${result.seconds.toFixed(0)} s (${(result.requests / result.seconds).toFixed(0)} req/s), sessions renewed ${result.sessionsRenewed}, sent again after a reset connection ${result.resent}`,
    `  ${"operation".padEnd(62)} ${"n".padStart(6)} ${"2xx".padStart(6)} ${"3xx".padStart(5)} ${"4xx".padStart(6)} ${"5xx".padStart(5)} ${"none".padStart(5)}`,
  ];
  const never: string[] = [];
  for (const [operation, counts] of [...result.operations].sort(([a], [b]) => a.localeCompare(b))) {
    const n = counts.reduce((a, b) => a + b, 0);
    lines.push(
      `  ${operation.padEnd(62)} ${String(n).padStart(6)} ${String(counts[2]).padStart(6)} ${String(counts[3]).padStart(5)} ${String(counts[4]).padStart(6)} ${String(counts[5]).padStart(5)} ${String(counts[0]).padStart(5)}`,
    );
    if (counts[2] === 0) never.push(operation);
  }
  lines.push(`  operations that never got a 2xx (${never.length}): ${never.join(", ") || "none"}`);
  const fivexx = result.failures.filter((f) => f.status >= 500).length;
  const envelope = result.failures.filter((f) => f.status > 0 && f.status < 500).length;
  const unanswered = result.failures.filter((f) => f.status === 0).length;
  lines.push(`  5xx: ${fivexx}, outside the envelope: ${envelope}, unanswered: ${unanswered}`);
  for (const failure of result.failures.slice(0, 25)) {
    lines.push(`  FAIL ${failure.request}: ${failure.problem} ${failure.excerpt.replace(/\s+/g, " ")}`);
  }
  if (result.failures.length > 25) lines.push(`  ... and ${result.failures.length - 25} more`);
  return lines;
}
