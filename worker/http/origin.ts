// Owns the primary's public origin as links and commands name it: PUBLIC_URL when configured (behind
// a proxy the request's own URL may be an internal one), else the origin the request came to.
import type { Services } from "../services.ts";

export function primaryOrigin(services: Services, request: Request): string {
  return services.env.PUBLIC_URL ?? new URL(request.url).origin;
}
