// Owns the primary's database schema (drizzle, SQLite dialect for libSQL). migrations/ is generated
// from this file by `npm run db:generate`; never edit the SQL by hand. Times are unix milliseconds
// (drizzle `timestamp_ms` -> Date); ids are 128-bit random hex (shared/crypto.ts randomId).
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const createdAt = () =>
  integer("created_at", { mode: "timestamp_ms" }).notNull().default(sql`(unixepoch('subsec') * 1000)`);
const updatedAt = () =>
  integer("updated_at", { mode: "timestamp_ms" }).notNull().default(sql`(unixepoch('subsec') * 1000)`);

export const USER_ROLES = ["admin", "user"] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  /** Stored lowercased; unique. */
  username: text("username").notNull().unique(),
  displayName: text("display_name").notNull().default(""),
  /** `pbkdf2-sha256$<iterations>$<salt b64url>$<hash b64url>`; see worker/accounts/passwords.ts. */
  passwordHash: text("password_hash").notNull(),
  role: text("role", { enum: USER_ROLES }).notNull().default("user"),
  disabled: integer("disabled", { mode: "boolean" }).notNull().default(false),
  /** Null means "the default policy group at upload time". */
  policyGroupId: text("policy_group_id").references(() => policyGroups.id, { onDelete: "set null" }),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const SESSION_KINDS = ["browser", "api"] as const;

/** Browser sessions (cookie) and API tokens (bearer); only the SHA-256 of the token is stored. */
export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    tokenHash: text("token_hash").notNull().unique(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: SESSION_KINDS }).notNull(),
    /** A label for API tokens ("backup script"); empty for browser sessions. */
    name: text("name").notNull().default(""),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
    createdAt: createdAt(),
  },
  (t) => [index("sessions_user_idx").on(t.userId), index("sessions_expires_idx").on(t.expiresAt)],
);

/** Failed logins per key (`ip:<ip>|user:<name>` or `user:<name>`) inside a fixed window. */
export const loginAttempts = sqliteTable("login_attempts", {
  key: text("key").primaryKey(),
  failures: integer("failures").notNull(),
  windowStartedAt: integer("window_started_at", { mode: "timestamp_ms" }).notNull(),
  lockedUntil: integer("locked_until", { mode: "timestamp_ms" }),
});

export const teams = sqliteTable("teams", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  /** Team space uploads resolve through this group; null means the default group. */
  policyGroupId: text("policy_group_id").references(() => policyGroups.id, { onDelete: "set null" }),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const TEAM_ROLES = ["manager", "member"] as const;

export const teamMembers = sqliteTable(
  "team_members",
  {
    teamId: text("team_id")
      .notNull()
      .references(() => teams.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    role: text("role", { enum: TEAM_ROLES }).notNull().default("member"),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.teamId, t.userId] }), index("team_members_user_idx").on(t.userId)],
);

export const CONNECTIVITIES = ["direct", "outbound"] as const;
export const ENROLLMENT_STATUSES = ["not_started", "pending", "completed", "expired"] as const;
export type EnrollmentStatus = (typeof ENROLLMENT_STATUSES)[number];

