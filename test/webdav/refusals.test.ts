// WebDAV refusals against the primary inside workerd: every bad request gets a clear status with its
// code in X-Flotilla-Error and nothing is lost or left half-made. Credentials (missing, wrong,
// revoked, an account password instead of an app password, a session cookie, read-only scope, the
// login rate limit), hostile XML, bad names and paths, Destinations elsewhere, folder cycles, the
// policy's size limit, bodies without a length, a follower that is down during GET and PUT, and one
// whose disk is full.
import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basic, type DavStack, type DavUser, startDavStack } from "./stack.ts";

const run = promisify(execFile);

let env: DavStack;

const dav = (
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: BodyInit; user?: DavUser | null } = {},
) => {
  const user = init.user === undefined ? env.user : init.user;
  return fetch(`${env.base}${path}`, {
    method,
    headers: { ...(user ? { authorization: basic(user) } : {}), ...init.headers },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
};

async function refused(response: Response): Promise<{ status: number; code: string | null }> {
  await response.body?.cancel();
  return { status: response.status, code: response.headers.get("x-flotilla-error") };
}

/** A chunked body of `count` pieces of `size` bytes (fetch sends it without a length). */
function chunks(count: number, size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ === count) return controller.close();
      controller.enqueue(new Uint8Array(size).fill(sent));
    },
  });
}

/** A request sent exactly as written (no client-side path normalization). */
function rawRequest(method: string, path: string, headers: Record<string, string>): Promise<number> {
  const url = new URL(env.base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      res.resume();
      res.once("end", () => resolve(res.statusCode ?? 0));
    });
    req.once("error", reject);
    req.end();
  });
}

beforeAll(async () => {
  env = await startDavStack({ maxFileSize: 4 * 1024 * 1024 });
}, 180_000);

afterAll(async () => {
  await env?.close();
});

