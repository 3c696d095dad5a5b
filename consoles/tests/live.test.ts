import { describe, expect, it } from "vitest";

import { accept, LiveFeed, reconnectDelay, type FeedEvent, type FeedState, type Link } from "../src/live";

function event(seq: number): FeedEvent {
  return { seq, at: "2026-12-02T10:00:00Z", type: "test.tick", subject_type: "t", subject_id: String(seq) };
}

class TestLink implements Link {
  onopen: ((event: never) => void) | null = null;
  onmessage: ((message: never) => void) | null = null;
  onclose: ((event: never) => void) | null = null;
  closed = false;
  constructor(readonly after: number) {}
  close(): void {
    this.closed = true;
    this.onclose?.(undefined as never);
  }
  send(e: FeedEvent): void {
    this.onmessage?.({ data: JSON.stringify(e) } as never);
  }
}

describe("the live feed", () => {
  it("backs off quickly at first and never beyond 8 s", () => {
    expect([0, 1, 2, 3, 4, 5, 10].map(reconnectDelay)).toEqual([0.5, 1, 2, 4, 8, 8, 8]);
  });

  it("drops what it has seen", () => {
    expect(accept(5, event(6))).toBe(6);
    expect(accept(6, event(6))).toBeNull();
    expect(accept(6, event(2))).toBeNull();
  });

  it("starts at the head and resumes after the last event seen", async () => {
    const links: TestLink[] = [];
    const states: FeedState[] = [];
    const seen: number[] = [];
    const feed = new LiveFeed({
      head: async () => 41,
      open: (after) => {
        const link = new TestLink(after);
        links.push(link);
        return link;
      },
      onEvent: (e) => seen.push(e.seq),
      onState: (s) => states.push(s),
      wait: async () => undefined,
    });
    await feed.start();
    expect(links[0]?.after).toBe(41);
    links[0]?.onopen?.(undefined as never);
    links[0]?.send(event(42));
    links[0]?.send(event(43));
    links[0]?.onclose?.(undefined as never); // the link drops
    await Promise.resolve();
    await Promise.resolve();
    expect(links[1]?.after).toBe(43);
    links[1]?.onopen?.(undefined as never);
    links[1]?.send(event(43)); // sent again by the server: not shown twice
    links[1]?.send(event(44));
    expect(seen).toEqual([42, 43, 44]);
    expect(states).toEqual(["connecting", "live", "reconnecting", "live"]);
    feed.stop();
    expect(links.length).toBe(2);
  });
});
