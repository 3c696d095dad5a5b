import { describe, expect, it } from "vitest";

import { closedAs, streamsOf } from "../src/consultation";

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
