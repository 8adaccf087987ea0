// WebDAV in process (the primary's fetch with a real libSQL file and R2 bucket, a clock the test
// moves): app passwords (shown once, stored as SHA-256 only, revoked per owner), lock timeouts that
// end locks when they run out, refreshes, and the If header's grammar.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../shared/crypto.ts";
import { appPasswords, davLocks } from "../../worker/db/schema.ts";
import { parseIf } from "../../worker/webdav/if-header.ts";
import { expireLocks } from "../../worker/webdav/locks.ts";
import { errorCode } from "../support/envelopes.ts";
import { bindUserToPolicy } from "../support/groups.ts";
import { createHarness, type Harness, ORIGIN, seedPolicy, seedUser } from "../support/primary.ts";
import { seedFile, servicesOf } from "./files/helpers.ts";

let h: Harness;
let clock = new Date("2026-06-01T12:00:00Z");
const now = () => clock;

beforeAll(async () => {
  h = await createHarness({ now });
});
afterAll(async () => {
  await h?.close();
});

async function davUser() {
  const { user, token } = await seedUser(h);
  await bindUserToPolicy(h.db, user, await seedPolicy(h, { driver: "primary" }));
  const created = await h.call("POST", "/api/v1/auth/app-passwords", { token, body: { name: "laptop" } });
  const { id, password } = (await created.json()) as { id: string; password: string };
  const authorization = `Basic ${btoa(`${user.username}:${password}`)}`;
  const dav = (
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: BodyInit } = {},
  ) =>
    h.app.fetch(
      new Request(`${ORIGIN}${path}`, {
        method,
        headers: { authorization, ...init.headers },
        ...(init.body === undefined ? {} : { body: init.body, duplex: "half" }),
      } as RequestInit),
      h.env,
      { waitUntil: (p) => void h.pending.push(p) },
    );
  return { user, token, id, password, dav };
}

const proppatch = `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">1</x></D:prop></D:set></D:propertyupdate>`;

/** A file written straight to the primary store (the in-process R2 binding takes no streamed PUT). */
async function seeded(userId: string, name: string) {
  await seedFile(h, { space: { kind: "user", id: userId }, userId, name });
}

describe("app passwords", () => {
  it("shows the value once, lists without it, and stores only its SHA-256", async () => {
    const { user, token, id, password } = await davUser();
    expect(password).toMatch(/^fap_[A-Za-z0-9_-]{32}$/);
    const list = (await (await h.call("GET", "/api/v1/auth/app-passwords", { token })).json()) as {
      app_passwords: Record<string, unknown>[];
    };
    expect(list.app_passwords).toEqual([
      { id, name: "laptop", read_only: false, last_used_at: null, created_at: expect.any(String) },
    ]);
    const [row] = await h.db.select().from(appPasswords).where(eq(appPasswords.userId, user.id));
    expect(row?.tokenHash).toBe(await sha256Hex(password));
    expect(JSON.stringify(row)).not.toContain(password);
  });

  it("lets only its owner revoke it", async () => {
    const owner = await davUser();
    const other = await seedUser(h);
    const foreign = await h.call("DELETE", `/api/v1/auth/app-passwords/${owner.id}`, { token: other.token });
    expect(foreign.status).toBe(404);
    expect(await errorCode(foreign)).toBe("not_found");
    expect((await owner.dav("PROPFIND", "/dav/", { headers: { depth: "0" } })).status).toBe(207);
    expect(
      (await h.call("DELETE", `/api/v1/auth/app-passwords/${owner.id}`, { token: owner.token })).status,
    ).toBe(204);
    expect((await owner.dav("PROPFIND", "/dav/", { headers: { depth: "0" } })).status).toBe(401);
  });
});

describe("locks", () => {
  const lockBody = `<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>tests</D:owner></D:lockinfo>`;

  it("caps the timeout asked for and ends the lock when it runs out", async () => {
    const { user, dav } = await davUser();
    await seeded(user.id, "doc.txt");
    const locked = await dav("LOCK", "/dav/doc.txt", {
      headers: { timeout: "Second-99999" },
      body: lockBody,
    });
    expect(locked.status).toBe(200);
    expect(await locked.text()).toContain("<D:timeout>Second-3600</D:timeout>");
    expect((await dav("PROPPATCH", "/dav/doc.txt", { body: proppatch })).status).toBe(423);
    clock = new Date(clock.getTime() + 3601 * 1000);
    expect((await dav("PROPPATCH", "/dav/doc.txt", { body: proppatch })).status).toBe(207);
    await expireLocks(servicesOf(h, now));
    expect(await h.db.select().from(davLocks)).toEqual([]);
  });

  it("refreshes a lock named in If, and refuses a refresh that names none", async () => {
    const { user, dav } = await davUser();
    await seeded(user.id, "refresh.txt");
    const locked = await dav("LOCK", "/dav/refresh.txt", {
      headers: { timeout: "Second-60" },
      body: lockBody,
    });
    const token = /<([^>]+)>/.exec(locked.headers.get("lock-token") ?? "")?.[1];
    clock = new Date(clock.getTime() + 50 * 1000);
    const refreshed = await dav("LOCK", "/dav/refresh.txt", {
      headers: { timeout: "Second-60", if: `(<${token}>)` },
    });
    expect(refreshed.status).toBe(200);
    clock = new Date(clock.getTime() + 50 * 1000);
    expect((await dav("PROPPATCH", "/dav/refresh.txt", { body: proppatch })).status).toBe(423);
    const none = await dav("LOCK", "/dav/refresh.txt", { headers: { timeout: "Second-60" } });
    expect(none.status).toBe(412);
  });
});

describe("the If header", () => {
  it("parses untagged and tagged lists with Not, state tokens and entity tags", () => {
    expect(parseIf('(<opaquelocktoken:a> ["e1"]) (Not <DAV:no-lock>)')).toEqual([
      {
        resource: null,
        conditions: [
          { not: false, token: "opaquelocktoken:a" },
          { not: false, etag: '"e1"' },
        ],
      },
      { resource: null, conditions: [{ not: true, token: "DAV:no-lock" }] },
    ]);
    expect(parseIf("<http://h/dav/a> (<t1>) <http://h/dav/b> (<t2>)")).toEqual([
      { resource: "http://h/dav/a", conditions: [{ not: false, token: "t1" }] },
      { resource: "http://h/dav/b", conditions: [{ not: false, token: "t2" }] },
    ]);
  });

  it("refuses malformed headers, but leaves out a last list cut off after complete ones", () => {
    for (const bad of ["", "<t1>", "(<t1>", "()", "(foo)", "<http://h/a>"]) {
      expect(() => parseIf(bad), bad).toThrow(/malformed/);
    }
    expect(parseIf('(<t1> ["e"]) (Not <DAV:no-lock> ["e')).toEqual([
      {
        resource: null,
        conditions: [
          { not: false, token: "t1" },
          { not: false, etag: '"e"' },
        ],
      },
    ]);
  });
});
