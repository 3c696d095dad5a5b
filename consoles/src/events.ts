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
