// The follower channel's multiplexer, both ends in one process joined by an in-memory socket that
// delivers messages in order, one event-loop turn later, as copies: requests and answers with bodies
// both ways, many at once, the credit window holding a reader that does not read (while another
// stream finishes), cancellation in both directions (the follower's handler told through its
// request's signal), a failing body and a lost socket failing the reader instead of ending it short, a
// sender that ignores its window cut off, and an opener that keeps a bounded number of streams open
// while later requests wait in order, one whose caller gave up never opened.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { AppError } from "../../shared/errors.ts";
import {
  decodeFrame,
  encodeFrame,
  encodeHead,
  FRAME,
  INITIAL_WINDOW_BYTES,
  MAX_DATA_BYTES,
  openHeadSchema,
} from "../../shared/protocol/channel.ts";
import { ChannelMux } from "../../shared/protocol/channel-mux.ts";

interface Pair {
  opener: ChannelMux;
  acceptor: ChannelMux;
  bytes: { out: number; in: number };
  protocolErrors: AppError[];
  /** Streams the acceptor was sent an OPEN for, in order. */
  opened: number[];
  /** Drops the socket: both ends fail their streams. */
  cut(): void;
}

/** A frame as one end took it in (called just after, in the same turn). */
type Delivered = (to: "opener" | "acceptor", frame: { type: number; stream: number }) => void;

function pair(
  serve: (request: Request) => Promise<Response>,
  limit?: { maxOpenStreams: number; countsAgainstLimit: (request: Request) => boolean },
  delivered?: Delivered,
): Pair {
  const bytes = { out: 0, in: 0 };
  const protocolErrors: AppError[] = [];
  const opened: number[] = [];
  let cut = false;
  const deliver = (name: "opener" | "acceptor", to: () => ChannelMux) => ({
    send(message: Uint8Array<ArrayBuffer>) {
      if (cut) throw new Error("socket closed");
      const copy = message.slice();
      const frame = decodeFrame(copy);
      if (name === "acceptor" && frame.type === FRAME.open) opened.push(frame.stream);
      setImmediate(() => {
        if (cut) return;
        to().receive(copy);
        delivered?.(name, frame);
      });
    },
  });
  const opener: ChannelMux = new ChannelMux({
    transport: deliver("acceptor", () => acceptor),
    ...limit,
    onBytes: (direction, count) => {
      bytes[direction] += count;
    },
    onProtocolError: (error) => void protocolErrors.push(error),
  });
  const acceptor: ChannelMux = new ChannelMux({
    transport: deliver("opener", () => opener),
    serve,
    origin: "http://agent.test",
    onProtocolError: (error) => void protocolErrors.push(error),
  });
  return {
    opener,
    acceptor,
    bytes,
    protocolErrors,
    opened,
    cut() {
      cut = true;
      const lost = new AppError("follower_unreachable", "The channel closed.");
      opener.close(lost);
      acceptor.close(lost);
    },
  };
}

/** A body of `size` pseudo-random bytes in 64 KiB chunks, made as it is read. */
function generated(size: number, seed = 1): { stream: ReadableStream<Uint8Array>; sha256: string } {
  const hash = createHash("sha256");
  const chunks: Uint8Array[] = [];
  let state = seed;
  for (let offset = 0; offset < size; offset += 65536) {
    const chunk = new Uint8Array(Math.min(65536, size - offset));
    for (let i = 0; i < chunk.length; i += 4) {
      state = (state * 1103515245 + 12345) >>> 0;
      chunk[i] = state & 0xff;
    }
    hash.update(chunk);
    chunks.push(chunk);
  }
  let index = 0;
  return {
    sha256: hash.digest("hex"),
    stream: new ReadableStream({
      pull(controller) {
        const chunk = chunks[index++];
        if (chunk) controller.enqueue(chunk);
        else controller.close();
      },
    }),
  };
}

async function sha256Of(stream: ReadableStream<Uint8Array>): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { size, sha256: hash.digest("hex") };
}

