// Owns the console's view of the wire types: each one inferred from the worker's own zod schema
// (type-only imports, erased by esbuild), so the console never declares an API shape twice.
import type { z } from "zod";
import type { userSchema } from "../../accounts/users.ts";
import type { FileOut, FolderOut } from "../../files/records.ts";
import type { ingressTargetSchema } from "../../followers/ingress.ts";
import type { capabilitySummarySchema, nodeSchema } from "../../followers/view.ts";
import type { policyGroupSchema } from "../../policy/groups.ts";
import type { enrollmentTokenSchema, nodeDetailsSchema, testResultSchema } from "../../routes/admin/nodes.ts";
import type { policySchema, policyTestSchema } from "../../routes/admin/policies-shared.ts";
import type { listingSchema } from "../../routes/files.ts";
import type { UploadOut } from "../../uploads/view.ts";

export type User = z.infer<typeof userSchema>;
export type MyTeam = { id: string; name: string; role: string };
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

export type Upload = UploadOut;
export type FileItem = FileOut;
export type FolderItem = FolderOut;
export type Item = FileOut | FolderOut;
export type Listing = z.infer<typeof listingSchema>;

export interface PresignedPart {
  part_number: number;
  url: string;
  method: "PUT";
  headers: Record<string, string>;
  expires_at: string;
}