export const followerNodes = sqliteTable("follower_nodes", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  /** Normalized http(s) origin; empty until the node is reachable. */
  baseUrl: text("base_url").notNull().default(""),
  enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
  /**
   * direct: the primary dials base_url. outbound: the agent keeps a channel open to the primary
   * (worker/followers/channel.ts) and every call goes through it; base_url is then never dialled.
   */
  connectivity: text("connectivity", { enum: CONNECTIVITIES }).notNull().default("direct"),
  enrollmentTokenHash: text("enrollment_token_hash").unique(),
  enrollmentExpiresAt: integer("enrollment_expires_at", { mode: "timestamp_ms" }),
  /** Stored status; `expired` is also derived on read when a pending token has lapsed. */
  enrollmentStatus: text("enrollment_status", { enum: ENROLLMENT_STATUSES }).notNull().default("not_started"),
  enrolledAt: integer("enrolled_at", { mode: "timestamp_ms" }),
  /** Public key id the follower signs with / is addressed by; unique once enrolled. */
  keyId: text("key_id").unique(),
  /** encryptSecret(..., `follower_nodes.secret:<id>`). */
  secretEnc: text("secret_enc"),
  /** Last probe, successful or not (capability document JSON when it answered). */
  lastProbeJson: text("last_probe_json"),
  lastProbeAt: integer("last_probe_at", { mode: "timestamp_ms" }),
  lastProbeError: text("last_probe_error"),
  /** The follower's public /health/ready document taken with the last probe; null when it gave none. */
  lastReadinessJson: text("last_readiness_json"),
  /** Last probe that answered and was compatible; kept when a later probe fails. */
  lastGoodProbeJson: text("last_good_probe_json"),
  lastGoodProbeAt: integer("last_good_probe_at", { mode: "timestamp_ms" }),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const INGRESS_DRIVERS = ["local", "s3"] as const;
export const INGRESS_STATES = ["pending", "applied", "failed"] as const;

export const ingressTargets = sqliteTable(
  "ingress_targets",
  {
    id: text("id").primaryKey(),
    nodeId: text("node_id")
      .notNull()
      .references(() => followerNodes.id, { onDelete: "cascade" }),
    /** Stable key the follower knows the target by. */
    targetKey: text("target_key").notNull().unique(),
    name: text("name").notNull(),
    driver: text("driver", { enum: INGRESS_DRIVERS }).notNull(),
    /** local: relative path under managed_ingress_local_root; s3: key prefix in the bucket. */
    basePath: text("base_path").notNull().default(""),
    s3Endpoint: text("s3_endpoint"),
    s3Region: text("s3_region"),
    s3Bucket: text("s3_bucket"),
    s3ForcePathStyle: integer("s3_force_path_style", { mode: "boolean" }).notNull().default(true),
    /** encryptSecret(..., `ingress_targets.s3_access_key:<id>`) and `.s3_secret_key:<id>`. */
    s3AccessKeyEnc: text("s3_access_key_enc"),
    s3SecretKeyEnc: text("s3_secret_key_enc"),
    isDefault: integer("is_default", { mode: "boolean" }).notNull().default(false),
    revision: integer("revision").notNull().default(1),
    appliedRevision: integer("applied_revision"),
    state: text("state", { enum: INGRESS_STATES }).notNull().default("pending"),
    reason: text("reason"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("ingress_targets_node_name_idx").on(t.nodeId, t.name),
    uniqueIndex("ingress_targets_one_default_idx").on(t.nodeId).where(sql`${t.isDefault} = 1`),
  ],
);

export const POLICY_DRIVERS = ["remote", "s3", "primary"] as const;
export type PolicyDriver = (typeof POLICY_DRIVERS)[number];
export const TRANSFER_MODES = ["relay_stream", "presigned"] as const;

export const storagePolicies = sqliteTable("storage_policies", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  driver: text("driver", { enum: POLICY_DRIVERS }).notNull(),
  /** Set for driver `remote`; a node in use by a policy cannot be deleted. */
  nodeId: text("node_id").references(() => followerNodes.id, { onDelete: "restrict" }),
  /** Single-file size limit in bytes; 0 = unlimited. */
  maxFileSize: integer("max_file_size").notNull().default(0),
  chunkSize: integer("chunk_size")
    .notNull()
    .default(5 * 1024 * 1024),
  uploadMode: text("upload_mode", { enum: TRANSFER_MODES }).notNull().default("relay_stream"),
  downloadMode: text("download_mode", { enum: TRANSFER_MODES }).notNull().default("relay_stream"),
  keyPrefix: text("key_prefix").notNull().default(""),
  s3Endpoint: text("s3_endpoint"),
  s3Region: text("s3_region"),
  s3Bucket: text("s3_bucket"),
  s3ForcePathStyle: integer("s3_force_path_style", { mode: "boolean" }).notNull().default(true),
  /** encryptSecret(..., `storage_policies.s3_access_key:<id>`) and `.s3_secret_key:<id>`. */
  s3AccessKeyEnc: text("s3_access_key_enc"),
  s3SecretKeyEnc: text("s3_secret_key_enc"),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const policyGroups = sqliteTable(
  "policy_groups",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull().unique(),
    description: text("description").notNull().default(""),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    /** Exactly one group is the default (for new users and unbound users/teams). */
    isDefault: integer("is_default", { mode: "boolean" }).notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("policy_groups_one_default_idx").on(t.isDefault).where(sql`${t.isDefault} = 1`)],
);

export const policyGroupRules = sqliteTable(
  "policy_group_rules",
  {
    id: text("id").primaryKey(),
    groupId: text("group_id")
      .notNull()
      .references(() => policyGroups.id, { onDelete: "cascade" }),
    policyId: text("policy_id")
      .notNull()
      .references(() => storagePolicies.id, { onDelete: "restrict" }),
    /** Lower numbers are tried first; > 0 and unique within the group. */
    priority: integer("priority").notNull(),
    /** Inclusive lower bound in bytes. */
    minSize: integer("min_size").notNull().default(0),
    /** Exclusive upper bound in bytes; 0 = no upper bound. */
    maxSize: integer("max_size").notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("policy_group_rules_priority_idx").on(t.groupId, t.priority),
    uniqueIndex("policy_group_rules_policy_idx").on(t.groupId, t.policyId),
    index("policy_group_rules_policy_ref_idx").on(t.policyId),
  ],
);

export const NODE_EVENT_LEVELS = ["info", "warn", "error"] as const;

/** Recent events and errors shown on a node's page (probes, ingress pushes, object I/O failures). */
export const nodeEvents = sqliteTable(
  "node_events",
  {
    id: text("id").primaryKey(),
    nodeId: text("node_id")
      .notNull()
      .references(() => followerNodes.id, { onDelete: "cascade" }),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
    level: text("level", { enum: NODE_EVENT_LEVELS }).notNull(),
    /** Machine-readable kind, e.g. `probe`, `ingress_push`, `object_put`. */
    kind: text("kind").notNull(),
    message: text("message").notNull(),
    /**
     * A routine success (a probe or push that went as the last one of its kind did) updates the
     * newest row of its kind instead of adding one: `at` is the last time, `first_at` the first of
     * the run, `repeats` how many. Failures and changes always add a row.
     */
    repeats: integer("repeats").notNull().default(1),
    firstAt: integer("first_at", { mode: "timestamp_ms" }),
  },
  (t) => [
    index("node_events_node_at_idx").on(t.nodeId, t.at),
    index("node_events_node_kind_at_idx").on(t.nodeId, t.kind, t.at),
  ],
);

// ---- files, folders, trash, shares (the files API: docs/files.md) ----

/** A space is a user's personal drive (`user`, space_id = user id) or a team's (`team`, team id). */
export const SPACE_KINDS = ["user", "team"] as const;
export type SpaceKind = (typeof SPACE_KINDS)[number];

/**
 * Folders form a tree per space; parent_id null = the space root. Trash marks the deleted item and
 * its whole live subtree with the same trash_root_id (the id of the item the user deleted), so a
 * restore brings back exactly what went with it. Live names are unique among live siblings.
 */
export const folders = sqliteTable(
  "folders",
  {
    id: text("id").primaryKey(),
    spaceKind: text("space_kind", { enum: SPACE_KINDS }).notNull(),
    spaceId: text("space_id").notNull(),
    parentId: text("parent_id"),
    name: text("name").notNull(),
    trashedAt: integer("trashed_at", { mode: "timestamp_ms" }),
    trashRootId: text("trash_root_id"),
    createdBy: text("created_by"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // Two partial indexes because NULL parents (the root) never collide in a plain unique index.
    uniqueIndex("folders_live_name_idx")
      .on(t.spaceKind, t.spaceId, t.parentId, t.name)
      .where(sql`${t.trashedAt} is null and ${t.parentId} is not null`),
    uniqueIndex("folders_live_root_name_idx")
      .on(t.spaceKind, t.spaceId, t.name)
      .where(sql`${t.trashedAt} is null and ${t.parentId} is null`),
    index("folders_parent_idx").on(t.spaceKind, t.spaceId, t.parentId),
    index("folders_trash_idx").on(t.spaceKind, t.spaceId, t.trashRootId),
  ],
);

/** A stored file. It keeps the policy (and the location inside it) it was written with, forever. */
export const files = sqliteTable(
  "files",
  {
    id: text("id").primaryKey(),
    spaceKind: text("space_kind", { enum: SPACE_KINDS }).notNull(),
    spaceId: text("space_id").notNull(),
    folderId: text("folder_id"),
    name: text("name").notNull(),
    size: integer("size").notNull(),
    /** Lowercase hex SHA-256 of the whole content; served as the strong ETag and Repr-Digest. */
    sha256: text("sha256").notNull(),
    contentType: text("content_type").notNull().default("application/octet-stream"),
    policyId: text("policy_id")
      .notNull()
      .references(() => storagePolicies.id, { onDelete: "restrict" }),
    /** Object key inside the policy (before the policy's key prefix). */
    storageKey: text("storage_key").notNull(),
    /** PutResult/CompleteResult.location: the follower's ingress target key for remote; else null. */
    location: text("location"),
    trashedAt: integer("trashed_at", { mode: "timestamp_ms" }),
    trashRootId: text("trash_root_id"),
    createdBy: text("created_by"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("files_live_name_idx")
      .on(t.spaceKind, t.spaceId, t.folderId, t.name)
      .where(sql`${t.trashedAt} is null and ${t.folderId} is not null`),
    uniqueIndex("files_live_root_name_idx")
      .on(t.spaceKind, t.spaceId, t.name)
      .where(sql`${t.trashedAt} is null and ${t.folderId} is null`),
    index("files_folder_idx").on(t.spaceKind, t.spaceId, t.folderId),
    index("files_trash_idx").on(t.spaceKind, t.spaceId, t.trashRootId),
    index("files_trashed_at_idx").on(t.trashedAt),
    index("files_policy_idx").on(t.policyId),
  ],
);

/** Share links to a file or a folder; the token is shown once and only its SHA-256 is stored. */
export const shares = sqliteTable(
  "shares",
  {
    id: text("id").primaryKey(),
    tokenHash: text("token_hash").notNull().unique(),
    spaceKind: text("space_kind", { enum: SPACE_KINDS }).notNull(),
    spaceId: text("space_id").notNull(),
    createdBy: text("created_by").notNull(),
    fileId: text("file_id").references(() => files.id, { onDelete: "cascade" }),
    folderId: text("folder_id").references(() => folders.id, { onDelete: "cascade" }),
    /** Password KDF hash (worker/accounts/passwords.ts), or null for no password. */
    passwordHash: text("password_hash"),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
    /** null = unlimited. */
    maxDownloads: integer("max_downloads"),
    downloadCount: integer("download_count").notNull().default(0),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
    createdAt: createdAt(),
  },
  (t) => [index("shares_space_idx").on(t.spaceKind, t.spaceId, t.createdBy)],
);

/** Objects whose file record was purged but whose storage could not be reached yet; retried. */
export const pendingObjectDeletions = sqliteTable(
  "pending_object_deletions",
  {
    id: text("id").primaryKey(),
    policyId: text("policy_id")
      .notNull()
      .references(() => storagePolicies.id, { onDelete: "restrict" }),
    storageKey: text("storage_key").notNull(),
    location: text("location"),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    nextAttemptAt: integer("next_attempt_at", { mode: "timestamp_ms" }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("pending_object_deletions_next_idx").on(t.nextAttemptAt)],
);

export const UPLOAD_STATES = ["open", "completing", "completed", "failed", "aborted"] as const;
export type UploadState = (typeof UPLOAD_STATES)[number];

/**
 * One upload of one file (worker/uploads): the policy resolved at init is kept here and given to the
 * file, so later group changes never move it. `partCount` 1 with no `multipartId` = one request.
 */
export const uploadSessions = sqliteTable(
  "upload_sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** The space the file lands in (as files.space_kind / space_id). */
    spaceKind: text("space_kind", { enum: SPACE_KINDS }).notNull(),
    spaceId: text("space_id").notNull(),
    folderId: text("folder_id"),
    name: text("name").notNull(),
    size: integer("size").notNull(),
    /** The client's declared whole-file SHA-256 (hex), checked at completion when given. */
    declaredSha256: text("declared_sha256"),
    contentType: text("content_type").notNull(),
    /** The client's own id for finding its unfinished sessions after a reload. */
    clientId: text("client_id"),
    policyId: text("policy_id")
      .notNull()
      .references(() => storagePolicies.id, { onDelete: "restrict" }),
    mode: text("mode", { enum: TRANSFER_MODES }).notNull(),
    chunkSize: integer("chunk_size").notNull(),
    partCount: integer("part_count").notNull(),
    /** Object key inside the policy (the driver adds the policy's key prefix). */
    storageKey: text("storage_key").notNull(),
    multipartId: text("multipart_id"),
    /** Remote: the follower's ingress target pinned at init (its default then); null otherwise. */
    location: text("location"),
    state: text("state", { enum: UPLOAD_STATES }).notNull().default("open"),
    failureCode: text("failure_code"),
    failureMessage: text("failure_message"),
    /** Storage cleanup (abort multipart / delete the object) still owed after abort, failure or expiry. */
    cleanupPending: integer("cleanup_pending", { mode: "boolean" }).notNull().default(false),
    fileId: text("file_id"),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("upload_sessions_user_idx").on(t.userId, t.state),
    index("upload_sessions_expires_idx").on(t.expiresAt),
  ],
);

export const UPLOAD_PART_STATES = ["uploading", "done"] as const;

/** Relay parts: a row is the claim that makes concurrent retries of one part upload it once. */
export const uploadParts = sqliteTable(
  "upload_parts",
  {
    sessionId: text("session_id")
      .notNull()
      .references(() => uploadSessions.id, { onDelete: "cascade" }),
    partNumber: integer("part_number").notNull(),
    state: text("state", { enum: UPLOAD_PART_STATES }).notNull(),
    /** Random per attempt: only the request holding the claim may finish or release it. */
    claim: text("claim"),
    claimedAt: integer("claimed_at", { mode: "timestamp_ms" }),
    size: integer("size"),
    sha256: text("sha256"),
    etag: text("etag"),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.partNumber] })],
);

// ---- WebDAV (worker/webdav) ----

/**
 * Per-user app passwords: how clients that cannot log in through a page (WebDAV over HTTP Basic)
 * authenticate. The server generates each one (192 random bits) and shows it once; only its SHA-256
 * is stored, as for session tokens. `read_only` limits it to reading methods.
 */
export const appPasswords = sqliteTable(
  "app_passwords",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    tokenHash: text("token_hash").notNull().unique(),
    readOnly: integer("read_only", { mode: "boolean" }).notNull().default(false),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
    createdAt: createdAt(),
  },
  (t) => [index("app_passwords_user_idx").on(t.userId)],
);

