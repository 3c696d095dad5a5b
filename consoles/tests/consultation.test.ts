import { describe, expect, it } from "vitest";

import { applyParticipant, Candidates, closedAs, linkFigures, Steps, streamsOf } from "../src/consultation";

describe("a consultation call", () => {
  it("ends as refused, ended or lost by the socket's close code", () => {
    expect([4401, 4403, 4404, 4409].map(closedAs)).toEqual(["refused", "refused", "refused", "refused"]);
    expect(closedAs(4410)).toBe("ended");
    expect(closedAs(1000)).toBe("ended");
    expect([1006, 1011, 1013].map(closedAs)).toEqual(["lost", "lost", "lost"]);
  });

  it("knows whom each m-line of an offer carries", () => {
    const streams = streamsOf({
      type: "offer",
      sdp: "v=0",
      streams: [
        { mid: "0", feed: 7, member: "unit:CMD1", kind: "video" },
        { mid: "1", feed: 7, member: "unit:CMD1", kind: "audio" },
      ],
    });
    expect(streams.get("0")?.member).toBe("unit:CMD1");
    expect(streams.get("1")?.kind).toBe("audio");
    expect(streamsOf({ type: "offer" }).size).toBe(0);
  });
});

describe("who is in", () => {
  it("starts from the hello and follows each participant frame", () => {
    let people = applyParticipant(new Map(), {
      type: "hello",
      participants: [
        { member: "user:lead1", state: "joined", media: { audio: true, video: true, speaking: false, quality: null } },
        { member: "unit:CMD1", state: "invited", media: { audio: false, video: false, speaking: false, quality: null } },
      ],
    });
    expect([...people.keys()]).toEqual(["user:lead1", "unit:CMD1"]);
    people = applyParticipant(people, { type: "participant", member: "unit:CMD1", state: "joined" });
    people = applyParticipant(people, {
      type: "participant",
      member: "unit:CMD1",
      media: { audio: true, video: true, speaking: true, quality: { grade: "fair", loss: 0.04, rtt_ms: 90, bitrate_kbps: 800 } },
    });
    const vehicle = people.get("unit:CMD1");
    expect(vehicle?.state).toBe("joined");
    expect(vehicle?.media.speaking).toBe(true);
    expect(vehicle?.media.quality?.grade).toBe("fair");
    people = applyParticipant(people, { type: "participant", member: "unit:CMD1", state: "left" });
    expect(people.get("unit:CMD1")?.media.video).toBe(false);
    // A frame of another kind changes nothing.
    expect(applyParticipant(people, { type: "ack", id: "x" })).toEqual(people);
  });

  it("reads the link's loss, round trip and bitrate from two readings", () => {
    expect(linkFigures(null, { bytes: 1000, at: 1, fractionLost: 0, rttSeconds: 0.05 })).toBeNull();
    expect(linkFigures({ bytes: 0, at: 0 }, { bytes: 125_000, at: 1, fractionLost: 0.02, rttSeconds: 0.04 })).toEqual({
      loss: 0.02,
      rtt_ms: 40,
      bitrate_kbps: 1000,
    });
    // No remote report yet: nothing to say.
    expect(linkFigures({ bytes: 0, at: 0 }, { bytes: 10, at: 1, fractionLost: null, rttSeconds: null })).toBeNull();
  });
});

describe("negotiation", () => {
  it("runs the steps in order and goes on past one that fails", async () => {
    const done: string[] = [];
    const failures: unknown[] = [];
    const steps = new Steps((error) => failures.push(error));
    void steps.add(async () => {
      done.push("offer");
    });
    void steps.add(() => Promise.reject(new Error("InvalidStateError")));
    await steps.add(async () => {
      done.push("next offer");
    });
    expect(done).toEqual(["offer", "next offer"]);
    expect(failures).toHaveLength(1);
  });

  it("holds a candidate that comes before the answer is applied", async () => {
    const added: RTCIceCandidateInit[] = [];
    const pc = {
      remoteDescription: null as RTCSessionDescription | null,
      addIceCandidate: (c?: RTCIceCandidateInit | null): Promise<void> => {
        if (pc.remoteDescription === null) return Promise.reject(new Error("no remote description"));
        if (c) added.push(c);
        return Promise.resolve();
      },
    };
    const candidates = new Candidates(pc);
    await candidates.add({ candidate: "candidate:1 1 udp 1 10.0.0.1 4000 typ host", sdpMid: "0" });
    expect(added).toEqual([]);
    pc.remoteDescription = { type: "answer", sdp: "v=0" } as RTCSessionDescription;
    await candidates.described();
    await candidates.add({ candidate: "candidate:2 1 udp 1 10.0.0.1 4002 typ host", sdpMid: "0" });
    expect(added.map((c) => c.candidate)).toEqual([
      "candidate:1 1 udp 1 10.0.0.1 4000 typ host",
      "candidate:2 1 udp 1 10.0.0.1 4002 typ host",
    ]);
  });
});
