// Owns the console's view of the wire types: each one inferred from the worker's own zod schema in
// worker/api/ (type-only imports, erased by esbuild), so the console never declares an API shape twice.
import type { z } from "zod";
import type { appPasswordSchema, createdAppPasswordSchema } from "../../api/app-passwords.ts";
import type { myTeamSchema } from "../../api/auth.ts";
import type { FileOut, FolderOut, fileStorageSchema, listingSchema } from "../../api/files.ts";
import type { IngressTargetOut } from "../../api/ingress-targets.ts";
import type { moveJobSchema, movePlanSchema } from "../../api/moves.ts";
import type {
  CapabilitySummary as CapabilitySummaryOut,
  enrollmentTokenSchema,
  NodeOut,
  nodeDetailsSchema,
  nodeListSchema,
  testResultSchema,
} from "../../api/nodes.ts";
import type { PolicyOut, PolicyTestOut } from "../../api/policies.ts";
import type { PolicyGroupOut, resolutionSchema } from "../../api/policy-groups.ts";
import type { createdShareSchema, shareViewSchema } from "../../api/shares.ts";
import type { TeamDetailOut, TeamOut } from "../../api/teams.ts";
import type { PresignedPart as PresignedPartOut, UploadOut } from "../../api/uploads.ts";
import type { UserOut } from "../../api/users.ts";

export type User = UserOut;
export type MyTeam = z.infer<typeof myTeamSchema>;
export type FollowerNode = NodeOut;
export type NodeDetails = z.infer<typeof nodeDetailsSchema>;
/** A row of the node list: the record with its channel's state. */
export type ListedNode = z.infer<typeof nodeListSchema>["nodes"][number];
export type NodeChannel = NonNullable<NodeDetails["channel"]>;
export type CapabilitySummary = CapabilitySummaryOut;
export type IngressTarget = IngressTargetOut;
export type EnrollmentToken = z.infer<typeof enrollmentTokenSchema>;
export type TestResult = z.infer<typeof testResultSchema>;
export type Readiness = NonNullable<TestResult["readiness"]>;
export type Policy = PolicyOut;
export type PolicyTest = PolicyTestOut;
export type MoveJob = z.infer<typeof moveJobSchema>;
export type MovePlan = z.infer<typeof movePlanSchema>;
export type PolicyGroup = PolicyGroupOut;
export type Resolution = z.infer<typeof resolutionSchema>;
export type FileStorage = z.infer<typeof fileStorageSchema>;
export type Team = TeamOut;
export type TeamDetail = TeamDetailOut;

export type Upload = UploadOut;
export type PresignedPart = PresignedPartOut;
export type FileItem = FileOut;
export type FolderItem = FolderOut;
export type Item = FileOut | FolderOut;
export type Listing = z.infer<typeof listingSchema>;
export type CreatedShare = z.infer<typeof createdShareSchema>;
export type PublicShare = z.infer<typeof shareViewSchema>;
export type AppPassword = z.infer<typeof appPasswordSchema>;
export type CreatedAppPassword = z.infer<typeof createdAppPasswordSchema>;
