// Owns which files preview inline: raster images and PDFs, judged by the stored content type (served
// back as exactly that type with nosniff, so a browser never reinterprets the bytes). SVG is left
// out on purpose: it is a document that can carry script. Everything else downloads instead.
import { AppError } from "../../shared/errors.ts";
import type { FileRow } from "./records.ts";

export const PREVIEW_TYPES = new Set([
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "image/avif",
  "application/pdf",
]);

/** The content type to preview the file with, or 415 preview_unsupported. */
export function previewType(file: FileRow): string {
  const type = (file.contentType.split(";")[0] ?? "").trim().toLowerCase();
  if (!PREVIEW_TYPES.has(type)) {
    throw new AppError("preview_unsupported", "This file type has no inline preview; download it instead.", {
      details: { content_type: type, previewable: [...PREVIEW_TYPES] },
    });
  }
  return type;
}
