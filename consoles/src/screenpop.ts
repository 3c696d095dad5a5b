// The call-taker's screen pop (GET /api/v1/telephony/ws?seat=…): the offered call, what is known
// of the caller, and the incident draft the desk's form is filled from.

export interface PopLocation {
  lat: number;
  lon: number;
  accuracy_m?: number | null;
  source: string;
}

export interface IncidentDraft {
  call_id: string;
  source: string;
  caller_name: string;
  caller_phone: string;
  location: PopLocation | null;
  address: string;
  summary: string;
}

export interface ScreenPop {
  type: "screen_pop";
  seat: string;
  call: { id: string; queued_at?: string; answered_at?: string | null };
  caller: { number: string | null; name: string | null };
  earlier_calls: unknown[];
  earlier_incidents: { number?: string }[];
  location: PopLocation | null;
  incident_draft: IncidentDraft;
  history_pending: boolean;
}

export interface PopHistory {
  type: "screen_pop_history";
  call_id: string;
  earlier_calls: unknown[];
  earlier_incidents: { number?: string }[];
  location: PopLocation | null;
}

export type SeatMessage = ScreenPop | PopHistory | { type: string };

/** The pops on the desk after ``message``: a new pop is shown first; the history that follows a
 * pop is merged into it (and its location into the draft when the pop had none). */
export function onMessage(pops: ScreenPop[], message: SeatMessage): ScreenPop[] {
  if (message.type === "screen_pop") {
    const pop = message as ScreenPop;
    return [pop, ...pops.filter((p) => p.call.id !== pop.call.id)];
  }
  if (message.type === "screen_pop_history") {
    const h = message as PopHistory;
    return pops.map((p) => {
      if (p.call.id !== h.call_id) return p;
      const location = p.location ?? h.location;
      return {
        ...p,
        earlier_calls: h.earlier_calls,
        earlier_incidents: h.earlier_incidents,
        location,
        incident_draft: { ...p.incident_draft, location: p.incident_draft.location ?? location },
        history_pending: false,
      };
    });
  }
  return pops;
}

/** The desk's incident form as filled from a pop. */
export interface IncidentForm {
  call_id: string | null;
  type: string;
  priority: number | null;
  caller_name: string;
  caller_phone: string;
  address: string;
  summary: string;
  lat: number | null;
  lon: number | null;
}

export function formFrom(pop: ScreenPop, previous: IncidentForm): IncidentForm {
  const d = pop.incident_draft;
  return {
    ...previous,
    call_id: d.call_id,
    caller_name: d.caller_name,
    caller_phone: d.caller_phone,
    address: d.address || previous.address,
    summary: d.summary || previous.summary,
    lat: d.location?.lat ?? previous.lat,
    lon: d.location?.lon ?? previous.lon,
  };
}

export const EMPTY_FORM: IncidentForm = {
  call_id: null,
  type: "",
  priority: null,
  caller_name: "",
  caller_phone: "",
  address: "",
  summary: "",
  lat: null,
  lon: null,
};
