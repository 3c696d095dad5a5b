import { describe, expect, it } from "vitest";

import { distanceM, diverts, mergePreview, movableUnits, otherOpen, replacements, type IncidentLike, type UnitLike } from "../src/merging";

function incident(id: number, over: Partial<IncidentLike> = {}): IncidentLike {
  return {
    id,
    number: `2026-${String(id).padStart(6, "0")}`,
    status: "new",
    priority: 3,
    response_level: "IV",
    command_level: "district",
    lon: 9.52,
    lat: 47.14,
    merged_into: null,
    ...over,
  };
}

describe("the incidents a merge or a move may choose", () => {
  it("are the open ones other than this one, nearest first", () => {
    const here = incident(123);
    const far = incident(1, { lon: 9.6 });
    const near = incident(2, { lon: 9.521 });
    const closed = incident(3, { status: "closed" });
    const cancelled = incident(4, { status: "cancelled" });
    const merged = incident(5, { merged_into: 9 });
    const chosen = otherOpen([far, here, closed, near, cancelled, merged], here);
    expect(chosen.map((i) => i.id)).toEqual([2, 1]);
  });

  it("are ordered by number at the same place, and none without an incident", () => {
    const here = incident(10);
    expect(otherOpen([incident(12), incident(11)], here).map((i) => i.number)).toEqual(["2026-000011", "2026-000012"]);
    expect(otherOpen([incident(12)], null)).toEqual([]);
  });

  it("measures metres on the earth", () => {
    // a thousandth of a degree of latitude is about 111 m
    expect(Math.round(distanceM({ lon: 9.52, lat: 47.14 }, { lon: 9.52, lat: 47.141 }))).toBe(111);
    expect(distanceM({ lon: 9.52, lat: 47.14 }, { lon: 9.52, lat: 47.14 })).toBe(0);
  });
});

describe("the preview of a merge", () => {
  it("says what the server does: the absorbed cancelled, what moves, the more serious of both", () => {
    const survivor = incident(123, { priority: 3, response_level: "III", command_level: "city" });
    const absorbed = incident(124, { priority: 1, response_level: "II", command_level: "district" });
    expect(mergePreview(survivor, absorbed, { calls: 2, units: 1 })).toEqual({
      survivor: "2026-000123",
      absorbed: "2026-000124",
      calls: 2,
      units: 1,
      priority: 1,
      level: "II",
      command: "city",
    });
  });

  it("takes the higher command level whichever side has it", () => {
    const survivor = incident(1, { command_level: "department" });
    const absorbed = incident(2, { command_level: "district", response_level: "I" });
    const planned = mergePreview(survivor, absorbed, { calls: 0, units: 0 });
    expect(planned?.command).toBe("district");
    expect(planned?.level).toBe("I");
  });

  it("is none for a merge the server refuses", () => {
    const open = incident(1);
    expect(mergePreview(open, open, { calls: 0, units: 0 })).toBeNull();
    expect(mergePreview(open, incident(2, { status: "closed" }), { calls: 0, units: 0 })).toBeNull();
    expect(mergePreview(incident(2, { status: "cancelled" }), open, { calls: 0, units: 0 })).toBeNull();
  });
});

describe("the units a move may take", () => {
  it("are those still assigned and not carrying a patient, once each", () => {
    expect(
      movableUnits([
        { unit_id: "E2", ended_at: null },
        { unit_id: "A1", ended_at: null, transporting_at: "2026-01-01T10:00:00Z" },
        { unit_id: "A2", ended_at: null, at_hospital_at: "2026-01-01T10:00:00Z" },
        { unit_id: "E1", ended_at: "2026-01-01T10:00:00Z" },
        { unit_id: "E1", ended_at: null },
      ]),
    ).toEqual(["E1", "E2"]);
  });
});

describe("the units that may replace one on the incident", () => {
  const unit = (id: string, over: Partial<UnitLike> = {}): UnitLike => ({ id, callsign: id, unit_type: "engine", status: "available", incident_id: null, ...over });
  const board = [
    unit("E1", { status: "en_route", incident_id: 7 }), // the one replaced
    unit("E3"),
    unit("A1", { unit_type: "ambulance_bls" }),
    unit("E2", { status: "returning" }),
    unit("E4", { status: "on_scene", incident_id: 8 }),
    unit("E5", { status: "dispatched", incident_id: 7 }), // on this incident already
    unit("E6", { status: "out_of_service" }),
    unit("A2", { unit_type: "ambulance_bls", status: "transporting", incident_id: 8 }),
  ];

  it("are the free ones, of the replaced unit's type first, then by callsign", () => {
    expect(replacements(board, 7, "E1", false).map((u) => u.id)).toEqual(["E2", "E3", "A1"]);
  });

  it("with divert also take a unit working elsewhere, after the free ones of its type", () => {
    expect(replacements(board, 7, "E1", true).map((u) => u.id)).toEqual(["E2", "E3", "E4", "A1"]);
    expect(diverts(unit("E4", { status: "on_scene" }))).toBe(true);
    expect(diverts(unit("E2", { status: "returning" }))).toBe(false);
  });

  it("never take the replaced unit, nor one on this incident, out of service or carrying a patient", () => {
    const ids = replacements(board, 7, "E1", true).map((u) => u.id);
    for (const id of ["E1", "E5", "E6", "A2"]) expect(ids).not.toContain(id);
    expect(replacements([], 7, "E1", true)).toEqual([]);
  });
});
