import { describe, expect, it } from "vitest";

import { complete, parse, preview, type Desk } from "../src/commandline";

const DESK: Desk = {
  units: new Map([
    ["E12", { status: "dispatched", incident: "2026-000123" }],
    ["E14", { status: "available", incident: null }],
    ["FS1-E1", { status: "en_route", incident: "2026-000200" }],
  ]),
};

function command(line: string) {
  const parsed = parse(line, DESK);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.refusal));
  return parsed.command;
}

function refusal(line: string) {
  const parsed = parse(line, DESK);
  if (parsed.ok) throw new Error(`parsed: ${JSON.stringify(parsed.command)}`);
  return parsed.refusal;
}

describe("the command line grammar", () => {
  it("reads the desk's examples", () => {
    expect(command("E12 ENR")).toEqual({ kind: "status", units: ["E12"], status: "en_route", incident: null });
    expect(command("e12 ons 2026-000123")).toEqual({ kind: "status", units: ["E12"], status: "on_scene", incident: "2026-000123" });
    expect(command("D E12 E14 2026-000123")).toEqual({ kind: "dispatch", units: ["E12", "E14"], incident: "2026-000123" });
    expect(command("AV E12")).toEqual({ kind: "status", units: ["E12"], status: "available", incident: null });
    expect(command("NOTE 2026-000123 Smoke from the Roof")).toEqual({ kind: "note", incident: "2026-000123", text: "Smoke from the Roof" });
    expect(command("I 2026-000123")).toEqual({ kind: "incident", incident: "2026-000123" });
    expect(command("U fs1-e1")).toEqual({ kind: "unit", unit: "FS1-E1" });
  });

  it("names what is wrong, with its parameters", () => {
    expect(refusal("")).toEqual({ code: "cmd.empty", params: {} });
    expect(refusal("X12 ENR")).toEqual({ code: "cmd.unknown_unit", params: { units: ["X12"] } });
    expect(refusal("E12")).toEqual({ code: "cmd.status_expected", params: { words: ["AV", "ENR", "ONS", "TR", "AH", "RET", "OOS"] } });
    expect(refusal("FOO bar")).toMatchObject({ code: "cmd.unknown_verb", params: { word: "FOO" } });
    expect(refusal("D E12")).toEqual({ code: "cmd.incident_expected", params: { after: "D" } });
    expect(refusal("D 2026-000123")).toEqual({ code: "cmd.units_expected", params: {} });
    expect(refusal("NOTE 2026-000123")).toEqual({ code: "cmd.note_text_expected", params: {} });
    expect(refusal("E12 ONS 12")).toEqual({ code: "cmd.incident_expected", params: { after: "ONS" } });
  });

  it("refuses an arrival at an incident the unit is not on", () => {
    expect(refusal("E14 ONS 2026-000123")).toEqual({ code: "cmd.not_on_incident", params: { units: ["E14"], incident: "2026-000123" } });
  });

  it("previews what Enter will do", () => {
    expect(preview(command("D E12 E14 2026-000123"))).toEqual({ code: "cmd.preview.dispatch", params: { units: ["E12", "E14"], incident: "2026-000123" } });
    expect(preview(command("E12 ENR"))).toEqual({ code: "cmd.preview.status", params: { units: ["E12"], status: "en_route" } });
  });

  it("completes the word being typed", () => {
    expect(complete("E1", DESK)).toEqual(["E12", "E14"]);
    expect(complete("E12 O", DESK)).toEqual(["OOS", "ONS"].sort());
    expect(complete("E12 ONS ", DESK)).toEqual(["2026-000123"]);
    expect(complete("D E14 2026", DESK)).toEqual(["2026-000123", "2026-000200"]);
    expect(complete("N", DESK)).toEqual(["NOTE"]);
    expect(complete("AV F", DESK)).toEqual(["FS1-E1"]);
  });
});
