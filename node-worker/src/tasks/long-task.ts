import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskImplementation } from './types.js';

/**
 * The seed's task: counts to `total`, one step per LONG_TASK_STEP_MS, reporting each step. At the soft
 * time limit it stops after the current step (it has nothing to clean up).
 */
export const longTask: TaskImplementation<[number]> = async (
  [steps],
  { progress, signal, softLimit, longTaskStepMs },
) => {
  const stop = AbortSignal.any([signal, softLimit]);
  for (let current = 1; current <= steps; current++) {
    await sleep(longTaskStepMs, undefined, { signal: stop });
    await progress(current, steps, `Step ${current} of ${steps}`);
  }
  return steps;
};