const until = async (condition: () => boolean) => {
  for (let i = 0; i < 2000 && !condition(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(condition()).toBe(true);
};

describe("the follower channel's multiplexer", () => {
  it("carries a request with its method, path, query and headers, and the answer back", async () => {
    const { opener } = pair(async (request) => {
      const url = new URL(request.url);
      return Response.json(
        {
          method: request.method,
          path: url.pathname + url.search,
          auth: request.headers.get("authorization"),
        },
        { status: 201, headers: { etag: '"abc"' } },
      );
    });
    const response = await opener.fetch(
      new Request("https://follower/internal/v2/objects/a/b?size=3", {
        method: "DELETE",
        headers: { authorization: "AWS4-HMAC-SHA256 x", connection: "keep-alive" },
      }),
    );
    expect(response.status).toBe(201);
    expect(response.headers.get("etag")).toBe('"abc"');
    expect(await response.json()).toEqual({
      method: "DELETE",
      path: "/internal/v2/objects/a/b?size=3",
      auth: "AWS4-HMAC-SHA256 x",
    });
  });

  it("streams 20 MiB up and 20 MiB down on one stream, byte for byte", async () => {
    const down = generated(20 * 1024 * 1024 + 17, 7);
    let received: { size: number; sha256: string } | null = null;
    const { opener } = pair(async (request) => {
      received = await sha256Of(request.body!);
      return new Response(down.stream, { headers: { "content-length": String(20 * 1024 * 1024 + 17) } });
    });
    const up = generated(20 * 1024 * 1024 + 5, 3);
    const init: RequestInit & { duplex: "half" } = { method: "PUT", body: up.stream, duplex: "half" };
    const response = await opener.fetch(new Request("https://follower/put", init));
    expect(received).toEqual({ size: 20 * 1024 * 1024 + 5, sha256: up.sha256 });
    expect(response.headers.get("content-length")).toBe(String(20 * 1024 * 1024 + 17));
    expect(await sha256Of(response.body!)).toEqual({ size: 20 * 1024 * 1024 + 17, sha256: down.sha256 });
  });

  it("answers 20 requests at once, each with its own body", async () => {
    const { opener, acceptor } = pair(async (request) => {
      const n = Number(new URL(request.url).searchParams.get("n"));
      return new Response(generated(300_000 + n * 1000, n).stream);
    });
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, n) => {
        const response = await opener.fetch(new Request(`https://follower/get?n=${n}`));
        return sha256Of(response.body!);
      }),
    );
    results.forEach((result, n) => {
      expect(result).toEqual({ size: 300_000 + n * 1000, sha256: generated(300_000 + n * 1000, n).sha256 });
    });
    await until(() => opener.openStreams === 0 && acceptor.openStreams === 0);
  });

  it("holds a reader that does not read to its window, while another stream finishes", async () => {
    let pulled = 0;
    const { opener, bytes } = pair(async (request) => {
      if (new URL(request.url).pathname === "/slow") {
        return new Response(
          new ReadableStream({
            pull(controller) {
              pulled += 65536;
              controller.enqueue(new Uint8Array(65536));
            },
          }),
        );
      }
      return new Response(generated(8 * 1024 * 1024).stream);
    });
    const slow = await opener.fetch(new Request("https://follower/slow"));
    const reader = slow.body!.getReader();
    await reader.read();
    const other = await opener.fetch(new Request("https://follower/fast"));
    expect((await sha256Of(other.body!)).size).toBe(8 * 1024 * 1024);
    // The slow stream's sender stopped at its window: received but unread bytes stay below it.
    const slowReceived = bytes.in - 8 * 1024 * 1024;
    expect(slowReceived).toBeLessThanOrEqual(INITIAL_WINDOW_BYTES);
    expect(pulled).toBeLessThan(INITIAL_WINDOW_BYTES + 4 * MAX_DATA_BYTES);
    await reader.cancel();
  });

  it("cancels the follower's read when the primary's reader goes away", async () => {
    let cancelled: unknown = null;
    const { opener, acceptor } = pair(async () => {
      return new Response(
        new ReadableStream({
          pull(controller) {
            controller.enqueue(new Uint8Array(65536));
          },
          cancel(reason) {
            cancelled = reason ?? "cancelled";
          },
        }),
      );
    });
    const response = await opener.fetch(new Request("https://follower/endless"));
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel("browser left");
    await until(() => cancelled !== null);
    await until(() => acceptor.openStreams === 0 && opener.openStreams === 0);
  });

  it("errors the follower's request body when the primary aborts, before any answer", async () => {
    let bodyError: unknown = null;
    const { opener } = pair(async (request) => {
      try {
        await sha256Of(request.body!);
      } catch (error) {
        bodyError = error;
      }
      return new Response("too late");
    });
    const controller = new AbortController();
    const init: RequestInit & { duplex: "half" } = {
      method: "PUT",
      body: new ReadableStream({
        start(c) {
          c.enqueue(new Uint8Array(1000));
        },
      }),
      duplex: "half",
    };
    const answer = opener.fetch(new Request("https://follower/put", init), controller.signal);
    await new Promise((r) => setTimeout(r, 20));
    controller.abort(new Error("timed out"));
    await expect(answer).rejects.toThrow("timed out");
    await until(() => bodyError !== null);
  });

  it("fails the primary's reader when the follower's body fails mid-stream, never a short body", async () => {
    let sent = 0;
    const { opener } = pair(async () => {
      return new Response(
        new ReadableStream({
          pull(controller) {
            if (sent >= 1024 * 1024) {
              controller.error(new AppError("storage_unavailable", "The disk went away."));
              return;
            }
            sent += 65536;
            controller.enqueue(new Uint8Array(65536));
          },
        }),
      );
    });
    const response = await opener.fetch(new Request("https://follower/broken"));
    await expect(sha256Of(response.body!)).rejects.toMatchObject({ code: "storage_unavailable" });
  });

  it("fails every open stream when the socket is lost, mid-body and before an answer", async () => {
    let release: () => void = () => {};
    const p = pair(async (request) => {
      if (new URL(request.url).pathname === "/hang") {
        await new Promise<void>((resolve) => (release = resolve));
        return new Response("late");
      }
      return new Response(new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(65536)) }));
    });
    const streaming = await p.opener.fetch(new Request("https://follower/stream"));
    const hanging = p.opener.fetch(new Request("https://follower/hang"));
    const reader = streaming.body!.getReader();
    await reader.read();
    p.cut();
    await expect(hanging).rejects.toMatchObject({ code: "follower_unreachable" });
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return "ended";
      })(),
    ).rejects.toMatchObject({ code: "follower_unreachable" });
    release();
    await expect(p.opener.fetch(new Request("https://follower/after"))).rejects.toMatchObject({
      code: "follower_unreachable",
    });
  });

  it("ignores the rest of a request body once the follower has answered", async () => {
    const { opener, acceptor } = pair(async () => Response.json({ refused: true }, { status: 413 }));
    const up = generated(12 * 1024 * 1024);
    const init: RequestInit & { duplex: "half" } = { method: "PUT", body: up.stream, duplex: "half" };
    const response = await opener.fetch(new Request("https://follower/put", init));
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ refused: true });
    await until(() => opener.openStreams === 0 && acceptor.openStreams === 0);
  });

  it("cuts off a sender that goes past its window", async () => {
    const { acceptor, protocolErrors } = pair(async (request) => {
      await sha256Of(request.body!).catch(() => null);
      return new Response("ok");
    });
    acceptor.receive(
      encodeHead(FRAME.open, 9, openHeadSchema, { method: "PUT", path: "/put", headers: [], body: true }),
    );
    for (let sent = 0; sent <= INITIAL_WINDOW_BYTES; sent += MAX_DATA_BYTES) {
      acceptor.receive(encodeFrame(FRAME.data, 9, new Uint8Array(MAX_DATA_BYTES)));
    }
    expect(protocolErrors.map((e) => e.message)).toEqual([
      "Channel protocol: DATA beyond the granted window",
    ]);
  });

  it("keeps at most maxOpenStreams counted streams open: later ones wait in order, an uncounted one passes, an aborted one leaves the queue, a lost socket fails the rest", async () => {
    const arrived: string[] = [];
    const answers = new Map<string, () => void>();
    const { opener, cut } = pair(
      async (request) => {
        const name = new URL(request.url).pathname.slice(1);
        arrived.push(name);
        await new Promise<void>((resolve) => answers.set(name, resolve));
        return new Response(name);
      },
      {
        maxOpenStreams: 2,
        countsAgainstLimit: (request) => new URL(request.url).pathname !== "/probe",
      },
    );
    const ask = (name: string, signal?: AbortSignal) =>
      opener.fetch(new Request(`http://primary.test/${name}`), signal);
    // Waits until `count` requests reached the follower, then a little more for any that should not.
    const reached = async (count: number) => {
      while (arrived.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setTimeout(resolve, 20));
    };
    const a = ask("a");
    const b = ask("b");
    const aborted = new AbortController();
    const c = ask("c", aborted.signal);
    const d = ask("d");
    const e = ask("e");
    await reached(2);
    expect(arrived).toEqual(["a", "b"]);
    // A request that does not count against the limit is never held behind the others.
    const probe = ask("probe");
    await reached(3);
    answers.get("probe")!();
    expect(await (await probe).text()).toBe("probe");
    aborted.abort(new AppError("bad_request", "The browser went away."));
    await expect(c).rejects.toMatchObject({ code: "bad_request" });
    answers.get("a")!();
    expect(await (await a).text()).toBe("a");
    await reached(4);
    // c left the queue: d is next, and e still waits.
    expect(arrived).toEqual(["a", "b", "probe", "d"]);
    cut();
    await expect(e).rejects.toMatchObject({ code: "follower_unreachable" });
    await expect(b).rejects.toMatchObject({ code: "follower_unreachable" });
    await expect(d).rejects.toMatchObject({ code: "follower_unreachable" });
    expect(opener.openStreams).toBe(0);
  });

  it("never opens a queued request whose caller gave up: one aborted while it waits, one aborted as it is handed a stream; the next in line takes the stream and the count of open streams stays right", async () => {
    const arrived: string[] = [];
    const answers = new Map<string, () => void>();
    const gaveUp = { waiting: new AbortController(), handedOver: new AbortController() };
    let aStream = 0;
    const p = pair(
      async (request) => {
        const name = new URL(request.url).pathname.slice(1);
        arrived.push(name);
        await new Promise<void>((resolve) => answers.set(name, resolve));
        return new Response(name);
      },
      { maxOpenStreams: 1, countsAgainstLimit: () => true },
      (to, frame) => {
        // a's END frees its stream, which goes to c in this same turn: its caller gives up right then.
        if (to === "opener" && frame.type === FRAME.end && frame.stream === aStream) {
          gaveUp.handedOver.abort(new AppError("bad_request", "The browser went away."));
        }
      },
    );
    const ask = (name: string, signal?: AbortSignal) =>
      p.opener.fetch(new Request(`http://primary.test/${name}`), signal);
    const reached = async (count: number) => {
      await until(() => arrived.length >= count);
      await new Promise((resolve) => setTimeout(resolve, 20));
    };
    const a = ask("a");
    await reached(1);
    aStream = p.opened[0]!;
    const b = ask("b", gaveUp.waiting.signal);
    const c = ask("c", gaveUp.handedOver.signal);
    const d = ask("d");
    gaveUp.waiting.abort(new AppError("bad_request", "The browser went away."));
    await expect(b).rejects.toMatchObject({ code: "bad_request" });
    answers.get("a")!();
    expect(await (await a).text()).toBe("a");
    await expect(c).rejects.toMatchObject({ code: "bad_request" });
    await reached(2);
    // Neither b nor c reached the follower, not even as an OPEN it had to reset.
    expect(arrived).toEqual(["a", "d"]);
    expect(p.opened).toHaveLength(2);
    answers.get("d")!();
    expect(await (await d).text()).toBe("d");
    await until(() => p.opener.openStreams === 0 && p.acceptor.openStreams === 0);
    // One stream again, no more and no fewer: e opens, f waits for it.
    const e = ask("e");
    const f = ask("f");
    await reached(3);
    expect(arrived).toEqual(["a", "d", "e"]);
    answers.get("e")!();
    expect(await (await e).text()).toBe("e");
    await reached(4);
    answers.get("f")!();
    expect(await (await f).text()).toBe("f");
  });

  it("tells the follower's handler through its request's signal when the primary aborts a stream it has not answered yet, and cancels the body it answers after", async () => {
    let signal: AbortSignal | null = null;
    let bodyCancelled = false;
    const { opener, acceptor } = pair(async (request) => {
      signal = request.signal;
      await new Promise((resolve) => request.signal.addEventListener("abort", resolve, { once: true }));
      return new Response(
        new ReadableStream({
          pull: (controller) => controller.enqueue(new Uint8Array(65536)),
          cancel: () => {
            bodyCancelled = true;
          },
        }),
      );
    });
    const controller = new AbortController();
    const answer = opener.fetch(new Request("https://follower/internal/v2/objects/slow"), controller.signal);
    await until(() => signal !== null);
    expect(signal!.aborted).toBe(false);
    controller.abort(new AppError("bad_request", "The browser went away."));
    await expect(answer).rejects.toMatchObject({ code: "bad_request" });
    await until(() => signal!.aborted);
    expect(signal!.reason).toMatchObject({ code: "follower_unreachable" });
    await until(() => bodyCancelled);
    await until(() => acceptor.openStreams === 0 && opener.openStreams === 0);
  });

  it("aborts the follower handler's request signal when the socket is lost", async () => {
    let signal: AbortSignal | null = null;
    const p = pair(async (request) => {
      signal = request.signal;
      await new Promise((resolve) => request.signal.addEventListener("abort", resolve, { once: true }));
      return new Response(null, { status: 204 });
    });
    const answer = p.opener.fetch(new Request("https://follower/internal/v2/objects/slow"));
    await until(() => signal !== null);
    p.cut();
    await expect(answer).rejects.toMatchObject({ code: "follower_unreachable" });
    expect(signal!.aborted).toBe(true);
  });
});
