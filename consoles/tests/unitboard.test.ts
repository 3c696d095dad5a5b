// The shared unit board: one request for everyone who asks at once, the latest answer kept.
import { describe, expect, it } from "vitest";

import { UnitBoard } from "../src/unitboard";

describe("the shared unit board", () => {
  it("sends one request for those who ask while it is on its way, and a new one after", async () => {
    let sent = 0;
    const board = new UnitBoard(async () => ({ n: ++sent }));
    const [a, b] = await Promise.all([board.refresh(), board.refresh()]);
    expect(sent).toBe(1);
    expect(a).toBe(b);
    expect(board.board.value).toEqual({ n: 1 });
    await board.refresh();
    expect(board.board.value).toEqual({ n: 2 });
  });

  it("lets a failed request be asked again", async () => {
    let fail = true;
    const board = new UnitBoard(async () => {
      if (fail) throw new Error("away");
      return { ok: true };
    });
    await expect(board.refresh()).rejects.toThrow("away");
    fail = false;
    await expect(board.refresh()).resolves.toEqual({ ok: true });
  });
});
