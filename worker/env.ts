// Owns the primary's environment contract: the names the worker reads from its bindings and vars, and
// their validation at the boundary. A bad value is reported by key name only, never by value.
import type { DurableObjectNamespace, R2Bucket } from "@cloudflare/workers-types";
import { z } from "zod";
import { AppError } from "../shared/errors.ts";

const r2BucketSchema = z.custom<R2Bucket>(
  (value) =>
    typeof value === "object" &&
    value !== null &&
    ["get", "put", "head", "delete"].every(
      (method) => typeof (value as Record<string, unknown>)[method] === "function",
    ),
  { message: "must be an R2 bucket binding" },
);

const durableObjectNamespaceSchema = z.custom<DurableObjectNamespace>(
  (value) =>
    typeof value === "object" &&
    value !== null &&
    ["idFromName", "get"].every((method) => typeof (value as Record<string, unknown>)[method] === "function"),
  { message: "must be a Durable Object namespace binding" },
);

const libsqlUrlSchema = z
  .string()
  .min(1)
  .refine((value) => /^(file:|https?:\/\/|libsql:\/\/|wss?:\/\/)/.test(value), {
    message: "must be a file:, http(s)://, libsql:// or ws(s):// URL",
  });

export const envSchema = z.object({
  LIBSQL_URL: libsqlUrlSchema,
  LIBSQL_AUTH_TOKEN: z.string().min(1).optional(),
  /** Key material for secrets at rest (HKDF -> AES-GCM); see worker/secrets.ts. */
  FLOTILLA_SECRET: z.string().min(32, { message: "must be at least 32 characters" }),
  /** Public origin of the primary (scheme://host[:port]); used for Origin checks and agent commands. */
  PUBLIC_URL: z
    .url({ protocol: /^https?$/ })
    .transform((value) => new URL(value).origin)
    .optional(),
  /** Days an item stays in the trash before the scheduled handler purges it (default 30). */
  TRASH_RETENTION_DAYS: z.coerce.number().int().min(1).max(36500).optional(),
  /**
   * A request header your reverse proxy sets to the client's address (e.g. `x-forwarded-for`); its
   * last entry keys rate limits. Leave unset on Cloudflare (CF-Connecting-IP is used).
   */
  TRUSTED_PROXY_HEADER: z
    .string()
    .regex(/^[a-z0-9-]{1,64}$/i, { message: "must be a header name" })
    .transform((name) => name.toLowerCase())
    .optional(),
  /** The primary's own store (storage policy driver "primary"). */
  FILES: r2BucketSchema,
  /**
   * One Durable Object per outbound-only follower, where its channel ends (worker/followers/channel.ts).
   * Without it outbound nodes cannot be reached (follower_unreachable).
   */
  FOLLOWER_CHANNEL: durableObjectNamespaceSchema.optional(),
});

export type Env = z.infer<typeof envSchema>;
/** What the runtime hands in before validation: bindings and vars of unknown shape. */
export type RawEnv = Record<string, unknown>;

/** Validates the environment, or throws `config_invalid` naming the offending keys. */
export function parseEnv(raw: RawEnv): Env {
  // Empty strings from wrangler vars mean "unset" for the optional keys.
  const cleaned = Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== ""));
  const result = envSchema.safeParse(cleaned);
  if (result.success) return result.data;
  const keys = [...new Set(result.error.issues.map((issue) => String(issue.path[0] ?? "(env)")))];
  throw new AppError("config_invalid", `The server configuration is invalid: ${keys.join(", ")}.`, {
    details: result.error.issues.map((issue) => ({
      key: String(issue.path[0] ?? ""),
      problem: issue.message,
    })),
  });
}