describe("WebDAV credentials", () => {
  it("challenges a request without credentials with Basic, and answers OPTIONS without them", async () => {
    const response = await dav("PROPFIND", "/dav/", { user: null, headers: { depth: "0" } });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Basic realm="Flotilla WebDAV"/);
    await response.body?.cancel();
    const options = await dav("OPTIONS", "/dav/", { user: null });
    expect(options.status).toBe(200);
    expect(options.headers.get("dav")).toBe("1, 2");
  });

  it("refuses a wrong app password, the account password and a session cookie alike", async () => {
    const wrong = { ...env.user, appPassword: "fap_wrong" };
    expect(await refused(await dav("PROPFIND", "/dav/", { user: wrong, headers: { depth: "0" } }))).toEqual({
      status: 401,
      code: "invalid_credentials",
    });
    const account = { ...env.user, appPassword: env.user.password };
    expect((await refused(await dav("PROPFIND", "/dav/", { user: account }))).status).toBe(401);
    const login = await fetch(`${env.base}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: env.user.username, password: env.user.password }),
    });
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    const withCookie = await dav("PUT", "/dav/cookie.txt", { user: null, headers: { cookie }, body: "x" });
    expect(await refused(withCookie)).toEqual({ status: 401, code: "unauthorized" });
  });

  it("refuses a revoked app password at once", async () => {
    const user = await env.addUser("revoked");
    expect((await refused(await dav("PROPFIND", "/dav/", { user, headers: { depth: "0" } }))).status).toBe(
      207,
    );
    await user.api("DELETE", `/api/v1/auth/app-passwords/${user.appPasswordId}`);
    expect(await refused(await dav("PROPFIND", "/dav/", { user, headers: { depth: "0" } }))).toEqual({
      status: 401,
      code: "invalid_credentials",
    });
  });

  it("counts failures against the login rate limit (429 with Retry-After), never locking the right password out", async () => {
    const user = await env.addUser("guessed");
    const guess = { ...user, appPassword: "fap_guess" };
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await refused(await dav("PROPFIND", "/dav/", { user: guess }))).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const limited = await dav("PROPFIND", "/dav/", { user: guess });
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    await limited.body?.cancel();
    expect((await refused(await dav("PROPFIND", "/dav/", { user, headers: { depth: "0" } }))).status).toBe(
      207,
    );
  });

  it("lets a read-only app password read and nothing else", async () => {
    const writer = await env.addUser("reader");
    await dav("PUT", "/dav/readable.txt", { user: writer, body: "read me" });
    const created = await writer.api<{ password: string }>("POST", "/api/v1/auth/app-passwords", {
      name: "read only",
      read_only: true,
    });
    const reader = { ...writer, appPassword: created.password };
    const read = await dav("GET", "/dav/readable.txt", { user: reader });
    expect(await read.text()).toBe("read me");
    expect(await refused(await dav("PUT", "/dav/readable.txt", { user: reader, body: "no" }))).toEqual({
      status: 403,
      code: "app_password_read_only",
    });
    expect((await refused(await dav("DELETE", "/dav/readable.txt", { user: reader }))).status).toBe(403);
  });
});

describe("WebDAV bad input", () => {
  it("never expands entities: a body with a DTD (external entity, entity bomb) is 400", async () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><D:propfind xmlns:D="DAV:"><D:prop>&x;</D:prop></D:propfind>`;
    expect(await refused(await dav("PROPFIND", "/dav/", { headers: { depth: "0" }, body: xxe }))).toEqual({
      status: 400,
      code: "bad_request",
    });
    const bomb = `<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">&b;</x></D:prop></D:set></D:propertyupdate>`;
    await dav("PUT", "/dav/bomb.txt", { body: "x" });
    expect((await refused(await dav("PROPPATCH", "/dav/bomb.txt", { body: bomb }))).status).toBe(400);
    expect(
      (await refused(await dav("PROPFIND", "/dav/", { headers: { depth: "0" }, body: "<D:propfind" })))
        .status,
    ).toBe(400);
  });

  it("refuses XML bodies over the 1 MiB cap with 413", async () => {
    const big = `<D:propfind xmlns:D="DAV:"><D:prop>${"<D:x/>".repeat(200_000)}</D:prop></D:propfind>`;
    expect(await refused(await dav("PROPFIND", "/dav/", { headers: { depth: "0" }, body: big }))).toEqual({
      status: 413,
      code: "payload_too_large",
    });
  });

  it("refuses names with an encoded slash, NUL or control characters, and dot-segments never leave /dav/", async () => {
    for (const path of ["/dav/a%2Fb.txt", "/dav/nul%00.txt", "/dav/bell%07.txt"]) {
      expect(await refused(await dav("PUT", path, { body: "x" }))).toEqual({
        status: 400,
        code: "name_invalid",
      });
    }
    const encoded = await rawRequest("PUT", "/dav/x/..%2F..%2Fescape.txt", {
      authorization: basic(env.user),
    });
    expect(encoded).toBe(400);
    const dots = await rawRequest("PUT", "/dav/a/../../api/v1/escape.txt", {
      authorization: basic(env.user),
      "content-length": "0",
    });
    expect(dots).not.toBe(201);
    const root = await (await dav("PROPFIND", "/dav/", { headers: { depth: "1" } })).text();
    expect(root).not.toContain("escape.txt");
  });

  it("refuses a Destination on another host (502) or outside /dav/ (403), and a folder into itself (409)", async () => {
    await dav("MKCOL", "/dav/box");
    const foreign = await dav("MOVE", "/dav/box", {
      headers: { destination: "http://elsewhere.example/dav/box2" },
    });
    expect(await refused(foreign)).toEqual({ status: 502, code: "destination_foreign" });
    const outside = await dav("COPY", "/dav/box", { headers: { destination: `${env.base}/api/v1/box` } });
    expect((await refused(outside)).status).toBe(403);
    const inside = await dav("MOVE", "/dav/box", { headers: { destination: `${env.base}/dav/box/inner` } });
    expect(await refused(inside)).toEqual({ status: 409, code: "folder_cycle" });
    expect((await refused(await dav("PROPFIND", "/dav/box", { headers: { depth: "0" } }))).status).toBe(207);
  });

  it("answers PROPFIND Depth infinity with propfind-finite-depth, and missing paths with 404", async () => {
    const infinite = await dav("PROPFIND", "/dav/", { headers: { depth: "infinity" } });
    expect(infinite.status).toBe(403);
    expect(await infinite.text()).toContain("<D:propfind-finite-depth/>");
    expect(await refused(await dav("PROPFIND", "/dav/nowhere", { headers: { depth: "0" } }))).toEqual({
      status: 404,
      code: "not_found",
    });
    const patch = `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">1</x></D:prop></D:set></D:propertyupdate>`;
    expect((await refused(await dav("PROPPATCH", "/dav/nowhere", { body: patch }))).status).toBe(404);
    expect((await refused(await dav("PUT", "/dav/no/parent.txt", { body: "x" }))).status).toBe(409);
  });

  it("refuses a PUT over the policy's size limit (413), and an unsized body too long for it (411); nothing appears", async () => {
    const tooBig = new Uint8Array(4 * 1024 * 1024 + 1);
    expect(await refused(await dav("PUT", "/dav/too-big.bin", { body: tooBig }))).toEqual({
      status: 413,
      code: "file_too_large",
    });
    // No rule here takes files of any size (the only policy has a 4 MiB limit): a chunked body longer
    // than one unsized part cannot be routed, and is refused with 411.
    const long = await fetch(`${env.base}/dav/unsized.bin`, {
      method: "PUT",
      headers: { authorization: basic(env.user) },
      body: chunks(9, 1024 * 1024),
      duplex: "half",
    } as RequestInit);
    expect(await refused(long)).toEqual({ status: 411, code: "length_required" });
    // A short one is read whole first, so its size is known and it is routed by it.
    const short = await fetch(`${env.base}/dav/short.txt`, {
      method: "PUT",
      headers: { authorization: basic(env.user) },
      body: chunks(1, 8),
      duplex: "half",
    } as RequestInit);
    expect(short.status).toBe(201);
    const root = await (await dav("PROPFIND", "/dav/", { headers: { depth: "1" } })).text();
    expect(root).not.toContain("too-big.bin");
    expect(root).not.toContain("unsized.bin");
    expect(root).toContain("short.txt");
  });
});

