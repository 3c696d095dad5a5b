// A video consultation in the browser: the client side of the signaling protocol
// (docs/protocols/video.md). One connection sends the camera and microphone, one receives the
// others; the media server's offers are answered again whenever someone starts or stops
// sending. Each received stream is known by the member it carries (the offer's ``streams``).

export type CallState = "connecting" | "joined" | "ended" | "refused" | "lost";

export interface Frame {
  type: string;
  id?: string | null;
  [field: string]: unknown;
}

export interface OfferStream {
  mid: string;
  feed: number;
  member: string | null;
  kind: string;
}

export interface RemoteMedia {
  mid: string;
  member: string | null;
  kind: string;
  stream: MediaStream;
}

export interface Quality {
  grade: string;
  loss: number;
  rtt_ms: number;
  bitrate_kbps: number;
}

export interface MediaState {
  audio: boolean;
  video: boolean;
  speaking: boolean;
  quality: Quality | null;
}

export interface Someone {
  member: string;
  state: string;
  media: MediaState;
}

const NOTHING: MediaState = { audio: false, video: false, speaking: false, quality: null };

/** Who is in after a ``hello`` (everyone) or a ``participant`` frame (one's state or media). */
export function applyParticipant(people: Map<string, Someone>, frame: Frame): Map<string, Someone> {
  const next = new Map(people);
  if (frame.type === "hello") {
    next.clear();
    for (const p of (frame.participants as Someone[] | undefined) ?? []) next.set(p.member, { member: p.member, state: p.state, media: p.media ?? NOTHING });
    return next;
  }
  if (frame.type !== "participant") return next;
  const member = String(frame.member);
  const known = next.get(member) ?? { member, state: "joined", media: NOTHING };
  next.set(member, {
    member,
    state: typeof frame.state === "string" ? frame.state : known.state,
    media: (frame.media as MediaState | undefined) ?? (frame.state === "left" ? NOTHING : known.media),
  });
  return next;
}

/** A link's figures from two readings of an outbound video stream and its remote report. */
export function linkFigures(
  before: { bytes: number; at: number } | null,
  now: { bytes: number; at: number; fractionLost: number | null; rttSeconds: number | null },
): { loss: number; rtt_ms: number; bitrate_kbps: number } | null {
  if (before === null || now.at <= before.at || now.rttSeconds === null) return null;
  const kbps = ((now.bytes - before.bytes) * 8) / (now.at - before.at) / 1000;
  return { loss: Math.min(1, Math.max(0, now.fractionLost ?? 0)), rtt_ms: now.rttSeconds * 1000, bitrate_kbps: Math.max(0, kbps) };
}

/** How a close code ends the call: refused (4401, 4403, 4404, 4409), ended (4410), or lost
 * (anything else: the link dropped, the server restarted). */
export function closedAs(code: number): CallState {
  if (code === 4410) return "ended";
  if ([4401, 4403, 4404, 4409].includes(code)) return "refused";
  if (code === 1000) return "ended";
  return "lost";
}

/** The streams of an offer frame, by mid. */
export function streamsOf(frame: Frame): Map<string, OfferStream> {
  const found = new Map<string, OfferStream>();
  for (const s of (frame.streams as OfferStream[] | undefined) ?? []) found.set(String(s.mid), s);
  return found;
}

/** Resolves when the connection has gathered its candidates (sent whole, not trickled). */
export function gathered(pc: RTCPeerConnection, limitMs = 5000): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      if (pc.iceGatheringState === "complete") {
        pc.removeEventListener("icegatheringstatechange", done);
        resolve();
      }
    };
    pc.addEventListener("icegatheringstatechange", done);
    window.setTimeout(resolve, limitMs);
  });
}

/** Negotiation steps run one at a time in the order their frames came; one that fails is
 * reported and the next still runs (a rejected chain would leave every later offer unanswered). */
export class Steps {
  private last: Promise<void> = Promise.resolve();

  constructor(private readonly failed: (error: unknown) => void) {}

