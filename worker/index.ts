// The primary's workerd entry: wires route modules into the app and exposes fetch and scheduled.
// To add a resource: export a `Route[]` from its module under worker/routes/ and add one line to
// `routes` below. Every route declares its access level (public | user | admin) in that table.
import type { ExportedHandler, Response as WorkerResponse } from "@cloudflare/workers-types";
import { randomId } from "../shared/crypto.ts";
import { createApp } from "./app.ts";
import { parseEnv, type RawEnv } from "./env.ts";
import type { Route } from "./http/route.ts";
import { fileStorageRoutes } from "./routes/admin/file-storage.ts";
import { ingressTargetRoutes } from "./routes/admin/ingress-targets.ts";
import { metricsRoutes } from "./routes/admin/metrics.ts";
import { moveRoutes } from "./routes/admin/moves.ts";
import { nodeRoutes } from "./routes/admin/nodes.ts";
import { policyRoutes } from "./routes/admin/policies.ts";
import { policyGroupRoutes } from "./routes/admin/policy-groups.ts";
import { teamRoutes } from "./routes/admin/teams.ts";
import { userRoutes } from "./routes/admin/users.ts";
import { agentRoutes } from "./routes/agent.ts";
import { appPasswordRoutes } from "./routes/app-passwords.ts";
import { authRoutes } from "./routes/auth.ts";
import { enrollmentRoutes } from "./routes/enrollment.ts";
import { fileRoutes } from "./routes/files.ts";
import { healthRoutes } from "./routes/health.ts";
import { openApiRoutes } from "./routes/openapi.ts";
import { publicShareRoutes } from "./routes/public-shares.ts";
import { shareRoutes } from "./routes/shares.ts";
import { trashRoutes } from "./routes/trash.ts";
import { uploadRoutes } from "./routes/uploads.ts";
import { runScheduledTasks } from "./scheduled.ts";
import { createServices } from "./services.ts";

// The Durable Object class wrangler.toml binds as FOLLOWER_CHANNEL.
export { FollowerChannel } from "./followers/channel-object.ts";

export const routes: readonly Route[] = [
  ...healthRoutes,
  ...openApiRoutes(() => routes),
  ...authRoutes,
  ...appPasswordRoutes,
  ...userRoutes,
  ...teamRoutes,
  ...policyGroupRoutes,
  ...uploadRoutes,
  ...nodeRoutes,
  ...ingressTargetRoutes,
  ...policyRoutes,
  ...enrollmentRoutes,
  ...agentRoutes,
  ...fileRoutes,
  ...trashRoutes,
  ...shareRoutes,
  ...publicShareRoutes,
  ...fileStorageRoutes,
  ...metricsRoutes,
  ...moveRoutes,
];

const app = createApp(routes);

export default {
  // workers-types and the DOM lib declare the same runtime Request/Response classes separately.
  fetch: async (request, env, ctx) =>
    (await app.fetch(request as unknown as Request, env, ctx)) as unknown as WorkerResponse,
  scheduled: async (_controller, env, ctx) => {
    const services = createServices(parseEnv(env), ctx, `cron-${randomId()}`);
    await runScheduledTasks(services);
  },
} satisfies ExportedHandler<RawEnv>;
