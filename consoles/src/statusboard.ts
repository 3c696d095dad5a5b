// The dispatcher's unit status board: each unit with how long it has been in its status,
// running; a unit over one of its timers (the server's alerts) demands attention, and one left
// at twice its limit is escalated (top of the board, stronger colour, the sound repeats).

export interface BoardUnit {
  id: string;
  status: string;
  status_since: string;
  incident_number?: string | null;
}

export interface BoardAlert {
  unit_id: string;
  code: string;
  limit_s: number;
  since: string;
}

export type Level = "none" | "alert" | "escalated";

export interface Row {
  id: string;
  status: string;
  incident: string | null;
  seconds: number;
  alert: BoardAlert | null;
  level: Level;
}

const LEVEL_ORDER: Record<Level, number> = { escalated: 0, alert: 1, none: 2 };

/** The board at ``now`` (ms since the epoch, on the server's clock): most urgent first, then by id. */
export function rows(units: readonly BoardUnit[], alerts: readonly BoardAlert[], now: number): Row[] {
  const byUnit = new Map<string, BoardAlert>();
  for (const a of alerts) if (!byUnit.has(a.unit_id)) byUnit.set(a.unit_id, a);
  return units
    .map((u) => {
      const alert = byUnit.get(u.id) ?? null;
      const seconds = Math.max(0, (now - Date.parse(u.status_since)) / 1000);
      let level: Level = "none";
      if (alert !== null) {
        const over = (now - Date.parse(alert.since)) / 1000;
        level = over >= 2 * alert.limit_s ? "escalated" : "alert";
      }
      return { id: u.id, status: u.status, incident: u.incident_number ?? null, seconds, alert, level };
    })
    .sort((a, b) => LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level] || a.id.localeCompare(b.id));
}

/** "4:05", "1:02:07": a running timer. */
export function duration(seconds: number): string {
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

/** Alerts not in ``heard`` (keys ``unit:code``): the ones that sound now. */
export function fresh(alerts: readonly BoardAlert[], heard: ReadonlySet<string>): string[] {
  return alerts.map((a) => `${a.unit_id}:${a.code}`).filter((k) => !heard.has(k));
}
