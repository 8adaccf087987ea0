// Test helpers for the files API: services over a harness, a primary-store policy bound through a
// group, files seeded straight into the R2 bucket through createFileRecord, teams with members.
import type { R2Bucket } from "@cloudflare/workers-types";
import { randomId, sha256Hex } from "../../../shared/crypto.ts";
import { teamMembers, teams } from "../../../worker/db/schema.ts";
import { parseEnv } from "../../../worker/env.ts";
import { createFileRecord, fileStorageKey } from "../../../worker/files/records.ts";
import type { Space } from "../../../worker/files/spaces.ts";
import { createServices, type Services } from "../../../worker/services.ts";
import { utf8 } from "../../support/bytes.ts";
import { type Harness, seedPolicy, unique } from "../../support/primary.ts";

export function servicesOf(h: Harness, now?: () => Date, bindings: Record<string, string> = {}): Services {
  const env = parseEnv({ ...h.env, ...bindings });
  return createServices(env, { waitUntil: (p) => void h.pending.push(p) }, `test-${randomId()}`, {
    db: h.db,
    fetch: () => Promise.reject(new Error("unexpected fetch")),
    ...(now ? { now } : {}),
  });
}

/** A file stored on the primary store (R2) under a fresh `primary` policy, created via createFileRecord. */
export async function seedFile(
  h: Harness,
  input: {
    space: Space;
    userId: string;
    name: string;
    bytes?: Uint8Array;
    contentType?: string;
    folderId?: string | null;
    policyId?: string;
  },
) {
  const bytes = input.bytes ?? utf8(`content of ${input.name}`);
  const id = randomId();
  const key = fileStorageKey(id);
  await (h.env.FILES as R2Bucket).put(key, bytes);
  const policyId = input.policyId ?? (await seedPolicy(h, { driver: "primary" }));
  return createFileRecord(servicesOf(h), {
    id,
    space: input.space,
    folderId: input.folderId ?? null,
    name: input.name,
    size: bytes.byteLength,
    sha256: await sha256Hex(new Uint8Array(bytes)),
    contentType: input.contentType,
    policyId,
    storageKey: key,
    location: null,
    createdBy: input.userId,
  });
}

export async function seedTeam(h: Harness, memberIds: string[], managerIds: string[] = []) {
  const id = randomId();
  await h.db.insert(teams).values({ id, name: unique("team") });
  for (const userId of memberIds) await h.db.insert(teamMembers).values({ teamId: id, userId });
  for (const userId of managerIds)
    await h.db.insert(teamMembers).values({ teamId: id, userId, role: "manager" });
  return id;
}

export async function json<T = Record<string, unknown>>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  if (response.status !== status) throw new Error(`expected ${status}, got ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}
