// The agent's reconnect schedule when the primary is away: full jitter under a doubling cap, so a fleet
// of agents cut at the same moment spreads its attempts instead of storming back together, and a long
// outage settles at one attempt per minute or less per agent.
import { describe, expect, it } from "vitest";
import { BACKOFF, backoffMs } from "../../agent/channel.ts";

describe("channel reconnect backoff", () => {
  it("waits a uniform time under a cap that doubles from 0.5 s to 60 s and stays there", () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const cap = Math.min(BACKOFF.capMs, BACKOFF.baseMs * 2 ** attempt);
      const waits = Array.from({ length: 500 }, () => backoffMs(attempt));
      for (const wait of waits) {
        expect(wait).toBeGreaterThanOrEqual(0);
        expect(wait).toBeLessThanOrEqual(cap);
      }
      // Spread over the whole range, not bunched at one point (500 draws: both halves are hit).
      expect(waits.some((wait) => wait < cap / 2)).toBe(true);
      expect(waits.some((wait) => wait > cap / 2)).toBe(true);
    }
    expect(BACKOFF.baseMs * 2 ** 7).toBeGreaterThan(BACKOFF.capMs);
  });

  it("spreads a thousand agents cut at once: no 100 ms slot of their first retry holds more than a few percent", () => {
    const slots = new Map<number, number>();
    for (let agent = 0; agent < 1000; agent++) {
      const slot = Math.floor(backoffMs(4) / 100);
      slots.set(slot, (slots.get(slot) ?? 0) + 1);
    }
    // Attempt 4's cap is 8 s: 80 slots of 100 ms, 12.5 agents each on average.
    expect(Math.max(...slots.values())).toBeLessThan(50);
  });
});
