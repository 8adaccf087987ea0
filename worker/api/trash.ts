// Owns the wire shape of /api/v1/spaces/:space/trash: the trash listing (what the user deleted, each
// the root of what went with it) and the count of what emptying it purged.
import { z } from "zod";
import { pageQuery } from "./files.ts";

export const trashQuery = z.object(pageQuery);

export const emptyTrashSchema = z.object({
  purged_files: z.number().int(),
  purged_folders: z.number().int(),
});
