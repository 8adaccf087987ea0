// Owns reading back the probe documents stored on a follower node's row (its capabilities and its
// /health/ready answer) through their protocol v2 schemas: a document that no longer parses (written
// by an older version, say) reads as absent rather than failing the request that reads it.
import type { z } from "zod";
import {
  type Capabilities,
  capabilitiesSchema,
  type Readiness,
  readinessSchema,
} from "../../shared/protocol/schemas.ts";

/** A stored JSON document read back through its schema; null when absent or no longer valid. */
function stored<T>(schema: z.ZodType<T>, json: string | null): T | null {
  if (!json) return null;
  try {
    const parsed = schema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function storedCapabilities(json: string | null): Capabilities | null {
  return stored(capabilitiesSchema, json);
}

export function storedReadiness(json: string | null): Readiness | null {
  return stored(readinessSchema, json);
}