describe("WebDAV with the follower down", () => {
  it("answers GET and PUT with a coded 502 at once, and leaves no partial file", async () => {
    await dav("PUT", "/dav/on-follower.txt", { body: "remote bytes" });
    await env.stopFollower();
    try {
      expect(await refused(await dav("GET", "/dav/on-follower.txt"))).toEqual({
        status: 502,
        code: "storage_unavailable",
      });
      expect(await refused(await dav("PUT", "/dav/while-down.txt", { body: "lost?" }))).toEqual({
        status: 502,
        code: "storage_unavailable",
      });
      const root = await (await dav("PROPFIND", "/dav/", { headers: { depth: "1" } })).text();
      expect(root).not.toContain("while-down.txt");
    } finally {
      await env.startFollower();
    }
    expect(await (await dav("GET", "/dav/on-follower.txt")).text()).toBe("remote bytes");
  });
});

describe("WebDAV with the follower's disk full", () => {
  // For real: the follower's default target is moved onto a 1 MiB tmpfs mounted for this test (the
  // suite runs as root, as the agent's own disk-full test does).
  it("answers a PUT the follower has no room for with 507 storage_full, and no file appears", async () => {
    const ingressRoot = join(env.dir, "data", "follower-1", "managed-ingress");
    const mount = join(ingressRoot, "small");
    await mkdir(mount, { recursive: true });
    await run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mount]);
    const targets = `/api/v1/admin/nodes/${env.ids.nodeId}/ingress-targets`;
    const { ingress_targets } = await env.admin<{ ingress_targets: { id: string; name: string }[] }>(
      "GET",
      targets,
    );
    const local = ingress_targets.find((t) => t.name === "default-local")!;
    try {
      const small = await env.admin<{ state: string }>("POST", targets, {
        name: "small-disk",
        driver: "local",
        base_path: "small",
        is_default: true,
      });
      expect(small.state).toBe("applied");
      expect(
        await refused(await dav("PUT", "/dav/no-room.bin", { body: new Uint8Array(3 * 1024 * 1024) })),
      ).toEqual({ status: 507, code: "storage_full" });
      const root = await (await dav("PROPFIND", "/dav/", { headers: { depth: "1" } })).text();
      expect(root).not.toContain("no-room.bin");
    } finally {
      await env.admin("PATCH", `${targets}/${local.id}`, { is_default: true });
      await run("umount", [mount]).catch(() => undefined);
    }
    expect((await dav("PUT", "/dav/room-again.bin", { body: new Uint8Array(3 * 1024 * 1024) })).status).toBe(
      201,
    );
  });
});
