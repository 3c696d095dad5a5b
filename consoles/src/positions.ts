// Live unit positions for the map, over the console tracking socket (docs/protocols/
// console-tracking.md): subscribes to the viewport, keeps the newest marker of each unit, sends
// a new subscription when the map moves, and reconnects by itself (the snapshot that answers
// each subscription is the whole picture again, so nothing is resumed).
import { Redial, type Link } from "./live";

export type TrackingState = "connecting" | "live" | "reconnecting";

/** A unit's marker as the server sends it (``PositionOut``). */
export interface LivePosition {
  unit_id: string;
  lon: number;
  lat: number;
  time: string;
  received: string;
  speed: number | null;
  heading: number | null;
  accuracy: number | null;
  source: string;
}

interface Frame {
  type: string;
  positions?: LivePosition[];
  code?: string;
}

/** [west, south, east, north] in WGS84 degrees. */
export type Bbox = [number, number, number, number];

/** ``markers`` after ``frame``: a snapshot replaces the picture, positions update it; a
 *  position older (by device time) than the one held does not move the marker back. */
export function merge(markers: Map<string, LivePosition>, frame: Frame): Map<string, LivePosition> {
  if (frame.type !== "snapshot" && frame.type !== "positions") return markers;
  const next = frame.type === "snapshot" ? new Map<string, LivePosition>() : new Map(markers);
  for (const p of frame.positions ?? []) {
    const held = next.get(p.unit_id);
    if (held !== undefined && Date.parse(held.time) > Date.parse(p.time)) continue;
    next.set(p.unit_id, p);
  }
  return next;
}

/** The heading a marker is drawn with, in whole degrees [0, 360), or null when there is none
 *  (no heading reported, or standing still: a parked vehicle's compass says nothing). */
export function drawnHeading(p: Pick<LivePosition, "heading" | "speed">): number | null {
  if (p.heading === null || !Number.isFinite(p.heading)) return null;
  if (p.speed !== null && p.speed < 0.5) return null;
  return ((Math.round(p.heading) % 360) + 360) % 360;
}

/** ``bbox`` grown by ``share`` of its size on each side, so that a unit just off the edge is
 *  already known when the map pans a little. */
export function widened(bbox: Bbox, share = 0.25): Bbox {
  const [w, s, e, n] = bbox;
  const dx = (e - w) * share;
  const dy = (n - s) * share;
  return [Math.max(w - dx, -180), Math.max(s - dy, -90), Math.min(e + dx, 180), Math.min(n + dy, 90)];
}

/** The box around every one of ``boxes`` (null for none). */
export function covering(boxes: Bbox[]): Bbox | null {
  if (!boxes.length) return null;
  return [
    Math.min(...boxes.map((b) => b[0])),
    Math.min(...boxes.map((b) => b[1])),
    Math.max(...boxes.map((b) => b[2])),
    Math.max(...boxes.map((b) => b[3])),
  ];
}

/** What the tracking link needs of a websocket: the browser's WebSocket has all of it. */
export interface TrackingLink extends Link {
  send(data: string): void;
  readyState: number;
}

export interface TrackingOptions {
  open: () => TrackingLink;
  onMarkers: (markers: Map<string, LivePosition>) => void;
  onState: (state: TrackingState) => void;
  wait?: (seconds: number) => Promise<void>;
}

const OPEN = 1;

export class LivePositions {
  markers = new Map<string, LivePosition>();
  private link: TrackingLink | null = null;
  private bbox: Bbox | null = null;
  private readonly redial: Redial;

  constructor(private readonly options: TrackingOptions) {
    this.redial = new Redial(options.wait);
  }

  /** Watch the units inside ``bbox`` (sent now if connected, else once connected). */
  watch(bbox: Bbox): void {
    this.bbox = bbox;
    if (this.link !== null && this.link.readyState === OPEN) this.subscribe(this.link);
  }

  start(): void {
    this.options.onState("connecting");
    this.connect();
  }

  stop(): void {
    this.redial.stopped = true;
    this.link?.close();
  }

  private subscribe(link: TrackingLink): void {
    link.send(JSON.stringify(this.bbox === null ? { type: "subscribe" } : { type: "subscribe", bbox: this.bbox }));
  }

  private connect(): void {
    const link = this.options.open();
    this.link = link;
    link.onopen = () => {
      this.redial.opened();
      this.options.onState("live");
      this.subscribe(link);
    };
    link.onmessage = (message: { data: unknown }) => {
      const frame = JSON.parse(String(message.data)) as Frame;
      // an error frame answers a frame of ours that the protocol refuses: a bug to see
      if (frame.type === "error") console.error("tracking socket refused a frame", frame);
      const next = merge(this.markers, frame);
      if (next === this.markers) return;
      this.markers = next;
      this.options.onMarkers(next);
    };
    link.onclose = () => {
      if (this.redial.stopped) return;
      this.options.onState("reconnecting");
      this.redial.dropped(() => this.connect());
    };
  }
}
