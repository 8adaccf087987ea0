// Owns how tests read refusals: the one JSON error envelope (shared/errors.ts) from an answer, or the
// AppError code a client call was rejected with. Anything else fails the test with what came instead.
import { AppError, errorEnvelopeSchema } from "../../shared/errors.ts";

export interface Refusal {
  status: number;
  code: string;
  message: string;
  details: unknown;
}

/** Reads an error envelope and returns its code (fails the test if the body is not an envelope). */
export async function errorCode(response: Response): Promise<string> {
  const body = (await response.json()) as { error?: { code?: string } };
  if (!body.error?.code) throw new Error(`expected an error envelope, got ${JSON.stringify(body)}`);
  return body.error.code;
}

/** Expects a refusal (not 2xx/3xx) in the envelope; returns its status, code, message and details. */
export async function refusalOf(response: Response, what = "the request"): Promise<Refusal> {
  const text = await response.text();
  if (response.ok) throw new Error(`${what}: expected a refusal, got ${response.status}: ${text}`);
  const { error } = errorEnvelopeSchema.parse(JSON.parse(text));
  return { status: response.status, code: error.code, message: error.message, details: error.details };
}

/** The code of the AppError `promise` rejects with (a client call refused by the other side); "none" if it succeeds. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  return "none";
}
