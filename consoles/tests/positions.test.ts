import { describe, expect, it } from "vitest";

import {
  covering,
  drawnHeading,
  LivePositions,
  merge,
  widened,
  type LivePosition,
  type TrackingLink,
  type TrackingState,
} from "../src/positions";

function fix(unit: string, time: string, lon = 9.52, heading: number | null = 90, speed: number | null = 10): LivePosition {
  return { unit_id: unit, lon, lat: 47.14, time, received: time, speed, heading, accuracy: 5, source: "terminal" };
}

class TestLink implements TrackingLink {
  onopen: ((event: never) => void) | null = null;
  onmessage: ((message: never) => void) | null = null;
  onclose: ((event: never) => void) | null = null;
  readyState = 0;
  sent: unknown[] = [];
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(): void {
    this.readyState = 3;
    this.onclose?.(undefined as never);
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.(undefined as never);
  }
  frame(body: unknown): void {
    this.onmessage?.({ data: JSON.stringify(body) } as never);
  }
}

describe("live positions", () => {
  it("take a snapshot as the whole picture and positions as changes to it", () => {
    const first = merge(new Map(), { type: "snapshot", positions: [fix("E1", "2026-12-07T10:00:00Z"), fix("E2", "2026-12-07T10:00:00Z")] });
    expect([...first.keys()]).toEqual(["E1", "E2"]);
    const moved = merge(first, { type: "positions", positions: [fix("E1", "2026-12-07T10:00:05Z", 9.53)] });
    expect(moved.get("E1")?.lon).toBe(9.53);
    expect(moved.get("E2")).toEqual(first.get("E2"));
    const again = merge(moved, { type: "snapshot", positions: [fix("E2", "2026-12-07T10:00:06Z")] });
    expect([...again.keys()]).toEqual(["E2"]);
  });

  it("never move a marker back to an older fix", () => {
    const now = merge(new Map(), { type: "positions", positions: [fix("E1", "2026-12-07T10:00:05Z", 9.53)] });
    const late = merge(now, { type: "positions", positions: [fix("E1", "2026-12-07T10:00:01Z", 9.51)] });
    expect(late.get("E1")?.lon).toBe(9.53);
  });

  it("leave the picture alone on a frame that is no picture", () => {
    const now = new Map([["E1", fix("E1", "2026-12-07T10:00:05Z")]]);
    expect(merge(now, { type: "error", code: "tracking.message_invalid" })).toBe(now);
  });

  it("point a moving unit's marker, not a standing one's", () => {
    expect(drawnHeading({ heading: 90.4, speed: 12 })).toBe(90);
    expect(drawnHeading({ heading: 359.7, speed: 12 })).toBe(0);
    expect(drawnHeading({ heading: -90, speed: null })).toBe(270);
    expect(drawnHeading({ heading: 45, speed: 0 })).toBeNull();
    expect(drawnHeading({ heading: null, speed: 12 })).toBeNull();
  });

  it("watch a little more than the viewport, within the world", () => {
    expect(widened([9, 47, 10, 48])).toEqual([8.75, 46.75, 10.25, 48.25]);
    expect(widened([-180, -90, 180, 90])).toEqual([-180, -90, 180, 90]);
  });

  it("open on every region at once for a user who covers them all", () => {
    expect(covering([[9, 47, 10, 48], [8.5, 47.5, 9.5, 48.5]])).toEqual([8.5, 47, 10, 48.5]);
    expect(covering([])).toBeNull();
  });

  it("subscribe to the viewport on connecting, again when it moves and after a drop", async () => {
    const links: TestLink[] = [];
    const states: TrackingState[] = [];
    const pictures: string[][] = [];
    const tracking = new LivePositions({
      open: () => {
        const link = new TestLink();
        links.push(link);
        return link;
      },
      onMarkers: (markers) => pictures.push([...markers.keys()]),
      onState: (s) => states.push(s),
      wait: async () => undefined,
    });
    tracking.watch([9, 47, 10, 48]);
    tracking.start();
    links[0]?.open();
    expect(links[0]?.sent).toEqual([{ type: "subscribe", bbox: [9, 47, 10, 48] }]);
    links[0]?.frame({ type: "snapshot", positions: [fix("E1", "2026-12-07T10:00:00Z")] });
    tracking.watch([9.1, 47, 10.1, 48]);
    expect(links[0]?.sent).toHaveLength(2);
    links[0]?.close(); // the link drops
    await Promise.resolve();
    await Promise.resolve();
    links[1]?.open();
    expect(links[1]?.sent).toEqual([{ type: "subscribe", bbox: [9.1, 47, 10.1, 48] }]);
    links[1]?.frame({ type: "snapshot", positions: [fix("E2", "2026-12-07T10:00:09Z")] });
    expect(pictures).toEqual([["E1"], ["E2"]]);
    expect(states).toEqual(["connecting", "live", "reconnecting", "live"]);
    tracking.stop();
    expect(links).toHaveLength(2);
  });
});
