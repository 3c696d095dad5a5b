// The status board: running timers, alerts, escalation at twice the limit, what sounds.
import { describe, expect, it } from "vitest";

import { duration, fresh, rows, type BoardAlert, type BoardUnit } from "../src/statusboard";

const T0 = Date.parse("2026-12-04T10:00:00Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

const units: BoardUnit[] = [
  { id: "E2", status: "available", status_since: at(0) },
  { id: "E1", status: "dispatched", status_since: at(0), incident_number: "2026-000001" },
  { id: "A1", status: "dispatched", status_since: at(30), incident_number: "2026-000001" },
];

describe("the status board", () => {
  it("runs each unit's timer from its status time", () => {
    const board = rows(units, [], T0 + 95_000);
    expect(board.map((r) => [r.id, Math.round(r.seconds)])).toEqual([["A1", 65], ["E1", 95], ["E2", 95]]);
    expect(board.every((r) => r.level === "none")).toBe(true);
  });

  it("puts an alert first and escalates it at twice its limit", () => {
    const alerts: BoardAlert[] = [
      { unit_id: "E1", code: "not_acknowledged", limit_s: 60, since: at(0) },
      { unit_id: "A1", code: "not_acknowledged", limit_s: 60, since: at(30) },
    ];
    const early = rows(units, alerts, T0 + 70_000);
    expect(early.map((r) => [r.id, r.level])).toEqual([["A1", "alert"], ["E1", "alert"], ["E2", "none"]]);
    const late = rows(units, alerts, T0 + 121_000);
    expect(late.map((r) => [r.id, r.level])).toEqual([["E1", "escalated"], ["A1", "alert"], ["E2", "none"]]);
    expect(late[0]?.incident).toBe("2026-000001");
  });

  it("never counts backwards when the clocks disagree", () => {
    expect(rows(units, [], T0 - 5_000)[0]?.seconds).toBe(0);
  });

  it("writes running timers as people read them", () => {
    expect(duration(0)).toBe("0:00");
    expect(duration(245.9)).toBe("4:05");
    expect(duration(3727)).toBe("1:02:07");
  });

  it("sounds each alert once", () => {
    const alerts: BoardAlert[] = [{ unit_id: "E1", code: "not_acknowledged", limit_s: 60, since: at(0) }];
    expect(fresh(alerts, new Set())).toEqual(["E1:not_acknowledged"]);
    expect(fresh(alerts, new Set(["E1:not_acknowledged"]))).toEqual([]);
  });
});
