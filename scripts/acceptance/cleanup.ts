// Owns removing what one walk combination created, best effort over everything: files purged (and
// their objects checked gone from the ingress dir or bucket), team deleted, test user disabled and
// unbound, group and policy deleted. One failure does not stop the rest; all are reported together.
import type { Policy, Target, Team } from "./admin.ts";
import { type Api, ApiError } from "./api.ts";
import type { AcceptanceConfig, TargetKind } from "./config.ts";
import { purge } from "./files.ts";
import { goneFromBucket, goneFromIngressDir, type StorageCheck } from "./storage.ts";
import type { FileOut } from "./upload.ts";

export interface Created {
  config: AcceptanceConfig;
  kind: TargetKind;
  policy: Policy | undefined;
  target: Target | undefined;
  user: { user: { id: string } } | undefined;
  group: { id: string } | undefined;
  teams: Team[];
  teamFiles: { file: FileOut; space: string }[];
}

/** Runs each removal on its own: one that fails is listed in `problems` and the next still runs. */
export function bestEffort() {
  const problems: string[] = [];
  const done: string[] = [];
  const attempt = async (what: string, work: () => Promise<unknown>) => {
    try {
      await work();
      done.push(what);
    } catch (error) {
      problems.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  return { attempt, problems, done };
}

/** Best effort over everything; fails listing what could not be removed. */
export async function cleanUp(
  admin: Api,
  as: () => Api,
  files: FileOut[],
  found: StorageCheck | undefined,
  { config, kind, policy, target, user, group, teams, teamFiles }: Created,
): Promise<string> {
  const { attempt, problems, done } = bestEffort();
  if (files.length > 0)
    await attempt(`${files.length} files purged`, async () => {
      for (const file of files) await purge(as(), file);
    });
  if (teamFiles.length > 0) {
    await attempt("team file purged", async () => {
      for (const { file, space } of teamFiles) await purge(as(), file, space);
    });
  }
  for (const team of teams)
    await attempt("team deleted", () => admin.ok("DELETE", `/api/v1/admin/teams/${team.id}`));
  if (found && policy && target) {
    if (kind === "local" && config.ingressDir) {
      await attempt("object gone from the ingress dir", () =>
        goneFromIngressDir(config.ingressDir!, target, policy, found.file.storage_key),
      );
    }
    if (kind === "s3" && config.s3) {
      await attempt("object gone from the bucket", () =>
        goneFromBucket(config.s3!, policy, found.file.storage_key),
      );
    }
  }
  if (user) {
    await attempt("user disabled", () =>
      admin.ok("PATCH", `/api/v1/admin/users/${user.user.id}`, {
        body: { disabled: true, policy_group_id: null },
      }),
    );
  }
  if (group)
    await attempt("group deleted", () => admin.ok("DELETE", `/api/v1/admin/policy-groups/${group.id}`));
  if (policy) {
    try {
      await admin.ok("DELETE", `/api/v1/admin/policies/${policy.id}`);
      done.push("policy deleted");
    } catch (error) {
      // Still referenced (e.g. by finished upload sessions): it stays, named with the run id.
      if (error instanceof ApiError && error.code === "policy_in_use")
        done.push("policy kept (policy_in_use)");
      else problems.push(`policy: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (problems.length > 0) throw new Error(problems.join("; "));
  return done.join(", ");
}
