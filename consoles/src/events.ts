// What an event of the log is called on the screen: its type is `family.kind` (incident.created,
// unit.status_changed, call.answered...). A kind the catalogue has no words for yet is worded
// by its family ("a change to an incident"), and an unknown family by the word for any event,
// so that no screen ever shows the raw type.

export interface Worded {
  type: string;
  subject_id: string;
  data?: Record<string, unknown>;
}

/** The catalogue key that words ``type``: its own, its family's, or the one for any event. */
export function eventKey(type: string, has: (key: string) => boolean): string {
  const [family = "", ...rest] = type.split(".");
  const kind = rest.join("_");
  for (const key of [`event.${family}.${kind}`, `event.${family}._`]) {
    if (/^event\.\w+\.\w+$/.test(key) && has(key)) return key;
  }
  return "event._";
}

/** What the event is about, as people name it: an incident's number rather than its row id. */
export function eventSubject(event: Worded): string {
  const number = event.data?.number;
  return typeof number === "string" && number ? number : event.subject_id;
}

/** Whether ``event`` changes what is shown of incident ``id`` with the ``units`` on it: an event
 *  of the incident itself, one that names it (``incident_id``, ``to_incident``...), or one of a
 *  unit on it. */
export function concerns(event: Worded & { subject_type: string }, id: number, units: ReadonlySet<string>): boolean {
  if (event.subject_type === "incident") return event.subject_id === String(id);
  if (event.subject_type === "unit" && units.has(event.subject_id)) return true;
  return Object.entries(event.data ?? {}).some(([key, value]) => key.includes("incident") && (value === id || value === String(id)));
}