  add(step: () => Promise<void>): Promise<void> {
    this.last = this.last.then(step).catch(this.failed);
    return this.last;
  }
}

type Described = Pick<RTCPeerConnection, "remoteDescription" | "addIceCandidate">;

/** Trickled candidates for one connection. The media server trickles its candidates for the
 * sending connection as soon as it has answered, which can be before the page has applied the
 * answer; those wait for it. */
export class Candidates {
  private held: RTCIceCandidateInit[] = [];

  constructor(private readonly pc: Described) {}

  async add(candidate: RTCIceCandidateInit): Promise<void> {
    if (this.pc.remoteDescription === null) this.held.push(candidate);
    else await this.pc.addIceCandidate(candidate);
  }

  /** The remote description is applied: the held candidates go in. */
  async described(): Promise<void> {
    for (const candidate of this.held.splice(0)) await this.pc.addIceCandidate(candidate);
  }
}

export interface CallOptions {
  open: () => WebSocket;
  camera: () => Promise<MediaStream>;
  onState: (state: CallState, reason: string) => void;
  onRemote: (media: RemoteMedia) => void;
  onFrame: (frame: Frame) => void;
  onPeople: (people: Someone[]) => void;
}

const SIMULCAST: RTCRtpEncodingParameters[] = [
  { rid: "h", maxBitrate: 900_000 },
  { rid: "m", maxBitrate: 300_000, scaleResolutionDownBy: 2 },
  { rid: "l", maxBitrate: 100_000, scaleResolutionDownBy: 4 },
];

export class ConsultationCall {
  private ws: WebSocket | null = null;
  private sender: RTCPeerConnection | null = null;
  private receiver: RTCPeerConnection | null = null;
  private streams = new Map<string, OfferStream>();
  private pending = new Map<string, (frame: Frame) => void>();
  private answers = new Map<string, string>();
  private ids = 0;
  private steps = new Steps((error) => console.warn("consultation: a negotiation step failed", error));
  private candidates = new Map<string, Candidates>();
  private people = new Map<string, Someone>();
  private statsTimer: number | undefined;
  private lastOut: { bytes: number; at: number } | null = null;
  local: MediaStream | null = null;

  constructor(private readonly options: CallOptions) {}

  join(): void {
    this.options.onState("connecting", "");
    const ws = this.options.open();
    this.ws = ws;
    ws.onmessage = (message: MessageEvent<string>) => this.received(JSON.parse(message.data) as Frame);
    ws.onclose = (event: CloseEvent) => {
      this.stopMedia();
      this.options.onState(closedAs(event.code), event.reason);
    };
  }

  async leave(): Promise<void> {
    try {
      // a socket already closed (the consultation ended, the link dropped) answers nothing
      if (this.ws?.readyState === WebSocket.OPEN) await this.request({ type: "leave" });
    } finally {
      this.ws?.close();
      this.stopMedia();
    }
  }

  private stopMedia(): void {
    window.clearInterval(this.statsTimer);
    this.local?.getTracks().forEach((t) => t.stop());
    this.sender?.close();
    this.receiver?.close();
  }

  private send(frame: Frame): void {
    this.ws?.send(JSON.stringify({ v: 1, ...frame }));
  }

