// The unit board (GET /units/board) of a screen, read once for every panel that shows it (the
// map, the status board, the command line, the leader board): one request however many ask at
// the same moment, one poll for all, and the latest answer for each to read.
import { inject, ref, type InjectionKey, type Ref } from "vue";

import type { components } from "./api/schema";

export type Board = components["schemas"]["BoardOut"];

export class UnitBoard<Board> {
  readonly board: Ref<Board | null> = ref(null) as Ref<Board | null>;
  private inflight: Promise<Board> | null = null;
  private timer: number | undefined;

  constructor(private readonly load: () => Promise<Board>) {}

  /** The board now: a request already on its way is shared, not sent again. */
  refresh(): Promise<Board> {
    this.inflight ??= this.load()
      .then((board) => {
        this.board.value = board;
        return board;
      })
      .finally(() => (this.inflight = null));
    return this.inflight;
  }

  /** Read again every ``ms`` until stopped (a refusal waits for the next turn). */
  poll(ms: number): void {
    this.stop();
    this.timer = window.setInterval(() => void this.refresh().catch(() => undefined), ms);
  }

  stop(): void {
    window.clearInterval(this.timer);
  }
}

/** Where a screen hands its one board to its panels (provided by the shell). */
export const UNIT_BOARD: InjectionKey<UnitBoard<Board>> = Symbol("cad.unitBoard");

export function useUnitBoard(): UnitBoard<Board> {
  const board = inject(UNIT_BOARD);
  if (board === undefined) throw new Error("the unit board was not provided");
  return board;
}
