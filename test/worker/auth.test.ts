import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../shared/crypto.ts";
import { clientAddress } from "../../worker/accounts/rate-limit.ts";
import { createSession } from "../../worker/accounts/sessions.ts";
import { loginAttempts, sessions, users } from "../../worker/db/schema.ts";
import { errorCode } from "../support/envelopes.ts";
import { browserLogin, createHarness, type Harness, seedUser, TEST_PASSWORD } from "../support/primary.ts";

describe("accounts: login, sessions, tokens", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it("stores passwords as PBKDF2 hashes, never in clear", async () => {
    const { user } = await seedUser(h);
    const [row] = await h.db.select().from(users).where(eq(users.id, user.id));
    expect(row?.passwordHash).toMatch(/^pbkdf2-sha256\$100000\$[\w-]{22}\$[\w-]{43}$/);
    expect(row?.passwordHash).not.toContain(TEST_PASSWORD);
  });

  it("logs a browser in with an HttpOnly, SameSite=Lax cookie stored only as a hash", async () => {
    const { user } = await seedUser(h);
    const response = await h.call("POST", "/api/v1/auth/login", {
      body: { username: user.username.toUpperCase(), password: TEST_PASSWORD },
    });
    expect(response.status).toBe(200);
    const cookie = response.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^flotilla_session=fls_[\w-]{43};/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Lax");
    const body = (await response.json()) as { user: { id: string }; token?: string };
    expect(body.user.id).toBe(user.id);
    expect(body.token).toBeUndefined();
    const token = cookie.split(";")[0]!.split("=")[1]!;
    const stored = await h.db.select().from(sessions).where(eq(sessions.userId, user.id));
    expect(stored.map((s) => s.tokenHash)).toContain(await sha256Hex(token));
    expect(JSON.stringify(stored)).not.toContain(token);
  });

  it("marks the cookie Secure over HTTPS and on loopback, not over plain HTTP on a LAN address", async () => {
    const { user } = await seedUser(h);
    const cases: { url: string; headers: Record<string, string>; secure: boolean }[] = [
      { url: "https://drive.example/api/v1/auth/login", headers: {}, secure: true },
      {
        url: "http://drive.example/api/v1/auth/login",
        headers: { "x-forwarded-proto": "https" },
        secure: true,
      },
      { url: "http://127.0.0.1:8787/api/v1/auth/login", headers: {}, secure: true },
      { url: "http://localhost:8787/api/v1/auth/login", headers: {}, secure: true },
      { url: "http://192.168.1.20:8787/api/v1/auth/login", headers: {}, secure: false },
    ];
    for (const { url, headers, secure } of cases) {
      const response = await h.app.fetch(
        new Request(url, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json", origin: new URL(url).origin },
          body: JSON.stringify({ username: user.username, password: TEST_PASSWORD }),
        }),
        h.env,
        { waitUntil: (promise: Promise<unknown>) => void h.pending.push(promise) },
      );
      expect(response.status, url).toBe(200);
      const cookie = response.headers.get("set-cookie") ?? "";
      expect(cookie, url).toContain("HttpOnly");
      expect(cookie, url).toContain("SameSite=Lax");
      expect(/;\s*Secure(;|$)/.test(cookie), url).toBe(secure);
    }
  });

  it("gives API clients a bearer token that works without Origin", async () => {
    const { user } = await seedUser(h);
    const response = await h.call("POST", "/api/v1/auth/login", {
      body: { username: user.username, password: TEST_PASSWORD, client: "api" },
      origin: null,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("set-cookie")).toBeNull();
    const { token } = (await response.json()) as { token: string };
    expect(token).toMatch(/^flt_/);
    const created = await h.call("POST", "/api/v1/auth/tokens", {
      token,
      origin: null,
      body: { name: "script" },
    });
    expect(created.status).toBe(201);
  });

  it("refuses wrong passwords and unknown users with the same code", async () => {
    const { user } = await seedUser(h);
    const wrong = await h.call("POST", "/api/v1/auth/login", {
      body: { username: user.username, password: "nope-nope-nope" },
    });
    const unknown = await h.call("POST", "/api/v1/auth/login", {
      body: { username: "ghost-user", password: "nope-nope-nope" },
    });
    expect(wrong.status).toBe(401);
    expect(await errorCode(wrong)).toBe("invalid_credentials");
    expect(unknown.status).toBe(401);
    expect(await errorCode(unknown)).toBe("invalid_credentials");
  });

  it("rate limits failed logins per address and username with Retry-After, and the window expires", async () => {
    const { user } = await seedUser(h);
    const attempt = (password: string, ip = "203.0.113.7") =>
      h.call("POST", "/api/v1/auth/login", {
        body: { username: user.username, password },
        headers: { "cf-connecting-ip": ip },
      });
    for (let i = 0; i < 5; i++) expect((await attempt("wrong-password")).status).toBe(401);
    const blocked = await attempt(TEST_PASSWORD);
    expect(blocked.status).toBe(429);
    expect(await errorCode(blocked)).toBe("rate_limited");
    expect(Number(blocked.headers.get("retry-after"))).toBe(900);
    expect((await attempt(TEST_PASSWORD, "198.51.100.2")).status).toBe(200);
    // The window's 15 minutes pass: the recorded attempts move that far back (the worker's own clock
    // runs on, inside workerd too).
    const window = 15 * 60 * 1000 + 1;
    await h.client.execute({
      sql: "update login_attempts set window_started_at = window_started_at - ?, locked_until = locked_until - ? where key like ?",
      args: [window, window, `%user:${user.username}`],
    });
    expect((await attempt(TEST_PASSWORD)).status).toBe(200);
  });

  it("takes the client address from a configured trusted proxy's header, its last entry only", async () => {
    const proxied = await createHarness({}, { bindings: { TRUSTED_PROXY_HEADER: "X-Forwarded-For" } });
    try {
      const { user } = await seedUser(proxied);
      // Every request reaches the primary from the proxy; the client's own header words come first.
      const attempt = (password: string, forwardedFor: string) =>
        proxied.call("POST", "/api/v1/auth/login", {
          body: { username: user.username, password },
          headers: { "x-forwarded-for": forwardedFor, "cf-connecting-ip": "10.0.0.1" },
        });
      for (let i = 0; i < 5; i++) {
        expect((await attempt("wrong-password", `198.51.100.${i}, 203.0.113.9`)).status).toBe(401);
      }
      expect((await attempt(TEST_PASSWORD, "198.51.100.77, 203.0.113.9")).status).toBe(429);
      expect((await attempt(TEST_PASSWORD, "203.0.113.10")).status).toBe(200);
    } finally {
      await proxied.close();
    }
  });

  it("keys client addresses: IPv4 as is, IPv6 by its /64, anything else as unknown", () => {
    const key = (value: string | null, header?: string) =>
      clientAddress(
        new Request("http://primary.test/", {
          headers: value === null ? {} : { [header ?? "cf-connecting-ip"]: value },
        }),
        { TRUSTED_PROXY_HEADER: header },
      );
    expect(key("203.0.113.7")).toBe("203.0.113.7");
    expect(key("203.0.113.7:51234", "x-real-ip")).toBe("203.0.113.7");
    expect(key("::ffff:203.0.113.7")).toBe("203.0.113.7");
    expect(key("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(key("2001:0db8:0001:0002:ffff:ffff:ffff:ffff")).toBe("2001:db8:1:2::/64");
    expect(key("[2001:db8:1:2::9]:443", "x-forwarded-for")).toBe("2001:db8:1:2::/64");
    expect(key("2001:db8::1")).toBe("2001:db8:0:0::/64");
    for (const bad of ["300.1.1.1", "not-an-ip", "1::2::3", "1:2:3:4:5:6:7:8:9", "", "' or 1=1"]) {
      expect(key(bad), bad).toBe("unknown");
    }
    expect(key(null)).toBe("unknown");
    expect(key("192.0.2.1, 198.51.100.4", "x-forwarded-for")).toBe("198.51.100.4");
  });

  it("caps failures per username across addresses", async () => {
    const { user } = await seedUser(h);
    for (let i = 0; i < 20; i++) {
      const r = await h.call("POST", "/api/v1/auth/login", {
        body: { username: user.username, password: "wrong-password" },
        headers: { "cf-connecting-ip": `192.0.2.${i}` },
      });
      expect(r.status).toBe(401);
    }
    const blocked = await h.call("POST", "/api/v1/auth/login", {
      body: { username: user.username, password: TEST_PASSWORD },
      headers: { "cf-connecting-ip": "192.0.2.200" },
    });
    expect(blocked.status).toBe(429);
    const rows = await h.db
      .select()
      .from(loginAttempts)
      .where(eq(loginAttempts.key, `user:${user.username}`));
    expect(rows[0]?.failures).toBe(20);
  });

  it("refuses cookie-authenticated writes from another origin or without Origin", async () => {
    const { user } = await seedUser(h);
    const cookie = await browserLogin(h, user.username);
    const foreign = await h.call("POST", "/api/v1/auth/tokens", {
      cookie,
      origin: "https://evil.example",
      body: { name: "x" },
    });
    expect(foreign.status).toBe(403);
    expect(await errorCode(foreign)).toBe("origin_mismatch");
    const missing = await h.call("POST", "/api/v1/auth/tokens", {
      cookie,
      origin: null,
      body: { name: "x" },
    });
    expect(missing.status).toBe(403);
    const same = await h.call("POST", "/api/v1/auth/tokens", { cookie, body: { name: "x" } });
    expect(same.status).toBe(201);
    const read = await h.call("GET", "/api/v1/auth/me", { cookie, origin: null });
    expect(read.status).toBe(200);
  });

  it("refuses a login posted from a foreign origin (login CSRF)", async () => {
    const { user } = await seedUser(h);
    const response = await h.call("POST", "/api/v1/auth/login", {
      body: { username: user.username, password: TEST_PASSWORD },
      origin: "https://evil.example",
    });
    expect(response.status).toBe(403);
  });

  it("logs out: the cookie is cleared and the session no longer works", async () => {
    const { user } = await seedUser(h);
    const cookie = await browserLogin(h, user.username);
    const out = await h.call("POST", "/api/v1/auth/logout", { cookie });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toContain("Max-Age=0");
    const after = await h.call("GET", "/api/v1/auth/me", { cookie });
    expect(after.status).toBe(401);
    expect(await errorCode(after)).toBe("unauthorized");
  });

  it("answers an expired session with session_expired and deletes it", async () => {
    const { user } = await seedUser(h);
    const old = await createSession(h.db, {
      userId: user.id,
      kind: "api",
      now: new Date(Date.now() - 10_000),
      ttlMs: 1000,
    });
    const response = await h.call("GET", "/api/v1/auth/me", { token: old.token });
    expect(response.status).toBe(401);
    expect(await errorCode(response)).toBe("session_expired");
    expect(await h.db.select().from(sessions).where(eq(sessions.id, old.id))).toHaveLength(0);
  });

  it("lists and revokes API tokens without ever showing their values", async () => {
    const { token } = await seedUser(h);
    const created = (await (
      await h.call("POST", "/api/v1/auth/tokens", { token, body: { name: "backup" } })
    ).json()) as {
      id: string;
      token: string;
    };
    const list = await (await h.call("GET", "/api/v1/auth/tokens", { token })).text();
    expect(list).toContain("backup");
    expect(list).not.toContain(created.token);
    expect((await h.call("DELETE", `/api/v1/auth/tokens/${created.id}`, { token })).status).toBe(204);
    expect((await h.call("GET", "/api/v1/auth/me", { token: created.token })).status).toBe(401);
    expect((await h.call("DELETE", `/api/v1/auth/tokens/${created.id}`, { token })).status).toBe(404);
  });

  it("does not let a user revoke someone else's token", async () => {
    const a = await seedUser(h);
    const b = await seedUser(h);
    const created = (await (
      await h.call("POST", "/api/v1/auth/tokens", { token: a.token, body: { name: "mine" } })
    ).json()) as {
      id: string;
      token: string;
    };
    expect((await h.call("DELETE", `/api/v1/auth/tokens/${created.id}`, { token: b.token })).status).toBe(
      404,
    );
    expect((await h.call("GET", "/api/v1/auth/me", { token: created.token })).status).toBe(200);
  });

  it("changes the caller's own password, ending other sessions but not the current one", async () => {
    const { user, token } = await seedUser(h);
    const other = await browserLogin(h, user.username);
    const wrong = await h.call("POST", "/api/v1/auth/password", {
      token,
      body: { current_password: "not my password", new_password: "brand new password" },
    });
    expect(await errorCode(wrong)).toBe("invalid_credentials");
    const changed = await h.call("POST", "/api/v1/auth/password", {
      token,
      body: { current_password: TEST_PASSWORD, new_password: "brand new password" },
    });
    expect(changed.status).toBe(204);
    expect((await h.call("GET", "/api/v1/auth/me", { token })).status).toBe(200);
    expect((await h.call("GET", "/api/v1/auth/me", { cookie: other })).status).toBe(401);
    expect(await browserLogin(h, user.username, "brand new password")).toMatch(/^flotilla_session=/);
  });

  it("rejects a malformed Authorization header", async () => {
    const response = await h.call("GET", "/api/v1/auth/me", { headers: { authorization: "Basic abc" } });
    expect(response.status).toBe(401);
  });

  it("answers invalid JSON and invalid fields with clear envelopes", async () => {
    const bad = await h.app.fetch(
      new Request("http://primary.test/api/v1/auth/login", {
        method: "POST",
        headers: { "content-type": "application/json", origin: "http://primary.test" },
        body: "{not json",
      }),
      h.env,
      { waitUntil: () => {} },
    );
    expect(bad.status).toBe(400);
    expect(await errorCode(bad)).toBe("bad_request");
    const invalid = await h.call("POST", "/api/v1/auth/login", { body: { username: "x" } });
    expect(invalid.status).toBe(400);
    const body = (await invalid.json()) as { error: { code: string; details: { path: string }[] } };
    expect(body.error.code).toBe("validation_failed");
    expect(body.error.details.map((d) => d.path)).toContain("password");
  });
});
