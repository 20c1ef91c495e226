/**
 * Time limits for a bench's loops: a Deadline names what it bounds, and every loop that waits or
 * repeats checks one, so a case that runs over stops (and says which case) instead of hanging the run.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export class TimeLimitError extends Error {
  override readonly name = 'TimeLimitError';
}

export interface Deadline {
  /** Throws a TimeLimitError naming the work once the limit has passed. */
  check(): void;
}

export function deadlineIn(what: string, limitMs: number): Deadline {
  const endsAt = Date.now() + limitMs;
  return {
    check() {
      if (Date.now() > endsAt) throw new TimeLimitError(`${what} took longer than ${Math.round(limitMs / 1_000)} s`);
    },
  };
}

/** Waits until `condition` holds, looking every `pollMs`, bounded by `deadline`. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  deadline: Deadline,
  pollMs = 5,
): Promise<void> {
  while (!(await condition())) {
    deadline.check();
    await sleep(pollMs);
  }
}
