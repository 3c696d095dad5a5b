// The leader board's figures, from what the consoles already read: open incidents by type and
// response level, units available by type, and the targets met today.

export interface CountRow {
  key: string;
  count: number;
}

export function countBy<T>(items: readonly T[], key: (item: T) => string | null | undefined): CountRow[] {
  const counts = new Map<string, number>();
  for (const item of items) {
    const k = key(item) ?? "-";
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, count]) => ({ key: k, count })).sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}

/** Midnight of ``now``'s day in the browser's time zone, as the figures' "today" starts. */
export function startOfDay(now: Date): Date {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate());
}

export interface TargetShare {
  name: string;
  met: number | null;
  required: number;
  count: number;
}

/** Each target once (the first group that has incidents for it), as percentages. */
export function targetShares(groups: readonly { targets: readonly { name: string; share_met: number | null; share_required: number; count: number }[] }[]): TargetShare[] {
  const seen = new Map<string, TargetShare>();
  for (const group of groups) {
    for (const t of group.targets) {
      if (!seen.has(t.name)) {
        seen.set(t.name, { name: t.name, met: t.share_met === null ? null : Math.round(t.share_met * 100), required: Math.round(t.share_required * 100), count: t.count });
      }
    }
  }
  return [...seen.values()];
}
