// Merging duplicate incidents and moving a unit to another incident, from the incident view:
// which incidents may be chosen (open ones other than this one, nearest first) and what a merge
// will do, as the server does it (command/incidents/service.py `merge`): the absorbed incident
// is cancelled as merged into the survivor, its calls and open assignments move there, and the
// survivor keeps the more urgent priority, the more serious response level and the higher
// command level of both. And replacing a unit of the incident by another: which units may.

/** What of an incident the choice and the preview read (IncidentOut has all of it). */
export interface IncidentLike {
  id: number;
  number: string;
  status: string;
  priority: number;
  response_level: string;
  command_level: string;
  lon: number;
  lat: number;
  merged_into?: number | null;
}

/** Incident statuses that end it: such an incident is neither merged nor sent units. */
export const FINAL: ReadonlySet<string> = new Set(["closed", "cancelled"]);
/** Response levels, most serious first (I), and command levels, lowest first. */
export const RESPONSE_LEVELS = ["I", "II", "III", "IV"] as const;
export const COMMAND_LEVELS = ["department", "district", "city"] as const;

/** Metres between two points on the earth (haversine). */
export function distanceM(a: { lon: number; lat: number }, b: { lon: number; lat: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6_371_008.8 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The incidents that may be chosen beside ``current``: open, not merged, not itself; nearest
 * first (a duplicate report is usually close by), then by number. */
/** An incident as a choice names it: number, type (in the screen's language), address. */
export function incidentLabel(i: { number: string; address?: string | null }, typeName: string): string {
  return `${i.number} · ${typeName} · ${i.address || "-"}`;
}

export function otherOpen<T extends IncidentLike>(incidents: readonly T[], current: IncidentLike | null): T[] {
  if (current === null) return [];
  return incidents
    .filter((i) => i.id !== current.id && !FINAL.has(i.status) && (i.merged_into ?? null) === null)
    .map((i) => ({ i, d: distanceM(current, i) }))
    .sort((a, b) => a.d - b.d || a.i.number.localeCompare(b.i.number))
    .map(({ i }) => i);
}

function rank(list: readonly string[], value: string): number {
  const at = list.indexOf(value);
  return at < 0 ? list.length : at;
}

export interface MergePreview {
  survivor: string;
  absorbed: string;
  /** calls and units (open assignments) that move from the absorbed incident */
  calls: number;
  units: number;
  /** what the survivor becomes */
  priority: number;
  level: string;
  command: string;
}

/** What merging ``absorbed`` into ``survivor`` will do; null when the server would refuse it
 * (one incident, or one of them closed or cancelled). */
export function mergePreview(survivor: IncidentLike, absorbed: IncidentLike, moving: { calls: number; units: number }): MergePreview | null {
  if (survivor.id === absorbed.id || FINAL.has(survivor.status) || FINAL.has(absorbed.status)) return null;
  const levels = [survivor.response_level, absorbed.response_level].sort((a, b) => rank(RESPONSE_LEVELS, a) - rank(RESPONSE_LEVELS, b));
  const commands = [survivor.command_level, absorbed.command_level].sort((a, b) => rank(COMMAND_LEVELS, b) - rank(COMMAND_LEVELS, a));
  return {
    survivor: survivor.number,
    absorbed: absorbed.number,
    calls: moving.calls,
    units: moving.units,
    priority: Math.min(survivor.priority, absorbed.priority),
    level: levels[0] ?? survivor.response_level,
    command: commands[0] ?? survivor.command_level,
  };
}

/** What of an assignment the move reads (AssignmentOut). */
export interface AssignmentLike {
  unit_id: string;
  ended_at?: string | null;
  transporting_at?: string | null;
  at_hospital_at?: string | null;
}

/** The units on the incident that can be moved to another one: assigned still, and not
 * carrying a patient (only dispatched, en route and on scene units are diverted). */
export function movableUnits(assignments: readonly AssignmentLike[]): string[] {
  const units = assignments.filter((a) => !a.ended_at && !a.transporting_at && !a.at_hospital_at).map((a) => a.unit_id);
  return [...new Set(units)].sort();
}

/** What of a unit of the board the replacement reads (UnitOut). */
export interface UnitLike {
  id: string;
  callsign: string;
  unit_type: string;
  status: string;
  incident_id?: number | null;
  incident_number?: string | null;
}

/** Statuses a unit is sent from without a diversion, and those it is diverted from (as
 * dispatch/units.py `DISPATCHABLE` and `DIVERTIBLE`). */
export const DISPATCHABLE: ReadonlySet<string> = new Set(["available", "returning"]);
export const DIVERTIBLE: ReadonlySet<string> = new Set(["dispatched", "en_route", "on_scene"]);

/** Whether taking ``unit`` as the replacement diverts it from another incident. */
export function diverts(unit: UnitLike): boolean {
  return DIVERTIBLE.has(unit.status);
}

/** The units that may replace ``replaced`` on ``incident`` (POST /incidents/{id}/reassign):
 * available or returning ones, and with ``divert`` those working on another incident that can
 * be diverted; never the replaced unit, one out of service, carrying a patient, or already on
 * this incident. Units of the replaced unit's type first (an engine for an engine), those sent
 * without a diversion before diverted ones, then by callsign. */
export function replacements<T extends UnitLike>(units: readonly T[], incidentId: number, replaced: string, divert: boolean): T[] {
  const type = units.find((u) => u.id === replaced)?.unit_type;
  return units
    .filter((u) => u.id !== replaced)
    .filter((u) => DISPATCHABLE.has(u.status) || (divert && diverts(u) && (u.incident_id ?? null) !== incidentId))
    .sort(
      (a, b) =>
        Number(a.unit_type !== type) - Number(b.unit_type !== type) ||
        Number(diverts(a)) - Number(diverts(b)) ||
        a.callsign.localeCompare(b.callsign),
    );
}
