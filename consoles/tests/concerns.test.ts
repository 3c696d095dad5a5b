import { describe, expect, it } from "vitest";

import { concerns } from "../src/events";
import { FeedListeners, type FeedEvent } from "../src/live";

function event(subject_type: string, subject_id: string, data: Record<string, unknown> = {}): FeedEvent {
  return { seq: 1, at: "2026-12-07T10:00:00Z", type: `${subject_type}.x`, subject_type, subject_id, data };
}

describe("an event concerns an incident", () => {
  const units = new Set(["E1"]);

  it("when it is the incident's own", () => {
    expect(concerns(event("incident", "7"), 7, units)).toBe(true);
    expect(concerns(event("incident", "8", { incident_id: 7 }), 7, units)).toBe(false);
  });

  it("when a unit on it changes", () => {
    expect(concerns(event("unit", "E1", { to: "on_scene" }), 7, units)).toBe(true);
    expect(concerns(event("unit", "E2", { to: "on_scene" }), 7, units)).toBe(false);
  });

  it("when it names the incident", () => {
    expect(concerns(event("unit", "E2", { incident_id: 7 }), 7, units)).toBe(true);
    expect(concerns(event("unit", "E2", { from_incident: 3, to_incident: 7 }), 7, units)).toBe(true);
    expect(concerns(event("call", "c-1", { incident_id: "7" }), 7, units)).toBe(true);
    expect(concerns(event("call", "c-1", { incident_id: 70, count: 7 }), 7, units)).toBe(false);
  });
});

describe("the feed's listeners", () => {
  it("hear each event until they stop listening", () => {
    const listeners = new FeedListeners();
    const heard: number[] = [];
    const off = listeners.on((e) => heard.push(e.seq));
    listeners.emit(event("incident", "7"));
    off();
    listeners.emit(event("incident", "7"));
    expect(heard).toEqual([1]);
  });
});