export const DAV_LOCK_SCOPES = ["exclusive", "shared"] as const;
export const DAV_LOCK_DEPTHS = ["0", "infinity"] as const;

/**
 * WebDAV write locks (RFC 4918 class 2). A lock belongs to a path inside a space, as the RFC has it
 * (it does not follow a MOVE); it ends at `expires_at` unless refreshed, and rows past it count as gone.
 */
export const davLocks = sqliteTable(
  "dav_locks",
  {
    /** The lock token, `opaquelocktoken:<uuid>`. */
    token: text("token").primaryKey(),
    spaceKind: text("space_kind", { enum: SPACE_KINDS }).notNull(),
    spaceId: text("space_id").notNull(),
    /** The lock root inside the space: its names joined by "/", "" for the space root. */
    path: text("path").notNull(),
    depth: text("depth", { enum: DAV_LOCK_DEPTHS }).notNull(),
    scope: text("scope", { enum: DAV_LOCK_SCOPES }).notNull(),
    /** The lockinfo's owner element content as the client sent it (XML), answered back unchanged. */
    owner: text("owner").notNull().default(""),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    timeoutSeconds: integer("timeout_seconds").notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index("dav_locks_path_idx").on(t.spaceKind, t.spaceId, t.path),
    index("dav_locks_expires_idx").on(t.expiresAt),
  ],
);

