// Owns the console's view of the wire types: each one inferred from the worker's own zod schema
// (type-only imports, erased by esbuild), so the console never declares an API shape twice.
import type { z } from "zod";
import type { userSchema } from "../../accounts/users.ts";
import type { ingressTargetSchema } from "../../followers/ingress.ts";
import type { capabilitySummarySchema, nodeSchema } from "../../followers/view.ts";
import type { policyGroupSchema } from "../../policy/groups.ts";
import type { enrollmentTokenSchema, nodeDetailsSchema, testResultSchema } from "../../routes/admin/nodes.ts";
import type { policySchema, policyTestSchema } from "../../routes/admin/policies-shared.ts";

export type User = z.infer<typeof userSchema>;
export type FollowerNode = z.infer<typeof nodeSchema>;
export type NodeDetails = z.infer<typeof nodeDetailsSchema>;
export type CapabilitySummary = z.infer<typeof capabilitySummarySchema>;
export type IngressTarget = z.infer<typeof ingressTargetSchema>;
export type EnrollmentToken = z.infer<typeof enrollmentTokenSchema>;
export type TestResult = z.infer<typeof testResultSchema>;
export type Policy = z.infer<typeof policySchema>;
export type PolicyTest = z.infer<typeof policyTestSchema>;
export type PolicyGroup = z.infer<typeof policyGroupSchema>;

export interface Team {
  id: string;
  name: string;
  policy_group_id: string | null;
  member_count: number;
  members?: { user_id: string; username: string; display_name: string; role: string }[];
}

/** F's upload session (worker/routes/uploads.ts; see /work/notes/f-contract.md). */
export interface Upload {
  id: string;
  state: "open" | "completing" | "completed" | "failed" | "aborted";
  mode: "relay_stream" | "presigned";
  name: string;
  size: number;
  sha256: string | null;
  content_type: string;
  folder_id: string | null;
  space: { kind: "user" | "team"; id: string };
  client_id: string | null;
  policy_id: string;
  chunk_size: number;
  part_count: number;
  parts_received: number[];
  missing_parts: number[];
  part_url_template: string | null;
  file_id: string | null;
  failure: { code: string; message: string } | null;
  expires_at: string;
}

export interface PresignedPart {
  part_number: number;
  url: string;
  method: "PUT";
  headers: Record<string, string>;
  expires_at: string;
}

/** E's file and folder items (worker/routes/files*.ts; see /work/notes/e-contract.md). */
export interface FileItem {
  type: "file";
  id: string;
  name: string;
  folder_id: string | null;
  size: number;
  sha256: string;
  content_type: string;
  policy_id: string;
  created_at: string;
  updated_at: string;
  trashed_at: string | null;
}

export interface FolderItem {
  type: "folder";
  id: string;
  name: string;
  parent_id: string | null;
  created_at: string;
  updated_at: string;
  trashed_at: string | null;
}

export type Item = FileItem | FolderItem;

export interface Listing {
  folder: FolderItem | null;
  path: { id: string; name: string }[];
  items: Item[];
  next_cursor: string | null;
}
