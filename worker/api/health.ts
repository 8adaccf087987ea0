// Owns the wire shape of GET /health: the primary is up and its database answers.
import { z } from "zod";

export const healthSchema = z
  .object({ status: z.literal("ok"), database: z.literal("ok") })
  .meta({ id: "Health" });
