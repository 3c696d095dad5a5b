import { describe, expect, it } from "vitest";

import { EMPTY_FORM, formFrom, onMessage, type ScreenPop } from "../src/screenpop";

function pop(id: string, location: ScreenPop["location"] = null): ScreenPop {
  return {
    type: "screen_pop",
    seat: "Local/1001@agents",
    call: { id },
    caller: { number: "+4237775000", name: "Caller Pop" },
    earlier_calls: [],
    earlier_incidents: [],
    location,
    incident_draft: { call_id: id, source: "voice", caller_name: "Caller Pop", caller_phone: "+4237775000", location, address: "", summary: "" },
    history_pending: location === null,
  };
}

describe("the screen pop", () => {
  it("shows the newest call first, once", () => {
    const pops = onMessage(onMessage([], pop("a")), pop("b"));
    expect(pops.map((p) => p.call.id)).toEqual(["b", "a"]);
    expect(onMessage(pops, pop("a")).map((p) => p.call.id)).toEqual(["a", "b"]);
  });

  it("merges the history that follows, location included", () => {
    const located = { lat: 47.14, lon: 9.52, source: "aml" };
    const pops = onMessage([pop("a")], {
      type: "screen_pop_history",
      call_id: "a",
      earlier_calls: [{}],
      earlier_incidents: [{ number: "2026-000001" }],
      location: located,
    } as never);
    expect(pops[0]?.history_pending).toBe(false);
    expect(pops[0]?.earlier_incidents).toEqual([{ number: "2026-000001" }]);
    expect(pops[0]?.incident_draft.location).toEqual(located);
  });

  it("ignores what it does not know", () => {
    expect(onMessage([pop("a")], { type: "hello" })).toHaveLength(1);
  });

  it("fills the form from the draft and keeps what the call-taker chose", () => {
    const form = formFrom(pop("a", { lat: 47.1, lon: 9.5, source: "aml" }), { ...EMPTY_FORM, type: "fire.structure" });
    expect(form).toMatchObject({ call_id: "a", caller_phone: "+4237775000", lat: 47.1, lon: 9.5, type: "fire.structure" });
  });
});
