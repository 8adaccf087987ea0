// Owns policy groups: loading them with their rules and binding counts, create (with rules, as the
// new default when asked), edit, delete, and the single-default invariant (new users get it; it
// cannot be unset, disabled or deleted), and the warning when its rules leave sizes uncovered.
// Rule sets: rule-set.ts.
import { asc, count, eq, inArray, ne } from "drizzle-orm";
import { randomId } from "../../shared/crypto.ts";
import { AppError, notFound } from "../../shared/errors.ts";
import {
  type CreateGroupBody,
  type GroupWarning,
  type PolicyGroupOut,
  toPolicyGroupOut,
  toRuleOut,
  type UpdateGroupBody,
} from "../api/policy-groups.ts";
import type { Db } from "../db/client.ts";
import { uniqueOr } from "../db/constraints.ts";
import {
  followerNodes,
  policyGroupRules,
  policyGroups,
  storagePolicies,
  teams,
  users,
} from "../db/schema.ts";
import { replaceRulesStatements, validateRuleSet } from "./rule-set.ts";
import { type SizeRange, uncoveredRanges } from "./rules.ts";

type GroupRow = typeof policyGroups.$inferSelect;

export async function findGroup(db: Db, id: string) {
  const [row] = await db.select().from(policyGroups).where(eq(policyGroups.id, id));
  if (!row) throw notFound("policy group");
  return row;
}

export async function loadGroups(db: Db, ids?: string[]): Promise<PolicyGroupOut[]> {
  const groups = await db
    .select()
    .from(policyGroups)
    .where(ids ? inArray(policyGroups.id, ids) : undefined)
    .orderBy(asc(policyGroups.name));
  if (groups.length === 0) return [];
  const groupIds = groups.map((g) => g.id);
  const [rules, userCounts, teamCounts] = await db.batch([
    db
      .select({
        rule: policyGroupRules,
        policyName: storagePolicies.name,
        driver: storagePolicies.driver,
        maxFileSize: storagePolicies.maxFileSize,
        nodeEnabled: followerNodes.enabled,
      })
      .from(policyGroupRules)
      .innerJoin(storagePolicies, eq(storagePolicies.id, policyGroupRules.policyId))
      .leftJoin(followerNodes, eq(followerNodes.id, storagePolicies.nodeId))
      .where(inArray(policyGroupRules.groupId, groupIds))
      .orderBy(asc(policyGroupRules.priority)),
    db
      .select({ groupId: users.policyGroupId, n: count() })
      .from(users)
      .where(inArray(users.policyGroupId, groupIds))
      .groupBy(users.policyGroupId),
    db
      .select({ groupId: teams.policyGroupId, n: count() })
      .from(teams)
      .where(inArray(teams.policyGroupId, groupIds))
      .groupBy(teams.policyGroupId),
  ]);
  return groups.map((group) => {
    const own = rules.filter((r) => r.rule.groupId === group.id);
    return toPolicyGroupOut(
      group,
      own.map(({ rule, policyName }) => toRuleOut(rule, policyName)),
      {
        users: userCounts.find((c) => c.groupId === group.id)?.n ?? 0,
        teams: teamCounts.find((c) => c.groupId === group.id)?.n ?? 0,
      },
      coverageWarnings(own.flatMap(usableRange)),
    );
  });
}

/**
 * The sizes a rule can take as resolution tries it (resolve.ts): its [min, max), cut at its policy's
 * size limit; none when its remote policy's node is missing or disabled.
 */
function usableRange(row: {
  rule: { minSize: number; maxSize: number };
  driver: string;
  maxFileSize: number;
  nodeEnabled: boolean | null;
}): SizeRange[] {
  if (row.driver === "remote" && row.nodeEnabled !== true) return [];
  let max = row.rule.maxSize;
  if (row.maxFileSize > 0 && (max === 0 || max > row.maxFileSize + 1)) max = row.maxFileSize + 1;
  return max !== 0 && max <= row.rule.minSize ? [] : [{ min_size: row.rule.minSize, max_size: max }];
}

