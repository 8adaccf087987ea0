import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomId } from "../../shared/crypto.ts";
import {
  followerNodes,
  ingressTargets,
  storagePolicies,
  teamMembers,
  teams,
} from "../../worker/db/schema.ts";
import { secretContext } from "../../worker/followers/client.ts";
import { encryptSecret } from "../../worker/secrets.ts";
import { bindUserToPolicy } from "../support/groups.ts";
import { ORIGIN, seedS3Policy, seedUser, TEST_PASSWORD, TEST_SECRET, unique } from "../support/primary.ts";
import { type CountingHarness, createCountingHarness, type RoundTrip } from "../support/round-trips.ts";
import { startS3rver } from "../support/s3rver.ts";
import { type UploadClient, uploadClient } from "../support/upload-client.ts";

const MiB = 1024 * 1024;

describe("database round trips per API request", () => {
  let h: CountingHarness;
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let token: string;
  let username: string;
  let teamId: string;
  let c: UploadClient;
  const ctx = { waitUntil: (promise: Promise<unknown>) => void h.pending.push(promise) };

  const trips = async (run: () => Promise<Response>, status = 200): Promise<RoundTrip[]> => {
    const measured = await h.measure(run);
    if (measured.response.status !== status) {
      throw new Error(
        `expected ${status}, got ${measured.response.status}: ${await measured.response.text()}`,
      );
    }
    return measured.trips;
  };
  const get = (path: string) => h.call("GET", path, { token });

  beforeAll(async () => {
    s3 = await startS3rver(["round-trips"]);
    h = await createCountingHarness({ fetch: (input, init) => fetch(input, init) });
    const policyId = await seedS3Policy(h, {
      endpoint: s3.endpoint,
      bucket: "round-trips",
      fields: { chunkSize: 5 * MiB, maxFileSize: 40 * MiB, uploadMode: "relay_stream" },
    });
    const seeded = await seedUser(h);
    token = seeded.token;
    username = seeded.user.username;
    const groupId = await bindUserToPolicy(h.db, seeded.user, policyId);
    teamId = randomId();
    await h.db.insert(teams).values({ id: teamId, name: unique("team"), policyGroupId: groupId });
    await h.db.insert(teamMembers).values({ teamId, userId: seeded.user.id });
    c = uploadClient((path, init) => h.app.fetch(new Request(`${ORIGIN}${path}`, init), h.env, ctx), token);
    // The first use of a token records when it was last used (in the background, once in a while).
    await trips(() => get("/api/v1/auth/me"));
  });
  afterAll(async () => {
    await h?.close();
    await s3?.stop();
  });

  it("authenticates and answers auth/me in one round trip", async () => {
    expect(await trips(() => get("/api/v1/auth/me"))).toHaveLength(1);
  });

  it("logs in within two round trips", async () => {
    const login = () =>
      h.call("POST", "/api/v1/auth/login", { body: { username, password: TEST_PASSWORD, client: "api" } });
    const made = await trips(login);
    expect(made.length, JSON.stringify(made)).toBeLessThanOrEqual(2);
  });

  it("lists a folder in one round trip, with authentication, in the personal space and in a team's", async () => {
    const folder = await c.ok<{ id: string }>(
      await h.call("POST", "/api/v1/spaces/me/folders", { token, body: { name: unique("f") } }),
      201,
    );
    const root = await trips(() => get("/api/v1/spaces/me/items"));
    expect(root, JSON.stringify(root)).toHaveLength(1);
    expect(root[0]?.join(" ")).toMatch(/from "sessions".*from "folders".*from "files"/s);
    expect((await trips(() => get(`/api/v1/spaces/me/items?folder_id=${folder.id}`))).length).toBe(1);
    expect((await trips(() => get(`/api/v1/spaces/${teamId}/items`))).length).toBe(1);
  });

  it("starts an upload in two round trips: authentication with the policy resolution, the session's insert", async () => {
    const init = await trips(() => c.init({ name: `${unique("u")}.bin`, size: 100 }), 201);
    expect(init.length, JSON.stringify(init)).toBeLessThanOrEqual(2);
    expect(init[0]?.join(" "), JSON.stringify(init)).toMatch(/from "sessions".*from "policy_group_rules"/s);
    // Into a folder too: the folder's check goes with the resolution.
    const folder = await c.ok<{ id: string }>(
      await h.call("POST", "/api/v1/spaces/me/folders", { token, body: { name: unique("f") } }),
      201,
    );
    const inFolder = await trips(
      () => c.init({ name: `${unique("u")}.bin`, size: 100, folder_id: folder.id }),
      201,
    );
    expect(inFolder.length, JSON.stringify(inFolder)).toBeLessThanOrEqual(2);
    // And into a team's space, whose membership comes with the session.
    const inTeam = await trips(() => c.init({ name: `${unique("u")}.bin`, size: 100 }, teamId), 201);
    expect(inTeam.length, JSON.stringify(inTeam)).toBeLessThanOrEqual(2);
  });

  it("starts an upload to a follower in two round trips too: its node and default target come with the resolution", async () => {
    const nodeId = randomId();
    await h.db.insert(followerNodes).values({
      id: nodeId,
      name: unique("node"),
      // Never dialled: a relayed upload of one part reaches the follower only with its bytes.
      baseUrl: "http://127.0.0.1:9",
      enrollmentStatus: "completed",
      keyId: "key-1",
      secretEnc: await encryptSecret(TEST_SECRET, "node secret", secretContext(nodeId)),
    });
    await h.db.insert(ingressTargets).values({
      id: randomId(),
      nodeId,
      targetKey: unique("target"),
      name: "default",
      driver: "local",
      isDefault: true,
    });
    const policyId = randomId();
    await h.db
      .insert(storagePolicies)
      .values({ id: policyId, name: unique("remote"), driver: "remote", nodeId, uploadMode: "relay_stream" });
    const follower = await seedUser(h);
    await bindUserToPolicy(h.db, follower.user, policyId);
    const remote = uploadClient(
      (path, init) => h.app.fetch(new Request(`${ORIGIN}${path}`, init), h.env, ctx),
      follower.token,
    );
    await trips(() => h.call("GET", "/api/v1/auth/me", { token: follower.token }));
    const init = await trips(() => remote.init({ name: `${unique("u")}.bin`, size: 100 }), 201);
    expect(init.length, JSON.stringify(init)).toBeLessThanOrEqual(2);
  });

  it("stores a relay part in three round trips and completes in three", async () => {
    const upload = await c.ok<{ id: string }>(await c.init({ name: `${unique("u")}.bin`, size: 3 }), 201);
    // Authentication with the session, this part's row and its storage; the part's claim; its record.
    const part = await trips(() => c.putPart(upload.id, 1, new Uint8Array([1, 2, 3])));
    expect(part.length, JSON.stringify(part)).toBeLessThanOrEqual(3);
    expect(part[0]?.join(" "), JSON.stringify(part)).toMatch(/from "sessions".*from "upload_parts"/s);
    // Authentication; the completing claim with all it reads; the file, the session's close and the
    // part claims' removal together.
    const complete = await trips(() => c.complete(upload.id));
    expect(complete.length, JSON.stringify(complete)).toBeLessThanOrEqual(3);
    // A retry answers the same file from the first of its batches.
    const again = await trips(() => c.complete(upload.id));
    expect(again.length, JSON.stringify(again)).toBeLessThanOrEqual(2);
  });

  it("downloads a file in one round trip: authentication with the file, its policy and node", async () => {
    const upload = await c.ok<{ id: string }>(await c.init({ name: `${unique("d")}.bin`, size: 3 }), 201);
    await c.ok(await c.putPart(upload.id, 1, new Uint8Array([4, 5, 6])));
    const done = await c.ok<{ file: { id: string } }>(await c.complete(upload.id));
    const content = `/api/v1/spaces/me/files/${done.file.id}/content`;
    const measured = await h.measure(() => get(content));
    expect(measured.response.status).toBe(200);
    expect(new Uint8Array(await measured.response.arrayBuffer())).toEqual(new Uint8Array([4, 5, 6]));
    expect(measured.trips, JSON.stringify(measured.trips)).toHaveLength(1);
    expect(measured.trips[0]?.join(" ")).toMatch(/from "sessions".*from "files".*from "storage_policies"/s);
    // In a team's space the membership comes with the session; a missing file is 404 all the same.
    expect(
      (await trips(() => get(`/api/v1/spaces/${teamId}/files/${done.file.id}/content`), 404)).length,
    ).toBe(1);
  });

  it("creates a share link in two round trips: authentication with its file or folder, the link's insert", async () => {
    const upload = await c.ok<{ id: string }>(await c.init({ name: `${unique("s")}.bin`, size: 1 }), 201);
    await c.ok(await c.putPart(upload.id, 1, new Uint8Array([7])));
    const done = await c.ok<{ file: { id: string } }>(await c.complete(upload.id));
    const share = (body: object, space = "me") =>
      h.call("POST", `/api/v1/spaces/${space}/shares`, { token, body });
    const file = await trips(() => share({ file_id: done.file.id }), 201);
    expect(file, JSON.stringify(file)).toHaveLength(2);
    expect(file[0]?.join(" ")).toMatch(/from "sessions".*from "files"/s);
    expect(file[1]?.join(" ")).toMatch(/insert into "shares"/);
    const { id } = await c.ok<{ id: string }>(
      await h.call("POST", "/api/v1/spaces/me/folders", { token, body: { name: unique("sf") } }),
      201,
    );
    const forFolder = await trips(() => share({ folder_id: id }), 201);
    expect(forFolder, JSON.stringify(forFolder)).toHaveLength(2);
    expect(forFolder[0]?.join(" ")).toMatch(/from "sessions".*from "folders"/s);
    // A file of another space is not found in the first round trip, and nothing is written.
    const elsewhere = await trips(() => share({ file_id: done.file.id }, teamId), 404);
    expect(elsewhere, JSON.stringify(elsewhere)).toHaveLength(1);
  });

  it("changes the password after one round trip of reads", async () => {
    const other = await seedUser(h);
    await trips(() => h.call("GET", "/api/v1/auth/me", { token: other.token }));
    const change = await trips(
      () =>
        h.call("POST", "/api/v1/auth/password", {
          token: other.token,
          body: { current_password: TEST_PASSWORD, new_password: `${TEST_PASSWORD} again` },
        }),
      204,
    );
    // Authentication, the attempt's claim, then the writes of the change itself.
    expect(change[0]?.[0], JSON.stringify(change)).toMatch(/from "sessions"/);
    expect(change[1]?.join(" "), JSON.stringify(change)).toMatch(/insert into "login_attempts"/);
  });
});
