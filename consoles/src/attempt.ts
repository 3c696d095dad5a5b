// One request of a screen: a refusal is kept to be shown (worded in the screen's language) and
// cleared by the next request that succeeds; anything but a refusal is a bug and is thrown.
import { ref } from "vue";

import { ApiProblem } from "./api/client";

export function useAttempt() {
  const problem = ref<ApiProblem | null>(null);
  const busy = ref(false);

  async function attempt(work: () => Promise<void>): Promise<void> {
    busy.value = true;
    try {
      await work();
      problem.value = null;
    } catch (error) {
      if (!(error instanceof ApiProblem)) throw error;
      problem.value = error;
    } finally {
      busy.value = false;
    }
  }

  return { problem, busy, attempt };
}