/**
 * WebDAV dead properties (PROPPATCH), per file or folder: they follow the item through renames, moves
 * and the trash, and go when it is purged. `xml` is the property element as serialized, with the
 * namespace declarations it needs, answered back as is.
 */
export const davProperties = sqliteTable(
  "dav_properties",
  {
    id: text("id").primaryKey(),
    fileId: text("file_id").references(() => files.id, { onDelete: "cascade" }),
    folderId: text("folder_id").references(() => folders.id, { onDelete: "cascade" }),
    namespace: text("namespace").notNull(),
    name: text("name").notNull(),
    xml: text("xml").notNull(),
  },
  (t) => [
    uniqueIndex("dav_properties_file_idx").on(t.fileId, t.namespace, t.name),
    uniqueIndex("dav_properties_folder_idx").on(t.folderId, t.namespace, t.name),
  ],
);

// ---- moving files between storage policies (worker/moves, docs/moves.md) ----

/** A move empties one storage policy, or every remote policy of a follower node (a drain). */
export const MOVE_SOURCES = ["policy", "node"] as const;
export const MOVE_JOB_STATES = ["running", "paused", "completed", "cancelled"] as const;
export type MoveJobState = (typeof MOVE_JOB_STATES)[number];
/** What part of the source moves: everything, one user's personal space, one team's, one folder's subtree. */
export const MOVE_SCOPES = ["all", "user", "team", "folder"] as const;
export type MoveScope = (typeof MOVE_SCOPES)[number];

