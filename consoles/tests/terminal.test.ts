import { describe, expect, it } from "vitest";

import { Outbox, received, START } from "../src/terminal";

describe("the terminal's outbox", () => {
  it("keeps each frame until it is answered and replays the rest in order", () => {
    const outbox = new Outbox("E1");
    const status = outbox.status("en_route");
    const ack = outbox.acknowledge(7);
    const fix = outbox.position({ lat: 47.1, lon: 9.5, time: 1777622410000, accuracy: 5, speed: null, heading: Number.NaN });
    expect(new Set([status.key, ack.key, fix.key]).size).toBe(3);
    expect(fix.position).toEqual({ lat: 47.1, lon: 9.5, time: 1777622410000, accuracy: 5 });
    outbox.answered(ack.key);
    expect(outbox.pending().map((f) => f.type)).toEqual(["status", "position"]);
    outbox.answered(null); // an error about no frame in particular
    expect(outbox.pending()).toHaveLength(2);
  });
});

describe("the terminal's state", () => {
  it("follows hello, the assignment, the acknowledgment and its end", () => {
    let s = received(START, { type: "hello", unit_id: "FS1-E1", status: "available" });
    s = received(s, {
      type: "assignment",
      event: "new",
      unit_status: "dispatched",
      assignment: { id: 7, acknowledged_at: null },
      incident: { id: 3, number: "2026-000003" },
      route: { seconds: 214.5, metres: 2380 },
    });
    expect(s).toMatchObject({ unitId: "FS1-E1", status: "dispatched", assignment: { id: 7 }, route: { seconds: 214.5 } });
    s = received(s, { type: "ack", for: "ack" });
    expect(s.assignment?.acknowledged_at).not.toBeNull();
    s = received(s, { type: "ack", for: "status", status: "en_route" });
    expect(s.status).toBe("en_route");
    s = received(s, { type: "error", code: "unit.transition_refused", message: "no", params: { from: "en_route" } });
    expect(s.refused?.code).toBe("unit.transition_refused");
    s = received(s, { type: "assignment_ended", reason: "cancelled" });
    expect(s).toMatchObject({ assignment: null, incident: null, ended: "cancelled" });
  });
});
