// Owns starting the single-box stack for a test: startStack with every port 0 and its data under the
// test's own directory, the scheduled tasks left to the test (it runs them when it means to), and
// logging in over HTTP for an API token.
import { join } from "node:path";
import { type Stack, startStack } from "../../scripts/stack/stack.ts";

export async function startTestStackIn(
  dir: string,
  admin: { username: string; password: string },
  log: (line: string) => void = () => {},
): Promise<Stack> {
  return startStack(
    {
      dataDir: join(dir, "data"),
      host: "127.0.0.1",
      primaryPort: 0,
      libsqlPort: 0,
      followerPort: 0,
      adminUsername: admin.username,
      adminPassword: admin.password,
    },
    { log, scheduledIntervalMs: 3_600_000 },
  );
}

/** An API token for the account (POST /auth/login with client "api"); throws with the refusal. */
export async function apiToken(primaryUrl: string, username: string, password: string): Promise<string> {
  const response = await fetch(`${primaryUrl}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password, client: "api" }),
  });
  const body = (await response.json()) as { token?: string };
  if (!body.token) throw new Error(`login failed: ${response.status} ${JSON.stringify(body)}`);
  return body.token;
}