/**
 * A job moving the files of a source (a storage policy, or every policy of a follower node: a drain)
 * to a target policy. Running and paused jobs are active: their unscoped sources take no new uploads.
 * References outlive their rows as names (a drained node and its policies are deleted afterwards).
 */
export const moveJobs = sqliteTable(
  "move_jobs",
  {
    id: text("id").primaryKey(),
    sourceKind: text("source_kind", { enum: MOVE_SOURCES }).notNull(),
    sourcePolicyId: text("source_policy_id").references(() => storagePolicies.id, { onDelete: "set null" }),
    sourceNodeId: text("source_node_id").references(() => followerNodes.id, { onDelete: "set null" }),
    sourceName: text("source_name").notNull(),
    targetPolicyId: text("target_policy_id").references(() => storagePolicies.id, { onDelete: "set null" }),
    targetName: text("target_name").notNull(),
    scopeKind: text("scope_kind", { enum: MOVE_SCOPES }).notNull().default("all"),
    /** The user, team or folder id of the scope; null for `all`. */
    scopeId: text("scope_id"),
    state: text("state", { enum: MOVE_JOB_STATES }).notNull().default("running"),
    createdBy: text("created_by"),
    /** Time spent running before `running_since` (pauses excluded), for the rate. */
    runMs: integer("run_ms").notNull().default(0),
    runningSince: integer("running_since", { mode: "timestamp_ms" }),
    /** The batch runner holding the job (one at a time), until its lease ends. */
    runnerClaim: text("runner_claim"),
    runnerUntil: integer("runner_until", { mode: "timestamp_ms" }),
    /** Bytes the primary carried itself (copies streamed through it; zero where storages pulled). */
    bytesRelayed: integer("bytes_relayed").notNull().default(0),
    finishedAt: integer("finished_at", { mode: "timestamp_ms" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("move_jobs_state_idx").on(t.state)],
);

export const MOVE_ITEM_STATES = ["pending", "copying", "done", "failed", "skipped", "cancelled"] as const;
export type MoveItemState = (typeof MOVE_ITEM_STATES)[number];
export const MOVE_PATHS = ["pull", "relay"] as const;

/**
 * One file of a move job. A file is in at most one unfinished item (pending or copying) across all
 * jobs: that index is what refuses two jobs over the same files. The file id is not a foreign key, so
 * the item of a file purged during its move stays as history.
 */
export const moveItems = sqliteTable(
  "move_items",
  {
    jobId: text("job_id")
      .notNull()
      .references(() => moveJobs.id, { onDelete: "cascade" }),
    fileId: text("file_id").notNull(),
    size: integer("size").notNull(),
    state: text("state", { enum: MOVE_ITEM_STATES }).notNull().default("pending"),
    /** Random per attempt: only the runner holding it may switch the file or release the item. */
    claim: text("claim"),
    claimedAt: integer("claimed_at", { mode: "timestamp_ms" }),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at", { mode: "timestamp_ms" }).notNull(),
    /** Machine-readable reason of the last failure or wait, and its message. */
    lastError: text("last_error"),
    lastMessage: text("last_message"),
    /** Where the current attempt writes (a fresh key each attempt), known before any byte is sent. */
    destKey: text("dest_key"),
    destLocation: text("dest_location"),
    /** The target's pull of this attempt, while the target fetches the bytes itself. */
    pullId: text("pull_id"),
    path: text("path", { enum: MOVE_PATHS }),
    copiedBytes: integer("copied_bytes").notNull().default(0),
    finishedAt: integer("finished_at", { mode: "timestamp_ms" }),
  },
  (t) => [
    primaryKey({ columns: [t.jobId, t.fileId] }),
    index("move_items_due_idx").on(t.jobId, t.state, t.nextAttemptAt),
    uniqueIndex("move_items_one_active_idx").on(t.fileId).where(sql`${t.state} in ('pending', 'copying')`),
  ],
);