  private request(frame: Frame): Promise<Frame> {
    const id = `${frame.type}-${++this.ids}`;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (answer) => (answer.type === "error" ? reject(new CallProblem(answer)) : resolve(answer)));
      this.send({ ...frame, id });
    });
  }

  private received(frame: Frame): void {
    if (frame.type === "hello" || frame.type === "participant") {
      this.people = applyParticipant(this.people, frame);
      this.options.onPeople([...this.people.values()]);
    }
    if (frame.type === "hello") {
      void this.start(frame);
    } else if (frame.type === "answer" && frame.id) {
      this.answers.set(frame.id, String(frame.sdp));
    } else if ((frame.type === "ack" || frame.type === "error") && frame.id && this.pending.has(frame.id)) {
      const settle = this.pending.get(frame.id);
      this.pending.delete(frame.id);
      settle?.(frame);
    } else if (frame.type === "offer") {
      void this.steps.add(() => this.answerOffer(frame));
    } else if (frame.type === "candidate") {
      void this.steps.add(() => this.addCandidate(frame));
    } else if (frame.type !== "participant") {
      this.options.onFrame(frame);
    }
  }

  /** What the link does, from WebRTC's statistics, for everyone's console (every 5 s). */
  private async reportStats(): Promise<void> {
    const pc = this.sender;
    if (pc === null) return;
    let bytes = 0;
    let fractionLost: number | null = null;
    let rttSeconds: number | null = null;
    (await pc.getStats()).forEach((s: Record<string, unknown>) => {
      if (s.type === "outbound-rtp" && s.kind === "video") bytes += Number(s.bytesSent ?? 0);
      if (s.type === "remote-inbound-rtp" && s.kind === "video") {
        fractionLost = Number(s.fractionLost ?? 0);
        rttSeconds = typeof s.roundTripTime === "number" ? s.roundTripTime : rttSeconds;
      }
    });
    const now = { bytes, at: performance.now() / 1000, fractionLost, rttSeconds };
    const figures = linkFigures(this.lastOut, now);
    this.lastOut = { bytes, at: now.at };
    if (figures !== null) await this.request({ type: "stats", ...figures });
  }

  private async start(hello: Frame): Promise<void> {
    const config: RTCConfiguration = { iceServers: (hello.ice_servers as RTCIceServer[] | undefined) ?? [] };
    this.receiver = new RTCPeerConnection(config);
    this.candidates.set("subscriber", new Candidates(this.receiver));
    this.receiver.ontrack = (event) => {
      const mid = event.transceiver.mid ?? "";
      const about = this.streams.get(mid);
      this.options.onRemote({
        mid,
        member: about?.member ?? null,
        kind: event.track.kind,
        stream: event.streams[0] ?? new MediaStream([event.track]),
      });
    };
    this.options.onState("joined", "");
    this.local = await this.options.camera();
    this.sender = new RTCPeerConnection(config);
    const sent = new Candidates(this.sender);
    this.candidates.set("publisher", sent);
    for (const track of this.local.getTracks()) {
      // Video in three layers (simulcast), so that a viewer on a weak link gets a lower one.
      const sendEncodings = track.kind === "video" ? SIMULCAST : undefined;
      this.sender.addTransceiver(track, { direction: "sendonly", sendEncodings });
    }
    await this.sender.setLocalDescription(await this.sender.createOffer());
    await gathered(this.sender);
    const kinds = new Set(this.local.getTracks().map((t) => t.kind));
    const id = `publish-${++this.ids}`;
    await new Promise<Frame>((resolve, reject) => {
      this.pending.set(id, (a) => (a.type === "error" ? reject(new CallProblem(a)) : resolve(a)));
      this.send({ type: "publish", id, sdp: this.sender?.localDescription?.sdp ?? "", audio: kinds.has("audio"), video: kinds.has("video") });
    });
    await this.sender.setRemoteDescription({ type: "answer", sdp: this.answers.get(id) ?? "" });
    await sent.described();
    await this.request({ type: "subscribe", feeds: "all" });
    this.statsTimer = window.setInterval(() => void this.reportStats().catch(() => undefined), 5000);
  }

  private async answerOffer(offer: Frame): Promise<void> {
    const pc = this.receiver;
    if (pc === null) return;
    this.streams = streamsOf(offer);
    await pc.setRemoteDescription({ type: "offer", sdp: String(offer.sdp) });
    await this.candidates.get("subscriber")?.described();
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    await this.request({ type: "answer", sdp: pc.localDescription?.sdp ?? "" });
  }

  private async addCandidate(frame: Frame): Promise<void> {
    const candidate = frame.candidate as RTCIceCandidateInit | null;
    if (candidate) await this.candidates.get(frame.leg === "publisher" ? "publisher" : "subscriber")?.add(candidate);
  }
}

export class CallProblem extends Error {
  constructor(readonly frame: Frame) {
    super(String(frame.message ?? frame.code));
  }
}
