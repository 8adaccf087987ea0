// Owns the small pieces every /api/v1 resource schema shares: id path params, names, and timestamps
// (ISO 8601 strings on the wire, Date in the database).
import { z } from "zod";

export const idParams = z.object({ id: z.string().min(1).max(64) });

/** Timestamps leave the API as ISO 8601 strings. */
export const timestamp = z.iso.datetime();
export function iso(date: Date): string;
export function iso(date: Date | null): string | null;
export function iso(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}

export const nameSchema = z.string().trim().min(1).max(100);
