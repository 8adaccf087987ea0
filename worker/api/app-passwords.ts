// Owns the wire shape of /api/v1/auth/app-passwords: an app password as listed (never its value), the
// body that creates one, and the answer that shows the new value this once.
import { z } from "zod";
import type { appPasswords } from "../db/schema.ts";
import { iso, timestamp } from "./wire.ts";

export const appPasswordSchema = z.object({
  id: z.string(),
  name: z.string(),
  /** Only reading methods (GET, HEAD, PROPFIND, OPTIONS) are allowed with it. */
  read_only: z.boolean(),
  last_used_at: timestamp.nullable(),
  created_at: timestamp,
});

export const appPasswordListSchema = z.object({ app_passwords: z.array(appPasswordSchema) });

export const createAppPasswordBody = z.object({
  name: z.string().trim().min(1).max(100),
  read_only: z.boolean().default(false),
});

/** A new app password: `password` is shown this once; use it with your username over HTTP Basic. */
export const createdAppPasswordSchema = appPasswordSchema.extend({ password: z.string() });

export function toAppPasswordOut(row: typeof appPasswords.$inferSelect): z.infer<typeof appPasswordSchema> {
  return {
    id: row.id,
    name: row.name,
    read_only: row.readOnly,
    last_used_at: iso(row.lastUsedAt),
    created_at: iso(row.createdAt),
  };
}
