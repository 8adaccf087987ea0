// A share link's unlock token runs out: the app's clock moves past the token's lifetime in process
// (node-only, vitest.config.ts). The rest of the share links suite is in shares.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness, seedUser } from "../../support/primary.ts";
import { json, seedFile } from "./helpers.ts";

describe("share unlock tokens", () => {
  let h: Harness;
  let clock = Date.now();

  beforeAll(async () => {
    h = await createHarness({ now: () => new Date(clock) });
  });
  afterAll(async () => {
    await h.close();
  });

  it("stop unlocking once their lifetime is over", async () => {
    const alice = await seedUser(h);
    const file = await seedFile(h, {
      space: { kind: "user", id: alice.user.id },
      userId: alice.user.id,
      name: "l.txt",
    });
    const created = await json<{ token: string }>(
      await h.call("POST", "/api/v1/spaces/me/shares", {
        token: alice.token,
        body: { file_id: file.id, password: "open sesame" },
      }),
      201,
    );
    const ok = await h.call("POST", `/api/v1/public/shares/${created.token}/unlock`, {
      body: { password: "open sesame" },
    });
    const { unlock_token } = (await ok.json()) as { unlock_token: string };
    const content = () =>
      h.call("GET", `/api/v1/public/shares/${created.token}/content`, {
        headers: { "x-share-unlock": unlock_token },
      });
    expect((await content()).status).toBe(200);
    clock += 2 * 3600 * 1000;
    expect((await content()).status).toBe(401);
  });
});
