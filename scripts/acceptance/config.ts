// Owns the acceptance walk's configuration, all from the environment so the same walk runs against
// `npm start` on this machine or a deployed instance: where the primary is, the admin account, which
// follower, which transfer modes and ingress targets to cover, and the optional S3 target.
import { randomBytes } from "node:crypto";
import { z } from "zod";

export const MODES = ["relay_stream", "presigned"] as const;
export const TARGETS = ["local", "s3"] as const;
export type Mode = (typeof MODES)[number];
export type TargetKind = (typeof TARGETS)[number];

export interface S3Config {
  endpoint: string;
  region: string;
  bucket: string;
  pathStyle: boolean;
  accessKeyId: string;
  secretAccessKey: string;
  /** The ingress target's base_path (key prefix inside the bucket). */
  basePath: string;
}

export interface AcceptanceConfig {
  url: string;
  adminUsername: string;
  adminPassword: string;
  nodeName: string | undefined;
  modes: Mode[];
  targets: TargetKind[];
  s3: S3Config | undefined;
  /** The follower's ingress directory for the local target, as seen from where the walk runs. */
  ingressDir: string | undefined;
  /** Policy chunk size: small, so the large file has more than three parts and the walk stays quick. */
  chunkSize: number;
  stepTimeoutMs: number;
  runId: string;
}

const list = <T extends string>(values: readonly [T, ...T[]]) =>
  z
    .string()
    .transform((text) =>
      text
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(values)).min(1));

const envSchema = z.object({
  FLOTILLA_URL: z.url({ protocol: /^https?$/ }),
  FLOTILLA_ADMIN_USERNAME: z.string().min(1).default("admin"),
  FLOTILLA_ADMIN_PASSWORD: z.string().min(1),
  FLOTILLA_NODE_NAME: z.string().min(1).optional(),
  FLOTILLA_ACCEPTANCE_MODES: list(MODES).optional(),
  FLOTILLA_ACCEPTANCE_TARGETS: list(TARGETS).optional(),
  FLOTILLA_FOLLOWER_INGRESS_DIR: z.string().min(1).optional(),
  FLOTILLA_ACCEPTANCE_CHUNK_SIZE: z.coerce
    .number()
    .int()
    .min(64 * 1024)
    .default(1024 * 1024),
  FLOTILLA_ACCEPTANCE_STEP_TIMEOUT_S: z.coerce.number().positive().default(120),
  FLOTILLA_S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  FLOTILLA_S3_REGION: z.string().min(1).default("us-east-1"),
  FLOTILLA_S3_BUCKET: z.string().min(1).optional(),
  FLOTILLA_S3_PATH_STYLE: z.enum(["true", "false"]).default("true"),
  FLOTILLA_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  FLOTILLA_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  FLOTILLA_S3_BASE_PATH: z.string().default("flotilla-acceptance"),
});

export function readConfig(env: NodeJS.ProcessEnv): AcceptanceConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ""));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`The acceptance walk's environment is incomplete:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  const s3Given = [e.FLOTILLA_S3_ENDPOINT, e.FLOTILLA_S3_BUCKET, e.FLOTILLA_S3_ACCESS_KEY_ID];
  const s3 =
    e.FLOTILLA_S3_ENDPOINT &&
    e.FLOTILLA_S3_BUCKET &&
    e.FLOTILLA_S3_ACCESS_KEY_ID &&
    e.FLOTILLA_S3_SECRET_ACCESS_KEY
      ? {
          endpoint: e.FLOTILLA_S3_ENDPOINT,
          region: e.FLOTILLA_S3_REGION,
          bucket: e.FLOTILLA_S3_BUCKET,
          pathStyle: e.FLOTILLA_S3_PATH_STYLE === "true",
          accessKeyId: e.FLOTILLA_S3_ACCESS_KEY_ID,
          secretAccessKey: e.FLOTILLA_S3_SECRET_ACCESS_KEY,
          basePath: e.FLOTILLA_S3_BASE_PATH,
        }
      : undefined;
  if (!s3 && s3Given.some(Boolean)) {
    throw new Error(
      "S3 needs FLOTILLA_S3_ENDPOINT, FLOTILLA_S3_BUCKET, FLOTILLA_S3_ACCESS_KEY_ID and FLOTILLA_S3_SECRET_ACCESS_KEY together.",
    );
  }
  const targets = e.FLOTILLA_ACCEPTANCE_TARGETS ?? (s3 ? ["local", "s3"] : ["local"]);
  if (targets.includes("s3") && !s3) {
    throw new Error("FLOTILLA_ACCEPTANCE_TARGETS names s3, but the FLOTILLA_S3_* settings are missing.");
  }
  const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(2, 12);
  return {
    url: new URL(e.FLOTILLA_URL).origin,
    adminUsername: e.FLOTILLA_ADMIN_USERNAME,
    adminPassword: e.FLOTILLA_ADMIN_PASSWORD,
    nodeName: e.FLOTILLA_NODE_NAME,
    modes: [...new Set(e.FLOTILLA_ACCEPTANCE_MODES ?? MODES)],
    targets: [...new Set(targets)],
    s3,
    ingressDir: e.FLOTILLA_FOLLOWER_INGRESS_DIR,
    chunkSize: e.FLOTILLA_ACCEPTANCE_CHUNK_SIZE,
    stepTimeoutMs: e.FLOTILLA_ACCEPTANCE_STEP_TIMEOUT_S * 1000,
    runId: `acc-${stamp}-${randomBytes(3).toString("hex")}`,
  };
}
