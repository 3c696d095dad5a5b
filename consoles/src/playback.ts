// Track playback: where each unit on an incident was at a moment, from its breadcrumbs (the
// fixes of GET /incidents/{id}/tracks), for a slider that runs through the incident's time.

export interface TrackFix {
  unit: string;
  lon: number;
  lat: number;
  time: number; // ms since the epoch
  heading: number | null;
}

interface FixFeatureLike {
  geometry: { coordinates: number[] };
  properties: { unit_id: string; time: string; heading_deg?: number | null };
}

/** The fixes, oldest first. */
export function fixesOf(features: readonly FixFeatureLike[]): TrackFix[] {
  return features
    .map((f) => ({
      unit: f.properties.unit_id,
      lon: f.geometry.coordinates[0] ?? 0,
      lat: f.geometry.coordinates[1] ?? 0,
      time: Date.parse(f.properties.time),
      heading: f.properties.heading_deg ?? null,
    }))
    .sort((a, b) => a.time - b.time || a.unit.localeCompare(b.unit));
}

/** The moments the slider stops at: every distinct fix time, oldest first. */
export function moments(fixes: readonly TrackFix[]): number[] {
  return [...new Set(fixes.map((f) => f.time))];
}

/** Each unit's latest fix at or before ``time`` (a unit with none yet is not shown). */
export function positionsAt(fixes: readonly TrackFix[], time: number): TrackFix[] {
  const latest = new Map<string, TrackFix>();
  for (const f of fixes) {
    if (f.time > time) break;
    latest.set(f.unit, f);
  }
  return [...latest.values()];
}
