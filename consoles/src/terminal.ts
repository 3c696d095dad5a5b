// The field terminal's side of the unit protocol (docs/protocols/unit.md): frames built with a
// key each, an outbox that keeps every frame until the server answers it (and sends it again
// after a reconnect: the key makes a replay harmless), and the terminal's state from what the
// server pushes.
import type { LineString } from "geojson";

export type TerminalStatus = "en_route" | "on_scene" | "transporting" | "at_hospital" | "returning" | "available" | "out_of_service";

export interface Frame {
  v: 1;
  type: "position" | "status" | "ack" | "message";
  key: string;
  [field: string]: unknown;
}

export interface PushedIncident {
  id: number;
  number: string;
  type: string;
  type_names: Record<string, string>;
  priority: number;
  status: string;
  lon: number;
  lat: number;
  address: string;
  summary: string;
}

export interface TerminalState {
  unitId: string | null;
  status: string | null;
  assignment: { id: number; acknowledged_at: string | null } | null;
  incident: PushedIncident | null;
  route: { seconds: number; metres: number; geometry?: LineString | null } | null;
  ended: string | null;
  messages: { from: string; text: string; at: string }[];
  refused: { code: string; message: string; params: Record<string, unknown> } | null;
}

export const START: TerminalState = {
  unitId: null,
  status: null,
  assignment: null,
  incident: null,
  route: null,
  ended: null,
  messages: [],
  refused: null,
};

export class Outbox {
  private readonly frames = new Map<string, Frame>();
  private counter = 0;

  constructor(private readonly prefix: string) {}

  private key(kind: string): string {
    this.counter += 1;
    return `${this.prefix}-${kind}-${Date.now().toString(36)}-${this.counter}`;
  }

  status(status: TerminalStatus): Frame {
    return this.keep({ v: 1, type: "status", key: this.key("status"), status });
  }

  acknowledge(assignmentId: number): Frame {
    return this.keep({ v: 1, type: "ack", key: this.key("ack"), assignment_id: assignmentId });
  }

  message(text: string): Frame {
    return this.keep({ v: 1, type: "message", key: this.key("msg"), text });
  }

  position(fix: { lat: number; lon: number; time: number; accuracy?: number; speed?: number | null; heading?: number | null }): Frame {
    const position: Record<string, number> = { lat: fix.lat, lon: fix.lon, time: fix.time };
    if (fix.accuracy !== undefined) position.accuracy = fix.accuracy;
    if (fix.speed !== null && fix.speed !== undefined) position.speed = fix.speed;
    if (fix.heading !== null && fix.heading !== undefined && !Number.isNaN(fix.heading)) position.heading = fix.heading;
    return this.keep({ v: 1, type: "position", key: this.key("pos"), position });
  }

  private keep(frame: Frame): Frame {
    this.frames.set(frame.key, frame);
    return frame;
  }

  /** The server answered ``key`` (ack or error): the frame is done. */
  answered(key: string | null): void {
    if (key !== null) this.frames.delete(key);
  }

  /** Every frame still unanswered, oldest first: what goes out again on reconnect. */
  pending(): Frame[] {
    return [...this.frames.values()];
  }
}

/** The terminal's state after a frame from the server. */
export function received(state: TerminalState, message: Record<string, unknown>): TerminalState {
  switch (message.type) {
    case "hello":
      return { ...state, unitId: String(message.unit_id), status: String(message.status) };
    case "assignment":
      return {
        ...state,
        status: (message.unit_status as string | null) ?? state.status,
        assignment: (message.assignment as TerminalState["assignment"]) ?? null,
        incident: (message.incident as PushedIncident | null) ?? null,
        route: (message.route as TerminalState["route"]) ?? null,
        ended: null,
      };
    case "assignment_ended":
      return { ...state, assignment: null, incident: null, route: null, ended: String(message.reason) };
    case "message":
      return { ...state, messages: [{ from: String(message.from), text: String(message.text), at: String(message.at) }, ...state.messages] };
    case "ack":
      if (message.for === "status" && typeof message.status === "string") return { ...state, status: message.status, refused: null };
      if (message.for === "ack" && state.assignment) return { ...state, assignment: { ...state.assignment, acknowledged_at: new Date().toISOString() } };
      return state;
    case "error":
      return { ...state, refused: { code: String(message.code), message: String(message.message ?? ""), params: (message.params as Record<string, unknown>) ?? {} } };
    default:
      return state;
  }
}
