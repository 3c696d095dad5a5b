// Track playback: the slider's moments and each unit's place at a moment.
import { describe, expect, it } from "vitest";

import { fixesOf, moments, positionsAt } from "../src/playback";

const T0 = Date.parse("2026-12-04T10:00:00Z");
const fix = (unit: string, s: number, lon: number) => ({
  geometry: { coordinates: [lon, 47.14] },
  properties: { unit_id: unit, time: new Date(T0 + s * 1000).toISOString(), heading_deg: 90 },
});

describe("track playback", () => {
  const fixes = fixesOf([fix("E2", 20, 9.53), fix("E1", 10, 9.50), fix("E1", 30, 9.52), fix("E2", 20, 9.53)]);

  it("orders the fixes by time and stops at each distinct moment", () => {
    expect(fixes.map((f) => [f.unit, f.time - T0])).toEqual([["E1", 10_000], ["E2", 20_000], ["E2", 20_000], ["E1", 30_000]]);
    expect(moments(fixes).map((m) => m - T0)).toEqual([10_000, 20_000, 30_000]);
  });

  it("places each unit at its latest fix, and no unit before its first", () => {
    expect(positionsAt(fixes, T0 + 5_000)).toEqual([]);
    expect(positionsAt(fixes, T0 + 25_000).map((f) => [f.unit, f.lon])).toEqual([["E1", 9.5], ["E2", 9.53]]);
    expect(positionsAt(fixes, T0 + 30_000).map((f) => [f.unit, f.lon])).toEqual([["E1", 9.52], ["E2", 9.53]]);
  });
});
