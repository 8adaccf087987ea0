// Owns the small pieces every /api/v1 resource schema shares: id path params, names, and timestamps
// (ISO 8601 strings on the wire, Date in the database).
import { z } from "zod";

/** An id as a request names it (a path segment, or a reference to another record in a body). */
export const idRef = z.string().min(1).max(64);
export const idParams = z.object({ id: idRef });

/** Timestamps leave the API as ISO 8601 strings. */
export const timestamp = z.iso.datetime().meta({ id: "Timestamp", description: "ISO 8601 date-time, UTC" });
export function iso(date: Date): string;
export function iso(date: Date | null): string | null;
export function iso(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}

export const nameSchema = z.string().trim().min(1).max(100);

/**
 * A success the handler answers itself with a Response (bytes, text, a redirect, a cache hit) instead
 * of a JSON body: declared here so the OpenAPI document says what the route really answers.
 */
export interface RawAnswer {
  status: number;
  description: string;
  /** Media type of the body; omitted for an answer without one (302, 304). */
  contentType?: string;
  /** A JSON body's schema (the presigned URL, an error envelope). */
  schema?: z.ZodType;
  /** Response headers this answer carries, name -> what it says. */
  headers?: Record<string, string>;
}

/** A request body read by the handler itself (file bytes), not parsed as JSON. */
export interface RawBody {
  contentType: string;
  description: string;
}

/** Request headers the route reads, name -> what it does. */
export type RequestHeaders = Record<string, { description: string; required?: boolean }>;