function coverageWarnings(ranges: SizeRange[]): GroupWarning[] {
  const gaps = uncoveredRanges(ranges);
  if (gaps.length === 0) return [];
  const said = gaps.map((g) =>
    g.max_size === 0 ? `${g.min_size} bytes and above` : `${g.min_size} to under ${g.max_size} bytes`,
  );
  return [
    {
      code: "sizes_uncovered",
      message: `No usable rule matches sizes ${said.join(", ")}: uploads of those sizes are refused (no_matching_policy). Ranges are [min, max): start the next rule at the previous rule's maximum.`,
      ranges: gaps,
    },
  ];
}

export async function loadGroup(db: Db, id: string): Promise<PolicyGroupOut> {
  const [group] = await loadGroups(db, [id]);
  if (!group) throw notFound("policy group");
  return group;
}

const nameTaken = (name: string) => `A policy group named "${name}" already exists.`;
const defaultRequired = (message: string) => new AppError("policy_group_default_required", message);

/** Creates a group with its rules (validated first), as the new default when asked; returns its id. */
export async function createGroup(db: Db, body: CreateGroupBody, now: Date): Promise<string> {
  if (body.is_default && !body.enabled) throw defaultRequired("The default group must be enabled.");
  await validateRuleSet(db, body.rules);
  const id = randomId();
  const insert = db.insert(policyGroups).values({
    id,
    name: body.name,
    description: body.description,
    enabled: body.enabled,
    isDefault: false,
    createdAt: now,
    updatedAt: now,
  });
  const [, ...rules] = replaceRulesStatements(db, id, body.rules);
  const promote = body.is_default
    ? [
        db.update(policyGroups).set({ isDefault: false }).where(ne(policyGroups.id, id)),
        db.update(policyGroups).set({ isDefault: true }).where(eq(policyGroups.id, id)),
      ]
    : [];
  await uniqueOr(() => db.batch([insert, ...rules, ...promote]), "name_taken", nameTaken(body.name));
  return id;
}

/** The default group stays enabled and cannot be unset; making another the default demotes it. */
export async function updateGroup(db: Db, group: GroupRow, body: UpdateGroupBody, now: Date): Promise<void> {
  const willBeDefault = body.is_default ?? group.isDefault;
  const willBeEnabled = body.enabled ?? group.enabled;
  if (group.isDefault && body.is_default === false) {
    throw defaultRequired("There must be a default group: make another group the default instead.");
  }
  if (willBeDefault && !willBeEnabled) throw defaultRequired("The default group cannot be disabled.");
  const changes: Partial<typeof policyGroups.$inferInsert> = { updatedAt: now };
  if (body.name !== undefined) changes.name = body.name;
  if (body.description !== undefined) changes.description = body.description;
  if (body.enabled !== undefined) changes.enabled = body.enabled;
  const update = db.update(policyGroups).set(changes).where(eq(policyGroups.id, group.id));
  const promote =
    willBeDefault && !group.isDefault
      ? [
          db.update(policyGroups).set({ isDefault: false }).where(ne(policyGroups.id, group.id)),
          db.update(policyGroups).set({ isDefault: true }).where(eq(policyGroups.id, group.id)),
        ]
      : [];
  await uniqueOr(() => db.batch([update, ...promote]), "name_taken", nameTaken(body.name ?? group.name));
}

/** Refused for the default group and for a group bound to users or teams. */
export async function deleteGroup(db: Db, group: GroupRow): Promise<void> {
  if (group.isDefault)
    throw defaultRequired("The default group cannot be deleted; make another group the default first.");
  const [[boundUsers], [boundTeams]] = await db.batch([
    db.select({ n: count() }).from(users).where(eq(users.policyGroupId, group.id)),
    db.select({ n: count() }).from(teams).where(eq(teams.policyGroupId, group.id)),
  ]);
  const userCount = boundUsers?.n ?? 0;
  const teamCount = boundTeams?.n ?? 0;
  if (userCount + teamCount > 0) {
    throw new AppError(
      "policy_group_in_use",
      `The group is bound to ${userCount} user(s) and ${teamCount} team(s); rebind them first.`,
      { details: { users: userCount, teams: teamCount } },
    );
  }
  await db.delete(policyGroups).where(eq(policyGroups.id, group.id));
}
