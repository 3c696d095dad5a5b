// The live feed of the event log: starts at the head (a new sign-in loads the current picture,
// not the whole history), resumes after the last sequence seen when the link drops, and says
// at every moment whether it is live.

export type FeedState = "connecting" | "live" | "reconnecting";

export interface FeedEvent {
  seq: number;
  at: string;
  type: string;
  subject_type: string;
  subject_id: string;
  data?: Record<string, unknown>;
}

/** What the feed needs of a websocket: the browser's WebSocket has all of it. The handlers
 * take their event as ``never`` so that WebSocket's own (Event, MessageEvent, CloseEvent) fit;
 * the feed reads only a message's ``data``. */
export interface Link {
  onopen: ((event: never) => void) | null;
  onmessage: ((message: never) => void) | null;
  onclose: ((event: never) => void) | null;
  close(): void;
}

/** Seconds to wait before the ``attempt``-th reconnection: quick first, never more than 8 s. */
export function reconnectDelay(attempt: number): number {
  return Math.min(0.5 * 2 ** attempt, 8);
}

/** The last sequence seen after ``event``, or null when the event was seen already. */
export function accept(lastSeq: number, event: FeedEvent): number | null {
  return event.seq > lastSeq ? event.seq : null;
}

/** Dials a link again each time it drops, sooner at first (``reconnectDelay``), until stopped. */
export class Redial {
  stopped = false;
  private attempt = 0;

  constructor(private readonly wait: (seconds: number) => Promise<void> = (s) => new Promise<void>((r) => setTimeout(r, s * 1000))) {}

  /** The link is up: the next drop is redialled quickly again. */
  opened(): void {
    this.attempt = 0;
  }

  /** The link dropped: ``connect`` once the delay is over, unless stopped meanwhile. */
  dropped(connect: () => void): void {
    void this.wait(reconnectDelay(this.attempt++)).then(() => {
      if (!this.stopped) connect();
    });
  }
}

export interface FeedOptions {
  head: () => Promise<number>;
  open: (after: number) => Link;
  onEvent: (event: FeedEvent) => void;
  onState: (state: FeedState) => void;
  wait?: (seconds: number) => Promise<void>;
}

export class LiveFeed {
  lastSeq = -1;
  private link: Link | null = null;
  private readonly redial: Redial;

  constructor(private readonly options: FeedOptions) {
    this.redial = new Redial(options.wait);
  }

  async start(): Promise<void> {
    this.options.onState("connecting");
    this.lastSeq = await this.options.head();
    this.connect();
  }

  stop(): void {
    this.redial.stopped = true;
    this.link?.close();
  }

  private connect(): void {
    const link = this.options.open(this.lastSeq);
    this.link = link;
    link.onopen = () => {
      this.redial.opened();
      this.options.onState("live");
    };
    link.onmessage = (message: { data: unknown }) => {
      const event = JSON.parse(String(message.data)) as FeedEvent;
      const seq = accept(this.lastSeq, event);
      if (seq === null) return;
      this.lastSeq = seq;
      this.options.onEvent(event);
    };
    link.onclose = () => {
      if (this.redial.stopped) return;
      this.options.onState("reconnecting");
      this.redial.dropped(() => this.connect());
    };
  }
}

/** The feed's events handed to whichever panels listen (provided by the shell): a panel that
 *  cares about one incident hears every event and keeps those that concern it. */
export class FeedListeners {
  private readonly listeners = new Set<(event: FeedEvent) => void>();

  on(listener: (event: FeedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: FeedEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
