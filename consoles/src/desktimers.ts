// The call-taker's two clocks, against the targets of the standards centres are held to: a call
// answered within 15 s of reaching the queue (NENA), and processed (answer to incident saved)
// within 60 s (NFPA 1225).

export const ANSWER_TARGET_S = 15;
export const PROCESS_TARGET_S = 60;

export interface Timer {
  seconds: number;
  target: number;
  over: boolean;
  running: boolean;
}

function timer(from: number, to: number | null, now: number, target: number): Timer {
  const seconds = Math.max(0, ((to ?? now) - from) / 1000);
  return { seconds, target, over: seconds > target, running: to === null };
}

/** From the queue to the answer; running until answered. */
export function answerTimer(queuedAt: string, answeredAt: string | null, now: number): Timer {
  return timer(Date.parse(queuedAt), answeredAt === null ? null : Date.parse(answeredAt), now, ANSWER_TARGET_S);
}

/** From the answer to the incident saved (or the call attached); none before the answer. */
export function processTimer(answeredAt: string | null, doneAt: number | null, now: number): Timer | null {
  return answeredAt === null ? null : timer(Date.parse(answeredAt), doneAt, now, PROCESS_TARGET_S);
}
