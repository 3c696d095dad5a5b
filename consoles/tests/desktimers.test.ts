// The desk's answer and processing clocks against the NENA and NFPA 1225 targets.
import { describe, expect, it } from "vitest";

import { answerTimer, processTimer } from "../src/desktimers";

const T0 = Date.parse("2026-12-04T10:00:00Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

describe("the desk's clocks", () => {
  it("runs the answer clock until the answer and stops it there", () => {
    expect(answerTimer(at(0), null, T0 + 9_000)).toEqual({ seconds: 9, target: 15, over: false, running: true });
    expect(answerTimer(at(0), null, T0 + 16_000).over).toBe(true);
    expect(answerTimer(at(0), at(12), T0 + 90_000)).toEqual({ seconds: 12, target: 15, over: false, running: false });
  });

  it("starts the processing clock at the answer and stops it when the incident is saved", () => {
    expect(processTimer(null, null, T0)).toBeNull();
    expect(processTimer(at(10), null, T0 + 70_000)).toEqual({ seconds: 60, target: 60, over: false, running: true });
    expect(processTimer(at(10), T0 + 75_000, T0 + 200_000)).toEqual({ seconds: 65, target: 60, over: true, running: false });
  });

  it("never shows a negative time when the clocks disagree", () => {
    expect(answerTimer(at(5), null, T0).seconds).toBe(0);
  });
});
