import { describe, expect, it } from "vitest";

import { countBy, startOfDay, targetShares } from "../src/board";

describe("the leader board's figures", () => {
  it("counts by a key, most first", () => {
    expect(countBy(["fire", "medical", "fire", null], (x) => x)).toEqual([
      { key: "fire", count: 2 },
      { key: "-", count: 1 },
      { key: "medical", count: 1 },
    ]);
  });

  it("starts today at local midnight", () => {
    const day = startOfDay(new Date(2026, 11, 2, 15, 30));
    expect([day.getHours(), day.getMinutes(), day.getDate()]).toEqual([0, 0, 2]);
  });

  it("shows each target once, in percent", () => {
    const shares = targetShares([
      { targets: [{ name: "NFPA 1221 alarm processing", share_met: 0.875, share_required: 0.9, count: 8 }] },
      { targets: [{ name: "NFPA 1221 alarm processing", share_met: 0.5, share_required: 0.9, count: 2 }, { name: "x", share_met: null, share_required: 0.9, count: 0 }] },
    ]);
    expect(shares).toEqual([
      { name: "NFPA 1221 alarm processing", met: 88, required: 90, count: 8 },
      { name: "x", met: null, required: 90, count: 0 },
    ]);
  });
});
