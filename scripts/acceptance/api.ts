// Owns the acceptance walk's HTTP client for Flotilla's public API: bearer-token calls, JSON answers
// checked against the API's own zod schemas, and refusals turned into one error that names the code,
// status and request id (so a failed step says exactly what the server answered).
import type { z } from "zod";
import { errorEnvelopeSchema } from "../../shared/errors.ts";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId: string | null;

  constructor(
    method: string,
    path: string,
    status: number,
    code: string,
    message: string,
    requestId: string | null,
  ) {
    super(`${method} ${path} -> ${status} ${code}: ${message}${requestId ? ` (request ${requestId})` : ""}`);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
  }
}

/** Reads an error answer: the JSON envelope when there is one, else the status line and a text excerpt. */
export async function apiErrorFrom(method: string, path: string, response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => "");
  try {
    const { error } = errorEnvelopeSchema.parse(JSON.parse(text));
    return new ApiError(method, path, response.status, error.code, error.message, error.request_id);
  } catch {
    const excerpt = text.slice(0, 200).replace(/\s+/g, " ");
    return new ApiError(method, path, response.status, "http_error", excerpt || response.statusText, null);
  }
}

const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE"]);

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Raw body (streams need `duplex: "half"`, set here). */
  raw?: BodyInit;
  redirect?: RequestRedirect;
  /** Send without the bearer token (public routes). */
  anonymous?: boolean;
}

export class Api {
  readonly baseUrl: string;
  token: string | null;

  constructor(baseUrl: string, token: string | null = null) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.token = token;
  }

  as(token: string): Api {
    return new Api(this.baseUrl, token);
  }

  url(path: string): string {
    return path.startsWith("http://") || path.startsWith("https://") ? path : `${this.baseUrl}${path}`;
  }

  /** The raw response, whatever its status. */
  async fetch(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const headers = new Headers(options.headers);
    if (this.token && !options.anonymous) headers.set("authorization", `Bearer ${this.token}`);
    let body: BodyInit | undefined = options.raw;
    if (options.body !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(options.body);
    }
    const init: RequestInit & { duplex?: "half" } = { method, headers, body, redirect: options.redirect };
    if (body instanceof ReadableStream) init.duplex = "half";
    // A keep-alive connection the server closed as a request went out fails before any answer; an
    // idempotent request with a replayable body is sent once more. The second failure is reported.
    const replayable = IDEMPOTENT.has(method) && !(body instanceof ReadableStream);
    for (let attempt = 1; ; attempt++) {
      try {
        return await fetch(this.url(path), init);
      } catch (error) {
        if (replayable && attempt === 1) continue;
        const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
        const detail = cause ? ` (${(cause as NodeJS.ErrnoException).code ?? cause.message})` : "";
        throw new Error(
          `${method} ${path}: ${error instanceof Error ? error.message : String(error)}${detail}`,
        );
      }
    }
  }

  /** A 2xx JSON answer parsed with `schema`; anything else throws ApiError. */
  async json<T>(
    method: string,
    path: string,
    schema: z.ZodType<T>,
    options: RequestOptions = {},
  ): Promise<T> {
    const response = await this.fetch(method, path, options);
    if (!response.ok) throw await apiErrorFrom(method, path, response);
    const text = await response.text();
    const parsed = schema.safeParse(text === "" ? undefined : JSON.parse(text));
    if (!parsed.success) {
      throw new Error(
        `${method} ${path} answered a body the API contract does not allow: ${parsed.error.message}`,
      );
    }
    return parsed.data;
  }

  /** A 2xx answer whose body is ignored (204 and the like). */
  async ok(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const response = await this.fetch(method, path, options);
    if (!response.ok) throw await apiErrorFrom(method, path, response);
    await response.body?.cancel();
    return response;
  }
}
