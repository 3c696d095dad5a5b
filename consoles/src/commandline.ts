// The dispatcher's command line: one grammar for unit status, dispatch, notes and lookups, as
// typed at the desk (`E12 ENR`, `E12 ONS 2026-000123`, `D E12 E14 2026-000123`, `AV E12`,
// `NOTE 2026-000123 text`, `I 2026-000123`, `U E12`). Parsing, the preview of what Enter will
// do and the completions are pure: the desk's state comes in as plain values.

/** Status words of the grammar and the unit statuses they stand for (dispatch/units.py). */
export const STATUS_WORDS = {
  AV: "available",
  ENR: "en_route",
  ONS: "on_scene",
  TR: "transporting",
  AH: "at_hospital",
  RET: "returning",
  OOS: "out_of_service",
} as const;

export type StatusWord = keyof typeof STATUS_WORDS;
export type UnitStatus = (typeof STATUS_WORDS)[StatusWord];

export const VERBS = ["D", "AV", "NOTE", "I", "U"] as const;
const INCIDENT = /^\d{4}-\d{6}$/;

export type Command =
  | { kind: "status"; units: string[]; status: UnitStatus; incident: string | null }
  | { kind: "dispatch"; units: string[]; incident: string }
  | { kind: "note"; incident: string; text: string }
  | { kind: "incident"; incident: string }
  | { kind: "unit"; unit: string };

/** Why a line is not a command: a code of the console's catalogue, with its parameters. */
export interface Refusal {
  code: string;
  params: Record<string, unknown>;
}

export type Parsed = { ok: true; command: Command } | { ok: false; refusal: Refusal };

/** What the desk knows when a line is parsed: the units on the board, with their incident. */
export interface Desk {
  units: ReadonlyMap<string, { status: string; incident: string | null }>;
}

function refuse(code: string, params: Record<string, unknown> = {}): Parsed {
  return { ok: false, refusal: { code: `cmd.${code}`, params } };
}

function isStatusWord(word: string): word is StatusWord {
  return Object.hasOwn(STATUS_WORDS, word);
}

function units(words: string[], desk: Desk): Parsed | null {
  const unknown = words.filter((w) => !desk.units.has(w));
  return unknown.length ? refuse("unknown_unit", { units: unknown }) : null;
}

/** ``line`` as a command, or the reason it is not one. Words are case-insensitive except the
 * note's text. */
export function parse(line: string, desk: Desk): Parsed {
  const raw = line.trim().split(/\s+/).filter(Boolean);
  const words = raw.map((w) => w.toUpperCase());
  const [first, ...rest] = words;
  if (first === undefined) return refuse("empty");

  if (first === "NOTE") {
    const incident = rest[0];
    if (incident === undefined || !INCIDENT.test(incident)) return refuse("incident_expected", { after: "NOTE" });
    const text = line.trim().split(/\s+/).slice(2).join(" ");
    if (!text) return refuse("note_text_expected");
    return { ok: true, command: { kind: "note", incident, text } };
  }
  if (first === "I") {
    const incident = rest[0];
    if (rest.length !== 1 || incident === undefined || !INCIDENT.test(incident)) return refuse("incident_expected", { after: "I" });
    return { ok: true, command: { kind: "incident", incident } };
  }
  if (first === "U") {
    if (rest.length !== 1) return refuse("one_unit_expected");
    const unit = rest[0] as string;
    return units([unit], desk) ?? { ok: true, command: { kind: "unit", unit } };
  }
  if (first === "D") {
    const incident = rest.at(-1);
    const named = rest.slice(0, -1);
    if (incident === undefined || !INCIDENT.test(incident)) return refuse("incident_expected", { after: "D" });
    if (!named.length) return refuse("units_expected");
    return units(named, desk) ?? { ok: true, command: { kind: "dispatch", units: [...new Set(named)], incident } };
  }
  if (first === "AV") {
    if (!rest.length) return refuse("units_expected");
    return units(rest, desk) ?? { ok: true, command: { kind: "status", units: [...new Set(rest)], status: "available", incident: null } };
  }
  // <UNIT>... <STATUS> [INCIDENT]
  const at = words.findIndex(isStatusWord);
  if (at <= 0) return desk.units.has(first) ? refuse("status_expected", { words: Object.keys(STATUS_WORDS) }) : refuse("unknown_verb", { word: first, verbs: [...VERBS] });
  const named = words.slice(0, at);
  const tail = words.slice(at + 1);
  const incident = tail[0] ?? null;
  if (tail.length > 1 || (incident !== null && !INCIDENT.test(incident))) return refuse("incident_expected", { after: words[at] });
  const bad = units(named, desk);
  if (bad) return bad;
  if (incident !== null) {
    const elsewhere = named.filter((u) => desk.units.get(u)?.incident !== incident);
    if (elsewhere.length) return refuse("not_on_incident", { units: elsewhere, incident });
  }
  return { ok: true, command: { kind: "status", units: [...new Set(named)], status: STATUS_WORDS[words[at] as StatusWord], incident } };
}

/** The preview of a command: a key of the catalogue and its parameters. */
export function preview(command: Command): Refusal {
  switch (command.kind) {
    case "status":
      return { code: "cmd.preview.status", params: { units: command.units, status: command.status } };
    case "dispatch":
      return { code: "cmd.preview.dispatch", params: { units: command.units, incident: command.incident } };
    case "note":
      return { code: "cmd.preview.note", params: { incident: command.incident, length: command.text.length } };
    case "incident":
      return { code: "cmd.preview.incident", params: { incident: command.incident } };
    case "unit":
      return { code: "cmd.preview.unit", params: { unit: command.unit } };
  }
}

/** Completions of the word being typed (the last one), best first: verbs and units at the
 * start, status words after units, the unit's incident after a status word. */
export function complete(line: string, desk: Desk, limit = 8): string[] {
  const words = line.toUpperCase().split(/\s+/);
  const typed = words.at(-1) ?? "";
  const before = words.slice(0, -1).filter(Boolean);
  const unitIds = [...desk.units.keys()].sort();
  let candidates: string[];
  if (!before.length) candidates = [...VERBS, ...unitIds];
  else if (before[0] === "NOTE" || before[0] === "I") {
    candidates = before.length === 1 ? incidents(desk) : [];
  } else if (before[0] === "D") candidates = [...unitIds, ...incidents(desk)];
  else if (before[0] === "AV" || before[0] === "U") candidates = unitIds;
  else {
    const last = before.at(-1) as string;
    if (isStatusWord(last)) {
      const unit = desk.units.get(before[0] as string);
      candidates = unit?.incident ? [unit.incident] : [];
    } else candidates = [...Object.keys(STATUS_WORDS), ...unitIds];
  }
  return candidates.filter((c) => c.startsWith(typed) && c !== typed).slice(0, limit);
}

function incidents(desk: Desk): string[] {
  return [...new Set([...desk.units.values()].map((u) => u.incident).filter((i): i is string => i !== null))].sort();
}
