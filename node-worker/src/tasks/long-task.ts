import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskImplementation } from './types.js';

/** The seed's task: counts to `total`, one step per LONG_TASK_STEP_MS, reporting each step. */
export const longTask: TaskImplementation = async ([total], { progress, signal, longTaskStepMs }) => {
  const steps = total as number;
  for (let current = 1; current <= steps; current++) {
    await sleep(longTaskStepMs, undefined, { signal });
    await progress(current, steps, `Step ${current} of ${steps}`);
  }
  return steps;
};
