// Owns single-use upload tickets of presigned PUT URLs. A ticket is claimed when its upload starts,
// released if the upload fails before committing (the browser may retry the same URL), and kept as used
// after a commit until the URL expires. In memory and bounded; URLs signed before the process started
// are refused by the caller, so a restart cannot reopen a used ticket.
import { AppError } from "../shared/errors.ts";

export class TicketBook {
  readonly #tickets = new Map<string, { used: boolean; expiresAt: number }>();
  readonly #max: number;

  constructor(maxEntries = 100_000) {
    this.#max = maxEntries;
  }

  claim(ticket: string, expiresAt: number, now: number): void {
    const existing = this.#tickets.get(ticket);
    if (existing && existing.expiresAt >= now) {
      throw new AppError(
        "presign_ticket_used",
        existing.used ? "This upload URL was already used." : "This upload URL is in use by another request.",
      );
    }
    if (this.#tickets.size >= this.#max) {
      for (const [key, entry] of this.#tickets) if (entry.expiresAt < now) this.#tickets.delete(key);
    }
    if (this.#tickets.size >= this.#max) throw new AppError("rate_limited", "Too many open upload URLs.");
    this.#tickets.set(ticket, { used: false, expiresAt });
  }

  commit(ticket: string): void {
    const entry = this.#tickets.get(ticket);
    if (entry) entry.used = true;
  }

  release(ticket: string): void {
    const entry = this.#tickets.get(ticket);
    if (entry && !entry.used) this.#tickets.delete(ticket);
  }
}
