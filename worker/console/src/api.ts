// Owns talking to the primary's /api/v1: same-origin fetch with the session cookie, JSON in and out,
// and the error envelope turned into ApiError (code + message) that pages show as they are.

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: unknown;
  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

interface Envelope {
  error?: { code?: string; message?: string; details?: unknown };
}

export async function readError(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => "");
  let envelope: Envelope = {};
  try {
    envelope = JSON.parse(text) as Envelope;
  } catch {
    // Not our envelope (a proxy page, a follower error): keep the status.
  }
  const err = envelope.error;
  return new ApiError(
    response.status,
    err?.code ?? `http_${response.status}`,
    err?.message ?? (text.slice(0, 200) || response.statusText),
    err?.details,
  );
}

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: body === undefined ? { accept: "application/json" } : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw await readError(response);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text === "" ? undefined : JSON.parse(text)) as T;
}

/** "code: message" for the status line, with zod field problems appended when present. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) {
    const problems = Array.isArray(error.details)
      ? (error.details as { path?: string; message?: string }[])
          .map((d) => `${d.path ?? ""} ${d.message ?? ""}`.trim())
          .filter(Boolean)
      : [];
    return `${error.message} (${error.code})${problems.length ? `: ${problems.join("; ")}` : ""}`;
  }
  return error instanceof Error ? error.message : String(error);
}
