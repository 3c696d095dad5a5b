// The server's own narrative entries on the timeline: which are shown, and how they are worded.
// (That every code the server writes has words in both languages is checked on the server's
// side: tests/integration/command/test_narrative_codes.py, against errors.json.)
import { describe, expect, it } from "vitest";

import errors from "../src/locales/errors.json";
import { narrativeProblem, shown, valueKey } from "../src/narrative";
import { word, type Catalogue } from "../src/wording";

const CATALOGUE: Catalogue = errors as Catalogue;

describe("a narrative entry on the timeline", () => {
  it("is a person's note, or a server's entry with its code; older server entries stay hidden", () => {
    expect(shown({ kind: "note", text: "smoke" })).toBe(true);
    expect(shown({ kind: "system", text: "assigned E1", code: "narrative.units_assigned", params: { callsigns: ["E1"] } })).toBe(true);
    expect(shown({ kind: "system", text: "assigned E1", code: null, params: {} })).toBe(false);
    expect(shown({ kind: "system", text: "assigned E1" })).toBe(false);
  });

  it("is worded in Chinese from its parameters, and in English as the server wrote it", () => {
    const entry = { kind: "system", text: "cancelled: false alarm", code: "narrative.status_reason", params: { status: "cancelled", reason: "false alarm" } };
    const statuses: Record<string, string> = { "incidentStatus.cancelled": "已取消" };
    const valueWord = (param: string, value: string) => statuses[valueKey(entry.code, param, value) ?? ""];
    expect(word(narrativeProblem(entry, "zh-CN", valueWord), "zh-CN", CATALOGUE)).toBe("状态变为 已取消:false alarm");
    expect(word(narrativeProblem(entry, "en", valueWord), "en", CATALOGUE)).toBe("cancelled: false alarm");
  });

  it("words the values the screen knows, and names a participant as people know it", () => {
    expect(valueKey("narrative.consultation_muted", "media", "audio")).toBe("video.audio");
    expect(valueKey("narrative.attachment_added", "kind", "still")).toBe("attachmentKind.still");
    expect(valueKey("narrative.consultation_left", "reason", "lost")).toBe("leftReason.lost");
    expect(valueKey("narrative.status_reason", "reason", "lost")).toBeUndefined(); // typed by a person
    const left = { kind: "system", text: "consultation 3: user:alice left (lost)", code: "narrative.consultation_left", params: { consultation_id: 3, member: "user:alice", reason: "lost" } };
    const words: Record<string, string> = { "leftReason.lost": "连接中断" };
    const valueWord = (param: string, value: string) => words[valueKey(left.code, param, value) ?? ""];
    expect(word(narrativeProblem(left, "zh-CN", valueWord), "zh-CN", CATALOGUE)).toBe("会商 3:alice 已离开(连接中断)");
  });

  it("takes a name in the screen's language, else in English", () => {
    const entry = {
      kind: "system",
      text: "task 2 done: Close the road",
      code: "narrative.plan_task_done",
      params: { seq: 2, names: { "zh-CN": "封闭道路", en: "Close the road" } },
    };
    expect(word(narrativeProblem(entry, "zh-CN"), "zh-CN", CATALOGUE)).toBe("任务 2 已完成:封闭道路");
    expect(narrativeProblem({ ...entry, params: { names: { en: "Close the road" } } }, "zh-CN").params.names).toBe("Close the road");
  });

  it("words a list of callsigns with the language's separator", () => {
    const entry = { kind: "system", text: "assigned E1, E2", code: "narrative.units_assigned", params: { callsigns: ["E1", "E2"] } };
    expect(word(narrativeProblem(entry, "zh-CN"), "zh-CN", CATALOGUE)).toBe("已派出 E1、E2");
  });
});
